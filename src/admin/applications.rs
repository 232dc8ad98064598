//! System permission applications: an enterprise administrator obtains access to another
//! system, or another identity type in a system. Either the enterprise already had such an
//! account in the old system (proved by its operator ID and password, which attaches it), or
//! the administrator applies and the administrator identity is provisioned at once.

use sea_orm::{DbErr, TransactionTrait};
use serde::{Deserialize, Serialize};

use super::{AdminError, AdminSession};
use crate::app::AppState;
use crate::auth::stock_login;
use crate::domain::operator::valid_person_name;
use crate::domain::phone::Phone;
use crate::store::permission_applications::{self, NewApplication};
use crate::store::{enterprises, identities, legacy_credentials, systems};

/// A system and identity type the enterprise does not hold and may apply for.
#[derive(Debug, Clone, Serialize)]
pub struct Offer {
    pub system_id: String,
    pub system_name: String,
    pub identity_type: String,
    pub identity_type_name: String,
}

/// Returns the systems and types the signed-in administrator already has in the enterprise.
/// An imported administrator account of another person does not count, because attaching it
/// is what the application's first branch is for.
async fn held_pairs(
    state: &AppState,
    admin: &AdminSession,
) -> Result<Vec<(String, String)>, DbErr> {
    Ok(identities::active_admins_of(&state.db, admin.enterprise.id)
        .await?
        .into_iter()
        .filter(|i| i.account_id == admin.identity.account_id)
        .map(|i| (i.system_id, i.identity_type))
        .collect())
}

/// Returns the identity types the administrator's account holds in any enterprise, which the
/// exclusion rules apply to.
async fn account_types(state: &AppState, admin: &AdminSession) -> Result<Vec<String>, DbErr> {
    Ok(identities::of_account(&state.db, admin.identity.account_id)
        .await?
        .into_iter()
        .map(|i| i.identity_type)
        .collect())
}

/// Checks the exclusion rules for adding `identity_type` to the administrator's account.
async fn check_exclusion(
    state: &AppState,
    admin: &AdminSession,
    identity_type: &str,
    action: &str,
    target: &str,
) -> Result<(), AdminError> {
    let held = account_types(state, admin).await?;
    let held: Vec<&str> = held.iter().map(String::as_str).collect();
    let Some(conflict) = state.config.identities.conflict(&held, identity_type) else {
        return Ok(());
    };
    let detail = format!("mutually exclusive with held type {conflict}");
    admin
        .audit(state, action, target, "failure", &detail)
        .await?;
    tracing::warn!(
        enterprise_id = admin.enterprise.id,
        held = conflict,
        applied = identity_type,
        "refused: mutually exclusive identity types"
    );
    Err(AdminError::ApplicationExclusive {
        held: state
            .config
            .identities
            .display_name(conflict, false)
            .to_owned(),
    })
}

/// Lists the systems and identity types open for application that the enterprise lacks.
pub async fn available(
    state: &AppState,
    admin: &AdminSession,
    english: bool,
) -> Result<Vec<Offer>, DbErr> {
    let held = held_pairs(state, admin).await?;
    let account_types = account_types(state, admin).await?;
    let account_types: Vec<&str> = account_types.iter().map(String::as_str).collect();
    let mut offers = Vec::new();
    for system in systems::list(&state.db).await? {
        for offered in system.offered_types() {
            let pair = (system.client_id.clone(), offered.code.clone());
            let excluded = state
                .config
                .identities
                .conflict(&account_types, &offered.code)
                .is_some();
            if !offered.applicable || held.contains(&pair) || excluded {
                continue;
            }
            offers.push(Offer {
                system_id: system.client_id.clone(),
                system_name: system.name.clone(),
                identity_type_name: state
                    .config
                    .identities
                    .display_name(&offered.code, english)
                    .to_owned(),
                identity_type: offered.code,
            });
        }
    }
    Ok(offers)
}

