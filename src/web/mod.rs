//! Hosted pages: sign-in, password change, the demo relying party, and HTML error pages.

pub mod admin;
pub mod applications;
pub mod binding;
pub mod certificate;
pub mod demo;
pub mod identity;
pub mod login;
pub mod logout;
pub mod password;
pub mod realname;
pub mod stock;
pub mod templates;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use crate::app::SharedState;
use crate::auth::{csrf, session};
use crate::error::{Error, PageError};
use templates::Lang;

const LANG_COOKIE: &str = "unilogin_lang";

/// Request details every page handler needs: language, client address and browser cookies.
#[derive(Clone)]
pub struct PageContext {
    pub lang: Lang,
    /// Set when the query chose a language, so the choice is kept in a cookie.
    lang_chosen: bool,
    /// Set when the query or the language cookie chose the language.
    lang_explicit: bool,
    pub uri: Uri,
    pub cookie: Option<String>,
    /// The `unilogin_flow` cookie that ties authorization requests to this browser.
    pub flow: Option<String>,
    /// Set when `cookie` was created for this response and still has to be sent.
    cookie_is_new: bool,
    pub source_ip: String,
    /// The TCP peer, which for proxied requests is the proxy.
    pub peer_ip: Option<std::net::IpAddr>,
}

impl FromRequestParts<SharedState> for PageContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        Ok(PageContext::from_parts(
            parts,
            &state.config.certificate.trusted_proxies,
        ))
    }
}

/// Returns the client's address: the TCP peer, or, when the peer is a trusted proxy, the rightmost
/// `X-Forwarded-For` address that is not itself a trusted proxy.
pub fn client_address(parts: &Parts, trusted_proxies: &[ipnet::IpNet]) -> String {
    let Some(peer) = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
    else {
        return String::new();
    };
    let trusted = |ip: &std::net::IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return peer.to_string();
    }
    let forwarded = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|item| item.trim().parse::<std::net::IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted(ip))
        .unwrap_or(peer)
        .to_string()
}

impl PageContext {
    fn from_parts(parts: &Parts, trusted_proxies: &[ipnet::IpNet]) -> PageContext {
        let query_lang = parts.uri.query().and_then(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(key, _)| key == "lang")
                .and_then(|(_, value)| Lang::parse(&value))
        });
        let cookie_lang =
            session::read_cookie(&parts.headers, LANG_COOKIE).and_then(|v| Lang::parse(&v));
        let accept = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let lang = query_lang
            .or(cookie_lang)
            .unwrap_or_else(|| Lang::from_accept_language(accept));
        let source_ip = client_address(parts, trusted_proxies);
        PageContext {
            lang,
            lang_chosen: query_lang.is_some(),
            lang_explicit: query_lang.is_some() || cookie_lang.is_some(),
            uri: parts.uri.clone(),
            cookie: session::cookie_value(&parts.headers),
            flow: session::read_cookie(&parts.headers, session::FLOW_COOKIE_NAME),
            cookie_is_new: false,
            source_ip,
            peer_ip: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip()),
        }
    }

    /// Returns the browser cookie, creating one (sent with the rendered page) when the
    /// browser has none, for values that must be bound to it before rendering.
    pub fn ensure_cookie(&mut self) -> Result<String, Error> {
        if let Some(cookie) = &self.cookie {
            return Ok(cookie.clone());
        }
        let cookie = session::new_cookie_value().map_err(Error::internal)?;
        self.cookie = Some(cookie.clone());
        self.cookie_is_new = true;
        Ok(cookie)
    }

    /// Uses the first supported language of an authorization request's `ui_locales`, unless
    /// the user chose a language on the page.
    pub fn apply_ui_locales(&mut self, ui_locales: &str) {
        if self.lang_explicit {
            return;
        }
        if let Some(lang) = ui_locales.split(' ').find_map(Lang::parse) {
            self.lang = lang;
        }
    }

    pub fn message(&self, state: &SharedState, key: &str) -> String {
        state.templates.message(self.lang, key)
    }

    /// Builds the link to the same page in the other language. The link goes to the page's canonical GET path
    /// (a page rendered after a form post has none of its own) and keeps `request_id`.
    fn lang_switch_url(&self, template: &str, context: &serde_json::Value) -> String {
        let path = match template {
            "login.html" => "/login",
            "stock_login.html" => "/login/stock",
            "password_change.html" => "/password/change",
            "certificate_login.html" | "binding.html" => "/login/certificate",
            "select_identity.html" => "/login/select-identity",
            "realname.html" => "/realname",
            "admin_operators.html" | "admin_operator.html" | "admin_operator_new.html" => {
                "/admin/operators"
            }
            "admin_reviews.html" => "/admin/reviews",
            "admin_applications.html" => "/admin/applications",
            "demo.html" => "/demo",
            "logout.html" => "/logout",
            _ => "/",
        };
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(request_id) = context["request_id"].as_str().filter(|id| !id.is_empty()) {
            query.append_pair("request_id", request_id);
        }
        query.append_pair("lang", self.lang.other().as_str());
        format!("{path}?{}", query.finish())
    }
}

