//! One-time SMS codes. Only a hash of each code is stored.

use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{PaginatorTrait, QueryOrder};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sms_codes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub phone: String,
    pub purpose: String,
    pub code_hash: String,
    pub attempts: i32,
    pub created_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
    pub source_ip: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub struct NewCode<'a> {
    pub phone: &'a str,
    pub purpose: &'a str,
    pub code_hash: String,
    pub expires_at: i64,
    pub source_ip: &'a str,
}

pub async fn latest(
    db: &DatabaseConnection,
    phone: &str,
    purpose: &str,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::Phone.eq(phone))
        .filter(Column::Purpose.eq(purpose))
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .one(db)
        .await
}

pub async fn count_since(db: &DatabaseConnection, phone: &str, since: i64) -> Result<u64, DbErr> {
    Entity::find()
        .filter(Column::Phone.eq(phone))
        .filter(Column::CreatedAt.gte(since))
        .count(db)
        .await
}

pub async fn count_from_address_since(
    db: &DatabaseConnection,
    source_ip: &str,
    since: i64,
) -> Result<u64, DbErr> {
    Entity::find()
        .filter(Column::SourceIp.eq(source_ip))
        .filter(Column::CreatedAt.gte(since))
        .count(db)
        .await
}

pub async fn insert(db: &DatabaseConnection, code: NewCode<'_>, now: i64) -> Result<Model, DbErr> {
    ActiveModel {
        phone: Set(code.phone.to_owned()),
        purpose: Set(code.purpose.to_owned()),
        code_hash: Set(code.code_hash),
        attempts: Set(0),
        created_at: Set(now),
        expires_at: Set(code.expires_at),
        consumed_at: Set(None),
        source_ip: Set(code.source_ip.to_owned()),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Takes one of the code's `max_attempts` tries before it is compared. Returns false when none
/// are left, so parallel guesses cannot exceed the limit.
pub async fn take_attempt(
    db: &DatabaseConnection,
    id: i32,
    max_attempts: i32,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .filter(Column::Id.eq(id))
        .filter(Column::Attempts.lt(max_attempts))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Marks the code used. Returns false when a concurrent request used it first.
pub async fn consume(db: &DatabaseConnection, id: i32, now: i64) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::ConsumedAt, Expr::value(Some(now)))
        .filter(Column::Id.eq(id))
        .filter(Column::ConsumedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
