//! Staff operators of an enterprise, as its administrator manages them: list, add (after a
//! real-name check of name and phone), view, modify phone and status, and soft-delete.

use sea_orm::{DbErr, TransactionTrait};
use serde::Serialize;

use super::{AdminError, AdminSession, Page};
use crate::app::AppState;
use crate::domain::operator::{self, MAX_DEPARTMENT_CHARS, MAX_REMARK_CHARS, valid_person_name};
use crate::domain::phone::Phone;
use crate::providers::realname::Outcome;
use crate::providers::sms::{Purpose, SmsMessage};
use crate::store::identities::{self, OperatorFilter};
use crate::store::{accounts, refresh_tokens, tokens};

/// An operator as the console and the API show it. The phone is masked.
#[derive(Debug, Clone, Serialize)]
pub struct OperatorView {
    pub id: i32,
    pub operator_id: i64,
    pub name: String,
    pub phone: String,
    pub department: String,
    pub department_type: String,
    pub role: String,
    pub system_id: String,
    pub identity_type: String,
    pub status: String,
    pub remark: String,
    pub realname_verified: bool,
    pub created_at: i64,
}

async fn view(state: &AppState, identity: identities::Model) -> Result<OperatorView, DbErr> {
    let account = accounts::find_by_id(&state.db, identity.account_id).await?;
    let (name, phone) = account
        .map(|a| {
            let phone = Phone::parse(&a.phone)
                .map(|p| p.masked())
                .unwrap_or_default();
            (a.name, phone)
        })
        .unwrap_or_default();
    Ok(OperatorView {
        id: identity.id,
        operator_id: identity.operator_id,
        name,
        phone,
        department: identity.department,
        department_type: identity.department_type,
        role: identity.role,
        system_id: identity.system_id,
        identity_type: identity.identity_type,
        status: identity.status,
        remark: identity.remark,
        realname_verified: identity.realname_verified_at.is_some(),
        created_at: identity.created_at,
    })
}

pub async fn list(
    state: &AppState,
    admin: &AdminSession,
    filter: &OperatorFilter,
    page: u64,
    per_page: u64,
) -> Result<Page<OperatorView>, AdminError> {
    let page = page.clamp(1, super::MAX_PAGE);
    let per_page = per_page.clamp(1, super::MAX_PER_PAGE);
    let (rows, total) =
        identities::list_operators(&state.db, admin.enterprise.id, filter, page, per_page).await?;
    let mut items = Vec::with_capacity(rows.len());
    for identity in rows {
        items.push(view(state, identity).await?);
    }
    Ok(Page {
        items,
        page,
        per_page,
        total,
    })
}

/// Finds a staff identity of the administrator's enterprise that is not deleted.
async fn find_own(
    state: &AppState,
    admin: &AdminSession,
    id: i32,
) -> Result<identities::Model, AdminError> {
    identities::find_by_id(&state.db, id)
        .await?
        .filter(|i| i.enterprise_id == admin.enterprise.id && !i.is_admin && i.deleted_at.is_none())
        .ok_or(AdminError::NotFound)
}

pub async fn get(
    state: &AppState,
    admin: &AdminSession,
    id: i32,
) -> Result<OperatorView, AdminError> {
    let identity = find_own(state, admin, id).await?;
    Ok(view(state, identity).await?)
}

/// Lists the systems and identity types of the enterprise, for which staff can be added.
pub async fn offered(
    state: &AppState,
    admin: &AdminSession,
) -> Result<Vec<(String, String)>, DbErr> {
    let mut pairs: Vec<(String, String)> =
        identities::active_admins_of(&state.db, admin.enterprise.id)
            .await?
            .into_iter()
            .map(|i| (i.system_id, i.identity_type))
            .collect();
    pairs.sort();
    pairs.dedup();
    Ok(pairs)
}

#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewOperator {
    pub name: String,
    pub phone: String,
    pub department: String,
    pub department_type: String,
    pub role: String,
    pub remark: String,
    pub system_id: String,
    pub identity_type: String,
}

#[derive(Debug, Serialize)]
pub struct Created {
    pub operator: OperatorView,
    /// True when the phone had no account and one was created with an initial password.
    pub account_created: bool,
}

