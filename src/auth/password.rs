//! Password hashing with argon2id. Hashing runs on the blocking pool behind a semaphore, so a
//! burst of sign-ins queues instead of stalling the async runtime or exhausting memory
//! (each hash takes 19 MiB with the default parameters).

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password hashing task failed: {0}")]
    Task(String),
}

#[derive(Clone)]
pub struct PasswordHasherPool {
    permits: Arc<Semaphore>,
    /// Hash of a random password, verified when the account does not exist so that the
    /// response time does not reveal which phones have accounts.
    dummy_hash: Arc<str>,
}

fn argon2() -> Argon2<'static> {
    // OWASP's first argon2id choice: m = 19 MiB, t = 2, p = 1.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_blocking(password: &str) -> Result<String, HashError> {
    let salt_bytes = crate::crypto::random_bytes(16).map_err(|e| HashError::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| HashError::Hash(e.to_string()))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| HashError::Hash(e.to_string()))
}

fn verify_blocking(password: &str, encoded: &str) -> bool {
    match PasswordHash::new(encoded) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

impl PasswordHasherPool {
    pub fn new(concurrency: usize) -> Result<PasswordHasherPool, HashError> {
        let random = crate::crypto::random_token().map_err(|e| HashError::Hash(e.to_string()))?;
        Ok(PasswordHasherPool {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash: hash_blocking(&random)?.into(),
        })
    }

    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError::Task(e.to_string()))?;
        tokio::task::spawn_blocking(move || hash_blocking(&password))
            .await
            .map_err(|e| HashError::Task(e.to_string()))?
    }

    /// Runs other CPU-heavy password work, such as checking an old fund-system hash, under the
    /// same concurrency limit.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError::Task(e.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| HashError::Task(e.to_string()))
    }

    /// Verifies `password` against `encoded`, or against the dummy hash when `encoded` is None.
    pub async fn verify(
        &self,
        password: String,
        encoded: Option<String>,
    ) -> Result<bool, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| HashError::Task(e.to_string()))?;
        let exists = encoded.is_some();
        let encoded = encoded.unwrap_or_else(|| self.dummy_hash.to_string());
        let matches = tokio::task::spawn_blocking(move || verify_blocking(&password, &encoded))
            .await
            .map_err(|e| HashError::Task(e.to_string()))?;
        Ok(exists && matches)
    }
}

/// Generates a random initial password that the user must change at first sign-in: 12
/// characters from letters, digits and symbols, with each class present so it passes the
/// password policy. Ambiguous characters (0/O, 1/l/I) are left out.
pub fn initial_password() -> Result<String, crate::crypto::CryptoError> {
    const CLASSES: [&[u8]; 4] = [
        b"ABCDEFGHJKLMNPQRSTUVWXYZ",
        b"abcdefghijkmnpqrstuvwxyz",
        b"23456789",
        b"@#%+=?",
    ];
    let random = crate::crypto::random_bytes(12)?;
    let mut password: String = random
        .iter()
        .enumerate()
        .map(|(i, byte)| {
            let class = CLASSES[i % CLASSES.len()];
            char::from(class[usize::from(*byte) % class.len()])
        })
        .collect();
    if crate::domain::password_policy::check(&password).is_err() {
        password.push_str("Aa1@");
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_only_same_password() {
        let hash = hash_blocking("Correct-horse-1").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_blocking("Correct-horse-1", &hash));
        assert!(!verify_blocking("correct-horse-1", &hash));
        assert!(!verify_blocking("Correct-horse-1", "not a hash"));
    }
}
