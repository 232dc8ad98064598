//! Chain, validity, keyUsage and CRL checks of enterprise certificates against configured
//! trust anchors.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer as _;
use x509_parser::revocation_list::CertificateRevocationList;
use x509_parser::x509::X509Name;

use super::CertError;
use super::extract::{parse_certificate, pem_blocks, serial_hex};
use super::keys::{SignatureEncoding, SignatureScheme, verify_signature};

/// Maximum number of intermediate CA certificates between a leaf and its trust anchor.
const MAX_INTERMEDIATES: usize = 6;

/// Trust anchors and CRLs for enterprise certificates.
#[derive(Debug, Clone)]
pub struct TrustStore {
    anchors: Vec<Vec<u8>>,
    crl_files: Vec<CrlFile>,
}

#[derive(Debug, Clone)]
struct CrlFile {
    /// `None` for CRLs given in memory.
    path: Option<PathBuf>,
    modified: Option<SystemTime>,
    ders: Vec<Vec<u8>>,
}

impl TrustStore {
    /// Loads CA certificates (PEM bundles or DER) and CRLs (PEM or DER) from files. Every CA
    /// must parse and be a CA certificate, and every CRL file must exist and parse.
    pub fn load(ca_pem_paths: &[PathBuf], crl_paths: &[PathBuf]) -> Result<Self, CertError> {
        let mut anchors = Vec::new();
        for path in ca_pem_paths {
            let contents = fs::read(path).map_err(|error| CertError::io(path, error))?;
            let certificates = decode_pem_or_der(&contents, "CERTIFICATE")?;
            if certificates.is_empty() {
                return Err(CertError::io(path, "the file contains no certificate"));
            }
            anchors.extend(certificates);
        }

        let crl_files = crl_paths
            .iter()
            .map(|path| read_crl_file(path))
            .collect::<Result<Vec<_>, _>>()?;

        Self::new(anchors, crl_files)
    }

    /// Builds a store from PEM CA certificates and CRLs given as PEM or DER bytes.
    pub fn from_pem(ca_pems: &[&str], crl_pems_or_ders: &[Vec<u8>]) -> Result<Self, CertError> {
        let mut anchors = Vec::new();
        for pem in ca_pems {
            anchors.extend(pem_blocks(pem.as_bytes(), "CERTIFICATE")?);
        }

        let crl_files = crl_pems_or_ders
            .iter()
            .map(|contents| {
                Ok(CrlFile {
                    path: None,
                    modified: None,
                    ders: decode_pem_or_der(contents, "X509 CRL")?,
                })
            })
            .collect::<Result<Vec<_>, CertError>>()?;

        Self::new(anchors, crl_files)
    }

    fn new(anchors: Vec<Vec<u8>>, crl_files: Vec<CrlFile>) -> Result<Self, CertError> {
        for der in &anchors {
            let anchor = parse_certificate(der)?;
            check_issuer_is_ca(&anchor)?;
        }
        for der in crl_files.iter().flat_map(|file| &file.ders) {
            parse_crl(der)?;
        }
        Ok(Self { anchors, crl_files })
    }

    /// Number of trust anchors.
    /// DER subjects of the trust anchors, for TLS certificate request hints.
    pub fn anchor_subjects(&self) -> Vec<Vec<u8>> {
        self.anchors
            .iter()
            .filter_map(|der| {
                parse_certificate(der)
                    .ok()
                    .map(|cert| cert.subject().as_raw().to_vec())
            })
            .collect()
    }

    pub fn anchor_count(&self) -> usize {
        self.anchors.len()
    }

