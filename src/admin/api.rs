//! The enterprise administrator's JSON API under `/api/v1/`, for the same operations as the
//! console pages. It accepts only certificate sessions, and changes only with a JSON body
//! (`Content-Type: application/json`), which a cross-site form cannot send.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{AdminError, AdminSession, load_admin, operators, reviews};
use crate::app::SharedState;
use crate::store::identities::OperatorFilter;
use crate::web::PageContext;

fn error_body(
    page: &PageContext,
    state: &SharedState,
    status: StatusCode,
    code: &str,
    key: &str,
) -> Response {
    let body = json!({ "error": code, "message": page.message(state, key) });
    (status, Json(body)).into_response()
}

fn admin_error(page: &PageContext, state: &SharedState, error: &AdminError) -> Response {
    if matches!(error, AdminError::Database(_) | AdminError::Internal(_)) {
        tracing::error!(error = %error, "admin API operation failed");
    }
    let mut body = json!({
        "error": error.message_key(),
        "message": error.message(|key| page.message(state, key), page.lang == crate::web::templates::Lang::En),
    });
    if let Some(field) = error.field() {
        body["field"] = json!(field);
    }
    if let AdminError::MutuallyExclusive { held } = error {
        body["held_identity_type"] = json!(held);
    }
    (error.status(), Json(body)).into_response()
}

async fn require_admin(state: &SharedState, page: &PageContext) -> Result<AdminSession, Response> {
    match load_admin(state, page.cookie.as_deref(), &page.source_ip).await {
        Ok(Some(admin)) => Ok(admin),
        Ok(None) => Err(error_body(
            page,
            state,
            StatusCode::UNAUTHORIZED,
            "certificate_session_required",
            "admin_session_required",
        )),
        Err(error) => Err(admin_error(page, state, &AdminError::Database(error))),
    }
}

/// Parses a JSON body of a changing request; other content types are refused (CSRF).
#[allow(
    clippy::result_large_err,
    reason = "the error is the response itself, returned at once"
)]
fn json_body<T: serde::de::DeserializeOwned>(
    state: &SharedState,
    page: &PageContext,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, Response> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return Err(error_body(
            page,
            state,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "json_required",
            "api_json_required",
        ));
    }
    serde_json::from_slice(body).map_err(|error| {
        let body = json!({
            "error": "invalid_body",
            "message": format!("{} ({error})", page.message(state, "api_body_invalid")),
        });
        (StatusCode::BAD_REQUEST, Json(body)).into_response()
    })
}

