//! Sign-in page for stock operators of the old fund system (`operator_id`, `password`).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::login::see_other;
use super::{PageContext, check_csrf, parse_form, render};
use crate::app::SharedState;
use crate::auth::identity_choice::{self, Next};
use crate::auth::phone_login::Failure;
use crate::auth::session::{self, SessionStart};
use crate::auth::stock_login;
use crate::error::Error;
use crate::oidc::authorize;
use crate::oidc::completion::REALNAME_PATH;
use crate::store::{admin_bindings, sessions};

#[derive(Deserialize)]
pub struct StockQuery {
    #[serde(default)]
    request_id: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StockForm {
    operator_id: String,
    password: String,
    csrf_token: String,
    request_id: String,
}

#[derive(Default)]
struct StockView {
    operator_id: String,
    error: Option<String>,
    notice: Option<String>,
    offer_certificate: bool,
}

fn render_stock(
    state: &SharedState,
    page: &PageContext,
    status: StatusCode,
    request_id: &str,
    view: StockView,
) -> Response {
    let context = json!({
        "request_id": request_id,
        "operator_id": view.operator_id,
        "error": view.error,
        "notice": view.notice,
        "offer_certificate": view.offer_certificate,
    });
    render(state, page, status, "stock_login.html", context)
}

pub async fn stock_page(
    State(state): State<SharedState>,
    page: PageContext,
    Query(query): Query<StockQuery>,
) -> Result<Response, Error> {
    if !query.request_id.is_empty() {
        authorize::find_pending(&state, &query.request_id, page.flow.as_deref()).await?;
    }
    Ok(render_stock(
        &state,
        &page,
        StatusCode::OK,
        &query.request_id,
        StockView::default(),
    ))
}

pub async fn stock_submit(
    State(state): State<SharedState>,
    page: PageContext,
    body: Bytes,
) -> Result<Response, Error> {
    let form: StockForm = parse_form(&body)?;
    check_csrf(&state, &page, &form.csrf_token)?;
    if !form.request_id.is_empty() {
        authorize::find_pending(&state, &form.request_id, page.flow.as_deref()).await?;
    }
    let fail = |key: &str, offer_certificate: bool| StockView {
        operator_id: form.operator_id.clone(),
        error: Some(page.message(&state, key)),
        notice: None,
        offer_certificate,
    };
    if form.operator_id.trim().is_empty() || form.password.is_empty() {
        let view = fail("stock_fields_missing", false);
        return Ok(render_stock(
            &state,
            &page,
            StatusCode::BAD_REQUEST,
            &form.request_id,
            view,
        ));
    }

    let ctx = super::login_context(&state, &page);
    let now = state.clock.now();
    let operator =
        match stock_login::authenticate(&ctx, &form.operator_id, form.password.clone(), now)
            .await
            .map_err(Error::internal)?
        {
            Ok(operator) => {
                state.metrics.sign_in("stock", "success");
                operator
            }
            Err(Failure::BadCredentials) => {
                state.metrics.sign_in("stock", "failure");
                let view = fail("stock_login_failed", false);
                return Ok(render_stock(
                    &state,
                    &page,
                    StatusCode::UNAUTHORIZED,
                    &form.request_id,
                    view,
                ));
            }
            Err(Failure::Migrated) => {
                let view = fail("stock_already_migrated", true);
                return Ok(render_stock(
                    &state,
                    &page,
                    StatusCode::OK,
                    &form.request_id,
                    view,
                ));
            }
            Err(Failure::Locked { until }) => {
                state.metrics.sign_in("stock", "locked");
                let minutes = ((until - now) + 59) / 60;
                let mut view = fail("account_locked", false);
                view.error = view
                    .error
                    .map(|m| m.replace("{minutes}", &minutes.to_string()));
                return Ok(render_stock(
                    &state,
                    &page,
                    StatusCode::TOO_MANY_REQUESTS,
                    &form.request_id,
                    view,
                ));
            }
        };

    // An enterprise is bound by its administrator's certificate before anyone else moves over.
    let bound = admin_bindings::find(&state.db, operator.identity.enterprise_id)
        .await?
        .is_some();
    if !bound || operator.identity.is_admin {
        let key = if bound {
            "admin_use_certificate"
        } else {
            "enterprise_unbound"
        };
        let view = fail(key, true);
        return Ok(render_stock(
            &state,
            &page,
            StatusCode::OK,
            &form.request_id,
            view,
        ));
    }

    if !form.request_id.is_empty() {
        let request =
            authorize::find_pending(&state, &form.request_id, page.flow.as_deref()).await?;
        if request.client_id != operator.identity.system_id {
            return Err(Error::page(
                StatusCode::FORBIDDEN,
                "no_identity_for_system",
                operator.identity.system_id,
            ));
        }
    }

    // Staff without real-name verification are sent to it by `authorize::complete`, or
    // below when they signed in without a relying party's request.
    let start = SessionStart {
        account_id: operator.account.id,
        identity_id: Some(operator.identity.id),
        enterprise_id: None,
        certificate_fingerprint: None,
        state: sessions::STATE_ACTIVE,
        amr: stock_login::AMR,
        acr: stock_login::ACR,
        source_ip: &page.source_ip,
    };
    let (cookie, session) = session::create(&state.db, start, &state.session_limits(), now)
        .await
        .map_err(Error::internal)?;
    let location = if !form.request_id.is_empty() {
        authorize::complete(&state, &form.request_id, page.flow.as_deref(), &session).await?
    } else if let Next::Realname(_) =
        identity_choice::gate(&state.db, operator.identity.clone(), now).await?
    {
        sessions::set_state(&state.db, &session.id, sessions::STATE_REALNAME_REQUIRED).await?;
        REALNAME_PATH.to_owned()
    } else {
        "/".to_owned()
    };
    Ok(see_other(&state, &location, Some(&cookie)))
}
