//! The password change page, shown after signing in with an initial password.

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
use crate::domain::password_policy;
use crate::error::Error;
use crate::oidc::authorize;
use crate::store::{accounts, audit, sessions};

#[derive(Deserialize)]
pub struct ChangeQuery {
    #[serde(default)]
    request_id: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ChangeForm {
    new_password: String,
    new_password_confirm: String,
    csrf_token: String,
    request_id: String,
}

/// The session that must replace its initial password. Other sessions are refused: a
/// voluntary change needs the current password, which this page does not ask for.
async fn signed_in(state: &SharedState, page: &PageContext) -> Result<sessions::Model, Error> {
    let cookie = page.cookie.as_deref().unwrap_or("");
    let session = session::load(
        &state.db,
        cookie,
        &state.session_limits(),
        state.clock.now(),
    )
    .await?
    .ok_or_else(|| Error::page(StatusCode::UNAUTHORIZED, "session_required", ""))?;
    if session.state != sessions::STATE_PASSWORD_CHANGE {
        return Err(Error::page(
            StatusCode::FORBIDDEN,
            "password_change_not_required",
            "",
        ));
    }
    Ok(session)
}

fn render_form(
    state: &SharedState,
    page: &PageContext,
    status: StatusCode,
    request_id: &str,
    error: Option<String>,
) -> Response {
    let context = json!({ "request_id": request_id, "error": error });
    render(state, page, status, "password_change.html", context)
}

pub async fn change_page(
    State(state): State<SharedState>,
    page: PageContext,
    Query(query): Query<ChangeQuery>,
) -> Result<Response, Error> {
    signed_in(&state, &page).await?;
    Ok(render_form(
        &state,
        &page,
        StatusCode::OK,
        &query.request_id,
        None,
    ))
}

pub async fn change_submit(
    State(state): State<SharedState>,
    page: PageContext,
    body: Bytes,
) -> Result<Response, Error> {
    let form: ChangeForm = parse_form(&body)?;
    check_csrf(&state, &page, &form.csrf_token)?;
    let session = signed_in(&state, &page).await?;
    let account = accounts::find_by_id(&state.db, session.account_id)
        .await?
        .ok_or_else(|| Error::page(StatusCode::UNAUTHORIZED, "session_required", ""))?;
    let reject = |key: &str| {
        let message = page.message(&state, key);
        Ok(render_form(
            &state,
            &page,
            StatusCode::BAD_REQUEST,
            &form.request_id,
            Some(message),
        ))
    };

    if form.new_password != form.new_password_confirm {
        return reject("password_mismatch_confirm");
    }
    if let Err(violation) = password_policy::check(&form.new_password) {
        return reject(violation.message_key());
    }
    let same_as_old = state
        .passwords
        .verify(
            form.new_password.clone(),
            Some(account.password_hash.clone()),
        )
        .await
        .map_err(Error::internal)?;
    if same_as_old {
        return reject("password_same_as_old");
    }

    let hash = state
        .passwords
        .hash(form.new_password.clone())
        .await
        .map_err(Error::internal)?;
    let now = state.clock.now();
    accounts::set_password(&state.db, account.id, hash, now).await?;
    sessions::set_state(&state.db, &session.id, sessions::STATE_ACTIVE).await?;
    audit::append(
        &state.db,
        audit::Event {
            actor: &format!("account:{}", account.id),
            action: "password.change",
            target: &format!("account:{}", account.id),
            result: "success",
            source_ip: &page.source_ip,
            detail: if account.must_change_password {
                "initial password replaced"
            } else {
                ""
            },
        },
        now,
    )
    .await?;
    tracing::info!(account_id = account.id, "password changed");

    let location = if form.request_id.is_empty() {
        "/".to_owned()
    } else {
        let session = sessions::Model {
            state: sessions::STATE_ACTIVE.to_owned(),
            ..session
        };
        authorize::complete(&state, &form.request_id, page.flow.as_deref(), &session).await?
    };
    Ok(see_other(&state, &location, None))
}
