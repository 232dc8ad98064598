//! CSRF tokens bound to the browser cookie: HMAC-SHA256 of the cookie value under a key
//! derived from the master key. Any node can check them without shared state.

use crate::crypto::{constant_time_eq, hmac_b64};

pub fn token(key: &[u8; 32], cookie_value: &str) -> String {
    hmac_b64(key, format!("csrf:{cookie_value}").as_bytes())
}

pub fn verify(key: &[u8; 32], cookie_value: Option<&str>, submitted: &str) -> bool {
    match cookie_value {
        Some(cookie) if !submitted.is_empty() => {
            constant_time_eq(token(key, cookie).as_bytes(), submitted.as_bytes())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn token_bound_to_cookie() {
        let key = [1u8; 32];
        let token = super::token(&key, "cookie-a");
        assert!(super::verify(&key, Some("cookie-a"), &token));
        assert!(!super::verify(&key, Some("cookie-b"), &token));
        assert!(!super::verify(&key, None, &token));
        assert!(!super::verify(&key, Some("cookie-a"), ""));
    }
}
