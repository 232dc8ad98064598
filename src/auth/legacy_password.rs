//! Password hashes of the old fund system. Stock operators prove their old password once; the
//! caller then stores an argon2id hash instead.
//!
//! Formats, named by the `password_scheme` column of the import file:
//! - `bcrypt`: `$2a$`, `$2b$` or `$2y$` modular crypt strings.
//! - `pbkdf2_sha256`: `pbkdf2_sha256$ITERATIONS$SALT$BASE64(DK)` with a 32-byte key (Django's format).
//! - `sha256_salted`: `SALT$HEX(SHA-256(SALT || PASSWORD))`.

use std::num::NonZeroU32;

use aws_lc_rs::{digest, pbkdf2};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::crypto::constant_time_eq;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Bcrypt,
    Pbkdf2Sha256,
    Sha256Salted,
}

/// The largest PBKDF2 iteration count accepted, so an imported row cannot stall a worker
/// (one million SHA-256 iterations take well under a second).
const MAX_PBKDF2_ITERATIONS: u32 = 1_000_000;
/// The largest bcrypt cost accepted: each step doubles the time, and cost 14 already takes
/// about a second.
const MAX_BCRYPT_COST: u32 = 14;

impl Scheme {
    pub fn parse(name: &str) -> Option<Scheme> {
        match name.trim() {
            "bcrypt" => Some(Scheme::Bcrypt),
            "pbkdf2_sha256" => Some(Scheme::Pbkdf2Sha256),
            "sha256_salted" => Some(Scheme::Sha256Salted),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Bcrypt => "bcrypt",
            Scheme::Pbkdf2Sha256 => "pbkdf2_sha256",
            Scheme::Sha256Salted => "sha256_salted",
        }
    }

    /// Checks that `hash` is well formed for this scheme. The error names what is wrong.
    pub fn check_format(self, hash: &str) -> Result<(), String> {
        match self {
            Scheme::Bcrypt => {
                let prefix_ok = ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p));
                if !prefix_ok || hash.len() != 60 {
                    return Err(
                        "a bcrypt hash is 60 characters starting with $2a$, $2b$ or $2y$".into(),
                    );
                }
                match bcrypt_cost(hash) {
                    Some(cost) if (4..=MAX_BCRYPT_COST).contains(&cost) => Ok(()),
                    _ => Err(format!("the bcrypt cost must be 4 to {MAX_BCRYPT_COST}")),
                }
            }
            Scheme::Pbkdf2Sha256 => parse_pbkdf2(hash).map(|_| ()),
            Scheme::Sha256Salted => parse_salted(hash).map(|_| ()),
        }
    }
}

fn bcrypt_cost(hash: &str) -> Option<u32> {
    hash.get(4..6)?.parse().ok()
}

struct Pbkdf2Hash<'a> {
    iterations: NonZeroU32,
    salt: &'a str,
    derived: Vec<u8>,
}

fn parse_pbkdf2(hash: &str) -> Result<Pbkdf2Hash<'_>, String> {
    let expected = "expected pbkdf2_sha256$ITERATIONS$SALT$BASE64";
    let mut parts = hash.split('$');
    let (Some("pbkdf2_sha256"), Some(iterations), Some(salt), Some(derived), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(expected.into());
    };
    let iterations = iterations
        .parse::<u32>()
        .ok()
        .filter(|n| *n <= MAX_PBKDF2_ITERATIONS)
        .and_then(NonZeroU32::new)
        .ok_or_else(|| format!("iterations `{iterations}` must be 1 to {MAX_PBKDF2_ITERATIONS}"))?;
    let derived = STANDARD
        .decode(derived)
        .map_err(|_| format!("{expected}: the key is not base64"))?;
    if derived.len() != 32 || salt.is_empty() {
        return Err(format!(
            "{expected}: the key must be 32 bytes and the salt non-empty"
        ));
    }
    Ok(Pbkdf2Hash {
        iterations,
        salt,
        derived,
    })
}

