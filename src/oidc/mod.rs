//! The OpenID Connect provider endpoints. `web` hands completed sign-ins back through
//! `authorize::complete`; nothing here imports `web`.

pub mod authorize;
pub mod claims;
pub mod client_auth;
pub mod completion;
pub mod discovery;
pub mod jwk;
pub mod keys;
pub mod logout;
pub mod par;
pub mod refresh;
pub mod request_object;
pub mod revocation;
pub mod token;
pub mod userinfo;

/// Endpoint paths, relative to the issuer.
pub const AUTHORIZE_PATH: &str = "/authorize";
pub const TOKEN_PATH: &str = "/token";
pub const USERINFO_PATH: &str = "/userinfo";
pub const JWKS_PATH: &str = "/jwks";
pub const END_SESSION_PATH: &str = "/logout";
pub const REVOCATION_PATH: &str = "/revoke";
pub const INTROSPECTION_PATH: &str = "/introspect";
pub const PAR_PATH: &str = "/par";
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// Parses a form or query string, rejecting any parameter that appears twice
/// (RFC 6749 §3.1: request and response parameters must not be included more than once).
pub fn parse_unique_params(
    input: &[u8],
) -> Result<std::collections::HashMap<String, String>, String> {
    let mut params = std::collections::HashMap::new();
    for (key, value) in url::form_urlencoded::parse(input) {
        if params.insert(key.to_string(), value.into_owned()).is_some() {
            return Err(key.into_owned());
        }
    }
    Ok(params)
}

/// Parses the form body of a token, revocation or introspection request; a repeated
/// parameter is an `invalid_request` error.
pub fn parse_oauth_form(
    body: &[u8],
) -> Result<std::collections::HashMap<String, String>, crate::error::OAuthError> {
    parse_unique_params(body).map_err(|name| {
        crate::error::OAuthError::new(
            "invalid_request",
            format!("parameter `{name}` appears more than once"),
        )
    })
}
