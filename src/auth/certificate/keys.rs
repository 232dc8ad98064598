//! Public key types and signature checks shared by chain verification and challenge login.

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_ASN1,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_2048_8192_SHA384, RSA_PKCS1_2048_8192_SHA512,
    UnparsedPublicKey, VerificationAlgorithm,
};
use sm2::dsa::signature::Verifier;
use x509_parser::oid_registry::Oid;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::CertError;

/// SM2 distinguishing identifier (user ID) that Ukeys and CAs use when none is agreed.
pub(super) const SM2_DISTID: &str = "1234567812345678";

const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_CURVE_P256: &str = "1.2.840.10045.3.1.7";
const OID_CURVE_P384: &str = "1.3.132.0.34";
const OID_CURVE_SM2: &str = "1.2.156.10197.1.301";

/// Key algorithm of a certificate's subject public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PublicKeyType {
    Rsa,
    P256,
    P384,
    Sm2,
}

/// Signature algorithm, as named by a certificate, CRL or challenge request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SignatureScheme {
    RsaPkcs1Sha256,
    RsaPkcs1Sha384,
    RsaPkcs1Sha512,
    EcdsaP256Sha256,
    EcdsaP384Sha384,
    Sm3WithSm2,
}

impl SignatureScheme {
    /// Maps a certificate or CRL signatureAlgorithm OID to a scheme.
    pub(super) fn from_oid(oid: &Oid<'_>) -> Result<Self, CertError> {
        match oid.to_id_string().as_str() {
            "1.2.840.113549.1.1.11" => Ok(Self::RsaPkcs1Sha256),
            "1.2.840.113549.1.1.12" => Ok(Self::RsaPkcs1Sha384),
            "1.2.840.113549.1.1.13" => Ok(Self::RsaPkcs1Sha512),
            "1.2.840.10045.4.3.2" => Ok(Self::EcdsaP256Sha256),
            "1.2.840.10045.4.3.3" => Ok(Self::EcdsaP384Sha384),
            "1.2.156.10197.1.501" => Ok(Self::Sm3WithSm2),
            other => Err(CertError::UnsupportedAlgorithm(format!(
                "signature algorithm {other}"
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::RsaPkcs1Sha256 => "SHA256withRSA",
            Self::RsaPkcs1Sha384 => "SHA384withRSA",
            Self::RsaPkcs1Sha512 => "SHA512withRSA",
            Self::EcdsaP256Sha256 => "SHA256withECDSA",
            Self::EcdsaP384Sha384 => "SHA384withECDSA",
            Self::Sm3WithSm2 => "SM3withSM2",
        }
    }

    fn key_type(self) -> PublicKeyType {
        match self {
            Self::RsaPkcs1Sha256 | Self::RsaPkcs1Sha384 | Self::RsaPkcs1Sha512 => {
                PublicKeyType::Rsa
            }
            Self::EcdsaP256Sha256 => PublicKeyType::P256,
            Self::EcdsaP384Sha384 => PublicKeyType::P384,
            Self::Sm3WithSm2 => PublicKeyType::Sm2,
        }
    }
}

/// Signature encodings accepted for ECDSA and SM2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SignatureEncoding {
    /// DER SEQUENCE { r, s }, as in certificates and CRLs.
    Der,
    /// DER, or the raw 64-byte r || s that some Ukey helpers return.
    DerOrRaw,
}

/// Determines the key algorithm from the SubjectPublicKeyInfo algorithm and curve OIDs.
pub(super) fn public_key_type(spki: &SubjectPublicKeyInfo<'_>) -> Result<PublicKeyType, CertError> {
    let algorithm = spki.algorithm.algorithm.to_id_string();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|parameters| parameters.as_oid().ok())
        .map(|oid| oid.to_id_string());

    match (algorithm.as_str(), curve.as_deref()) {
        (OID_RSA_ENCRYPTION, _) => Ok(PublicKeyType::Rsa),
        (OID_EC_PUBLIC_KEY, Some(OID_CURVE_P256)) => Ok(PublicKeyType::P256),
        (OID_EC_PUBLIC_KEY, Some(OID_CURVE_P384)) => Ok(PublicKeyType::P384),
        (OID_EC_PUBLIC_KEY, Some(OID_CURVE_SM2)) => Ok(PublicKeyType::Sm2),
        // Some SM2 certificates name the curve OID as the key algorithm itself.
        (OID_CURVE_SM2, _) => Ok(PublicKeyType::Sm2),
        (other, curve) => Err(CertError::UnsupportedAlgorithm(format!(
            "public key {other} (curve {})",
            curve.unwrap_or("none")
        ))),
    }
}

/// Verifies `signature` over `message` with the public key in `spki`. The key type must match
/// the scheme, and RSA keys must be 2048 to 8192 bits long.
// NOTE: certificates or Ukeys with 1024-bit RSA keys are rejected as BadSignature.
pub(super) fn verify_signature(
    spki: &SubjectPublicKeyInfo<'_>,
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
    encoding: SignatureEncoding,
) -> Result<(), CertError> {
    let key_type = public_key_type(spki)?;
    if key_type != scheme.key_type() {
        return Err(CertError::UnsupportedAlgorithm(format!(
            "{} with a {key_type:?} public key",
            scheme.name()
        )));
    }

    let key = spki.subject_public_key.data.as_ref();
    let raw_allowed = encoding == SignatureEncoding::DerOrRaw && signature.len() == 64;

    match scheme {
        SignatureScheme::RsaPkcs1Sha256 => {
            aws_verify(&RSA_PKCS1_2048_8192_SHA256, key, message, signature)
        }
        SignatureScheme::RsaPkcs1Sha384 => {
            aws_verify(&RSA_PKCS1_2048_8192_SHA384, key, message, signature)
        }
        SignatureScheme::RsaPkcs1Sha512 => {
            aws_verify(&RSA_PKCS1_2048_8192_SHA512, key, message, signature)
        }
        SignatureScheme::EcdsaP384Sha384 => {
            aws_verify(&ECDSA_P384_SHA384_ASN1, key, message, signature)
        }
        SignatureScheme::EcdsaP256Sha256 => {
            let der_result = aws_verify(&ECDSA_P256_SHA256_ASN1, key, message, signature);
            if der_result.is_ok() || !raw_allowed {
                return der_result;
            }
            aws_verify(&ECDSA_P256_SHA256_FIXED, key, message, signature)
        }
        SignatureScheme::Sm3WithSm2 => verify_sm2(key, message, signature, raw_allowed),
    }
}

fn aws_verify(
    algorithm: &'static dyn VerificationAlgorithm,
    key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), CertError> {
    UnparsedPublicKey::new(algorithm, key)
        .verify(message, signature)
        .map_err(|_| CertError::BadSignature)
}

/// Verifies SM3withSM2: the sm2 crate hashes SM3(ZA || message), where ZA binds the signer's
/// public key and the distinguishing identifier.
fn verify_sm2(
    sec1_key: &[u8],
    message: &[u8],
    signature: &[u8],
    raw_allowed: bool,
) -> Result<(), CertError> {
    let verifying_key = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DISTID, sec1_key)
        .map_err(|_| CertError::malformed("the SM2 public key is not a valid curve point"))?;

    let parsed = match sm2::dsa::Signature::from_der(signature) {
        Ok(parsed) => parsed,
        Err(_) if raw_allowed => {
            sm2::dsa::Signature::from_slice(signature).map_err(|_| CertError::BadSignature)?
        }
        Err(_) => return Err(CertError::BadSignature),
    };

    verifying_key
        .verify(message, &parsed)
        .map_err(|_| CertError::BadSignature)
}
