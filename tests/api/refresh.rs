//! Refresh token rotation, reuse detection, revocation and introspection.

use reqwest::StatusCode;
use unilogin::crypto::sha256_b64;
use unilogin::store::systems;

use crate::helpers::*;

async fn first_tokens(app: &TestApp) -> serde_json::Value {
    app.add_account(PHONE, false).await;
    let (url, verifier) = authorization_url(app, &[]);
    let callback = sign_in(app, &Browser::new(), &url, PHONE).await;
    let response = exchange(app, &query_param(&callback, "code").unwrap(), &verifier).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn post(
    app: &TestApp,
    path: &str,
    client: (&str, &str),
    form: &[(&str, &str)],
) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url(path))
        .basic_auth(client.0, Some(client.1))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn refresh(app: &TestApp, token: &str, scope: Option<&str>) -> reqwest::Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    post(app, "/token", (CLIENT_ID, CLIENT_SECRET), &form).await
}

async fn userinfo_status(app: &TestApp, access_token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(app.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn rotation_and_reuse_revokes_family() {
    let app = spawn_app().await;
    let first = first_tokens(&app).await;
    let first_refresh = first["refresh_token"].as_str().unwrap();

    let second = refresh(&app, first_refresh, None).await;
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(second.headers()["cache-control"], "no-store");
    let second: serde_json::Value = second.json().await.unwrap();
    let second_refresh = second["refresh_token"].as_str().unwrap();
    assert_ne!(second_refresh, first_refresh);
    assert_eq!(second["scope"], "openid profile phone");
    assert!(second["id_token"].as_str().is_some());
    let second_access = second["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&app, second_access).await, StatusCode::OK);

    // The rotated token comes back: the whole family and its access tokens are revoked.
    let reuse = refresh(&app, first_refresh, None).await;
    assert_eq!(reuse.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = reuse.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        refresh(&app, second_refresh, None).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        userinfo_status(&app, second_access).await,
        StatusCode::UNAUTHORIZED
    );
    let audit = app.audit_actions().await;
    assert_eq!(audit[0].0, "token.refresh_reuse");
}

#[tokio::test]
async fn refresh_bound_to_client_and_scope_narrows() {
    let app = spawn_app().await;
    let tokens = first_tokens(&app).await;
    let token = tokens["refresh_token"].as_str().unwrap();

    let other = systems::NewSystem {
        client_id: "bidding",
        name: "招投标系统",
        secret_hash: sha256_b64("bidding-secret"),
        redirect_uris: &["http://127.0.0.1:9/bidding".to_owned()],
        post_logout_redirect_uris: &[],
        initiate_login_uri: None,
        home_uri: None,
        identity_types: &[],
        provisioning_endpoint: None,
        ..Default::default()
    };
    systems::insert(&app.state.db, other, unilogin::clock::now())
        .await
        .unwrap();
    let stolen = post(
        &app,
        "/token",
        ("bidding", "bidding-secret"),
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await;
    assert_eq!(stolen.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        stolen.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    // Another client may not revoke the token (RFC 7009 §2.1), and it stays usable.
    let foreign_revoke = post(
        &app,
        "/revoke",
        ("bidding", "bidding-secret"),
        &[("token", token)],
    )
    .await;
    assert_eq!(foreign_revoke.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = foreign_revoke.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        body["error_description"],
        "the token was not issued to this client"
    );

    let unauthenticated = reqwest::Client::new()
        .post(app.url("/token"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);

    let wider = refresh(&app, token, Some("openid email")).await;
    assert_eq!(wider.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        wider.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_scope"
    );

    let narrower: serde_json::Value = refresh(&app, token, Some("phone openid"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(narrower["scope"], "openid phone");
}

#[tokio::test]
async fn revocation_and_introspection() {
    let app = spawn_app().await;
    let tokens = first_tokens(&app).await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let client = (CLIENT_ID, CLIENT_SECRET);

    let active: serde_json::Value = post(&app, "/introspect", client, &[("token", access)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], CLIENT_ID);
    assert_eq!(active["scope"], "openid profile phone");
    let refresh_info: serde_json::Value =
        post(&app, "/introspect", client, &[("token", refresh_token)])
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(refresh_info["active"], true);
    assert_eq!(refresh_info["token_type"], "refresh_token");

    let unknown = post(&app, "/revoke", client, &[("token", "not-a-token")]).await;
    assert_eq!(unknown.status(), StatusCode::OK);
    let unauthenticated = reqwest::Client::new()
        .post(app.url("/revoke"))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(
        post(&app, "/revoke", client, &[("token", refresh_token)])
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        refresh(&app, refresh_token, None).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        userinfo_status(&app, access).await,
        StatusCode::UNAUTHORIZED,
        "the family's access token goes too"
    );
    let inactive: serde_json::Value = post(&app, "/introspect", client, &[("token", access)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inactive, serde_json::json!({ "active": false }));
}
