//! Claims about the identity a user chose, released under the `enterprise` scope.

use sea_orm::{DatabaseConnection, DbErr};
use serde_json::{Map, Value, json};

use crate::store::{enterprises, identities};

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
