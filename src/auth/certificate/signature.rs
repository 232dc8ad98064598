//! Challenge-signature login: the Ukey helper signs a server nonce with the certificate's key.

use super::CertError;
use super::extract::parse_certificate;
use super::keys::{SignatureEncoding, SignatureScheme, verify_signature};

/// Signature algorithm named by the Ukey helper in a challenge response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeAlgorithm {
    Sm3WithSm2,
    RsaPkcs1Sha256,
    EcdsaP256Sha256,
}

impl ChallengeAlgorithm {
    /// Parses the names used by Ukey helpers (Java style) and by JOSE, case-insensitively.
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_uppercase().as_str() {
            "SM3WITHSM2" | "SM2" => Some(Self::Sm3WithSm2),
            "SHA256WITHRSA" | "RS256" => Some(Self::RsaPkcs1Sha256),
            "SHA256WITHECDSA" | "ES256" => Some(Self::EcdsaP256Sha256),
            _ => None,
        }
    }

    /// Java-style name, as written in audit events.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sm3WithSm2 => "SM3withSM2",
            Self::RsaPkcs1Sha256 => "SHA256withRSA",
            Self::EcdsaP256Sha256 => "SHA256withECDSA",
        }
    }

    fn scheme(self) -> SignatureScheme {
        match self {
            Self::Sm3WithSm2 => SignatureScheme::Sm3WithSm2,
            Self::RsaPkcs1Sha256 => SignatureScheme::RsaPkcs1Sha256,
            Self::EcdsaP256Sha256 => SignatureScheme::EcdsaP256Sha256,
        }
    }
}