    /// Re-reads every CRL file whose modification time changed. Returns whether any CRL was
    /// replaced. On error the previously loaded CRLs stay in use.
    pub fn reload_if_changed(&mut self) -> Result<bool, CertError> {
        let mut replacements = Vec::new();
        for (index, file) in self.crl_files.iter().enumerate() {
            let Some(path) = &file.path else { continue };
            let modified = modified_time(path)?;
            if modified != file.modified {
                let replacement = read_crl_file(path)?;
                // A CRL with a lower CRL number than the one loaded is an older copy: using it
                // would un-revoke certificates (RFC 5280 §5.2.3 numbers CRLs in order).
                if highest_crl_number(&replacement.ders) < highest_crl_number(&file.ders) {
                    return Err(CertError::BadCrl {
                        issuer: path.display().to_string(),
                        reason: "its CRL number is lower than the one already loaded".into(),
                    });
                }
                replacements.push((index, replacement));
            }
        }

        let changed = !replacements.is_empty();
        for (index, file) in replacements {
            self.crl_files[index] = file;
        }
        Ok(changed)
    }

    /// Verifies a leaf certificate at Unix time `now`. The chain through `intermediates_der`
    /// must end at a trust anchor, and every signature in it must verify. Every certificate
    /// must be within its validity period and every issuer must be a CA. The leaf's keyUsage,
    /// when present, must include digitalSignature. No certificate may be listed in a loaded
    /// CRL of its issuer.
    pub fn verify(
        &self,
        leaf_der: &[u8],
        intermediates_der: &[Vec<u8>],
        now: i64,
    ) -> Result<(), CertError> {
        let leaf = parse_certificate(leaf_der)?;
        let intermediates = intermediates_der
            .iter()
            .map(|der| parse_certificate(der))
            .collect::<Result<Vec<_>, _>>()?;
        let anchors = self
            .anchors
            .iter()
            .map(|der| parse_certificate(der))
            .collect::<Result<Vec<_>, _>>()?;

        check_validity(&leaf, now)?;
        check_leaf_key_usage(&leaf)?;
        check_leaf_profile(&leaf)?;

        // chain[i + 1] issued chain[i], and the last entry is the trust anchor.
        let mut chain = vec![&leaf];
        for _ in 0..=MAX_INTERMEDIATES {
            let Some(&current) = chain.last() else { break };

            if let Some(anchor) = find_anchor(current, &anchors)? {
                check_validity(anchor, now)?;
                chain.push(anchor);
                check_path_lengths(&chain)?;
                return self.check_revocation(&chain, now);
            }

            let issuer = intermediates
                .iter()
                .find(|candidate| {
                    names_match(candidate.subject(), current.issuer())
                        && !chain.iter().any(|seen| seen.as_raw() == candidate.as_raw())
                })
                .ok_or_else(|| CertError::UntrustedIssuer {
                    issuer: current.issuer().to_string(),
                })?;

            check_issuer_is_ca(issuer)?;
            check_certificate_signature(current, issuer)?;
            check_validity(issuer, now)?;
            chain.push(issuer);
        }

        Err(CertError::malformed(format!(
            "the chain has more than {MAX_INTERMEDIATES} intermediate certificates"
        )))
    }

