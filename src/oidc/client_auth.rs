//! Client authentication at the token, revocation, introspection and PAR endpoints (OpenID
//! Connect Core §9): `client_secret_basic`, `client_secret_post`, `private_key_jwt`
//! (RFC 7523) and `none` for public clients.

use std::collections::HashMap;

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;

use super::jwk::PublicKey;
use crate::app::SharedState;
use crate::crypto::{constant_time_eq, sha256_b64};
use crate::error::OAuthError;
use crate::store::{client_assertions, systems};

/// The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Signature algorithms accepted on client assertions.
pub const ASSERTION_ALGS: [&str; 4] = ["RS256", "PS256", "ES256", "EdDSA"];
/// Longest accepted time from now to an assertion's `exp`, in seconds, so that the table of
/// used `jti` values stays small.
const MAX_ASSERTION_LIFETIME_SECS: i64 = 600;
/// How far in the future an assertion's `nbf` or `iat` may lie, in seconds, for clock skew.
const CLOCK_SKEW_SECS: i64 = 60;

/// Authenticates the client of a token, revocation, introspection or PAR request by the
/// method it used. Using two methods at once is an error (RFC 6749 §2.3), and each client
/// must use the kind of method it registered: a secret, a signed assertion, or none.
pub async fn authenticate_client(
    state: &SharedState,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<systems::Model, OAuthError> {
    let param = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let basic = basic_credentials(headers)?;
    let body_client_id = param("client_id");
    let body_secret = param("client_secret");
    if let Some(assertion) = param("client_assertion") {
        if basic.is_some() || body_secret.is_some() {
            return Err(OAuthError::new(
                "invalid_request",
                "a client secret and a client_assertion were both sent; use one method",
            ));
        }
        let assertion_type = param("client_assertion_type");
        return authenticate_with_assertion(state, assertion_type, assertion, body_client_id).await;
    }
    if basic.is_none() && body_secret.is_none() {
        return authenticate_public(state, body_client_id).await;
    }
    authenticate_with_secret(state, basic, body_client_id, body_secret).await
}

/// Checks `client_secret_basic` or `client_secret_post` credentials.
async fn authenticate_with_secret(
    state: &SharedState,
    basic: Option<(String, String)>,
    body_client_id: Option<&str>,
    body_secret: Option<&str>,
) -> Result<systems::Model, OAuthError> {
    let (client_id, secret) = match (basic, body_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::new(
                "invalid_request",
                "client credentials were sent both in the Authorization header and in the body; use one method",
            ));
        }
        (Some((id, secret)), None) => {
            if body_client_id.is_some_and(|body_id| body_id != id) {
                return Err(OAuthError::new(
                    "invalid_request",
                    "client_id in the body differs from the Authorization header",
                ));
            }
            (id, secret)
        }
        (None, Some(secret)) => match body_client_id {
            Some(id) => (id.to_owned(), secret.to_owned()),
            None => {
                return Err(OAuthError::invalid_client(
                    "client_id is required with client_secret",
                ));
            }
        },
        (None, None) => {
            return Err(OAuthError::invalid_client(
                "client authentication is required",
            ));
        }
    };

    let system = systems::find_by_client_id(&state.db, &client_id).await?;
    let presented = sha256_b64(&secret);
    // Compare against a fixed value for unknown clients so timing does not reveal client ids.
    let stored = system
        .as_ref()
        .map(|s| s.secret_hash.as_str())
        .unwrap_or("-");
    match system {
        Some(system) if constant_time_eq(presented.as_bytes(), stored.as_bytes()) => {
            if !system.uses_secret() {
                return Err(wrong_method(&system));
            }
            Ok(system)
        }
        _ => {
            tracing::warn!(client_id = ?client_id, "client authentication failed");
            Err(OAuthError::invalid_client("client authentication failed"))
        }
    }
}

fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || OAuthError::invalid_client("malformed Basic authorization header");
    let text = value.to_str().map_err(|_| malformed())?;
    let Some((scheme, encoded)) = text.split_once(' ') else {
        return Err(malformed());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before Base64.
    let unescape = |part: &str| -> Result<String, OAuthError> {
        let form = format!("v={part}");
        url::form_urlencoded::parse(form.as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .ok_or_else(malformed)
    };
    Ok(Some((unescape(id)?, unescape(secret)?)))
}

fn wrong_method(system: &systems::Model) -> OAuthError {
    tracing::warn!(client_id = %system.client_id, registered = %system.token_endpoint_auth_method, "client used another authentication method than it registered");
    OAuthError::invalid_client(format!(
        "client `{}` is registered for {}; authenticate with that method",
        system.client_id, system.token_endpoint_auth_method
    ))
}

/// Identifies a public client (`none`) by its `client_id`; confidential clients must
/// authenticate.
async fn authenticate_public(
    state: &SharedState,
    client_id: Option<&str>,
) -> Result<systems::Model, OAuthError> {
    let client_id =
        client_id.ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?;
    match systems::find_by_client_id(&state.db, client_id).await? {
        Some(system) if system.is_public() => Ok(system),
        // The same response for a confidential client without credentials and an unknown
        // client, so the response does not reveal which clients exist.
        Some(system) => {
            tracing::warn!(client_id, registered = %system.token_endpoint_auth_method, "confidential client sent no credentials");
            Err(OAuthError::invalid_client("client authentication failed"))
        }
        None => {
            tracing::warn!(client_id, "unknown public client");
            Err(OAuthError::invalid_client("client authentication failed"))
        }
    }
}

/// Checks a `private_key_jwt` assertion: signed by a key the client registered, `iss` and
/// `sub` the client, `aud` the issuer, not expired, and its `jti` not used before.
async fn authenticate_with_assertion(
    state: &SharedState,
    assertion_type: Option<&str>,
    assertion: &str,
    body_client_id: Option<&str>,
) -> Result<systems::Model, OAuthError> {
    if assertion_type != Some(CLIENT_ASSERTION_TYPE) {
        return Err(OAuthError::new(
            "invalid_request",
            format!("client_assertion_type must be `{CLIENT_ASSERTION_TYPE}`"),
        ));
    }
    let invalid = |reason: &str| {
        tracing::warn!(client_id = ?body_client_id, reason, "client assertion rejected");
        OAuthError::invalid_client(format!("invalid client_assertion: {reason}"))
    };
    let jws = Jws::parse(assertion).ok_or_else(|| invalid("not a signed JWT"))?;
    let client_id = jws.claims["sub"]
        .as_str()
        .ok_or_else(|| invalid("`sub` is missing"))?;
    if jws.claims["iss"].as_str() != Some(client_id) {
        return Err(invalid("`iss` and `sub` must both be the client_id"));
    }
    if body_client_id.is_some_and(|id| id != client_id) {
        return Err(invalid("client_id differs from the assertion's `sub`"));
    }
    // An unknown client and a client of another method get the same response as a bad
    // signature, so assertions cannot probe which clients exist.
    let Some(system) = systems::find_by_client_id(&state.db, client_id).await? else {
        tracing::warn!(client_id, "client assertion for an unknown client");
        return Err(OAuthError::invalid_client("client authentication failed"));
    };
    if system.token_endpoint_auth_method != systems::AUTH_PRIVATE_KEY_JWT {
        tracing::warn!(client_id, registered = %system.token_endpoint_auth_method, "client assertion from a client registered for another method");
        return Err(OAuthError::invalid_client("client authentication failed"));
    }
    let keys = parse_client_jwks(system.jwks.as_deref().unwrap_or(""))
        .map_err(|_| invalid("the client has no usable registered keys"))?;
    if !jws.verify(&keys) {
        return Err(invalid(
            "the signature does not verify with the client's registered keys",
        ));
    }

    // Only the issuer identifier, alone, is accepted. Endpoint URLs (which RFC 7523 and
    // RFC 9126 §2 also allow) open the audience injection attack that the OAuth working
    // group's RFC 7523 update (draft-ietf-oauth-rfc7523bis) closes by requiring the issuer.
    let issuer = state.config.server.issuer.as_str();
    let audience_ok = match &jws.claims["aud"] {
        Value::String(aud) => aud == issuer,
        Value::Array(values) => values.len() == 1 && values[0] == issuer,
        _ => false,
    };
    if !audience_ok {
        return Err(invalid("`aud` must be the issuer identifier"));
    }
    let now = state.clock.now();
    let exp = numeric_date(&jws.claims["exp"]).ok_or_else(|| invalid("`exp` is missing"))?;
    if exp <= now {
        return Err(invalid("the assertion has expired"));
    }
    if exp > now + MAX_ASSERTION_LIFETIME_SECS {
        return Err(invalid("`exp` is more than 10 minutes away"));
    }
    for claim in ["nbf", "iat"] {
        if numeric_date(&jws.claims[claim]).is_some_and(|time| time > now + CLOCK_SKEW_SECS) {
            return Err(invalid(&format!("`{claim}` is in the future")));
        }
    }
    let jti = jws.claims["jti"]
        .as_str()
        .filter(|jti| !jti.is_empty() && jti.len() <= 256)
        .ok_or_else(|| invalid("`jti` is missing or longer than 256 bytes"))?;
    if !client_assertions::record_once(&state.db, client_id, jti, exp).await? {
        return Err(invalid("the assertion's `jti` was already used"));
    }
    Ok(system)
}

/// Reads a JWT NumericDate, which may have a fraction (RFC 7519 §2), in whole seconds.
fn numeric_date(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|v| v.is_finite())
            .map(|v| v.floor() as i64)
    })
}

