//! Signing keys and the JWKS. Keys live in the database, the private part sealed by the
//! master key; they are parsed once at start-up, and RS256, ES256 and EdDSA signing go
//! through aws-lc-rs. Each algorithm has its own signing key and rotates with the others.

use std::collections::HashMap;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use axum::body::Bytes;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::{DatabaseConnection, DbErr};
use serde_json::json;

use super::jwk::PublicKey;
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

/// Signature algorithms of ID tokens, RS256 first as the default (OpenID Connect Core §15.1
/// requires it); a client may choose another.
pub const ALGS: [&str; 3] = ["RS256", "ES256", "EdDSA"];

/// A private key that signs, by algorithm.
enum Signer {
    Rsa(KeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

pub struct KeySet {
    /// The signing key of each algorithm: `kid` and key.
    signers: HashMap<&'static str, (String, Signer)>,
    rng: SystemRandom,
    /// The published keys by `kid`, each with the algorithm it signs with.
    public: HashMap<String, (String, PublicKey)>,
    jwks: Bytes,
}

impl KeySet {
    /// Loads the keys, generating and storing a key of each algorithm that has none.
    pub async fn load_or_create(
        db: &DatabaseConnection,
        master: &MasterKey,
    ) -> Result<KeySet, KeyError> {
        let mut rows = signing_keys::list(db).await?;
        let mut generated = false;
        for alg in ALGS {
            if rows
                .iter()
                .any(|row| row.active && row.alg == alg && row.retire_after.is_none())
            {
                continue;
            }
            let master = master.clone();
            let row = tokio::task::spawn_blocking(move || generate(alg, &master))
                .await
                .map_err(|e| KeyError::Task(e.to_string()))??;
            tracing::info!(kid = %row.kid, alg, "generated signing key");
            signing_keys::insert(db, row).await?;
            generated = true;
        }
        if generated {
            // Re-read so that nodes starting at the same moment agree on the oldest key.
            rows = signing_keys::list(db).await?;
        }
        KeySet::from_rows(&rows, master, crate::clock::now())
    }

    /// Builds the key set as of `now`. The signing key of each algorithm is the one with the
    /// latest `use_from` that has been reached (ties go to the oldest, so nodes that generated
    /// keys at the same moment agree). The JWKS contains every key not yet past
    /// `retire_after`, including keys published ahead of use.
    fn from_rows(
        rows: &[signing_keys::Model],
        master: &MasterKey,
        now: i64,
    ) -> Result<KeySet, KeyError> {
        let mut signers = HashMap::new();
        for alg in ALGS {
            let Some(row) = signer(rows, now, alg) else {
                continue;
            };
            let unusable = |reason: String| KeyError::Unusable {
                kid: row.kid.clone(),
                reason,
            };
            let der = master.open(SEAL_PURPOSE, &row.private_key_encrypted)?;
            let key = match alg {
                "RS256" => {
                    Signer::Rsa(KeyPair::from_pkcs8(&der).map_err(|e| unusable(e.to_string()))?)
                }
                "ES256" => Signer::Ec(
                    EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                        .map_err(|e| unusable(e.to_string()))?,
                ),
                _ => Signer::Ed(
                    Ed25519KeyPair::from_pkcs8(&der).map_err(|e| unusable(e.to_string()))?,
                ),
            };
            signers.insert(alg, (row.kid.clone(), key));
        }
        if !signers.contains_key("RS256") {
            return Err(KeyError::Unusable {
                kid: "-".into(),
                reason: "no active RS256 key".into(),
            });
        }

        let mut public = HashMap::new();
        let mut jwks_keys = Vec::new();
        for row in rows
            .iter()
            .filter(|row| ALGS.contains(&row.alg.as_str()))
            .filter(|row| row.retire_after.is_none_or(|retire| retire > now))
        {
            let jwk: serde_json::Value =
                serde_json::from_str(&row.public_jwk).map_err(|e| KeyError::Unusable {
                    kid: row.kid.clone(),
                    reason: e.to_string(),
                })?;
            let key = PublicKey::from_jwk(&jwk).map_err(|reason| KeyError::Unusable {
                kid: row.kid.clone(),
                reason: format!("public JWK {reason}"),
            })?;
            public.insert(row.kid.clone(), (row.alg.clone(), key));
            jwks_keys.push(jwk);
        }
        let jwks = Bytes::from(json!({ "keys": jwks_keys }).to_string());

        Ok(KeySet {
            signers,
            rng: SystemRandom::new(),
            public,
            jwks,
        })
    }

    pub fn jwks(&self) -> Bytes {
        self.jwks.clone()
    }

    /// The `kid` of the RS256 key that signs new tokens.
    pub fn kid(&self) -> &str {
        self.signers
            .get("RS256")
            .map_or("", |(kid, _)| kid.as_str())
    }

    /// Signs a JWT with the active RS256 key, `kid` set, `typ` as given.
    pub fn sign_jwt(&self, typ: &str, claims: &serde_json::Value) -> Result<String, CryptoError> {
        self.sign_jwt_with("RS256", typ, claims)
    }

    /// Signs a JWT with the active key of `alg` (one of `ALGS`).
    pub fn sign_jwt_with(
        &self,
        alg: &str,
        typ: &str,
        claims: &serde_json::Value,
    ) -> Result<String, CryptoError> {
        let (kid, key) = self.signers.get(alg).ok_or_else(|| {
            CryptoError::from_static("no signing key for the requested algorithm")
        })?;
        let header = json!({ "alg": alg, "typ": typ, "kid": kid });
        let mut token = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let failed = |_| CryptoError::from_static("signing failed");
        let signature = match key {
            Signer::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &self.rng,
                    token.as_bytes(),
                    &mut signature,
                )
                .map_err(failed)?;
                signature
            }
            Signer::Ec(pair) => pair
                .sign(&self.rng, token.as_bytes())
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            Signer::Ed(pair) => pair.sign(token.as_bytes()).as_ref().to_vec(),
        };
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
        let (alg, key) = self.public.get(header["kid"].as_str()?)?;
        // The key decides the algorithm, so a header cannot switch a key to another one.
        if header["alg"].as_str()? != alg {
            return None;
        }
        let signature = URL_SAFE_NO_PAD.decode(signature_b64).ok()?;
        let signed = &token.as_bytes()[..header_b64.len() + 1 + claims_b64.len()];
        if !key.verify(alg, signed, &signature) {
            return None;
        }
        let claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims_b64).ok()?).ok()?;
        Some((header, claims))
    }
}

