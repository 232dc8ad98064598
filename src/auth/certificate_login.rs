//! Certificate sign-in: one path for all three ways a certificate arrives (TLS client
//! certificate, trusted proxy header, Ukey challenge signature). It verifies the certificate,
//! reads the enterprise from it, writes one audit event per attempt, and decides what
//! happens next.

use std::sync::RwLock;

use sea_orm::{DatabaseConnection, DbErr};

use super::certificate::{CertError, CertificateIdentity, TrustStore, read_identity};
use crate::store::{admin_bindings, audit, enterprises, identities};

/// RFC 8176 `amr` for a hardware-held key; `pin` is added when the Ukey PIN was entered.
pub const AMR_HARDWARE_KEY: &str = "hwk";
pub const AMR_HARDWARE_KEY_PIN: &str = "hwk pin";
/// Level of assurance of certificate sign-in: above phone + password + SMS code.
pub const ACR: &str = crate::domain::assurance::LOA_CERTIFICATE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Tls,
    Proxy,
    Challenge { pin_verified: bool },
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Tls => "tls",
            Method::Proxy => "proxy",
            Method::Challenge { .. } => "challenge",
        }
    }

    /// NOTE: `pin_verified` is what the helper app reports. The server cannot check that a
    /// PIN was entered, so `pin` in `amr` is only as trustworthy as the helper.
    pub fn amr(self) -> &'static str {
        match self {
            Method::Challenge { pin_verified: true } => AMR_HARDWARE_KEY_PIN,
            _ => AMR_HARDWARE_KEY,
        }
    }
}

/// A certificate as presented: the leaf first, then any intermediates.
pub struct Evidence {
    pub chain: Vec<Vec<u8>>,
    pub method: Method,
}

/// Verifies the chain against the trust store (re-reading changed CRL files first) and reads
/// the enterprise code.
pub fn verify_certificate(
    trust_store: &RwLock<TrustStore>,
    sources: &[String],
    evidence: &Evidence,
    now: i64,
) -> Result<CertificateIdentity, CertError> {
    let Some((leaf, intermediates)) = evidence.chain.split_first() else {
        return Err(CertError::Malformed("no certificate was presented".into()));
    };
    if let Ok(mut store) = trust_store.write()
        && let Err(error) = store.reload_if_changed()
    {
        tracing::error!(error = %error, "reloading CRL files failed; the previous CRLs stay in use");
    }
    let store = trust_store
        .read()
        .map_err(|_| CertError::Malformed("the trust store is unavailable".into()))?;
    store.verify(leaf, intermediates, now)?;
    drop(store);

    let identity = read_identity(leaf, sources)?;
    if !identity.code.check_digit_ok() {
        tracing::warn!(
            code = identity.code.code(),
            source = %identity.source,
            "enterprise code in certificate fails its check digit; accepted"
        );
    }
    Ok(identity)
}

/// Writes the audit event of one certificate attempt.
pub async fn audit_attempt(
    db: &DatabaseConnection,
    method: Method,
    chain: &[Vec<u8>],
    outcome: Result<&CertificateIdentity, &CertError>,
    source_ip: &str,
    now: i64,
) -> Result<(), DbErr> {
    let fingerprint = chain
        .first()
        .map(|leaf| super::certificate::extract::fingerprint_sha256(leaf))
        .unwrap_or_default();
    let (result, detail) = match outcome {
        Ok(identity) => (
            "success",
            format!(
                "subject={:?} code={}",
                identity.subject,
                identity.code.code()
            ),
        ),
        Err(error) => {
            let subject = chain
                .first()
                .and_then(|leaf| subject_of(leaf))
                .unwrap_or_default();
            (
                "failure",
                format!("reason={} subject={subject:?}", error.reason()),
            )
        }
    };
    if let Err(error) = outcome {
        tracing::warn!(
            method = method.as_str(),
            fingerprint,
            reason = error.reason(),
            source_ip,
            "certificate rejected"
        );
    }
    audit::append(
        db,
        audit::Event {
            actor: &format!("certificate:{fingerprint}"),
            action: &format!("login.certificate.{}", method.as_str()),
            target: &outcome
                .map(|identity| identity.code.code().to_owned())
                .unwrap_or_default(),
            result,
            source_ip,
            detail: &detail,
        },
        now,
    )
    .await
}

/// Reads the subject of a certificate that may have failed verification, when it parses at all.
fn subject_of(der: &[u8]) -> Option<String> {
    use x509_parser::prelude::FromDer;
    let (_, certificate) = x509_parser::certificate::X509Certificate::from_der(der).ok()?;
    Some(certificate.subject().to_string())
}

/// Next step after a verified certificate.
#[derive(Debug)]
pub enum Decision {
    /// No enterprise with this code is registered.
    UnknownEnterprise,
    /// The enterprise has no bound administrator yet.
    BindingRequired { enterprise: enterprises::Model },
    /// The administrator has no identity in the requesting system.
    NoIdentityForSystem { enterprise: enterprises::Model },
    /// The bound administrator's identities in this enterprise; more than one means a choice.
    SignIn {
        enterprise: enterprises::Model,
        account_id: i32,
        identities: Vec<identities::Model>,
    },
}

pub async fn decide(
    db: &DatabaseConnection,
    certificate: &CertificateIdentity,
    client_id: Option<&str>,
) -> Result<Decision, DbErr> {
    let code = &certificate.code;
    let enterprise = match code.uscc() {
        Some(uscc) => enterprises::find_by_uscc(db, uscc).await?,
        None => enterprises::find_by_org_code(db, code.org_code()).await?,
    };
    let Some(enterprise) = enterprise else {
        return Ok(Decision::UnknownEnterprise);
    };
    let Some(binding) = admin_bindings::find(db, enterprise.id).await? else {
        return Ok(Decision::BindingRequired { enterprise });
    };
    let Some(bound) = identities::find_by_id(db, binding.identity_id).await? else {
        return Ok(Decision::BindingRequired { enterprise });
    };

    let mut candidates: Vec<identities::Model> = identities::active_admins_of(db, enterprise.id)
        .await?
        .into_iter()
        .filter(|identity| identity.account_id == bound.account_id)
        .collect();
    // An identity belongs to one system: a relying party gets only its own identities.
    if let Some(client_id) = client_id {
        candidates.retain(|identity| identity.system_id == client_id);
        if candidates.is_empty() {
            return Ok(Decision::NoIdentityForSystem { enterprise });
        }
    }
    if candidates.is_empty() {
        return Ok(Decision::BindingRequired { enterprise });
    }
    Ok(Decision::SignIn {
        enterprise,
        account_id: bound.account_id,
        identities: candidates,
    })
}