/// A public key a client registered.
#[derive(Debug, Clone)]
pub struct ClientKey {
    kid: Option<String>,
    material: PublicKey,
}

/// Parses a client's JWK Set. Keys for encryption (`use` `enc`) are skipped. A key with
/// private parts, an unknown type or bad members is an error, as is a set without keys.
pub fn parse_client_jwks(text: &str) -> Result<Vec<ClientKey>, String> {
    let set: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Some(entries) = set["keys"].as_array() else {
        return Err("a JWK Set needs a `keys` array".into());
    };
    let mut keys = Vec::new();
    for (index, jwk) in entries.iter().enumerate() {
        if jwk["use"].as_str().is_some_and(|usage| usage != "sig") {
            continue;
        }
        if jwk.get("d").is_some() {
            return Err(format!(
                "key {index} contains a private key; register only public keys"
            ));
        }
        let material =
            PublicKey::from_jwk(jwk).map_err(|reason| format!("key {index} {reason}"))?;
        keys.push(ClientKey {
            kid: jwk["kid"].as_str().map(str::to_owned),
            material,
        });
    }
    if keys.is_empty() {
        return Err("the set has no signing keys".into());
    }
    Ok(keys)
}

/// A compact JWS with its decoded header and claims, not yet verified.
pub struct Jws<'a> {
    pub header: Value,
    pub claims: Value,
    signed: &'a str,
    signature: Vec<u8>,
}

impl<'a> Jws<'a> {
    pub fn parse(token: &'a str) -> Option<Jws<'a>> {
        let mut parts = token.split('.');
        let (header_b64, claims_b64, signature_b64) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header_b64).ok()?).ok()?;
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims_b64).ok()?).ok()?;
        // No JWS extension is understood here, so any `crit` header must be rejected
        // (RFC 7515 §4.1.11).
        if !claims.is_object() || header.get("crit").is_some() {
            return None;
        }
        Some(Jws {
            header,
            claims,
            signed: &token[..header_b64.len() + 1 + claims_b64.len()],
            signature: URL_SAFE_NO_PAD.decode(signature_b64).ok()?,
        })
    }

    /// Returns whether the token has no signature, as an `alg` `none` JWS has.
    pub fn is_unsigned(&self) -> bool {
        self.signature.is_empty()
    }

    /// Verifies the signature with one of the keys: the one named by `kid`, or else any key
    /// of the algorithm's type. `alg` `none` and HMAC algorithms never verify.
    pub fn verify(&self, keys: &[ClientKey]) -> bool {
        let alg = self.header["alg"].as_str().unwrap_or("");
        let kid = self.header["kid"].as_str();
        keys.iter()
            .filter(|key| kid.is_none() || key.kid.as_deref() == kid)
            .any(|key| self.verify_with(alg, key))
    }

    fn verify_with(&self, alg: &str, key: &ClientKey) -> bool {
        key.material
            .verify(alg, self.signed.as_bytes(), &self.signature)
    }
}
