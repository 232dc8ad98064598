//! The platform administrator's JSON API under `/api/v1/platform/`: the systems registry and
//! the delivery state of provisioning events. Callers present a bearer token whose SHA-256
//! is listed in `platform.admin_token_hashes`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::{AppState, SharedState};
use crate::crypto::{constant_time_eq, sha256_b64};
use crate::domain::identity::IdentityRules;
use crate::store::systems::{self, OfferedType, SystemUpdate};
use crate::store::{audit, provisioning_events};

fn error(status: StatusCode, code: &str, message: String) -> Response {
    (status, Json(json!({ "error": code, "message": message }))).into_response()
}

/// Checks the bearer token; None when it is accepted.
fn reject_unauthorized(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    // The scheme name is case-insensitive (RFC 7235 §2.1).
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, token)| token.trim());
    let hash = sha256_b64(token);
    let accepted = !token.is_empty()
        && state
            .config
            .platform
            .admin_token_hashes
            .iter()
            .any(|allowed| constant_time_eq(allowed.as_bytes(), hash.as_bytes()));
    if accepted {
        return None;
    }
    tracing::warn!("platform API request without a valid bearer token");
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "a platform administrator bearer token is required".into(),
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    Some(response)
}

/// Maximum length of a system name, in characters.
const MAX_NAME_CHARS: usize = 100;

/// Checks a system's display name: 1 to 100 characters without control or invisible ones.
pub fn validate_name(name: &str) -> Result<(), String> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || crate::domain::operator::has_hidden_chars(name)
    {
        return Err(format!(
            "name must be 1 to {MAX_NAME_CHARS} characters without control or invisible characters"
        ));
    }
    Ok(())
}

/// Checks the values of a system: client_id characters, http(s) URIs without fragments or
/// user info, and identity types that the configuration lists, each once.
pub fn validate_system(
    rules: &IdentityRules,
    client_id: Option<&str>,
    uris: &[&str],
    identity_types: &[OfferedType],
) -> Result<(), String> {
    if let Some(client_id) = client_id
        && (client_id.is_empty()
            || client_id.len() > 64
            || !client_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)))
    {
        return Err(format!(
            "client_id `{client_id}` is invalid: use 1 to 64 letters, digits, `-`, `_` or `.`"
        ));
    }
    for uri in uris.iter().filter(|uri| !uri.is_empty()) {
        let parsed = url::Url::parse(uri).map_err(|e| format!("`{uri}` is not a URL ({e})"))?;
        if parsed.fragment().is_some()
            || !matches!(parsed.scheme(), "http" | "https")
            || !parsed.username().is_empty()
            || parsed.password().is_some()
        {
            return Err(format!(
                "`{uri}` must be an http(s) URL without a fragment or user info"
            ));
        }
    }
    for (index, offered) in identity_types.iter().enumerate() {
        if identity_types[..index]
            .iter()
            .any(|earlier| earlier.code == offered.code)
        {
            return Err(format!("identity type `{}` is listed twice", offered.code));
        }
    }
    if let Some(unknown) = identity_types.iter().find(|t| !rules.is_known(&t.code)) {
        return Err(format!(
            "identity type `{}` is unknown; use one of {}",
            unknown.code,
            rules.codes().join(", ")
        ));
    }
    Ok(())
}

fn system_json(system: &systems::Model) -> Value {
    json!({
        "client_id": system.client_id,
        "name": system.name,
        "redirect_uris": system.redirect_uri_list(),
        "post_logout_redirect_uris": system.post_logout_redirect_uri_list(),
        "identity_types": system.offered_types(),
        "provisioning_endpoint": system.provisioning_endpoint,
        "initiate_login_uri": system.initiate_login_uri,
        "home_uri": system.home_uri,
    })
}

pub async fn list_systems(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    if let Some(response) = reject_unauthorized(&state, &headers) {
        return response;
    }
    match systems::list(&state.db).await {
        Ok(list) => Json(json!({ "items": list.iter().map(system_json).collect::<Vec<_>>() }))
            .into_response(),
        Err(e) => internal(e),
    }
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "platform API operation failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "internal server error".into(),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewSystemBody {
    client_id: String,
    name: String,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    identity_types: Vec<OfferedType>,
    provisioning_endpoint: Option<String>,
    initiate_login_uri: Option<String>,
    home_uri: Option<String>,
}

#[allow(
    clippy::result_large_err,
    reason = "the error is the response itself, returned at once"
)]
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("invalid JSON body: {e}"),
        )
    })
}

