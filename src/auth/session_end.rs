//! Ending browser sessions and telling the clients they signed in to. Each client with a
//! back-channel logout URI gets a logout token (OpenID Connect Back-Channel Logout 1.0)
//! through the persistent event queue, written in the same transaction as the deletion, so
//! a crash cannot end a session without its notices. Front-channel logout URLs are returned
//! for the sign-out page to load.

use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use serde_json::json;
use url::Url;

use super::session::session_id_claim;
use crate::app::AppState;
use crate::store::{provisioning_events, session_clients, sessions, systems};

/// Lifetime of a logout token, in seconds. A token still undelivered after this is dropped
/// from the queue, because the client would reject it as expired.
pub const LOGOUT_TOKEN_TTL_SECS: i64 = 120;
/// The event a logout token carries (OpenID Connect Back-Channel Logout 1.0 §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// Deletes the session and queues its logout tokens. Returns the front-channel logout URLs
/// of the clients that registered one, with `iss` and `sid` added.
pub async fn end(state: &AppState, session: &sessions::Model) -> Result<Vec<String>, DbErr> {
    let now = state.clock.now();
    let transaction = state.db.begin().await?;
    let clients = session_clients::clients_of(&transaction, &session.id).await?;
    let sid = session_id_claim(&session.id);
    let mut frontchannel = Vec::new();
    for client_id in clients {
        let Some(system) = systems::find_by_client_id(&transaction, &client_id).await? else {
            continue;
        };
        if system.backchannel_logout_uri.is_some() {
            queue_logout_token(state, &transaction, &system, session, &sid, now).await?;
        }
        if let Some(uri) = &system.frontchannel_logout_uri
            && let Ok(mut url) = Url::parse(uri)
        {
            url.query_pairs_mut()
                .append_pair("iss", &state.config.server.issuer)
                .append_pair("sid", &sid);
            frontchannel.push(url.to_string());
        }
    }
    sessions::delete(&transaction, &session.id).await?;
    session_clients::forget(&transaction, &session.id).await?;
    transaction.commit().await?;
    Ok(frontchannel)
}

/// Ends every session that uses an identity. Returns how many there were.
pub async fn end_for_identity(state: &AppState, identity_id: i32) -> Result<u64, DbErr> {
    let found = sessions::find_for_identity(&state.db, identity_id).await?;
    for session in &found {
        end(state, session).await?;
    }
    Ok(found.len() as u64)
}

async fn queue_logout_token<C: ConnectionTrait>(
    state: &AppState,
    db: &C,
    system: &systems::Model,
    session: &sessions::Model,
    sid: &str,
    now: i64,
) -> Result<(), DbErr> {
    let jti = crate::crypto::random_token().map_err(|e| DbErr::Custom(e.to_string()))?;
    // No `nonce`, because its absence distinguishes a logout token from an ID token (§2.4).
    let claims = json!({
        "iss": state.config.server.issuer,
        "aud": system.client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_TTL_SECS,
        "jti": jti,
        "sub": state.subject(system, session.account_id),
        "sid": sid,
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
    });
    let token = state
        .keys
        .sign_jwt_with(&system.id_token_signed_response_alg, "logout+jwt", &claims)
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    provisioning_events::insert(
        db,
        &jti,
        &system.client_id,
        provisioning_events::EVENT_BACKCHANNEL_LOGOUT,
        &token,
        now,
    )
    .await?;
    tracing::info!(client_id = %system.client_id, account_id = session.account_id, "back-channel logout queued");
    Ok(())
}
