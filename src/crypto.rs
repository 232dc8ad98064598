//! Small cryptographic helpers over aws-lc-rs: random tokens, hashes of secrets, HMAC and
//! authenticated encryption with the master key.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::{constant_time, digest, hmac, rand};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

#[derive(Debug, thiserror::Error)]
#[error("cryptographic operation failed: {0}")]
pub struct CryptoError(&'static str);

impl CryptoError {
    pub fn from_static(reason: &'static str) -> CryptoError {
        CryptoError(reason)
    }
}

/// Returns `len` bytes from the operating system's CSPRNG.
pub fn random_bytes(len: usize) -> Result<Vec<u8>, CryptoError> {
    let mut bytes = vec![0u8; len];
    rand::fill(&mut bytes).map_err(|_| CryptoError("random number generator unavailable"))?;
    Ok(bytes)
}

/// Returns a URL-safe token carrying 256 bits of randomness.
pub fn random_token() -> Result<String, CryptoError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes(32)?))
}

/// Returns a uniformly random decimal string of `digits` digits.
pub fn random_digits(digits: usize) -> Result<String, CryptoError> {
    let mut out = String::with_capacity(digits);
    while out.len() < digits {
        let byte = random_bytes(1)?[0];
        // Rejecting 250..=255 keeps every digit equally likely.
        if byte < 250 {
            out.push(char::from(b'0' + byte % 10));
        }
    }
    Ok(out)
}

/// SHA-256 of a secret as base64url, the form in which codes and tokens are stored.
pub fn sha256_b64(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, secret.as_bytes()))
}

pub fn sha256(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, data).as_ref().to_vec()
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// The 32-byte root secret. Subkeys are derived from it per purpose with HMAC-SHA256, so a
/// leaked CSRF key does not reveal the key that encrypts signing keys.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    pub fn from_base64(text: &str) -> Option<MasterKey> {
        let bytes = STANDARD.decode(text.trim()).ok()?;
        <[u8; 32]>::try_from(bytes.as_slice()).ok().map(MasterKey)
    }

    pub fn generate() -> Result<MasterKey, CryptoError> {
        let bytes = random_bytes(32)?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map(MasterKey)
            .map_err(|_| CryptoError("random number generator returned a short key"))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Derives the subkey for one purpose, such as `csrf` or `signing-key-encryption`.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let tag = hmac::sign(&key, format!("unilogin/{purpose}/v1").as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Encrypts with AES-256-GCM under the `purpose` subkey. Output: base64(nonce || ciphertext).
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<String, CryptoError> {
        let key = self.aead_key(purpose)?;
        let nonce_bytes = random_bytes(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(&nonce_bytes)
            .map_err(|_| CryptoError("invalid nonce length"))?;
        let mut in_out = plaintext.to_vec();
        key.seal_in_place_append_tag(nonce, Aad::from(purpose.as_bytes()), &mut in_out)
            .map_err(|_| CryptoError("encryption failed"))?;
        let mut out = nonce_bytes;
        out.extend_from_slice(&in_out);
        Ok(STANDARD.encode(out))
    }

    pub fn open(&self, purpose: &str, sealed: &str) -> Result<Vec<u8>, CryptoError> {
        let key = self.aead_key(purpose)?;
        let bytes = STANDARD
            .decode(sealed)
            .map_err(|_| CryptoError("sealed value is not base64"))?;
        if bytes.len() < NONCE_LEN {
            return Err(CryptoError("sealed value is too short"));
        }
        let (nonce_bytes, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce_bytes)
            .map_err(|_| CryptoError("invalid nonce length"))?;
        let mut in_out = ciphertext.to_vec();
        let plaintext = key
            .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut in_out)
            .map_err(|_| CryptoError("decryption failed: wrong master key or damaged data"))?;
        Ok(plaintext.to_vec())
    }

    fn aead_key(&self, purpose: &str) -> Result<LessSafeKey, CryptoError> {
        let unbound = UnboundKey::new(&AES_256_GCM, &self.derive(purpose))
            .map_err(|_| CryptoError("invalid AES key"))?;
        Ok(LessSafeKey::new(unbound))
    }
}

/// HMAC-SHA256 over `message` with a derived subkey, as base64url.
pub fn hmac_b64(key: &[u8; 32], message: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    URL_SAFE_NO_PAD.encode(hmac::sign(&key, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_value_opens_only_with_same_key() {
        let key = MasterKey([7u8; 32]);
        let sealed = key.seal("test", b"secret").unwrap();
        assert_eq!(key.open("test", &sealed).unwrap(), b"secret");
        assert!(MasterKey([8u8; 32]).open("test", &sealed).is_err());
        assert!(key.open("other-purpose", &sealed).is_err());
    }

    #[test]
    fn random_digits_have_requested_length() {
        let code = random_digits(6).unwrap();
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
    }
}
