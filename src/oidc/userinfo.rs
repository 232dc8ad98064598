//! UserInfo endpoint (OpenID Connect Core §5.3), GET and POST with a bearer token.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::SharedState;
use crate::domain::claims_request::{self, ClaimsRequest};
use crate::error::OAuthError;
use crate::store::{accounts, systems, tokens};

pub async fn userinfo_get(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> Result<Response, OAuthError> {
    let token = bearer_token(&headers)?;
    respond(&state, token.as_deref()).await
}

pub async fn userinfo_post(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let header_token = bearer_token(&headers)?;
    // RFC 6750 §2.2: the token may come in a form body instead of the header, not in both.
    let body_token = url::form_urlencoded::parse(&body)
        .find(|(key, _)| key == "access_token")
        .map(|(_, value)| value.into_owned());
    let token = match (header_token, body_token) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::new(
                "invalid_request",
                "access token sent in both header and body",
            ));
        }
        (header, body) => header.or(body),
    };
    respond(&state, token.as_deref()).await
}

fn bearer_token(headers: &HeaderMap) -> Result<Option<String>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| OAuthError::invalid_token("malformed Authorization header"))?;
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(OAuthError::invalid_token(
            "Authorization header must be `Bearer <access token>`",
        )),
    }
}

async fn respond(state: &SharedState, token: Option<&str>) -> Result<Response, OAuthError> {
    let Some(token) = token else {
        let mut error = OAuthError::invalid_token("an access token is required");
        error.error = "invalid_request";
        error.www_authenticate = Some(r#"Bearer realm="unilogin""#.into());
        return Err(error);
    };
    let claims = claims_for_token(state, token).await?;
    let mut response = Json(claims).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Builds the UserInfo claims that the token's scope allows.
pub async fn claims_for_token(
    state: &SharedState,
    token: &str,
) -> Result<serde_json::Value, OAuthError> {
    let record = validate_access_token(state, token).await?;
    let account = accounts::find_by_id(&state.db, record.account_id)
        .await?
        .ok_or_else(|| OAuthError::invalid_token("the account of this token no longer exists"))?;

    let requested = ClaimsRequest::from_stored(record.claims.as_deref());
    let is_released = |name: &str| {
        claims_request::scope_releases(&record.scope, name)
            || requested.userinfo.iter().any(|claim| claim == name)
    };
    let client = systems::find_by_client_id(&state.db, &record.client_id)
        .await?
        .ok_or_else(|| OAuthError::invalid_token("the client of this token no longer exists"))?;
    let mut claims = json!({ "sub": state.subject(&client, account.id) });
    let released =
        super::claims::user_claims(&state.db, &account, record.identity_id, &is_released).await?;
    if let Some(object) = claims.as_object_mut() {
        object.extend(released);
    }
    Ok(claims)
}

/// Checks an access token's signature, issuer, type and expiry, then that it is not revoked.
pub async fn validate_access_token(
    state: &SharedState,
    token: &str,
) -> Result<tokens::Model, OAuthError> {
    let invalid = || OAuthError::invalid_token("the access token is invalid, expired or revoked");
    let (header, claims) = state.keys.verify_jwt(token).ok_or_else(invalid)?;
    let now = state.clock.now();
    if header["typ"] != "at+jwt"
        || claims["iss"] != state.config.server.issuer.as_str()
        || claims["exp"].as_i64().is_none_or(|exp| exp <= now)
    {
        return Err(invalid());
    }
    let jti = claims["jti"].as_str().ok_or_else(invalid)?;
    let record = tokens::find(&state.db, jti).await?.ok_or_else(invalid)?;
    if record.revoked_at.is_some() || record.expires_at <= now {
        return Err(invalid());
    }
    Ok(record)
}
