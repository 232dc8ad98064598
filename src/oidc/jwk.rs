//! Public keys read from JWKs, and JWS signature checks with them. Both the provider's own
//! keys and the keys clients register go through here.

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// A public key: RSA (2048 bits or more), EC P-256 or OKP Ed25519.
#[derive(Debug, Clone)]
pub enum PublicKey {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// An uncompressed P-256 point: 0x04, x, y.
    P256(Vec<u8>),
    Ed25519(Vec<u8>),
}

impl PublicKey {
    /// Reads the public members of a JWK. The error names the member or property at fault.
    pub fn from_jwk(jwk: &Value) -> Result<PublicKey, String> {
        let member = |name: &str| {
            jwk[name]
                .as_str()
                .and_then(|text| URL_SAFE_NO_PAD.decode(text).ok())
                .ok_or_else(|| format!("has no valid `{name}`"))
        };
        match (jwk["kty"].as_str(), jwk["crv"].as_str()) {
            (Some("RSA"), _) => {
                let n = member("n")?;
                let bits = n.iter().skip_while(|byte| **byte == 0).count() * 8;
                if bits < 2048 {
                    return Err(format!(
                        "is an RSA key of about {bits} bits; use 2048 bits or more"
                    ));
                }
                Ok(PublicKey::Rsa { n, e: member("e")? })
            }
            (Some("EC"), Some("P-256")) => {
                let (x, y) = (member("x")?, member("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err("is not a valid P-256 point".into());
                }
                Ok(PublicKey::P256([&[4u8][..], &x, &y].concat()))
            }
            (Some("OKP"), Some("Ed25519")) => {
                let x = member("x")?;
                if x.len() != 32 {
                    return Err("is not a 32-byte Ed25519 key".into());
                }
                Ok(PublicKey::Ed25519(x))
            }
            (kty, crv) => Err(format!(
                "has unsupported type {} {}; use RSA, EC P-256 or OKP Ed25519",
                kty.unwrap_or("-"),
                crv.unwrap_or("")
            )),
        }
    }

    /// Returns whether `signature` over `message` verifies with this key under `alg`
    /// (RS256, PS256, ES256 or EdDSA). Any other pairing of algorithm and key is false.
    pub fn verify(&self, alg: &str, message: &[u8], signature: &[u8]) -> bool {
        match (alg, self) {
            ("RS256", PublicKey::Rsa { n, e }) => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, signature)
                .is_ok(),
            ("PS256", PublicKey::Rsa { n, e }) => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PSS_2048_8192_SHA256, message, signature)
                .is_ok(),
            ("ES256", PublicKey::P256(point)) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, signature)
                    .is_ok()
            }
            ("EdDSA" | "Ed25519", PublicKey::Ed25519(public)) => {
                UnparsedPublicKey::new(&signature::ED25519, public)
                    .verify(message, signature)
                    .is_ok()
            }
            _ => false,
        }
    }
}
