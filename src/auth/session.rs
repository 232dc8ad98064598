//! Browser sessions. One cookie, `unilogin_sid`, holds a random value; before sign-in it only
//! binds CSRF tokens, after sign-in its SHA-256 is the id of a row in `sessions`. Signing in
//! always issues a new value, so a value planted before sign-in never becomes a session.

use axum::http::{HeaderMap, HeaderValue, header};
use sea_orm::{DatabaseConnection, DbErr};

use crate::crypto::{self, CryptoError, sha256_b64};
use crate::store::sessions::{self, NewSession};

pub const COOKIE_NAME: &str = "unilogin_sid";
/// Cookie that ties pending authorization requests to the browser that made them. Unlike
/// `unilogin_sid` it keeps its value across sign-in.
pub const FLOW_COOKIE_NAME: &str = "unilogin_flow";

/// Sessions are written back at most this often, so page views do not each cost a write.
const TOUCH_INTERVAL_SECS: i64 = 60;

pub fn cookie_value(headers: &HeaderMap) -> Option<String> {
    read_cookie(headers, COOKIE_NAME)
}

pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

/// Builds a `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, and `Secure` on https issuers.
/// `max_age` None makes a browser-session cookie; Some(0) deletes it.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<i64>) -> HeaderValue {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub fn new_cookie_value() -> Result<String, CryptoError> {
    crypto::random_token()
}

pub struct SessionLimits {
    pub ttl_secs: i64,
    pub idle_timeout_secs: i64,
}

/// Loads the session behind a cookie value. Expired or idle sessions are deleted and give None.
pub async fn load(
    db: &DatabaseConnection,
    cookie_value: &str,
    limits: &SessionLimits,
    now: i64,
) -> Result<Option<sessions::Model>, DbErr> {
    let id = sha256_b64(cookie_value);
    let Some(session) = sessions::find(db, &id).await? else {
        return Ok(None);
    };

    if session.expires_at <= now || session.last_seen_at + limits.idle_timeout_secs <= now {
        sessions::delete(db, &id).await?;
        return Ok(None);
    }
    if now - session.last_seen_at >= TOUCH_INTERVAL_SECS {
        sessions::touch(db, &id, now).await?;
    }
    Ok(Some(session))
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Database(#[from] DbErr),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

pub struct SessionStart<'a> {
    pub account_id: i32,
    pub identity_id: Option<i32>,
    pub enterprise_id: Option<i32>,
    pub certificate_fingerprint: Option<&'a str>,
    pub state: &'a str,
    pub amr: &'a str,
    pub acr: &'a str,
    pub source_ip: &'a str,
}

/// Creates a session and returns the new cookie value with the stored row.
pub async fn create(
    db: &DatabaseConnection,
    start: SessionStart<'_>,
    limits: &SessionLimits,
    now: i64,
) -> Result<(String, sessions::Model), CreateError> {
    let cookie = new_cookie_value()?;
    let row = sessions::insert(
        db,
        NewSession {
            id: sha256_b64(&cookie),
            account_id: start.account_id,
            identity_id: start.identity_id,
            enterprise_id: start.enterprise_id,
            certificate_fingerprint: start.certificate_fingerprint,
            state: start.state,
            amr: start.amr,
            acr: start.acr,
            expires_at: now + limits.ttl_secs,
            source_ip: start.source_ip,
        },
        now,
    )
    .await?;
    Ok((cookie, row))
}

/// The `sid` claim: derived from the session row id, which is itself a hash of the cookie, so
/// the claim reveals nothing that opens the session.
pub fn session_id_claim(session_row_id: &str) -> String {
    sha256_b64(&format!("sid:{session_row_id}"))
}