/// Verifies a challenge signature over the exact `message` bytes with the certificate's
/// public key. SM2 and ECDSA signatures may be DER SEQUENCE { r, s } or raw 64-byte r || s.
/// SM2 uses the default user ID 1234567812345678. A key type that does not match
/// `algorithm` gives [`CertError::UnsupportedAlgorithm`].
///
/// This checks only the signature: verify the certificate with
/// [`super::TrustStore::verify`] as well.
pub fn verify_challenge(
    cert_der: &[u8],
    algorithm: ChallengeAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CertError> {
    let cert = parse_certificate(cert_der)?;

    verify_signature(
        cert.public_key(),
        algorithm.scheme(),
        message,
        signature,
        SignatureEncoding::DerOrRaw,
    )
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};

    use super::super::devca::{KeyKind, sign_challenge};
    use super::super::extract::pem_blocks;
    use super::super::test_support::issue;
    use super::*;

    const NONCE: &[u8] = b"3q2-7wAAAAD9nI0rX1H0kQ";

    fn algorithm_for(key: KeyKind) -> ChallengeAlgorithm {
        match key {
            KeyKind::Rsa => ChallengeAlgorithm::RsaPkcs1Sha256,
            KeyKind::P256 => ChallengeAlgorithm::EcdsaP256Sha256,
            KeyKind::Sm2 => ChallengeAlgorithm::Sm3WithSm2,
        }
    }

    #[test]
    fn parse_accepts_both_naming_styles() {
        let cases = [
            ("SM3withSM2", ChallengeAlgorithm::Sm3WithSm2),
            ("sm2", ChallengeAlgorithm::Sm3WithSm2),
            ("SHA256withRSA", ChallengeAlgorithm::RsaPkcs1Sha256),
            ("rs256", ChallengeAlgorithm::RsaPkcs1Sha256),
            ("sha256WithECDSA", ChallengeAlgorithm::EcdsaP256Sha256),
            ("ES256", ChallengeAlgorithm::EcdsaP256Sha256),
        ];

        for (name, expected) in cases {
            assert_eq!(ChallengeAlgorithm::parse(name), Some(expected), "{name}");
        }
        for name in ["", "SHA1withRSA", "PS256", "EdDSA"] {
            assert_eq!(ChallengeAlgorithm::parse(name), None, "{name}");
        }
    }

    #[test]
    fn verify_challenge_der_signatures() {
        for key in [KeyKind::Rsa, KeyKind::P256, KeyKind::Sm2] {
            let issued = issue(key);
            let algorithm = algorithm_for(key);
            let signature = sign_challenge(&issued.key_pem, algorithm, NONCE).unwrap();

            let result = verify_challenge(&issued.cert_der, algorithm, NONCE, &signature);

            assert_eq!(result, Ok(()), "{key:?}");
        }
    }

    #[test]
    fn verify_challenge_raw_sm2_signature() {
        let issued = issue(KeyKind::Sm2);
        let der = sign_challenge(&issued.key_pem, ChallengeAlgorithm::Sm3WithSm2, NONCE).unwrap();
        let raw = sm2::dsa::Signature::from_der(&der).unwrap().to_bytes();

        let result = verify_challenge(
            &issued.cert_der,
            ChallengeAlgorithm::Sm3WithSm2,
            NONCE,
            &raw,
        );

        assert_eq!(raw.len(), 64);
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn verify_challenge_raw_ecdsa_signature() {
        let issued = issue(KeyKind::P256);
        let pkcs8 = pem_blocks(issued.key_pem.as_bytes(), "PRIVATE KEY")
            .unwrap()
            .remove(0);
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8).unwrap();
        let raw = key.sign(&SystemRandom::new(), NONCE).unwrap();

        let result = verify_challenge(
            &issued.cert_der,
            ChallengeAlgorithm::EcdsaP256Sha256,
            NONCE,
            raw.as_ref(),
        );

        assert_eq!(raw.as_ref().len(), 64);
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn verify_challenge_rejects_other_message() {
        for key in [KeyKind::Rsa, KeyKind::P256, KeyKind::Sm2] {
            let issued = issue(key);
            let algorithm = algorithm_for(key);
            let signature = sign_challenge(&issued.key_pem, algorithm, NONCE).unwrap();

            let result =
                verify_challenge(&issued.cert_der, algorithm, b"another nonce", &signature);

            assert_eq!(result, Err(CertError::BadSignature), "{key:?}");
        }
    }

    #[test]
    fn verify_challenge_rejects_other_key() {
        for key in [KeyKind::Rsa, KeyKind::P256, KeyKind::Sm2] {
            let signer = issue(key);
            let other = issue(key);
            let algorithm = algorithm_for(key);
            let signature = sign_challenge(&signer.key_pem, algorithm, NONCE).unwrap();

            let result = verify_challenge(&other.cert_der, algorithm, NONCE, &signature);

            assert_eq!(result, Err(CertError::BadSignature), "{key:?}");
        }
    }

    #[test]
    fn verify_challenge_rejects_algorithm_key_mismatch() {
        for key in [KeyKind::Rsa, KeyKind::P256, KeyKind::Sm2] {
            let issued = issue(key);
            let signature = sign_challenge(&issued.key_pem, algorithm_for(key), NONCE).unwrap();

            for algorithm in [
                ChallengeAlgorithm::RsaPkcs1Sha256,
                ChallengeAlgorithm::EcdsaP256Sha256,
                ChallengeAlgorithm::Sm3WithSm2,
            ] {
                if algorithm == algorithm_for(key) {
                    continue;
                }
                let result = verify_challenge(&issued.cert_der, algorithm, NONCE, &signature);
                assert!(
                    matches!(result, Err(CertError::UnsupportedAlgorithm(_))),
                    "{key:?} {algorithm:?} {result:?}"
                );
            }
        }
    }

    #[test]
    fn sign_challenge_rejects_key_of_other_type() {
        let issued = issue(KeyKind::Sm2);

        for algorithm in [
            ChallengeAlgorithm::RsaPkcs1Sha256,
            ChallengeAlgorithm::EcdsaP256Sha256,
        ] {
            let result = sign_challenge(&issued.key_pem, algorithm, NONCE);
            assert!(
                matches!(result, Err(CertError::UnsupportedAlgorithm(_))),
                "{result:?}"
            );
        }
    }

    #[test]
    fn verify_challenge_malformed_inputs() {
        let issued = issue(KeyKind::Sm2);
        let algorithm = ChallengeAlgorithm::Sm3WithSm2;

        for cert in [&[][..], b"\x30\x82", &issued.cert_der[..100]] {
            let result = verify_challenge(cert, algorithm, NONCE, &[0; 64]);
            assert!(matches!(result, Err(CertError::Malformed(_))), "{result:?}");
        }
        for signature in [&[][..], &[0; 64], &[0x30, 0x00], &[0xff; 200]] {
            let result = verify_challenge(&issued.cert_der, algorithm, NONCE, signature);
            assert_eq!(result, Err(CertError::BadSignature), "{signature:?}");
        }
    }
}
