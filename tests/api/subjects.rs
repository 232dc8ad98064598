//! Pairwise subject identifiers: one `sub` per sector, unlinkable across sectors.

use reqwest::StatusCode;
use serde_json::Value;
use unilogin::store::systems;

use crate::helpers::*;

const SECRET: &str = "pairwise-client-secret-0123456789";

async fn register_pairwise(app: &TestApp, client_id: &str, redirect_uri: &str) {
    let system = systems::NewSystem {
        client_id,
        name: client_id,
        secret_hash: unilogin::crypto::sha256_b64(SECRET),
        redirect_uris: &[redirect_uri.to_owned()],
        pairwise: true,
        ..Default::default()
    };
    systems::insert(&app.state.db, system, unilogin::clock::now())
        .await
        .unwrap();
}

/// Signs in with `browser` through `client_id` and returns the token response.
async fn tokens_for(
    app: &TestApp,
    browser: &Browser,
    client_id: &str,
    redirect_uri: &str,
    secret: &str,
) -> Value {
    let (url, verifier) = authorization_url(
        app,
        &[("client_id", client_id), ("redirect_uri", redirect_uri)],
    );
    let first = browser.get(&url).await;
    let location = first.location.unwrap();
    let callback = if location.starts_with(redirect_uri) {
        location
    } else {
        sign_in(app, browser, &url, PHONE).await
    };
    let response = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &query_param(&callback, "code").unwrap()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn subject(app: &TestApp, tokens: &Value) -> String {
    let (_, claims) = app
        .state
        .keys
        .verify_jwt(tokens["id_token"].as_str().unwrap())
        .unwrap();
    claims["sub"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn pairwise_subject_differs_by_sector() {
    let app = spawn_app().await;
    let account = app.add_account(PHONE, false).await;
    register_pairwise(&app, "fund-a", "https://fund.example.cn/a/callback").await;
    register_pairwise(&app, "fund-b", "https://fund.example.cn/b/callback").await;
    register_pairwise(&app, "bidding", "https://bidding.example.cn/callback").await;
    let browser = Browser::new();

    let fund_a = tokens_for(
        &app,
        &browser,
        "fund-a",
        "https://fund.example.cn/a/callback",
        SECRET,
    )
    .await;
    let fund_b = tokens_for(
        &app,
        &browser,
        "fund-b",
        "https://fund.example.cn/b/callback",
        SECRET,
    )
    .await;
    let bidding = tokens_for(
        &app,
        &browser,
        "bidding",
        "https://bidding.example.cn/callback",
        SECRET,
    )
    .await;
    let public = tokens_for(&app, &browser, CLIENT_ID, REDIRECT_URI, CLIENT_SECRET).await;

    let sub_a = subject(&app, &fund_a);
    assert_eq!(sub_a.len(), 43, "{sub_a}");
    assert_ne!(sub_a, account.id.to_string());
    assert_eq!(subject(&app, &fund_b), sub_a, "same sector, same sub");
    assert_ne!(subject(&app, &bidding), sub_a, "other sector, other sub");
    assert_eq!(subject(&app, &public), account.id.to_string());

    let userinfo: Value = reqwest::Client::new()
        .get(app.url("/userinfo"))
        .bearer_auth(fund_a["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["sub"], sub_a.as_str());

    let introspection: Value = reqwest::Client::new()
        .post(app.url("/introspect"))
        .basic_auth("fund-a", Some(SECRET))
        .form(&[("token", fund_a["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspection["sub"], sub_a.as_str());

    // The pairwise ID token works as id_token_hint for a silent request.
    let (url, _) = authorization_url(
        &app,
        &[
            ("client_id", "fund-a"),
            ("redirect_uri", "https://fund.example.cn/a/callback"),
            ("prompt", "none"),
            ("id_token_hint", fund_a["id_token"].as_str().unwrap()),
        ],
    );
    let silent = browser.get(&url).await;
    let location = silent.location.unwrap();
    assert!(query_param(&location, "code").is_some(), "{location}");
}
