//! Sign-in of stock operators with their old operator ID and password. It works once: the
//! first success moves the password to argon2id on the account, and from then on the
//! operator signs in by phone (staff) or certificate (administrators).

use sea_orm::{DatabaseConnection, DbErr};

use super::legacy_password::{self, Scheme};
use super::phone_login::{Failure, LoginContext, LoginError};
use crate::store::{accounts, audit, identities, legacy_credentials};

/// `amr` for the old operator password alone.
pub const AMR: &str = "pwd";
/// Level of assurance of a single password: below phone sign-in.
pub const ACR: &str = crate::domain::assurance::LOA_PASSWORD;

/// An imported operator with its identity and account.
pub struct StockOperator {
    pub credential: legacy_credentials::Model,
    pub identity: identities::Model,
    pub account: accounts::Model,
}

/// Finds the operator behind an operator ID as typed; anything not a known ID gives None.
pub async fn find_operator(
    db: &DatabaseConnection,
    operator_id: &str,
) -> Result<Option<StockOperator>, DbErr> {
    let Ok(operator_id) = operator_id.trim().parse::<i64>() else {
        return Ok(None);
    };
    let Some(credential) = legacy_credentials::find(db, operator_id).await? else {
        return Ok(None);
    };
    let Some(identity) = identities::find_by_id(db, credential.identity_id).await? else {
        return Ok(None);
    };
    let Some(account) = accounts::find_by_id(db, identity.account_id).await? else {
        return Ok(None);
    };
    Ok(Some(StockOperator {
        credential,
        identity,
        account,
    }))
}

/// Checks a password against the operator's old hash, or against the argon2id hash once it
/// was moved over. Changes nothing; `None` spends the time of a check for an unknown ID.
pub async fn password_matches(
    ctx: &LoginContext<'_>,
    operator: Option<&StockOperator>,
    password: String,
) -> Result<bool, LoginError> {
    // NOTE: unknown IDs spend one argon2 check, while old salted SHA-256 hashes are checked
    // faster, so response times still hint at which operator IDs exist.
    let Some(operator) = operator else {
        ctx.passwords.verify(password, None).await?;
        return Ok(false);
    };
    if operator.credential.migrated_at.is_some() {
        return Ok(ctx
            .passwords
            .verify(password, Some(operator.account.password_hash.clone()))
            .await?);
    }
    let scheme = Scheme::parse(&operator.credential.scheme);
    let stored = operator.credential.password_hash.clone();
    Ok(ctx
        .passwords
        .run(move || {
            scheme.is_some_and(|scheme| legacy_password::verify(scheme, &stored, &password))
        })
        .await?)
}

/// Stores a proven old password as argon2id and marks the old hash used.
pub async fn migrate(
    ctx: &LoginContext<'_>,
    operator: &StockOperator,
    password: String,
    now: i64,
) -> Result<(), LoginError> {
    if operator.credential.migrated_at.is_some() {
        return Ok(());
    }
    let hash = ctx.passwords.hash(password).await?;
    accounts::set_password(ctx.db, operator.account.id, hash, now).await?;
    legacy_credentials::mark_migrated(ctx.db, operator.credential.operator_id, now).await?;
    tracing::info!(
        operator_id = operator.credential.operator_id,
        "old fund-system password moved to argon2id"
    );
    Ok(())
}

pub async fn authenticate(
    ctx: &LoginContext<'_>,
    operator_id: &str,
    password: String,
    now: i64,
) -> Result<Result<StockOperator, Failure>, LoginError> {
    let operator = find_operator(ctx.db, operator_id).await?;
    if let Some(until) = operator
        .as_ref()
        .and_then(|o| o.account.locked_until)
        .filter(|until| *until > now)
    {
        audit_failure(ctx, operator_id, "account locked").await?;
        return Ok(Err(Failure::Locked { until }));
    }

    let matches = password_matches(ctx, operator.as_ref(), password.clone()).await?;
    let Some(operator) = operator else {
        audit_failure(ctx, operator_id, "unknown operator_id").await?;
        return Ok(Err(Failure::BadCredentials));
    };
    if !matches || operator.identity.status != identities::STATUS_ACTIVE {
        let reason = if matches {
            "identity not active"
        } else {
            "password mismatch"
        };
        let locked = accounts::record_failure(
            ctx.db,
            &operator.account,
            ctx.login.max_failures,
            ctx.login.lockout_secs,
            now,
        )
        .await?;
        audit_failure(ctx, operator_id, reason).await?;
        tracing::warn!(operator_id, reason, locked, "stock sign-in failed");
        if locked {
            return Ok(Err(Failure::Locked {
                until: now + ctx.login.lockout_secs,
            }));
        }
        return Ok(Err(Failure::BadCredentials));
    }
    if operator.credential.migrated_at.is_some() {
        audit_failure(ctx, operator_id, "already migrated").await?;
        return Ok(Err(Failure::Migrated));
    }

    migrate(ctx, &operator, password, now).await?;
    accounts::record_success(ctx.db, operator.account.id, now).await?;
    audit::append(
        ctx.db,
        audit::Event {
            actor: &format!("account:{}", operator.account.id),
            action: "login.stock",
            target: &format!("operator:{}", operator.credential.operator_id),
            result: "success",
            source_ip: ctx.source_ip,
            detail: "password rehashed to argon2id",
        },
        now,
    )
    .await?;
    Ok(Ok(operator))
}

async fn audit_failure(
    ctx: &LoginContext<'_>,
    operator_id: &str,
    reason: &str,
) -> Result<(), DbErr> {
    let target: String = operator_id.chars().take(32).collect();
    audit::append(
        ctx.db,
        audit::Event {
            actor: "anonymous",
            action: "login.stock",
            target: &format!("operator:{target:?}"),
            result: "failure",
            source_ip: ctx.source_ip,
            detail: reason,
        },
        crate::clock::now(),
    )
    .await
}
