//! Identities: account x enterprise x system x identity type, each with a numeric operator ID.

use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, LikeExpr, Query};
use sea_orm::{Condition, PaginatorTrait, QueryOrder, QuerySelect};

pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_PENDING_REVIEW: &str = "pending_review";
pub const STATUS_REJECTED: &str = "rejected";
pub const STATUS_DISABLED: &str = "disabled";

/// Generated operator IDs start above this value, so they never collide with the old fund
/// system's IDs, which are imported unchanged.
const FIRST_GENERATED_OPERATOR_ID: i64 = 800_000_000;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub account_id: i32,
    pub enterprise_id: i32,
    /// client_id of the system this identity signs in to.
    pub system_id: String,
    pub identity_type: String,
    #[sea_orm(unique)]
    pub operator_id: i64,
    pub is_admin: bool,
    pub status: String,
    pub department: String,
    pub remark: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub department_type: String,
    pub role: String,
    /// When the person's name and phone were confirmed: by the real-name service when an
    /// administrator added the operator, or by the administrator's approval of a submission.
    pub realname_verified_at: Option<i64>,
    /// When the user last chose this identity in the role picker.
    pub last_chosen_at: Option<i64>,
    /// Set when an administrator deleted the operator; the row stays for the audit trail and
    /// so the operator ID is never reused.
    pub deleted_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// True when the identity may be offered for sign-in at all: not deleted and not disabled.
    pub fn is_usable(&self) -> bool {
        self.deleted_at.is_none() && self.status != STATUS_DISABLED
    }
}

pub struct NewIdentity<'a> {
    pub account_id: i32,
    pub enterprise_id: i32,
    pub system_id: &'a str,
    pub identity_type: &'a str,
    pub operator_id: i64,
    pub is_admin: bool,
    pub status: &'a str,
    pub department: &'a str,
    pub department_type: &'a str,
    pub role: &'a str,
    pub remark: &'a str,
    pub realname_verified_at: Option<i64>,
}

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    identity: NewIdentity<'_>,
    now: i64,
) -> Result<Model, DbErr> {
    ActiveModel {
        account_id: Set(identity.account_id),
        enterprise_id: Set(identity.enterprise_id),
        system_id: Set(identity.system_id.to_owned()),
        identity_type: Set(identity.identity_type.to_owned()),
        operator_id: Set(identity.operator_id),
        is_admin: Set(identity.is_admin),
        status: Set(identity.status.to_owned()),
        department: Set(identity.department.to_owned()),
        remark: Set(identity.remark.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        department_type: Set(identity.department_type.to_owned()),
        role: Set(identity.role.to_owned()),
        realname_verified_at: Set(identity.realname_verified_at),
        last_chosen_at: Set(None),
        deleted_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Returns the next operator ID to generate: one above the highest ever stored. Rows are never
/// deleted, so an ID is never handed out twice; concurrent callers are separated by the
/// unique index, and the loser retries.
pub async fn next_operator_id<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    let highest: Option<i64> = Entity::find()
        .select_only()
        .column_as(Column::OperatorId.max(), "highest")
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten();
    Ok(highest.unwrap_or(0).max(FIRST_GENERATED_OPERATOR_ID) + 1)
}

pub async fn find_by_id(db: &DatabaseConnection, id: i32) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

pub async fn find_by_operator_id(
    db: &DatabaseConnection,
    operator_id: i64,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::OperatorId.eq(operator_id))
        .one(db)
        .await
}

/// Active administrator identities of an enterprise, oldest first.
pub async fn active_admins_of(
    db: &DatabaseConnection,
    enterprise_id: i32,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::EnterpriseId.eq(enterprise_id))
        .filter(Column::IsAdmin.eq(true))
        .filter(Column::Status.eq(STATUS_ACTIVE))
        .filter(Column::DeletedAt.is_null())
        .order_by_asc(Column::Id)
        .all(db)
        .await
}

/// Active identities of an account, oldest first.
pub async fn active_of_account(
    db: &DatabaseConnection,
    account_id: i32,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::Status.eq(STATUS_ACTIVE))
        .filter(Column::DeletedAt.is_null())
        .order_by_asc(Column::Id)
        .all(db)
        .await
}

/// Lists every identity of an account that is not deleted, whatever its status, oldest first.
pub async fn of_account<C: ConnectionTrait>(db: &C, account_id: i32) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::DeletedAt.is_null())
        .order_by_asc(Column::Id)
        .all(db)
        .await
}

/// Returns true when the account has or ever had an identity, deleted ones included.
pub async fn any_of_account(db: &DatabaseConnection, account_id: i32) -> Result<bool, DbErr> {
    let count = Entity::find()
        .filter(Column::AccountId.eq(account_id))
        .count(db)
        .await?;
    Ok(count > 0)
}

/// Filters of the administrator's operator list. Empty strings do not filter.
#[derive(Debug, Default, Clone)]
pub struct OperatorFilter {
    pub operator_id: Option<i64>,
    /// Part of the person's name.
    pub name: String,
    pub status: String,
    pub identity_type: String,
    /// Part of the department (unit) name.
    pub department: String,
}