/// Renders a page with the catalogue, language and a CSRF token bound to the browser cookie,
/// creating the cookie when the browser has none.
pub fn render(
    state: &SharedState,
    page: &PageContext,
    status: StatusCode,
    template: &str,
    mut context: serde_json::Value,
) -> Response {
    let (cookie, new_cookie) = match &page.cookie {
        Some(cookie) => (cookie.clone(), page.cookie_is_new),
        None => match session::new_cookie_value() {
            Ok(cookie) => (cookie, true),
            Err(error) => return Error::internal(error).into_response(),
        },
    };
    context["t"] = json!(state.templates.catalogue(page.lang));
    context["lang"] = json!(page.lang.as_str());
    context["lang_switch_url"] = json!(page.lang_switch_url(template, &context));
    context["csrf_token"] = json!(csrf::token(&state.csrf_key, &cookie));

    let html = match state.templates.render(template, &context) {
        Ok(html) => html,
        Err(error) => {
            tracing::error!(template, error = %error, "template rendering failed");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "template rendering failed",
            )
                .into_response();
        }
    };
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let secure = state.config.issuer_is_https();
    if new_cookie {
        headers.append(
            header::SET_COOKIE,
            session::set_cookie(session::COOKIE_NAME, &cookie, secure, None),
        );
    }
    if page.lang_chosen {
        let max_age = Some(365 * 86_400);
        headers.append(
            header::SET_COOKIE,
            session::set_cookie(LANG_COOKIE, page.lang.as_str(), secure, max_age),
        );
    }
    response
}

/// Checks the CSRF token of a form post; a failure is a security event.
pub fn check_csrf(state: &SharedState, page: &PageContext, submitted: &str) -> Result<(), Error> {
    if csrf::verify(&state.csrf_key, page.cookie.as_deref(), submitted) {
        return Ok(());
    }
    tracing::warn!(path = page.uri.path(), source_ip = ?page.source_ip, "CSRF token check failed");
    Err(Error::page(StatusCode::FORBIDDEN, "csrf_invalid", ""))
}

/// Parses a urlencoded form body; malformed bodies and repeated fields are a 400 page.
pub fn parse_form<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_urlencoded::from_bytes(body).map_err(|error| form_error(&error, "form_invalid"))
}

/// The 400 page for a form that did not parse: repeated fields get their own message, and
/// other problems (such as unknown fields) `other_key`.
pub fn form_error(error: &serde_urlencoded::de::Error, other_key: &'static str) -> Error {
    let detail = error.to_string();
    let key = if detail.contains("duplicate field") {
        "invalid_request_duplicate"
    } else {
        other_key
    };
    Error::page(StatusCode::BAD_REQUEST, key, detail)
}

/// Renders `Error::Page` responses (and internal errors) as the themed error page.
pub async fn error_pages(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let page = PageContext::from_parts(&parts, &state.config.certificate.trusted_proxies);
    let response = next.run(Request::from_parts(parts, body)).await;

    let error = match response.extensions().get::<PageError>().cloned() {
        Some(error) => error,
        // Rejections from axum and tower (wrong method, body too large, malformed query)
        // come as plain text. Pages show them in the theme like every other error.
        None if is_plain_rejection(&response) => PageError {
            message_key: match response.status() {
                StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
                StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
                _ => "invalid_request",
            },
            detail: String::new(),
        },
        None => return response,
    };
    let message = page.message(&state, error.message_key);
    // Console pages point back to the console instead of to the relying party.
    let console = page.uri.path().starts_with("/admin");
    let context = json!({ "message": message, "detail": error.detail, "console": console });
    render(&state, &page, response.status(), "error.html", context)
}

