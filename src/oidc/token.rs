//! Token endpoint (RFC 6749 §3.2, OpenID Connect Core §3.1.3) for the authorization_code grant.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use super::client_auth::authenticate_client;
use crate::app::SharedState;
pub use crate::auth::session::session_id_claim;
use crate::crypto::{self, constant_time_eq, sha256, sha256_b64};
use crate::domain::claims_request::{ClaimsRequest, ENTERPRISE_CLAIMS};
use crate::domain::{pkce, scope};
use crate::error::OAuthError;
use crate::store::authorizations::codes;
use crate::store::{accounts, refresh_tokens, systems, tokens};

pub async fn token(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let params = crate::oidc::parse_oauth_form(&body)?;
    let param = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };

    let client = authenticate_client(&state, &headers, &params).await?;
    match param("grant_type") {
        None => Err(OAuthError::new("invalid_request", "grant_type is required")),
        Some("authorization_code") => {
            let grant = AuthorizationCodeGrant {
                code: param("code")
                    .ok_or_else(|| OAuthError::new("invalid_request", "code is required"))?,
                redirect_uri: param("redirect_uri").unwrap_or(""),
                code_verifier: param("code_verifier"),
            };
            let body = exchange_code(&state, &client, grant).await?;
            state.metrics.token("authorization_code");
            Ok(no_store(Json(body).into_response()))
        }
        Some("refresh_token") => {
            let token = param("refresh_token")
                .ok_or_else(|| OAuthError::new("invalid_request", "refresh_token is required"))?;
            let body = super::refresh::refresh(&state, &client, token, param("scope")).await?;
            state.metrics.token("refresh_token");
            Ok(no_store(Json(body).into_response()))
        }
        Some(other) => Err(OAuthError::new(
            "unsupported_grant_type",
            format!(
                "grant_type `{other}` is not supported; use `authorization_code` or `refresh_token`"
            ),
        )),
    }
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

pub struct AuthorizationCodeGrant<'a> {
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub code_verifier: Option<&'a str>,
}

const INVALID_CODE: &str = "the authorization code is invalid, expired or already used";

/// Redeems an authorization code for an access token and an ID token. A second redemption of
/// the same code revokes the tokens of the first (RFC 6749 §4.1.2).
pub async fn exchange_code(
    state: &SharedState,
    client: &systems::Model,
    grant: AuthorizationCodeGrant<'_>,
) -> Result<serde_json::Value, OAuthError> {
    let now = state.clock.now();
    let code_hash = sha256_b64(grant.code);
    let code = codes::find(&state.db, &code_hash)
        .await?
        .ok_or_else(|| OAuthError::new("invalid_grant", INVALID_CODE))?;
    if code.client_id != client.client_id {
        tracing::warn!(client_id = %client.client_id, "authorization code presented by another client");
        return Err(OAuthError::new("invalid_grant", INVALID_CODE));
    }

    if !codes::mark_used(&state.db, &code_hash, now).await? {
        let revocation = super::refresh::GrantRevocation {
            grant_id: &code.grant_id,
            client_id: &client.client_id,
            account_id: code.account_id,
            action: "token.code_replay",
        };
        super::refresh::revoke_grant(state, revocation, now).await?;
        return Err(OAuthError::new("invalid_grant", INVALID_CODE));
    }
    if code.expires_at <= now {
        return Err(OAuthError::new("invalid_grant", INVALID_CODE));
    }
    if code.redirect_uri != grant.redirect_uri {
        return Err(OAuthError::new(
            "invalid_grant",
            "redirect_uri does not match the one in the authorization request",
        ));
    }
    let verifier = grant
        .code_verifier
        .ok_or_else(|| OAuthError::new("invalid_grant", "code_verifier is required (PKCE)"))?;
    let challenge = pkce::s256_challenge(verifier, sha256);
    if !pkce::is_valid_syntax(verifier)
        || !constant_time_eq(challenge.as_bytes(), code.code_challenge.as_bytes())
    {
        return Err(OAuthError::new(
            "invalid_grant",
            "code_verifier does not match the code_challenge",
        ));
    }

    let account = accounts::find_by_id(&state.db, code.account_id)
        .await?
        .ok_or_else(|| OAuthError::new("invalid_grant", INVALID_CODE))?;
    let grant = Grant::from_code(&code, now + state.config.tokens.refresh_token_ttl_secs);
    issue_tokens(state, client, &grant, &account, now).await
}

/// Grant behind a token response: a redeemed code or a rotated refresh token.
pub struct Grant {
    /// Shared by every token descended from one authorization code.
    pub grant_id: String,
    pub client_id: String,
    pub account_id: i32,
    pub identity_id: Option<i32>,
    pub session_id: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub auth_time: i64,
    pub amr: String,
    pub acr: String,
    /// The refresh token being rotated, if any.
    pub parent_refresh: Option<String>,
    /// End of the refresh token family's absolute lifetime.
    pub family_expires_at: i64,
    /// The grant's `claims` request, as stored.
    pub claims: Option<String>,
}

