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
    let now = crate::clock::now();
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
        revoke_family(state, &row, now).await?;
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
    };
    issue_tokens(state, &grant, &account, now).await
}

/// Revokes a refresh token family and every access token issued in it, with an audit event.
pub async fn revoke_family(
    state: &SharedState,
    row: &refresh_tokens::Model,
    now: i64,
) -> Result<(), OAuthError> {
    let refresh = refresh_tokens::revoke_family(&state.db, &row.family_id, now).await?;
    let access = tokens::revoke_grant(&state.db, &row.family_id, now).await?;
    tracing::warn!(client_id = ?row.client_id, account_id = row.account_id, refresh, access, "rotated refresh token reused; family revoked");
    audit::append(
        &state.db,
        audit::Event {
            actor: &format!("client:{}", row.client_id),
            action: "token.refresh_reuse",
            target: &format!("account:{}", row.account_id),
            result: "failure",
            source_ip: "",
            detail: &format!("revoked {refresh} refresh and {access} access token(s)"),
        },
        now,
    )
    .await?;
    Ok(())
}
