//! Claims about the account and the identity a user chose. Scopes and the `claims` request
//! parameter decide which are released; this module builds them.

use sea_orm::{DatabaseConnection, DbErr};
use serde_json::{Map, Value, json};

use crate::domain::claims_request::ENTERPRISE_CLAIMS;
use crate::domain::phone::Phone;
use crate::store::{accounts, enterprises, identities};

/// Builds the claims of the account and identity that `is_released` selects by name:
/// `name`, `phone_number`, `phone_number_verified` and the enterprise claims. Unknown names
/// select nothing.
pub async fn user_claims(
    db: &DatabaseConnection,
    account: &accounts::Model,
    identity_id: Option<i32>,
    is_released: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Map<String, Value>, DbErr> {
    let mut claims = Map::new();
    if is_released("name") {
        claims.insert("name".into(), json!(account.name));
    }
    if is_released("phone_number") {
        let e164 = Phone::parse(&account.phone)
            .map(|p| p.as_e164().to_owned())
            .unwrap_or_else(|_| account.phone.clone());
        claims.insert("phone_number".into(), json!(e164));
    }
    if is_released("phone_number_verified") {
        // The account signs in with codes sent to this number, which proves possession.
        claims.insert("phone_number_verified".into(), json!(true));
    }
    if ENTERPRISE_CLAIMS.iter().any(|name| is_released(name))
        && let Some(identity) = enterprise_claims(db, identity_id).await?
    {
        claims.extend(identity.into_iter().filter(|(name, _)| is_released(name)));
    }
    Ok(claims)
}

/// Claims of one identity: `org_uscc`, `org_code`, `org_name`, `identity_type`, `operator_id`,
/// `identity_id` and `enterprise_admin`. None when the session has no identity.
pub async fn enterprise_claims(
    db: &DatabaseConnection,
    identity_id: Option<i32>,
) -> Result<Option<Map<String, Value>>, DbErr> {
    let Some(identity_id) = identity_id else {
        return Ok(None);
    };
    let Some(identity) = identities::find_by_id(db, identity_id).await? else {
        return Ok(None);
    };
    let enterprise = enterprises::find_by_id(db, identity.enterprise_id).await?;
    let mut claims = Map::new();
    claims.insert(
        "org_uscc".into(),
        json!(enterprise.as_ref().and_then(|e| e.uscc.clone())),
    );
    claims.insert(
        "org_code".into(),
        json!(enterprise.as_ref().map(|e| e.org_code.clone())),
    );
    claims.insert(
        "org_name".into(),
        json!(enterprise.as_ref().map(|e| e.name.clone())),
    );
    claims.insert("identity_type".into(), json!(identity.identity_type));
    claims.insert("operator_id".into(), json!(identity.operator_id));
    claims.insert("identity_id".into(), json!(identity.id));
    claims.insert("enterprise_admin".into(), json!(identity.is_admin));
    Ok(Some(claims))
}