    /// Rejects a certificate listed in a CRL of its issuer. Each CRL's signature is checked
    /// with the issuer's key before its entries are used.
    fn check_revocation(&self, chain: &[&X509Certificate<'_>], now: i64) -> Result<(), CertError> {
        for pair in chain.windows(2) {
            let (certificate, issuer) = (pair[0], pair[1]);
            let serial = serial_hex(certificate.raw_serial());

            for der in self.crl_files.iter().flat_map(|file| &file.ders) {
                let crl = parse_crl(der)?;
                if !names_match(crl.issuer(), issuer.subject()) {
                    continue;
                }

                let bad_crl = |reason: &str| CertError::BadCrl {
                    issuer: issuer.subject().to_string(),
                    reason: reason.to_owned(),
                };
                let scheme = SignatureScheme::from_oid(&crl.signature_algorithm.algorithm)?;
                verify_signature(
                    issuer.public_key(),
                    scheme,
                    crl.tbs_cert_list.as_ref(),
                    &crl.signature_value.data,
                    SignatureEncoding::Der,
                )
                .map_err(|_| bad_crl("its signature does not verify with the issuer's key"))?;
                // NOTE: a CRL past its nextUpdate is still used, because its entries stay
                // revoked. The caller should refresh CRL files before they go stale.
                if crl.last_update().timestamp() > now.saturating_add(300) {
                    return Err(bad_crl("its thisUpdate is in the future"));
                }

                let listed = crl
                    .iter_revoked_certificates()
                    .any(|revoked| serial_hex(revoked.raw_serial()) == serial);
                if listed {
                    return Err(CertError::Revoked { serial_hex: serial });
                }
            }
        }
        Ok(())
    }
}

/// Returns the anchor that issued `certificate`, or `None` when no anchor has its issuer
/// name. An anchor with the right name but a signature that does not verify is an error.
fn find_anchor<'a, 'b>(
    certificate: &X509Certificate<'_>,
    anchors: &'a [X509Certificate<'b>],
) -> Result<Option<&'a X509Certificate<'b>>, CertError> {
    let mut last_error = None;
    for anchor in anchors {
        if !names_match(anchor.subject(), certificate.issuer()) {
            continue;
        }
        match check_certificate_signature(certificate, anchor) {
            Ok(()) => return Ok(Some(anchor)),
            Err(error) => last_error = Some(error),
        }
    }
    match last_error {
        Some(error) => Err(error),
        None => Ok(None),
    }
}

fn check_certificate_signature(
    certificate: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
) -> Result<(), CertError> {
    // RFC 5280 section 4.1.1.2: the outer signatureAlgorithm must equal the signed one.
    if certificate.signature_algorithm != certificate.tbs_certificate.signature {
        return Err(CertError::malformed(
            "the signature algorithm differs from the one inside the signed part",
        ));
    }

    let scheme = SignatureScheme::from_oid(&certificate.signature_algorithm.algorithm)?;
    verify_signature(
        issuer.public_key(),
        scheme,
        certificate.tbs_certificate.as_ref(),
        &certificate.signature_value.data,
        SignatureEncoding::Der,
    )
}

fn check_validity(certificate: &X509Certificate<'_>, now: i64) -> Result<(), CertError> {
    let not_before = certificate.validity().not_before.timestamp();
    let not_after = certificate.validity().not_after.timestamp();
    if now < not_before {
        return Err(CertError::NotYetValid { not_before });
    }
    if now > not_after {
        return Err(CertError::Expired { not_after });
    }
    Ok(())
}

/// Rejects leaves that no CA issues for signing in: not version 3, marked as a CA, or with a
/// critical extension this parser does not know (RFC 5280 §4.2 requires rejecting those).
fn check_leaf_profile(leaf: &X509Certificate<'_>) -> Result<(), CertError> {
    if leaf.version() != x509_parser::x509::X509Version::V3 {
        return Err(CertError::malformed(
            "the certificate is not X.509 version 3",
        ));
    }
    if leaf
        .basic_constraints()
        .map_err(CertError::malformed)?
        .is_some_and(|bc| bc.value.ca)
    {
        return Err(CertError::malformed(
            "a CA certificate cannot be used to sign in",
        ));
    }
    let unknown_critical = leaf.extensions().iter().find(|extension| {
        extension.critical
            && matches!(
                extension.parsed_extension(),
                x509_parser::extensions::ParsedExtension::UnsupportedExtension { .. }
            )
    });
    if let Some(extension) = unknown_critical {
        return Err(CertError::malformed(format!(
            "unknown critical extension {}",
            extension.oid
        )));
    }
    Ok(())
}

