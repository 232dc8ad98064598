//! Sign-in sessions. The row id is the SHA-256 of the cookie value, so a database leak does not
//! hand out live sessions.

use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;

/// The session is signed in and may complete authorizations.
pub const STATE_ACTIVE: &str = "active";
/// The password was right but must be changed before anything else.
pub const STATE_PASSWORD_CHANGE: &str = "password_change_required";
/// Signed in, but the identity to use has to be chosen first.
pub const STATE_SELECT_IDENTITY: &str = "select_identity";
/// Signed in, but the chosen identity needs a real-name submission first.
pub const STATE_REALNAME_REQUIRED: &str = "realname_required";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: i32,
    /// The identity chosen for this session, when the account has enterprise identities.
    pub identity_id: Option<i32>,
    /// The enterprise of a certificate session; its administrator identities are the choices.
    pub enterprise_id: Option<i32>,
    /// SHA-256 of the certificate that started a certificate session, lowercase hex.
    pub certificate_fingerprint: Option<String>,
    pub state: String,
    pub auth_time: i64,
    /// Space-separated authentication methods (RFC 8176), such as `pwd sms mfa`.
    pub amr: String,
    pub acr: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub source_ip: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub struct NewSession<'a> {
    pub id: String,
    pub account_id: i32,
    pub identity_id: Option<i32>,
    pub enterprise_id: Option<i32>,
    pub certificate_fingerprint: Option<&'a str>,
    pub state: &'a str,
    pub amr: &'a str,
    pub acr: &'a str,
    pub expires_at: i64,
    pub source_ip: &'a str,
}

pub async fn insert(
    db: &DatabaseConnection,
    session: NewSession<'_>,
    now: i64,
) -> Result<Model, DbErr> {
    ActiveModel {
        id: Set(session.id),
        account_id: Set(session.account_id),
        identity_id: Set(session.identity_id),
        enterprise_id: Set(session.enterprise_id),
        certificate_fingerprint: Set(session.certificate_fingerprint.map(str::to_owned)),
        state: Set(session.state.to_owned()),
        auth_time: Set(now),
        amr: Set(session.amr.to_owned()),
        acr: Set(session.acr.to_owned()),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(session.expires_at),
        source_ip: Set(session.source_ip.to_owned()),
    }
    .insert(db)
    .await
}

pub async fn find(db: &DatabaseConnection, id: &str) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id.to_owned()).one(db).await
}

pub async fn touch(db: &DatabaseConnection, id: &str, now: i64) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::LastSeenAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Sets the chosen identity and makes the session active.
pub async fn choose_identity(
    db: &DatabaseConnection,
    id: &str,
    identity_id: i32,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::IdentityId, Expr::value(Some(identity_id)))
        .col_expr(Column::State, Expr::value(STATE_ACTIVE))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_state(db: &DatabaseConnection, id: &str, state: &str) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::State, Expr::value(state))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn delete<C: ConnectionTrait>(db: &C, id: &str) -> Result<(), DbErr> {
    Entity::delete_by_id(id.to_owned()).exec(db).await?;
    Ok(())
}

/// Lists the sessions that use an identity.
pub async fn find_for_identity(
    db: &DatabaseConnection,
    identity_id: i32,
) -> Result<Vec<Model>, DbErr> {
    Entity::find()
        .filter(Column::IdentityId.eq(identity_id))
        .all(db)
        .await
}

/// Sets the identity and the state of a session.
pub async fn set_identity_state(
    db: &DatabaseConnection,
    id: &str,
    identity_id: Option<i32>,
    state: &str,
) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::IdentityId, Expr::value(identity_id))
        .col_expr(Column::State, Expr::value(state))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
