//! Levels of assurance (`acr` values) and how they compare.

pub const LOA_PASSWORD: &str = "urn:unilogin:loa:1";
pub const LOA_PASSWORD_SMS: &str = "urn:unilogin:loa:2";
pub const LOA_CERTIFICATE: &str = "urn:unilogin:loa:3";

/// Every `acr` value the provider issues, lowest first.
pub const SUPPORTED: [&str; 3] = [LOA_PASSWORD, LOA_PASSWORD_SMS, LOA_CERTIFICATE];

fn rank(acr: &str) -> Option<usize> {
    SUPPORTED.iter().position(|known| *known == acr)
}

/// Returns the lowest supported level among requested `acr_values`. None means none is
/// supported, so the request sets no requirement.
pub fn minimum_requested(acr_values: &str) -> Option<usize> {
    acr_values.split(' ').filter_map(rank).min()
}

/// Returns whether a session at `session_acr` meets `acr_values`. A higher level satisfies a
/// request for a lower one.
pub fn satisfies(session_acr: &str, acr_values: Option<&str>) -> bool {
    let Some(required) = acr_values.and_then(minimum_requested) else {
        return true;
    };
    rank(session_acr).is_some_and(|level| level >= required)
}

/// Returns whether only certificate sign-in can meet `acr_values`.
pub fn requires_certificate(acr_values: Option<&str>) -> bool {
    acr_values.and_then(minimum_requested) == rank(LOA_CERTIFICATE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_level_satisfies_lower() {
        assert!(satisfies(LOA_CERTIFICATE, Some(LOA_PASSWORD_SMS)));
        assert!(!satisfies(LOA_PASSWORD_SMS, Some(LOA_CERTIFICATE)));
        assert!(satisfies(
            LOA_PASSWORD_SMS,
            Some("urn:other urn:unilogin:loa:2")
        ));
        assert!(satisfies(LOA_PASSWORD, Some("urn:unknown")));
        assert!(satisfies(LOA_PASSWORD, None));
    }

    #[test]
    fn certificate_required_only_for_level_three() {
        assert!(requires_certificate(Some(LOA_CERTIFICATE)));
        assert!(!requires_certificate(Some(
            "urn:unilogin:loa:3 urn:unilogin:loa:2"
        )));
        assert!(!requires_certificate(None));
    }
}
