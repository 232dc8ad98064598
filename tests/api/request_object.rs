//! Request objects in the `request` parameter: unsigned for clients without keys, signed
//! with a registered key otherwise.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::client_auth::{ClientKey, register_client};
use crate::helpers::*;

const KEY_CLIENT: &str = "signed-requests";
const KEY_REDIRECT: &str = "http://127.0.0.1:9/signed/callback";

fn unsigned(claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// Returns the request parameters of `authorization_url` as request object claims, with the
/// PKCE verifier.
fn object_claims(app: &TestApp, client_id: &str, redirect_uri: &str) -> (Value, String) {
    let (url, verifier) = authorization_url(
        app,
        &[("client_id", client_id), ("redirect_uri", redirect_uri)],
    );
    let query = url.split_once('?').unwrap().1;
    let mut claims: serde_json::Map<String, Value> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(name, value)| (name.into_owned(), Value::String(value.into_owned())))
        .collect();
    claims.insert("nonce".into(), json!("nonce-from-object"));
    claims.insert("aud".into(), json!(app.issuer));
    claims.insert("iss".into(), json!(client_id));
    (Value::Object(claims), verifier)
}

fn authorize_url(app: &TestApp, query: &[(&str, &str)]) -> String {
    format!(
        "{}/authorize?{}",
        app.issuer,
        serde_urlencoded::to_string(query).unwrap()
    )
}

#[tokio::test]
async fn unsigned_object_overrides_query() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let (claims, verifier) = object_claims(&app, CLIENT_ID, REDIRECT_URI);
    let object = unsigned(&claims);
    // The query's redirect_uri is unregistered; the object's one counts.
    let url = authorize_url(
        &app,
        &[
            ("client_id", CLIENT_ID),
            ("response_type", "code"),
            ("scope", "openid"),
            ("redirect_uri", "http://127.0.0.1:9/not-registered"),
            ("request", &object),
        ],
    );
    let browser = Browser::new();
    let callback = sign_in(&app, &browser, &url, PHONE).await;
    assert!(callback.starts_with(REDIRECT_URI), "{callback}");
    let tokens: Value = exchange(&app, &query_param(&callback, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    let (_, id_claims) = app
        .state
        .keys
        .verify_jwt(tokens["id_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(id_claims["nonce"], "nonce-from-object");
}

#[tokio::test]
async fn keyed_client_must_sign_objects() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
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
    let (claims, _) = object_claims(&app, KEY_CLIENT, KEY_REDIRECT);
    let query = |object: &str| {
        authorize_url(
            &app,
            &[
                ("client_id", KEY_CLIENT),
                ("response_type", "code"),
                ("redirect_uri", KEY_REDIRECT),
                ("request", object),
            ],
        )
    };

    let mut wrong_client = claims.clone();
    wrong_client["client_id"] = json!(CLIENT_ID);
    let cases = [
        (
            unsigned(&claims),
            "the request object must be signed with one of RS256, PS256, ES256, EdDSA",
        ),
        (
            other_key.sign(&claims),
            "the request object's signature does not verify with the client's keys",
        ),
        (
            key.sign(&wrong_client),
            "`client_id` of the request object must be the client_id",
        ),
    ];
    for (object, message) in cases {
        let response = Browser::new().get(&query(&object)).await;
        assert_eq!(response.status, StatusCode::FOUND, "{message}");
        let location = response.location.unwrap();
        assert!(location.starts_with(KEY_REDIRECT), "{location}");
        assert_eq!(
            query_param(&location, "error").as_deref(),
            Some("invalid_request_object")
        );
        assert_eq!(
            query_param(&location, "error_description").as_deref(),
            Some(message)
        );
    }

    let browser = Browser::new();
    let callback = sign_in(&app, &browser, &query(&key.sign(&claims)), PHONE).await;
    assert!(query_param(&callback, "code").is_some(), "{callback}");
}

#[tokio::test]
async fn signed_object_can_be_pushed() {
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
    let (claims, _) = object_claims(&app, KEY_CLIENT, KEY_REDIRECT);
    let now = unilogin::clock::now();
    let assertion = key.sign(&json!({
        "iss": KEY_CLIENT, "sub": KEY_CLIENT, "aud": app.issuer, "exp": now + 60, "jti": "par-1",
    }));
    let push = |object: String, assertion: String| {
        let app = &app;
        async move {
            reqwest::Client::new()
                .post(app.url("/par"))
                .form(&[
                    ("client_id", KEY_CLIENT),
                    ("request", &object),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &assertion),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let pushed = push(key.sign(&claims), assertion).await;
    assert_eq!(pushed.status(), StatusCode::CREATED);

    let second = key.sign(&json!({
        "iss": KEY_CLIENT, "sub": KEY_CLIENT, "aud": app.issuer, "exp": now + 60, "jti": "par-2",
    }));
    let rejected = push(unsigned(&claims), second).await;
    assert_eq!(rejected.status(), StatusCode::BAD_REQUEST);
    let body: Value = rejected.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request_object");
}
