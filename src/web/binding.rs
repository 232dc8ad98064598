//! 维修资金企业绑定: after a certificate of an enterprise without a bound administrator, the
//! user proves the old administrator account (`operator_id`, `password`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::login::see_other;
use super::{PageContext, check_csrf, parse_form, render};
use crate::app::SharedState;
use crate::auth::binding::{self, BindingFailure, BindingLimits};
use crate::auth::certificate::CertificateIdentity;
use crate::crypto::{constant_time_eq, hmac_b64};
use crate::error::Error;
use crate::store::{audit, enterprises};

/// Time a user has to submit the binding form after the certificate was checked.
const TICKET_TTL_SECS: i64 = 600;

/// A signed statement "this browser presented a valid certificate of this enterprise", carried
/// in the form so that any node can check it: `ENTERPRISE.FINGERPRINT.EXPIRES.MAC`.
fn ticket(
    state: &SharedState,
    cookie: &str,
    enterprise_id: i32,
    fingerprint: &str,
    expires: i64,
) -> String {
    let mac = ticket_mac(state, cookie, enterprise_id, fingerprint, expires);
    format!("{enterprise_id}.{fingerprint}.{expires}.{mac}")
}

fn ticket_mac(
    state: &SharedState,
    cookie: &str,
    enterprise_id: i32,
    fingerprint: &str,
    expires: i64,
) -> String {
    let key = state.master_key.derive("binding-ticket");
    hmac_b64(
        &key,
        format!("{cookie}|{enterprise_id}|{fingerprint}|{expires}").as_bytes(),
    )
}

fn open_ticket(state: &SharedState, cookie: &str, ticket: &str, now: i64) -> Option<(i32, String)> {
    let mut parts = ticket.split('.');
    let (enterprise_id, fingerprint, expires, mac) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let enterprise_id: i32 = enterprise_id.parse().ok()?;
    let expires: i64 = expires.parse().ok()?;
    let expected = ticket_mac(state, cookie, enterprise_id, fingerprint, expires);
    (constant_time_eq(expected.as_bytes(), mac.as_bytes()) && expires > now)
        .then(|| (enterprise_id, fingerprint.to_owned()))
}

pub fn binding_page(
    state: &SharedState,
    page: &mut PageContext,
    enterprise: &enterprises::Model,
    certificate: &CertificateIdentity,
    request_id: &str,
) -> Result<Response, Error> {
    // The ticket is bound to the browser cookie, so the cookie has to exist first.
    page.ensure_cookie()?;
    let fingerprint = &certificate.fingerprint_sha256;
    Ok(render_form(
        state,
        page,
        StatusCode::OK,
        enterprise,
        fingerprint,
        request_id,
        None,
    ))
}

fn render_form(
    state: &SharedState,
    page: &PageContext,
    status: StatusCode,
    enterprise: &enterprises::Model,
    fingerprint: &str,
    request_id: &str,
    error: Option<String>,
) -> Response {
    let expires = state.clock.now() + TICKET_TTL_SECS;
    let cookie = page.cookie.clone().unwrap_or_default();
    let context = json!({
        "request_id": request_id,
        "enterprise_name": enterprise.name,
        "enterprise_code": enterprise.uscc.clone().unwrap_or_else(|| enterprise.org_code.clone()),
        "binding_ticket": ticket(state, &cookie, enterprise.id, fingerprint, expires),
        "error": error,
    });
    render(state, page, status, "binding.html", context)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct BindForm {
    operator_id: String,
    password: String,
    csrf_token: String,
    binding_ticket: String,
    request_id: String,
}

/// `POST /login/certificate/bind`.
pub async fn bind_submit(
    State(state): State<SharedState>,
    page: PageContext,
    body: Bytes,
) -> Result<Response, Error> {
    let form: BindForm = parse_form(&body)?;
    check_csrf(&state, &page, &form.csrf_token)?;
    let now = state.clock.now();
    let cookie = page.cookie.clone().unwrap_or_default();
    let Some((enterprise_id, fingerprint)) =
        open_ticket(&state, &cookie, &form.binding_ticket, now)
    else {
        tracing::warn!(source_ip = ?page.source_ip, "binding form with an invalid or expired ticket");
        let event = audit::Event {
            actor: "anonymous",
            action: "enterprise.bind",
            target: "",
            result: "failure",
            source_ip: &page.source_ip,
            detail: "invalid or expired binding ticket",
        };
        audit::append(&state.db, event, now).await?;
        return Err(Error::page(
            StatusCode::BAD_REQUEST,
            "binding_ticket_invalid",
            "",
        ));
    };
    let enterprise = enterprises::find_by_id(&state.db, enterprise_id)
        .await?
        .ok_or_else(|| Error::page(StatusCode::BAD_REQUEST, "binding_ticket_invalid", ""))?;

    let ctx = super::login_context(&state, &page);
    let limits = BindingLimits {
        max_failures: state.config.certificate.binding_max_failures,
        lockout_secs: state.config.certificate.binding_lockout_secs,
    };
    let outcome = binding::bind(
        &ctx,
        &enterprise,
        &fingerprint,
        form.operator_id.trim(),
        form.password.clone(),
        &limits,
        now,
    )
    .await
    .map_err(Error::internal)?;

    let failure = match outcome {
        Ok(_) => {
            let location = format!("/login/certificate?request_id={}&bound=1", form.request_id);
            return Ok(see_other(&state, &location, None));
        }
        Err(failure) => failure,
    };
    let (status, message) = match failure {
        BindingFailure::Locked { until } => {
            let minutes = ((until - now) + 59) / 60;
            let text = page
                .message(&state, "binding_locked")
                .replace("{minutes}", &minutes.to_string());
            (StatusCode::TOO_MANY_REQUESTS, text)
        }
        BindingFailure::BadCredentials => (
            StatusCode::UNAUTHORIZED,
            page.message(&state, "stock_login_failed"),
        ),
        BindingFailure::NotAdmin => (
            StatusCode::FORBIDDEN,
            page.message(&state, "binding_not_admin"),
        ),
        BindingFailure::OtherEnterprise { name } => {
            let text = page
                .message(&state, "binding_other_enterprise")
                .replace("{operator_enterprise}", &name)
                .replace("{certificate_enterprise}", &enterprise.name);
            (StatusCode::FORBIDDEN, text)
        }
        BindingFailure::AlreadyBound => (
            StatusCode::CONFLICT,
            page.message(&state, "binding_already_bound"),
        ),
    };
    Ok(render_form(
        &state,
        &page,
        status,
        &enterprise,
        &fingerprint,
        &form.request_id,
        Some(message),
    ))
}