/// Generates a key of `alg` and seals its private part.
fn generate(alg: &str, master: &MasterKey) -> Result<signing_keys::Model, KeyError> {
    match alg {
        "RS256" => generate_rs256(master),
        "ES256" => {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &SystemRandom::new(),
            )
            .map_err(|_| KeyError::Generate)?;
            let pair = EcdsaKeyPair::from_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                pkcs8.as_ref(),
            )
            .map_err(|_| KeyError::Generate)?;
            let point = pair.public_key().as_ref();
            let x = URL_SAFE_NO_PAD.encode(&point[1..33]);
            let y = URL_SAFE_NO_PAD.encode(&point[33..65]);
            // RFC 7638 thumbprint members in lexicographic order.
            let thumbprint = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
            let kid = URL_SAFE_NO_PAD.encode(sha256(thumbprint.as_bytes()));
            let jwk = json!({ "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid, "x": x, "y": y });
            sealed_row(master, "ES256", kid, jwk, pkcs8.as_ref())
        }
        _ => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map_err(|_| KeyError::Generate)?;
            let pair =
                Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| KeyError::Generate)?;
            let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
            let thumbprint = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
            let kid = URL_SAFE_NO_PAD.encode(sha256(thumbprint.as_bytes()));
            let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": kid, "x": x });
            sealed_row(master, "EdDSA", kid, jwk, pkcs8.as_ref())
        }
    }
}

fn sealed_row(
    master: &MasterKey,
    alg: &str,
    kid: String,
    jwk: serde_json::Value,
    pkcs8: &[u8],
) -> Result<signing_keys::Model, KeyError> {
    Ok(signing_keys::Model {
        kid,
        alg: alg.into(),
        private_key_encrypted: master.seal(SEAL_PURPOSE, pkcs8)?,
        public_jwk: jwk.to_string(),
        active: true,
        created_at: crate::clock::now(),
        use_from: 0,
        retire_after: None,
    })
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

/// Returns the key of `alg` that signs at `now`, as [`KeySet::from_rows`] describes.
fn signer<'a>(
    rows: &'a [signing_keys::Model],
    now: i64,
    alg: &str,
) -> Option<&'a signing_keys::Model> {
    rows.iter()
        .filter(|row| {
            row.active
                && row.alg == alg
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
    let signing: Vec<&str> = ALGS
        .iter()
        .map(|alg| signer(rows, now, alg).map_or("-", |row| row.kid.as_str()))
        .collect();
    let signing = signing.join(",");
    let published: Vec<&str> = rows
        .iter()
        .filter(|row| row.retire_after.is_none_or(|retire| retire > now))
        .map(|row| row.kid.as_str())
        .collect();
    format!("{signing}|{}", published.join(","))
}

/// Adds a new key of every algorithm that is published at once and signs from
/// `now + use_in_secs`. Every older key leaves the JWKS `retire_grace_secs` after that, when
/// the tokens it signed have expired. Returns the new RS256 key.
pub async fn rotate(
    db: &DatabaseConnection,
    master: &MasterKey,
    now: i64,
    use_in_secs: i64,
    retire_grace_secs: i64,
) -> Result<signing_keys::Model, KeyError> {
    // A key sealed with another master key would stop every node at its next reload, so the
    // master key must open the keys already stored.
    let rows = signing_keys::list(db).await?;
    if let Some(existing) = rows
        .iter()
        .find(|row| row.active && row.retire_after.is_none())
    {
        master
            .open(SEAL_PURPOSE, &existing.private_key_encrypted)
            .map_err(|_| KeyError::Unusable {
                kid: existing.kid.clone(),
                reason: "the master key does not open the stored signing keys; use the master key the server runs with".into(),
            })?;
    }
    let use_from = now.saturating_add(use_in_secs.max(0));
    let retire_after = use_from.saturating_add(retire_grace_secs);
    let mut rs256 = None;
    for alg in ALGS {
        let sealing = master.clone();
        let mut row = tokio::task::spawn_blocking(move || generate(alg, &sealing))
            .await
            .map_err(|e| KeyError::Task(e.to_string()))??;
        row.created_at = now;
        row.use_from = use_from;
        signing_keys::insert(db, row.clone()).await?;
        signing_keys::cancel_pending(db, alg, &row.kid, use_from, retire_after).await?;
        signing_keys::retire_others(db, alg, &row.kid, retire_after).await?;
        tracing::info!(kid = %row.kid, alg, use_from = row.use_from, "signing key added by rotation");
        if alg == "RS256" {
            rs256 = Some(row);
        }
    }
    rs256.ok_or(KeyError::Generate)
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

    pub fn sign_jwt_with(
        &self,
        alg: &str,
        typ: &str,
        claims: &serde_json::Value,
    ) -> Result<String, CryptoError> {
        self.current().sign_jwt_with(alg, typ, claims)
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
        let kid = set.kid().to_owned();
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