/// One page of the staff (non-administrator) identities of an enterprise that are not
/// deleted, by operator ID, with the total count. `page` counts from 1.
pub async fn list_operators(
    db: &DatabaseConnection,
    enterprise_id: i32,
    filter: &OperatorFilter,
    page: u64,
    per_page: u64,
) -> Result<(Vec<Model>, u64), DbErr> {
    let mut condition = Condition::all()
        .add(Column::EnterpriseId.eq(enterprise_id))
        .add(Column::IsAdmin.eq(false))
        .add(Column::DeletedAt.is_null());
    if let Some(operator_id) = filter.operator_id {
        condition = condition.add(Column::OperatorId.eq(operator_id));
    }
    if !filter.status.is_empty() {
        condition = condition.add(Column::Status.eq(filter.status.as_str()));
    }
    if !filter.identity_type.is_empty() {
        condition = condition.add(Column::IdentityType.eq(filter.identity_type.as_str()));
    }
    if !filter.department.is_empty() {
        condition = condition.add(Column::Department.like(contains_pattern(&filter.department)));
    }
    if !filter.name.is_empty() {
        let named = Query::select()
            .column(super::accounts::Column::Id)
            .from(super::accounts::Entity)
            .and_where(super::accounts::Column::Name.like(contains_pattern(&filter.name)))
            .to_owned();
        condition = condition.add(Column::AccountId.in_subquery(named));
    }
    let paginator = Entity::find()
        .filter(condition)
        .order_by_asc(Column::OperatorId)
        .paginate(db, per_page.max(1));
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((rows, total))
}

/// A LIKE pattern that finds `text` anywhere, with `%`, `_` and `\\` in it matched literally.
fn contains_pattern(text: &str) -> LikeExpr {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    LikeExpr::new(format!("%{escaped}%")).escape('\\')
}

pub async fn set_status<C: ConnectionTrait>(
    db: &C,
    id: i32,
    status: &str,
    now: i64,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(status))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks an identity deleted and disabled.
pub async fn soft_delete<C: ConnectionTrait>(db: &C, id: i32, now: i64) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(STATUS_DISABLED))
        .col_expr(Column::DeletedAt, Expr::value(Some(now)))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Records an approved real-name check. A pending identity becomes active; a disabled one
/// stays disabled, because the review does not overrule the administrator.
pub async fn mark_realname_verified<C: ConnectionTrait>(
    db: &C,
    id: i32,
    now: i64,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::RealnameVerifiedAt, Expr::value(Some(now)))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    move_status(db, id, STATUS_PENDING_REVIEW, STATUS_ACTIVE, now).await
}

/// Sets `to` on an identity whose status is `from`; other statuses are left alone.
pub async fn move_status<C: ConnectionTrait>(
    db: &C,
    id: i32,
    from: &str,
    to: &str,
    now: i64,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(to))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(from))
        .exec(db)
        .await?;
    Ok(())
}

/// Restores a deleted operator for the same person, enterprise, system and type: active,
/// verified and with the new department, role and remark. The operator ID stays the same.
pub async fn restore<C: ConnectionTrait>(
    db: &C,
    id: i32,
    department: &str,
    department_type: &str,
    role: &str,
    remark: &str,
    now: i64,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(STATUS_ACTIVE))
        .col_expr(Column::DeletedAt, Expr::value(Option::<i64>::None))
        .col_expr(Column::Department, Expr::value(department))
        .col_expr(Column::DepartmentType, Expr::value(department_type))
        .col_expr(Column::Role, Expr::value(role))
        .col_expr(Column::Remark, Expr::value(remark))
        .col_expr(Column::RealnameVerifiedAt, Expr::value(Some(now)))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Finds the deleted identity of an account for this enterprise, system and type.
pub async fn find_deleted(
    db: &DatabaseConnection,
    account_id: i32,
    enterprise_id: i32,
    system_id: &str,
    identity_type: &str,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::EnterpriseId.eq(enterprise_id))
        .filter(Column::SystemId.eq(system_id))
        .filter(Column::IdentityType.eq(identity_type))
        .filter(Column::DeletedAt.is_not_null())
        .one(db)
        .await
}

pub async fn mark_chosen(db: &DatabaseConnection, id: i32, now: i64) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::LastChosenAt, Expr::value(Some(now)))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Moves an identity to another account (used when an administrator changes the phone).
pub async fn move_to_account<C: ConnectionTrait>(
    db: &C,
    id: i32,
    account_id: i32,
    now: i64,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::AccountId, Expr::value(account_id))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// True when any enterprise of `enterprise_ids` holds an identity of this system and type
/// that is not deleted.
pub async fn exists_for<C: ConnectionTrait>(
    db: &C,
    enterprise_ids: &[i32],
    system_id: &str,
    identity_type: &str,
) -> Result<bool, DbErr> {
    let count = Entity::find()
        .filter(Column::EnterpriseId.is_in(enterprise_ids.iter().copied()))
        .filter(Column::SystemId.eq(system_id))
        .filter(Column::IdentityType.eq(identity_type))
        .filter(Column::DeletedAt.is_null())
        .count(db)
        .await?;
    Ok(count > 0)
}

/// Moves an identity to another account and enterprise (an administrator attaching an
/// existing account of the old system).
pub async fn attach<C: ConnectionTrait>(
    db: &C,
    id: i32,
    account_id: i32,
    enterprise_id: i32,
    now: i64,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::AccountId, Expr::value(account_id))
        .col_expr(Column::EnterpriseId, Expr::value(enterprise_id))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
