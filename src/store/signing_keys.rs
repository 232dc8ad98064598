//! Token signing keys. Private keys are stored encrypted with the master key.

use sea_orm::ActiveValue::Set;
use sea_orm::QueryOrder;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub kid: String,
    pub alg: String,
    /// Base64 of nonce and AES-256-GCM ciphertext of the PKCS#8 document.
    pub private_key_encrypted: String,
    /// The public JWK as JSON.
    pub public_jwk: String,
    /// Whether new tokens are signed with this key; inactive keys stay published for verification.
    pub active: bool,
    pub created_at: i64,
    /// The key signs new tokens from this time on (Unix seconds); until then it is only
    /// published, so relying parties fetch it before they meet it.
    pub use_from: i64,
    /// The key leaves the JWKS after this time, once tokens it signed have expired.
    pub retire_after: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub async fn list(db: &DatabaseConnection) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .order_by_desc(Column::CreatedAt)
        .all(db)
        .await
}

pub async fn insert(db: &DatabaseConnection, model: Model) -> Result<(), DbErr> {
    ActiveModel {
        kid: Set(model.kid),
        alg: Set(model.alg),
        private_key_encrypted: Set(model.private_key_encrypted),
        public_jwk: Set(model.public_jwk),
        active: Set(model.active),
        created_at: Set(model.created_at),
        use_from: Set(model.use_from),
        retire_after: Set(model.retire_after),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Deactivates the keys of `alg` that were to start signing after `use_from`, so that a
/// rotation for sooner is not overtaken later by a key rotated earlier. They never signed,
/// so they leave the JWKS at `retire_after`.
pub async fn cancel_pending(
    db: &DatabaseConnection,
    alg: &str,
    keep_kid: &str,
    use_from: i64,
    retire_after: i64,
) -> Result<u64, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::Active, Expr::value(false))
        .col_expr(Column::RetireAfter, Expr::value(Some(retire_after)))
        .filter(Column::Alg.eq(alg))
        .filter(Column::Kid.ne(keep_kid))
        .filter(Column::UseFrom.gt(use_from))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Sets the retirement time of every key of `alg` that has none yet, except `keep_kid`.
pub async fn retire_others(
    db: &DatabaseConnection,
    alg: &str,
    keep_kid: &str,
    retire_after: i64,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::RetireAfter, Expr::value(Some(retire_after)))
        .filter(Column::Alg.eq(alg))
        .filter(Column::Kid.ne(keep_kid))
        .filter(Column::RetireAfter.is_null())
        .exec(db)
        .await?;
    Ok(())
}
