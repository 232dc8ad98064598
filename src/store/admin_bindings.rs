//! The administrator bound to each enterprise through its certificate.

use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "admin_bindings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub enterprise_id: i32,
    pub identity_id: i32,
    /// SHA-256 of the certificate used to bind, lowercase hex.
    pub certificate_fingerprint: String,
    pub bound_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub async fn find(db: &DatabaseConnection, enterprise_id: i32) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(enterprise_id).one(db).await
}

/// Binds the enterprise. The primary key makes a second, concurrent binding fail.
pub async fn insert(db: &DatabaseConnection, model: Model) -> Result<(), DbErr> {
    ActiveModel {
        enterprise_id: Set(model.enterprise_id),
        identity_id: Set(model.identity_id),
        certificate_fingerprint: Set(model.certificate_fingerprint),
        bound_at: Set(model.bound_at),
    }
    .insert(db)
    .await?;
    Ok(())
}
