//! The SM2 development CA. rcgen cannot write SM3withSM2 (OID 1.2.156.10197.1.501), so the
//! certificates and CRLs are built with x509-cert and signed with the sm2 crate.

use std::time::Duration;

use der::asn1::{Any, OctetString, Utf8StringRef};
use der::oid::ObjectIdentifier;
use der::oid::db::rfc4519::{COMMON_NAME, COUNTRY_NAME, ORGANIZATION_NAME};
use der::pem::LineEnding;
use der::{DateTime, Decode, Encode, EncodePem};
use sm2::dsa::signature::Signer;
use sm2::dsa::{DerSignature, Signature, SigningKey};
use sm2::elliptic_curve::Generate;
use sm2::pkcs8::{DecodePrivateKey, EncodePrivateKey};

use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder, CrlBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::crl::RevokedCert;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CrlNumber, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{
    SignatureBitStringEncoding, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef,
};
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, attr::AttributeTypeAndValue};

use super::super::CertError;
use super::super::keys::SM2_DISTID;

/// Subject attribute for a leaf certificate, beyond C, O and CN.
pub(super) struct ExtraAttribute {
    pub oid: ObjectIdentifier,
    pub value: String,
}

/// Contents of an SM2 leaf certificate.
pub(super) struct LeafRequest<'a> {
    pub name: &'a str,
    pub serial: &'a [u8],
    pub not_before: i64,
    pub not_after: i64,
    pub key_usage: KeyUsage,
    pub extra_attribute: Option<ExtraAttribute>,
    pub extension: Option<(ObjectIdentifier, String)>,
}

/// The SM2 CA certificate and its signing key.
pub(super) struct Sm2Ca {
    certificate: Certificate,
    signing_key: SigningKey,
}

impl Sm2Ca {
    /// Generates a self-signed SM2 CA valid for `lifetime` from now.
    pub(super) fn generate(serial: &[u8], lifetime: Duration) -> Result<Self, CertError> {
        let secret_key = sm2::SecretKey::try_generate().map_err(build_error)?;
        let signing_key = SigningKey::new(SM2_DISTID, &secret_key).map_err(build_error)?;
        let subject = build_name(&[
            (COUNTRY_NAME, "CN"),
            (ORGANIZATION_NAME, "unilogin development"),
            (COMMON_NAME, "unilogin development CA (SM2)"),
        ])?;
        let profile = Profile {
            subject: subject.clone(),
            issuer: subject,
            ca: true,
            key_usage: KeyUsage(
                KeyUsages::KeyCertSign | KeyUsages::CRLSign | KeyUsages::DigitalSignature,
            ),
        };
        let validity = Validity::from_now(lifetime).map_err(build_error)?;
        let spki = SubjectPublicKeyInfoOwned::from_key(signing_key.verifying_key())
            .map_err(build_error)?;

        let builder = CertificateBuilder::new(profile, serial_number(serial)?, validity, spki)
            .map_err(build_error)?;
        let certificate = sign_with(builder, &signing_key)?;

        Ok(Self {
            certificate,
            signing_key,
        })
    }

    /// Loads the CA from its certificate PEM and PKCS#8 key PEM.
    pub(super) fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, CertError> {
        let certificate = der::DecodePem::from_pem(cert_pem).map_err(build_error)?;
        let secret_key = sm2::SecretKey::from_pkcs8_pem(key_pem).map_err(build_error)?;
        let signing_key = SigningKey::new(SM2_DISTID, &secret_key).map_err(build_error)?;
        Ok(Self {
            certificate,
            signing_key,
        })
    }

    pub(super) fn cert_pem(&self) -> Result<String, CertError> {
        self.certificate.to_pem(LineEnding::LF).map_err(build_error)
    }

    pub(super) fn key_pem(&self) -> Result<String, CertError> {
        let secret_key = sm2::SecretKey::from(self.signing_key.as_nonzero_scalar());
        secret_key
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(build_error)
    }

    pub(super) fn cert_der(&self) -> Result<Vec<u8>, CertError> {
        self.certificate.to_der().map_err(build_error)
    }

    /// Issues a leaf certificate with a new SM2 key. Returns the certificate DER and the
    /// PKCS#8 PEM of the leaf key.
    pub(super) fn issue(&self, request: &LeafRequest<'_>) -> Result<(Vec<u8>, String), CertError> {
        let secret_key = sm2::SecretKey::try_generate().map_err(build_error)?;
        let leaf_key = SigningKey::new(SM2_DISTID, &secret_key).map_err(build_error)?;

        let mut attributes = vec![(COUNTRY_NAME, "CN"), (ORGANIZATION_NAME, request.name)];
        if let Some(extra) = &request.extra_attribute {
            attributes.push((extra.oid, extra.value.as_str()));
        }
        attributes.push((COMMON_NAME, request.name));

        let profile = Profile {
            subject: build_name(&attributes)?,
            issuer: self.certificate.tbs_certificate().subject().clone(),
            ca: false,
            key_usage: request.key_usage,
        };
        let validity = Validity::new(
            unix_time(request.not_before)?,
            unix_time(request.not_after)?,
        );
        let spki =
            SubjectPublicKeyInfoOwned::from_key(leaf_key.verifying_key()).map_err(build_error)?;

        let mut builder =
            CertificateBuilder::new(profile, serial_number(request.serial)?, validity, spki)
                .map_err(build_error)?;
        if let Some((oid, value)) = &request.extension {
            builder
                .add_extension(utf8_extension(*oid, value)?)
                .map_err(build_error)?;
        }
        let certificate = sign_with(builder, &self.signing_key)?;

        let key_pem = secret_key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(build_error)?
            .to_string();
        Ok((certificate.to_der().map_err(build_error)?, key_pem))
    }

