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
    /// `client_secret_basic` or `client_secret_post` (both accepted at the token endpoint),
    /// `private_key_jwt`, or `none` for a public client.
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
    /// The client's public keys, a JWK Set, for `private_key_jwt` client assertions.
    pub jwks: Option<String>,
    /// URL that receives logout tokens (OpenID Connect Back-Channel Logout 1.0).
    pub backchannel_logout_uri: Option<String>,
    /// Loaded in an iframe on sign-out (OpenID Connect Front-Channel Logout 1.0).
    pub frontchannel_logout_uri: Option<String>,
    /// Whether authorization requests must come through PAR (RFC 9126).
    pub require_par: bool,
    /// `public` (the account id) or `pairwise` (OpenID Connect Core §8.1).
    pub subject_type: String,
    /// Host whose clients share pairwise identifiers; None means the redirect URIs' host.
    pub sector_identifier: Option<String>,
    /// Signature algorithm of the client's ID tokens and logout tokens: RS256, ES256 or EdDSA.
    pub id_token_signed_response_alg: String,
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

/// Client authentication methods (OpenID Connect Core §9).
pub const AUTH_SECRET_BASIC: &str = "client_secret_basic";
pub const AUTH_SECRET_POST: &str = "client_secret_post";
pub const AUTH_PRIVATE_KEY_JWT: &str = "private_key_jwt";
pub const AUTH_NONE: &str = "none";
/// Subject identifier types (OpenID Connect Core §8).
pub const SUBJECT_PUBLIC: &str = "public";
pub const SUBJECT_PAIRWISE: &str = "pairwise";

pub const AUTH_METHODS: [&str; 4] = [
    AUTH_SECRET_BASIC,
    AUTH_SECRET_POST,
    AUTH_PRIVATE_KEY_JWT,
    AUTH_NONE,
];

impl Model {
    /// Returns whether the client is public, with no credentials and PKCE alone.
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == AUTH_NONE
    }

    /// Returns the sector of a pairwise client: the configured sector identifier, or the host
    /// of its first redirect URI. None for a client with public subjects.
    pub fn pairwise_sector(&self) -> Option<String> {
        if self.subject_type != SUBJECT_PAIRWISE {
            return None;
        }
        if let Some(sector) = &self.sector_identifier {
            return Some(sector.clone());
        }
        let first = self.redirect_uri_list().into_iter().next()?;
        url::Url::parse(&first)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
    }

    /// Returns whether the client authenticates with its secret (basic and post are both
    /// accepted).
    pub fn uses_secret(&self) -> bool {
        self.token_endpoint_auth_method == AUTH_SECRET_BASIC
            || self.token_endpoint_auth_method == AUTH_SECRET_POST
    }

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

#[derive(Default)]
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
    /// One of the `AUTH_*` methods; empty means `client_secret_basic`.
    pub auth_method: &'a str,
    pub jwks: Option<&'a str>,
    pub backchannel_logout_uri: Option<&'a str>,
    pub frontchannel_logout_uri: Option<&'a str>,
    pub require_par: bool,
    /// True gives the client pairwise subject identifiers.
    pub pairwise: bool,
    pub sector_identifier: Option<&'a str>,
    /// One of `oidc::keys::ALGS`; empty means RS256.
    pub id_token_alg: &'a str,
}

pub async fn find_by_client_id<C: ConnectionTrait>(
    db: &C,
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
        token_endpoint_auth_method: Set(if system.auth_method.is_empty() {
            AUTH_SECRET_BASIC.to_owned()
        } else {
            system.auth_method.to_owned()
        }),
        created_at: Set(now),
        initiate_login_uri: Set(system.initiate_login_uri.map(str::to_owned)),
        home_uri: Set(system.home_uri.map(str::to_owned)),
        identity_types: Set(
            serde_json::to_string(system.identity_types).unwrap_or_else(|_| "[]".into())
        ),
        provisioning_endpoint: Set(system.provisioning_endpoint.map(str::to_owned)),
        jwks: Set(system.jwks.map(str::to_owned)),
        backchannel_logout_uri: Set(system.backchannel_logout_uri.map(str::to_owned)),
        frontchannel_logout_uri: Set(system.frontchannel_logout_uri.map(str::to_owned)),
        require_par: Set(system.require_par),
        subject_type: Set(if system.pairwise {
            SUBJECT_PAIRWISE
        } else {
            SUBJECT_PUBLIC
        }
        .to_owned()),
        sector_identifier: Set(system.sector_identifier.map(str::to_owned)),
        id_token_signed_response_alg: Set(if system.id_token_alg.is_empty() {
            "RS256".to_owned()
        } else {
            system.id_token_alg.to_owned()
        }),
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
    pub backchannel_logout_uri: Option<String>,
    pub frontchannel_logout_uri: Option<String>,
    pub require_par: Option<bool>,
    /// A new JWK Set of a `private_key_jwt` client; not settable through the platform API.
    #[serde(skip)]
    pub jwks: Option<String>,
    /// One of `oidc::keys::ALGS`; not settable through the platform API.
    #[serde(skip)]
    pub id_token_signed_response_alg: Option<String>,
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
    if let Some(uri) = change.backchannel_logout_uri {
        model.backchannel_logout_uri = Set(optional(uri));
    }
    if let Some(uri) = change.frontchannel_logout_uri {
        model.frontchannel_logout_uri = Set(optional(uri));
    }
    if let Some(required) = change.require_par {
        model.require_par = Set(required);
    }
    if let Some(jwks) = change.jwks {
        model.jwks = Set(Some(jwks));
    }
    if let Some(alg) = change.id_token_signed_response_alg {
        model.id_token_signed_response_alg = Set(alg);
    }
    model.update(db).await
}