fn parse_salted(hash: &str) -> Result<(&str, Vec<u8>), String> {
    let expected = "expected SALT$HEX where HEX is 64 hexadecimal digits";
    let (salt, hex) = hash.rsplit_once('$').ok_or_else(|| expected.to_owned())?;
    if hex.len() != 64 {
        return Err(expected.into());
    }
    let digest = (0..32)
        .map(|i| u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| expected.to_owned())?;
    Ok((salt, digest))
}

/// Verifies `password` against a stored old hash. Malformed hashes never match. CPU-heavy for
/// bcrypt and PBKDF2: call it on the blocking pool.
pub fn verify(scheme: Scheme, hash: &str, password: &str) -> bool {
    match scheme {
        Scheme::Bcrypt => {
            scheme.check_format(hash).is_ok() && bcrypt::verify(password, hash).unwrap_or(false)
        }
        Scheme::Pbkdf2Sha256 => match parse_pbkdf2(hash) {
            Ok(parsed) => pbkdf2::verify(
                pbkdf2::PBKDF2_HMAC_SHA256,
                parsed.iterations,
                parsed.salt.as_bytes(),
                password.as_bytes(),
                &parsed.derived,
            )
            .is_ok(),
            Err(_) => false,
        },
        Scheme::Sha256Salted => match parse_salted(hash) {
            Ok((salt, expected)) => {
                let mut context = digest::Context::new(&digest::SHA256);
                context.update(salt.as_bytes());
                context.update(password.as_bytes());
                constant_time_eq(context.finish().as_ref(), &expected)
            }
            Err(_) => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pbkdf2_hash(password: &str, salt: &str, iterations: u32) -> String {
        let mut out = [0u8; 32];
        let rounds = NonZeroU32::new(iterations).unwrap();
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            rounds,
            salt.as_bytes(),
            password.as_bytes(),
            &mut out,
        );
        format!("pbkdf2_sha256${iterations}${salt}${}", STANDARD.encode(out))
    }

    #[test]
    fn bcrypt_verifies() {
        let hash = bcrypt::hash("Old-pass-1", 4).unwrap();
        assert_eq!(Scheme::Bcrypt.check_format(&hash), Ok(()));
        assert!(verify(Scheme::Bcrypt, &hash, "Old-pass-1"));
        assert!(!verify(Scheme::Bcrypt, &hash, "old-pass-1"));
    }

    #[test]
    fn pbkdf2_verifies() {
        let hash = pbkdf2_hash("Old-pass-1", "NaCl", 1000);
        assert_eq!(Scheme::Pbkdf2Sha256.check_format(&hash), Ok(()));
        assert!(verify(Scheme::Pbkdf2Sha256, &hash, "Old-pass-1"));
        assert!(!verify(Scheme::Pbkdf2Sha256, &hash, "Old-pass-2"));
    }

    #[test]
    fn salted_sha256_verifies() {
        // SHA-256("salt" || "password"), computed with Python's hashlib.
        let hash = "salt$13601bda4ea78e55a07b98866d2be6be0744e3866f13c00c811cab608a28f322";
        assert_eq!(Scheme::Sha256Salted.check_format(hash), Ok(()));
        assert!(verify(Scheme::Sha256Salted, hash, "password"));
        assert!(!verify(Scheme::Sha256Salted, hash, "Password"));
    }

    #[test]
    fn malformed_hashes_rejected() {
        assert!(Scheme::Bcrypt.check_format("$2b$short").is_err());
        let slow = format!("$2b$31${}", "a".repeat(53));
        assert_eq!(
            Scheme::Bcrypt.check_format(&slow),
            Err("the bcrypt cost must be 4 to 14".into())
        );
        assert!(!verify(Scheme::Bcrypt, &slow, "x"));
        assert!(
            Scheme::Pbkdf2Sha256
                .check_format("pbkdf2_sha256$0$salt$AAAA")
                .is_err()
        );
        assert!(
            Scheme::Pbkdf2Sha256
                .check_format("pbkdf2_sha256$99999999$salt$AAAA")
                .is_err()
        );
        assert!(Scheme::Sha256Salted.check_format("nodollar").is_err());
        assert!(Scheme::Sha256Salted.check_format("s$zz").is_err());
        assert!(!verify(Scheme::Sha256Salted, "s$zz", "x"));
    }
}
