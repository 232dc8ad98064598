//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) at the end-session endpoint.
//! A valid `id_token_hint` for the current session signs out at once; anything else asks the
//! user to confirm with a CSRF-protected form, so a link on another site cannot sign a user
//! out. `post_logout_redirect_uri` must match one registered for the client exactly;
//! otherwise the result is shown here and the browser is not redirected.

use std::collections::HashMap;

use axum::http::StatusCode;
use url::Url;

use super::token::session_id_claim;
use crate::app::SharedState;
use crate::error::Error;
use crate::store::{audit, sessions, systems};

/// A validated logout request.
pub struct LogoutRequest {
    /// Destination of the browser afterwards, with `state` added.
    pub redirect: Option<String>,
    /// `sid` from a valid `id_token_hint`.
    pub hinted_sid: Option<String>,
}

/// Validates the parameters. Errors are shown as pages and never redirected.
pub async fn validate(
    state: &SharedState,
    params: &HashMap<String, String>,
) -> Result<LogoutRequest, Error> {
    let param = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };

    let mut hinted_client = None;
    let mut hinted_sid = None;
    if let Some(hint) = param("id_token_hint") {
        // Expired ID tokens are still valid hints (the spec allows it); signature and issuer are not negotiable.
        let claims = state
            .keys
            .verify_jwt(hint)
            .map(|(_, claims)| claims)
            .filter(|claims| claims["iss"] == state.config.server.issuer.as_str())
            .ok_or_else(|| Error::page(StatusCode::BAD_REQUEST, "id_token_hint_invalid", ""))?;
        hinted_client = claims["aud"].as_str().map(str::to_owned);
        hinted_sid = claims["sid"].as_str().map(str::to_owned);
    }

    let client_id = match (param("client_id"), hinted_client.as_deref()) {
        (Some(given), Some(hinted)) if given != hinted => {
            return Err(Error::page(
                StatusCode::BAD_REQUEST,
                "id_token_hint_invalid",
                given,
            ));
        }
        (given, hinted) => given.or(hinted).map(str::to_owned),
    };

    let mut redirect = None;
    if let Some(uri) = param("post_logout_redirect_uri") {
        let client = match &client_id {
            Some(id) => systems::find_by_client_id(&state.db, id).await?,
            None => None,
        };
        let registered =
            client.is_some_and(|c| c.post_logout_redirect_uri_list().iter().any(|r| r == uri));
        if !registered {
            tracing::warn!(client_id = ?client_id, post_logout_redirect_uri = uri, "logout with unregistered post_logout_redirect_uri");
            return Err(Error::page(
                StatusCode::BAD_REQUEST,
                "post_logout_redirect_uri_unregistered",
                uri,
            ));
        }
        let mut url = Url::parse(uri).map_err(|_| {
            Error::page(
                StatusCode::BAD_REQUEST,
                "post_logout_redirect_uri_unregistered",
                uri,
            )
        })?;
        if let Some(client_state) = param("state") {
            url.query_pairs_mut().append_pair("state", client_state);
        }
        redirect = Some(url.to_string());
    }
    Ok(LogoutRequest {
        redirect,
        hinted_sid,
    })
}

/// Returns whether the hint names this session, so no confirmation is needed.
pub fn hint_matches(request: &LogoutRequest, session: &sessions::Model) -> bool {
    request.hinted_sid.as_deref() == Some(session_id_claim(&session.id).as_str())
}

/// Ends the session, queues back-channel logout tokens and records it. Returns the
/// front-channel logout URLs for the sign-out page to load.
pub async fn end_session(
    state: &SharedState,
    session: &sessions::Model,
    source_ip: &str,
) -> Result<Vec<String>, Error> {
    let frontchannel = crate::auth::session_end::end(state, session).await?;
    audit::append(
        &state.db,
        audit::Event {
            actor: &format!("account:{}", session.account_id),
            action: "logout",
            target: &format!("account:{}", session.account_id),
            result: "success",
            source_ip,
            detail: "",
        },
        state.clock.now(),
    )
    .await?;
    tracing::info!(account_id = session.account_id, "signed out");
    Ok(frontchannel)
}
