//! Provisioning events: when an identity is provisioned for a system, a signed Security Event
//! Token (RFC 8417) goes into a persistent queue, and a background worker delivers it to the
//! system's provisioning endpoint, retrying with backoff until it is accepted. The same queue
//! and worker deliver back-channel logout tokens, which are dropped once expired.

use sea_orm::{ConnectionTrait, DbErr};
use serde_json::json;

use crate::app::AppState;
use crate::store::{enterprises, identities, provisioning_events, systems};

/// The event type of a provisioned identity.
pub const IDENTITY_PROVISIONED: &str = "urn:unilogin:event:identity-provisioned";

/// Queues the event for a new identity when the system has a provisioning endpoint.
/// Returns the event id.
pub async fn queue_identity_provisioned<C: ConnectionTrait>(
    state: &AppState,
    db: &C,
    system: &systems::Model,
    enterprise: &enterprises::Model,
    identity: &identities::Model,
    now: i64,
) -> Result<Option<String>, DbErr> {
    if system.provisioning_endpoint.is_none() {
        return Ok(None);
    }
    let event_id = crate::crypto::random_token().map_err(|e| DbErr::Custom(e.to_string()))?;
    let claims = json!({
        "iss": state.config.server.issuer,
        "aud": system.client_id,
        "iat": now,
        "jti": event_id,
        "sub": state.subject(system, identity.account_id),
        "events": {
            IDENTITY_PROVISIONED: {
                "identity_id": identity.id,
                "operator_id": identity.operator_id,
                "identity_type": identity.identity_type,
                "enterprise_admin": identity.is_admin,
                "org_uscc": enterprise.uscc,
                "org_code": enterprise.org_code,
                "org_name": enterprise.name,
            }
        }
    });
    let token = state
        .keys
        .sign_jwt("secevent+jwt", &claims)
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    provisioning_events::insert(
        db,
        &event_id,
        &system.client_id,
        IDENTITY_PROVISIONED,
        &token,
        now,
    )
    .await?;
    Ok(Some(event_id))
}

/// Delivers every due event once. Each is claimed first, so several nodes sharing the
/// database do not send the same event at the same moment.
pub async fn deliver_due(
    state: &AppState,
    pusher: &crate::providers::provisioning::Pusher,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Result<usize, DbErr> {
    let config = &state.config.provisioning;
    let now = state.clock.now();
    let lease = now + config.timeout_ms.div_ceil(1000) as i64 + 30;
    let mut delivered = 0;
    for event in provisioning_events::due(&state.db, now, 50).await? {
        // On shutdown the event in flight is finished and the rest wait for the next start.
        if *stop.borrow() {
            break;
        }
        if !provisioning_events::claim(&state.db, &event, lease).await? {
            continue;
        }
        let system = systems::find_by_client_id(&state.db, &event.system_id).await?;
        let result = if event.event_type == provisioning_events::EVENT_BACKCHANNEL_LOGOUT {
            if now > event.created_at + crate::auth::session_end::LOGOUT_TOKEN_TTL_SECS {
                provisioning_events::mark_expired(&state.db, event.id).await?;
                tracing::warn!(event_id = %event.event_id, client_id = %event.system_id, attempts = event.attempts, "logout token expired before delivery; dropped");
                continue;
            }
            match system.and_then(|system| system.backchannel_logout_uri) {
                Some(uri) => pusher.push_logout_token(&uri, &event.token).await,
                None => Err("the system has no back-channel logout URI".to_owned()),
            }
        } else {
            match system.and_then(|system| system.provisioning_endpoint) {
                Some(endpoint) => pusher.push(&endpoint, &event.token).await,
                None => Err("the system has no provisioning endpoint".to_owned()),
            }
        };
        let now = state.clock.now();
        match result {
            Ok(()) => {
                provisioning_events::mark_delivered(&state.db, event.id, now).await?;
                tracing::info!(event_id = %event.event_id, client_id = %event.system_id, attempts = event.attempts + 1, "provisioning event delivered");
                delivered += 1;
            }
            Err(error) => {
                let next = now + config.retry_delay(event.attempts + 1);
                provisioning_events::mark_failed(&state.db, event.id, &error, next).await?;
                tracing::warn!(event_id = %event.event_id, event_type = %event.event_type, client_id = %event.system_id, attempts = event.attempts + 1, error, next_attempt_at = next, "event delivery failed; will retry");
            }
        }
    }
    Ok(delivered)
}

/// Runs the delivery loop until `stop` turns true.
pub async fn run_worker(
    state: std::sync::Arc<AppState>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let pusher = match crate::providers::provisioning::Pusher::new(&state.config.provisioning) {
        Ok(pusher) => pusher,
        Err(error) => {
            tracing::error!(error = %error, "provisioning worker not started: HTTP client failed");
            return;
        }
    };
    let interval = std::time::Duration::from_millis(state.config.provisioning.poll_interval_ms);
    loop {
        if let Err(error) = deliver_due(&state, &pusher, &stop).await {
            tracing::error!(error = %error, "provisioning queue could not be read");
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
    }
    tracing::info!("provisioning worker stopped");
}
