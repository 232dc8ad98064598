//! The administrator's 系统权限申请 pages: choose a system and identity type the enterprise
//! lacks, answer whether the enterprise already has such an account in the old system, then
//! either attach that account or submit the application.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{PageContext, check_csrf, parse_form, render};
use crate::admin::applications::{self, Application, ExistingAccount};
use crate::admin::{AdminError, AdminSession};
use crate::app::SharedState;
use crate::error::Error;

async fn require_admin(state: &SharedState, page: &PageContext) -> Result<AdminSession, Error> {
    crate::admin::load_admin(state, page.cookie.as_deref(), &page.source_ip)
        .await?
        .ok_or_else(|| Error::page(StatusCode::UNAUTHORIZED, "admin_session_required", ""))
}

fn english(page: &PageContext) -> bool {
    page.lang == super::templates::Lang::En
}

/// Renders the application page in one of its steps: `list`, `question`, `attach`, `apply`
/// or `done`.
fn show(
    state: &SharedState,
    page: &PageContext,
    admin: &AdminSession,
    status: StatusCode,
    step: &str,
    extra: Value,
) -> Response {
    let mut context = json!({
        "step": step,
        "enterprise_name": admin.enterprise.name,
        "enterprise_code": admin.enterprise.uscc.clone().unwrap_or_else(|| admin.enterprise.org_code.clone()),
        "form": { "contact_name": "", "contact_phone": "", "contact_email": "" },
        "operator_id_value": "",
        "error": null,
    });
    if let (Some(context), Value::Object(extra)) = (context.as_object_mut(), extra) {
        context.extend(extra);
    }
    render(state, page, status, "admin_applications.html", context)
}

