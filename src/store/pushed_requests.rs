//! Pushed authorization requests (RFC 9126): the parameters a client POSTed, kept under a
//! one-time `request_uri` for a short time.

use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pushed_requests")]
pub struct Model {
    /// SHA-256 of the random part of the `request_uri`, base64url.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub client_id: String,
    /// The request parameters, a JSON object of strings.
    pub params: String,
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub async fn insert(db: &DatabaseConnection, model: Model) -> Result<(), DbErr> {
    ActiveModel {
        id: Set(model.id),
        client_id: Set(model.client_id),
        params: Set(model.params),
        expires_at: Set(model.expires_at),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Counts the client's requests that have not expired.
pub async fn count_live(db: &DatabaseConnection, client_id: &str, now: i64) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    Entity::find()
        .filter(Column::ClientId.eq(client_id))
        .filter(Column::ExpiresAt.gt(now))
        .count(db)
        .await
}

/// Finds a request without using it up.
pub async fn find(db: &DatabaseConnection, id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id.to_owned()).one(db).await
}

/// Removes the request of `client_id`, so each `request_uri` works once. Returns false when
/// another take (or another node) removed it first.
pub async fn take(db: &DatabaseConnection, id: &str, client_id: &str) -> Result<bool, DbErr> {
    let deleted = Entity::delete_many()
        .filter(Column::Id.eq(id))
        .filter(Column::ClientId.eq(client_id))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected == 1)
}
