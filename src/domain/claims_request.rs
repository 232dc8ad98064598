//! The `claims` request parameter (OpenID Connect Core §5.5): individual claims a client
//! asks for in the ID token or at UserInfo, beyond what its scopes release.

use serde_json::{Map, Value};

/// Longest accepted `claims` parameter, in bytes.
pub const MAX_LEN: usize = 4096;

/// Claims that each scope releases (OpenID Connect Core §5.4, plus `enterprise`).
pub const PROFILE_CLAIMS: [&str; 1] = ["name"];
pub const PHONE_CLAIMS: [&str; 2] = ["phone_number", "phone_number_verified"];
pub const ENTERPRISE_CLAIMS: [&str; 7] = [
    "org_uscc",
    "org_code",
    "org_name",
    "identity_type",
    "operator_id",
    "identity_id",
    "enterprise_admin",
];

/// The claim names requested for the ID token and for UserInfo, and the requirements on
/// the authentication itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimsRequest {
    pub id_token: Vec<String>,
    pub userinfo: Vec<String>,
    /// `id_token.sub.value`: the user the client expects, as `id_token_hint` names one.
    pub sub_value: Option<String>,
    /// `id_token.acr` `value` or `values` when essential, space-separated like `acr_values`.
    pub essential_acr: Option<String>,
}

impl ClaimsRequest {
    /// Parses the parameter. Each member of `id_token` and `userinfo` is `null` or an object
    /// (`essential`, `value`, `values`); other top-level members are ignored, as the spec
    /// allows for extensions.
    pub fn parse(text: &str) -> Result<ClaimsRequest, String> {
        if text.len() > MAX_LEN {
            return Err(format!("claims is longer than {MAX_LEN} bytes"));
        }
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("claims is not valid JSON: {e}"))?;
        let Value::Object(members) = value else {
            return Err("claims must be a JSON object".into());
        };
        let id_token = members.get("id_token").cloned().unwrap_or(Value::Null);
        let sub_value = id_token["sub"]["value"].as_str().map(str::to_owned);
        let acr = &id_token["acr"];
        let essential_acr = if acr["essential"] == Value::Bool(true) {
            let mut values: Vec<&str> = acr["values"]
                .as_array()
                .map(|items| items.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            values.extend(acr["value"].as_str());
            (!values.is_empty()).then(|| values.join(" "))
        } else {
            None
        };
        Ok(ClaimsRequest {
            id_token: names(&members, "id_token")?,
            userinfo: names(&members, "userinfo")?,
            sub_value,
            essential_acr,
        })
    }

    /// Serializes the request for storage with the grant.
    pub fn to_stored(&self) -> String {
        serde_json::json!({ "id_token": self.id_token, "userinfo": self.userinfo }).to_string()
    }

    /// Reads a stored request; anything unreadable counts as no request.
    pub fn from_stored(stored: Option<&str>) -> ClaimsRequest {
        let Some(value) = stored.and_then(|text| serde_json::from_str::<Value>(text).ok()) else {
            return ClaimsRequest::default();
        };
        let list = |key: &str| -> Vec<String> {
            value[key]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|item| item.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        ClaimsRequest {
            id_token: list("id_token"),
            userinfo: list("userinfo"),
            ..ClaimsRequest::default()
        }
    }
}

fn names(members: &Map<String, Value>, target: &str) -> Result<Vec<String>, String> {
    match members.get(target) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(claims)) => {
            for (name, request) in claims {
                if !matches!(request, Value::Null | Value::Object(_)) {
                    return Err(format!("claims.{target}.{name} must be null or an object"));
                }
            }
            Ok(claims.keys().cloned().collect())
        }
        Some(_) => Err(format!("claims.{target} must be a JSON object")),
    }
}

/// Returns whether the granted scope releases the claim.
pub fn scope_releases(scope: &str, claim: &str) -> bool {
    let has = |name: &str| super::scope::contains(scope, name);
    (has("profile") && PROFILE_CLAIMS.contains(&claim))
        || (has("phone") && PHONE_CLAIMS.contains(&claim))
        || (has("enterprise") && ENTERPRISE_CLAIMS.contains(&claim))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_both_targets() {
        let request = ClaimsRequest::parse(
            r#"{"userinfo":{"name":{"essential":true}},"id_token":{"phone_number":null}}"#,
        )
        .unwrap();
        assert_eq!(request.userinfo, vec!["name"]);
        assert_eq!(request.id_token, vec!["phone_number"]);
        assert_eq!(
            ClaimsRequest::from_stored(Some(&request.to_stored())),
            request
        );
    }

    #[test]
    fn parse_reads_sub_and_essential_acr() {
        let request = ClaimsRequest::parse(
            r#"{"id_token":{"sub":{"value":"7"},"acr":{"essential":true,"values":["a","b"]}}}"#,
        )
        .unwrap();
        assert_eq!(request.sub_value.as_deref(), Some("7"));
        assert_eq!(request.essential_acr.as_deref(), Some("a b"));

        let voluntary = ClaimsRequest::parse(r#"{"id_token":{"acr":{"values":["a"]}}}"#).unwrap();
        assert_eq!(voluntary.essential_acr, None);
    }

    #[test]
    fn parse_rejects_bad_shapes() {
        assert_eq!(
            ClaimsRequest::parse("[1]").unwrap_err(),
            "claims must be a JSON object"
        );
        assert_eq!(
            ClaimsRequest::parse(r#"{"userinfo":{"name":true}}"#).unwrap_err(),
            "claims.userinfo.name must be null or an object"
        );
        assert_eq!(
            ClaimsRequest::parse(r#"{"id_token":"name"}"#).unwrap_err(),
            "claims.id_token must be a JSON object"
        );
        assert!(
            ClaimsRequest::parse("{")
                .unwrap_err()
                .starts_with("claims is not valid JSON")
        );
    }

    #[test]
    fn scope_releases_by_scope() {
        assert!(scope_releases("openid profile", "name"));
        assert!(!scope_releases("openid", "name"));
        assert!(scope_releases("openid enterprise", "org_uscc"));
        assert!(!scope_releases("openid phone", "org_uscc"));
    }
}