/// Parses a query string; an invalid one is a JSON 400 that names the problem.
#[allow(
    clippy::result_large_err,
    reason = "the error is the response itself, returned at once"
)]
fn parse_query<T: serde::de::DeserializeOwned>(
    state: &SharedState,
    page: &PageContext,
    raw: Option<&str>,
) -> Result<T, Response> {
    serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|error| {
        let body = json!({
            "error": "invalid_query",
            "message": format!("{} ({error})", page.message(state, "api_query_invalid")),
        });
        (StatusCode::BAD_REQUEST, Json(body)).into_response()
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub operator_id: String,
    pub name: String,
    pub status: String,
    pub identity_type: String,
    pub unit_code: String,
    pub unit_name: String,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

impl ListQuery {
    /// Builds the store filter. Returns None when a filter can match nothing: an operator ID
    /// that is not a number, or a unit code other than the enterprise's.
    pub fn filter(&self, admin: &AdminSession) -> Option<OperatorFilter> {
        let operator_id = match self.operator_id.trim() {
            "" => None,
            text => Some(text.parse::<i64>().ok()?),
        };
        let unit_code = self.unit_code.trim().to_uppercase();
        if !unit_code.is_empty()
            && admin.enterprise.uscc.as_deref() != Some(unit_code.as_str())
            && admin.enterprise.org_code != unit_code
        {
            return None;
        }
        Some(OperatorFilter {
            operator_id,
            name: self.name.trim().to_owned(),
            status: self.status.trim().to_owned(),
            identity_type: self.identity_type.trim().to_owned(),
            department: self.unit_name.trim().to_owned(),
        })
    }
}

pub async fn list_operators(
    State(state): State<SharedState>,
    page: PageContext,
    RawQuery(raw): RawQuery,
) -> Response {
    let admin = match require_admin(&state, &page).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let query: ListQuery = match parse_query(&state, &page, raw.as_deref()) {
        Ok(query) => query,
        Err(response) => return response,
    };
    let number = query.page.unwrap_or(1);
    let per_page = query.per_page.unwrap_or(super::DEFAULT_PER_PAGE);
    let Some(filter) = query.filter(&admin) else {
        let empty = super::Page::<operators::OperatorView> {
            items: Vec::new(),
            page: number.max(1),
            per_page: per_page.clamp(1, super::MAX_PER_PAGE),
            total: 0,
        };
        return Json(empty).into_response();
    };
    match operators::list(&state, &admin, &filter, number, per_page).await {
        Ok(list) => Json(list).into_response(),
        Err(error) => admin_error(&page, &state, &error),
    }
}

pub async fn create_operator(
    State(state): State<SharedState>,
    page: PageContext,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let admin = match require_admin(&state, &page).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let input: operators::NewOperator = match json_body(&state, &page, &headers, &body) {
        Ok(input) => input,
        Err(response) => return response,
    };
    match operators::create(&state, &admin, input).await {
        Ok(created) => (StatusCode::CREATED, Json(created)).into_response(),
        Err(error) => admin_error(&page, &state, &error),
    }
}

pub async fn get_operator(
    State(state): State<SharedState>,
    page: PageContext,
    Path(id): Path<String>,
) -> Response {
    let admin = match require_admin(&state, &page).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<i32>() else {
        return admin_error(&page, &state, &AdminError::NotFound);
    };
    match operators::get(&state, &admin, id).await {
        Ok(operator) => Json(operator).into_response(),
        Err(error) => admin_error(&page, &state, &error),
    }
}

pub async fn modify_operator(
    State(state): State<SharedState>,
    page: PageContext,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let admin = match require_admin(&state, &page).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let change: operators::Modification = match json_body(&state, &page, &headers, &body) {
        Ok(change) => change,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<i32>() else {
        return admin_error(&page, &state, &AdminError::NotFound);
    };
    match operators::modify(&state, &admin, id, change).await {
        Ok(operator) => Json(operator).into_response(),
        Err(error) => admin_error(&page, &state, &error),
    }
}

pub async fn delete_operator(
    State(state): State<SharedState>,
    page: PageContext,
    Path(id): Path<String>,
) -> Response {
    let admin = match require_admin(&state, &page).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<i32>() else {
        return admin_error(&page, &state, &AdminError::NotFound);
    };
    match operators::delete(&state, &admin, id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => admin_error(&page, &state, &error),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

pub async fn list_submissions(
    State(state): State<SharedState>,
    page: PageContext,
    RawQuery(raw): RawQuery,
) -> Response {
    let admin = match require_admin(&state, &page).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let query: PageQuery = match parse_query(&state, &page, raw.as_deref()) {
        Ok(query) => query,
        Err(response) => return response,
    };
    let number = query.page.unwrap_or(1);
    let per_page = query.per_page.unwrap_or(super::DEFAULT_PER_PAGE);
    match reviews::pending(&state, &admin, number, per_page).await {
        Ok(list) => Json(list).into_response(),
        Err(error) => admin_error(&page, &state, &error),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RejectBody {
    pub reason: String,
}

pub async fn approve_submission(
    State(state): State<SharedState>,
    page: PageContext,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let admin = match require_admin(&state, &page).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    // Approval takes no fields: an empty body is accepted as `{}`.
    let body = if body.is_empty() {
        Bytes::from_static(b"{}")
    } else {
        body
    };
    if let Err(response) = json_body::<serde_json::Value>(&state, &page, &headers, &body) {
        return response;
    }
    let Ok(id) = id.parse::<i32>() else {
        return admin_error(&page, &state, &AdminError::SubmissionNotFound);
    };
    match reviews::approve(&state, &admin, id).await {
        Ok(()) => Json(json!({ "id": id, "status": "approved" })).into_response(),
        Err(error) => admin_error(&page, &state, &error),
    }
}

pub async fn reject_submission(
    State(state): State<SharedState>,
    page: PageContext,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let admin = match require_admin(&state, &page).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let input: RejectBody = match json_body(&state, &page, &headers, &body) {
        Ok(input) => input,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<i32>() else {
        return admin_error(&page, &state, &AdminError::SubmissionNotFound);
    };
    match reviews::reject(&state, &admin, id, &input.reason).await {
        Ok(()) => Json(json!({ "id": id, "status": "rejected" })).into_response(),
        Err(error) => admin_error(&page, &state, &error),
    }
}

pub async fn available_applications(
    State(state): State<SharedState>,
    page: PageContext,
) -> Response {
    let admin = match require_admin(&state, &page).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let english = page.lang == crate::web::templates::Lang::En;
    match super::applications::available(&state, &admin, english).await {
        Ok(offers) => Json(json!({ "items": offers })).into_response(),
        Err(error) => admin_error(&page, &state, &AdminError::Database(error)),
    }
}

pub async fn submit_application(
    State(state): State<SharedState>,
    page: PageContext,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let admin = match require_admin(&state, &page).await {
        Ok(admin) => admin,
        Err(response) => return response,
    };
    let input: super::applications::Application = match json_body(&state, &page, &headers, &body) {
        Ok(input) => input,
        Err(response) => return response,
    };
    match super::applications::apply(&state, &admin, input).await {
        Ok(identity) => (
            StatusCode::CREATED,
            Json(json!({
                "identity_id": identity.id,
                "operator_id": identity.operator_id,
                "system_id": identity.system_id,
                "identity_type": identity.identity_type,
            })),
        )
            .into_response(),
        Err(error) => admin_error(&page, &state, &error),
    }
}