/// Checks that the system offers the type for application and the enterprise lacks it.
pub async fn find_offer(
    state: &AppState,
    admin: &AdminSession,
    system_id: &str,
    identity_type: &str,
) -> Result<systems::Model, AdminError> {
    let not_offered = AdminError::Invalid {
        field: "identity_type",
        message_key: "application_not_offered",
    };
    let system = systems::find_by_client_id(&state.db, system_id)
        .await?
        .ok_or(AdminError::Invalid {
            field: "system_id",
            message_key: "application_not_offered",
        })?;
    let offered = system
        .offered_types()
        .into_iter()
        .any(|t| t.code == identity_type && t.applicable);
    if !offered {
        return Err(not_offered);
    }
    let pair = (system_id.to_owned(), identity_type.to_owned());
    if held_pairs(state, admin).await?.contains(&pair) {
        return Err(AdminError::AlreadyHeld);
    }
    Ok(system)
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Application {
    pub system_id: String,
    pub identity_type: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub contact_email: String,
}

fn duplicate(state: &AppState, system: &systems::Model, identity_type: &str) -> AdminError {
    AdminError::DuplicateEnterprise {
        system_name: system.name.clone(),
        identity_type_names: (
            state
                .config
                .identities
                .display_name(identity_type, false)
                .to_owned(),
            state
                .config
                .identities
                .display_name(identity_type, true)
                .to_owned(),
        ),
    }
}

/// Applies for a system and identity type and provisions the administrator identity at once,
/// unless the system already has an enterprise of that type with the same USCC or
/// organization code.
pub async fn apply(
    state: &AppState,
    admin: &AdminSession,
    input: Application,
) -> Result<identities::Model, AdminError> {
    let system = find_offer(state, admin, &input.system_id, &input.identity_type).await?;
    let contact_name = input.contact_name.trim();
    if !valid_person_name(contact_name) {
        return Err(AdminError::Invalid {
            field: "contact_name",
            message_key: "realname_name_invalid",
        });
    }
    let contact_phone = Phone::parse(&input.contact_phone).map_err(|_| AdminError::Invalid {
        field: "contact_phone",
        message_key: "phone_invalid",
    })?;
    let contact_email = input.contact_email.trim();
    let email_ok = contact_email.is_empty()
        || (contact_email.len() <= 100
            && !crate::domain::operator::has_hidden_chars(contact_email)
            && contact_email.split_once('@').is_some_and(|(user, domain)| {
                !user.is_empty()
                    && domain.contains('.')
                    && !contact_email.contains(char::is_whitespace)
            }));
    if !email_ok {
        return Err(AdminError::Invalid {
            field: "contact_email",
            message_key: "application_email_invalid",
        });
    }

    let target = format!("system:{} type:{}", system.client_id, input.identity_type);
    check_exclusion(
        state,
        admin,
        &input.identity_type,
        "application.submit",
        &target,
    )
    .await?;

    let same_code = enterprises::ids_with_code(
        &state.db,
        admin.enterprise.uscc.as_deref(),
        &admin.enterprise.org_code,
    )
    .await?;
    if identities::exists_for(
        &state.db,
        &same_code,
        &system.client_id,
        &input.identity_type,
    )
    .await?
    {
        admin
            .audit(
                state,
                "application.submit",
                &target,
                "failure",
                "same USCC or organization code exists",
            )
            .await?;
        tracing::warn!(enterprise_id = admin.enterprise.id, %target, "application refused: same USCC or organization code exists");
        return Err(duplicate(state, &system, &input.identity_type));
    }

    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let application = permission_applications::insert(
        &txn,
        NewApplication {
            enterprise_id: admin.enterprise.id,
            system_id: &system.client_id,
            identity_type: &input.identity_type,
            applicant_identity_id: admin.identity.id,
            certificate_fingerprint: &admin.fingerprint,
            contact_name,
            contact_phone: contact_phone.as_e164(),
            contact_email,
        },
        now,
    )
    .await;
    let application = match application {
        Ok(application) => application,
        // The unique index decides between two submissions racing for the same type.
        Err(error) if super::operators::is_unique_violation(&error) => {
            txn.rollback().await?;
            admin
                .audit(
                    state,
                    "application.submit",
                    &target,
                    "failure",
                    "concurrent application",
                )
                .await?;
            return Err(duplicate(state, &system, &input.identity_type));
        }
        Err(error) => return Err(error.into()),
    };
    let operator_id = identities::next_operator_id(&txn).await?;
    let identity = identities::insert(
        &txn,
        identities::NewIdentity {
            account_id: admin.identity.account_id,
            enterprise_id: admin.enterprise.id,
            system_id: &system.client_id,
            identity_type: &input.identity_type,
            operator_id,
            is_admin: true,
            status: identities::STATUS_ACTIVE,
            department: &admin.enterprise.name,
            department_type: "headquarters",
            role: crate::domain::operator::DEFAULT_ROLE,
            remark: "",
            realname_verified_at: None,
        },
        now,
    )
    .await?;
    permission_applications::set_identity(&txn, application.id, identity.id).await?;
    let event = super::provisioning::queue_identity_provisioned(
        state,
        &txn,
        &system,
        &admin.enterprise,
        &identity,
        now,
    )
    .await?;
    txn.commit().await?;

    let detail = format!(
        "application {} provisioned identity {} operator {}{}",
        application.id,
        identity.id,
        identity.operator_id,
        event
            .map(|id| format!(", event {id} queued"))
            .unwrap_or_default()
    );
    admin
        .audit(state, "application.submit", &target, "success", &detail)
        .await?;
    Ok(identity)
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExistingAccount {
    pub system_id: String,
    pub identity_type: String,
    pub operator_id: String,
    pub password: String,
}

/// Attaches the enterprise's existing administrator account of the old system for that
/// system and type, proved by its operator ID and password. Failures count towards the
/// enterprise's binding lockout.
pub async fn attach_existing(
    state: &AppState,
    admin: &AdminSession,
    input: ExistingAccount,
) -> Result<identities::Model, AdminError> {
    let system = find_offer(state, admin, &input.system_id, &input.identity_type).await?;
    let now = state.clock.now();
    if let Some(until) = admin
        .enterprise
        .binding_locked_until
        .filter(|until| *until > now)
    {
        let target = format!("system:{} type:{}", system.client_id, input.identity_type);
        admin
            .audit(
                state,
                "application.attach",
                &target,
                "failure",
                "binding locked",
            )
            .await?;
        return Err(AdminError::Locked { until });
    }
    let ctx = crate::auth::phone_login::LoginContext {
        db: &state.db,
        passwords: &state.passwords,
        login: &state.config.login,
        sms_max_attempts: state.config.sms.max_attempts,
        source_ip: &admin.source_ip,
    };
    let operator = stock_login::find_operator(&state.db, &input.operator_id).await?;
    let matches = stock_login::password_matches(&ctx, operator.as_ref(), input.password.clone())
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    let same_code = enterprises::ids_with_code(
        &state.db,
        admin.enterprise.uscc.as_deref(),
        &admin.enterprise.org_code,
    )
    .await?;
    let fits = operator.as_ref().is_some_and(|o| {
        o.identity.is_admin
            && o.identity.status == identities::STATUS_ACTIVE
            && o.identity.deleted_at.is_none()
            && o.identity.system_id == system.client_id
            && o.identity.identity_type == input.identity_type
            && same_code.contains(&o.identity.enterprise_id)
    });
    let target = format!("system:{} type:{}", system.client_id, input.identity_type);
    let (Some(operator), true, true) = (operator, matches, fits) else {
        let locked = enterprises::record_binding_failure(
            &state.db,
            &admin.enterprise,
            state.config.certificate.binding_max_failures,
            state.config.certificate.binding_lockout_secs,
            now,
        )
        .await?;
        let operator_id: String = input.operator_id.chars().take(20).collect();
        let detail = format!("operator {operator_id:?} not proved for this system and type");
        admin
            .audit(state, "application.attach", &target, "failure", &detail)
            .await?;
        tracing::warn!(
            enterprise_id = admin.enterprise.id,
            locked,
            "existing account not attached: operator ID or password not proved"
        );
        if locked {
            return Err(AdminError::Locked {
                until: now + state.config.certificate.binding_lockout_secs,
            });
        }
        return Err(AdminError::BindingFailed);
    };
    check_exclusion(
        state,
        admin,
        &input.identity_type,
        "application.attach",
        &target,
    )
    .await?;
    let txn = state.db.begin().await?;
    identities::attach(
        &txn,
        operator.identity.id,
        admin.identity.account_id,
        admin.enterprise.id,
        now,
    )
    .await?;
    txn.commit().await?;
    legacy_credentials::mark_migrated(&state.db, operator.credential.operator_id, now).await?;
    enterprises::reset_binding_failures(&state.db, admin.enterprise.id).await?;
    let detail = format!(
        "existing operator {} attached to the administrator",
        operator.credential.operator_id
    );
    admin
        .audit(state, "application.attach", &target, "success", &detail)
        .await?;
    identities::find_by_id(&state.db, operator.identity.id)
        .await?
        .ok_or(AdminError::NotFound)
}
