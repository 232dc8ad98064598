//! HTTPS on the main listener, with Strict-Transport-Security.

use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn main_listener_serves_https_with_hsts() {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let files = tempfile::tempdir().unwrap();
    let cert_path = files.path().join("server.pem");
    let key_path = files.path().join("server.key.pem");
    std::fs::write(&cert_path, certified.cert.pem()).unwrap();
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).unwrap();

    let app = spawn_app_with(|config| {
        config.server.issuer = config.server.issuer.replace("http://", "https://");
        config.server.tls_cert = cert_path.display().to_string();
        config.server.tls_key = key_path.display().to_string();
    })
    .await;
    assert!(
        app.issuer.starts_with("https://127.0.0.1:"),
        "{}",
        app.issuer
    );

    let trusted = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    let response = trusted
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let metadata: serde_json::Value = response.json().await.unwrap();
    for endpoint in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
    ] {
        assert!(
            metadata[endpoint]
                .as_str()
                .unwrap()
                .starts_with("https://127.0.0.1:"),
            "{endpoint}: {}",
            metadata[endpoint]
        );
    }

    // Plain HTTP on the same port gets no HTTP response.
    let plain = reqwest::get(app.url("/healthz").replace("https://", "http://")).await;
    assert!(plain.is_err(), "{plain:?}");
}

#[test]
fn tls_needs_https_issuer() {
    let mut config = unilogin::config::Config::default();
    config.server.tls_cert = "server.pem".into();
    config.server.tls_key = "server.key.pem".into();
    let error = config.validate().unwrap_err().to_string();
    assert!(error.contains("must start with https://"), "{error}");

    config.server.tls_key = String::new();
    let error = config.validate().unwrap_err().to_string();
    assert!(
        error.contains("set both server.tls_cert and server.tls_key"),
        "{error}"
    );
}
