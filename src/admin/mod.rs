//! Platform and enterprise administration: the stock-account import, and the enterprise
//! administrator's operations on staff (operators and real-name reviews) that the console
//! pages and the JSON API share.

pub mod api;
pub mod applications;
pub mod import;
pub mod operators;
pub mod platform;
pub mod provisioning;
pub mod reviews;

use axum::http::StatusCode;
use sea_orm::DbErr;
use serde::Serialize;

use crate::app::AppState;
use crate::auth::session;
use crate::providers::realname::Outcome;
use crate::store::{audit, enterprises, identities, sessions};

/// An enterprise administrator signed in with the enterprise certificate. Every operation
/// is limited to this enterprise.
#[derive(Debug, Clone)]
pub struct AdminSession {
    pub session: sessions::Model,
    pub enterprise: enterprises::Model,
    /// The administrator identity acting.
    pub identity: identities::Model,
    /// SHA-256 of the certificate that started the session, lowercase hex.
    pub fingerprint: String,
    pub source_ip: String,
}

/// Loads the administrator behind a session cookie. Sessions that were not started with a
/// certificate, or whose identity is no longer an active administrator of the certificate's
/// enterprise, give None.
pub async fn load_admin(
    state: &AppState,
    cookie: Option<&str>,
    source_ip: &str,
) -> Result<Option<AdminSession>, DbErr> {
    let Some(cookie) = cookie else {
        return Ok(None);
    };
    let now = state.clock.now();
    let Some(session) = session::load(&state.db, cookie, &state.session_limits(), now).await?
    else {
        return Ok(None);
    };
    let (Some(enterprise_id), Some(fingerprint), Some(identity_id)) = (
        session.enterprise_id,
        session.certificate_fingerprint.clone(),
        session.identity_id,
    ) else {
        return Ok(None);
    };
    if session.state != sessions::STATE_ACTIVE {
        return Ok(None);
    }
    let Some(identity) = identities::find_by_id(&state.db, identity_id)
        .await?
        .filter(|i| {
            i.is_admin
                && i.enterprise_id == enterprise_id
                && i.account_id == session.account_id
                && i.status == identities::STATUS_ACTIVE
                && i.deleted_at.is_none()
        })
    else {
        return Ok(None);
    };
    let Some(enterprise) = enterprises::find_by_id(&state.db, enterprise_id).await? else {
        return Ok(None);
    };
    Ok(Some(AdminSession {
        session,
        enterprise,
        identity,
        fingerprint,
        source_ip: source_ip.to_owned(),
    }))
}

impl AdminSession {
    /// Appends an audit event with the administrator's certificate fingerprint as actor.
    pub async fn audit(
        &self,
        state: &AppState,
        action: &str,
        target: &str,
        result: &str,
        detail: &str,
    ) -> Result<(), DbErr> {
        audit::append(
            &state.db,
            audit::Event {
                actor: &format!("certificate:{}", self.fingerprint),
                action,
                target,
                result,
                source_ip: &self.source_ip,
                detail,
            },
            state.clock.now(),
        )
        .await
    }
}

/// Failure of an administrator's operation. `message_key` names the catalogue message that
/// the pages and the API show.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("`{field}` is invalid")]
    Invalid {
        field: &'static str,
        message_key: &'static str,
    },
    #[error("operator not found in this enterprise")]
    NotFound,
    #[error("real-name submission not found in this enterprise")]
    SubmissionNotFound,
    #[error("real-name check: {}", .0.as_str())]
    Realname(Outcome),
    #[error("the phone already holds identity type `{held}`, which excludes the new one")]
    MutuallyExclusive { held: String },
    #[error("the phone already holds this identity in this enterprise")]
    DuplicateIdentity,
    #[error("the phone belongs to another person")]
    PhoneTaken,
    #[error("the submission was already reviewed")]
    AlreadyReviewed,
    #[error("{system_name} already has the identity type with the same USCC or organization code")]
    DuplicateEnterprise {
        system_name: String,
        /// The type's Chinese and English names.
        identity_type_names: (String, String),
    },
    #[error("the administrator holds identity type `{held}`, which excludes the applied one")]
    ApplicationExclusive { held: String },
    #[error("the administrator already holds this system and identity type")]
    AlreadyHeld,
    #[error("operator ID or password wrong, or not an administrator of this system and type")]
    BindingFailed,
    #[error("too many failed attempts; locked until {until}")]
    Locked { until: i64 },
    #[error("a reason is required to reject a submission")]
    ReasonRequired,
    #[error(transparent)]
    Database(#[from] DbErr),
    #[error("{0}")]
    Internal(String),
}

