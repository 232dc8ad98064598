//! Scopes understood by the provider.

/// Scopes offered to relying parties. `enterprise` is reserved for enterprise identity claims.
pub const SUPPORTED: [&str; 4] = ["openid", "profile", "phone", "enterprise"];

/// Splits a scope parameter, keeps the supported scopes in request order without duplicates,
/// and drops the rest (RFC 6749 §3.3 lets the server grant fewer scopes than requested).
pub fn granted(requested: &str) -> Vec<&'static str> {
    let mut granted: Vec<&'static str> = Vec::new();
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        if let Some(known) = SUPPORTED.iter().find(|known| **known == scope)
            && !granted.contains(known)
        {
            granted.push(known);
        }
    }
    granted
}

pub fn contains(scope: &str, expected: &str) -> bool {
    scope.split(' ').any(|s| s == expected)
}

#[cfg(test)]
mod tests {
    #[test]
    fn granted_keeps_known_scopes_once() {
        assert_eq!(
            super::granted("openid  phone email openid"),
            vec!["openid", "phone"]
        );
        assert!(super::granted("email").is_empty());
    }
}
