//! Staff sign-in with mobile phone, password and SMS code. Every mismatch gets the same
//! answer, so a caller cannot learn which one was wrong or whether the phone has an account.

use sea_orm::{DatabaseConnection, DbErr};

use super::password::{HashError, PasswordHasherPool};
use super::sms_code::{self, CodeCheck};
use crate::config::LoginConfig;
use crate::domain::phone::Phone;
use crate::store::{accounts, audit};

/// `amr` values (RFC 8176) for this method: password, SMS one-time code, and both together.
pub const AMR: &str = "pwd sms mfa";
/// Level of assurance for password plus SMS code; certificate sign-in ranks higher.
pub const ACR: &str = crate::domain::assurance::LOA_PASSWORD_SMS;

pub struct Credentials {
    pub phone: Phone,
    pub password: String,
    pub sms_code: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// Any mismatch of phone, password or code.
    BadCredentials,
    /// The account is locked until this Unix time.
    Locked { until: i64 },
    /// The old fund-system password was already moved over; the new sign-in methods apply.
    Migrated,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Database(#[from] DbErr),
    #[error(transparent)]
    Hash(#[from] HashError),
}

pub struct LoginContext<'a> {
    pub db: &'a DatabaseConnection,
    pub passwords: &'a PasswordHasherPool,
    pub login: &'a LoginConfig,
    pub sms_max_attempts: i32,
    pub source_ip: &'a str,
}

pub async fn authenticate(
    ctx: &LoginContext<'_>,
    credentials: Credentials,
    now: i64,
) -> Result<Result<accounts::Model, Failure>, LoginError> {
    let phone = &credentials.phone;

    // The SMS code is checked first. Only the phone's holder receives it, so guesses without
    // it cost no password hash, cannot lock someone else's account, and look the same for
    // registered and unregistered phones.
    let code = sms_code::check(
        ctx.db,
        phone,
        crate::providers::sms::Purpose::Login,
        &credentials.sms_code,
        ctx.sms_max_attempts,
        now,
    )
    .await?;
    let CodeCheck::Valid { id: code_id } = code else {
        let reason = code_failure_reason(&code);
        audit_failure(ctx, phone, reason).await?;
        tracing::warn!(phone = %phone, reason, "sign-in failed");
        return Ok(Err(Failure::BadCredentials));
    };

    // Codes are delivered only to account holders, so a valid code has an account; the check
    // stays for accounts deleted in between.
    let Some(account) = accounts::find_by_phone(ctx.db, phone.as_e164()).await? else {
        audit_failure(ctx, phone, "unknown phone").await?;
        return Ok(Err(Failure::BadCredentials));
    };
    if let Some(until) = account.locked_until.filter(|until| *until > now) {
        audit_failure(ctx, phone, "account locked").await?;
        tracing::warn!(phone = %phone, locked_until = until, "sign-in rejected: account locked");
        return Ok(Err(Failure::Locked { until }));
    }

    let password_ok = ctx
        .passwords
        .verify(credentials.password, Some(account.password_hash.clone()))
        .await?;
    if !password_ok {
        let locked = accounts::record_failure(
            ctx.db,
            &account,
            ctx.login.max_failures,
            ctx.login.lockout_secs,
            now,
        )
        .await?;
        audit_failure(ctx, phone, "password mismatch").await?;
        tracing::warn!(phone = %phone, reason = "password mismatch", locked, "sign-in failed");
        if locked {
            return Ok(Err(Failure::Locked {
                until: now + ctx.login.lockout_secs,
            }));
        }
        return Ok(Err(Failure::BadCredentials));
    }

    if !sms_code::consume(ctx.db, code_id, now).await? {
        audit_failure(ctx, phone, "sms code used concurrently").await?;
        return Ok(Err(Failure::BadCredentials));
    }
    accounts::record_success(ctx.db, account.id, now).await?;
    audit::append(
        ctx.db,
        audit::Event {
            actor: &format!("account:{}", account.id),
            action: "login.phone",
            target: &phone.masked(),
            result: "success",
            source_ip: ctx.source_ip,
            detail: "",
        },
        now,
    )
    .await?;
    tracing::info!(account_id = account.id, phone = %phone, "sign-in succeeded");
    Ok(Ok(account))
}

fn code_failure_reason(code: &CodeCheck) -> &'static str {
    match code {
        CodeCheck::Missing => "no sms code requested",
        CodeCheck::Expired => "sms code expired",
        CodeCheck::Used => "sms code already used",
        CodeCheck::AttemptsExhausted => "sms code attempts exhausted",
        CodeCheck::Mismatch => "sms code mismatch",
        CodeCheck::Valid { .. } => "valid",
    }
}

async fn audit_failure(ctx: &LoginContext<'_>, phone: &Phone, reason: &str) -> Result<(), DbErr> {
    audit::append(
        ctx.db,
        audit::Event {
            actor: "anonymous",
            action: "login.phone",
            target: &phone.masked(),
            result: "failure",
            source_ip: ctx.source_ip,
            detail: reason,
        },
        crate::clock::now(),
    )
    .await
}