fn is_plain_rejection(response: &Response) -> bool {
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    plain
        && (status == StatusCode::METHOD_NOT_ALLOWED
            || status == StatusCode::PAYLOAD_TOO_LARGE
            || status == StatusCode::BAD_REQUEST)
}

pub async fn not_found() -> Error {
    Error::page(StatusCode::NOT_FOUND, "not_found", "")
}

/// Serves an embedded static file, cacheable for an hour.
fn static_file(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

pub async fn style_css() -> Response {
    static_file(templates::STYLE_CSS, "text/css; charset=utf-8")
}

pub async fn certificate_js() -> Response {
    static_file(templates::CERTIFICATE_JS, "text/javascript; charset=utf-8")
}

pub async fn login_js() -> Response {
    static_file(templates::LOGIN_JS, "text/javascript; charset=utf-8")
}

/// Builds the context for the sign-in procedures, with the client address of this request.
pub fn login_context<'a>(
    state: &'a SharedState,
    page: &'a PageContext,
) -> crate::auth::phone_login::LoginContext<'a> {
    crate::auth::phone_login::LoginContext {
        db: &state.db,
        passwords: &state.passwords,
        login: &state.config.login,
        sms_max_attempts: state.config.sms.max_attempts,
        source_ip: &page.source_ip,
    }
}

pub async fn index(State(state): State<SharedState>, page: PageContext) -> Result<Response, Error> {
    let now = state.clock.now();
    let mut account_name = None;
    let mut systems = Vec::new();
    let mut console = false;
    if let Some(cookie) = &page.cookie
        && let Some(active) = session::load(&state.db, cookie, &state.session_limits(), now).await?
        && active.state != crate::store::sessions::STATE_PASSWORD_CHANGE
    {
        let account = crate::store::accounts::find_by_id(&state.db, active.account_id).await?;
        account_name = account.map(|a| crate::domain::mask::name(&a.name));
        console = active.certificate_fingerprint.is_some();
        systems = portal_systems(&state, &page, &active).await?;
    }
    let context = json!({
        "account_name": account_name,
        "demo": state.demo_enabled,
        "systems": systems,
        "console": console,
    });
    Ok(render(&state, &page, StatusCode::OK, "index.html", context))
}

/// The systems where the signed-in user holds identities, each with the link that starts
/// its sign-in: the system's `initiate_login_uri` with `iss` and `target_link_uri`
/// (OIDC Core §4), or its home page.
async fn portal_systems(
    state: &SharedState,
    page: &PageContext,
    session: &crate::store::sessions::Model,
) -> Result<Vec<serde_json::Value>, Error> {
    use crate::auth::identity_choice;
    use crate::domain::identity::RealnameStanding;

    let identities = identity_choice::candidates(&state.db, session, None).await?;
    let english = page.lang == templates::Lang::En;
    let mut rows: Vec<serde_json::Value> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for identity in &identities {
        if !seen.insert(identity.system_id.clone()) {
            continue;
        }
        let Some(system) =
            crate::store::systems::find_by_client_id(&state.db, &identity.system_id).await?
        else {
            continue;
        };
        let link = match (&system.initiate_login_uri, &system.home_uri) {
            (Some(initiate), _) => url::Url::parse(initiate).ok().map(|mut url| {
                let target = system.home_uri.clone().unwrap_or_else(|| initiate.clone());
                url.query_pairs_mut()
                    .append_pair("iss", &state.config.server.issuer)
                    .append_pair("target_link_uri", &target);
                url.to_string()
            }),
            (None, Some(home)) => Some(home.clone()),
            (None, None) => None,
        };
        let (standing, _) =
            identity_choice::standing(&state.db, identity, state.clock.now()).await?;
        let needs_realname = matches!(
            standing,
            RealnameStanding::Required | RealnameStanding::Rejected
        );
        let types: Vec<&str> = identities
            .iter()
            .filter(|i| i.system_id == identity.system_id)
            .map(|i| {
                state
                    .config
                    .identities
                    .display_name(&i.identity_type, english)
            })
            .collect();
        rows.push(json!({
            "name": system.name,
            "link": link,
            "identity_types": types.join("、"),
            "needs_realname": needs_realname,
        }));
    }
    Ok(rows)
}
