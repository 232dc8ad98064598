//! The development CA: issues enterprise certificates for local testing and for the
//! `dev-ca` CLI. Never trust it in production.
//!
//! `dir` contains an RSA CA built with rcgen (`ca.pem`, `ca.key.pem`, CRL `crl.pem`) and an
//! SM2 CA (`sm2-ca.pem`, `sm2-ca.key.pem`, CRL `sm2-crl.pem`).

mod crl;
mod sm2_ca;
#[cfg(test)]
mod tests;
mod ukey;

pub use ukey::sign_challenge;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use der::oid::ObjectIdentifier;
use der::oid::db::rfc4519::{ORGANIZATIONAL_UNIT_NAME, SERIAL_NUMBER};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, DnValue, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256, RsaKeySize,
    SerialNumber,
};
use sm2_ca::ExtraAttribute;
use time::OffsetDateTime;
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};

use super::CertError;
use super::extract::{DEFAULT_USCC_SOURCES, pem_blocks};

/// Password of the PKCS#12 files written by [`DevCa::write_issued`].
pub const PKCS12_PASSWORD: &str = "unilogin";

const CA_LIFETIME_SECONDS: i64 = 10 * 365 * 86_400;
const LEAF_LIFETIME_SECONDS: i64 = 2 * 365 * 86_400;
const CRL_LIFETIME_SECONDS: i64 = 30 * 86_400;

/// Key algorithm of an issued certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    P256,
    Sm2,
}

/// Location of the enterprise code in an issued certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodePlace {
    /// A non-critical extension with this OID whose value is a UTF8String.
    Extension(String),
    SubjectSerialNumber,
    SubjectOu,
}

impl Default for CodePlace {
    fn default() -> Self {
        Self::Extension(DEFAULT_USCC_SOURCES[0].to_owned())
    }
}

/// Contents of a certificate to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueOptions {
    /// 18-character USCC or 9-character organization code, written as given.
    pub uscc: String,
    /// Enterprise name, written to subject O and CN.
    pub name: String,
    pub key: KeyKind,
    pub place: CodePlace,
    /// Issue a certificate whose validity ended a year ago.
    pub expired: bool,
    /// keyUsage digitalSignature and nonRepudiation when true, only keyEncipherment when false.
    pub digital_signature: bool,
}

impl IssueOptions {
    /// Options for a valid RSA signing certificate with the code in the SHECA USCC extension.
    pub fn new(uscc: &str, name: &str) -> Self {
        Self {
            uscc: uscc.to_owned(),
            name: name.to_owned(),
            key: KeyKind::Rsa,
            place: CodePlace::default(),
            expired: false,
            digital_signature: true,
        }
    }
}

/// An issued certificate and its private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub cert_pem: String,
    /// PKCS#8 PEM.
    pub key_pem: String,
    pub cert_der: Vec<u8>,
    pub key: KeyKind,
}

/// A certificate to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeTarget {
    /// The certificate itself (DER), whose issuer selects the CA.
    Certificate(Vec<u8>),
    /// A serial number in hex, revoked by the SM2 CA when `sm2` is true, else by the RSA CA.
    Serial { serial_hex: String, sm2: bool },
}

/// The development CAs loaded from a directory.
pub struct DevCa {
    dir: PathBuf,
    issuer: Issuer<'static, KeyPair>,
    ca_der: Vec<u8>,
    sm2_ca: sm2_ca::Sm2Ca,
}

impl DevCa {
    /// Loads the CAs in `dir`, creating the directory and any missing CA first.
    pub fn init(dir: &Path) -> Result<Self, CertError> {
        fs::create_dir_all(dir).map_err(|error| CertError::io(dir, error))?;

        if !dir.join("ca.pem").exists() || !dir.join("ca.key.pem").exists() {
            let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)
                .map_err(rcgen_error)?;
            let now = unix_now();
            let mut params = rsa_ca_params();
            params.serial_number = Some(SerialNumber::from_slice(&random_serial()?));
            params.not_before = offset_time(now - 86_400)?;
            params.not_after = offset_time(now + CA_LIFETIME_SECONDS)?;
            let cert = params.self_signed(&key).map_err(rcgen_error)?;

            write_file(&dir.join("ca.pem"), &cert.pem())?;
            write_file(&dir.join("ca.key.pem"), &key.serialize_pem())?;
        }

        if !dir.join("sm2-ca.pem").exists() || !dir.join("sm2-ca.key.pem").exists() {
            let lifetime = Duration::from_secs(CA_LIFETIME_SECONDS.unsigned_abs());
            let sm2_ca = sm2_ca::Sm2Ca::generate(&random_serial()?, lifetime)?;
            write_file(&dir.join("sm2-ca.pem"), &sm2_ca.cert_pem()?)?;
            write_file(&dir.join("sm2-ca.key.pem"), &sm2_ca.key_pem()?)?;
        }