fn invalid(field: &'static str, message_key: &'static str) -> AdminError {
    AdminError::Invalid { field, message_key }
}

/// Adds an operator. Nothing is stored unless the real-name service confirms that the name
/// owns the phone.
pub async fn create(
    state: &AppState,
    admin: &AdminSession,
    input: NewOperator,
) -> Result<Created, AdminError> {
    let name = input.name.trim();
    if !valid_person_name(name) {
        return Err(invalid("name", "realname_name_invalid"));
    }
    let phone = Phone::parse(&input.phone).map_err(|_| invalid("phone", "phone_invalid"))?;
    let department = match input.department.trim() {
        "" => admin.enterprise.name.as_str(),
        department => department,
    };
    if department.chars().count() > MAX_DEPARTMENT_CHARS || operator::has_hidden_chars(department) {
        return Err(invalid("department", "operator_department_invalid"));
    }
    if !operator::is_department_type(&input.department_type) {
        return Err(invalid(
            "department_type",
            "operator_department_type_invalid",
        ));
    }
    let role = if input.role.is_empty() {
        operator::DEFAULT_ROLE
    } else {
        input.role.as_str()
    };
    if !operator::is_role(role) {
        return Err(invalid("role", "operator_role_invalid"));
    }
    if input.remark.chars().count() > MAX_REMARK_CHARS || operator::has_hidden_chars(&input.remark)
    {
        return Err(invalid("remark", "operator_remark_invalid"));
    }
    let offered = offered(state, admin).await?;
    let (system_id, identity_type) = match offered.as_slice() {
        [(system, kind)] if input.system_id.is_empty() && input.identity_type.is_empty() => {
            (system.clone(), kind.clone())
        }
        _ => (input.system_id.clone(), input.identity_type.clone()),
    };
    if !offered.contains(&(system_id.clone(), identity_type.clone())) {
        return Err(invalid("identity_type", "operator_identity_type_invalid"));
    }

    let target = format!("phone:{}", phone.masked());
    let verification = state.realname.verify_phone(name, &phone).await;
    tracing::info!(
        enterprise_id = admin.enterprise.id,
        phone = %phone,
        outcome = verification.outcome.as_str(),
        request_id = %verification.request_id,
        latency_ms = verification.latency_ms,
        detail = %verification.detail,
        "real-name check for a new operator"
    );
    if verification.outcome != Outcome::Match {
        let detail = verification.audit_detail();
        admin
            .audit(state, "operator.create", &target, "failure", &detail)
            .await?;
        return Err(AdminError::Realname(verification.outcome));
    }

    let existing = accounts::find_by_phone(&state.db, phone.as_e164()).await?;
    if let Some(account) = &existing {
        // The carrier confirmed the typed name for this phone; an account under another
        // name is someone else's record and is not silently joined.
        if account.name != name {
            admin
                .audit(
                    state,
                    "operator.create",
                    &target,
                    "failure",
                    "phone belongs to an account with another name",
                )
                .await?;
            return Err(AdminError::PhoneTaken);
        }
        let held = identities::of_account(&state.db, account.id).await?;
        if held.iter().any(|i| {
            i.enterprise_id == admin.enterprise.id
                && i.system_id == system_id
                && i.identity_type == identity_type
        }) {
            admin
                .audit(
                    state,
                    "operator.create",
                    &target,
                    "failure",
                    "identity exists",
                )
                .await?;
            return Err(AdminError::DuplicateIdentity);
        }
        let held_types: Vec<&str> = held.iter().map(|i| i.identity_type.as_str()).collect();
        if let Some(conflict) = state
            .config
            .identities
            .conflict(&held_types, &identity_type)
        {
            let detail = format!("mutually exclusive with held type {conflict}");
            admin
                .audit(state, "operator.create", &target, "failure", &detail)
                .await?;
            tracing::warn!(enterprise_id = admin.enterprise.id, held = conflict, adding = %identity_type, "operator not added: mutually exclusive identity types");
            return Err(AdminError::MutuallyExclusive {
                held: conflict.to_owned(),
            });
        }
    }

    let now = state.clock.now();
    let fields = OperatorFields {
        system_id: &system_id,
        identity_type: &identity_type,
        department,
        department_type: &input.department_type,
        role,
        remark: &input.remark,
    };
    let (identity, account_created) = match &existing {
        Some(account) => (
            attach_to_account(state, admin, account, &fields, now).await?,
            false,
        ),
        None => (
            create_with_account(state, admin, name, &phone, &fields, now).await?,
            true,
        ),
    };

    let detail = format!(
        "identity {} operator {} system {} type {}{}",
        identity.id,
        identity.operator_id,
        identity.system_id,
        identity.identity_type,
        if account_created { ", new account" } else { "" }
    );
    admin
        .audit(
            state,
            "operator.create",
            &format!("identity:{}", identity.id),
            "success",
            &detail,
        )
        .await?;
    Ok(Created {
        operator: view(state, identity).await?,
        account_created,
    })
}

