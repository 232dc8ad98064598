//! The whole flow with the `openidconnect` crate as the relying party.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, RequestTokenError, Scope, TokenResponse,
};
use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn new_account_signs_in_with_openidconnect_client() {
    let app = spawn_app().await;
    let account = app.add_account(PHONE, true).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer.clone()).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(CLIENT_ID.into()),
        Some(ClientSecret::new(CLIENT_SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.into()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf_state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("phone".into()))
        .set_pkce_challenge(challenge)
        .url();

    // Sign in: phone, password and the SMS code from the outbox.
    let browser = Browser::new();
    let login = open_login(&browser, auth_url.as_str()).await;
    assert!(
        login.body.contains("维修资金系统"),
        "the page names the relying party"
    );
    let code = request_code(&app, &browser, &login, PHONE).await;
    let signed_in = submit_login(&app, &browser, &login, PHONE, PASSWORD, &code).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let change_url = signed_in.location.unwrap();
    assert!(
        change_url.starts_with("/password/change?request_id="),
        "{change_url}"
    );

    // The initial password must be replaced before the client gets a code.
    let change_page = browser.get(&app.url(&change_url)).await;
    assert_eq!(change_page.status, StatusCode::OK);
    let changed = browser
        .post(
            &app.url("/password/change"),
            &[
                ("new_password", "Renewed#2026x"),
                ("new_password_confirm", "Renewed#2026x"),
                ("csrf_token", &change_page.input("csrf_token")),
                ("request_id", &change_page.input("request_id")),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    let callback = changed.location.unwrap();
    assert!(callback.starts_with(REDIRECT_URI), "{callback}");
    assert_eq!(
        query_param(&callback, "state").as_deref(),
        Some(csrf_state.secret().as_str())
    );
    assert_eq!(
        query_param(&callback, "iss").as_deref(),
        Some(app.issuer.as_str())
    );
    assert!(!app.account(account.id).await.must_change_password);

    // Code exchange and ID token verification against the JWKS.
    let code = query_param(&callback, "code").unwrap();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let id_token = tokens.id_token().unwrap();
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .unwrap();
    assert_eq!(claims.subject().as_str(), account.id.to_string());
    assert_eq!(claims.issuer().as_str(), app.issuer);
    assert_eq!(
        claims
            .auth_context_ref()
            .map(|acr| acr.as_str().to_owned())
            .as_deref(),
        Some("urn:unilogin:loa:2")
    );
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|m| m.as_str().to_owned())
        .collect();
    assert_eq!(amr, ["pwd", "sms", "mfa"]);
    assert!(claims.auth_time().is_some());

    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&client.id_token_verifier()).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));

    // The raw ID token also carries sid.
    let payload = id_token.to_string();
    let body = payload.split('.').nth(1).unwrap();
    use base64::Engine;
    let raw: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(raw["sid"].as_str().map(str::len), Some(43));

    let userinfo: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(userinfo.subject().as_str(), account.id.to_string());
    assert_eq!(
        userinfo
            .phone_number()
            .map(|p| p.as_str().to_owned())
            .as_deref(),
        Some("+8613912345678")
    );
    assert_eq!(userinfo.phone_number_verified(), Some(true));
    let name = userinfo
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_owned());
    assert_eq!(name.as_deref(), Some("张三"));

    // Refresh rotates the refresh token; the old one is then refused.
    let first_refresh = tokens.refresh_token().unwrap();
    let refreshed = client
        .exchange_refresh_token(first_refresh)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    let second_refresh = refreshed.refresh_token().unwrap();
    assert_ne!(second_refresh.secret(), first_refresh.secret());
    let refreshed_claims = refreshed
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
        .unwrap();
    assert_eq!(refreshed_claims.subject(), claims.subject());
    let reused = client
        .exchange_refresh_token(first_refresh)
        .unwrap()
        .request_async(&http)
        .await;
    match reused {
        Err(RequestTokenError::ServerResponse(response)) => {
            assert_eq!(response.error(), &CoreErrorResponseType::InvalidGrant);
        }
        other => panic!("reused refresh token: {other:?}"),
    }

    // RP-initiated logout with the crate's request builder.
    let logout_metadata = ProviderMetadataWithLogout::discover_async(
        IssuerUrl::new(app.issuer.clone()).unwrap(),
        &http,
    )
    .await
    .unwrap();
    let end_session = logout_metadata
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .unwrap();
    let logout_url = LogoutRequest::from(end_session)
        .set_id_token_hint(refreshed.id_token().unwrap())
        .set_post_logout_redirect_uri(
            PostLogoutRedirectUrl::new(POST_LOGOUT_REDIRECT_URI.into()).unwrap(),
        )
        .set_state(CsrfToken::new("bye".into()))
        .http_get_url();
    let logout = browser.get(logout_url.as_str()).await;
    assert_eq!(logout.status, StatusCode::SEE_OTHER, "{}", logout.body);
    assert_eq!(
        logout.location.as_deref(),
        Some(format!("{POST_LOGOUT_REDIRECT_URI}?state=bye").as_str())
    );
}

