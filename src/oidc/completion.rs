//! The hand-off from the sign-in pages back to the relying party: once a session exists, the
//! identity for the requesting system is settled (role picker, real-name rules) and the
//! pending authorization ends with a code.

use axum::http::StatusCode;

use super::authorize::{RedirectError, client_redirect_url};
use crate::app::SharedState;
use crate::auth::identity_choice::{self, Next};
use crate::crypto::{self, sha256_b64};
use crate::domain::assurance;
use crate::error::Error;
use crate::store::authorizations::{codes, pending};
use crate::store::{identities, session_clients, sessions, systems};

/// The role picker, given as `?request_id=`.
pub const SELECT_IDENTITY_PATH: &str = "/login/select-identity";
/// The real-name submission page, given as `?request_id=`.
pub const REALNAME_PATH: &str = "/realname";

/// Next destination of the browser.
#[derive(Debug)]
pub enum Finished {
    /// Back to the relying party with the code.
    Client(String),
    /// To a page of this server that the user still has to complete.
    Page(String),
}

impl Finished {
    pub fn location(self) -> String {
        match self {
            Finished::Client(location) | Finished::Page(location) => location,
        }
    }
}

/// Finishes a pending authorization for a signed-in session and returns where the browser
/// goes: the client redirect, or the role picker or real-name page when those come first.
/// A request that is unknown, expired or already completed gives an error page.
pub async fn complete(
    state: &SharedState,
    request_id: &str,
    flow: Option<&str>,
    session: &sessions::Model,
) -> Result<String, Error> {
    let request = find_pending(state, request_id, flow).await?;
    Ok(finish(state, request, session, None).await?.location())
}

/// Like `complete`, with the identity the user chose in the role picker.
pub async fn complete_with_identity(
    state: &SharedState,
    request_id: &str,
    flow: Option<&str>,
    session: &sessions::Model,
    identity_id: i32,
) -> Result<String, Error> {
    let request = find_pending(state, request_id, flow).await?;
    Ok(finish(state, request, session, Some(identity_id))
        .await?
        .location())
}

/// Settles the identity of a stored pending request and issues the code when nothing else is
/// left to do.
pub(crate) async fn finish(
    state: &SharedState,
    request: pending::Model,
    session: &sessions::Model,
    chosen: Option<i32>,
) -> Result<Finished, Error> {
    if let Some(expected) = &request.expected_sub {
        let system = systems::find_by_client_id(&state.db, &request.client_id).await?;
        let signed_in = system.map(|system| state.subject(&system, session.account_id));
        if signed_in.as_deref() != Some(expected.as_str()) {
            // OpenID Connect Core §5.5.1: no tokens for a user other than the one requested.
            tracing::warn!(client_id = %request.client_id, account_id = session.account_id, "signed-in user is not the user the request names");
            pending::take(&state.db, &request.id).await?;
            let error = RedirectError {
                error: "login_required",
                description: "the signed-in user is not the user the request names".into(),
            };
            return Ok(Finished::Client(client_redirect_url(
                state,
                &request.redirect_uri,
                request.state.as_deref(),
                Err(error),
            )));
        }
    }
    if !assurance::satisfies(&session.acr, request.acr_values.as_deref()) {
        return Err(Error::page(
            StatusCode::FORBIDDEN,
            "acr_not_met",
            session.acr.clone(),
        ));
    }
    let now = state.clock.now();
    let force_choice = chosen.is_none()
        && request
            .prompt
            .as_deref()
            .is_some_and(|prompt| prompt.split(' ').any(|p| p == "select_account"));
    let next = identity_choice::decide(
        &state.db,
        session,
        &request.client_id,
        chosen,
        force_choice,
        now,
    )
    .await?;
    let page = |path: &str| Finished::Page(format!("{path}?request_id={}", request.id));
    match next {
        Next::Proceed(identity) => {
            let identity_id = identity.as_ref().map(|i| i.id);
            if identity_id != session.identity_id || session.state != sessions::STATE_ACTIVE {
                sessions::set_identity_state(
                    &state.db,
                    &session.id,
                    identity_id,
                    sessions::STATE_ACTIVE,
                )
                .await?;
            }
            if let Some(id) = chosen {
                identities::mark_chosen(&state.db, id, now).await?;
            }
            if !pending::take(&state.db, &request.id).await? {
                return Err(Error::page(StatusCode::BAD_REQUEST, "request_expired", ""));
            }
            let location = issue_code(state, request, session, identity_id).await?;
            Ok(Finished::Client(location))
        }
        Next::Choose => {
            sessions::set_state(&state.db, &session.id, sessions::STATE_SELECT_IDENTITY).await?;
            Ok(page(SELECT_IDENTITY_PATH))
        }
        Next::Realname(identity) => {
            sessions::set_identity_state(
                &state.db,
                &session.id,
                Some(identity.id),
                sessions::STATE_REALNAME_REQUIRED,
            )
            .await?;
            Ok(page(REALNAME_PATH))
        }
        Next::Refuse(key, detail) => {
            tracing::warn!(client_id = %request.client_id, account_id = session.account_id, reason = key, "sign-in refused");
            Err(Error::page(StatusCode::FORBIDDEN, key, detail))
        }
    }
}

/// Loads a pending authorization that is still valid, for the sign-in pages. `flow` is the
/// browser's `unilogin_flow` cookie: a request started in another browser is refused, so
/// nobody can sign in on a request someone else will receive the code for.
pub async fn find_pending(
    state: &SharedState,
    request_id: &str,
    flow: Option<&str>,
) -> Result<pending::Model, Error> {
    let Some(request) = pending::find(&state.db, request_id).await? else {
        return Err(Error::page(StatusCode::BAD_REQUEST, "request_expired", ""));
    };
    if request.expires_at <= state.clock.now() {
        return Err(Error::page(StatusCode::BAD_REQUEST, "request_expired", ""));
    }
    let same_browser = flow.is_some_and(|flow| {
        crate::crypto::constant_time_eq(
            sha256_b64(flow).as_bytes(),
            request.browser_hash.as_bytes(),
        )
    });
    if !same_browser {
        tracing::warn!(client_id = ?request.client_id, "sign-in request used from another browser");
        return Err(Error::page(
            StatusCode::BAD_REQUEST,
            "request_other_browser",
            "",
        ));
    }
    Ok(request)
}

pub(crate) async fn issue_code(
    state: &SharedState,
    request: pending::Model,
    session: &sessions::Model,
    identity_id: Option<i32>,
) -> Result<String, Error> {
    let now = state.clock.now();
    let code = crypto::random_token().map_err(Error::internal)?;
    codes::insert(
        &state.db,
        codes::Model {
            code_hash: sha256_b64(&code),
            grant_id: crypto::random_token().map_err(Error::internal)?,
            client_id: request.client_id.clone(),
            account_id: session.account_id,
            identity_id,
            session_id: session.id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            auth_time: session.auth_time,
            amr: session.amr.clone(),
            acr: session.acr.clone(),
            created_at: now,
            expires_at: now + state.config.tokens.authorization_code_ttl_secs,
            used_at: None,
            claims: request.claims.clone(),
        },
    )
    .await?;
    session_clients::record(&state.db, &session.id, &request.client_id, now).await?;
    tracing::info!(client_id = %request.client_id, account_id = session.account_id, "authorization code issued");
    Ok(client_redirect_url(
        state,
        &request.redirect_uri,
        request.state.as_deref(),
        Ok(&code),
    ))
}
