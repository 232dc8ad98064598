//! `jti` values of client assertions (`private_key_jwt`, RFC 7523) already accepted, so a
//! replayed assertion is rejected until it expires.

use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "client_assertions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub jti: String,
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records a `jti` and returns false when the client used it before. The primary key decides
/// between concurrent uses, also across nodes.
pub async fn record_once(
    db: &DatabaseConnection,
    client_id: &str,
    jti: &str,
    expires_at: i64,
) -> Result<bool, DbErr> {
    let row = ActiveModel {
        client_id: Set(client_id.to_owned()),
        jti: Set(jti.to_owned()),
        expires_at: Set(expires_at),
    };
    let inserted = Entity::insert(row)
        .on_conflict_do_nothing_on([Column::ClientId, Column::Jti])
        .exec(db)
        .await?;
    Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(_)))
}
