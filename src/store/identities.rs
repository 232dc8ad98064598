//! Identities: account x enterprise x system x identity type, each with a numeric operator ID.

use sea_orm::ActiveValue::Set;
use sea_orm::QueryOrder;
use sea_orm::entity::prelude::*;

pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_PENDING_REVIEW: &str = "pending_review";
pub const STATUS_REJECTED: &str = "rejected";
pub const STATUS_DISABLED: &str = "disabled";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub account_id: i32,
    pub enterprise_id: i32,
    /// client_id of the system this identity signs in to.
    pub system_id: String,
    pub identity_type: String,
    #[sea_orm(unique)]
    pub operator_id: i64,
    pub is_admin: bool,
    pub status: String,
    pub department: String,
    pub remark: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub struct NewIdentity<'a> {
    pub account_id: i32,
    pub enterprise_id: i32,
    pub system_id: &'a str,
    pub identity_type: &'a str,
    pub operator_id: i64,
    pub is_admin: bool,
    pub status: &'a str,
    pub department: &'a str,
}

pub async fn insert(
    db: &DatabaseConnection,
    identity: NewIdentity<'_>,
    now: i64,
) -> Result<Model, DbErr> {
    ActiveModel {
        account_id: Set(identity.account_id),
        enterprise_id: Set(identity.enterprise_id),
        system_id: Set(identity.system_id.to_owned()),
        identity_type: Set(identity.identity_type.to_owned()),
        operator_id: Set(identity.operator_id),
        is_admin: Set(identity.is_admin),
        status: Set(identity.status.to_owned()),
        department: Set(identity.department.to_owned()),
        remark: Set(String::new()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn find_by_id(db: &DatabaseConnection, id: i32) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

pub async fn find_by_operator_id(
    db: &DatabaseConnection,
    operator_id: i64,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::OperatorId.eq(operator_id))
        .one(db)
        .await
}

/// Active administrator identities of an enterprise, oldest first.
pub async fn active_admins_of(
    db: &DatabaseConnection,
    enterprise_id: i32,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::EnterpriseId.eq(enterprise_id))
        .filter(Column::IsAdmin.eq(true))
        .filter(Column::Status.eq(STATUS_ACTIVE))
        .order_by_asc(Column::Id)
        .all(db)
        .await
}

/// Active identities of an account, oldest first.
pub async fn active_of_account(
    db: &DatabaseConnection,
    account_id: i32,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::Status.eq(STATUS_ACTIVE))
        .order_by_asc(Column::Id)
        .all(db)
        .await
}
