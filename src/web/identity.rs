//! The role picker: a session whose account has several usable identities chooses one
//! (radio `identity_id`).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::login::see_other;
use super::{PageContext, check_csrf, parse_form, render};
use crate::app::SharedState;
use crate::auth::session;
use crate::domain::identity::display_name;
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

async fn current(state: &SharedState, page: &PageContext) -> Result<sessions::Model, Error> {
    let cookie = page.cookie.as_deref().unwrap_or("");
    session::load(
        &state.db,
        cookie,
        &state.session_limits(),
        crate::clock::now(),
    )
    .await?
    .filter(|s| s.state == sessions::STATE_SELECT_IDENTITY || s.state == sessions::STATE_ACTIVE)
    .ok_or_else(|| Error::page(StatusCode::UNAUTHORIZED, "session_required", ""))
}

/// Identities the session may choose from: for a certificate session the account's
/// administrator identities in the certificate's enterprise, otherwise all its active ones.
async fn choices(
    state: &SharedState,
    session: &sessions::Model,
) -> Result<Vec<identities::Model>, Error> {
    let all = identities::active_of_account(&state.db, session.account_id).await?;
    Ok(match session.enterprise_id {
        Some(enterprise_id) => all
            .into_iter()
            .filter(|i| i.is_admin && i.enterprise_id == enterprise_id)
            .collect(),
        None => all,
    })
}

pub async fn select_page(
    State(state): State<SharedState>,
    page: PageContext,
    Query(query): Query<SelectQuery>,
) -> Result<Response, Error> {
    let session = current(&state, &page).await?;
    let mut rows = Vec::new();
    for identity in choices(&state, &session).await? {
        let enterprise = enterprises::find_by_id(&state.db, identity.enterprise_id).await?;
        rows.push(json!({
            "id": identity.id,
            "enterprise_name": enterprise.map(|e| e.name).unwrap_or_default(),
            "identity_type": display_name(&identity.identity_type),
            "system_id": identity.system_id,
            "operator_id": identity.operator_id,
            "checked": session.identity_id == Some(identity.id),
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

pub async fn select_submit(
    State(state): State<SharedState>,
    page: PageContext,
    body: Bytes,
) -> Result<Response, Error> {
    let form: SelectForm = parse_form(&body)?;
    check_csrf(&state, &page, &form.csrf_token)?;
    let session = current(&state, &page).await?;
    let chosen = form.identity_id.parse::<i32>().ok();
    let allowed = choices(&state, &session).await?;
    let Some(identity) = allowed.into_iter().find(|i| Some(i.id) == chosen) else {
        return Err(Error::page(
            StatusCode::BAD_REQUEST,
            "identity_invalid",
            form.identity_id.chars().take(20).collect::<String>(),
        ));
    };
    sessions::choose_identity(&state.db, &session.id, identity.id).await?;
    let session = sessions::Model {
        identity_id: Some(identity.id),
        state: sessions::STATE_ACTIVE.to_owned(),
        ..session
    };
    let location = if form.request_id.is_empty() {
        "/".to_owned()
    } else {
        authorize::complete(&state, &form.request_id, page.flow.as_deref(), &session).await?
    };
    Ok(see_other(&state, &location, None))
}
