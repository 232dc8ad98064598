//! The built-in demo relying party at `/demo`. It runs the authorization code flow with PKCE
//! against this server, then redeems the code and reads UserInfo through the same functions
//! the token and UserInfo endpoints use, and shows the results.

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::json;

use super::{PageContext, render};
use crate::app::SharedState;
use crate::auth::session;
use crate::crypto::{self, constant_time_eq, sha256};
use crate::domain::pkce;
use crate::error::Error;
use crate::oidc::{authorize, token, userinfo};
use crate::store::systems;

pub const CLIENT_ID: &str = "demo";
const COOKIE: &str = "unilogin_demo";

pub fn redirect_uri(issuer: &str) -> String {
    format!("{issuer}/demo/callback")
}

/// The demo client's secret, derived from the master key so the page can authenticate
/// without storing it.
pub fn client_secret(master: &crypto::MasterKey) -> String {
    URL_SAFE_NO_PAD.encode(master.derive("demo-client-secret"))
}

pub async fn demo_page(
    State(state): State<SharedState>,
    page: PageContext,
) -> Result<Response, Error> {
    if !state.demo_enabled {
        return Err(Error::page(StatusCode::NOT_FOUND, "not_found", ""));
    }
    Ok(render(
        &state,
        &page,
        StatusCode::OK,
        "demo.html",
        json!({}),
    ))
}

pub async fn start(State(state): State<SharedState>) -> Result<Response, Error> {
    if !state.demo_enabled {
        return Err(Error::page(StatusCode::NOT_FOUND, "not_found", ""));
    }
    let client_state = crypto::random_token().map_err(Error::internal)?;
    let nonce = crypto::random_token().map_err(Error::internal)?;
    let verifier = crypto::random_token().map_err(Error::internal)?;
    let issuer = &state.config.server.issuer;

    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", &redirect_uri(issuer))
        .append_pair("scope", "openid profile phone")
        .append_pair("state", &client_state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &pkce::s256_challenge(&verifier, sha256))
        .append_pair("code_challenge_method", "S256")
        .finish();
    let mut response =
        authorize::found(&format!("{issuer}{}?{query}", crate::oidc::AUTHORIZE_PATH));
    let cookie = format!("{client_state}.{nonce}.{verifier}");
    let set_cookie =
        session::set_cookie(COOKIE, &cookie, state.config.issuer_is_https(), Some(600));
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie);
    Ok(response)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CallbackQuery {
    code: String,
    state: String,
    iss: String,
    error: String,
    error_description: String,
}

pub async fn callback(
    State(state): State<SharedState>,
    page: PageContext,
    headers: axum::http::HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, Error> {
    if !state.demo_enabled {
        return Err(Error::page(StatusCode::NOT_FOUND, "not_found", ""));
    }
    let show_error = |message: String| {
        let mut response = render(
            &state,
            &page,
            StatusCode::BAD_REQUEST,
            "demo.html",
            json!({ "error": message }),
        );
        clear_cookie(&mut response);
        Ok(response)
    };
    if !query.error.is_empty() {
        return show_error(format!("{}: {}", query.error, query.error_description));
    }

    let stored = session::read_cookie(&headers, COOKIE).unwrap_or_default();
    let mut parts = stored.split('.');
    let (Some(expected_state), Some(nonce), Some(verifier)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return show_error(page.message(&state, "demo_state_mismatch"));
    };
    if !constant_time_eq(expected_state.as_bytes(), query.state.as_bytes()) {
        return show_error(page.message(&state, "demo_state_mismatch"));
    }
    if query.iss != state.config.server.issuer {
        return show_error(format!("iss `{}` is not this issuer", query.iss));
    }

    let client = systems::find_by_client_id(&state.db, CLIENT_ID)
        .await?
        .ok_or_else(|| Error::page(StatusCode::NOT_FOUND, "client_unknown", CLIENT_ID))?;
    let redirect = redirect_uri(&state.config.server.issuer);
    let grant = token::AuthorizationCodeGrant {
        code: &query.code,
        redirect_uri: &redirect,
        code_verifier: Some(verifier),
    };
    let tokens = match token::exchange_code(&state, &client, grant).await {
        Ok(tokens) => tokens,
        Err(error) => return show_error(format!("{}: {}", error.error, error.description)),
    };

    let id_token = tokens["id_token"].as_str().unwrap_or_default();
    let Some((_, claims)) = state.keys.verify_jwt(id_token) else {
        return show_error("the ID token signature did not verify".into());
    };
    if claims["nonce"] != nonce
        || claims["aud"] != CLIENT_ID
        || claims["iss"] != state.config.server.issuer.as_str()
    {
        return show_error("the ID token nonce, audience or issuer did not match".into());
    }
    let access_token = tokens["access_token"].as_str().unwrap_or_default();
    let userinfo = match userinfo::claims_for_token(&state, access_token).await {
        Ok(claims) => claims,
        Err(error) => return show_error(format!("{}: {}", error.error, error.description)),
    };

    let logout_query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("id_token_hint", id_token)
        .append_pair(
            "post_logout_redirect_uri",
            &format!("{}/demo", state.config.server.issuer),
        )
        .finish();
    let context = json!({
        "logout_url": format!("{}?{logout_query}", crate::oidc::END_SESSION_PATH),
        "id_token_claims": serde_json::to_string_pretty(&claims).unwrap_or_default(),
        "userinfo": serde_json::to_string_pretty(&userinfo).unwrap_or_default(),
    });
    let mut response = render(&state, &page, StatusCode::OK, "demo.html", context);
    clear_cookie(&mut response);
    Ok(response)
}

fn clear_cookie(response: &mut Response) {
    let value =
        HeaderValue::from_static("unilogin_demo=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    response.headers_mut().append(header::SET_COOKIE, value);
}
