//! One-time SMS codes: 6 digits from the CSPRNG, stored as SHA-256 hashes, valid for a
//! configured time, single use, and dead after `max_attempts` wrong tries.

use sea_orm::{DatabaseConnection, DbErr};

use crate::config::SmsConfig;
use crate::crypto::{self, constant_time_eq, sha256_b64};
use crate::domain::phone::Phone;
use crate::providers::sms::{Purpose, SmsError, SmsMessage, SmsSender};
use crate::store::sms_codes::{self, NewCode};

const CODE_DIGITS: usize = 6;
const DAY_SECS: i64 = 86_400;
const HOUR_SECS: i64 = 3_600;

#[derive(Debug, PartialEq, Eq)]
pub enum SendOutcome {
    /// Sent, or, for a phone without an account, accepted without sending.
    Accepted,
    /// A code went to this phone less than the resend interval ago.
    TooSoon { retry_after_secs: i64 },
    /// The phone reached its daily limit.
    DailyLimit,
    /// The source address reached its hourly limit.
    AddressLimit,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Database(#[from] DbErr),
    #[error(transparent)]
    Sms(#[from] SmsError),
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
}

pub struct SendRequest<'a> {
    pub phone: &'a Phone,
    /// Login codes and real-name codes are separate: one never answers for the other.
    pub purpose: Purpose,
    /// Whether an account exists. A code is recorded either way so that limits and responses
    /// look the same, but only account holders receive a message.
    pub deliver: bool,
    pub source_ip: &'a str,
}

pub async fn send_code(
    db: &DatabaseConnection,
    sender: &dyn SmsSender,
    config: &SmsConfig,
    request: SendRequest<'_>,
    now: i64,
) -> Result<SendOutcome, SendError> {
    let phone = request.phone.as_e164();
    if let Some(latest) = sms_codes::latest(db, phone, request.purpose.as_str()).await? {
        let next_allowed = latest.created_at + config.resend_interval_secs;
        if next_allowed > now {
            return Ok(SendOutcome::TooSoon {
                retry_after_secs: next_allowed - now,
            });
        }
    }
    if sms_codes::count_since(db, phone, now - DAY_SECS).await? >= config.daily_limit_per_phone {
        return Ok(SendOutcome::DailyLimit);
    }
    if sms_codes::count_from_address_since(db, request.source_ip, now - HOUR_SECS).await?
        >= config.hourly_limit_per_address
    {
        return Ok(SendOutcome::AddressLimit);
    }

    let code = crypto::random_digits(CODE_DIGITS)?;
    let new_code = NewCode {
        phone,
        purpose: request.purpose.as_str(),
        code_hash: sha256_b64(&code),
        expires_at: now + config.code_ttl_secs,
        source_ip: request.source_ip,
    };
    sms_codes::insert(db, new_code, now).await?;

    if request.deliver {
        let minutes = (config.code_ttl_secs + 59) / 60;
        let message = SmsMessage {
            phone: request.phone,
            purpose: request.purpose,
            text: format!(
                "{}您的{}验证码为{code}，{minutes}分钟内有效。请勿泄露给他人。",
                config.signature,
                if request.purpose == Purpose::Realname {
                    "实名认证"
                } else {
                    "登录"
                },
            ),
            code: Some(&code),
        };
        sender.send(&message).await?;
    }
    Ok(SendOutcome::Accepted)
}

#[derive(Debug, PartialEq, Eq)]
pub enum CodeCheck {
    /// The code matches; the id is passed to `consume` once the rest of the sign-in passes.
    Valid {
        id: i32,
    },
    Missing,
    Expired,
    Used,
    AttemptsExhausted,
    Mismatch,
}

/// Checks the latest login code of a phone. Every check takes one of the code's tries.
pub async fn check(
    db: &DatabaseConnection,
    phone: &Phone,
    purpose: Purpose,
    submitted: &str,
    max_attempts: i32,
    now: i64,
) -> Result<CodeCheck, DbErr> {
    let Some(code) = sms_codes::latest(db, phone.as_e164(), purpose.as_str()).await? else {
        return Ok(CodeCheck::Missing);
    };
    if code.consumed_at.is_some() {
        return Ok(CodeCheck::Used);
    }
    if code.expires_at <= now {
        return Ok(CodeCheck::Expired);
    }
    if !sms_codes::take_attempt(db, code.id, max_attempts).await? {
        return Ok(CodeCheck::AttemptsExhausted);
    }
    if !constant_time_eq(
        sha256_b64(submitted.trim()).as_bytes(),
        code.code_hash.as_bytes(),
    ) {
        return Ok(CodeCheck::Mismatch);
    }
    Ok(CodeCheck::Valid { id: code.id })
}

pub async fn consume(db: &DatabaseConnection, id: i32, now: i64) -> Result<bool, DbErr> {
    sms_codes::consume(db, id, now).await
}
