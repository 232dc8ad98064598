//! The enterprise administrator's console pages: operators (list, add, view, modify phone
//! and status, delete) and real-name reviews. Only certificate sessions get in.

use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::login::see_other;
use super::{PageContext, check_csrf, parse_form, render};
use crate::admin::api::ListQuery;
use crate::admin::{self, AdminError, AdminSession, operators, reviews};
use crate::app::SharedState;
use crate::domain::operator::{DEPARTMENT_TYPES, ROLES};
use crate::error::Error;

pub const CONSOLE_PATH: &str = "/admin/operators";

async fn require_admin(state: &SharedState, page: &PageContext) -> Result<AdminSession, Error> {
    admin::load_admin(state, page.cookie.as_deref(), &page.source_ip)
        .await?
        .ok_or_else(|| Error::page(StatusCode::UNAUTHORIZED, "admin_session_required", ""))
}

/// Common values of every console page.
fn base_context(state: &SharedState, page: &PageContext, admin: &AdminSession) -> Value {
    let english = page.lang == super::templates::Lang::En;
    let pick = |(code, zh, en): &(&str, &str, &str)| json!({ "code": code, "name": if english { *en } else { *zh } });
    let types: Vec<Value> = state
        .config
        .identities
        .types
        .iter()
        .map(|t| json!({ "code": t.code, "name": if english { &t.name_en } else { &t.name_zh } }))
        .collect();
    json!({
        "enterprise_name": admin.enterprise.name,
        "enterprise_code": admin.enterprise.uscc.clone().unwrap_or_else(|| admin.enterprise.org_code.clone()),
        "roles": ROLES.iter().map(pick).collect::<Vec<_>>(),
        "department_types": DEPARTMENT_TYPES.iter().map(pick).collect::<Vec<_>>(),
        "identity_types": types,
    })
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

pub async fn operators_page(
    State(state): State<SharedState>,
    page: PageContext,
    RawQuery(raw): RawQuery,
) -> Result<Response, Error> {
    // A page number that is not a number shows the first page rather than an error.
    let raw = raw.unwrap_or_default();
    let query: ListQuery = serde_urlencoded::from_str(&raw)
        .or_else(|_| {
            let kept: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes())
                .into_owned()
                .filter(|(key, _)| key != "page" && key != "per_page")
                .collect();
            serde_urlencoded::from_str(&serde_urlencoded::to_string(kept).unwrap_or_default())
        })
        .map_err(|error| {
            Error::page(
                StatusCode::BAD_REQUEST,
                "api_query_invalid",
                error.to_string(),
            )
        })?;
    let admin = require_admin(&state, &page).await?;
    let number = query.page.unwrap_or(1).max(1);
    let per_page = query.per_page.unwrap_or(admin::DEFAULT_PER_PAGE);
    let list = match query.filter(&admin) {
        Some(filter) => operators::list(&state, &admin, &filter, number, per_page)
            .await
            .map_err(into_page_error)?,
        None => admin::Page {
            items: Vec::new(),
            page: number,
            per_page,
            total: 0,
        },
    };
    let pages = list.total.div_ceil(list.per_page.max(1)).max(1);
    let first_row = (list.page - 1) * list.per_page;
    let rows: Vec<Value> = list
        .items
        .iter()
        .enumerate()
        .map(|(index, operator)| {
            let mut row = json!(operator);
            row["number"] = json!(first_row + index as u64 + 1);
            row
        })
        .collect();
    let mut paging = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in [
        ("operator_id", &query.operator_id),
        ("name", &query.name),
        ("status", &query.status),
        ("identity_type", &query.identity_type),
        ("unit_code", &query.unit_code),
        ("unit_name", &query.unit_name),
    ] {
        if !value.is_empty() {
            paging.append_pair(key, value);
        }
    }
    let context = merge(
        base_context(&state, &page, &admin),
        json!({
            "operators": rows,
            "page": list.page,
            "pages": pages,
            "total": list.total,
            "filter_query": paging.finish(),
            "query": {
                "operator_id": query.operator_id,
                "name": query.name,
                "status": query.status,
                "identity_type": query.identity_type,
                "unit_code": query.unit_code,
                "unit_name": query.unit_name,
            },
        }),
    );
    Ok(render(
        &state,
        &page,
        StatusCode::OK,
        "admin_operators.html",
        context,
    ))
}

/// Parses a numeric id from the path; anything else is not found.
fn parse_id(text: &str, not_found_key: &'static str) -> Result<i32, Error> {
    text.parse::<i32>()
        .map_err(|_| Error::page(StatusCode::NOT_FOUND, not_found_key, ""))
}

