//! Authorization endpoint (OpenID Connect Core §3.1.2). A valid request is stored as a pending
//! authorization and the browser goes to the sign-in pages; `complete` finishes it once the
//! user has signed in and returns the redirect to the client with the code.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;

use super::completion::{self, Finished};
use crate::app::SharedState;
use crate::auth::session;
use crate::crypto::{self, sha256_b64};
use crate::domain::claims_request::ClaimsRequest;
use crate::domain::{assurance, pkce, scope};
use crate::error::Error;
use crate::store::authorizations::pending;

pub use super::completion::{complete, complete_with_identity, find_pending};
use crate::store::{sessions, systems};

/// Longest accepted value of any authorization request parameter, in bytes.
const MAX_PARAM_LEN: usize = 4096;

/// The sign-in page that takes over a pending authorization, given as `?request_id=`.
pub const LOGIN_PAGE_PATH: &str = "/login";
/// The sign-in page for requests whose `acr_values` only a certificate meets.
pub const CERTIFICATE_PAGE_PATH: &str = "/login/certificate";

/// Whether a session may complete a request without signing in again: active, recent enough
/// for `max_age`, and at the assurance level `acr_values` requests.
fn session_meets(session: &sessions::Model, request: &pending::Model, now: i64) -> bool {
    let fresh = request
        .max_age
        .is_none_or(|max_age| now - session.auth_time <= max_age);
    // A session waiting for the role picker or real-name verification has signed in; those
    // steps come again for the new request.
    let signed_in = matches!(
        session.state.as_str(),
        sessions::STATE_ACTIVE
            | sessions::STATE_SELECT_IDENTITY
            | sessions::STATE_REALNAME_REQUIRED
    );
    signed_in && fresh && assurance::satisfies(&session.acr, request.acr_values.as_deref())
}