/// Enforces basicConstraints pathLenConstraint: a CA may have at most that many CA
/// certificates below it before the leaf. `chain[0]` is the leaf.
fn check_path_lengths(chain: &[&X509Certificate<'_>]) -> Result<(), CertError> {
    for (index, issuer) in chain.iter().enumerate().skip(1) {
        let below = index - 1;
        let limit = issuer
            .basic_constraints()
            .map_err(CertError::malformed)?
            .and_then(|bc| bc.value.path_len_constraint);
        if let Some(limit) = limit
            && below > usize::try_from(limit).unwrap_or(usize::MAX)
        {
            return Err(CertError::PathLength {
                subject: issuer.subject().to_string(),
            });
        }
    }
    Ok(())
}

fn check_leaf_key_usage(leaf: &X509Certificate<'_>) -> Result<(), CertError> {
    let key_usage = leaf.key_usage().map_err(CertError::malformed)?;
    match key_usage {
        Some(extension) if !extension.value.digital_signature() => Err(CertError::KeyUsage),
        _ => Ok(()),
    }
}

/// Checks that a certificate may issue others: basicConstraints cA=TRUE and, when keyUsage
/// is present, keyCertSign.
fn check_issuer_is_ca(certificate: &X509Certificate<'_>) -> Result<(), CertError> {
    let not_ca = || CertError::NotCa {
        subject: certificate.subject().to_string(),
    };

    let basic_constraints = certificate
        .basic_constraints()
        .map_err(CertError::malformed)?;
    if !basic_constraints.is_some_and(|extension| extension.value.ca) {
        return Err(not_ca());
    }

    let key_usage = certificate.key_usage().map_err(CertError::malformed)?;
    if key_usage.is_some_and(|extension| !extension.value.key_cert_sign()) {
        return Err(not_ca());
    }
    Ok(())
}

/// Compares names by their DER encoding, then by their RFC 4514 text, because some CAs
/// re-encode the issuer name with other string types than the CA's own subject.
fn names_match(left: &X509Name<'_>, right: &X509Name<'_>) -> bool {
    left.as_raw() == right.as_raw() || left.to_string() == right.to_string()
}

fn parse_crl(der: &[u8]) -> Result<CertificateRevocationList<'_>, CertError> {
    let (rest, crl) = CertificateRevocationList::from_der(der)
        .map_err(|error| CertError::malformed(format!("invalid CRL: {error}")))?;
    if !rest.is_empty() {
        return Err(CertError::malformed("trailing bytes after the CRL"));
    }
    Ok(crl)
}

fn read_crl_file(path: &Path) -> Result<CrlFile, CertError> {
    let modified = modified_time(path)?;
    let contents = fs::read(path).map_err(|error| CertError::io(path, error))?;
    let ders = decode_pem_or_der(&contents, "X509 CRL")?;
    for der in &ders {
        parse_crl(der).map_err(|error| CertError::io(path, error))?;
    }
    Ok(CrlFile {
        path: Some(path.to_path_buf()),
        modified,
        ders,
    })
}

/// The largest CRL number among CRLs, as (length, big-endian bytes) so that tuples compare
/// as numbers.
fn highest_crl_number(ders: &[Vec<u8>]) -> (usize, Vec<u8>) {
    ders.iter()
        .filter_map(|der| {
            parse_crl(der)
                .ok()
                .and_then(|crl| crl.crl_number().map(|n| n.to_bytes_be()))
        })
        .map(|bytes| (bytes.len(), bytes))
        .max()
        .unwrap_or_default()
}

fn modified_time(path: &Path) -> Result<Option<SystemTime>, CertError> {
    let metadata = fs::metadata(path).map_err(|error| CertError::io(path, error))?;
    Ok(metadata.modified().ok())
}

/// Decodes all PEM blocks with `label`, or takes the whole input as one DER object.
fn decode_pem_or_der(contents: &[u8], label: &str) -> Result<Vec<Vec<u8>>, CertError> {
    if contents.trim_ascii_start().starts_with(b"-----BEGIN") {
        pem_blocks(contents, label)
    } else if contents.is_empty() {
        Ok(Vec::new())
    } else {
        Ok(vec![contents.to_vec()])
    }
}

#[cfg(test)]
mod tests;
