//! Staff real-name submission: the login password, the name as on the ID card, the phone
//! bound to that card and an SMS code sent to it. The carrier checks name and phone; a match
//! is stored for the enterprise administrator's review.

use sea_orm::DbErr;

use super::phone_login::{LoginContext, LoginError};
use super::sms_code::{self, CodeCheck};
use crate::domain::phone::Phone;
use crate::providers::realname::{Outcome, RealnameVerifier};
use crate::providers::sms::Purpose;
use crate::store::realname_submissions::{self, NewSubmission};
use crate::store::{accounts, audit, identities};

pub struct Submission {
    pub password: String,
    pub name: String,
    pub phone: Phone,
    pub sms_code: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// Stored and waiting for review; sign-in works until `review_deadline`.
    Submitted {
        review_deadline: i64,
    },
    BadPassword,
    Locked {
        until: i64,
    },
    BadCode,
    /// The phone belongs to another account.
    PhoneTaken,
    /// The carrier check did not match, or could not be made.
    Check(Outcome),
}

/// Checks and stores a submission for `identity` of `account`.
pub async fn submit(
    ctx: &LoginContext<'_>,
    verifier: &dyn RealnameVerifier,
    review_window_secs: i64,
    account: &accounts::Model,
    identity: &identities::Model,
    submission: Submission,
    now: i64,
) -> Result<SubmitOutcome, LoginError> {
    if let Some(until) = account.locked_until.filter(|until| *until > now) {
        return Ok(SubmitOutcome::Locked { until });
    }
    let password_ok = ctx
        .passwords
        .verify(submission.password, Some(account.password_hash.clone()))
        .await?;
    if !password_ok {
        let locked = accounts::record_failure(
            ctx.db,
            account,
            ctx.login.max_failures,
            ctx.login.lockout_secs,
            now,
        )
        .await?;
        audit_result(ctx, account, identity, "failure", "password mismatch", now).await?;
        if locked {
            return Ok(SubmitOutcome::Locked {
                until: now + ctx.login.lockout_secs,
            });
        }
        return Ok(SubmitOutcome::BadPassword);
    }

    let phone = &submission.phone;
    if let Some(owner) = accounts::find_by_phone(ctx.db, phone.as_e164()).await?
        && owner.id != account.id
    {
        audit_result(
            ctx,
            account,
            identity,
            "failure",
            "phone of another account",
            now,
        )
        .await?;
        return Ok(SubmitOutcome::PhoneTaken);
    }
    let code = sms_code::check(
        ctx.db,
        phone,
        Purpose::Realname,
        &submission.sms_code,
        ctx.sms_max_attempts,
        now,
    )
    .await?;
    let CodeCheck::Valid { id: code_id } = code else {
        audit_result(ctx, account, identity, "failure", "sms code invalid", now).await?;
        return Ok(SubmitOutcome::BadCode);
    };
    if !sms_code::consume(ctx.db, code_id, now).await? {
        audit_result(
            ctx,
            account,
            identity,
            "failure",
            "sms code already used",
            now,
        )
        .await?;
        return Ok(SubmitOutcome::BadCode);
    }

    let verification = verifier.verify_phone(&submission.name, phone).await;
    tracing::info!(
        account_id = account.id,
        identity_id = identity.id,
        phone = %phone,
        outcome = verification.outcome.as_str(),
        request_id = %verification.request_id,
        latency_ms = verification.latency_ms,
        detail = %verification.detail,
        "real-name check"
    );
    if verification.outcome != Outcome::Match {
        let detail = verification.audit_detail();
        audit_result(ctx, account, identity, "failure", &detail, now).await?;
        return Ok(SubmitOutcome::Check(verification.outcome));
    }

    let review_deadline = now + review_window_secs;
    store(
        ctx,
        account,
        identity,
        &submission.name,
        phone,
        &verification.request_id,
        review_deadline,
        now,
    )
    .await?;
    let detail = format!("submitted for review (request {})", verification.request_id);
    audit_result(ctx, account, identity, "success", &detail, now).await?;
    Ok(SubmitOutcome::Submitted { review_deadline })
}

#[allow(clippy::too_many_arguments)]
async fn store(
    ctx: &LoginContext<'_>,
    account: &accounts::Model,
    identity: &identities::Model,
    name: &str,
    phone: &Phone,
    provider_request_id: &str,
    review_deadline: i64,
    now: i64,
) -> Result<(), DbErr> {
    use sea_orm::TransactionTrait;
    let txn = ctx.db.begin().await?;
    realname_submissions::insert(
        &txn,
        NewSubmission {
            identity_id: identity.id,
            account_id: account.id,
            enterprise_id: identity.enterprise_id,
            name,
            phone: phone.as_e164(),
            provider_request_id,
            review_deadline,
        },
        now,
    )
    .await?;
    identities::set_status(&txn, identity.id, identities::STATUS_PENDING_REVIEW, now).await?;
    txn.commit().await
}

async fn audit_result(
    ctx: &LoginContext<'_>,
    account: &accounts::Model,
    identity: &identities::Model,
    result: &str,
    detail: &str,
    now: i64,
) -> Result<(), DbErr> {
    audit::append(
        ctx.db,
        audit::Event {
            actor: &format!("account:{}", account.id),
            action: "realname.submit",
            target: &format!("identity:{}", identity.id),
            result,
            source_ip: ctx.source_ip,
            detail,
        },
        now,
    )
    .await
}