        let ca = Self::load(dir)?;
        ca.ensure_crls()?;
        Ok(ca)
    }

    /// Loads existing CAs from `dir`. Fails with [`CertError::Io`] when a file is missing.
    pub fn load(dir: &Path) -> Result<Self, CertError> {
        let ca_pem = read_text(&dir.join("ca.pem"))?;
        let key = KeyPair::from_pem(&read_text(&dir.join("ca.key.pem"))?).map_err(rcgen_error)?;
        let ca_der = pem_blocks(ca_pem.as_bytes(), "CERTIFICATE")?
            .into_iter()
            .next()
            .ok_or_else(|| CertError::DevCa("ca.pem has no CERTIFICATE block".to_owned()))?;
        // The issuer name and key usages come from the same parameters that built ca.pem, so
        // rcgen need not parse the certificate.
        let issuer = Issuer::new(rsa_ca_params(), key);

        let sm2_ca = sm2_ca::Sm2Ca::from_pem(
            &read_text(&dir.join("sm2-ca.pem"))?,
            &read_text(&dir.join("sm2-ca.key.pem"))?,
        )?;

        Ok(Self {
            dir: dir.to_path_buf(),
            issuer,
            ca_der,
            sm2_ca,
        })
    }

    /// Paths of the two CA certificates, to configure as trust anchors.
    /// The folder holding the CA files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn ca_pem_paths(&self) -> Vec<PathBuf> {
        vec![self.dir.join("ca.pem"), self.dir.join("sm2-ca.pem")]
    }

    /// Paths of the CRL files that [`DevCa::revoke`] maintains. They exist after the first
    /// revocation by the respective CA.
    pub fn crl_paths(&self) -> Vec<PathBuf> {
        vec![self.dir.join("crl.pem"), self.dir.join("sm2-crl.pem")]
    }

    /// Issues a certificate: RSA and P-256 leaves by the RSA CA, SM2 leaves by the SM2 CA.
    pub fn issue(&self, options: &IssueOptions) -> Result<Issued, CertError> {
        let now = unix_now();
        let (not_before, not_after) = if options.expired {
            (now - 2 * 365 * 86_400, now - 365 * 86_400)
        } else {
            (now - 3_600, now + LEAF_LIFETIME_SECONDS)
        };
        let serial = random_serial()?;

        let (cert_der, key_pem) = match options.key {
            KeyKind::Sm2 => self.issue_sm2(options, &serial, not_before, not_after)?,
            KeyKind::Rsa | KeyKind::P256 => {
                self.issue_rcgen(options, &serial, not_before, not_after)?
            }
        };

        Ok(Issued {
            cert_pem: pem_encode("CERTIFICATE", &cert_der)?,
            key_pem,
            cert_der,
            key: options.key,
        })
    }

    /// Writes `basename.pem`, `basename.key.pem` and, for RSA and P-256 keys, a PKCS#12
    /// `basename.p12` protected by [`PKCS12_PASSWORD`]. Returns the paths written.
    pub fn write_issued(
        &self,
        issued: &Issued,
        dir: &Path,
        basename: &str,
    ) -> Result<Vec<PathBuf>, CertError> {
        fs::create_dir_all(dir).map_err(|error| CertError::io(dir, error))?;
        let cert_path = dir.join(format!("{basename}.pem"));
        let key_path = dir.join(format!("{basename}.key.pem"));
        write_file(&cert_path, &issued.cert_pem)?;
        write_file(&key_path, &issued.key_pem)?;
        let mut written = vec![cert_path, key_path];

        // NOTE: SM2 keys get no .p12 because PKCS#12 readers (OpenSSL, browsers) do not
        // import SM2 keys in practice.
        if issued.key != KeyKind::Sm2 {
            let p12_path = dir.join(format!("{basename}.p12"));
            let p12 = ukey::pkcs12(issued, &self.ca_der, basename)?;
            fs::write(&p12_path, p12).map_err(|error| CertError::io(&p12_path, error))?;
            written.push(p12_path);
        }

        Ok(written)
    }

    fn issue_rcgen(
        &self,
        options: &IssueOptions,
        serial: &[u8],
        not_before: i64,
        not_after: i64,
    ) -> Result<(Vec<u8>, String), CertError> {
        let key = match options.key {
            KeyKind::Rsa => KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048),
            _ => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256),
        }
        .map_err(rcgen_error)?;

        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        let names = &mut params.distinguished_name;
        names.push(DnType::CountryName, "CN");
        names.push(DnType::OrganizationName, options.name.as_str());
        match &options.place {
            CodePlace::SubjectSerialNumber => names.push(
                DnType::CustomDnType(vec![2, 5, 4, 5]),
                DnValue::Utf8String(options.uscc.clone()),
            ),
            CodePlace::SubjectOu => {
                names.push(DnType::OrganizationalUnitName, options.uscc.as_str());
            }
            CodePlace::Extension(oid) => {
                let extension = sm2_ca::utf8_extension(parse_oid(oid)?, &options.uscc)?;
                let arcs = parse_oid(oid)?.arcs().map(u64::from).collect::<Vec<_>>();
                params
                    .custom_extensions
                    .push(CustomExtension::from_oid_content(
                        &arcs,
                        extension.extn_value.into_bytes().into_vec(),
                    ));
            }
        }
        params
            .distinguished_name
            .push(DnType::CommonName, options.name.as_str());
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = if options.digital_signature {
            vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::ContentCommitment,
            ]
        } else {
            vec![KeyUsagePurpose::KeyEncipherment]
        };
        params.serial_number = Some(SerialNumber::from_slice(serial));
        params.not_before = offset_time(not_before)?;
        params.not_after = offset_time(not_after)?;
        params.use_authority_key_identifier_extension = true;

        let cert = params.signed_by(&key, &self.issuer).map_err(rcgen_error)?;
        Ok((cert.der().to_vec(), key.serialize_pem()))
    }

    fn issue_sm2(
        &self,
        options: &IssueOptions,
        serial: &[u8],
        not_before: i64,
        not_after: i64,
    ) -> Result<(Vec<u8>, String), CertError> {
        let (extra_attribute, extension) = match &options.place {
            CodePlace::Extension(oid) => (None, Some((parse_oid(oid)?, options.uscc.clone()))),
            CodePlace::SubjectSerialNumber => (
                Some(ExtraAttribute {
                    oid: SERIAL_NUMBER,
                    value: options.uscc.clone(),
                }),
                None,
            ),
            CodePlace::SubjectOu => (
                Some(ExtraAttribute {
                    oid: ORGANIZATIONAL_UNIT_NAME,
                    value: options.uscc.clone(),
                }),
                None,
            ),
        };
        let key_usage = if options.digital_signature {
            KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation)
        } else {
            KeyUsage(KeyUsages::KeyEncipherment.into())
        };

        self.sm2_ca.issue(&sm2_ca::LeafRequest {
            name: &options.name,
            serial,
            not_before,
            not_after,
            key_usage,
            extra_attribute,
            extension,
        })
    }
}

