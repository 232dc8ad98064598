//! The listeners. The HTTPS listener for certificate sign-in asks every client for a
//! certificate but requires none, and proves only that the client holds the certificate's key.
//! Chain, validity, key usage and revocation are checked by the application for every way a
//! certificate arrives (this listener, a trusted proxy, a signed challenge), so all three give
//! the same error pages and audit events. The main listener serves plain HTTP or TLS without
//! client certificates, through the same connection loop.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// The client certificate chain of a TLS connection, leaf first; empty when none was sent.
#[derive(Clone, Debug, Default)]
pub struct ClientCertificate(pub Vec<Vec<u8>>);

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("TLS configuration failed: {0}")]
    Rustls(#[from] rustls::Error),
}

fn file_error(path: &Path, reason: impl std::fmt::Display) -> TlsSetupError {
    TlsSetupError::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

#[derive(Debug)]
struct DeferredClientVerifier {
    hints: Vec<DistinguishedName>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for DeferredClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Accepted here and verified by the application against the trust store.
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Builds the TLS acceptor. `ca_subjects` are the DER subjects of the trusted CAs, sent as
/// hints so browsers offer matching certificates first.
pub fn acceptor(
    cert_path: &Path,
    key_path: &Path,
    ca_subjects: Vec<Vec<u8>>,
) -> Result<TlsAcceptor, TlsSetupError> {
    let (chain, key) = read_identity(cert_path, key_path)?;
    let provider: Arc<CryptoProvider> = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = DeferredClientVerifier {
        hints: ca_subjects
            .into_iter()
            .map(DistinguishedName::from)
            .collect(),
        algorithms: provider.signature_verification_algorithms,
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Builds the main listener's TLS acceptor, which requests no client certificate.
pub fn main_acceptor(cert_path: &Path, key_path: &Path) -> Result<TlsAcceptor, TlsSetupError> {
    let (chain, key) = read_identity(cert_path, key_path)?;
    let provider: Arc<CryptoProvider> = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Reads a PEM certificate chain and its PEM private key.
fn read_identity(
    cert_path: &Path,
    key_path: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsSetupError> {
    let chain_pem = std::fs::read(cert_path).map_err(|e| file_error(cert_path, e))?;
    let chain = pem_certificates(&chain_pem)
        .ok_or_else(|| file_error(cert_path, "no PEM certificate found"))?;
    let key_pem = std::fs::read_to_string(key_path).map_err(|e| file_error(key_path, e))?;
    let (_, key_der) = der::pem::decode_vec(key_pem.as_bytes())
        .map_err(|e| file_error(key_path, format!("not a PEM private key: {e}")))?;
    let key = PrivateKeyDer::try_from(key_der).map_err(|e| file_error(key_path, e))?;
    Ok((chain, key))
}

fn pem_certificates(pem: &[u8]) -> Option<Vec<CertificateDer<'static>>> {
    let text = std::str::from_utf8(pem).ok()?;
    let mut certificates = Vec::new();
    for block in text.split_inclusive("-----END CERTIFICATE-----") {
        if let Ok((_, der)) = der::pem::decode_vec(block.trim().as_bytes()) {
            certificates.push(CertificateDer::from(der));
        }
    }
    (!certificates.is_empty()).then_some(certificates)
}

/// Writes a self-signed server certificate for 127.0.0.1 and localhost unless both files exist.
pub fn ensure_self_signed(cert_path: &Path, key_path: &Path) -> Result<(), TlsSetupError> {
    if cert_path.exists() && key_path.exists() {
        return Ok(());
    }
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let certified =
        rcgen::generate_simple_self_signed(names).map_err(|e| file_error(cert_path, e))?;
    if let Some(parent) = cert_path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| file_error(parent, e))?;
    }
    std::fs::write(cert_path, certified.cert.pem()).map_err(|e| file_error(cert_path, e))?;
    write_private(key_path, &certified.signing_key.serialize_pem())
        .map_err(|e| file_error(key_path, e))?;
    tracing::info!(path = %cert_path.display(), "generated self-signed certificate for the certificate listener");
    Ok(())
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

/// Paths of the listener's certificate and key: configured, or the generated pair.
pub fn server_files(
    configured_cert: &str,
    configured_key: &str,
    data_dir: &Path,
) -> (PathBuf, PathBuf, bool) {
    if configured_cert.is_empty() || configured_key.is_empty() {
        let dir = data_dir.join("tls");
        (dir.join("server.pem"), dir.join("server.key.pem"), true)
    } else {
        (
            PathBuf::from(configured_cert),
            PathBuf::from(configured_key),
            false,
        )
    }
}

/// Maximum wait for open connections to finish their requests after shutdown, in seconds.
const DRAIN_SECS: u64 = 30;

/// Accepts connections until `shutdown` resolves and serves `router` on each, with the peer
/// address (and, with `tls`, the client certificate) in the request extensions. On shutdown,
/// open connections finish their requests in flight, for at most `DRAIN_SECS`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    header_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(error = %error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let tls = tls.clone();
        let router = router.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let Some(acceptor) = tls else {
                let certificate = ClientCertificate(Vec::new());
                let io = TokioIo::new(stream);
                serve_connection(io, router, peer, certificate, header_timeout, watcher).await;
                return;
            };
            let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                .await
            {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => {
                    // NOTE: a client certificate rejected here (no proof of key possession, or
                    // not parsable by rustls) leaves this log line but no audit event.
                    tracing::info!(peer = %peer, error = %error, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::info!(peer = %peer, "TLS handshake timed out");
                    return;
                }
            };
            let chain: Vec<Vec<u8>> = tls
                .get_ref()
                .1
                .peer_certificates()
                .map(|certs| certs.iter().map(|cert| cert.as_ref().to_vec()).collect())
                .unwrap_or_default();
            let certificate = ClientCertificate(chain);
            let io = TokioIo::new(tls);
            serve_connection(io, router, peer, certificate, header_timeout, watcher).await;
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(DRAIN_SECS), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open {DRAIN_SECS} s after shutdown");
    }
}

/// Serves HTTP/1.1 or HTTP/2 on one connection until it closes or shutdown ends it.
async fn serve_connection<I>(
    io: I,
    router: Router,
    peer: SocketAddr,
    certificate: ClientCertificate,
    header_timeout: Duration,
    watcher: hyper_util::server::graceful::Watcher,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service =
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(certificate.clone());
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // A client that sends its request headers slower than this is cut off, so slow clients
    // cannot hold connections open indefinitely.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let connection = builder.serve_connection(io, service);
    if let Err(error) = watcher.watch(connection.into_owned()).await {
        tracing::debug!(peer = %peer, error = %error, "connection ended with an error");
    }
}
