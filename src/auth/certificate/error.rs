use thiserror::Error;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Reason a certificate, chain or challenge signature was rejected, or the trust
/// configuration failed to load.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CertError {
    #[error("The certificate could not be parsed: {0}. Send an X.509 certificate as PEM or DER.")]
    Malformed(String),

    #[error(
        "The certificate issuer \"{issuer}\" is not a configured trust anchor. Add that CA \
         certificate to the trust anchors if certificates it issues should be accepted."
    )]
    UntrustedIssuer { issuer: String },

    #[error(
        "A signature failed verification. Check that the certificate, its chain and the \
         signature belong together and that the signed message is unchanged."
    )]
    BadSignature,

    #[error(
        "The certificate expired at {} (Unix time {not_after}). Renew it with the issuing CA.",
        format_unix(*not_after)
    )]
    Expired { not_after: i64 },

    #[error(
        "The certificate is not valid before {} (Unix time {not_before}). Check the system \
         clock, or retry once the certificate becomes valid.",
        format_unix(*not_before)
    )]
    NotYetValid { not_before: i64 },

    #[error(
        "The certificate's keyUsage does not allow digitalSignature. Use the signing \
         certificate of the USB key, not the encryption certificate."
    )]
    KeyUsage,

    #[error(
        "The certificate \"{subject}\" is used as an issuer but is not a CA certificate \
         (basicConstraints cA is missing or false). Remove it from the chain or trust anchors."
    )]
    NotCa { subject: String },

    #[error(
        "The CA certificate \"{subject}\" allows fewer CA certificates below it than the chain \
         has (basicConstraints pathLenConstraint). Use a chain that the CA is allowed to issue."
    )]
    PathLength { subject: String },

    #[error(
        "The certificate with serial number {serial_hex} has been revoked by its CA. Apply \
         to the CA for a new certificate."
    )]
    Revoked { serial_hex: String },

    #[error(
        "The algorithm {0} is not supported. Use SM3withSM2, SHA256withRSA or SHA256withECDSA \
         (P-256)."
    )]
    UnsupportedAlgorithm(String),

    #[error(
        "The certificate contains no unified social credit code or organization code in the \
         configured places. Check the certificate, or add the place that holds the code to \
         the configured sources."
    )]
    NoEnterpriseCode,

    #[error(
        "The code source \"{entry}\" is invalid. Use an extension OID such as \
         1.2.156.112570.11.210, subject.serialNumber or subject.OU."
    )]
    InvalidCodeSource { entry: String },

    #[error(
        "The CRL of issuer \"{issuer}\" is invalid: {reason}. Replace the CRL file with a \
         current CRL from that CA."
    )]
    BadCrl { issuer: String, reason: String },

    #[error("The development CA failed: {0}.")]
    DevCa(String),

    #[error("Failed to access {path}: {reason}. Check that the file exists and is readable.")]
    Io { path: String, reason: String },
}

impl CertError {
    /// Short stable code for audit events and metrics labels.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::UntrustedIssuer { .. } => "untrusted_issuer",
            Self::BadSignature => "bad_signature",
            Self::Expired { .. } => "expired",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::KeyUsage => "key_usage",
            Self::NotCa { .. } => "not_ca",
            Self::PathLength { .. } => "path_length",
            Self::Revoked { .. } => "revoked",
            Self::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            Self::NoEnterpriseCode => "no_enterprise_code",
            Self::InvalidCodeSource { .. } => "invalid_code_source",
            Self::BadCrl { .. } => "bad_crl",
            Self::DevCa(_) => "dev_ca",
            Self::Io { .. } => "io",
        }
    }

    pub(super) fn io(path: &std::path::Path, error: impl std::fmt::Display) -> Self {
        Self::Io {
            path: path.display().to_string(),
            reason: error.to_string(),
        }
    }

    pub(super) fn malformed(detail: impl std::fmt::Display) -> Self {
        Self::Malformed(detail.to_string())
    }
}

/// Formats Unix seconds as RFC 3339 in UTC, or as the bare number when out of range.
fn format_unix(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|time| time.format(&Rfc3339).ok())
        .unwrap_or_else(|| seconds.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_message_names_the_date() {
        let message = CertError::Expired { not_after: 0 }.to_string();

        assert!(message.contains("1970-01-01T00:00:00Z"), "{message}");
        assert!(message.contains("Renew"), "{message}");
    }

    #[test]
    fn reason_codes_are_stable() {
        assert_eq!(CertError::Expired { not_after: 0 }.reason(), "expired");
        assert_eq!(
            CertError::Revoked {
                serial_hex: "01".into()
            }
            .reason(),
            "revoked"
        );
        assert_eq!(
            CertError::UntrustedIssuer {
                issuer: "CN=x".into()
            }
            .reason(),
            "untrusted_issuer"
        );
        assert_eq!(CertError::BadSignature.reason(), "bad_signature");
    }

    #[test]
    fn out_of_range_time_falls_back_to_number() {
        assert_eq!(format_unix(i64::MAX), i64::MAX.to_string());
    }
}
