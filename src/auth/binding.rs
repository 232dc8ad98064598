//! Enterprise binding: the holder of an enterprise certificate proves the operator ID and
//! password of the enterprise's administrator account in the old fund system. Afterwards the
//! certificate signs in as that administrator.

use super::phone_login::{LoginContext, LoginError};
use super::stock_login;
use crate::store::{admin_bindings, audit, enterprises, identities};

#[derive(Debug, PartialEq, Eq)]
pub enum BindingFailure {
    /// Too many failures for this enterprise; binding is locked until this Unix time.
    Locked {
        until: i64,
    },
    BadCredentials,
    /// The operator exists but is not an administrator.
    NotAdmin,
    /// The operator is an administrator of another enterprise, named here.
    OtherEnterprise {
        name: String,
    },
    /// Another binding completed first.
    AlreadyBound,
}

impl BindingFailure {
    fn reason(&self) -> &'static str {
        match self {
            BindingFailure::Locked { .. } => "binding locked",
            BindingFailure::BadCredentials => "operator_id or password mismatch",
            BindingFailure::NotAdmin => "operator is not an administrator",
            BindingFailure::OtherEnterprise { .. } => "operator belongs to another enterprise",
            BindingFailure::AlreadyBound => "enterprise already bound",
        }
    }
}

pub struct BindingLimits {
    pub max_failures: i32,
    pub lockout_secs: i64,
}

pub async fn bind(
    ctx: &LoginContext<'_>,
    enterprise: &enterprises::Model,
    certificate_fingerprint: &str,
    operator_id: &str,
    password: String,
    limits: &BindingLimits,
    now: i64,
) -> Result<Result<identities::Model, BindingFailure>, LoginError> {
    if let Some(until) = enterprise.binding_locked_until.filter(|until| *until > now) {
        let locked = Err(BindingFailure::Locked { until });
        return finish(
            ctx,
            enterprise,
            certificate_fingerprint,
            operator_id,
            locked,
            limits,
            now,
        )
        .await;
    }

    // The old administrator password is checked without side effects on that account: a
    // failed binding neither locks it nor moves its password.
    let operator = stock_login::find_operator(ctx.db, operator_id).await?;
    let matches = stock_login::password_matches(ctx, operator.as_ref(), password.clone()).await?;
    let outcome = match operator {
        Some(operator) if matches && operator.identity.status == identities::STATUS_ACTIVE => {
            if !operator.identity.is_admin {
                Err(BindingFailure::NotAdmin)
            } else if operator.identity.enterprise_id != enterprise.id {
                let other =
                    enterprises::find_by_id(ctx.db, operator.identity.enterprise_id).await?;
                Err(BindingFailure::OtherEnterprise {
                    name: other.map(|e| e.name).unwrap_or_default(),
                })
            } else {
                let binding = admin_bindings::Model {
                    enterprise_id: enterprise.id,
                    identity_id: operator.identity.id,
                    certificate_fingerprint: certificate_fingerprint.to_owned(),
                    bound_at: now,
                };
                match admin_bindings::insert(ctx.db, binding).await {
                    Ok(()) => {
                        stock_login::migrate(ctx, &operator, password, now).await?;
                        Ok(operator.identity)
                    }
                    Err(_) if admin_bindings::find(ctx.db, enterprise.id).await?.is_some() => {
                        Err(BindingFailure::AlreadyBound)
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        }
        _ => Err(BindingFailure::BadCredentials),
    };
    finish(
        ctx,
        enterprise,
        certificate_fingerprint,
        operator_id,
        outcome,
        limits,
        now,
    )
    .await
}

async fn finish(
    ctx: &LoginContext<'_>,
    enterprise: &enterprises::Model,
    certificate_fingerprint: &str,
    operator_id: &str,
    outcome: Result<identities::Model, BindingFailure>,
    limits: &BindingLimits,
    now: i64,
) -> Result<Result<identities::Model, BindingFailure>, LoginError> {
    let (result, detail) = match &outcome {
        Ok(identity) => ("success", format!("operator_id={}", identity.operator_id)),
        Err(failure) => ("failure", failure.reason().to_owned()),
    };
    let mut outcome = outcome;
    match &outcome {
        Ok(_) => enterprises::reset_binding_failures(ctx.db, enterprise.id).await?,
        Err(BindingFailure::Locked { .. } | BindingFailure::AlreadyBound) => {}
        Err(_) => {
            let locked = enterprises::record_binding_failure(
                ctx.db,
                enterprise,
                limits.max_failures,
                limits.lockout_secs,
                now,
            )
            .await?;
            tracing::warn!(enterprise_id = enterprise.id, operator_id, reason = %detail, locked, "enterprise binding failed");
            if locked {
                outcome = Err(BindingFailure::Locked {
                    until: now + limits.lockout_secs,
                });
            }
        }
    }
    let target: String = operator_id.chars().take(32).collect();
    audit::append(
        ctx.db,
        audit::Event {
            actor: &format!("certificate:{certificate_fingerprint}"),
            action: "enterprise.bind",
            target: &format!("enterprise:{} operator:{target}", enterprise.id),
            result,
            source_ip: ctx.source_ip,
            detail: &detail,
        },
        now,
    )
    .await?;
    Ok(outcome)
}