impl Grant {
    fn from_code(code: &codes::Model, family_expires_at: i64) -> Grant {
        Grant {
            grant_id: code.grant_id.clone(),
            client_id: code.client_id.clone(),
            account_id: code.account_id,
            identity_id: code.identity_id,
            session_id: code.session_id.clone(),
            scope: code.scope.clone(),
            nonce: code.nonce.clone(),
            auth_time: code.auth_time,
            amr: code.amr.clone(),
            acr: code.acr.clone(),
            parent_refresh: None,
            family_expires_at,
            claims: code.claims.clone(),
        }
    }
}

/// Issues an access token, a refresh token and, for the `openid` scope, an ID token.
pub async fn issue_tokens(
    state: &SharedState,
    client: &systems::Model,
    grant: &Grant,
    account: &accounts::Model,
    now: i64,
) -> Result<serde_json::Value, OAuthError> {
    let issuer = &state.config.server.issuer;
    let ttl = &state.config.tokens;
    let sub = state.subject(client, account.id);
    let jti = crypto::random_token().map_err(OAuthError::server_error)?;

    let access_claims = json!({
        "iss": issuer,
        "sub": sub,
        "aud": grant.client_id,
        "client_id": grant.client_id,
        "scope": grant.scope,
        "iat": now,
        "exp": now + ttl.access_token_ttl_secs,
        "jti": jti,
    });
    let access_token = state
        .keys
        .sign_jwt("at+jwt", &access_claims)
        .map_err(OAuthError::server_error)?;
    tokens::insert(
        &state.db,
        tokens::Model {
            jti,
            grant_id: grant.grant_id.clone(),
            client_id: grant.client_id.clone(),
            account_id: account.id,
            identity_id: grant.identity_id,
            scope: grant.scope.clone(),
            created_at: now,
            expires_at: now + ttl.access_token_ttl_secs,
            revoked_at: None,
            claims: grant.claims.clone(),
        },
    )
    .await?;

    let refresh_token = crypto::random_token().map_err(OAuthError::server_error)?;
    refresh_tokens::insert(
        &state.db,
        refresh_tokens::Model {
            token_hash: sha256_b64(&refresh_token),
            family_id: grant.grant_id.clone(),
            parent_hash: grant.parent_refresh.clone(),
            client_id: grant.client_id.clone(),
            account_id: account.id,
            identity_id: grant.identity_id,
            session_id: grant.session_id.clone(),
            scope: grant.scope.clone(),
            auth_time: grant.auth_time,
            amr: grant.amr.clone(),
            acr: grant.acr.clone(),
            created_at: now,
            expires_at: grant.family_expires_at,
            idle_expires_at: (now + ttl.refresh_token_idle_secs).min(grant.family_expires_at),
            used_at: None,
            revoked_at: None,
            claims: grant.claims.clone(),
        },
    )
    .await?;

    let mut response = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ttl.access_token_ttl_secs,
        "refresh_token": refresh_token,
        "scope": grant.scope,
    });
    if scope::contains(&grant.scope, "openid") {
        let mut id_claims = json!({
            "iss": issuer,
            "sub": sub,
            "aud": grant.client_id,
            "azp": grant.client_id,
            "iat": now,
            "exp": now + ttl.id_token_ttl_secs,
            "auth_time": grant.auth_time,
            "at_hash": access_token_hash(&access_token),
            "sid": session_id_claim(&grant.session_id),
            "amr": grant.amr.split(' ').collect::<Vec<_>>(),
            "acr": grant.acr,
        });
        if let Some(nonce) = &grant.nonce {
            id_claims["nonce"] = json!(nonce);
        }
        // Scope claims go to UserInfo, except the enterprise ones that relying systems read
        // from the ID token; the `claims` parameter adds any released claim.
        let requested = ClaimsRequest::from_stored(grant.claims.as_deref());
        let is_released = |name: &str| {
            (scope::contains(&grant.scope, "enterprise") && ENTERPRISE_CLAIMS.contains(&name))
                || requested.id_token.iter().any(|claim| claim == name)
        };
        let released =
            super::claims::user_claims(&state.db, account, grant.identity_id, &is_released).await?;
        if let Some(object) = id_claims.as_object_mut() {
            object.extend(released);
        }
        let id_token = state
            .keys
            .sign_jwt_with(&client.id_token_signed_response_alg, "JWT", &id_claims)
            .map_err(OAuthError::server_error)?;
        response["id_token"] = json!(id_token);
    }
    tracing::info!(client_id = ?grant.client_id, account_id = account.id, refreshed = grant.parent_refresh.is_some(), "tokens issued");
    Ok(response)
}

/// `at_hash`: base64url of the left half of SHA-256 over the access token (OIDC Core §3.1.3.6).
fn access_token_hash(access_token: &str) -> String {
    let digest = sha256(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}