impl AdminError {
    pub fn message_key(&self) -> &'static str {
        match self {
            AdminError::Invalid { message_key, .. } => message_key,
            AdminError::NotFound => "operator_not_found",
            AdminError::SubmissionNotFound => "submission_not_found",
            AdminError::Realname(outcome) => realname_failure(*outcome).1,
            AdminError::MutuallyExclusive { .. } => "identity_mutually_exclusive",
            AdminError::DuplicateIdentity => "identity_duplicate",
            AdminError::PhoneTaken => "phone_taken",
            AdminError::AlreadyReviewed => "review_already_done",
            AdminError::DuplicateEnterprise { .. } => "application_duplicate",
            AdminError::ApplicationExclusive { .. } => "application_mutually_exclusive",
            AdminError::BindingFailed => "application_binding_failed",
            AdminError::AlreadyHeld => "application_already_held",
            AdminError::Locked { .. } => "application_binding_locked",
            AdminError::ReasonRequired => "review_reason_required",
            AdminError::Database(_) | AdminError::Internal(_) => "internal_error",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AdminError::Invalid { .. } | AdminError::ReasonRequired => StatusCode::BAD_REQUEST,
            AdminError::NotFound | AdminError::SubmissionNotFound => StatusCode::NOT_FOUND,
            AdminError::Realname(outcome) => realname_failure(*outcome).0,
            AdminError::MutuallyExclusive { .. }
            | AdminError::DuplicateIdentity
            | AdminError::PhoneTaken
            | AdminError::AlreadyReviewed
            | AdminError::DuplicateEnterprise { .. }
            | AdminError::AlreadyHeld
            | AdminError::ApplicationExclusive { .. } => StatusCode::CONFLICT,
            AdminError::BindingFailed => StatusCode::UNAUTHORIZED,
            AdminError::Locked { .. } => StatusCode::TOO_MANY_REQUESTS,
            AdminError::Database(_) | AdminError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Builds the user-facing message from the catalogue of the page's language, filling in
    /// the system and type names that a duplicate refers to.
    pub fn message(&self, catalogue: impl Fn(&str) -> String, english: bool) -> String {
        let text = catalogue(self.message_key());
        match self {
            AdminError::DuplicateEnterprise {
                system_name,
                identity_type_names: (zh, en),
            } => text
                .replace("{system}", system_name)
                .replace("{type}", if english { en } else { zh }),
            AdminError::ApplicationExclusive { held } => text.replace("{held}", held),
            _ => text,
        }
    }

    /// Returns the field an `Invalid` error is about, for the API's error body.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            AdminError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// One page of a list.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
}

pub const DEFAULT_PER_PAGE: u64 = 20;
/// Highest page number served; larger numbers would overflow the row offset.
pub const MAX_PAGE: u64 = 1_000_000;
pub const MAX_PER_PAGE: u64 = 100;

/// Maps a real-name check that did not match to its HTTP status and message key.
pub fn realname_failure(outcome: Outcome) -> (StatusCode, &'static str) {
    match outcome {
        Outcome::Match | Outcome::Mismatch => {
            (StatusCode::UNPROCESSABLE_ENTITY, "realname_mismatch")
        }
        Outcome::NoRecord => (StatusCode::UNPROCESSABLE_ENTITY, "realname_no_record"),
        Outcome::InvalidInput => (StatusCode::BAD_REQUEST, "realname_invalid_input"),
        Outcome::ProviderError => (StatusCode::SERVICE_UNAVAILABLE, "realname_unavailable"),
        Outcome::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "realname_unavailable"),
    }
}
