//! Signing keys and the JWKS. Keys live in the database, the private part sealed by the
//! master key; they are parsed once at start-up and RS256 signing goes through aws-lc-rs.

use std::collections::HashMap;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{self, KeyPair as _};
use axum::body::Bytes;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::{DatabaseConnection, DbErr};
use serde_json::json;

use crate::crypto::{CryptoError, MasterKey, sha256};
use crate::store::signing_keys;

const SEAL_PURPOSE: &str = "signing-key";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Database(#[from] DbErr),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("signing key {kid} is unusable: {reason}")]
    Unusable { kid: String, reason: String },
    #[error("RSA key generation failed")]
    Generate,
    #[error("key generation task failed: {0}")]
    Task(String),
}

pub struct KeySet {
    kid: String,
    key_pair: KeyPair,
    rng: SystemRandom,
    public: HashMap<String, PublicKeyComponents<Vec<u8>>>,
    jwks: Bytes,
}

impl KeySet {
    /// Loads the keys, generating and storing an RS256 key when there is none.
    pub async fn load_or_create(
        db: &DatabaseConnection,
        master: &MasterKey,
    ) -> Result<KeySet, KeyError> {
        let mut rows = signing_keys::list(db).await?;
        if !rows.iter().any(|row| row.active && row.alg == "RS256") {
            let master = master.clone();
            let row = tokio::task::spawn_blocking(move || generate_rs256(&master))
                .await
                .map_err(|e| KeyError::Task(e.to_string()))??;
            tracing::info!(kid = %row.kid, "generated RS256 signing key");
            signing_keys::insert(db, row).await?;
            // Re-read so that nodes starting at the same moment agree on the oldest key.
            rows = signing_keys::list(db).await?;
        }
        KeySet::from_rows(&rows, master)
    }

    fn from_rows(rows: &[signing_keys::Model], master: &MasterKey) -> Result<KeySet, KeyError> {
        let active = rows
            .iter()
            .filter(|row| row.active && row.alg == "RS256")
            .min_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)))
            .ok_or_else(|| KeyError::Unusable {
                kid: "-".into(),
                reason: "no active RS256 key".into(),
            })?;
        let der = master.open(SEAL_PURPOSE, &active.private_key_encrypted)?;
        let key_pair = KeyPair::from_pkcs8(&der).map_err(|e| KeyError::Unusable {
            kid: active.kid.clone(),
            reason: e.to_string(),
        })?;

        let mut public = HashMap::new();
        let mut jwks_keys = Vec::new();
        for row in rows.iter().filter(|row| row.alg == "RS256") {
            let jwk: serde_json::Value =
                serde_json::from_str(&row.public_jwk).map_err(|e| KeyError::Unusable {
                    kid: row.kid.clone(),
                    reason: e.to_string(),
                })?;
            let component = |name: &str| {
                jwk[name]
                    .as_str()
                    .and_then(|text| URL_SAFE_NO_PAD.decode(text).ok())
                    .ok_or_else(|| KeyError::Unusable {
                        kid: row.kid.clone(),
                        reason: format!("public JWK has no valid `{name}`"),
                    })
            };
            public.insert(
                row.kid.clone(),
                PublicKeyComponents {
                    n: component("n")?,
                    e: component("e")?,
                },
            );
            jwks_keys.push(jwk);
        }
        let jwks = Bytes::from(json!({ "keys": jwks_keys }).to_string());

        Ok(KeySet {
            kid: active.kid.clone(),
            key_pair,
            rng: SystemRandom::new(),
            public,
            jwks,
        })
    }

    pub fn jwks(&self) -> Bytes {
        self.jwks.clone()
    }

    /// Signs a JWT with the active key: RS256, `kid` set, `typ` as given.
    pub fn sign_jwt(&self, typ: &str, claims: &serde_json::Value) -> Result<String, CryptoError> {
        let header = json!({ "alg": "RS256", "typ": typ, "kid": self.kid });
        let mut token = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key_pair.public_modulus_len()];
        self.key_pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &self.rng,
                token.as_bytes(),
                &mut signature,
            )
            .map_err(|_| CryptoError::from_static("RSA signing failed"))?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(token)
    }

    /// Verifies a JWT signed by one of our keys and returns its header and claims. Claims
    /// (issuer, expiry) are the caller's to check.
    pub fn verify_jwt(&self, token: &str) -> Option<(serde_json::Value, serde_json::Value)> {
        let mut parts = token.split('.');
        let (header_b64, claims_b64, signature_b64) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header_b64).ok()?).ok()?;
        if header["alg"] != "RS256" {
            return None;
        }
        let key = self.public.get(header["kid"].as_str()?)?;
        let signature = URL_SAFE_NO_PAD.decode(signature_b64).ok()?;
        let signed = &token[..header_b64.len() + 1 + claims_b64.len()];
        key.verify(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            signed.as_bytes(),
            &signature,
        )
        .ok()?;
        let claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims_b64).ok()?).ok()?;
        Some((header, claims))
    }
}

fn generate_rs256(master: &MasterKey) -> Result<signing_keys::Model, KeyError> {
    let key_pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
    let pkcs8 = key_pair.as_der().map_err(|_| KeyError::Generate)?;
    let public = key_pair.public_key();
    let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
    let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());

    // RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order.
    let thumbprint_input = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    let kid = URL_SAFE_NO_PAD.encode(sha256(thumbprint_input.as_bytes()));
    let jwk = json!({ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e });

    Ok(signing_keys::Model {
        kid,
        alg: "RS256".into(),
        private_key_encrypted: master.seal(SEAL_PURPOSE, pkcs8.as_ref())?,
        public_jwk: jwk.to_string(),
        active: true,
        created_at: crate::clock::now(),
    })
}
