//! Issued access tokens, kept by `jti` so that they can be revoked before they expire.

use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "access_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub jti: String,
    pub grant_id: String,
    pub client_id: String,
    pub account_id: i32,
    pub identity_id: Option<i32>,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    /// The `claims` request parameter's claim names, as `ClaimsRequest::to_stored` writes them.
    pub claims: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub async fn insert(db: &DatabaseConnection, model: Model) -> Result<(), DbErr> {
    ActiveModel {
        jti: Set(model.jti),
        grant_id: Set(model.grant_id),
        client_id: Set(model.client_id),
        account_id: Set(model.account_id),
        identity_id: Set(model.identity_id),
        scope: Set(model.scope),
        created_at: Set(model.created_at),
        expires_at: Set(model.expires_at),
        revoked_at: Set(None),
        claims: Set(model.claims),
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn find(db: &DatabaseConnection, jti: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(jti.to_owned()).one(db).await
}

/// Revokes every access token of a grant. Returns how many were still live.
pub async fn revoke_grant(db: &DatabaseConnection, grant_id: &str, now: i64) -> Result<u64, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(Some(now)))
        .filter(Column::GrantId.eq(grant_id))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

pub async fn revoke_jti(db: &DatabaseConnection, jti: &str, now: i64) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(Some(now)))
        .filter(Column::Jti.eq(jti))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Revokes every live access token issued for an identity.
pub async fn revoke_for_identity<C: ConnectionTrait>(
    db: &C,
    identity_id: i32,
    now: i64,
) -> Result<u64, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(Some(now)))
        .filter(Column::IdentityId.eq(identity_id))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
