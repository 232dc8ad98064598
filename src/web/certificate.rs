//! Certificate sign-in pages: `GET /login/certificate` takes a TLS client certificate or a
//! trusted proxy's header, or shows the Ukey challenge page; `POST /login/certificate/challenge`
//! issues a nonce and `POST /login/certificate/verify` checks the Ukey's signature over it.

use std::net::IpAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;

use super::login::see_other;
use super::{PageContext, check_csrf, parse_form, render};
use crate::app::SharedState;
use crate::auth::certificate::extract::pem_or_der_to_der;
use crate::auth::certificate::{CertError, ChallengeAlgorithm, verify_challenge};
use crate::auth::certificate_login::{self, Decision, Evidence, Method};
use crate::auth::session::{self, SessionStart};
use crate::crypto::{self, sha256_b64};
use crate::error::Error;
use crate::listener::ClientCertificate;
use crate::oidc::authorize;
use crate::store::{audit, certificate_challenges, sessions};

pub use crate::oidc::completion::SELECT_IDENTITY_PATH;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CertificateQuery {
    request_id: String,
    bound: String,
}

pub async fn certificate_page(
    State(state): State<SharedState>,
    page: PageContext,
    headers: HeaderMap,
    client_certificate: Option<axum::Extension<ClientCertificate>>,
    Query(query): Query<CertificateQuery>,
) -> Result<Response, Error> {
    if !query.request_id.is_empty() {
        authorize::find_pending(&state, &query.request_id, page.flow.as_deref()).await?;
    }
    if let Some(axum::Extension(ClientCertificate(chain))) = client_certificate
        && !chain.is_empty()
    {
        let evidence = Evidence {
            chain,
            method: Method::Tls,
        };
        return sign_in(&state, &page, evidence, &query.request_id).await;
    }
    if let Some(evidence) = proxy_evidence(&state, &page, &headers) {
        return match evidence {
            Ok(evidence) => sign_in(&state, &page, evidence, &query.request_id).await,
            Err(error) => reject(&state, &page, Method::Proxy, &[], error).await,
        };
    }

    let notice = (query.bound == "1").then(|| page.message(&state, "binding_succeeded"));
    let tls_url = format!(
        "{}/login/certificate?request_id={}",
        state.config.certificate.public_url, query.request_id
    );
    let context = json!({
        "request_id": query.request_id,
        "notice": notice,
        "tls_url": (!state.config.certificate.listen.is_empty()).then_some(tls_url),
    });
    let mut response = render(
        &state,
        &page,
        StatusCode::OK,
        "certificate_login.html",
        context,
    );
    // The page's script talks to the Ukey helper on the user's own machine.
    let csp = format!(
        "default-src 'self'; connect-src 'self' {}; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
        HELPER_ORIGIN
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Ok(response)
}

/// Origin of the local Ukey helper app that the challenge page calls.
pub const HELPER_ORIGIN: &str = "http://127.0.0.1:18495";

/// Reads a certificate from a trusted proxy's headers: nginx `X-SSL-Client-Cert` (URL-encoded
/// PEM, with `X-SSL-Client-Verify: SUCCESS`) or RFC 9440 `Client-Cert` (`:BASE64:`). Headers
/// from an untrusted peer are ignored with a warning.
fn proxy_evidence(
    state: &SharedState,
    page: &PageContext,
    headers: &HeaderMap,
) -> Option<Result<Evidence, CertError>> {
    let nginx = headers.get("x-ssl-client-cert");
    let rfc9440 = headers.get("client-cert");
    if nginx.is_none() && rfc9440.is_none() {
        return None;
    }
    let peer: Option<IpAddr> = page.peer_ip;
    let trusted = peer.is_some_and(|ip| {
        state
            .config
            .certificate
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&ip))
    });
    if !trusted {
        tracing::warn!(peer = ?page.peer_ip, "client certificate header from an untrusted peer ignored");
        return None;
    }

    if nginx.is_some() && rfc9440.is_some() {
        return Some(Err(CertError::Malformed(
            "both X-SSL-Client-Cert and Client-Cert are present; the proxy must send one".into(),
        )));
    }
    if let Some(value) = nginx {
        let verify = headers
            .get("x-ssl-client-verify")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if verify != "SUCCESS" {
            return Some(Err(CertError::Malformed(format!(
                "the proxy reported X-SSL-Client-Verify `{verify}`"
            ))));
        }
        let escaped = value.as_bytes();
        let pem: Vec<u8> = percent_decode(escaped);
        return Some(pem_or_der_to_der(&pem).map(|der| Evidence {
            chain: vec![der],
            method: Method::Proxy,
        }));
    }
    let value = rfc9440.and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut chain = vec![value];
    if let Some(extra) = headers
        .get("client-cert-chain")
        .and_then(|v| v.to_str().ok())
    {
        chain.extend(extra.split(','));
    }
    let decoded: Result<Vec<Vec<u8>>, CertError> = chain
        .iter()
        .map(|item| {
            let inner = item
                .trim()
                .strip_prefix(':')
                .and_then(|v| v.strip_suffix(':'));
            inner
                .and_then(|b64| STANDARD.decode(b64).ok())
                .ok_or_else(|| {
                    CertError::Malformed(
                        "Client-Cert is not an RFC 9440 byte sequence `:BASE64:`".into(),
                    )
                })
        })
        .collect();
    Some(decoded.map(|chain| Evidence {
        chain,
        method: Method::Proxy,
    }))
}

fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let hex = |b: u8| {
            char::from(b)
                .to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
        };
        if input[i] == b'%'
            && i + 2 < input.len()
            && let (Some(high), Some(low)) = (hex(input[i + 1]), hex(input[i + 2]))
        {
            out.push(high * 16 + low);
            i += 3;
            continue;
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ChallengeForm {
    csrf_token: String,
}

/// `POST /login/certificate/challenge`: a single-use nonce bound to this browser.
/// TODO: nonces are not rate-limited per browser or address, and expired ones are never
/// deleted.
pub async fn challenge(
    State(state): State<SharedState>,
    page: PageContext,
    body: Bytes,
) -> Result<Response, Error> {
    let form: ChallengeForm = parse_form(&body)?;
    check_csrf(&state, &page, &form.csrf_token)?;
    let Some(cookie) = &page.cookie else {
        return Err(Error::page(StatusCode::FORBIDDEN, "csrf_invalid", ""));
    };
    let now = state.clock.now();
    let nonce = crypto::random_token().map_err(Error::internal)?;
    let expires_at = now + state.config.certificate.challenge_ttl_secs;
    certificate_challenges::insert(
        &state.db,
        certificate_challenges::Model {
            nonce: nonce.clone(),
            browser_hash: sha256_b64(cookie),
            created_at: now,
            expires_at,
            used_at: None,
        },
    )
    .await?;
    let body = json!({ "nonce": nonce, "expires_at": expires_at, "expires_in": expires_at - now });
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct VerifyForm {
    certificate: String,
    signature: String,
    algorithm: String,
    nonce: String,
    pin_verified: String,
    csrf_token: String,
    request_id: String,
}

/// `POST /login/certificate/verify`: the Ukey's certificate and its signature over the nonce.
pub async fn verify(
    State(state): State<SharedState>,
    page: PageContext,
    body: Bytes,
) -> Result<Response, Error> {
    let form: VerifyForm = parse_form(&body)?;
    check_csrf(&state, &page, &form.csrf_token)?;
    let method = Method::Challenge {
        pin_verified: form.pin_verified == "true",
    };
    let now = state.clock.now();

    let certificate = STANDARD
        .decode(form.certificate.trim())
        .map_err(|_| CertError::Malformed("`certificate` is not base64 DER".into()))
        .and_then(|der| pem_or_der_to_der(&der));
    let certificate = match certificate {
        Ok(der) => der,
        Err(error) => return reject(&state, &page, method, &[], error).await,
    };
    let chain = vec![certificate];

    let algorithm = ChallengeAlgorithm::parse(&form.algorithm)
        .ok_or_else(|| CertError::UnsupportedAlgorithm(form.algorithm.chars().take(40).collect()));
    let signature = STANDARD
        .decode(form.signature.trim())
        .map_err(|_| CertError::Malformed("`signature` is not base64".into()));
    let (algorithm, signature) = match (algorithm, signature) {
        (Ok(algorithm), Ok(signature)) => (algorithm, signature),
        (Err(error), _) | (_, Err(error)) => {
            return reject(&state, &page, method, &chain, error).await;
        }
    };

    // The nonce must have been issued to this browser, be unexpired, and never used before.
    let browser_hash = sha256_b64(page.cookie.as_deref().unwrap_or(""));
    let challenge = certificate_challenges::find(&state.db, &form.nonce).await?;
    let fresh = challenge
        .filter(|c| c.browser_hash == browser_hash && c.expires_at > now && c.used_at.is_none());
    let Some(challenge) = fresh else {
        let error = CertError::Malformed(
            "the nonce is unknown, expired, already used or from another browser".into(),
        );
        return reject_with(&state, &page, method, &chain, error, "challenge_invalid").await;
    };
    if !certificate_challenges::consume(&state.db, &challenge.nonce, now).await? {
        let error = CertError::Malformed("the nonce was already used".into());
        return reject_with(&state, &page, method, &chain, error, "challenge_invalid").await;
    }
    if let Err(error) =
        verify_challenge(&chain[0], algorithm, challenge.nonce.as_bytes(), &signature)
    {
        return reject(&state, &page, method, &chain, error).await;
    }
    sign_in(&state, &page, Evidence { chain, method }, &form.request_id).await
}

/// Audits a rejected certificate and shows why.
async fn reject(
    state: &SharedState,
    page: &PageContext,
    method: Method,
    chain: &[Vec<u8>],
    error: CertError,
) -> Result<Response, Error> {
    let key = message_key(&error);
    reject_with(state, page, method, chain, error, key).await
}

/// Like `reject`, with the page message chosen by the caller.
async fn reject_with(
    state: &SharedState,
    page: &PageContext,
    method: Method,
    chain: &[Vec<u8>],
    error: CertError,
    message_key: &'static str,
) -> Result<Response, Error> {
    let now = state.clock.now();
    state.metrics.sign_in("certificate", "failure");
    certificate_login::audit_attempt(&state.db, method, chain, Err(&error), &page.source_ip, now)
        .await?;
    Err(Error::page(
        StatusCode::UNAUTHORIZED,
        message_key,
        error.to_string(),
    ))
}

fn message_key(error: &CertError) -> &'static str {
    match error {
        CertError::Malformed(_) => "certificate_malformed",
        CertError::UntrustedIssuer { .. }
        | CertError::NotCa { .. }
        | CertError::PathLength { .. } => "certificate_untrusted",
        CertError::BadSignature => "certificate_bad_signature",
        CertError::Expired { .. } => "certificate_expired",
        CertError::NotYetValid { .. } => "certificate_not_yet_valid",
        CertError::KeyUsage => "certificate_key_usage",
        CertError::Revoked { .. } => "certificate_revoked",
        CertError::UnsupportedAlgorithm(_) => "certificate_unsupported",
        CertError::NoEnterpriseCode => "certificate_no_code",
        _ => "certificate_rejected",
    }
}

/// Verifies the certificate and continues: to the binding page, the identity choice, or back
/// to the relying party.
async fn sign_in(
    state: &SharedState,
    page: &PageContext,
    evidence: Evidence,
    request_id: &str,
) -> Result<Response, Error> {
    let now = state.clock.now();
    let verified = certificate_login::verify_certificate(
        &state.trust_store,
        &state.config.certificate.uscc_sources,
        &evidence,
        now,
    );
    let certificate = match verified {
        Ok(certificate) => certificate,
        // A chain signature that fails means a CA with a trusted CA's name but another key.
        Err(CertError::BadSignature) => {
            let error = CertError::UntrustedIssuer {
                issuer: "a CA whose signature does not verify".into(),
            };
            return reject(state, page, evidence.method, &evidence.chain, error).await;
        }
        Err(error) => return reject(state, page, evidence.method, &evidence.chain, error).await,
    };
    certificate_login::audit_attempt(
        &state.db,
        evidence.method,
        &evidence.chain,
        Ok(&certificate),
        &page.source_ip,
        now,
    )
    .await?;

    let client_id = if request_id.is_empty() {
        None
    } else {
        Some(
            authorize::find_pending(state, request_id, page.flow.as_deref())
                .await?
                .client_id,
        )
    };
    match certificate_login::decide(&state.db, &certificate, client_id.as_deref()).await? {
        Decision::UnknownEnterprise => {
            audit::append(
                &state.db,
                audit::Event {
                    actor: &format!("certificate:{}", certificate.fingerprint_sha256),
                    action: "login.certificate.enterprise",
                    target: certificate.code.code(),
                    result: "failure",
                    source_ip: &page.source_ip,
                    detail: "enterprise not registered",
                },
                now,
            )
            .await?;
            Err(Error::page(
                StatusCode::FORBIDDEN,
                "enterprise_not_registered",
                format!(
                    "{} ({})",
                    certificate.enterprise_name,
                    certificate.code.code()
                ),
            ))
        }
        Decision::NoIdentityForSystem { enterprise } => Err(Error::page(
            StatusCode::FORBIDDEN,
            "no_identity_for_system",
            enterprise.name,
        )),
        Decision::BindingRequired { enterprise } => {
            let mut page = page.clone();
            super::binding::binding_page(state, &mut page, &enterprise, &certificate, request_id)
        }
        Decision::SignIn {
            enterprise,
            account_id,
            identities,
        } => {
            // Without a relying party's request the first administrator identity serves the
            // console; a request settles its identity in `authorize::complete`, with the role
            // picker when several fit.
            let first = identities
                .first()
                .map(|identity| identity.id)
                .filter(|_| request_id.is_empty());
            let start = SessionStart {
                account_id,
                identity_id: first,
                enterprise_id: Some(enterprise.id),
                certificate_fingerprint: Some(&certificate.fingerprint_sha256),
                state: sessions::STATE_ACTIVE,
                amr: evidence.method.amr(),
                acr: certificate_login::ACR,
                source_ip: &page.source_ip,
            };
            let (cookie, session) = session::create(&state.db, start, &state.session_limits(), now)
                .await
                .map_err(Error::internal)?;
            state.metrics.sign_in("certificate", "success");
            tracing::info!(
                enterprise_id = enterprise.id,
                account_id,
                method = evidence.method.as_str(),
                "certificate sign-in succeeded"
            );
            let location = if request_id.is_empty() {
                crate::web::admin::CONSOLE_PATH.to_owned()
            } else {
                authorize::complete(state, request_id, page.flow.as_deref(), &session).await?
            };
            Ok(see_other(state, &location, Some(&cookie)))
        }
    }
}
