//! Client authentication at the token, revocation and introspection endpoints:
//! `private_key_jwt` assertions and public clients (`none`).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use unilogin::store::systems;

use crate::helpers::*;

const KEY_CLIENT: &str = "bidding-system";
const KEY_REDIRECT: &str = "http://127.0.0.1:9/bidding/callback";
const PUBLIC_CLIENT: &str = "mobile-app";
const PUBLIC_REDIRECT: &str = "http://127.0.0.1:9/mobile/callback";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client's P-256 signing key and its public JWK Set.
pub(crate) struct ClientKey {
    pair: EcdsaKeyPair,
    pub(crate) jwks: String,
}

impl ClientKey {
    pub(crate) fn generate() -> ClientKey {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref().to_vec();
        let jwks = json!({ "keys": [{
            "kty": "EC", "crv": "P-256", "kid": "client-key-1", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        }]});
        ClientKey {
            pair,
            jwks: jwks.to_string(),
        }
    }

    /// Signs an ES256 JWT with `claims`.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        let header = json!({ "alg": "ES256", "kid": "client-key-1", "typ": "JWT" });
        self.sign_with_header(&header, claims)
    }

    /// Signs `claims` under the given JOSE header.
    pub(crate) fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .pair
            .sign(&SystemRandom::new(), signed.as_bytes())
            .unwrap();
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }

    /// Signs a valid assertion for `KEY_CLIENT` with the given `jti`.
    fn assertion(&self, app: &TestApp, jti: &str) -> String {
        let now = unilogin::clock::now();
        self.sign(&json!({
            "iss": KEY_CLIENT, "sub": KEY_CLIENT, "aud": app.issuer,
            "iat": now, "exp": now + 60, "jti": jti,
        }))
    }
}

pub(crate) async fn register_client(
    app: &TestApp,
    client_id: &str,
    redirect_uri: &str,
    auth_method: &str,
    jwks: Option<&str>,
) {
    let system = systems::NewSystem {
        client_id,
        name: client_id,
        secret_hash: unilogin::crypto::sha256_b64("unused-secret"),
        redirect_uris: &[redirect_uri.to_owned()],
        auth_method,
        jwks,
        ..Default::default()
    };
    systems::insert(&app.state.db, system, unilogin::clock::now())
        .await
        .unwrap();
}

