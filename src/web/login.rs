//! The phone sign-in page: request an SMS code, then sign in with phone, password and code.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{PageContext, check_csrf, parse_form, render};
use crate::app::SharedState;
use crate::auth::phone_login::{self, Credentials, Failure};
use crate::auth::session::{self, SessionStart};
use crate::auth::sms_code::{self, SendOutcome, SendRequest};
use crate::domain::phone::Phone;
use crate::error::Error;
use crate::oidc::authorize;
use crate::providers::sms::Purpose;
use crate::store::{accounts, sessions, systems};

pub const PASSWORD_CHANGE_PATH: &str = "/password/change";

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    request_id: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SmsCodeForm {
    phone: String,
    csrf_token: String,
    request_id: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    phone: String,
    password: String,
    sms_code: String,
    csrf_token: String,
    request_id: String,
}

/// Values the page shows besides the form.
#[derive(Default)]
struct LoginView {
    phone: String,
    error: Option<String>,
    notice: Option<String>,
}

async fn render_login(
    state: &SharedState,
    page: &PageContext,
    status: StatusCode,
    request_id: &str,
    view: LoginView,
) -> Result<Response, Error> {
    let mut client_name = None;
    let mut page = page.clone();
    let mut phone = view.phone;
    if !request_id.is_empty() {
        let request = authorize::find_pending(state, request_id, page.flow.as_deref()).await?;
        client_name = systems::find_by_client_id(&state.db, &request.client_id)
            .await?
            .map(|s| s.name);
        if let Some(ui_locales) = &request.ui_locales {
            page.apply_ui_locales(ui_locales);
        }
        // login_hint prefills the phone when it is one (OIDC Core §3.1.2.1).
        if phone.is_empty()
            && let Some(hinted) = request
                .login_hint
                .as_deref()
                .and_then(|hint| Phone::parse(hint).ok())
        {
            phone = hinted.national().to_owned();
        }
    }
    let context = json!({
        "request_id": request_id,
        "client_name": client_name,
        "phone": phone,
        "error": view.error,
        "notice": view.notice,
    });
    Ok(render(state, &page, status, "login.html", context))
}

pub async fn login_page(
    State(state): State<SharedState>,
    page: PageContext,
    Query(query): Query<LoginQuery>,
) -> Result<Response, Error> {
    render_login(
        &state,
        &page,
        StatusCode::OK,
        &query.request_id,
        LoginView::default(),
    )
    .await
}

pub(super) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"))
}

