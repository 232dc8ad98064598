//! Password hashes imported from the old fund system, keyed by operator ID. A successful check
//! moves the password to argon2id on the account and marks the row migrated.

use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "legacy_credentials")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub operator_id: i64,
    pub identity_id: i32,
    /// `bcrypt`, `pbkdf2_sha256` or `sha256_salted`.
    pub scheme: String,
    pub password_hash: String,
    pub imported_at: i64,
    pub migrated_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub async fn find(db: &DatabaseConnection, operator_id: i64) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(operator_id).one(db).await
}

pub async fn insert(db: &DatabaseConnection, model: Model) -> Result<(), DbErr> {
    ActiveModel {
        operator_id: Set(model.operator_id),
        identity_id: Set(model.identity_id),
        scheme: Set(model.scheme),
        password_hash: Set(model.password_hash),
        imported_at: Set(model.imported_at),
        migrated_at: Set(model.migrated_at),
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn mark_migrated(
    db: &DatabaseConnection,
    operator_id: i64,
    now: i64,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::MigratedAt, Expr::value(Some(now)))
        .filter(Column::OperatorId.eq(operator_id))
        .exec(db)
        .await?;
    Ok(())
}