/// Signs in through `client_id` and returns the code and the PKCE verifier.
async fn code_for(app: &TestApp, client_id: &str, redirect_uri: &str) -> (String, String) {
    app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let (url, verifier) = authorization_url(
        app,
        &[("client_id", client_id), ("redirect_uri", redirect_uri)],
    );
    let callback = sign_in(app, &browser, &url, PHONE).await;
    (query_param(&callback, "code").unwrap(), verifier)
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn private_key_jwt_exchanges_code_and_refreshes() {
    let app = spawn_app().await;
    let key = ClientKey::generate();
    register_client(
        &app,
        KEY_CLIENT,
        KEY_REDIRECT,
        "private_key_jwt",
        Some(&key.jwks),
    )
    .await;
    let (code, verifier) = code_for(&app, KEY_CLIENT, KEY_REDIRECT).await;

    let first = key.assertion(&app, "jti-1");
    let (status, tokens) = post_form(
        &app,
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", KEY_REDIRECT),
            ("code_verifier", &verifier),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &first),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let refresh_token = tokens["refresh_token"].as_str().unwrap();

    // The same assertion again is a replay.
    let refresh = |assertion: String| {
        let app = &app;
        async move {
            post_form(
                app,
                "/token",
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                    ("client_assertion_type", ASSERTION_TYPE),
                    ("client_assertion", &assertion),
                ],
            )
            .await
        }
    };
    let (status, replay) = refresh(first.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(replay["error"], "invalid_client");
    assert_eq!(
        replay["error_description"],
        "invalid client_assertion: the assertion's `jti` was already used"
    );

    let (status, refreshed) = refresh(key.assertion(&app, "jti-2")).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert!(refreshed["refresh_token"].is_string());
}

#[tokio::test]
async fn private_key_jwt_rejects_bad_assertions() {
    let app = spawn_app().await;
    let key = ClientKey::generate();
    let other_key = ClientKey::generate();
    register_client(
        &app,
        KEY_CLIENT,
        KEY_REDIRECT,
        "private_key_jwt",
        Some(&key.jwks),
    )
    .await;
    let now = unilogin::clock::now();
    let claims = |aud: &str, exp: i64, jti: &str| json!({ "iss": KEY_CLIENT, "sub": KEY_CLIENT, "aud": aud, "iat": now, "exp": exp, "jti": jti });
    let token_url = app.url("/token");
    let cases = [
        (
            key.sign(&claims(&token_url, now + 60, "a")),
            "invalid client_assertion: `aud` must be the issuer identifier",
        ),
        (
            key.sign(&claims(&app.issuer, now - 1, "b")),
            "invalid client_assertion: the assertion has expired",
        ),
        (
            key.sign(&claims(&app.issuer, now + 3600, "c")),
            "invalid client_assertion: `exp` is more than 10 minutes away",
        ),
        (
            other_key.sign(&claims(&app.issuer, now + 60, "d")),
            "invalid client_assertion: the signature does not verify with the client's registered keys",
        ),
        (
            key.sign(&json!({ "iss": "someone", "sub": KEY_CLIENT, "aud": app.issuer, "exp": now + 60, "jti": "e" })),
            "invalid client_assertion: `iss` and `sub` must both be the client_id",
        ),
        (
            key.sign(&json!({ "iss": KEY_CLIENT, "sub": KEY_CLIENT, "aud": [app.issuer, token_url], "exp": now + 60, "jti": "f" })),
            "invalid client_assertion: `aud` must be the issuer identifier",
        ),
        (
            key.sign_with_header(
                &json!({ "alg": "ES256", "kid": "client-key-1", "crit": ["exp"] }),
                &claims(&app.issuer, now + 60, "g"),
            ),
            "invalid client_assertion: not a signed JWT",
        ),
        (
            key.sign(&claims("https://other.example.cn", now + 60, "h")),
            "invalid client_assertion: `aud` must be the issuer identifier",
        ),
    ];
    for (assertion, message) in cases {
        let (status, body) = post_form(
            &app,
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "unknown"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &assertion),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{message}");
        assert_eq!(body["error_description"], message);
    }

    // The client registered for keys cannot fall back to a secret.
    let secret = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(KEY_CLIENT, Some("unused-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=refresh_token&refresh_token=unknown")
        .send()
        .await
        .unwrap();
    assert_eq!(secret.status(), StatusCode::UNAUTHORIZED);
    let body: Value = secret.json().await.unwrap();
    assert_eq!(
        body["error_description"],
        "client `bidding-system` is registered for private_key_jwt; authenticate with that method"
    );
}

#[tokio::test]
async fn public_client_uses_pkce_without_secret() {
    let app = spawn_app().await;
    register_client(&app, PUBLIC_CLIENT, PUBLIC_REDIRECT, "none", None).await;
    let (code, verifier) = code_for(&app, PUBLIC_CLIENT, PUBLIC_REDIRECT).await;

    let (status, tokens) = post_form(
        &app,
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", PUBLIC_CLIENT),
            ("code", &code),
            ("redirect_uri", PUBLIC_REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let (status, refreshed) = post_form(
        &app,
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", PUBLIC_CLIENT),
            ("refresh_token", refresh_token),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");

    let (status, introspection) = post_form(
        &app,
        "/introspect",
        &[
            ("client_id", PUBLIC_CLIENT),
            ("token", refreshed["access_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(introspection["error"], "invalid_client");

    let (status, revoked) = post_form(
        &app,
        "/revoke",
        &[
            ("client_id", PUBLIC_CLIENT),
            ("token", refreshed["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    let (status, after) = post_form(
        &app,
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", PUBLIC_CLIENT),
            (
                "refresh_token",
                refreshed["refresh_token"].as_str().unwrap(),
            ),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(after["error"], "invalid_grant");
}

#[tokio::test]
async fn confidential_client_without_credentials_is_rejected() {
    let app = spawn_app().await;
    let (status, body) = post_form(
        &app,
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("refresh_token", "unknown"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_description"], "client authentication failed");
}

#[tokio::test]
async fn assertion_with_fractional_exp_is_accepted() {
    let app = spawn_app().await;
    let key = ClientKey::generate();
    register_client(
        &app,
        KEY_CLIENT,
        KEY_REDIRECT,
        "private_key_jwt",
        Some(&key.jwks),
    )
    .await;
    let exp = unilogin::clock::now() as f64 + 60.5;
    let assertion = key.sign(&json!({
        "iss": KEY_CLIENT, "sub": KEY_CLIENT, "aud": app.issuer, "exp": exp, "jti": "fractional",
    }));
    let (status, body) = post_form(
        &app,
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "unknown"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &assertion),
        ],
    )
    .await;
    // Authentication passed, so the unknown refresh token is what fails.
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
}
