//! Systems: the relying parties (OIDC clients) registered with the platform.

use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "systems")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub client_id: String,
    pub name: String,
    /// SHA-256 of the client secret, hex. Secrets are 256-bit random values, so a fast hash
    /// is enough and keeps the token endpoint fast.
    pub secret_hash: String,
    /// JSON array of exact redirect URIs.
    pub redirect_uris: String,
    /// JSON array of exact post-logout redirect URIs.
    pub post_logout_redirect_uris: String,
    /// `client_secret_basic` or `client_secret_post`; both are accepted at the token endpoint.
    pub token_endpoint_auth_method: String,
    pub created_at: i64,
    /// The system's third-party-initiated login URI (OIDC Core §4), opened from the portal.
    pub initiate_login_uri: Option<String>,
    /// The system's home page, opened from the portal when it has no initiate_login_uri.
    pub home_uri: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    pub fn redirect_uri_list(&self) -> Vec<String> {
        serde_json::from_str(&self.redirect_uris).unwrap_or_default()
    }

    pub fn post_logout_redirect_uri_list(&self) -> Vec<String> {
        serde_json::from_str(&self.post_logout_redirect_uris).unwrap_or_default()
    }
}

pub struct NewSystem<'a> {
    pub client_id: &'a str,
    pub name: &'a str,
    pub secret_hash: String,
    pub redirect_uris: &'a [String],
    pub post_logout_redirect_uris: &'a [String],
    pub initiate_login_uri: Option<&'a str>,
    pub home_uri: Option<&'a str>,
}

pub async fn find_by_client_id(
    db: &DatabaseConnection,
    client_id: &str,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::ClientId.eq(client_id))
        .one(db)
        .await
}

pub async fn list(db: &DatabaseConnection) -> Result<Vec<Model>, DbErr> {
    Entity::find().all(db).await
}

pub async fn insert(
    db: &DatabaseConnection,
    system: NewSystem<'_>,
    now: i64,
) -> Result<Model, DbErr> {
    ActiveModel {
        client_id: Set(system.client_id.to_owned()),
        name: Set(system.name.to_owned()),
        secret_hash: Set(system.secret_hash),
        redirect_uris: Set(serde_json::Value::from(system.redirect_uris.to_vec()).to_string()),
        post_logout_redirect_uris: Set(serde_json::Value::from(
            system.post_logout_redirect_uris.to_vec(),
        )
        .to_string()),
        token_endpoint_auth_method: Set("client_secret_basic".to_owned()),
        created_at: Set(now),
        initiate_login_uri: Set(system.initiate_login_uri.map(str::to_owned)),
        home_uri: Set(system.home_uri.map(str::to_owned)),
        ..Default::default()
    }
    .insert(db)
    .await
}
