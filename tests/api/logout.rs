//! RP-initiated logout at the end-session endpoint.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;

use crate::helpers::*;

/// Signs in through the test client and returns the browser and the ID token.
async fn signed_in(app: &TestApp) -> (Browser, String) {
    app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let (url, verifier) = authorization_url(app, &[]);
    let callback = sign_in(app, &browser, &url, PHONE).await;
    let tokens: serde_json::Value =
        exchange(app, &query_param(&callback, "code").unwrap(), &verifier)
            .await
            .json()
            .await
            .unwrap();
    (browser, tokens["id_token"].as_str().unwrap().to_owned())
}

async fn assert_signed_out(app: &TestApp, browser: &Browser) {
    let (url, _) = authorization_url(app, &[("prompt", "none")]);
    let silent = browser.get(&url).await;
    assert_eq!(
        query_param(&silent.location.unwrap(), "error").as_deref(),
        Some("login_required")
    );
}

fn logout_url(app: &TestApp, params: &[(&str, &str)]) -> String {
    format!(
        "{}/logout?{}",
        app.issuer,
        serde_urlencoded::to_string(params).unwrap()
    )
}

#[tokio::test]
async fn hint_for_session_signs_out_and_redirects() {
    let app = spawn_app().await;
    let (browser, id_token) = signed_in(&app).await;
    let metadata: serde_json::Value = reqwest::get(app.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        metadata["end_session_endpoint"],
        app.url("/logout").as_str()
    );

    let url = logout_url(
        &app,
        &[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", POST_LOGOUT_REDIRECT_URI),
            ("state", "bye"),
        ],
    );
    let page = browser.get(&url).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(
        page.location.as_deref(),
        Some(format!("{POST_LOGOUT_REDIRECT_URI}?state=bye").as_str())
    );
    assert_signed_out(&app, &browser).await;
    let audit = app.audit_actions().await;
    assert_eq!(audit[0], ("logout".into(), "success".into(), String::new()));
}

#[tokio::test]
async fn logout_without_hint_asks_first() {
    let app = spawn_app().await;
    let (browser, _) = signed_in(&app).await;
    let confirm = browser.get(&app.url("/logout")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        confirm.body.contains("确定要退出统一登录平台吗"),
        "{}",
        confirm.body
    );

    let (url, _) = authorization_url(&app, &[("prompt", "none")]);
    assert!(
        query_param(&browser.get(&url).await.location.unwrap(), "code").is_some(),
        "still signed in"
    );

    let forged = Browser::new()
        .post(&app.url("/logout"), &[("csrf_token", "x")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let done = browser
        .post(
            &app.url("/logout"),
            &[("csrf_token", &confirm.input("csrf_token"))],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.body.contains("您已退出统一登录平台。"));
    assert_signed_out(&app, &browser).await;
}

#[tokio::test]
async fn bad_post_logout_redirect_uri_never_redirected() {
    let app = spawn_app().await;
    let (browser, id_token) = signed_in(&app).await;
    for uri in [
        "http://127.0.0.1:9/signed-out/",
        "http://127.0.0.1:9/signed-out?x=1",
        "http://evil.example/signed-out",
        REDIRECT_URI,
    ] {
        let page = browser
            .get(&logout_url(
                &app,
                &[
                    ("id_token_hint", &id_token),
                    ("post_logout_redirect_uri", uri),
                ],
            ))
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(page.location, None, "{uri}");
    }
    let no_client = browser
        .get(&logout_url(
            &app,
            &[("post_logout_redirect_uri", POST_LOGOUT_REDIRECT_URI)],
        ))
        .await;
    assert_eq!(
        no_client.status,
        StatusCode::BAD_REQUEST,
        "a client must be named to check the URI"
    );
}

#[tokio::test]
async fn modified_or_foreign_hint_rejected() {
    let app = spawn_app().await;
    let (browser, id_token) = signed_in(&app).await;
    let mut parts: Vec<String> = id_token.split('.').map(str::to_owned).collect();

    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none_header}.{}.", parts[1]);
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    claims["sub"] = serde_json::json!("someone-else");
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    let tampered = parts.join(".");

    let other = spawn_app().await;
    let (_, foreign) = signed_in(&other).await;

    for hint in [unsigned, tampered, foreign] {
        let page = browser
            .get(&logout_url(
                &app,
                &[
                    ("id_token_hint", &hint),
                    ("post_logout_redirect_uri", POST_LOGOUT_REDIRECT_URI),
                ],
            ))
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.body.contains("id_token_hint 无效"), "{}", page.body);
        assert_eq!(page.location, None);
    }
    let (url, _) = authorization_url(&app, &[("prompt", "none")]);
    assert!(
        query_param(&browser.get(&url).await.location.unwrap(), "code").is_some(),
        "still signed in"
    );
}
