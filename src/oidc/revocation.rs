//! Token revocation (RFC 7009) and introspection (RFC 7662), both for authenticated clients
//! and only for the caller's own tokens.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::client_auth::authenticate_client;
use crate::app::SharedState;
use crate::crypto::sha256_b64;
use crate::error::OAuthError;
use crate::store::{refresh_tokens, systems, tokens};

/// A token of the calling client, as found in storage.
enum Found {
    Access(tokens::Model, Value),
    Refresh(refresh_tokens::Model),
}

async fn authenticated(
    state: &SharedState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(systems::Model, String), OAuthError> {
    let params = super::parse_oauth_form(body)?;
    let param = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let client = authenticate_client(state, headers, &params).await?;
    let token =
        param("token").ok_or_else(|| OAuthError::new("invalid_request", "token is required"))?;
    Ok((client, token.to_owned()))
}

impl Found {
    fn client_id(&self) -> &str {
        match self {
            Found::Access(record, _) => &record.client_id,
            Found::Refresh(row) => &row.client_id,
        }
    }
}

/// Finds a token of any client.
async fn find(state: &SharedState, token: &str) -> Result<Option<Found>, OAuthError> {
    if token.contains('.') {
        let Some((_, claims)) = state.keys.verify_jwt(token) else {
            return Ok(None);
        };
        let Some(jti) = claims["jti"].as_str() else {
            return Ok(None);
        };
        return Ok(tokens::find(&state.db, jti)
            .await?
            .map(|record| Found::Access(record, claims)));
    }
    Ok(refresh_tokens::find(&state.db, &sha256_b64(token))
        .await?
        .map(Found::Refresh))
}

fn no_store(body: Value) -> Response {
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /revoke`. Returns 200 for unknown tokens too (RFC 7009 §2.2). Revoking a refresh
/// token revokes its family and the family's access tokens.
pub async fn revoke(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let (client, token) = authenticated(&state, &headers, &body).await?;
    let now = state.clock.now();
    let found = find(&state, &token).await?;
    // RFC 7009 §2.1: a token issued to another client is rejected, and left as it is.
    if let Some(other) = found
        .as_ref()
        .filter(|found| found.client_id() != client.client_id)
    {
        tracing::warn!(client_id = %client.client_id, owner = %other.client_id(), "revocation of another client's token rejected");
        return Err(OAuthError::new(
            "invalid_request",
            "the token was not issued to this client",
        ));
    }
    match found {
        Some(Found::Access(record, _)) => {
            tokens::revoke_jti(&state.db, &record.jti, now).await?;
        }
        Some(Found::Refresh(row)) => {
            refresh_tokens::revoke_family(&state.db, &row.family_id, now).await?;
            tokens::revoke_grant(&state.db, &row.family_id, now).await?;
        }
        None => {}
    }
    Ok(no_store(json!({})))
}

/// `POST /introspect`.
pub async fn introspect(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let (client, token) = authenticated(&state, &headers, &body).await?;
    // A public client has no credentials, so anyone could introspect in its name.
    if client.is_public() {
        return Err(OAuthError::invalid_client(
            "public clients cannot use introspection; authenticate as a confidential client",
        ));
    }
    let now = state.clock.now();
    let inactive = json!({ "active": false });
    // Tokens of other clients are reported inactive, as RFC 7662 §2.2 allows.
    let found = find(&state, &token)
        .await?
        .filter(|found| found.client_id() == client.client_id);
    let answer = match found {
        Some(Found::Access(record, claims))
            if record.revoked_at.is_none() && record.expires_at > now =>
        {
            json!({
                "active": true,
                "token_type": "Bearer",
                "scope": record.scope,
                "client_id": record.client_id,
                "sub": state.subject(&client, record.account_id),
                "iss": state.config.server.issuer,
                "aud": claims["aud"],
                "iat": claims["iat"],
                "exp": record.expires_at,
                "jti": record.jti,
            })
        }
        Some(Found::Refresh(row))
            if row.revoked_at.is_none()
                && row.used_at.is_none()
                && row.expires_at > now
                && row.idle_expires_at > now =>
        {
            json!({
                "active": true,
                "token_type": "refresh_token",
                "scope": row.scope,
                "client_id": row.client_id,
                "sub": state.subject(&client, row.account_id),
                "iss": state.config.server.issuer,
                "iat": row.created_at,
                "exp": row.idle_expires_at,
            })
        }
        _ => inactive,
    };
    Ok(no_store(answer))
}
