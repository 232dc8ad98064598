//! ID tokens signed with the algorithm each client registered: RS256, ES256 or EdDSA.

use reqwest::StatusCode;
use serde_json::Value;
use unilogin::store::systems;

use crate::helpers::*;

const SECRET: &str = "signing-client-secret-0123456789";

#[tokio::test]
async fn client_gets_id_token_in_its_algorithm() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let jwks: Value = reqwest::get(app.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    for (client_id, alg, kty) in [("es-client", "ES256", "EC"), ("ed-client", "EdDSA", "OKP")] {
        let redirect_uri = format!("http://127.0.0.1:9/{client_id}");
        let system = systems::NewSystem {
            client_id,
            name: client_id,
            secret_hash: unilogin::crypto::sha256_b64(SECRET),
            redirect_uris: std::slice::from_ref(&redirect_uri),
            post_logout_redirect_uris: &[POST_LOGOUT_REDIRECT_URI.to_owned()],
            id_token_alg: alg,
            ..Default::default()
        };
        systems::insert(&app.state.db, system, unilogin::clock::now())
            .await
            .unwrap();

        // A new SMS code for this sign-in needs the resend interval behind the last one.
        if app
            .outbox_lines()
            .iter()
            .any(|line| line["purpose"] == "login")
        {
            app.age_latest_code(PHONE, 120).await;
        }
        let browser = Browser::new();
        let (url, verifier) = authorization_url(
            &app,
            &[("client_id", client_id), ("redirect_uri", &redirect_uri)],
        );
        let callback = sign_in(&app, &browser, &url, PHONE).await;
        let response = reqwest::Client::new()
            .post(app.url("/token"))
            .basic_auth(client_id, Some(SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &query_param(&callback, "code").unwrap()),
                ("redirect_uri", &redirect_uri),
                ("code_verifier", &verifier),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let tokens: Value = response.json().await.unwrap();
        let id_token = tokens["id_token"].as_str().unwrap();

        let (header, claims) = app.state.keys.verify_jwt(id_token).unwrap();
        assert_eq!(header["alg"], alg);
        assert_eq!(claims["aud"], client_id);
        let published = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|key| key["kid"] == header["kid"])
            .unwrap();
        assert_eq!(published["kty"], kty);
        assert_eq!(published["alg"], alg);

        // The ID token is accepted as a logout hint, which signs the browser out at once.
        let logout = browser
            .get(&format!(
                "{}/logout?{}",
                app.issuer,
                serde_urlencoded::to_string([
                    ("id_token_hint", id_token),
                    ("post_logout_redirect_uri", POST_LOGOUT_REDIRECT_URI),
                ])
                .unwrap()
            ))
            .await;
        assert_eq!(logout.status, StatusCode::SEE_OTHER, "{}", logout.body);
    }
}

#[tokio::test]
async fn rs256_key_cannot_verify_as_es256() {
    let app = spawn_app().await;
    let token = app
        .state
        .keys
        .sign_jwt("JWT", &serde_json::json!({ "sub": "1" }))
        .unwrap();
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &parts[0])
            .unwrap(),
    )
    .unwrap();
    let switched = serde_json::json!({ "alg": "ES256", "typ": "JWT", "kid": header["kid"] });
    parts[0] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        switched.to_string(),
    );
    assert!(app.state.keys.verify_jwt(&parts.join(".")).is_none());
}