/// `POST /login/sms-code`. Returns the same response whether or not the phone has an account.
pub async fn send_code(
    State(state): State<SharedState>,
    page: PageContext,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    let form: SmsCodeForm = parse_form(&body)?;
    check_csrf(&state, &page, &form.csrf_token)?;
    let json = wants_json(&headers);

    let phone = match Phone::parse(&form.phone) {
        Ok(phone) => phone,
        Err(_) => {
            let message = page.message(&state, "phone_invalid");
            if json {
                let body = json!({ "status": "invalid_phone", "message": message });
                return Ok((StatusCode::BAD_REQUEST, Json(body)).into_response());
            }
            let view = LoginView {
                phone: form.phone.clone(),
                error: Some(message),
                notice: None,
            };
            return render_login(
                &state,
                &page,
                StatusCode::BAD_REQUEST,
                &form.request_id,
                view,
            )
            .await;
        }
    };

    let deliver = accounts::find_by_phone(&state.db, phone.as_e164())
        .await?
        .is_some();
    let request = SendRequest {
        phone: &phone,
        purpose: Purpose::Login,
        deliver,
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

    if outcome == SendOutcome::Accepted {
        tracing::info!(phone = %phone, delivered = deliver, "login code requested");
    }
    let (status, code, message) = describe_send_outcome(&state, &page, &outcome);
    state.metrics.sms("login", code);
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
    let view = LoginView {
        phone: phone.national().to_owned(),
        error,
        notice,
    };
    render_login(&state, &page, status, &form.request_id, view).await
}

/// The status, machine-readable code and message of an SMS code request.
pub(super) fn describe_send_outcome(
    state: &SharedState,
    page: &PageContext,
    outcome: &SendOutcome,
) -> (StatusCode, &'static str, String) {
    match outcome {
        SendOutcome::Accepted => {
            let minutes = (state.config.sms.code_ttl_secs + 59) / 60;
            let text = page
                .message(state, "code_sent")
                .replace("{minutes}", &minutes.to_string());
            (StatusCode::OK, "sent", text)
        }
        SendOutcome::TooSoon { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            "too_soon",
            page.message(state, "code_too_soon")
                .replace("{seconds}", &retry_after_secs.to_string()),
        ),
        SendOutcome::DailyLimit => {
            tracing::warn!("SMS code daily limit per phone reached");
            (
                StatusCode::TOO_MANY_REQUESTS,
                "daily_limit",
                page.message(state, "code_daily_limit"),
            )
        }
        SendOutcome::AddressLimit => {
            tracing::warn!(source_ip = ?page.source_ip, "SMS code hourly limit per address reached");
            (
                StatusCode::TOO_MANY_REQUESTS,
                "address_limit",
                page.message(state, "code_address_limit"),
            )
        }
    }
}

/// `POST /login`: checks phone, password and code, starts a session, then continues to the
/// password change or back to the relying party.
pub async fn submit(
    State(state): State<SharedState>,
    page: PageContext,
    body: Bytes,
) -> Result<Response, Error> {
    let form: LoginForm = parse_form(&body)?;
    check_csrf(&state, &page, &form.csrf_token)?;
    if !form.request_id.is_empty() {
        authorize::find_pending(&state, &form.request_id, page.flow.as_deref()).await?;
    }
    let fail = |key: &str| LoginView {
        phone: form.phone.clone(),
        error: Some(page.message(&state, key)),
        notice: None,
    };

    if form.phone.trim().is_empty() || form.password.is_empty() || form.sms_code.trim().is_empty() {
        let view = fail("login_fields_missing");
        let status = StatusCode::BAD_REQUEST;
        return render_login(&state, &page, status, &form.request_id, view).await;
    }
    let Ok(phone) = Phone::parse(&form.phone) else {
        let view = fail("phone_invalid");
        let status = StatusCode::BAD_REQUEST;
        return render_login(&state, &page, status, &form.request_id, view).await;
    };

    let ctx = super::login_context(&state, &page);
    let credentials = Credentials {
        phone,
        password: form.password.clone(),
        sms_code: form.sms_code.clone(),
    };
    let now = state.clock.now();
    let account = match phone_login::authenticate(&ctx, credentials, now)
        .await
        .map_err(Error::internal)?
    {
        Ok(account) => {
            state.metrics.sign_in("phone", "success");
            account
        }
        Err(Failure::BadCredentials | Failure::Migrated) => {
            state.metrics.sign_in("phone", "failure");
            let view = fail("login_failed");
            let status = StatusCode::UNAUTHORIZED;
            return render_login(&state, &page, status, &form.request_id, view).await;
        }
        Err(Failure::Locked { until }) => {
            state.metrics.sign_in("phone", "locked");
            let minutes = ((until - now) + 59) / 60;
            let mut view = fail("account_locked");
            let status = StatusCode::TOO_MANY_REQUESTS;
            view.error = view
                .error
                .map(|m| m.replace("{minutes}", &minutes.to_string()));
            return render_login(&state, &page, status, &form.request_id, view).await;
        }
    };

    let session_state = if account.must_change_password {
        sessions::STATE_PASSWORD_CHANGE
    } else {
        sessions::STATE_ACTIVE
    };
    let start = SessionStart {
        account_id: account.id,
        identity_id: None,
        enterprise_id: None,
        certificate_fingerprint: None,
        state: session_state,
        amr: phone_login::AMR,
        acr: phone_login::ACR,
        source_ip: &page.source_ip,
    };
    let (cookie, session) = session::create(&state.db, start, &state.session_limits(), now)
        .await
        .map_err(Error::internal)?;

    let location = if account.must_change_password {
        format!("{PASSWORD_CHANGE_PATH}?request_id={}", form.request_id)
    } else if form.request_id.is_empty() {
        "/".to_owned()
    } else {
        authorize::complete(&state, &form.request_id, page.flow.as_deref(), &session).await?
    };
    Ok(see_other(&state, &location, Some(&cookie)))
}

/// A 303 redirect after a form post, optionally replacing the session cookie.
pub fn see_other(state: &SharedState, location: &str, cookie: Option<&str>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(cookie) = cookie {
        let secure = state.config.issuer_is_https();
        headers.append(
            header::SET_COOKIE,
            session::set_cookie(session::COOKIE_NAME, cookie, secure, None),
        );
    }
    response
}
