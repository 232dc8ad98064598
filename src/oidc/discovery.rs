//! Provider metadata (OpenID Connect Discovery 1.0 §3) and the JWKS, serialized once at start-up.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::client_auth;
use super::{
    AUTHORIZE_PATH, END_SESSION_PATH, INTROSPECTION_PATH, JWKS_PATH, PAR_PATH, REVOCATION_PATH,
    TOKEN_PATH, USERINFO_PATH,
};
use crate::app::SharedState;
use crate::domain::{assurance, scope};
use crate::store::systems;

pub fn metadata(issuer: &str) -> Bytes {
    let document = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}{AUTHORIZE_PATH}"),
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "userinfo_endpoint": format!("{issuer}{USERINFO_PATH}"),
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "end_session_endpoint": format!("{issuer}{END_SESSION_PATH}"),
        "revocation_endpoint": format!("{issuer}{REVOCATION_PATH}"),
        "introspection_endpoint": format!("{issuer}{INTROSPECTION_PATH}"),
        "pushed_authorization_request_endpoint": format!("{issuer}{PAR_PATH}"),
        "require_pushed_authorization_requests": false,
        "revocation_endpoint_auth_methods_supported": systems::AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": client_auth::ASSERTION_ALGS,
        "introspection_endpoint_auth_methods_supported": [
            systems::AUTH_SECRET_BASIC, systems::AUTH_SECRET_POST, systems::AUTH_PRIVATE_KEY_JWT
        ],
        "introspection_endpoint_auth_signing_alg_values_supported": client_auth::ASSERTION_ALGS,
        "scopes_supported": scope::SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": [systems::SUBJECT_PUBLIC, systems::SUBJECT_PAIRWISE],
        "id_token_signing_alg_values_supported": super::keys::ALGS,
        "token_endpoint_auth_methods_supported": systems::AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": client_auth::ASSERTION_ALGS,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": true,
        "frontchannel_logout_session_supported": true,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp",
            "name", "phone_number", "phone_number_verified", "org_uscc", "org_code", "org_name",
            "identity_type", "operator_id", "identity_id", "enterprise_admin"
        ],
        "acr_values_supported": assurance::SUPPORTED,
        "prompt_values_supported": ["none", "login", "select_account"],
        "ui_locales_supported": ["zh-CN", "en"],
        "claims_parameter_supported": true,
        "request_parameter_supported": true,
        "request_object_signing_alg_values_supported": [
            "none", "RS256", "PS256", "ES256", "EdDSA"
        ],
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    });
    Bytes::from(document.to_string())
}

fn json_response(body: Bytes) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

pub async fn configuration(State(state): State<SharedState>) -> Response {
    json_response(state.discovery.clone())
}

pub async fn jwks(State(state): State<SharedState>) -> Response {
    json_response(state.keys.jwks())
}