/// Subject, basicConstraints and keyUsage of the RSA development CA.
fn rsa_ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CountryName, "CN");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "unilogin development");
    params
        .distinguished_name
        .push(DnType::CommonName, "unilogin development CA (RSA)");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// 16 random bytes with the top bit clear, so the DER INTEGER stays positive.
fn random_serial() -> Result<Vec<u8>, CertError> {
    let mut serial = vec![0u8; 16];
    SystemRandom::new()
        .fill(&mut serial)
        .map_err(|_| CertError::DevCa("the system random generator failed".to_owned()))?;
    serial[0] = (serial[0] & 0x7f) | 0x01;
    Ok(serial)
}

fn parse_oid(oid: &str) -> Result<ObjectIdentifier, CertError> {
    ObjectIdentifier::new(oid).map_err(|error| CertError::DevCa(format!("OID {oid}: {error}")))
}

fn pem_encode(label: &str, der: &[u8]) -> Result<String, CertError> {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der)
        .map_err(|error| CertError::DevCa(format!("PEM encoding: {error}")))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn offset_time(seconds: i64) -> Result<OffsetDateTime, CertError> {
    OffsetDateTime::from_unix_timestamp(seconds)
        .map_err(|error| CertError::DevCa(format!("time {seconds}: {error}")))
}

fn read_text(path: &Path) -> Result<String, CertError> {
    fs::read_to_string(path).map_err(|error| CertError::io(path, error))
}

/// Writes through a temporary file and a rename, so a reader never sees half a file.
/// Writes through a temporary file and a rename, so readers never see half a file. Private
/// keys (`*.key.pem`) are readable by the owner only.
fn write_file(path: &Path, contents: &str) -> Result<(), CertError> {
    let temporary = path.with_extension("tmp");
    let private = path.to_string_lossy().ends_with(".key.pem");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let write = |options: &fs::OpenOptions| -> std::io::Result<()> {
        use std::io::Write;
        options.open(&temporary)?.write_all(contents.as_bytes())
    };
    write(&options).map_err(|error| CertError::io(&temporary, error))?;
    fs::rename(&temporary, path).map_err(|error| CertError::io(path, error))
}

fn rcgen_error(error: rcgen::Error) -> CertError {
    CertError::DevCa(error.to_string())
}
