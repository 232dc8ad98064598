//! Refresh tokens, stored as hashes. Each use rotates the token; all tokens descended from one
//! authorization code share a family, which is revoked as a whole when a rotated token is
//! presented again (RFC 9700 §4.14.2).

use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    /// SHA-256 of the token, base64url.
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    /// The grant id of the authorization code the family started from.
    pub family_id: String,
    pub parent_hash: Option<String>,
    pub client_id: String,
    pub account_id: i32,
    pub identity_id: Option<i32>,
    pub session_id: String,
    pub scope: String,
    pub auth_time: i64,
    pub amr: String,
    pub acr: String,
    pub created_at: i64,
    /// End of the family's absolute lifetime, copied to every rotated token.
    pub expires_at: i64,
    /// The token expires unused after this time.
    pub idle_expires_at: i64,
    /// Set when the token was exchanged for its successor.
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The `claims` request parameter's claim names, as `ClaimsRequest::to_stored` writes them.
    pub claims: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub async fn insert(db: &DatabaseConnection, model: Model) -> Result<(), DbErr> {
    ActiveModel {
        token_hash: Set(model.token_hash),
        family_id: Set(model.family_id),
        parent_hash: Set(model.parent_hash),
        client_id: Set(model.client_id),
        account_id: Set(model.account_id),
        identity_id: Set(model.identity_id),
        session_id: Set(model.session_id),
        scope: Set(model.scope),
        auth_time: Set(model.auth_time),
        amr: Set(model.amr),
        acr: Set(model.acr),
        created_at: Set(model.created_at),
        expires_at: Set(model.expires_at),
        idle_expires_at: Set(model.idle_expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
        claims: Set(model.claims),
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn find(db: &DatabaseConnection, token_hash: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(token_hash.to_owned()).one(db).await
}

/// Marks the token rotated. Returns false when it was rotated before, which is reuse.
pub async fn mark_used(db: &DatabaseConnection, token_hash: &str, now: i64) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(Some(now)))
        .filter(Column::TokenHash.eq(token_hash))
        .filter(Column::UsedAt.is_null())
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Revokes every refresh token of a family. Returns how many were still live.
pub async fn revoke_family(
    db: &DatabaseConnection,
    family_id: &str,
    now: i64,
) -> Result<u64, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::RevokedAt, Expr::value(Some(now)))
        .filter(Column::FamilyId.eq(family_id))
        .filter(Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Revokes every live refresh token issued for an identity. Returns how many were live.
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
