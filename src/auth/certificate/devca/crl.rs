//! Revocation by the development CAs: each CA keeps one CRL file that grows with every
//! revocation and gets a new CRL number each time.

use std::path::{Path, PathBuf};

use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevokedCertParams, SerialNumber};
use x509_parser::prelude::FromDer as _;
use x509_parser::revocation_list::CertificateRevocationList;

use super::super::CertError;
use super::super::extract::{parse_certificate, pem_blocks};
use super::{
    CRL_LIFETIME_SECONDS, DevCa, RevokeTarget, offset_time, rcgen_error, read_text, unix_now,
    write_file,
};

impl DevCa {
    /// Adds a certificate to its CA's CRL and rewrites the CRL file with a new CRL number.
    /// Returns the path of the CRL file.
    pub fn revoke(&self, target: &RevokeTarget) -> Result<PathBuf, CertError> {
        let (serial, sm2_issuer) = match target {
            RevokeTarget::Certificate(der) => {
                let cert = parse_certificate(der)?;
                let sm2_ca_der = self.sm2_ca.cert_der()?;
                let sm2_ca = parse_certificate(&sm2_ca_der)?;
                let sm2_issuer = cert.issuer().as_raw() == sm2_ca.subject().as_raw();
                (cert.raw_serial().to_vec(), sm2_issuer)
            }
            RevokeTarget::Serial { serial_hex, sm2 } => {
                let serial = hex::decode(serial_hex.trim().replace(':', "")).map_err(|error| {
                    CertError::malformed(format!("serial {serial_hex}: {error}"))
                })?;
                (serial, *sm2)
            }
        };

        let path = self
            .dir
            .join(if sm2_issuer { "sm2-crl.pem" } else { "crl.pem" });
        let (mut serials, last_number) = read_crl_entries(&path)?;
        let serial = strip_leading_zeros(&serial);
        if !serials.contains(&serial) {
            serials.push(serial);
        }

        let now = unix_now();
        let crl_pem = if sm2_issuer {
            self.sm2_ca.crl_pem(&serials, last_number + 1, now)?
        } else {
            self.rsa_crl_pem(&serials, last_number + 1, now)?
        };
        write_file(&path, &crl_pem)?;
        Ok(path)
    }

    /// Writes empty CRLs for both CAs where none exist yet, so that a server started before
    /// the first revocation already watches the files and picks up later revocations.
    pub fn ensure_crls(&self) -> Result<(), CertError> {
        let now = unix_now();
        let rsa = self.dir.join("crl.pem");
        if !rsa.exists() {
            write_file(&rsa, &self.rsa_crl_pem(&[], 1, now)?)?;
        }
        let sm2 = self.dir.join("sm2-crl.pem");
        if !sm2.exists() {
            write_file(&sm2, &self.sm2_ca.crl_pem(&[], 1, now)?)?;
        }
        Ok(())
    }

    fn rsa_crl_pem(&self, serials: &[Vec<u8>], number: u64, now: i64) -> Result<String, CertError> {
        let revoked_certs = serials
            .iter()
            .map(|serial| {
                Ok(RevokedCertParams {
                    serial_number: SerialNumber::from_slice(serial),
                    revocation_time: offset_time(now)?,
                    reason_code: None,
                    invalidity_date: None,
                })
            })
            .collect::<Result<Vec<_>, CertError>>()?;
        let params = CertificateRevocationListParams {
            this_update: offset_time(now)?,
            next_update: offset_time(now + CRL_LIFETIME_SECONDS)?,
            crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        params
            .signed_by(&self.issuer)
            .and_then(|crl| crl.pem())
            .map_err(rcgen_error)
    }
}

/// Reads the serials and CRL number of an existing CRL file, or none when it is absent.
pub(super) fn read_crl_entries(path: &Path) -> Result<(Vec<Vec<u8>>, u64), CertError> {
    if !path.exists() {
        return Ok((Vec::new(), 0));
    }
    let text = read_text(path)?;
    let der = pem_blocks(text.as_bytes(), "X509 CRL")?
        .into_iter()
        .next()
        .ok_or_else(|| CertError::DevCa(format!("{} has no X509 CRL block", path.display())))?;
    let (_, crl) = CertificateRevocationList::from_der(&der)
        .map_err(|error| CertError::DevCa(format!("{}: {error}", path.display())))?;

    let serials = crl
        .iter_revoked_certificates()
        .map(|revoked| strip_leading_zeros(revoked.raw_serial()))
        .collect();
    let number = crl
        .crl_number()
        .and_then(|number| u64::try_from(number).ok())
        .unwrap_or(0);
    Ok((serials, number))
}

fn strip_leading_zeros(bytes: &[u8]) -> Vec<u8> {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes[first..].to_vec()
}
