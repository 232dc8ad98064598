//! Operating the server: readiness and Prometheus metrics on their own listener.

use reqwest::StatusCode;

use crate::helpers::*;

async fn metrics(app: &TestApp) -> String {
    let response = reqwest::get(format!("{}/metrics", app.metrics_url))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

#[tokio::test]
async fn readiness_reports_database() {
    let app = spawn_app().await;
    let ready = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.text().await.unwrap(), "ready");
    let health = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn metrics_move_after_sign_in() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let before = metrics(&app).await;
    assert!(!before.contains("method=\"phone\""), "{before}");
    assert!(before.contains("unilogin_provisioning_queue_depth 0"));

    let browser = Browser::new();
    let (auth_url, verifier) = authorization_url(&app, &[]);
    let login = open_login(&browser, &auth_url).await;
    let code = request_code(&app, &browser, &login, PHONE).await;
    let wrong = submit_login(&app, &browser, &login, PHONE, "Wrong#2026", &code).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    app.age_latest_code(PHONE, 61).await;
    let code = request_code(&app, &browser, &login, PHONE).await;
    let done = submit_login(&app, &browser, &login, PHONE, PASSWORD, &code).await;
    let callback = done.location.unwrap();
    let exchanged = exchange(&app, &query_param(&callback, "code").unwrap(), &verifier).await;
    assert_eq!(exchanged.status(), StatusCode::OK);

    let after = metrics(&app).await;
    assert!(
        after.contains("unilogin_sign_ins_total{method=\"phone\",result=\"success\"} 1"),
        "{after}"
    );
    assert!(
        after.contains("unilogin_sign_ins_total{method=\"phone\",result=\"failure\"} 1"),
        "{after}"
    );
    assert!(
        after.contains("unilogin_sms_codes_total{purpose=\"login\",outcome=\"sent\"} 2"),
        "{after}"
    );
    assert!(
        after.contains("unilogin_tokens_issued_total{grant=\"authorization_code\"} 1"),
        "{after}"
    );
    assert!(
        after.contains("unilogin_http_request_duration_seconds_count{route=\"/token\"} 1"),
        "{after}"
    );

    // The main listener does not serve metrics.
    let public = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn expired_rows_are_purged() {
    use sea_orm::{EntityTrait, PaginatorTrait};
    use unilogin::store::{accounts, refresh_tokens, sessions};

    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let (auth_url, verifier) = authorization_url(&app, &[("scope", "openid offline_access")]);
    let callback = sign_in(&app, &browser, &auth_url, PHONE).await;
    let exchanged = exchange(&app, &query_param(&callback, "code").unwrap(), &verifier).await;
    assert_eq!(exchanged.status(), StatusCode::OK);
    let count_sessions = || sessions::Entity::find().count(&app.state.db);
    assert_eq!(count_sessions().await.unwrap(), 1);

    let now = app.state.clock.now();
    let removed = unilogin::store::cleanup::purge_expired(&app.state.db, now)
        .await
        .unwrap();
    assert_eq!(removed, 0, "nothing has expired yet");

    let later = now + 40 * 86_400;
    let removed = unilogin::store::cleanup::purge_expired(&app.state.db, later)
        .await
        .unwrap();
    assert!(
        removed >= 4,
        "session, code, access and refresh token: {removed}"
    );
    assert_eq!(count_sessions().await.unwrap(), 0);
    assert_eq!(
        refresh_tokens::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        accounts::Entity::find().count(&app.state.db).await.unwrap(),
        1
    );
}

#[test]
fn out_of_range_settings_are_rejected() {
    let mut config = unilogin::config::Config::default();
    config.sms.code_ttl_secs = i64::MAX;
    let error = config.validate().unwrap_err().to_string();
    assert!(error.contains("sms.code_ttl_secs"), "{error}");
    assert!(error.contains("must be at most 315360000"), "{error}");

    let mut config = unilogin::config::Config::default();
    config.keys.rotate_every_secs = 3;
    let error = config.validate().unwrap_err().to_string();
    assert!(error.contains("keys.rotate_every_secs"), "{error}");

    config.keys.rotate_every_secs = -5;
    let error = config.validate().unwrap_err().to_string();
    assert!(error.contains("keys.rotate_every_secs"), "{error}");
}

#[tokio::test]
async fn slow_request_headers_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(|config| config.server.header_read_timeout_secs = 1).await;
    let address = app.issuer.trim_start_matches("http://").to_owned();

    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        slow.read_to_end(&mut buffer),
    )
    .await;
    assert!(
        read.is_ok(),
        "the connection stayed open past the header timeout"
    );
    assert!(
        !String::from_utf8_lossy(&buffer).contains("200 OK"),
        "{}",
        String::from_utf8_lossy(&buffer)
    );

    // A complete request on time is served.
    let healthy = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(healthy.status(), reqwest::StatusCode::OK);
}