fn into_page_error(error: AdminError) -> Error {
    if matches!(error, AdminError::Database(_) | AdminError::Internal(_)) {
        return Error::internal(error);
    }
    Error::page(error.status(), error.message_key(), "")
}

async fn render_new(
    state: &SharedState,
    page: &PageContext,
    admin: &AdminSession,
    status: StatusCode,
    form: &NewOperatorForm,
    error: Option<String>,
) -> Result<Response, Error> {
    let offered: Vec<Value> = operators::offered(state, admin)
        .await?
        .into_iter()
        .map(|(system_id, identity_type)| {
            let english = page.lang == super::templates::Lang::En;
            let name = state.config.identities.display_name(&identity_type, english).to_owned();
            json!({ "value": format!("{system_id} {identity_type}"), "system_id": system_id, "identity_type": name })
        })
        .collect();
    let department = if form.department.is_empty() {
        admin.enterprise.name.clone()
    } else {
        form.department.clone()
    };
    let context = merge(
        base_context(state, page, admin),
        json!({
            "offered": offered,
            "form": {
                "name": form.name,
                "phone": form.phone,
                "department": department,
                "department_type": form.department_type,
                "role": form.role,
                "remark": form.remark,
                "identity": form.identity,
            },
            "error": error,
        }),
    );
    Ok(render(
        state,
        page,
        status,
        "admin_operator_new.html",
        context,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewOperatorForm {
    name: String,
    phone: String,
    department: String,
    department_type: String,
    role: String,
    remark: String,
    /// `<system_id> <identity_type>`.
    identity: String,
    csrf_token: String,
}

pub async fn new_operator_page(
    State(state): State<SharedState>,
    page: PageContext,
) -> Result<Response, Error> {
    let admin = require_admin(&state, &page).await?;
    let form = NewOperatorForm {
        department_type: "headquarters".into(),
        role: "operator".into(),
        ..NewOperatorForm::default()
    };
    render_new(&state, &page, &admin, StatusCode::OK, &form, None).await
}

pub async fn create_operator(
    State(state): State<SharedState>,
    page: PageContext,
    body: Bytes,
) -> Result<Response, Error> {
    let form: NewOperatorForm = parse_form(&body)?;
    check_csrf(&state, &page, &form.csrf_token)?;
    let admin = require_admin(&state, &page).await?;
    let (system_id, identity_type) = form
        .identity
        .split_once(' ')
        .map(|(s, t)| (s.to_owned(), t.to_owned()))
        .unwrap_or_default();
    let input = operators::NewOperator {
        name: form.name.clone(),
        phone: form.phone.clone(),
        department: form.department.clone(),
        department_type: form.department_type.clone(),
        role: form.role.clone(),
        remark: form.remark.clone(),
        system_id,
        identity_type,
    };
    match operators::create(&state, &admin, input).await {
        Ok(created) => Ok(see_other(
            &state,
            &format!("{CONSOLE_PATH}/{}?created=1", created.operator.id),
            None,
        )),
        Err(error @ (AdminError::Database(_) | AdminError::Internal(_))) => {
            Err(Error::internal(error))
        }
        Err(error) => {
            let message = error.message(
                |key| page.message(&state, key),
                page.lang == crate::web::templates::Lang::En,
            );
            render_new(&state, &page, &admin, error.status(), &form, Some(message)).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OperatorQuery {
    created: String,
    updated: String,
}

async fn render_operator(
    state: &SharedState,
    page: &PageContext,
    admin: &AdminSession,
    status: StatusCode,
    id: i32,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, Error> {
    let operator = operators::get(state, admin, id)
        .await
        .map_err(into_page_error)?;
    let context = merge(
        base_context(state, page, admin),
        json!({ "operator": operator, "notice": notice, "error": error }),
    );
    Ok(render(state, page, status, "admin_operator.html", context))
}

pub async fn operator_page(
    State(state): State<SharedState>,
    page: PageContext,
    Path(id): Path<String>,
    Query(query): Query<OperatorQuery>,
) -> Result<Response, Error> {
    let admin = require_admin(&state, &page).await?;
    let id = parse_id(&id, "operator_not_found")?;
    let notice = if !query.created.is_empty() {
        Some(page.message(&state, "operator_created"))
    } else if !query.updated.is_empty() {
        Some(page.message(&state, "operator_updated"))
    } else {
        None
    };
    render_operator(&state, &page, &admin, StatusCode::OK, id, notice, None).await
}

/// The modify form: only `phone` and `status` besides the CSRF token; any other field is
/// refused, so nothing else can be changed by adding fields to the post.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModifyForm {
    phone: String,
    status: String,
    csrf_token: String,
}

pub async fn modify_operator(
    State(state): State<SharedState>,
    page: PageContext,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Error> {
    let form: ModifyForm = serde_urlencoded::from_bytes(&body)
        .map_err(|error| super::form_error(&error, "operator_field_not_modifiable"))?;
    check_csrf(&state, &page, &form.csrf_token)?;
    let admin = require_admin(&state, &page).await?;
    let id = parse_id(&id, "operator_not_found")?;
    let change = operators::Modification {
        phone: Some(form.phone).filter(|p| !p.trim().is_empty()),
        status: Some(form.status).filter(|s| !s.is_empty()),
    };
    match operators::modify(&state, &admin, id, change).await {
        Ok(_) => Ok(see_other(
            &state,
            &format!("{CONSOLE_PATH}/{id}?updated=1"),
            None,
        )),
        Err(error @ (AdminError::Database(_) | AdminError::Internal(_) | AdminError::NotFound)) => {
            Err(into_page_error(error))
        }
        Err(error) => {
            let message = error.message(
                |key| page.message(&state, key),
                page.lang == crate::web::templates::Lang::En,
            );
            render_operator(
                &state,
                &page,
                &admin,
                error.status(),
                id,
                None,
                Some(message),
            )
            .await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    csrf_token: String,
}

pub async fn delete_operator(
    State(state): State<SharedState>,
    page: PageContext,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Error> {
    let form: CsrfForm = parse_form(&body)?;
    check_csrf(&state, &page, &form.csrf_token)?;
    let admin = require_admin(&state, &page).await?;
    let id = parse_id(&id, "operator_not_found")?;
    operators::delete(&state, &admin, id)
        .await
        .map_err(into_page_error)?;
    Ok(see_other(
        &state,
        &format!("{CONSOLE_PATH}?deleted=1"),
        None,
    ))
}

pub async fn reviews_page(
    State(state): State<SharedState>,
    page: PageContext,
    RawQuery(raw): RawQuery,
) -> Result<Response, Error> {
    let admin = require_admin(&state, &page).await?;
    let number =
        serde_urlencoded::from_str::<crate::admin::api::PageQuery>(raw.as_deref().unwrap_or(""))
            .ok()
            .and_then(|query| query.page)
            .unwrap_or(1);
    render_reviews(&state, &page, &admin, StatusCode::OK, number, None, None).await
}

async fn render_reviews(
    state: &SharedState,
    page: &PageContext,
    admin: &AdminSession,
    status: StatusCode,
    number: u64,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, Error> {
    let list = reviews::pending(state, admin, number, admin::DEFAULT_PER_PAGE)
        .await
        .map_err(into_page_error)?;
    let pages = list.total.div_ceil(list.per_page.max(1)).max(1);
    let context = merge(
        base_context(state, page, admin),
        json!({
            "submissions": list.items,
            "page": list.page,
            "pages": pages,
            "notice": notice,
            "error": error,
        }),
    );
    Ok(render(state, page, status, "admin_reviews.html", context))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RejectForm {
    reason: String,
    csrf_token: String,
}

pub async fn approve(
    State(state): State<SharedState>,
    page: PageContext,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Error> {
    let form: CsrfForm = parse_form(&body)?;
    check_csrf(&state, &page, &form.csrf_token)?;
    let admin = require_admin(&state, &page).await?;
    let id = parse_id(&id, "submission_not_found")?;
    review_result(
        &state,
        &page,
        &admin,
        reviews::approve(&state, &admin, id).await,
        "review_approved",
    )
    .await
}

pub async fn reject(
    State(state): State<SharedState>,
    page: PageContext,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Error> {
    let form: RejectForm = parse_form(&body)?;
    check_csrf(&state, &page, &form.csrf_token)?;
    let admin = require_admin(&state, &page).await?;
    let id = parse_id(&id, "submission_not_found")?;
    let result = reviews::reject(&state, &admin, id, &form.reason).await;
    review_result(&state, &page, &admin, result, "review_rejected").await
}

async fn review_result(
    state: &SharedState,
    page: &PageContext,
    admin: &AdminSession,
    result: Result<(), AdminError>,
    done_key: &str,
) -> Result<Response, Error> {
    match result {
        Ok(()) => {
            let notice = Some(page.message(state, done_key));
            render_reviews(state, page, admin, StatusCode::OK, 1, notice, None).await
        }
        Err(error @ (AdminError::Database(_) | AdminError::Internal(_))) => {
            Err(Error::internal(error))
        }
        Err(error) => {
            let message = Some(error.message(
                |key| page.message(state, key),
                page.lang == crate::web::templates::Lang::En,
            ));
            render_reviews(state, page, admin, error.status(), 1, None, message).await
        }
    }
}