pub async fn list_page(
    State(state): State<SharedState>,
    page: PageContext,
) -> Result<Response, Error> {
    let admin = require_admin(&state, &page).await?;
    let offers = applications::available(&state, &admin, english(&page)).await?;
    Ok(show(
        &state,
        &page,
        &admin,
        StatusCode::OK,
        "list",
        json!({ "offers": offers }),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OfferQuery {
    /// `<system_id> <identity_type>` from the list's select.
    offer: String,
    system_id: String,
    identity_type: String,
}

impl OfferQuery {
    fn pair(&self) -> (String, String) {
        match self.offer.split_once(' ') {
            Some((system, kind)) => (system.to_owned(), kind.to_owned()),
            None => (self.system_id.clone(), self.identity_type.clone()),
        }
    }
}

/// Context naming the chosen system and type, or the error page when they are not open.
async fn chosen(
    state: &SharedState,
    page: &PageContext,
    admin: &AdminSession,
    query: &OfferQuery,
) -> Result<Value, Error> {
    let (system_id, identity_type) = query.pair();
    let system = applications::find_offer(state, admin, &system_id, &identity_type)
        .await
        .map_err(page_error)?;
    Ok(json!({
        "system_id": system.client_id,
        "system_name": system.name,
        "identity_type": identity_type,
        "identity_type_name": state.config.identities.display_name(&identity_type, english(page)),
    }))
}

fn page_error(error: AdminError) -> Error {
    match error {
        AdminError::Database(_) | AdminError::Internal(_) => Error::internal(error),
        error => Error::page(error.status(), error.message_key(), ""),
    }
}

pub async fn question_page(
    State(state): State<SharedState>,
    page: PageContext,
    Query(query): Query<OfferQuery>,
) -> Result<Response, Error> {
    let admin = require_admin(&state, &page).await?;
    let context = chosen(&state, &page, &admin, &query).await?;
    let question = page
        .message(&state, "application_question")
        .replace("{system}", context["system_name"].as_str().unwrap_or(""))
        .replace(
            "{type}",
            context["identity_type_name"].as_str().unwrap_or(""),
        );
    let mut context = context;
    context["question"] = json!(question);
    Ok(show(
        &state,
        &page,
        &admin,
        StatusCode::OK,
        "question",
        context,
    ))
}

pub async fn attach_page(
    State(state): State<SharedState>,
    page: PageContext,
    Query(query): Query<OfferQuery>,
) -> Result<Response, Error> {
    let admin = require_admin(&state, &page).await?;
    let context = chosen(&state, &page, &admin, &query).await?;
    Ok(show(
        &state,
        &page,
        &admin,
        StatusCode::OK,
        "attach",
        context,
    ))
}

pub async fn apply_page(
    State(state): State<SharedState>,
    page: PageContext,
    Query(query): Query<OfferQuery>,
) -> Result<Response, Error> {
    let admin = require_admin(&state, &page).await?;
    let context = chosen(&state, &page, &admin, &query).await?;
    Ok(show(
        &state,
        &page,
        &admin,
        StatusCode::OK,
        "apply",
        context,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttachForm {
    system_id: String,
    identity_type: String,
    operator_id: String,
    password: String,
    csrf_token: String,
}

pub async fn attach_submit(
    State(state): State<SharedState>,
    page: PageContext,
    body: Bytes,
) -> Result<Response, Error> {
    let form: AttachForm = parse_form(&body)?;
    check_csrf(&state, &page, &form.csrf_token)?;
    let admin = require_admin(&state, &page).await?;
    let query = OfferQuery {
        system_id: form.system_id.clone(),
        identity_type: form.identity_type.clone(),
        ..OfferQuery::default()
    };
    let context = chosen(&state, &page, &admin, &query).await?;
    let input = ExistingAccount {
        system_id: form.system_id,
        identity_type: form.identity_type,
        operator_id: form.operator_id.clone(),
        password: form.password,
    };
    match applications::attach_existing(&state, &admin, input).await {
        Ok(identity) => {
            let mut context = context;
            context["operator_id"] = json!(identity.operator_id);
            Ok(show(&state, &page, &admin, StatusCode::OK, "done", context))
        }
        Err(error @ (AdminError::Database(_) | AdminError::Internal(_))) => {
            Err(Error::internal(error))
        }
        Err(error) => {
            let mut context = context;
            let mut message = error.message(
                |key| page.message(&state, key),
                page.lang == crate::web::templates::Lang::En,
            );
            if let AdminError::Locked { until } = error {
                let minutes = ((until - state.clock.now()) + 59) / 60;
                message = message.replace("{minutes}", &minutes.to_string());
            }
            context["error"] = json!(message);
            context["operator_id_value"] = json!(form.operator_id);
            Ok(show(
                &state,
                &page,
                &admin,
                error.status(),
                "attach",
                context,
            ))
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApplyForm {
    system_id: String,
    identity_type: String,
    contact_name: String,
    contact_phone: String,
    contact_email: String,
    csrf_token: String,
}

pub async fn apply_submit(
    State(state): State<SharedState>,
    page: PageContext,
    body: Bytes,
) -> Result<Response, Error> {
    let form: ApplyForm = parse_form(&body)?;
    check_csrf(&state, &page, &form.csrf_token)?;
    let admin = require_admin(&state, &page).await?;
    let query = OfferQuery {
        system_id: form.system_id.clone(),
        identity_type: form.identity_type.clone(),
        ..OfferQuery::default()
    };
    let context = match chosen(&state, &page, &admin, &query).await {
        Ok(context) => context,
        Err(error) => return Err(error),
    };
    let input = Application {
        system_id: form.system_id,
        identity_type: form.identity_type,
        contact_name: form.contact_name.clone(),
        contact_phone: form.contact_phone.clone(),
        contact_email: form.contact_email.clone(),
    };
    match applications::apply(&state, &admin, input).await {
        Ok(identity) => {
            let mut context = context;
            context["operator_id"] = json!(identity.operator_id);
            Ok(show(&state, &page, &admin, StatusCode::OK, "done", context))
        }
        Err(error @ (AdminError::Database(_) | AdminError::Internal(_))) => {
            Err(Error::internal(error))
        }
        Err(error) => {
            let mut context = context;
            context["error"] = json!(error.message(
                |key| page.message(&state, key),
                page.lang == crate::web::templates::Lang::En
            ));
            context["form"] = json!({
                "contact_name": form.contact_name,
                "contact_phone": form.contact_phone,
                "contact_email": form.contact_email,
            });
            Ok(show(
                &state,
                &page,
                &admin,
                error.status(),
                "apply",
                context,
            ))
        }
    }
}
