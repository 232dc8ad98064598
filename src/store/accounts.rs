//! Accounts: one per natural person, keyed by mobile phone in E.164 form.

use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub phone: String,
    pub name: String,
    pub password_hash: String,
    pub must_change_password: bool,
    pub password_changed_at: i64,
    pub realname_status: String,
    pub failed_logins: i32,
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub const REALNAME_UNVERIFIED: &str = "unverified";
pub const REALNAME_VERIFIED: &str = "verified";

pub struct NewAccount<'a> {
    pub phone: &'a str,
    pub name: &'a str,
    pub password_hash: String,
    pub must_change_password: bool,
    /// `REALNAME_UNVERIFIED`, or `REALNAME_VERIFIED` when the carrier confirmed name and phone.
    pub realname_status: &'a str,
}

pub async fn find_by_phone<C: ConnectionTrait>(
    db: &C,
    phone: &str,
) -> Result<Option<Model>, DbErr> {
    Entity::find().filter(Column::Phone.eq(phone)).one(db).await
}

pub async fn find_by_id(db: &DatabaseConnection, id: i32) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    account: NewAccount<'_>,
    now: i64,
) -> Result<Model, DbErr> {
    ActiveModel {
        phone: Set(account.phone.to_owned()),
        name: Set(account.name.to_owned()),
        password_hash: Set(account.password_hash),
        must_change_password: Set(account.must_change_password),
        password_changed_at: Set(now),
        realname_status: Set(account.realname_status.to_owned()),
        failed_logins: Set(0),
        locked_until: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Counts a failed sign-in and locks the account for `lockout_secs` when the count reaches
/// `max_failures`. Returns true when this failure locked it.
pub async fn record_failure(
    db: &DatabaseConnection,
    account: &Model,
    max_failures: i32,
    lockout_secs: i64,
    now: i64,
) -> Result<bool, DbErr> {
    let locks = account.failed_logins.saturating_add(1) >= max_failures;
    let mut update = Entity::update_many()
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(account.id));
    update = if locks {
        update
            .col_expr(Column::FailedLogins, Expr::value(0))
            .col_expr(Column::LockedUntil, Expr::value(Some(now + lockout_secs)))
    } else {
        update.col_expr(Column::FailedLogins, Expr::col(Column::FailedLogins).add(1))
    };
    update.exec(db).await?;
    Ok(locks)
}

pub async fn record_success(
    db: &DatabaseConnection,
    account_id: i32,
    now: i64,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::FailedLogins, Expr::value(0))
        .col_expr(Column::LockedUntil, Expr::value(Option::<i64>::None))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(account_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_password(
    db: &DatabaseConnection,
    account_id: i32,
    password_hash: String,
    now: i64,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::PasswordHash, Expr::value(password_hash))
        .col_expr(Column::MustChangePassword, Expr::value(false))
        .col_expr(Column::PasswordChangedAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(account_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_phone<C: ConnectionTrait>(
    db: &C,
    account_id: i32,
    phone: &str,
    now: i64,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Phone, Expr::value(phone))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(account_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Records the name an administrator confirmed and marks the account verified.
pub async fn set_realname_verified<C: ConnectionTrait>(
    db: &C,
    account_id: i32,
    name: &str,
    now: i64,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Name, Expr::value(name))
        .col_expr(Column::RealnameStatus, Expr::value(REALNAME_VERIFIED))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(account_id))
        .exec(db)
        .await?;
    Ok(())
}
