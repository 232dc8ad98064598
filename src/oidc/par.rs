//! Pushed authorization requests (RFC 9126). A client POSTs the authorization request to
//! `/par` with its authentication. The request is checked as the authorization endpoint
//! would check it, then stored under a one-time `request_uri` that lives `PAR_TTL_SECS`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::client_auth::authenticate_client;
use crate::app::SharedState;
use crate::crypto::{self, sha256_b64};
use crate::error::OAuthError;
use crate::store::pushed_requests;

/// The prefix of every `request_uri` issued here (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// Lifetime of a pushed request, in seconds. The RFC suggests 5 to 600; a browser redirect
/// follows at once.
pub const PAR_TTL_SECS: i64 = 60;
/// Maximum unexpired pushed requests per client. Public clients push without credentials,
/// so this bounds what anyone can store in their name.
pub const MAX_LIVE_PER_CLIENT: u64 = 200;

/// `POST /par`.
pub async fn push(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let mut params = super::parse_oauth_form(&body)?;
    let client = authenticate_client(&state, &headers, &params).await?;
    if params.contains_key("request_uri") {
        return Err(OAuthError::new(
            "invalid_request",
            "request_uri cannot be pushed; send the request parameters themselves",
        ));
    }
    // Client credentials belong to this request only, not to the stored authorization request.
    for name in ["client_secret", "client_assertion", "client_assertion_type"] {
        params.remove(name);
    }
    params.insert("client_id".to_owned(), client.client_id.clone());
    // The client_id above is the authenticated client's, so only a database failure is left
    // to fail here. An object's own client_id must match it.
    let (params, object_error) = super::request_object::resolve(&state, params)
        .await
        .map_err(OAuthError::server_error)?;
    if let Some(reason) = object_error {
        return Err(OAuthError::new("invalid_request_object", reason));
    }

    let redirect_uri = params
        .get("redirect_uri")
        .filter(|uri| !uri.is_empty())
        .ok_or_else(|| OAuthError::new("invalid_request", "redirect_uri is required"))?;
    if !client
        .redirect_uri_list()
        .iter()
        .any(|registered| registered == redirect_uri)
    {
        return Err(OAuthError::new(
            "invalid_request",
            format!("redirect_uri `{redirect_uri}` does not exactly match a registered one"),
        ));
    }
    super::authorize::check_request(&params, &state.keys, &state.config.server.issuer)
        .map_err(|error| OAuthError::new(error.error, error.description))?;

    let now = state.clock.now();
    if pushed_requests::count_live(&state.db, &client.client_id, now).await? >= MAX_LIVE_PER_CLIENT
    {
        tracing::warn!(client_id = %client.client_id, "too many pushed authorization requests");
        let mut error = OAuthError::new(
            "too_many_requests",
            format!(
                "the client has {MAX_LIVE_PER_CLIENT} unused pushed requests; use them or retry in {PAR_TTL_SECS} seconds"
            ),
        );
        error.status = axum::http::StatusCode::TOO_MANY_REQUESTS;
        return Err(error);
    }
    let secret = crypto::random_token().map_err(OAuthError::server_error)?;
    let stored = pushed_requests::Model {
        id: sha256_b64(&secret),
        client_id: client.client_id.clone(),
        params: serde_json::to_string(&params).map_err(OAuthError::server_error)?,
        expires_at: now + PAR_TTL_SECS,
    };
    pushed_requests::insert(&state.db, stored).await?;
    tracing::info!(client_id = %client.client_id, "authorization request pushed");
    let body = json!({
        "request_uri": format!("{REQUEST_URI_PREFIX}{secret}"),
        "expires_in": PAR_TTL_SECS,
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// The reason a `request_uri` could not be used.
pub enum Unusable {
    Unknown,
    OtherClient,
    Expired,
}

/// Takes the pushed request that `request_uri` names, once. Returns its parameters.
pub async fn take(
    state: &SharedState,
    client_id: &str,
    request_uri: &str,
) -> Result<Result<std::collections::HashMap<String, String>, Unusable>, sea_orm::DbErr> {
    let Some(secret) = request_uri.strip_prefix(REQUEST_URI_PREFIX) else {
        return Ok(Err(Unusable::Unknown));
    };
    let id = sha256_b64(secret);
    let Some(stored) = pushed_requests::find(&state.db, &id).await? else {
        return Ok(Err(Unusable::Unknown));
    };
    // Another client's attempt leaves the request in place for its owner.
    if stored.client_id != client_id {
        tracing::warn!(client_id, owner = %stored.client_id, "request_uri used by another client");
        return Ok(Err(Unusable::OtherClient));
    }
    if !pushed_requests::take(&state.db, &id, client_id).await? {
        return Ok(Err(Unusable::Unknown));
    }
    if stored.expires_at <= state.clock.now() {
        return Ok(Err(Unusable::Expired));
    }
    Ok(serde_json::from_str(&stored.params).map_err(|_| Unusable::Unknown))
}
