//! Sign-in of stock operators with their old operator ID and password. The first success moves
//! the password to argon2id on the account; later sign-ins check that hash.

use sea_orm::DbErr;

use super::legacy_password::{self, Scheme};
use super::phone_login::{Failure, LoginContext, LoginError};
use crate::store::{accounts, audit, identities, legacy_credentials};

/// `amr` for the old operator password alone.
pub const AMR: &str = "pwd";
/// Level of assurance of a single password: below phone sign-in.
pub const ACR: &str = crate::domain::assurance::LOA_PASSWORD;

pub struct StockOperator {
    pub account: accounts::Model,
    pub identity: identities::Model,
}

pub async fn authenticate(
    ctx: &LoginContext<'_>,
    operator_id: &str,
    password: String,
    now: i64,
) -> Result<Result<StockOperator, Failure>, LoginError> {
    let found = match operator_id.trim().parse::<i64>() {
        Ok(id) => find_operator(ctx, id).await?,
        Err(_) => None,
    };
    let Some((credential, identity, account)) = found else {
        // Spend the same time as a real check so that unknown IDs do not answer faster.
        ctx.passwords.verify(password, None).await?;
        audit_failure(ctx, operator_id, "unknown operator_id").await?;
        return Ok(Err(Failure::BadCredentials));
    };

    if let Some(until) = account.locked_until.filter(|until| *until > now) {
        audit_failure(ctx, operator_id, "account locked").await?;
        return Ok(Err(Failure::Locked { until }));
    }

    let migrated = credential.migrated_at.is_some();
    let password_ok = if migrated {
        ctx.passwords
            .verify(password.clone(), Some(account.password_hash.clone()))
            .await?
    } else {
        let scheme = Scheme::parse(&credential.scheme);
        let stored = credential.password_hash.clone();
        let candidate = password.clone();
        ctx.passwords
            .run(move || {
                scheme.is_some_and(|scheme| legacy_password::verify(scheme, &stored, &candidate))
            })
            .await?
    };
    if !password_ok || identity.status != identities::STATUS_ACTIVE {
        let reason = if password_ok {
            "identity not active"
        } else {
            "password mismatch"
        };
        let locked = accounts::record_failure(
            ctx.db,
            &account,
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

    if !migrated {
        let hash = ctx.passwords.hash(password).await?;
        accounts::set_password(ctx.db, account.id, hash, now).await?;
        legacy_credentials::mark_migrated(ctx.db, credential.operator_id, now).await?;
        tracing::info!(operator_id, "old fund-system password moved to argon2id");
    }
    accounts::record_success(ctx.db, account.id, now).await?;
    audit::append(
        ctx.db,
        audit::Event {
            actor: &format!("account:{}", account.id),
            action: "login.stock",
            target: &format!("operator:{operator_id}"),
            result: "success",
            source_ip: ctx.source_ip,
            detail: if migrated {
                ""
            } else {
                "password rehashed to argon2id"
            },
        },
        now,
    )
    .await?;
    let account = accounts::find_by_id(ctx.db, account.id)
        .await?
        .unwrap_or(account);
    Ok(Ok(StockOperator { account, identity }))
}

async fn find_operator(
    ctx: &LoginContext<'_>,
    operator_id: i64,
) -> Result<
    Option<(
        legacy_credentials::Model,
        identities::Model,
        accounts::Model,
    )>,
    DbErr,
> {
    let Some(credential) = legacy_credentials::find(ctx.db, operator_id).await? else {
        return Ok(None);
    };
    let Some(identity) = identities::find_by_id(ctx.db, credential.identity_id).await? else {
        return Ok(None);
    };
    let Some(account) = accounts::find_by_id(ctx.db, identity.account_id).await? else {
        return Ok(None);
    };
    Ok(Some((credential, identity, account)))
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
            target: &format!("operator:{target}"),
            result: "failure",
            source_ip: ctx.source_ip,
            detail: reason,
        },
        crate::clock::now(),
    )
    .await
}
