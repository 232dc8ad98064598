//! Token endpoint: client authentication, code binding, replay and PKCE.

use reqwest::StatusCode;

use crate::helpers::*;

/// Signs in and returns (code, verifier).
async fn fresh_code(app: &TestApp) -> (String, String) {
    let (url, verifier) = authorization_url(app, &[]);
    let callback = sign_in(app, &Browser::new(), &url, PHONE).await;
    (query_param(&callback, "code").unwrap(), verifier)
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
async fn code_exchange_returns_no_store_tokens() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let (code, verifier) = fresh_code(&app).await;
    let response = exchange(&app, &code, &verifier).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "openid profile phone");
    assert_eq!(
        userinfo_status(&app, body["access_token"].as_str().unwrap()).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn replayed_code_revokes_first_tokens() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let (code, verifier) = fresh_code(&app).await;
    let first: serde_json::Value = exchange(&app, &code, &verifier).await.json().await.unwrap();
    let access_token = first["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&app, access_token).await, StatusCode::OK);

    let replay = exchange(&app, &code, &verifier).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = replay.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        userinfo_status(&app, access_token).await,
        StatusCode::UNAUTHORIZED
    );
    let audit = app.audit_actions().await;
    assert_eq!(
        audit[0],
        (
            "token.code_replay".into(),
            "failure".into(),
            "revoked 1 refresh and 1 access token(s)".into()
        )
    );
}

#[tokio::test]
async fn wrong_client_secret_is_invalid_client() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let (code, verifier) = fresh_code(&app).await;
    let response = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(CLIENT_ID, Some("not-the-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Basic realm="unilogin", charset="UTF-8""#
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    // The code was not spent by the failed attempt.
    assert_eq!(
        exchange(&app, &code, &verifier).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_client_is_invalid_client() {
    let app = spawn_app().await;
    let response = reqwest::Client::new()
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", "nobody"),
            ("client_secret", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
}

#[tokio::test]
async fn client_secret_post_accepted() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let (code, verifier) = fresh_code(&app).await;
    let response = reqwest::Client::new()
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &verifier),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_verifier_and_redirect_uri_rejected() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let (code, _) = fresh_code(&app).await;
    let response = exchange(&app, &code, &"x".repeat(43)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        body["error_description"],
        "code_verifier does not match the code_challenge"
    );

    app.age_latest_code(PHONE, 61).await;
    let (code, verifier) = fresh_code(&app).await;
    let response = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/other"),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        body["error_description"],
        "redirect_uri does not match the one in the authorization request"
    );
}

#[tokio::test]
async fn expired_code_rejected() {
    let app = spawn_app_with(|config| config.tokens.authorization_code_ttl_secs = 1).await;
    app.add_account(PHONE, false).await;
    let (code, verifier) = fresh_code(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let response = exchange(&app, &code, &verifier).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn password_grant_unsupported() {
    let app = spawn_app().await;
    let response = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "password"),
            ("username", "a"),
            ("password", "b"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn userinfo_without_token_is_401() {
    let app = spawn_app().await;
    let response = reqwest::get(app.url("/userinfo")).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer realm="unilogin""#
    );
    let forged = reqwest::Client::new()
        .get(app.url("/userinfo"))
        .bearer_auth("a.b.c")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
}