pub async fn authorize_get(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, Error> {
    handle(&state, &headers, query.unwrap_or_default().as_bytes()).await
}

pub async fn authorize_post(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    handle(&state, &headers, &body).await
}

/// An error returned to the client by redirect (RFC 6749 §4.1.2.1).
pub(crate) struct RedirectError {
    pub(crate) error: &'static str,
    pub(crate) description: String,
}

fn redirect_error(error: &'static str, description: impl Into<String>) -> RedirectError {
    RedirectError {
        error,
        description: description.into(),
    }
}

async fn handle(state: &SharedState, headers: &HeaderMap, input: &[u8]) -> Result<Response, Error> {
    let params = crate::oidc::parse_unique_params(input)
        .map_err(|name| Error::page(StatusCode::BAD_REQUEST, "invalid_request_duplicate", name))?;
    let (params, pushed) = resolve_pushed(state, params).await?;
    let (params, object_error) = super::request_object::resolve(state, params).await?;
    let param = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };

    // Until client and redirect_uri are known good, errors are shown here and never
    // redirected (RFC 6749 §4.1.2.1, RFC 9700 §4.11).
    let client_id = param("client_id")
        .ok_or_else(|| Error::page(StatusCode::BAD_REQUEST, "client_id_missing", ""))?;
    let system = systems::find_by_client_id(&state.db, client_id)
        .await?
        .ok_or_else(|| Error::page(StatusCode::BAD_REQUEST, "client_unknown", client_id))?;
    let redirect_uri = param("redirect_uri")
        .ok_or_else(|| Error::page(StatusCode::BAD_REQUEST, "redirect_uri_missing", ""))?;
    if !system
        .redirect_uri_list()
        .iter()
        .any(|registered| registered == redirect_uri)
    {
        tracing::warn!(
            client_id,
            redirect_uri,
            "authorization request with unregistered redirect_uri"
        );
        return Err(Error::page(
            StatusCode::BAD_REQUEST,
            "redirect_uri_unregistered",
            redirect_uri,
        ));
    }
    // An oversized state is rejected below and not echoed into the Location header.
    let client_state = param("state")
        .filter(|v| v.len() <= MAX_PARAM_LEN)
        .map(str::to_owned);
    if let Some(reason) = object_error {
        return Ok(redirect_to_client(
            state,
            redirect_uri,
            client_state.as_deref(),
            Err(redirect_error("invalid_request_object", reason)),
        ));
    }
    if system.require_par && !pushed {
        return Ok(redirect_to_client(
            state,
            redirect_uri,
            client_state.as_deref(),
            Err(redirect_error(
                "invalid_request",
                "this client must send its authorization requests by PAR (RFC 9126)",
            )),
        ));
    }

    let validated = match validate(&params, &state.keys, &state.config.server.issuer) {
        Ok(request) => request,
        Err(error) => {
            return Ok(redirect_to_client(
                state,
                redirect_uri,
                client_state.as_deref(),
                Err(error),
            ));
        }
    };
    let now = state.clock.now();
    let existing_flow = session::read_cookie(headers, session::FLOW_COOKIE_NAME);
    let flow = match &existing_flow {
        Some(flow) => flow.clone(),
        None => session::new_cookie_value().map_err(Error::internal)?,
    };
    let request = pending::Model {
        id: crypto::random_token().map_err(Error::internal)?,
        client_id: system.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scope: validated.scope,
        state: client_state,
        nonce: validated.nonce,
        code_challenge: validated.code_challenge,
        prompt: validated.prompt.clone(),
        max_age: validated.max_age,
        acr_values: validated.acr_values,
        login_hint: validated.login_hint,
        ui_locales: validated.ui_locales,
        browser_hash: sha256_b64(&flow),
        created_at: now,
        expires_at: now + state.config.login.pending_ttl_secs,
        claims: validated.claims,
        expected_sub: validated.hinted_sub.clone(),
    };

    let session = current_session(state, headers, now).await?;
    let prompt = validated.prompt.as_deref().unwrap_or("");
    // A session of a user other than the one id_token_hint names cannot complete silently;
    // after a fresh sign-in, `completion::finish` compares the user again.
    let hinted_user = |s: &sessions::Model| {
        validated
            .hinted_sub
            .as_deref()
            .is_none_or(|sub| sub == state.subject(&system, s.account_id))
    };
    let usable = session.filter(|s| session_meets(s, &request, now) && hinted_user(s));

    let force_login = prompt.split(' ').any(|p| p == "login");
    match (usable, prompt) {
        (Some(session), _) if !force_login => {
            sso(
                state,
                request,
                &session,
                prompt == "none",
                existing_flow.is_none(),
                &flow,
            )
            .await
        }
        (None, "none") => Ok(redirect_to_client(
            state,
            &request.redirect_uri,
            request.state.as_deref(),
            Err(redirect_error(
                "login_required",
                "the user is not signed in",
            )),
        )),
        _ => {
            let id = request.id.clone();
            let page = if assurance::requires_certificate(request.acr_values.as_deref()) {
                CERTIFICATE_PAGE_PATH
            } else {
                LOGIN_PAGE_PATH
            };
            pending::insert(&state.db, request).await?;
            let mut response = found(&format!("{page}?request_id={id}"));
            if existing_flow.is_none() {
                let secure = state.config.issuer_is_https();
                let cookie = session::set_cookie(session::FLOW_COOKIE_NAME, &flow, secure, None);
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            Ok(response)
        }
    }
}

/// Completes a request for a browser that is already signed in. When the role picker or the
/// real-name page has to come first, `prompt=none` gets an error instead (OIDC Core
/// §3.1.2.6) and other requests go to that page.
async fn sso(
    state: &SharedState,
    request: pending::Model,
    session: &sessions::Model,
    prompt_none: bool,
    new_flow: bool,
    flow: &str,
) -> Result<Response, Error> {
    let request_id = request.id.clone();
    let redirect_uri = request.redirect_uri.clone();
    let client_state = request.state.clone();
    pending::insert(&state.db, request.clone()).await?;
    match completion::finish(state, request, session, None).await {
        Ok(Finished::Client(location)) => Ok(found(&location)),
        Ok(Finished::Page(location)) if prompt_none => {
            pending::take(&state.db, &request_id).await?;
            // OIDC Core §3.1.2.6: choosing among identities is `account_selection_required`.
            let error = if location.starts_with(completion::SELECT_IDENTITY_PATH) {
                redirect_error(
                    "account_selection_required",
                    "the user has to choose one of several identities",
                )
            } else {
                redirect_error(
                    "interaction_required",
                    "the user has to complete real-name verification",
                )
            };
            Ok(redirect_to_client(
                state,
                &redirect_uri,
                client_state.as_deref(),
                Err(error),
            ))
        }
        Err(_) if prompt_none => {
            pending::take(&state.db, &request_id).await?;
            Ok(redirect_to_client(
                state,
                &redirect_uri,
                client_state.as_deref(),
                Err(redirect_error(
                    "interaction_required",
                    "the user cannot sign in to this client without interaction",
                )),
            ))
        }
        Ok(Finished::Page(location)) => {
            let mut response = found(&location);
            if new_flow {
                let secure = state.config.issuer_is_https();
                let cookie = session::set_cookie(session::FLOW_COOKIE_NAME, flow, secure, None);
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            Ok(response)
        }
        Err(error) => Err(error),
    }
}

/// Replaces the parameters with those of a pushed request when `request_uri` names one
/// (RFC 9126 §4): only the pushed parameters count then. Returns whether it did.
async fn resolve_pushed(
    state: &SharedState,
    params: HashMap<String, String>,
) -> Result<(HashMap<String, String>, bool), Error> {
    let Some(request_uri) = params
        .get("request_uri")
        .filter(|uri| uri.starts_with(super::par::REQUEST_URI_PREFIX))
    else {
        return Ok((params, false));
    };
    let client_id = params
        .get("client_id")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| Error::page(StatusCode::BAD_REQUEST, "client_id_missing", ""))?;
    match super::par::take(state, client_id, request_uri).await? {
        Ok(pushed) => Ok((pushed, true)),
        Err(_) => Err(Error::page(
            StatusCode::BAD_REQUEST,
            "request_uri_invalid",
            "",
        )),
    }
}

/// Checks an authorization request's parameters other than client and redirect URI, as the
/// authorization endpoint does.
pub(crate) fn check_request(
    params: &HashMap<String, String>,
    keys: &crate::oidc::keys::Keys,
    issuer: &str,
) -> Result<(), RedirectError> {
    validate(params, keys, issuer).map(|_| ())
}

struct ValidatedRequest {
    acr_values: Option<String>,
    login_hint: Option<String>,
    ui_locales: Option<String>,
    /// `sub` of a valid `id_token_hint`.
    hinted_sub: Option<String>,
    scope: String,
    nonce: Option<String>,
    code_challenge: String,
    prompt: Option<String>,
    max_age: Option<i64>,
    /// The `claims` parameter's claim names, ready to store.
    claims: Option<String>,
}

fn validate(
    params: &HashMap<String, String>,
    keys: &crate::oidc::keys::Keys,
    issuer: &str,
) -> Result<ValidatedRequest, RedirectError> {
    let param = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };

    if param("request").is_some() {
        return Err(redirect_error(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if param("request_uri").is_some() {
        return Err(redirect_error(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    match param("response_type") {
        None => {
            return Err(redirect_error(
                "invalid_request",
                "response_type is required",
            ));
        }
        Some("code") => {}
        Some(other) => {
            return Err(redirect_error(
                "unsupported_response_type",
                format!("response_type `{other}` is not supported; use `code`"),
            ));
        }
    }
    if let Some(mode) = param("response_mode").filter(|mode| *mode != "query") {
        return Err(redirect_error(
            "invalid_request",
            format!("response_mode `{mode}` is not supported; use `query`"),
        ));
    }

    let requested_scope = param("scope").unwrap_or("");
    if !scope::contains(requested_scope, "openid") {
        return Err(redirect_error(
            "invalid_scope",
            "scope must contain `openid`",
        ));
    }
    let granted = scope::granted(requested_scope).join(" ");

    let code_challenge = param("code_challenge").ok_or_else(|| {
        redirect_error("invalid_request", "code_challenge is required (PKCE S256)")
    })?;
    match param("code_challenge_method") {
        Some("S256") => {}
        Some(other) => {
            return Err(redirect_error(
                "invalid_request",
                format!("code_challenge_method `{other}` is not supported; use `S256`"),
            ));
        }
        None => {
            return Err(redirect_error(
                "invalid_request",
                "code_challenge_method is required and must be `S256`",
            ));
        }
    }
    if !pkce::is_valid_syntax(code_challenge) {
        return Err(redirect_error(
            "invalid_request",
            "code_challenge is not a valid S256 challenge",
        ));
    }

    let mut prompt = None;
    if let Some(text) = param("prompt") {
        let values: Vec<&str> = text.split(' ').filter(|v| !v.is_empty()).collect();
        if let Some(unknown) = values
            .iter()
            .find(|v| !matches!(**v, "none" | "login" | "consent" | "select_account"))
        {
            return Err(redirect_error(
                "invalid_request",
                format!("prompt `{unknown}` is not supported"),
            ));
        }
        if values.contains(&"none") {
            if values.len() > 1 {
                return Err(redirect_error(
                    "invalid_request",
                    "prompt `none` cannot be combined",
                ));
            }
            prompt = Some("none".to_owned());
        } else {
            // `login` and `select_account` change behaviour; `consent` has nothing to show
            // because the platform's systems are first-party.
            let kept: Vec<&str> = values
                .iter()
                .copied()
                .filter(|v| matches!(*v, "login" | "select_account"))
                .collect();
            if !kept.is_empty() {
                prompt = Some(kept.join(" "));
            }
        }
    }

    let max_age = match param("max_age") {
        None => None,
        Some(text) => Some(
            text.parse::<i64>()
                .ok()
                .filter(|v| *v >= 0)
                .ok_or_else(|| {
                    redirect_error(
                        "invalid_request",
                        format!("max_age `{text}` is not a non-negative integer"),
                    )
                })?,
        ),
    };

    // An ID token we issued, possibly expired, naming the user the client expects.
    let hinted_sub = match param("id_token_hint") {
        None => None,
        Some(hint) => {
            let claims = keys
                .verify_jwt(hint)
                .map(|(_, claims)| claims)
                .filter(|claims| claims["iss"] == issuer)
                .ok_or_else(|| {
                    redirect_error(
                        "invalid_request",
                        "id_token_hint is not an ID token issued here",
                    )
                })?;
            claims["sub"].as_str().map(str::to_owned)
        }
    };

    let nonce = param("nonce").map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > 512)
        || params.values().any(|v| v.len() > MAX_PARAM_LEN)
    {
        return Err(redirect_error("invalid_request", "a parameter is too long"));
    }
    let claims_request = match param("claims") {
        None => None,
        Some(text) => Some(
            ClaimsRequest::parse(text)
                .map_err(|reason| redirect_error("invalid_request", reason))?,
        ),
    };
    // An essential `acr` in the claims parameter counts like `acr_values`, and a requested
    // `sub` like id_token_hint, so neither is met by the wrong authentication or user
    // (OpenID Connect Core §5.5.1).
    let acr_values = param("acr_values").map(str::to_owned).or_else(|| {
        claims_request
            .as_ref()
            .and_then(|request| request.essential_acr.clone())
    });
    let requested_sub = claims_request
        .as_ref()
        .and_then(|request| request.sub_value.clone());
    let hinted_sub = match (hinted_sub, requested_sub) {
        (Some(hinted), Some(requested)) if hinted != requested => {
            return Err(redirect_error(
                "invalid_request",
                "id_token_hint and claims.id_token.sub name different users",
            ));
        }
        (hinted, requested) => hinted.or(requested),
    };
    let claims = claims_request.map(|request| request.to_stored());
    Ok(ValidatedRequest {
        claims,
        acr_values,
        login_hint: param("login_hint").map(str::to_owned),
        ui_locales: param("ui_locales").map(str::to_owned),
        hinted_sub,
        scope: granted,
        nonce,
        code_challenge: code_challenge.to_owned(),
        prompt,
        max_age,
    })
}

async fn current_session(
    state: &SharedState,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<sessions::Model>, Error> {
    let Some(cookie) = session::cookie_value(headers) else {
        return Ok(None);
    };
    Ok(session::load(&state.db, &cookie, &state.session_limits(), now).await?)
}

/// Builds the authorization response URL with `iss` (RFC 9207) and `state`.
pub(crate) fn client_redirect_url(
    state: &SharedState,
    redirect_uri: &str,
    client_state: Option<&str>,
    outcome: Result<&str, RedirectError>,
) -> String {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return redirect_uri.to_owned();
    };
    {
        let mut query = url.query_pairs_mut();
        match &outcome {
            Ok(code) => {
                query.append_pair("code", code);
            }
            Err(error) => {
                query.append_pair("error", error.error);
                query.append_pair("error_description", &error.description);
            }
        }
        if let Some(client_state) = client_state {
            query.append_pair("state", client_state);
        }
        query.append_pair("iss", &state.config.server.issuer);
    }
    url.to_string()
}

fn redirect_to_client(
    state: &SharedState,
    redirect_uri: &str,
    client_state: Option<&str>,
    outcome: Result<&str, RedirectError>,
) -> Response {
    if let Err(error) = &outcome {
        tracing::info!(error = error.error, description = ?error.description, "authorization request rejected");
    }
    found(&client_redirect_url(
        state,
        redirect_uri,
        client_state,
        outcome,
    ))
}

pub fn found(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