    /// Builds a CRL listing `revoked_serials`, valid from `this_update` for 30 days.
    pub(super) fn crl_pem(
        &self,
        revoked_serials: &[Vec<u8>],
        crl_number: u64,
        this_update: i64,
    ) -> Result<String, CertError> {
        let revoked = revoked_serials
            .iter()
            .map(|serial| {
                Ok(RevokedCert {
                    serial_number: serial_number(serial)?,
                    revocation_date: unix_time(this_update)?,
                    crl_entry_extensions: None,
                })
            })
            .collect::<Result<Vec<_>, CertError>>()?;

        let next_update = unix_time(this_update.saturating_add(30 * 86_400))?;
        let mut builder = CrlBuilder::new_with_this_update(
            &self.certificate,
            CrlNumber::try_from(crl_number).map_err(build_error)?,
            unix_time(this_update)?,
        )
        .map_err(build_error)?
        .with_next_update(Some(next_update))
        .with_certificates(revoked.into_iter());

        let tbs = builder.finalize(&self.signing_key).map_err(build_error)?;
        let signature = der_signature(&self.signing_key, &tbs)?;
        let crl = builder
            .assemble(signature, &self.signing_key)
            .map_err(build_error)?;

        crl.to_pem(LineEnding::LF).map_err(build_error)
    }
}

/// Signs a builder's TBS bytes with DER-encoded SM2 signatures. `Builder::build` would write
/// sm2's raw 64-byte r || s into signatureValue, which OpenSSL and other verifiers reject.
fn sign_with<P: BuilderProfile>(
    mut builder: CertificateBuilder<P>,
    signing_key: &SigningKey,
) -> Result<Certificate, CertError> {
    let tbs = builder.finalize(signing_key).map_err(build_error)?;
    let signature = der_signature(signing_key, &tbs)?;
    builder
        .assemble(signature, signing_key)
        .map_err(build_error)
}

fn der_signature(
    signing_key: &SigningKey,
    message: &[u8],
) -> Result<der::asn1::BitString, CertError> {
    let signature: Signature = signing_key.try_sign(message).map_err(build_error)?;
    DerSignature::from(signature)
        .to_bitstring()
        .map_err(build_error)
}

/// Certificate profile for the development CA and its leaves: basicConstraints and keyUsage
/// (both critical), subjectKeyIdentifier and, for leaves, authorityKeyIdentifier.
struct Profile {
    subject: Name,
    issuer: Name,
    ca: bool,
    key_usage: KeyUsage,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let subject = tbs.subject();
        let mut extensions = Vec::new();

        let basic_constraints = BasicConstraints {
            ca: self.ca,
            path_len_constraint: None,
        };
        extensions.push(basic_constraints.to_extension(subject, &extensions)?);
        extensions.push(self.key_usage.to_extension(subject, &extensions)?);
        extensions.push(SubjectKeyIdentifier::try_from(spk)?.to_extension(subject, &extensions)?);
        if !self.ca {
            let authority_key_id = AuthorityKeyIdentifier::try_from(issuer_spk)?;
            extensions.push(authority_key_id.to_extension(subject, &extensions)?);
        }

        Ok(extensions)
    }
}

/// Builds a Name with one UTF8String attribute per RDN, in the given order.
fn build_name(attributes: &[(ObjectIdentifier, &str)]) -> Result<Name, CertError> {
    let mut rdns = RdnSequence::default();
    for (oid, value) in attributes {
        let attribute = AttributeTypeAndValue {
            oid: *oid,
            value: Any::encode_from(&Utf8StringRef::new(value).map_err(build_error)?)
                .map_err(build_error)?,
        };
        let rdn = RelativeDistinguishedName::try_from(vec![attribute]).map_err(build_error)?;
        rdns.push(rdn);
    }

    // Name has no public constructor from an RdnSequence, but both encode the same way.
    let der = rdns.to_der().map_err(build_error)?;
    Name::from_der(&der).map_err(build_error)
}

/// Builds a non-critical extension whose value is a DER UTF8String.
pub(super) fn utf8_extension(oid: ObjectIdentifier, value: &str) -> Result<Extension, CertError> {
    let encoded = Utf8StringRef::new(value)
        .and_then(|string| string.to_der())
        .map_err(build_error)?;
    Ok(Extension {
        extn_id: oid,
        critical: false,
        extn_value: OctetString::new(encoded).map_err(build_error)?,
    })
}

fn serial_number(bytes: &[u8]) -> Result<SerialNumber, CertError> {
    SerialNumber::new(bytes).map_err(build_error)
}

fn unix_time(seconds: i64) -> Result<Time, CertError> {
    let seconds = u64::try_from(seconds).map_err(build_error)?;
    let date_time =
        DateTime::from_unix_duration(Duration::from_secs(seconds)).map_err(build_error)?;
    Ok(Time::from(date_time))
}

fn build_error(error: impl std::fmt::Display) -> CertError {
    CertError::DevCa(format!("SM2 CA: {error}"))
}
