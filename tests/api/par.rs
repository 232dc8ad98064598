//! Pushed authorization requests (RFC 9126) at `/par`, and clients that require them.

use reqwest::StatusCode;
use serde_json::Value;
use unilogin::store::systems;

use crate::helpers::*;

/// Pushes the test client's authorization request; returns the status, the body and the
/// PKCE verifier.
async fn push(app: &TestApp, extra: &[(&str, &str)]) -> (StatusCode, Value, String) {
    let (url, verifier) = authorization_url(app, extra);
    let query = url.split_once('?').unwrap().1.to_owned();
    let response = reqwest::Client::new()
        .post(app.url("/par"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(query)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap(), verifier)
}

fn authorize_with(app: &TestApp, request_uri: &str, client_id: &str) -> String {
    format!(
        "{}/authorize?{}",
        app.issuer,
        serde_urlencoded::to_string([("client_id", client_id), ("request_uri", request_uri)])
            .unwrap()
    )
}

#[tokio::test]
async fn pushed_request_signs_in_once() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let metadata: Value = reqwest::get(app.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        metadata["pushed_authorization_request_endpoint"],
        app.url("/par").as_str()
    );

    let (status, pushed, verifier) = push(&app, &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    assert_eq!(pushed["expires_in"], 60);
    let request_uri = pushed["request_uri"].as_str().unwrap();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));

    let browser = Browser::new();
    let url = authorize_with(&app, request_uri, CLIENT_ID);
    let callback = sign_in(&app, &browser, &url, PHONE).await;
    assert_eq!(
        query_param(&callback, "state").as_deref(),
        Some("client-state-1")
    );
    let tokens = exchange(&app, &query_param(&callback, "code").unwrap(), &verifier).await;
    assert_eq!(tokens.status(), StatusCode::OK);

    let again = Browser::new().get(&url).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.location.is_none());
    assert!(again.body.contains("request_uri"), "{}", again.body);
}

#[tokio::test]
async fn foreign_or_expired_request_uri_rejected() {
    let app = spawn_app().await;
    app.register_system("supervision").await;
    let (_, pushed, _) = push(&app, &[]).await;
    let foreign = Browser::new()
        .get(&authorize_with(
            &app,
            pushed["request_uri"].as_str().unwrap(),
            "supervision",
        ))
        .await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST);
    assert!(foreign.location.is_none());
    // The failed attempt leaves the request usable for its owner.
    let owner = Browser::new()
        .get(&authorize_with(
            &app,
            pushed["request_uri"].as_str().unwrap(),
            CLIENT_ID,
        ))
        .await;
    assert_eq!(owner.status, StatusCode::FOUND);
    assert!(
        owner.location.unwrap().starts_with("/login?request_id="),
        "the owner's request was used up"
    );

    let (_, pushed, _) = push(&app, &[]).await;
    app.state.clock.advance(61);
    let expired = Browser::new()
        .get(&authorize_with(
            &app,
            pushed["request_uri"].as_str().unwrap(),
            CLIENT_ID,
        ))
        .await;
    assert_eq!(expired.status, StatusCode::BAD_REQUEST);
    assert!(expired.location.is_none());
}

#[tokio::test]
async fn push_checks_client_and_request() {
    let app = spawn_app().await;
    let (status, body, _) = push(&app, &[("redirect_uri", "http://127.0.0.1:9/other")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        body["error_description"],
        "redirect_uri `http://127.0.0.1:9/other` does not exactly match a registered one"
    );

    let (status, body, _) = push(&app, &[("code_challenge_method", "plain")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error_description"],
        "code_challenge_method `plain` is not supported; use `S256`"
    );

    let anonymous = reqwest::Client::new()
        .post(app.url("/par"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("response_type=code&client_id=fund-system")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn client_requiring_par_rejects_plain_request() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let existing = systems::find_by_client_id(&app.state.db, CLIENT_ID)
        .await
        .unwrap()
        .unwrap();
    let change = systems::SystemUpdate {
        require_par: Some(true),
        ..Default::default()
    };
    systems::update(&app.state.db, existing, change)
        .await
        .unwrap();

    let (url, _) = authorization_url(&app, &[]);
    let plain = Browser::new().get(&url).await;
    assert_eq!(plain.status, StatusCode::FOUND);
    let location = plain.location.unwrap();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("invalid_request")
    );

    let (_, pushed, _) = push(&app, &[]).await;
    let browser = Browser::new();
    let url = authorize_with(&app, pushed["request_uri"].as_str().unwrap(), CLIENT_ID);
    let callback = sign_in(&app, &browser, &url, PHONE).await;
    assert!(query_param(&callback, "code").is_some(), "{callback}");
}

#[tokio::test]
async fn pushes_per_client_are_capped() {
    let app = spawn_app().await;
    for _ in 0..200 {
        let (status, body, _) = push(&app, &[]).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body, _) = push(&app, &[]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"], "too_many_requests");

    // Expired requests no longer count.
    app.state.clock.advance(61);
    let (status, _, _) = push(&app, &[]).await;
    assert_eq!(status, StatusCode::CREATED);
}
