//! Single-use nonces for challenge-signature sign-in, bound to the browser that asked.

use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "certificate_challenges")]
pub struct Model {
    /// The nonce as sent to the browser (base64url); not a secret, only single-use.
    #[sea_orm(primary_key, auto_increment = false)]
    pub nonce: String,
    /// SHA-256 of the browser cookie the nonce was issued to, base64url.
    pub browser_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub async fn insert(db: &DatabaseConnection, model: Model) -> Result<(), DbErr> {
    ActiveModel {
        nonce: Set(model.nonce),
        browser_hash: Set(model.browser_hash),
        created_at: Set(model.created_at),
        expires_at: Set(model.expires_at),
        used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn find(db: &DatabaseConnection, nonce: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(nonce.to_owned()).one(db).await
}

/// Marks the nonce used. Returns false when it was used before.
pub async fn consume(db: &DatabaseConnection, nonce: &str, now: i64) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(Some(now)))
        .filter(Column::Nonce.eq(nonce))
        .filter(Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
