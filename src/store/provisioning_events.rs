//! The persistent queue of provisioning events: signed Security Event Tokens waiting to be
//! delivered to a system's provisioning endpoint. Rows stay after delivery as the record.

use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{QueryOrder, QuerySelect};

pub const STATUS_PENDING: &str = "pending";
pub const STATUS_DELIVERED: &str = "delivered";
/// A logout token that expired before it could be delivered.
pub const STATUS_EXPIRED: &str = "expired";

/// The event type of a back-channel logout token; other events go to the provisioning
/// endpoint.
pub const EVENT_BACKCHANNEL_LOGOUT: &str = "backchannel-logout";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "provisioning_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The token's `jti`.
    #[sea_orm(unique)]
    pub event_id: String,
    pub system_id: String,
    pub event_type: String,
    /// The signed token, as POSTed.
    #[serde(skip)]
    pub token: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    event_id: &str,
    system_id: &str,
    event_type: &str,
    token: &str,
    now: i64,
) -> Result<Model, DbErr> {
    ActiveModel {
        event_id: Set(event_id.to_owned()),
        system_id: Set(system_id.to_owned()),
        event_type: Set(event_type.to_owned()),
        token: Set(token.to_owned()),
        status: Set(STATUS_PENDING.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        created_at: Set(now),
        delivered_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Pending events whose next attempt is due, oldest first.
pub async fn due(db: &DatabaseConnection, now: i64, limit: u64) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::Status.eq(STATUS_PENDING))
        .filter(Column::NextAttemptAt.lte(now))
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Claims a due event for one delivery attempt by moving its next attempt to `lease_until`.
/// Returns false when another worker (or node) claimed it first.
pub async fn claim(
    db: &DatabaseConnection,
    event: &Model,
    lease_until: i64,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::NextAttemptAt, Expr::value(lease_until))
        .filter(Column::Id.eq(event.id))
        .filter(Column::Status.eq(STATUS_PENDING))
        .filter(Column::NextAttemptAt.eq(event.next_attempt_at))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

pub async fn mark_delivered(db: &DatabaseConnection, id: i32, now: i64) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(STATUS_DELIVERED))
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .col_expr(Column::DeliveredAt, Expr::value(Some(now)))
        .col_expr(Column::LastError, Expr::value(Option::<String>::None))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn mark_expired(db: &DatabaseConnection, id: i32) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(STATUS_EXPIRED))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn mark_failed(
    db: &DatabaseConnection,
    id: i32,
    error: &str,
    next_attempt_at: i64,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .col_expr(Column::LastError, Expr::value(Some(error.to_owned())))
        .col_expr(Column::NextAttemptAt, Expr::value(next_attempt_at))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Lists the newest events, for the platform administrator.
pub async fn recent(db: &DatabaseConnection, limit: u64) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Counts the events still waiting for delivery.
pub async fn pending_count(db: &DatabaseConnection) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    Entity::find()
        .filter(Column::Status.eq(STATUS_PENDING))
        .count(db)
        .await
}
