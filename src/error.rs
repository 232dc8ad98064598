//! One error type for request handling. Pages render as HTML in the caller's language (the
//! rendering happens in `web::error_pages`, which has the templates); OAuth endpoints get the
//! JSON error of RFC 6749 §5.2.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::DbErr;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A page-level error shown to the user: `message_key` in the theme catalogue, `detail`
    /// appended verbatim (for example the offending value).
    #[error("{message_key}: {detail}")]
    Page {
        status: StatusCode,
        message_key: &'static str,
        detail: String,
    },
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn page(status: StatusCode, message_key: &'static str, detail: impl Into<String>) -> Error {
        Error::Page {
            status,
            message_key,
            detail: detail.into(),
        }
    }

    pub fn internal(error: impl std::fmt::Display) -> Error {
        Error::Internal(error.to_string())
    }
}

/// Carried in response extensions to the middleware that renders the HTML page.
#[derive(Debug, Clone)]
pub struct PageError {
    pub message_key: &'static str,
    pub detail: String,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, message_key, detail) = match self {
            Error::OAuth(error) => return error.into_response(),
            Error::Page {
                status,
                message_key,
                detail,
            } => (status, message_key, detail),
            Error::Database(error) => {
                tracing::error!(error = %error, "database error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    String::new(),
                )
            }
            Error::Internal(error) => {
                tracing::error!(error = %error, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    String::new(),
                )
            }
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(PageError {
            message_key,
            detail,
        });
        response
    }
}

/// An OAuth 2.0 error response (RFC 6749 §5.2, RFC 6750 §3).
#[derive(Debug, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    /// Set on 401 responses: the `WWW-Authenticate` challenge.
    pub www_authenticate: Option<String>,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
            www_authenticate: None,
        }
    }

    pub fn invalid_client(description: impl Into<String>) -> OAuthError {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: description.into(),
            www_authenticate: Some(r#"Basic realm="unilogin", charset="UTF-8""#.into()),
        }
    }

    pub fn invalid_token(description: impl Into<String>) -> OAuthError {
        let description = description.into();
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_token",
            www_authenticate: Some(format!(
                r#"Bearer realm="unilogin", error="invalid_token", error_description="{}""#,
                description.replace('"', "'")
            )),
            description,
        }
    }

    pub fn server_error(error: impl std::fmt::Display) -> OAuthError {
        tracing::error!(error = %error, "internal error at an OAuth endpoint");
        OAuthError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "the server could not complete the request; try again later".into(),
            www_authenticate: None,
        }
    }
}

impl From<DbErr> for OAuthError {
    fn from(error: DbErr) -> OAuthError {
        OAuthError::server_error(error)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(challenge) = self
            .www_authenticate
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}