/// The values of a new operator identity besides its account.
struct OperatorFields<'a> {
    system_id: &'a str,
    identity_type: &'a str,
    department: &'a str,
    department_type: &'a str,
    role: &'a str,
    remark: &'a str,
}

async fn insert_identity<C: sea_orm::ConnectionTrait>(
    db: &C,
    admin: &AdminSession,
    account_id: i32,
    fields: &OperatorFields<'_>,
    now: i64,
) -> Result<identities::Model, AdminError> {
    let operator_id = identities::next_operator_id(db).await?;
    let inserted = identities::insert(
        db,
        identities::NewIdentity {
            account_id,
            enterprise_id: admin.enterprise.id,
            system_id: fields.system_id,
            identity_type: fields.identity_type,
            operator_id,
            is_admin: false,
            status: identities::STATUS_ACTIVE,
            department: fields.department,
            department_type: fields.department_type,
            role: fields.role,
            remark: fields.remark,
            realname_verified_at: Some(now),
        },
        now,
    )
    .await;
    match inserted {
        Ok(identity) => Ok(identity),
        // Two administrators adding the same person at once: the unique index decides.
        Err(error) if is_unique_violation(&error) => Err(AdminError::DuplicateIdentity),
        Err(error) => Err(error.into()),
    }
}

/// Adds the identity to the existing account of the phone, restoring a deleted operator of
/// the same enterprise, system and type, and notifies the person by SMS.
async fn attach_to_account(
    state: &AppState,
    admin: &AdminSession,
    account: &accounts::Model,
    fields: &OperatorFields<'_>,
    now: i64,
) -> Result<identities::Model, AdminError> {
    let deleted = identities::find_deleted(
        &state.db,
        account.id,
        admin.enterprise.id,
        fields.system_id,
        fields.identity_type,
    )
    .await?;
    let identity = match deleted {
        Some(deleted) => {
            identities::restore(
                &state.db,
                deleted.id,
                fields.department,
                fields.department_type,
                fields.role,
                fields.remark,
                now,
            )
            .await?;
            identities::find_by_id(&state.db, deleted.id)
                .await?
                .ok_or(AdminError::NotFound)?
        }
        None => insert_identity(&state.db, admin, account.id, fields, now).await?,
    };
    if let Ok(phone) = Phone::parse(&account.phone) {
        let message = SmsMessage {
            phone: &phone,
            purpose: Purpose::Notice,
            text: format!(
                "{}{}已将您添加为操作员（编号{}），请使用本手机号登录统一登录平台。",
                state.config.sms.signature, admin.enterprise.name, identity.operator_id
            ),
            code: None,
        };
        if let Err(error) = state.sms.send(&message).await {
            tracing::error!(error = %error, identity_id = identity.id, "operator notice SMS not sent");
        }
    }
    Ok(identity)
}