#[tokio::test]
async fn discovery_and_jwks_advertise_strict_settings() {
    let app = spawn_app().await;
    let metadata: serde_json::Value = reqwest::get(app.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["issuer"], app.issuer.as_str());
    assert_eq!(
        metadata["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(
        metadata["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256", "ES256", "EdDSA"])
    );
    assert_eq!(metadata["request_uri_parameter_supported"], false);

    let jwks: serde_json::Value = reqwest::get(app.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3, "one key per algorithm");
    let key = keys.iter().find(|key| key["alg"] == "RS256").unwrap();
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["e"], "AQAB");
    assert!(key["kid"].as_str().is_some());
    assert!(key.get("d").is_none(), "no private parts in the JWKS");
}

#[tokio::test]
async fn existing_session_gets_code_without_login() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let (url, _) = authorization_url(&app, &[]);
    sign_in(&app, &browser, &url, PHONE).await;

    let (second, _) = authorization_url(&app, &[("prompt", "none"), ("state", "again")]);
    let silent = browser.get(&second).await;
    assert_eq!(silent.status, StatusCode::FOUND);
    let location = silent.location.unwrap();
    assert!(query_param(&location, "code").is_some(), "{location}");
    assert_eq!(query_param(&location, "state").as_deref(), Some("again"));

    let (forced, _) = authorization_url(&app, &[("prompt", "login")]);
    let relogin = browser.get(&forced).await;
    assert!(relogin.location.unwrap().starts_with("/login?request_id="));
}

#[tokio::test]
async fn prompt_none_without_session_is_login_required() {
    let app = spawn_app().await;
    let (url, _) = authorization_url(&app, &[("prompt", "none")]);
    let response = Browser::new().get(&url).await;
    assert_eq!(response.status, StatusCode::FOUND);
    let location = response.location.unwrap();
    assert!(location.starts_with(REDIRECT_URI));
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("login_required")
    );
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(app.issuer.as_str())
    );
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some("client-state-1")
    );
}

#[tokio::test]
async fn login_hint_and_ui_locales_shape_login_page() {
    let app = spawn_app().await;
    let (url, _) = authorization_url(
        &app,
        &[
            ("login_hint", "+86 139 1234 5678"),
            ("ui_locales", "fr en zh-CN"),
        ],
    );
    let page = open_login(&Browser::new(), &url).await;
    assert!(
        page.body
            .contains("<title>Sign in - Unified Login Platform</title>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("value=\"13912345678\""),
        "the phone is prefilled: {}",
        page.body
    );
}

