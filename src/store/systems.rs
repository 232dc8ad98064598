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
    /// JSON array of the identity types the system offers: `{"code", "applicable"}`.
    pub identity_types: String,
    /// URL that receives provisioning events (signed Security Event Tokens); None sends none.
    pub provisioning_endpoint: Option<String>,
}

/// An identity type a system offers, and whether enterprises may apply for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OfferedType {
    pub code: String,
    pub applicable: bool,
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

    pub fn offered_types(&self) -> Vec<OfferedType> {
        serde_json::from_str(&self.identity_types).unwrap_or_default()
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
    pub identity_types: &'a [OfferedType],
    pub provisioning_endpoint: Option<&'a str>,
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
        identity_types: Set(
            serde_json::to_string(system.identity_types).unwrap_or_else(|_| "[]".into())
        ),
        provisioning_endpoint: Set(system.provisioning_endpoint.map(str::to_owned)),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Changes to a registered system; None leaves a value as it is.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SystemUpdate {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub identity_types: Option<Vec<OfferedType>>,
    pub provisioning_endpoint: Option<String>,
    pub initiate_login_uri: Option<String>,
    pub home_uri: Option<String>,
}

/// Applies an update; an empty string clears the optional URIs.
pub async fn update(
    db: &DatabaseConnection,
    existing: Model,
    change: SystemUpdate,
) -> Result<Model, DbErr> {
    use sea_orm::IntoActiveModel;
    let optional = |value: String| (!value.is_empty()).then_some(value);
    let mut model = existing.into_active_model();
    if let Some(name) = change.name {
        model.name = Set(name);
    }
    if let Some(uris) = change.redirect_uris {
        model.redirect_uris = Set(serde_json::Value::from(uris).to_string());
    }
    if let Some(uris) = change.post_logout_redirect_uris {
        model.post_logout_redirect_uris = Set(serde_json::Value::from(uris).to_string());
    }
    if let Some(types) = change.identity_types {
        model.identity_types =
            Set(serde_json::to_string(&types).map_err(|e| DbErr::Custom(e.to_string()))?);
    }
    if let Some(endpoint) = change.provisioning_endpoint {
        model.provisioning_endpoint = Set(optional(endpoint));
    }
    if let Some(uri) = change.initiate_login_uri {
        model.initiate_login_uri = Set(optional(uri));
    }
    if let Some(uri) = change.home_uri {
        model.home_uri = Set(optional(uri));
    }
    model.update(db).await
}
