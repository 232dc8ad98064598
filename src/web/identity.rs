//! The role picker: a session whose account has several usable identities chooses one
//! (radio `identity_id`). The identity chosen last time is preselected.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::login::see_other;
use super::{PageContext, check_csrf, parse_form, render};
use crate::app::SharedState;
use crate::auth::identity_choice;
use crate::auth::session;
use crate::domain::identity::RealnameStanding;
use crate::error::Error;
use crate::oidc::authorize;
use crate::store::{enterprises, identities, sessions};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SelectQuery {
    request_id: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SelectForm {
    identity_id: String,
    csrf_token: String,
    request_id: String,
}

/// Loads the signed-in session of this browser, in any state after the password change.
pub(super) async fn signed_in_session(
    state: &SharedState,
    page: &PageContext,
) -> Result<sessions::Model, Error> {
    let cookie = page.cookie.as_deref().unwrap_or("");
    session::load(
        &state.db,
        cookie,
        &state.session_limits(),
        state.clock.now(),
    )
    .await?
    .filter(|s| s.state != sessions::STATE_PASSWORD_CHANGE)
    .ok_or_else(|| Error::page(StatusCode::UNAUTHORIZED, "session_required", ""))
}

pub async fn select_page(
    State(state): State<SharedState>,
    page: PageContext,
    Query(query): Query<SelectQuery>,
) -> Result<Response, Error> {
    let session = signed_in_session(&state, &page).await?;
    let client_id = if query.request_id.is_empty() {
        None
    } else {
        Some(
            authorize::find_pending(&state, &query.request_id, page.flow.as_deref())
                .await?
                .client_id,
        )
    };
    let choices = identity_choice::candidates(&state.db, &session, client_id.as_deref()).await?;
    let preselected = preselect(&session, &choices);
    let now = state.clock.now();
    let english = page.lang == super::templates::Lang::En;
    let mut rows = Vec::new();
    for identity in &choices {
        let enterprise = enterprises::find_by_id(&state.db, identity.enterprise_id).await?;
        let (standing, _) = identity_choice::standing(&state.db, identity, now).await?;
        let review_hours_left = match standing {
            RealnameStanding::PendingWithin { deadline } => Some((deadline - now + 3599) / 3600),
            _ => None,
        };
        rows.push(json!({
            "id": identity.id,
            "enterprise_name": enterprise.map(|e| e.name).unwrap_or_default(),
            "identity_type": state.config.identities.display_name(&identity.identity_type, english),
            "system_id": identity.system_id,
            "operator_id": identity.operator_id,
            "checked": Some(identity.id) == preselected,
            "review_hours_left": review_hours_left.map(|hours| hours.to_string()),
        }));
    }
    let context = json!({ "request_id": query.request_id, "identities": rows });
    Ok(render(
        &state,
        &page,
        StatusCode::OK,
        "select_identity.html",
        context,
    ))
}

/// Picks the identity to preselect: the session's own when it is among the choices,
/// otherwise the one chosen most recently.
fn preselect(session: &sessions::Model, choices: &[identities::Model]) -> Option<i32> {
    if let Some(current) = session
        .identity_id
        .filter(|id| choices.iter().any(|i| i.id == *id))
    {
        return Some(current);
    }
    choices
        .iter()
        .filter(|i| i.last_chosen_at.is_some())
        .max_by_key(|i| i.last_chosen_at)
        .or(choices.first())
        .map(|i| i.id)
}

pub async fn select_submit(
    State(state): State<SharedState>,
    page: PageContext,
    body: Bytes,
) -> Result<Response, Error> {
    let form: SelectForm = parse_form(&body)?;
    check_csrf(&state, &page, &form.csrf_token)?;
    let session = signed_in_session(&state, &page).await?;
    let invalid = || {
        Error::page(
            StatusCode::BAD_REQUEST,
            "identity_invalid",
            form.identity_id.chars().take(20).collect::<String>(),
        )
    };
    let chosen = form.identity_id.parse::<i32>().map_err(|_| invalid())?;
    if form.request_id.is_empty() {
        let choices = identity_choice::candidates(&state.db, &session, None).await?;
        if !choices.iter().any(|i| i.id == chosen) {
            return Err(invalid());
        }
        sessions::choose_identity(&state.db, &session.id, chosen).await?;
        identities::mark_chosen(&state.db, chosen, state.clock.now()).await?;
        return Ok(see_other(&state, "/", None));
    }
    let location = authorize::complete_with_identity(
        &state,
        &form.request_id,
        page.flow.as_deref(),
        &session,
        chosen,
    )
    .await?;
    Ok(see_other(&state, &location, None))
}
