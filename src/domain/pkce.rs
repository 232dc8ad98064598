//! PKCE (RFC 7636) with the S256 method only; `plain` is rejected as RFC 9700 §2.1.1 advises.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Checks the syntax shared by verifiers and S256 challenges: 43 to 128 characters of
/// `[A-Za-z0-9-._~]` (RFC 7636 §4.1, §4.2).
pub fn is_valid_syntax(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Computes the S256 challenge of a verifier, given the SHA-256 function to use.
pub fn s256_challenge(verifier: &str, sha256: impl Fn(&[u8]) -> Vec<u8>) -> String {
    URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_bounds() {
        assert!(is_valid_syntax(&"a".repeat(43)));
        assert!(is_valid_syntax(&"a".repeat(128)));
        assert!(!is_valid_syntax(&"a".repeat(42)));
        assert!(!is_valid_syntax(&"a".repeat(129)));
        assert!(!is_valid_syntax(&format!("{}+", "a".repeat(43))));
    }
}
