//! Reading the enterprise identity (USCC or organization code, name, validity) from a
//! certificate.

use std::str::FromStr;

use aws_lc_rs::digest::{SHA256, digest};
use x509_parser::asn1_rs::{Any, FromDer as _, Tag};
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::{
    OID_X509_COMMON_NAME, OID_X509_ORGANIZATION_NAME, OID_X509_ORGANIZATIONAL_UNIT,
    OID_X509_SERIALNUMBER, Oid,
};
use x509_parser::x509::X509Name;

use super::CertError;
use crate::domain::uscc::{EnterpriseCode, classify};

/// Places to look for the enterprise code, in order: extension OIDs seen in Shanghai
/// enterprise certificates (SHECA's USCC extension first, then the organization-code fields
/// of the 1.2.156.10260.4.1 and 1.2.86.11.7 arcs that CAs reuse for the USCC), then subject
/// attributes.
pub const DEFAULT_USCC_SOURCES: [&str; 7] = [
    "1.2.156.112570.11.210",
    "1.2.156.10260.4.1.4",
    "1.2.156.10260.4.1.3",
    "1.2.86.11.7.3",
    "1.2.156.1.8888.148",
    "subject.serialNumber",
    "subject.OU",
];

/// Identity of the enterprise that a certificate was issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateIdentity {
    pub code: EnterpriseCode,
    /// The source entry the code was read from, e.g. `1.2.156.112570.11.210`.
    pub source: String,
    /// Subject O, or subject CN when the subject has no O.
    pub enterprise_name: String,
    /// Subject distinguished name in RFC 4514 form.
    pub subject: String,
    /// Serial number as lowercase hex without leading zero bytes.
    pub serial_hex: String,
    /// Lowercase hex SHA-256 of the certificate DER.
    pub fingerprint_sha256: String,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
}

