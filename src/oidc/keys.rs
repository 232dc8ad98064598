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
        if !rows
            .iter()
            .any(|row| row.active && row.alg == "RS256" && row.retire_after.is_none())
        {
            let master = master.clone();
            let row = tokio::task::spawn_blocking(move || generate_rs256(&master))
                .await
                .map_err(|e| KeyError::Task(e.to_string()))??;
            tracing::info!(kid = %row.kid, "generated RS256 signing key");
            signing_keys::insert(db, row).await?;
            // Re-read so that nodes starting at the same moment agree on the oldest key.
            rows = signing_keys::list(db).await?;
        }
        KeySet::from_rows(&rows, master, crate::clock::now())
    }

    /// Builds the key set as of `now`. The signing key is the one with the latest `use_from`
    /// that has been reached (ties go to the oldest, so nodes that generated keys at the same
    /// moment agree); the JWKS holds every key not yet past `retire_after`, including keys
    /// published ahead of use.
    fn from_rows(
        rows: &[signing_keys::Model],
        master: &MasterKey,
        now: i64,
    ) -> Result<KeySet, KeyError> {
        let active = signer(rows, now).ok_or_else(|| KeyError::Unusable {
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
        for row in rows
            .iter()
            .filter(|row| row.alg == "RS256" && row.retire_after.is_none_or(|retire| retire > now))
        {
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

    /// The `kid` of the key that signs new tokens.
    pub fn kid(&self) -> &str {
        &self.kid
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
        use_from: 0,
        retire_after: None,
    })
}

/// The key that signs at `now`; see [`KeySet::from_rows`].
fn signer(rows: &[signing_keys::Model], now: i64) -> Option<&signing_keys::Model> {
    rows.iter()
        .filter(|row| {
            row.active
                && row.alg == "RS256"
                && row.use_from <= now
                && row.retire_after.is_none_or(|retire| retire > now)
        })
        .max_by(|a, b| {
            a.use_from
                .cmp(&b.use_from)
                .then_with(|| (&b.created_at, &b.kid).cmp(&(&a.created_at, &a.kid)))
        })
}

/// Describes the rows that decide the key set at `now`, to tell whether a reload changes it.
fn fingerprint(rows: &[signing_keys::Model], now: i64) -> String {
    let signing = signer(rows, now).map_or("-", |row| row.kid.as_str());
    let published: Vec<&str> = rows
        .iter()
        .filter(|row| row.retire_after.is_none_or(|retire| retire > now))
        .map(|row| row.kid.as_str())
        .collect();
    format!("{signing}|{}", published.join(","))
}

/// Adds a new RS256 key that is published at once and signs from `now + use_in_secs`. Every
/// older key leaves the JWKS `retire_grace_secs` after that, when the tokens it signed have
/// expired.
pub async fn rotate(
    db: &DatabaseConnection,
    master: &MasterKey,
    now: i64,
    use_in_secs: i64,
    retire_grace_secs: i64,
) -> Result<signing_keys::Model, KeyError> {
    let sealing = master.clone();
    let mut row = tokio::task::spawn_blocking(move || generate_rs256(&sealing))
        .await
        .map_err(|e| KeyError::Task(e.to_string()))??;
    row.created_at = now;
    row.use_from = now + use_in_secs.max(0);
    signing_keys::insert(db, row.clone()).await?;
    signing_keys::retire_others(db, &row.kid, row.use_from + retire_grace_secs).await?;
    tracing::info!(kid = %row.kid, use_from = row.use_from, "signing key added by rotation");
    Ok(row)
}

/// The node's current key set. Every node re-reads the keys from the database on a timer, so
/// a rotation made on one node (or with the CLI) reaches all of them.
pub struct Keys {
    current: std::sync::RwLock<std::sync::Arc<KeySet>>,
    fingerprint: std::sync::Mutex<String>,
}

impl Keys {
    pub fn new(set: KeySet) -> Keys {
        Keys {
            current: std::sync::RwLock::new(std::sync::Arc::new(set)),
            fingerprint: std::sync::Mutex::new(String::new()),
        }
    }

    pub fn current(&self) -> std::sync::Arc<KeySet> {
        match self.current.read() {
            Ok(set) => set.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn jwks(&self) -> Bytes {
        self.current().jwks()
    }

    pub fn kid(&self) -> String {
        self.current().kid().to_owned()
    }

    pub fn sign_jwt(&self, typ: &str, claims: &serde_json::Value) -> Result<String, CryptoError> {
        self.current().sign_jwt(typ, claims)
    }

    pub fn verify_jwt(&self, token: &str) -> Option<(serde_json::Value, serde_json::Value)> {
        self.current().verify_jwt(token)
    }

    /// Re-reads the keys and swaps in a new set when the signing key or the published keys
    /// changed. Returns true when it swapped.
    pub async fn reload(
        &self,
        db: &DatabaseConnection,
        master: &MasterKey,
        now: i64,
    ) -> Result<bool, KeyError> {
        let rows = signing_keys::list(db).await?;
        let print = fingerprint(&rows, now);
        if self
            .fingerprint
            .lock()
            .map(|known| *known == print)
            .unwrap_or(false)
        {
            return Ok(false);
        }
        let set = KeySet::from_rows(&rows, master, now)?;
        let kid = set.kid.clone();
        if let Ok(mut current) = self.current.write() {
            *current = std::sync::Arc::new(set);
        }
        let first = if let Ok(mut known) = self.fingerprint.lock() {
            let first = known.is_empty();
            *known = print;
            first
        } else {
            false
        };
        if !first {
            tracing::info!(kid = %kid, "signing keys changed; new set in use");
        }
        Ok(true)
    }
}

/// Re-reads the keys every `keys.reload_interval_ms` until `stop` turns true.
pub async fn run_reloader(
    state: std::sync::Arc<crate::app::AppState>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let interval = std::time::Duration::from_millis(state.config.keys.reload_interval_ms.max(10));
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
        if let Err(error) = rotate_when_due(&state).await {
            tracing::error!(error = %error, "scheduled key rotation failed");
        }
        if let Err(error) = state
            .keys
            .reload(&state.db, &state.master_key, state.clock.now())
            .await
        {
            tracing::error!(error = %error, "signing keys could not be reloaded");
        }
    }
}

/// Rotates the keys when the newest RS256 key is `keys.rotate_every_secs` old. Returns the
/// new key when it rotated.
pub async fn rotate_when_due(
    state: &crate::app::AppState,
) -> Result<Option<signing_keys::Model>, KeyError> {
    let every = state.config.keys.rotate_every_secs;
    if every <= 0 {
        return Ok(None);
    }
    let now = state.clock.now();
    let rows = signing_keys::list(&state.db).await?;
    let newest = rows
        .iter()
        .filter(|row| row.alg == "RS256")
        .map(|row| row.created_at)
        .max();
    if newest.is_some_and(|created_at| now - created_at < every) {
        return Ok(None);
    }
    // NOTE: two nodes reaching this at the same moment each add a key. Both are published
    // and every node picks the same signer, so tokens stay valid; the spare key retires at
    // the next rotation.
    let row = rotate(
        &state.db,
        &state.master_key,
        now,
        state.config.keys.publish_before_use_secs,
        state.config.key_retire_grace_secs(),
    )
    .await?;
    Ok(Some(row))
}
