//! The clients each browser session has signed in to, so that logout can notify each of
//! them (back-channel and front-channel logout).

use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Query;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session_clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records that the session signed in to the client; recording it twice is a no-op.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    session_id: &str,
    client_id: &str,
    now: i64,
) -> Result<(), DbErr> {
    let row = ActiveModel {
        session_id: Set(session_id.to_owned()),
        client_id: Set(client_id.to_owned()),
        created_at: Set(now),
    };
    Entity::insert(row)
        .on_conflict_do_nothing_on([Column::SessionId, Column::ClientId])
        .exec(db)
        .await?;
    Ok(())
}

/// Lists the client ids the session signed in to, in client id order.
pub async fn clients_of<C: ConnectionTrait>(
    db: &C,
    session_id: &str,
) -> Result<Vec<String>, DbErr> {
    use sea_orm::QueryOrder;
    Ok(Entity::find()
        .filter(Column::SessionId.eq(session_id))
        .order_by_asc(Column::ClientId)
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.client_id)
        .collect())
}

/// Deletes the rows of one session.
pub async fn forget<C: ConnectionTrait>(db: &C, session_id: &str) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::SessionId.eq(session_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes the rows of sessions that no longer exist.
pub async fn purge_orphans(db: &DatabaseConnection) -> Result<u64, DbErr> {
    let live_sessions = Query::select()
        .column(super::sessions::Column::Id)
        .from(super::sessions::Entity)
        .to_owned();
    Ok(Entity::delete_many()
        .filter(Column::SessionId.not_in_subquery(live_sessions))
        .exec(db)
        .await?
        .rows_affected)
}
