//! Staff real-name verification: the form (login password, name as on the ID card, phone
//! bound to that card, SMS code), the submission, and the review status.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::identity::signed_in_session;
use super::login::see_other;
use super::{PageContext, check_csrf, parse_form, render};
use crate::app::SharedState;
use crate::auth::identity_choice;
use crate::auth::realname::{self, Submission, SubmitOutcome};
use crate::auth::sms_code::{self, SendOutcome, SendRequest};
use crate::domain::identity::RealnameStanding;
use crate::domain::operator::valid_person_name;
use crate::domain::phone::Phone;
use crate::error::Error;
use crate::oidc::authorize;
use crate::providers::sms::Purpose;
use crate::store::{accounts, identities, sessions};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RealnameQuery {
    request_id: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RealnameForm {
    password: String,
    name: String,
    phone: String,
    sms_code: String,
    csrf_token: String,
    request_id: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CodeForm {
    phone: String,
    csrf_token: String,
    request_id: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ContinueForm {
    csrf_token: String,
    request_id: String,
}

#[derive(Default)]
struct View {
    name: String,
    phone: String,
    error: Option<String>,
    notice: Option<String>,
}

/// Loads the session's identity with its account. The page exists only for staff identities.
async fn load(
    state: &SharedState,
    page: &PageContext,
) -> Result<(sessions::Model, accounts::Model, identities::Model), Error> {
    let session = signed_in_session(state, page).await?;
    let missing = || Error::page(StatusCode::UNAUTHORIZED, "session_required", "");
    // From the portal a session may have no identity yet: take the first that still needs
    // verification.
    let identity_id = match session.identity_id {
        Some(id) => id,
        None => {
            let now = state.clock.now();
            let mut waiting = None;
            for candidate in identity_choice::candidates(&state.db, &session, None).await? {
                let (standing, _) = identity_choice::standing(&state.db, &candidate, now).await?;
                if standing != RealnameStanding::Verified {
                    waiting = Some(candidate.id);
                    break;
                }
            }
            let id = waiting.ok_or_else(missing)?;
            sessions::choose_identity(&state.db, &session.id, id).await?;
            id
        }
    };
    let identity = identities::find_by_id(&state.db, identity_id)
        .await?
        .filter(|i| !i.is_admin && i.is_usable() && i.account_id == session.account_id)
        .ok_or_else(missing)?;
    let account = accounts::find_by_id(&state.db, session.account_id)
        .await?
        .ok_or_else(missing)?;
    Ok((session, account, identity))
}

async fn render_page(
    state: &SharedState,
    page: &PageContext,
    status: StatusCode,
    request_id: &str,
    identity: &identities::Model,
    view: View,
) -> Result<Response, Error> {
    let now = state.clock.now();
    let (standing, submission) = identity_choice::standing(&state.db, identity, now).await?;
    let (standing_name, hours_left) = match standing {
        RealnameStanding::Verified => ("verified", None),
        RealnameStanding::Required => ("required", None),
        RealnameStanding::Rejected => ("rejected", None),
        RealnameStanding::PendingWithin { deadline } => (
            "pending",
            Some(((deadline - now + 3599) / 3600).to_string()),
        ),
        RealnameStanding::PendingOverdue { .. } => ("overdue", None),
    };
    let reason = submission
        .filter(|_| standing == RealnameStanding::Rejected)
        .and_then(|s| s.reason);
    let context = json!({
        "request_id": request_id,
        "standing": standing_name,
        "hours_left": hours_left,
        "reason": reason,
        "operator_id": identity.operator_id,
        "name": view.name,
        "phone": view.phone,
        "error": view.error,
        "notice": view.notice,
    });
    Ok(render(state, page, status, "realname.html", context))
}

pub async fn realname_page(
    State(state): State<SharedState>,
    page: PageContext,
    Query(query): Query<RealnameQuery>,
) -> Result<Response, Error> {
    let (_, account, identity) = load(&state, &page).await?;
    let view = View {
        phone: Phone::parse(&account.phone)
            .map(|p| p.national().to_owned())
            .unwrap_or_default(),
        ..View::default()
    };
    render_page(
        &state,
        &page,
        StatusCode::OK,
        &query.request_id,
        &identity,
        view,
    )
    .await
}

/// `POST /realname/sms-code`: sends a real-name code to the phone being verified. Only a
/// signed-in staff session may ask, so the form cannot be used to send messages to anyone.
pub async fn send_code(
    State(state): State<SharedState>,
    page: PageContext,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    let form: CodeForm = parse_form(&body)?;
    check_csrf(&state, &page, &form.csrf_token)?;
    let (_, _, identity) = load(&state, &page).await?;
    let json = super::login::wants_json(&headers);
    let Ok(phone) = Phone::parse(&form.phone) else {
        let message = page.message(&state, "phone_invalid");
        if json {
            let body = json!({ "status": "invalid_phone", "message": message });
            return Ok((StatusCode::BAD_REQUEST, Json(body)).into_response());
        }
        let view = View {
            phone: form.phone.clone(),
            error: Some(message),
            ..View::default()
        };
        let status = StatusCode::BAD_REQUEST;
        return render_page(&state, &page, status, &form.request_id, &identity, view).await;
    };
    // A phone of another account cannot be verified here, so no code is sent to it.
    if let Some(owner) = accounts::find_by_phone(&state.db, phone.as_e164()).await?
        && owner.id != identity.account_id
    {
        let message = page.message(&state, "phone_taken");
        if json {
            let body = json!({ "status": "phone_taken", "message": message });
            return Ok((StatusCode::CONFLICT, Json(body)).into_response());
        }
        let view = View {
            phone: form.phone.clone(),
            error: Some(message),
            ..View::default()
        };
        let status = StatusCode::CONFLICT;
        return render_page(&state, &page, status, &form.request_id, &identity, view).await;
    }
    let request = SendRequest {
        phone: &phone,
        purpose: Purpose::Realname,
        deliver: true,
        source_ip: &page.source_ip,
    };
    let now = state.clock.now();
    let outcome = sms_code::send_code(
        &state.db,
        state.sms.as_ref(),
        &state.config.sms,
        request,
        now,
    )
    .await
    .map_err(Error::internal)?;
    let (status, code, mut message) = super::login::describe_send_outcome(&state, &page, &outcome);
    state.metrics.sms("realname", code);
    if outcome == SendOutcome::Accepted {
        let minutes = (state.config.sms.code_ttl_secs + 59) / 60;
        message = page
            .message(&state, "code_sent_realname")
            .replace("{minutes}", &minutes.to_string());
    }
    if json {
        let mut body = json!({ "status": code, "message": message });
        if let SendOutcome::TooSoon { retry_after_secs } = outcome {
            body["retry_after"] = json!(retry_after_secs);
        }
        return Ok((status, Json(body)).into_response());
    }
    let (error, notice) = if status == StatusCode::OK {
        (None, Some(message))
    } else {
        (Some(message), None)
    };
    let view = View {
        phone: phone.national().to_owned(),
        error,
        notice,
        ..View::default()
    };
    render_page(&state, &page, status, &form.request_id, &identity, view).await
}

/// `POST /realname`: checks the submission and stores it for review.
pub async fn submit(
    State(state): State<SharedState>,
    page: PageContext,
    body: Bytes,
) -> Result<Response, Error> {
    let form: RealnameForm = parse_form(&body)?;
    check_csrf(&state, &page, &form.csrf_token)?;
    let (_, account, identity) = load(&state, &page).await?;
    let fail = |key: &str| View {
        name: form.name.clone(),
        phone: form.phone.clone(),
        error: Some(page.message(&state, key)),
        notice: None,
    };
    let bad_request = StatusCode::BAD_REQUEST;
    let request_id = form.request_id.as_str();
    if identities_waiting(&identity) {
        let view = fail("realname_already_pending");
        return render_page(
            &state,
            &page,
            StatusCode::CONFLICT,
            request_id,
            &identity,
            view,
        )
        .await;
    }
    if form.password.is_empty() || form.name.trim().is_empty() || form.sms_code.trim().is_empty() {
        let view = fail("realname_fields_missing");
        return render_page(&state, &page, bad_request, request_id, &identity, view).await;
    }
    if !valid_person_name(form.name.trim()) {
        let view = fail("realname_name_invalid");
        return render_page(&state, &page, bad_request, request_id, &identity, view).await;
    }
    let Ok(phone) = Phone::parse(&form.phone) else {
        let view = fail("phone_invalid");
        return render_page(&state, &page, bad_request, request_id, &identity, view).await;
    };

    let ctx = super::login_context(&state, &page);
    let submission = Submission {
        password: form.password.clone(),
        name: form.name.trim().to_owned(),
        phone,
        sms_code: form.sms_code.trim().to_owned(),
    };
    let now = state.clock.now();
    let outcome = realname::submit(
        &ctx,
        state.realname.as_ref(),
        state.config.identities.review_window_secs,
        &account,
        &identity,
        submission,
        now,
    )
    .await
    .map_err(Error::internal)?;
    let (status, key) = match outcome {
        SubmitOutcome::Submitted { .. } => {
            let identity = identities::find_by_id(&state.db, identity.id)
                .await?
                .unwrap_or(identity);
            let view = View {
                notice: Some(page.message(&state, "realname_submitted")),
                ..View::default()
            };
            return render_page(&state, &page, StatusCode::OK, request_id, &identity, view).await;
        }
        SubmitOutcome::BadPassword => (StatusCode::UNAUTHORIZED, "realname_password_wrong"),
        SubmitOutcome::Locked { until } => {
            let minutes = ((until - now) + 59) / 60;
            let mut view = fail("account_locked");
            view.error = view
                .error
                .map(|m| m.replace("{minutes}", &minutes.to_string()));
            let status = StatusCode::TOO_MANY_REQUESTS;
            return render_page(&state, &page, status, request_id, &identity, view).await;
        }
        SubmitOutcome::BadCode => (StatusCode::UNAUTHORIZED, "realname_code_wrong"),
        SubmitOutcome::PhoneTaken => (StatusCode::CONFLICT, "phone_taken"),
        SubmitOutcome::Check(outcome) => crate::admin::realname_failure(outcome),
    };
    let view = fail(key);
    render_page(&state, &page, status, request_id, &identity, view).await
}

fn identities_waiting(identity: &identities::Model) -> bool {
    identity.status == identities::STATUS_PENDING_REVIEW
}

/// `POST /realname/continue`: back to the relying party while the submission waits for
/// review (or after approval).
pub async fn continue_sign_in(
    State(state): State<SharedState>,
    page: PageContext,
    body: Bytes,
) -> Result<Response, Error> {
    let form: ContinueForm = parse_form(&body)?;
    check_csrf(&state, &page, &form.csrf_token)?;
    let session = signed_in_session(&state, &page).await?;
    let location = if form.request_id.is_empty() {
        "/".to_owned()
    } else {
        authorize::complete(&state, &form.request_id, page.flow.as_deref(), &session).await?
    };
    Ok(see_other(&state, &location, None))
}
