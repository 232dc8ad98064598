//! The logout page at the end-session endpoint: `GET /logout` (with the parameters of
//! RP-initiated logout) and `POST /logout` from the confirmation form.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::login::see_other;
use super::{PageContext, check_csrf, render};
use crate::app::SharedState;
use crate::auth::session;
use crate::error::Error;
use crate::oidc::logout;

const PARAMS: [&str; 4] = [
    "id_token_hint",
    "post_logout_redirect_uri",
    "state",
    "client_id",
];

pub async fn logout_get(
    State(state): State<SharedState>,
    page: PageContext,
    RawQuery(query): RawQuery,
) -> Result<Response, Error> {
    let params = crate::oidc::parse_unique_params(query.unwrap_or_default().as_bytes())
        .map_err(|name| Error::page(StatusCode::BAD_REQUEST, "invalid_request_duplicate", name))?;
    let request = logout::validate(&state, &params).await?;
    let session = current(&state, &page).await?;

    match session {
        Some(session) if logout::hint_matches(&request, &session) => {
            let frontchannel = logout::end_session(&state, &session, &page.source_ip).await?;
            Ok(finish(&state, &page, request.redirect, &frontchannel))
        }
        Some(_) => {
            let hidden: Vec<_> = PARAMS
                .iter()
                .filter_map(|name| {
                    params
                        .get(*name)
                        .map(|value| json!({ "name": name, "value": value }))
                })
                .collect();
            Ok(render(
                &state,
                &page,
                StatusCode::OK,
                "logout.html",
                json!({ "hidden": hidden }),
            ))
        }
        None => Ok(finish(&state, &page, request.redirect, &[])),
    }
}

pub async fn logout_post(
    State(state): State<SharedState>,
    page: PageContext,
    body: Bytes,
) -> Result<Response, Error> {
    let params = crate::oidc::parse_unique_params(&body)
        .map_err(|name| Error::page(StatusCode::BAD_REQUEST, "invalid_request_duplicate", name))?;
    check_csrf(
        &state,
        &page,
        params.get("csrf_token").map(String::as_str).unwrap_or(""),
    )?;
    let request = logout::validate(&state, &params).await?;
    let mut frontchannel = Vec::new();
    if let Some(session) = current(&state, &page).await? {
        frontchannel = logout::end_session(&state, &session, &page.source_ip).await?;
    }
    Ok(finish(&state, &page, request.redirect, &frontchannel))
}

async fn current(
    state: &SharedState,
    page: &PageContext,
) -> Result<Option<crate::store::sessions::Model>, Error> {
    let Some(cookie) = &page.cookie else {
        return Ok(None);
    };
    Ok(session::load(
        &state.db,
        cookie,
        &state.session_limits(),
        state.clock.now(),
    )
    .await?)
}

/// Sends the browser on, or shows the signed-out page; either way the cookie is replaced so
/// the old value is gone from the browser too. With front-channel logout URLs the page loads
/// them in hidden iframes and then moves on to the redirect.
fn finish(
    state: &SharedState,
    page: &PageContext,
    redirect: Option<String>,
    frontchannel: &[String],
) -> Response {
    let fresh = session::new_cookie_value().unwrap_or_default();
    let mut response = match redirect {
        Some(location) if frontchannel.is_empty() => see_other(state, &location, Some(&fresh)),
        redirect => {
            let mut signed_out = page.clone();
            signed_out.cookie = None;
            let mut response = render(
                state,
                &signed_out,
                StatusCode::OK,
                "logout.html",
                json!({
                    "signed_out": true,
                    "frontchannel": frontchannel,
                    "continue_url": redirect,
                }),
            );
            if let Some(policy) = frame_policy(frontchannel) {
                response
                    .headers_mut()
                    .insert(axum::http::header::CONTENT_SECURITY_POLICY, policy);
            }
            response
        }
    };
    response
        .headers_mut()
        .remove(axum::http::header::CACHE_CONTROL);
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response.into_response()
}

/// Builds a content security policy that lets the page frame the clients' front-channel
/// logout origins and nothing else.
fn frame_policy(frontchannel: &[String]) -> Option<axum::http::HeaderValue> {
    if frontchannel.is_empty() {
        return None;
    }
    let origins: Vec<String> = frontchannel
        .iter()
        .filter_map(|uri| url::Url::parse(uri).ok())
        .map(|url| url.origin().ascii_serialization())
        .collect();
    let policy = format!(
        "default-src 'self'; img-src 'self' data:; frame-src {}; frame-ancestors 'none'; base-uri 'none'",
        origins.join(" ")
    );
    axum::http::HeaderValue::from_str(&policy).ok()
}