pub async fn create_system(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(response) = reject_unauthorized(&state, &headers) {
        return response;
    }
    let input: NewSystemBody = match parse(&body) {
        Ok(input) => input,
        Err(response) => return response,
    };
    let mut uris: Vec<&str> = input
        .redirect_uris
        .iter()
        .chain(&input.post_logout_redirect_uris)
        .map(String::as_str)
        .collect();
    uris.extend(
        [
            &input.provisioning_endpoint,
            &input.initiate_login_uri,
            &input.home_uri,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str),
    );
    let checked = validate_system(
        &state.config.identities,
        Some(&input.client_id),
        &uris,
        &input.identity_types,
    )
    .and_then(|()| {
        if input.redirect_uris.is_empty() || input.redirect_uris.iter().any(String::is_empty) {
            Err("at least one redirect_uri is required, and none may be empty".into())
        } else {
            validate_name(&input.name)
        }
    });
    if let Err(message) = checked {
        return error(StatusCode::BAD_REQUEST, "invalid_request", message);
    }
    match systems::find_by_client_id(&state.db, &input.client_id).await {
        Ok(Some(_)) => {
            return error(
                StatusCode::CONFLICT,
                "system_exists",
                format!(
                    "client `{}` already exists; update it instead",
                    input.client_id
                ),
            );
        }
        Ok(None) => {}
        Err(e) => return internal(e),
    }
    let secret = match crate::crypto::random_token() {
        Ok(secret) => secret,
        Err(e) => return internal(e),
    };
    let new = systems::NewSystem {
        client_id: &input.client_id,
        name: input.name.trim(),
        secret_hash: sha256_b64(&secret),
        redirect_uris: &input.redirect_uris,
        post_logout_redirect_uris: &input.post_logout_redirect_uris,
        initiate_login_uri: input.initiate_login_uri.as_deref(),
        home_uri: input.home_uri.as_deref(),
        identity_types: &input.identity_types,
        provisioning_endpoint: input.provisioning_endpoint.as_deref(),
        ..Default::default()
    };
    let now = state.clock.now();
    let system = match systems::insert(&state.db, new, now).await {
        Ok(system) => system,
        Err(e) => return internal(e),
    };
    audit_change(&state, "system.create", &system.client_id).await;
    tracing::info!(client_id = %system.client_id, "system registered through the platform API");
    let mut body = system_json(&system);
    body["client_secret"] = json!(secret);
    (StatusCode::CREATED, Json(body)).into_response()
}

pub async fn update_system(
    State(state): State<SharedState>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(response) = reject_unauthorized(&state, &headers) {
        return response;
    }
    let change: SystemUpdate = match parse(&body) {
        Ok(change) => change,
        Err(response) => return response,
    };
    let mut uris: Vec<&str> = change
        .redirect_uris
        .iter()
        .flatten()
        .chain(change.post_logout_redirect_uris.iter().flatten())
        .map(String::as_str)
        .collect();
    uris.extend(
        [
            &change.provisioning_endpoint,
            &change.initiate_login_uri,
            &change.home_uri,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str),
    );
    let types = change.identity_types.clone().unwrap_or_default();
    let checked = validate_system(&state.config.identities, None, &uris, &types)
        .and_then(|()| change.name.as_deref().map_or(Ok(()), validate_name))
        .and_then(|()| match &change.redirect_uris {
            Some(list) if list.is_empty() || list.iter().any(String::is_empty) => {
                Err("redirect_uris needs at least one URI, and none may be empty".into())
            }
            _ => Ok(()),
        });
    if let Err(message) = checked {
        return error(StatusCode::BAD_REQUEST, "invalid_request", message);
    }
    let existing = match systems::find_by_client_id(&state.db, &client_id).await {
        Ok(Some(existing)) => existing,
        Ok(None) => {
            return error(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("client `{client_id}` is not registered"),
            );
        }
        Err(e) => return internal(e),
    };
    let system = match systems::update(&state.db, existing, change).await {
        Ok(system) => system,
        Err(e) => return internal(e),
    };
    audit_change(&state, "system.update", &system.client_id).await;
    tracing::info!(client_id = %system.client_id, "system updated through the platform API");
    Json(system_json(&system)).into_response()
}

/// Records a registry change made with the platform token; a failed write is logged.
async fn audit_change(state: &AppState, action: &str, client_id: &str) {
    let event = audit::Event {
        actor: "platform-admin",
        action,
        target: &format!("client:{client_id}"),
        result: "success",
        source_ip: "",
        detail: "",
    };
    if let Err(error) = audit::append(&state.db, event, state.clock.now()).await {
        tracing::error!(error = %error, action, client_id, "audit event not written");
    }
}

pub async fn list_events(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    if let Some(response) = reject_unauthorized(&state, &headers) {
        return response;
    }
    match provisioning_events::recent(&state.db, 200).await {
        Ok(events) => Json(json!({ "items": events })).into_response(),
        Err(e) => internal(e),
    }
}
