//! Request objects passed by value in the `request` parameter (OpenID Connect Core §6.1).
//! A client that registered keys must sign its objects with one of them. A client without
//! keys may send unsigned objects (`alg` `none`), which carry no more trust than the query
//! parameters they replace. Request objects by reference (`request_uri` outside PAR) are
//! not fetched, so the provider never makes requests to addresses a client names.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::Value;

use super::client_auth::{ASSERTION_ALGS, Jws, parse_client_jwks};
use crate::app::SharedState;
use crate::error::Error;
use crate::store::systems;

/// Claims of a request object that describe the object itself, not the request.
const ENVELOPE_CLAIMS: [&str; 6] = ["iss", "aud", "exp", "iat", "nbf", "jti"];

/// Replaces the query parameters with those of the request object, when there is one.
/// Returns the parameters and, when the object is unusable, the reason, which the caller
/// returns as `invalid_request_object` once the client and redirect URI are known good.
pub async fn resolve(
    state: &SharedState,
    mut params: HashMap<String, String>,
) -> Result<(HashMap<String, String>, Option<String>), Error> {
    let Some(object) = params.remove("request").filter(|object| !object.is_empty()) else {
        return Ok((params, None));
    };
    let Some(client_id) = params.get("client_id").filter(|id| !id.is_empty()) else {
        return Err(Error::page(
            StatusCode::BAD_REQUEST,
            "client_id_missing",
            "",
        ));
    };
    let Some(system) = systems::find_by_client_id(&state.db, client_id).await? else {
        return Err(Error::page(
            StatusCode::BAD_REQUEST,
            "client_unknown",
            client_id.as_str(),
        ));
    };
    match read(state, &system, &object, &params) {
        Ok(claims) => {
            merge(&mut params, claims);
            Ok((params, None))
        }
        Err(reason) => {
            tracing::info!(client_id = %system.client_id, reason, "request object rejected");
            Ok((params, Some(reason)))
        }
    }
}

/// Verifies the object and returns its claims.
fn read(
    state: &SharedState,
    system: &systems::Model,
    object: &str,
    query: &HashMap<String, String>,
) -> Result<serde_json::Map<String, Value>, String> {
    let jws = Jws::parse(object).ok_or("the request object is not a JWT")?;
    let alg = jws.header["alg"].as_str().unwrap_or("");
    match system.jwks.as_deref() {
        Some(jwks) => {
            if !ASSERTION_ALGS.contains(&alg) {
                return Err(format!(
                    "the request object must be signed with one of {}",
                    ASSERTION_ALGS.join(", ")
                ));
            }
            let keys = parse_client_jwks(jwks)
                .map_err(|_| "the client has no usable registered keys".to_owned())?;
            if !jws.verify(&keys) {
                return Err(
                    "the request object's signature does not verify with the client's keys".into(),
                );
            }
        }
        None if alg == "none" && jws.is_unsigned() => {}
        None => {
            return Err(format!(
                "the request object is signed with `{alg}`, but the client registered no keys; send it unsigned (alg none) or register keys"
            ));
        }
    }

    let claims = jws.claims.as_object().cloned().unwrap_or_default();
    let issuer = state.config.server.issuer.as_str();
    for name in ["iss", "client_id"] {
        if claims
            .get(name)
            .is_some_and(|value| value.as_str() != Some(system.client_id.as_str()))
        {
            return Err(format!(
                "`{name}` of the request object must be the client_id"
            ));
        }
    }
    if let Some(aud) = claims.get("aud") {
        let names_issuer = match aud {
            Value::String(aud) => aud == issuer,
            Value::Array(values) => values.iter().any(|value| value == issuer),
            _ => false,
        };
        if !names_issuer {
            return Err("`aud` of the request object must be the issuer".into());
        }
    }
    if claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_some_and(|exp| exp <= state.clock.now())
    {
        return Err("the request object has expired".into());
    }
    // A pushed request may carry response_type in the object alone.
    if let Some(response_type) = claims.get("response_type").and_then(Value::as_str)
        && query
            .get("response_type")
            .is_some_and(|in_query| in_query != response_type)
    {
        return Err("response_type must be the same in the query and the request object".into());
    }
    Ok(claims)
}

/// Writes the object's request parameters over the query's (OpenID Connect Core §6.3.3).
fn merge(params: &mut HashMap<String, String>, claims: serde_json::Map<String, Value>) {
    for (name, value) in claims {
        if ENVELOPE_CLAIMS.contains(&name.as_str()) {
            continue;
        }
        let text = match value {
            Value::String(text) => text,
            Value::Null => continue,
            // `max_age` is a number and `claims` an object in a request object.
            other => other.to_string(),
        };
        params.insert(name, text);
    }
}