/// Creates the account of a new phone with the identity, in one transaction. The initial
/// password goes out by SMS before the commit, so an account is only stored when its owner
/// got the password, and of two administrators adding the same new phone at once only the
/// first sends one: the second waits for the first transaction and then fails on the unique
/// phone.
async fn create_with_account(
    state: &AppState,
    admin: &AdminSession,
    name: &str,
    phone: &Phone,
    fields: &OperatorFields<'_>,
    now: i64,
) -> Result<identities::Model, AdminError> {
    let (password, hash) = new_initial_password(state).await?;
    let txn = state.db.begin().await?;
    let account = accounts::insert(
        &txn,
        accounts::NewAccount {
            phone: phone.as_e164(),
            name,
            password_hash: hash,
            must_change_password: true,
            realname_status: accounts::REALNAME_VERIFIED,
        },
        now,
    )
    .await;
    let account = match account {
        Ok(account) => account,
        Err(error) if is_unique_violation(&error) => return Err(AdminError::DuplicateIdentity),
        Err(error) => return Err(error.into()),
    };
    let identity = insert_identity(&txn, admin, account.id, fields, now).await?;
    send_initial_password(state, admin, phone, &password).await?;
    txn.commit().await?;
    Ok(identity)
}

/// Generates an initial password and its argon2id hash (on the blocking pool).
async fn new_initial_password(state: &AppState) -> Result<(String, String), AdminError> {
    let password = crate::auth::password::initial_password()
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    let hash = state
        .passwords
        .hash(password.clone())
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    Ok((password, hash))
}

/// Sends the initial password of a new account to `phone`.
async fn send_initial_password(
    state: &AppState,
    admin: &AdminSession,
    phone: &Phone,
    password: &str,
) -> Result<(), AdminError> {
    let message = SmsMessage {
        phone,
        purpose: Purpose::InitialPassword,
        text: format!(
            "{}{}已为您开通统一登录平台账号，初始密码为{password}，首次登录须修改密码。",
            state.config.sms.signature, admin.enterprise.name
        ),
        code: None,
    };
    state
        .sms
        .send(&message)
        .await
        .map_err(|e| AdminError::Internal(format!("initial password not sent: {e}")))
}

pub(crate) fn is_unique_violation(error: &DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// The only changes an administrator may make: the phone and the status.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Modification {
    pub phone: Option<String>,
    /// `active` or `disabled`.
    pub status: Option<String>,
}

pub async fn modify(
    state: &AppState,
    admin: &AdminSession,
    id: i32,
    change: Modification,
) -> Result<OperatorView, AdminError> {
    let identity = find_own(state, admin, id).await?;
    let target = format!("identity:{}", identity.id);

    if let Some(status) = change.status.as_deref().filter(|s| *s != identity.status) {
        match status {
            identities::STATUS_DISABLED => {}
            identities::STATUS_ACTIVE if identity.status == identities::STATUS_DISABLED => {}
            identities::STATUS_ACTIVE => {
                return Err(invalid("status", "operator_status_use_review"));
            }
            _ => return Err(invalid("status", "operator_status_invalid")),
        }
    }
    if let Some(phone) = change.phone.as_deref().filter(|p| !p.trim().is_empty()) {
        let phone = Phone::parse(phone).map_err(|_| invalid("phone", "phone_invalid"))?;
        change_phone(state, admin, &identity, &phone).await?;
    }
    if let Some(status) = change.status.as_deref().filter(|s| *s != identity.status) {
        let now = state.clock.now();
        identities::set_status(&state.db, identity.id, status, now).await?;
        let ended = if status == identities::STATUS_DISABLED {
            end_use(state, identity.id).await?
        } else {
            0
        };
        let detail = format!(
            "status {} -> {status}; {ended} sessions and tokens ended",
            identity.status
        );
        admin
            .audit(state, "operator.modify", &target, "success", &detail)
            .await?;
    }
    let identity = find_own(state, admin, id).await?;
    Ok(view(state, identity).await?)
}

