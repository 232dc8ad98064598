//! The refresh_token grant (RFC 6749 §6) with rotation: every use returns a new refresh token,
//! and presenting a rotated one again revokes the whole family and its access tokens
//! (RFC 9700 §4.14.2).

use serde_json::Value;

use super::token::{Grant, issue_tokens};
use crate::app::SharedState;
use crate::crypto::sha256_b64;
use crate::domain::scope;
use crate::error::OAuthError;
use crate::store::{accounts, audit, refresh_tokens, systems, tokens};

const INVALID_REFRESH: &str = "the refresh token is invalid, expired or revoked";

pub async fn refresh(
    state: &SharedState,
    client: &systems::Model,
    token: &str,
    requested_scope: Option<&str>,
) -> Result<Value, OAuthError> {
    let now = state.clock.now();
    let token_hash = sha256_b64(token);
    let invalid = || OAuthError::new("invalid_grant", INVALID_REFRESH);
    let row = refresh_tokens::find(&state.db, &token_hash)
        .await?
        .ok_or_else(invalid)?;
    if row.client_id != client.client_id {
        tracing::warn!(client_id = ?client.client_id, "refresh token presented by another client");
        return Err(invalid());
    }
    if row.revoked_at.is_some() || row.expires_at <= now || row.idle_expires_at <= now {
        return Err(invalid());
    }

    // Scope can only narrow (RFC 6749 §6).
    let scope = match requested_scope {
        None => row.scope.clone(),
        Some(requested) => {
            let requested: Vec<&str> = requested.split(' ').filter(|s| !s.is_empty()).collect();
            if let Some(extra) = requested.iter().find(|s| !scope::contains(&row.scope, s)) {
                return Err(OAuthError::new(
                    "invalid_scope",
                    format!("scope `{extra}` was not granted; a refresh can only narrow the scope"),
                ));
            }
            row.scope
                .split(' ')
                .filter(|s| requested.contains(s))
                .collect::<Vec<_>>()
                .join(" ")
        }
    };

    if row.used_at.is_some() || !refresh_tokens::mark_used(&state.db, &token_hash, now).await? {
        let revocation = GrantRevocation {
            grant_id: &row.family_id,
            client_id: &row.client_id,
            account_id: row.account_id,
            action: "token.refresh_reuse",
        };
        revoke_grant(state, revocation, now).await?;
        return Err(invalid());
    }

    let account = accounts::find_by_id(&state.db, row.account_id)
        .await?
        .ok_or_else(invalid)?;
    let grant = Grant {
        grant_id: row.family_id.clone(),
        client_id: row.client_id.clone(),
        account_id: row.account_id,
        identity_id: row.identity_id,
        session_id: row.session_id.clone(),
        scope,
        nonce: None,
        auth_time: row.auth_time,
        amr: row.amr.clone(),
        acr: row.acr.clone(),
        parent_refresh: Some(token_hash),
        family_expires_at: row.expires_at,
        claims: row.claims.clone(),
    };
    issue_tokens(state, client, &grant, &account, now).await
}

/// A grant to revoke because one of its single-use secrets came back.
pub struct GrantRevocation<'a> {
    pub grant_id: &'a str,
    pub client_id: &'a str,
    pub account_id: i32,
    /// Audit action: `token.code_replay` or `token.refresh_reuse`.
    pub action: &'a str,
}

/// Revokes every refresh and access token of a grant, with a warning and an audit event.
pub async fn revoke_grant(
    state: &SharedState,
    grant: GrantRevocation<'_>,
    now: i64,
) -> Result<(), OAuthError> {
    let refresh = refresh_tokens::revoke_family(&state.db, grant.grant_id, now).await?;
    let access = tokens::revoke_grant(&state.db, grant.grant_id, now).await?;
    tracing::warn!(client_id = ?grant.client_id, account_id = grant.account_id, action = grant.action, refresh, access, "single-use secret reused; grant revoked");
    audit::append(
        &state.db,
        audit::Event {
            actor: &format!("client:{}", grant.client_id),
            action: grant.action,
            target: &format!("account:{}", grant.account_id),
            result: "failure",
            source_ip: "",
            detail: &format!("revoked {refresh} refresh and {access} access token(s)"),
        },
        now,
    )
    .await?;
    Ok(())
}
