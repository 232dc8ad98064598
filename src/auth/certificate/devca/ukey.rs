//! Ukey stand-ins: the PKCS#12 export of a key with its chain, and challenge signatures.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use sm2::dsa::signature::Signer as _;
use sm2::pkcs8::DecodePrivateKey as _;

use super::super::CertError;
use super::super::extract::{fingerprint_sha256, pem_blocks};
use super::super::keys::SM2_DISTID;
use super::super::signature::ChallengeAlgorithm;
use super::{Issued, PKCS12_PASSWORD};

/// Signs `message` with a PKCS#8 PEM private key, as a Ukey does for challenge login.
/// RSA gives PKCS#1 v1.5 with SHA-256, ECDSA and SM2 give DER signatures, and SM2 uses the
/// user ID 1234567812345678.
pub fn sign_challenge(
    key_pem: &str,
    algorithm: ChallengeAlgorithm,
    message: &[u8],
) -> Result<Vec<u8>, CertError> {
    let pkcs8 = pem_blocks(key_pem.as_bytes(), "PRIVATE KEY")?
        .into_iter()
        .next()
        .ok_or_else(|| CertError::malformed("the key PEM has no PRIVATE KEY block"))?;
    let wrong_key = |error: &dyn std::fmt::Display| {
        CertError::UnsupportedAlgorithm(format!("{} with this key: {error}", algorithm.name()))
    };
    let rng = SystemRandom::new();

    match algorithm {
        ChallengeAlgorithm::RsaPkcs1Sha256 => {
            let key = RsaKeyPair::from_pkcs8(&pkcs8).map_err(|error| wrong_key(&error))?;
            let mut signature = vec![0; key.public_modulus_len()];
            key.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                .map_err(|error| wrong_key(&error))?;
            Ok(signature)
        }
        ChallengeAlgorithm::EcdsaP256Sha256 => {
            let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8)
                .map_err(|error| wrong_key(&error))?;
            let signature = key.sign(&rng, message).map_err(|error| wrong_key(&error))?;
            Ok(signature.as_ref().to_vec())
        }
        ChallengeAlgorithm::Sm3WithSm2 => {
            let secret_key =
                sm2::SecretKey::from_pkcs8_der(&pkcs8).map_err(|error| wrong_key(&error))?;
            let key = sm2::dsa::SigningKey::new(SM2_DISTID, &secret_key)
                .map_err(|error| wrong_key(&error))?;
            let signature: sm2::dsa::Signature =
                key.try_sign(message).map_err(|error| wrong_key(&error))?;
            Ok(signature.to_der().as_bytes().to_vec())
        }
    }
}

pub(super) fn pkcs12(issued: &Issued, ca_der: &[u8], alias: &str) -> Result<Vec<u8>, CertError> {
    use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};

    let p12_error =
        |error: p12_keystore::error::Error| CertError::DevCa(format!("PKCS#12: {error}"));
    let pkcs8 = pem_blocks(issued.key_pem.as_bytes(), "PRIVATE KEY")?
        .into_iter()
        .next()
        .ok_or_else(|| CertError::DevCa("the issued key has no PRIVATE KEY block".to_owned()))?;

    let chain = PrivateKeyChain::new(
        fingerprint_sha256(&issued.cert_der),
        PrivateKey::from_der(&pkcs8).map_err(p12_error)?,
        [
            Certificate::from_der(&issued.cert_der).map_err(p12_error)?,
            Certificate::from_der(ca_der).map_err(p12_error)?,
        ],
    );
    let mut store = KeyStore::new();
    store.add_entry(alias, KeyStoreEntry::PrivateKeyChain(chain));
    store.writer(PKCS12_PASSWORD).write().map_err(p12_error)
}
