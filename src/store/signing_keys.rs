//! Token signing keys. Private keys are stored encrypted with the master key.

use sea_orm::ActiveValue::Set;
use sea_orm::QueryOrder;
use sea_orm::entity::prelude::*;

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
    }
    .insert(db)
    .await?;
    Ok(())
}