/// Moves the operator to a new phone after the real-name service confirms the person's name
/// owns it. The identity follows the phone: it joins the account of that phone (same person
/// only), or the account's phone changes when this is its only identity, or a new account is
/// created for the phone.
async fn change_phone(
    state: &AppState,
    admin: &AdminSession,
    identity: &identities::Model,
    phone: &Phone,
) -> Result<(), AdminError> {
    let target = format!("identity:{}", identity.id);
    let account = accounts::find_by_id(&state.db, identity.account_id)
        .await?
        .ok_or(AdminError::NotFound)?;
    if account.phone == phone.as_e164() {
        return Ok(());
    }
    let verification = state.realname.verify_phone(&account.name, phone).await;
    if verification.outcome != Outcome::Match {
        let detail = format!(
            "phone change to {}: {}",
            phone.masked(),
            verification.audit_detail()
        );
        admin
            .audit(state, "operator.modify", &target, "failure", &detail)
            .await?;
        return Err(AdminError::Realname(verification.outcome));
    }

    let now = state.clock.now();
    let others = identities::of_account(&state.db, account.id)
        .await?
        .into_iter()
        .filter(|i| i.id != identity.id)
        .count();
    match accounts::find_by_phone(&state.db, phone.as_e164()).await? {
        Some(owner) if owner.name != account.name => return Err(AdminError::PhoneTaken),
        Some(owner) => {
            let held = identities::of_account(&state.db, owner.id).await?;
            if held.iter().any(|i| {
                i.enterprise_id == identity.enterprise_id
                    && i.system_id == identity.system_id
                    && i.identity_type == identity.identity_type
            }) {
                return Err(AdminError::DuplicateIdentity);
            }
            let held_types: Vec<&str> = held.iter().map(|i| i.identity_type.as_str()).collect();
            if let Some(conflict) = state
                .config
                .identities
                .conflict(&held_types, &identity.identity_type)
            {
                admin
                    .audit(
                        state,
                        "operator.modify",
                        &target,
                        "failure",
                        "mutually exclusive identity types",
                    )
                    .await?;
                return Err(AdminError::MutuallyExclusive {
                    held: conflict.to_owned(),
                });
            }
            identities::move_to_account(&state.db, identity.id, owner.id, now).await?;
        }
        None if others == 0 => {
            accounts::set_phone(&state.db, account.id, phone.as_e164(), now).await?;
        }
        None => {
            // The identity moves to a new account of the new phone; the old account keeps its
            // other identities.
            let (password, hash) = new_initial_password(state).await?;
            let txn = state.db.begin().await?;
            let owner = accounts::insert(
                &txn,
                accounts::NewAccount {
                    phone: phone.as_e164(),
                    name: &account.name,
                    password_hash: hash,
                    must_change_password: true,
                    realname_status: accounts::REALNAME_VERIFIED,
                },
                now,
            )
            .await?;
            identities::move_to_account(&txn, identity.id, owner.id, now).await?;
            send_initial_password(state, admin, phone, &password).await?;
            txn.commit().await?;
        }
    }
    let ended = end_use(state, identity.id).await?;
    let detail = format!(
        "phone changed to {} (request {}); {ended} sessions and tokens ended",
        phone.masked(),
        verification.request_id
    );
    admin
        .audit(state, "operator.modify", &target, "success", &detail)
        .await?;
    Ok(())
}

/// Soft-deletes an operator: the identity is disabled and marked deleted, and its sessions,
/// refresh tokens and access tokens end. Nothing is removed.
pub async fn delete(state: &AppState, admin: &AdminSession, id: i32) -> Result<(), AdminError> {
    let identity = find_own(state, admin, id).await?;
    let now = state.clock.now();
    identities::soft_delete(&state.db, identity.id, now).await?;
    let ended = end_use(state, identity.id).await?;
    let detail = format!(
        "operator {} deleted; {ended} sessions and tokens ended",
        identity.operator_id
    );
    admin
        .audit(
            state,
            "operator.delete",
            &format!("identity:{}", identity.id),
            "success",
            &detail,
        )
        .await?;
    Ok(())
}

/// Ends every session and token of an identity. Returns how many ended.
async fn end_use(state: &AppState, identity_id: i32) -> Result<u64, DbErr> {
    let now = state.clock.now();
    let sessions = crate::auth::session_end::end_for_identity(state, identity_id).await?;
    let refresh = refresh_tokens::revoke_for_identity(&state.db, identity_id, now).await?;
    let access = tokens::revoke_for_identity(&state.db, identity_id, now).await?;
    Ok(sessions + refresh + access)
}
