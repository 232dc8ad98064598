//! Append-only audit trail: who did what to what, with which result, from where.

use sea_orm::ActiveValue::Set;
use sea_orm::QueryOrder;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub result: String,
    pub source_ip: String,
    pub detail: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub struct Event<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub result: &'a str,
    pub source_ip: &'a str,
    pub detail: &'a str,
}

pub async fn append(db: &DatabaseConnection, event: Event<'_>, now: i64) -> Result<(), DbErr> {
    ActiveModel {
        at: Set(now),
        actor: Set(event.actor.to_owned()),
        action: Set(event.action.to_owned()),
        target: Set(event.target.to_owned()),
        result: Set(event.result.to_owned()),
        source_ip: Set(event.source_ip.to_owned()),
        detail: Set(event.detail.to_owned()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn recent(db: &DatabaseConnection, limit: u64) -> Result<Vec<Model>, DbErr> {
    use sea_orm::QuerySelect;
    Entity::find()
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(db)
        .await
}