/// One parsed entry of the configured source list.
enum CodeSource {
    Extension(Oid<'static>),
    SubjectAttribute(Oid<'static>),
}

impl CodeSource {
    fn parse(entry: &str) -> Result<Self, CertError> {
        let invalid = || CertError::InvalidCodeSource {
            entry: entry.to_owned(),
        };

        match entry {
            "subject.serialNumber" => Ok(Self::SubjectAttribute(OID_X509_SERIALNUMBER)),
            "subject.OU" => Ok(Self::SubjectAttribute(OID_X509_ORGANIZATIONAL_UNIT)),
            "subject.O" => Ok(Self::SubjectAttribute(OID_X509_ORGANIZATION_NAME)),
            "subject.CN" => Ok(Self::SubjectAttribute(OID_X509_COMMON_NAME)),
            _ if entry.starts_with("subject.") => Err(invalid()),
            _ => Oid::from_str(entry)
                .map(Self::Extension)
                .map_err(|_| invalid()),
        }
    }
}

/// Checks a configured source list, so that a typo fails at startup rather than at login.
pub fn validate_sources(sources: &[String]) -> Result<(), CertError> {
    for entry in sources {
        CodeSource::parse(entry)?;
    }
    Ok(())
}

/// Reads the enterprise identity from a DER certificate. Sources are tried in order and the
/// first value that classifies as a USCC or organization code wins, even when its check
/// character is wrong (see [`EnterpriseCode::check_digit_ok`]). Codes of different
/// enterprises in different places are an error.
pub fn read_identity(der: &[u8], sources: &[String]) -> Result<CertificateIdentity, CertError> {
    let sources = sources
        .iter()
        .map(|entry| CodeSource::parse(entry).map(|source| (entry, source)))
        .collect::<Result<Vec<_>, _>>()?;
    let cert = parse_certificate(der)?;

    let found: Vec<(EnterpriseCode, &String)> = sources
        .iter()
        .filter_map(|(entry, source)| find_code(&cert, source).map(|code| (code, *entry)))
        .collect();
    let Some((code, source)) = found.first().cloned() else {
        return Err(CertError::NoEnterpriseCode);
    };
    // Two places naming different enterprises make the certificate ambiguous; an
    // organization code that matches the USCC's positions 9 to 17 is the same enterprise.
    if let Some((other, other_source)) = found
        .iter()
        .find(|(other, _)| other.org_code() != code.org_code())
    {
        return Err(CertError::malformed(format!(
            "the certificate names different enterprises: {} in {source} and {} in {other_source}",
            code.code(),
            other.code()
        )));
    }
    let source = source.clone();

    let subject = cert.subject();
    let enterprise_name = first_attribute(subject, &OID_X509_ORGANIZATION_NAME)
        .or_else(|| first_attribute(subject, &OID_X509_COMMON_NAME))
        .unwrap_or_default();

    Ok(CertificateIdentity {
        code,
        source,
        enterprise_name,
        subject: subject.to_string(),
        serial_hex: serial_hex(cert.raw_serial()),
        fingerprint_sha256: fingerprint_sha256(der),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
    })
}

/// Computes the lowercase hex SHA-256 of a certificate's DER encoding.
pub fn fingerprint_sha256(der: &[u8]) -> String {
    hex::encode(digest(&SHA256, der))
}

/// Converts a PEM certificate (the first `CERTIFICATE` block) or raw DER to DER. The DER is
/// returned unchecked, so parse it before trusting it.
pub fn pem_or_der_to_der(input: &[u8]) -> Result<Vec<u8>, CertError> {
    let trimmed = input.trim_ascii_start();
    if trimmed.is_empty() {
        return Err(CertError::malformed("the certificate is empty"));
    }

    if !trimmed.starts_with(b"-----BEGIN") {
        return Ok(input.to_vec());
    }

    let blocks = pem_blocks(trimmed, "CERTIFICATE")?;
    blocks
        .into_iter()
        .next()
        .ok_or_else(|| CertError::malformed("the PEM text has no CERTIFICATE block"))
}

/// Decodes every PEM block with the given label. Blocks with other labels are skipped.
pub(super) fn pem_blocks(input: &[u8], label: &str) -> Result<Vec<Vec<u8>>, CertError> {
    let mut blocks = Vec::new();
    for pem in x509_parser::pem::Pem::iter_from_buffer(input) {
        let pem = pem.map_err(|error| CertError::malformed(format!("invalid PEM: {error}")))?;
        if pem.label == label {
            blocks.push(pem.contents);
        }
    }
    Ok(blocks)
}

/// Parses a DER certificate and rejects trailing bytes.
pub(super) fn parse_certificate(der: &[u8]) -> Result<X509Certificate<'_>, CertError> {
    if der.is_empty() {
        return Err(CertError::malformed("the certificate is empty"));
    }

    let (rest, cert) = X509Certificate::from_der(der).map_err(CertError::malformed)?;
    if !rest.is_empty() {
        return Err(CertError::malformed(format!(
            "{} bytes follow the certificate",
            rest.len()
        )));
    }
    Ok(cert)
}

/// Formats a DER INTEGER's content octets as lowercase hex without leading zero bytes.
pub(super) fn serial_hex(raw: &[u8]) -> String {
    let first_nonzero = raw.iter().position(|b| *b != 0).unwrap_or(raw.len());
    let trimmed = &raw[first_nonzero..];
    if trimmed.is_empty() {
        return "00".to_owned();
    }
    hex::encode(trimmed)
}

fn find_code(cert: &X509Certificate<'_>, source: &CodeSource) -> Option<EnterpriseCode> {
    match source {
        CodeSource::Extension(oid) => cert
            .iter_extensions()
            .filter(|extension| extension.oid == *oid)
            .find_map(|extension| decode_extension_string(extension.value))
            .and_then(|value| classify(&value)),
        CodeSource::SubjectAttribute(oid) => cert
            .subject()
            .iter_by_oid(oid)
            .filter_map(|attribute| decode_any_string(attribute.attr_value()))
            .find_map(|value| classify(&value)),
    }
}

fn first_attribute(name: &X509Name<'_>, oid: &Oid<'_>) -> Option<String> {
    name.iter_by_oid(oid)
        .filter_map(|attribute| decode_any_string(attribute.attr_value()))
        .map(|value| value.trim().to_owned())
        .find(|value| !value.is_empty())
}

/// Decodes an extension value: a DER string, or an OCTET STRING that wraps one.
fn decode_extension_string(value: &[u8]) -> Option<String> {
    let (rest, any) = Any::from_der(value).ok()?;
    if !rest.is_empty() {
        return None;
    }

    if any.tag() == Tag::OctetString {
        let (rest, inner) = Any::from_der(any.data).ok()?;
        if !rest.is_empty() {
            return None;
        }
        return decode_any_string(&inner);
    }

    decode_any_string(&any)
}

/// Decodes the ASN.1 string types that CAs use for names and codes.
fn decode_any_string(any: &Any<'_>) -> Option<String> {
    let data = any.data;
    match any.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::NumericString => {
            std::str::from_utf8(data).ok().map(str::to_owned)
        }
        Tag::BmpString => {
            if !data.len().is_multiple_of(2) {
                return None;
            }
            let units = data
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        // NOTE: T61String is read as Latin-1, which covers the ASCII codes found in practice.
        Tag::T61String => Some(data.iter().map(|b| char::from(*b)).collect()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