#[tokio::test]
async fn id_token_hint_checked_at_authorization() {
    let app = spawn_app().await;
    let account = app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let (url, verifier) = authorization_url(&app, &[]);
    let callback = sign_in(&app, &browser, &url, PHONE).await;
    let tokens: serde_json::Value =
        exchange(&app, &query_param(&callback, "code").unwrap(), &verifier)
            .await
            .json()
            .await
            .unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();

    let (silent, _) = authorization_url(&app, &[("prompt", "none"), ("id_token_hint", id_token)]);
    let same_user = browser.get(&silent).await.location.unwrap();
    assert!(query_param(&same_user, "code").is_some(), "{same_user}");

    // Another user signs in in the same browser: the old hint no longer fits the session.
    app.add_account("13912340000", false).await;
    let (url, _) = authorization_url(&app, &[("prompt", "login")]);
    let other = sign_in(&app, &browser, &url, "13912340000").await;
    assert!(other.starts_with(REDIRECT_URI));
    let mismatch = browser.get(&silent).await.location.unwrap();
    assert_eq!(
        query_param(&mismatch, "error").as_deref(),
        Some("login_required"),
        "{mismatch} for {}",
        account.id
    );

    let (forged, _) = authorization_url(&app, &[("id_token_hint", "a.b.c")]);
    let rejected = browser.get(&forged).await.location.unwrap();
    assert_eq!(
        query_param(&rejected, "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn claims_parameter_adds_requested_claims() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let request = r#"{"userinfo":{"name":{"essential":true}},"id_token":{"phone_number":null}}"#;
    let (url, verifier) = authorization_url(&app, &[("scope", "openid"), ("claims", request)]);
    let callback = sign_in(&app, &browser, &url, PHONE).await;
    let tokens: serde_json::Value =
        exchange(&app, &query_param(&callback, "code").unwrap(), &verifier)
            .await
            .json()
            .await
            .unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    let (_, id_claims) = app.state.keys.verify_jwt(id_token).unwrap();
    assert_eq!(id_claims["phone_number"], "+8613912345678");
    assert!(id_claims.get("name").is_none());

    let userinfo: serde_json::Value = reqwest::Client::new()
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["name"], "张三");
    assert!(userinfo.get("phone_number").is_none());

    // A refreshed ID token keeps the requested claims.
    let refreshed: serde_json::Value = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (_, refreshed_claims) = app
        .state
        .keys
        .verify_jwt(refreshed["id_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(refreshed_claims["phone_number"], "+8613912345678");
}

#[tokio::test]
async fn malformed_claims_parameter_is_invalid_request() {
    let app = spawn_app().await;
    let (url, _) = authorization_url(&app, &[("claims", r#"{"userinfo":{"name":true}}"#)]);
    let response = Browser::new().get(&url).await;
    let location = response.location.unwrap();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(
        query_param(&location, "error_description").as_deref(),
        Some("claims.userinfo.name must be null or an object")
    );
}

#[tokio::test]
async fn claims_sub_of_other_user_is_not_silent() {
    let app = spawn_app().await;
    let account = app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let (url, _) = authorization_url(&app, &[]);
    sign_in(&app, &browser, &url, PHONE).await;

    let other = r#"{"id_token":{"sub":{"value":"999999"}}}"#;
    let (url, _) = authorization_url(&app, &[("prompt", "none"), ("claims", other)]);
    let location = browser.get(&url).await.location.unwrap();
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("login_required")
    );

    let same = format!(r#"{{"id_token":{{"sub":{{"value":"{}"}}}}}}"#, account.id);
    let (url, _) = authorization_url(&app, &[("prompt", "none"), ("claims", &same)]);
    let location = browser.get(&url).await.location.unwrap();
    assert!(query_param(&location, "code").is_some(), "{location}");
}

#[tokio::test]
async fn essential_acr_claim_requires_certificate() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let (url, _) = authorization_url(&app, &[]);
    sign_in(&app, &browser, &url, PHONE).await;

    let request = r#"{"id_token":{"acr":{"essential":true,"values":["urn:unilogin:loa:3"]}}}"#;
    let (url, _) = authorization_url(&app, &[("claims", request)]);
    let location = browser.get(&url).await.location.unwrap();
    assert!(
        location.starts_with("/login/certificate?request_id="),
        "{location}"
    );
}

#[tokio::test]
async fn other_user_sign_in_gets_no_code() {
    let app = spawn_app().await;
    let account = app.add_account(PHONE, false).await;
    let other = r#"{"id_token":{"sub":{"value":"999999"}}}"#;
    let (url, _) = authorization_url(&app, &[("claims", other)]);
    let callback = sign_in(&app, &Browser::new(), &url, PHONE).await;
    assert!(callback.starts_with(REDIRECT_URI), "{callback}");
    assert!(query_param(&callback, "code").is_none(), "{callback}");
    assert_eq!(
        query_param(&callback, "error").as_deref(),
        Some("login_required")
    );

    // The requested user signing in gets the code.
    app.age_latest_code(PHONE, 120).await;
    let same = format!(r#"{{"id_token":{{"sub":{{"value":"{}"}}}}}}"#, account.id);
    let (url, _) = authorization_url(&app, &[("claims", &same)]);
    let callback = sign_in(&app, &Browser::new(), &url, PHONE).await;
    assert!(query_param(&callback, "code").is_some(), "{callback}");
}
