//! Enterprise administrators' applications for access to a system under an identity type.

use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "permission_applications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub enterprise_id: i32,
    pub system_id: String,
    pub identity_type: String,
    /// The administrator identity that applied.
    pub applicant_identity_id: i32,
    /// SHA-256 of the applicant's certificate, lowercase hex.
    pub certificate_fingerprint: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub contact_email: String,
    /// The administrator identity provisioned for the application.
    pub identity_id: Option<i32>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub struct NewApplication<'a> {
    pub enterprise_id: i32,
    pub system_id: &'a str,
    pub identity_type: &'a str,
    pub applicant_identity_id: i32,
    pub certificate_fingerprint: &'a str,
    pub contact_name: &'a str,
    pub contact_phone: &'a str,
    pub contact_email: &'a str,
}

/// Inserts an application. A second application for the same enterprise, system and type
/// fails on the unique index.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    application: NewApplication<'_>,
    now: i64,
) -> Result<Model, DbErr> {
    ActiveModel {
        enterprise_id: Set(application.enterprise_id),
        system_id: Set(application.system_id.to_owned()),
        identity_type: Set(application.identity_type.to_owned()),
        applicant_identity_id: Set(application.applicant_identity_id),
        certificate_fingerprint: Set(application.certificate_fingerprint.to_owned()),
        contact_name: Set(application.contact_name.to_owned()),
        contact_phone: Set(application.contact_phone.to_owned()),
        contact_email: Set(application.contact_email.to_owned()),
        identity_id: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn set_identity<C: ConnectionTrait>(
    db: &C,
    id: i32,
    identity_id: i32,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::IdentityId, Expr::value(Some(identity_id)))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
