//! Back-channel and front-channel logout: every client of an ended session is notified.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::Value;
use unilogin::store::{provisioning_events, systems};

use crate::applications::start_receiver;
use crate::helpers::*;

async fn spawn_fast_queue() -> TestApp {
    spawn_app_with(|config| {
        config.provisioning.poll_interval_ms = 50;
        config.provisioning.retry_base_secs = 1;
    })
    .await
}

async fn set_logout_uris(app: &TestApp, backchannel: Option<&str>, frontchannel: Option<&str>) {
    let existing = systems::find_by_client_id(&app.state.db, CLIENT_ID)
        .await
        .unwrap()
        .unwrap();
    let change = systems::SystemUpdate {
        backchannel_logout_uri: backchannel.map(str::to_owned),
        frontchannel_logout_uri: frontchannel.map(str::to_owned),
        ..Default::default()
    };
    systems::update(&app.state.db, existing, change)
        .await
        .unwrap();
}

/// Signs in through the test client; returns the browser and the ID token's claims and text.
async fn signed_in(app: &TestApp) -> (Browser, Value, String) {
    app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let (url, verifier) = authorization_url(app, &[]);
    let callback = sign_in(app, &browser, &url, PHONE).await;
    let tokens: Value = exchange(app, &query_param(&callback, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let claims = decode_part(&id_token, 1);
    (browser, claims, id_token)
}

fn decode_part(jwt: &str, index: usize) -> Value {
    let part = jwt.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn logout_url(app: &TestApp, id_token: &str) -> String {
    format!(
        "{}/logout?{}",
        app.issuer,
        serde_urlencoded::to_string([
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", POST_LOGOUT_REDIRECT_URI),
            ("state", "bye"),
        ])
        .unwrap()
    )
}

#[tokio::test]
async fn logout_posts_logout_token_after_a_retry() {
    let app = spawn_fast_queue().await;
    let (receiver, endpoint) = start_receiver(1).await;
    set_logout_uris(&app, Some(&endpoint), None).await;
    let (browser, id_claims, id_token) = signed_in(&app).await;

    let logout = browser.get(&logout_url(&app, &id_token)).await;
    assert_eq!(logout.status, StatusCode::SEE_OTHER);

    let mut delivered = Vec::new();
    for _ in 0..100 {
        delivered = receiver.accepted.lock().await.clone();
        if !delivered.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(delivered.len(), 1, "no logout token delivered");
    let form: Vec<(String, String)> = serde_urlencoded::from_str(&delivered[0]).unwrap();
    assert_eq!(form.len(), 1);
    assert_eq!(form[0].0, "logout_token");
    let token = &form[0].1;

    let (header, claims) = app.state.keys.verify_jwt(token).unwrap();
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(claims["iss"], app.issuer.as_str());
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["sub"], id_claims["sub"]);
    assert_eq!(claims["sid"], id_claims["sid"]);
    assert!(claims["jti"].is_string());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        120
    );
    assert_eq!(
        claims["events"],
        serde_json::json!({ "http://schemas.openid.net/event/backchannel-logout": {} })
    );
    assert!(claims.get("nonce").is_none());

    let events = provisioning_events::recent(&app.state.db, 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "backchannel-logout");
    assert_eq!(events[0].status, "delivered");
    assert_eq!(events[0].attempts, 2);
}

#[tokio::test]
async fn undeliverable_logout_token_expires() {
    let app = spawn_fast_queue().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/logout", closed.local_addr().unwrap());
    drop(closed);
    set_logout_uris(&app, Some(&endpoint), None).await;
    let (browser, _, id_token) = signed_in(&app).await;
    browser.get(&logout_url(&app, &id_token)).await;

    app.state.clock.advance(121);
    let mut status = String::new();
    for _ in 0..100 {
        let events = provisioning_events::recent(&app.state.db, 10)
            .await
            .unwrap();
        status = events[0].status.clone();
        if status == "expired" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "expired");
}

#[tokio::test]
async fn frontchannel_logout_page_frames_client() {
    let app = spawn_app().await;
    set_logout_uris(
        &app,
        None,
        Some("https://fund.example.cn/frontchannel-logout"),
    )
    .await;
    let (browser, id_claims, id_token) = signed_in(&app).await;

    let page = browser.get(&logout_url(&app, &id_token)).await;
    assert_eq!(page.status, StatusCode::OK);
    let sid = id_claims["sid"].as_str().unwrap();
    let frame = format!(
        "https://fund.example.cn/frontchannel-logout?{}",
        serde_urlencoded::to_string([("iss", app.issuer.as_str()), ("sid", sid)]).unwrap()
    );
    // The template escapes `&` and `/` in attributes, as minijinja's HTML escaping does.
    let escape = |text: &str| text.replace('&', "&amp;").replace('/', "&#x2f;");
    assert!(
        page.body
            .contains(&format!("<iframe src=\"{}\"", escape(&frame))),
        "{}",
        page.body
    );
    let refresh = format!(
        "http-equiv=\"refresh\" content=\"2;url={}\"",
        escape("http://127.0.0.1:9/signed-out?state=bye")
    );
    assert!(page.body.contains(&refresh), "{}", page.body);
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("frame-src https://fund.example.cn;"),
        "{policy}"
    );
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
}
