//! Shared state, the router and the listener.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::{get, post};
use sea_orm::DatabaseConnection;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::admin;
use crate::auth::certificate::TrustStore;
use crate::auth::certificate::devca::DevCa;
use crate::auth::password::PasswordHasherPool;
use crate::auth::session::SessionLimits;
use crate::config::Config;
use crate::crypto::MasterKey;
use crate::oidc::{self, keys::KeySet};
use crate::providers::sms::{OutboxSender, SmsSender};
use crate::web::{self, templates::Templates};

pub struct AppState {
    pub config: Config,
    pub db: DatabaseConnection,
    pub master_key: MasterKey,
    pub csrf_key: [u8; 32],
    pub keys: crate::oidc::keys::Keys,
    pub discovery: Bytes,
    pub passwords: PasswordHasherPool,
    pub sms: Box<dyn SmsSender>,
    pub realname: Box<dyn crate::providers::realname::RealnameVerifier>,
    pub templates: Templates,
    pub demo_enabled: bool,
    /// Trusted CAs and CRLs for enterprise certificates; CRL files are re-read when they change.
    pub trust_store: std::sync::RwLock<TrustStore>,
    /// DER subjects of the trusted CAs, sent as hints in the TLS handshake.
    pub ca_subjects: Vec<Vec<u8>>,
    pub clock: crate::clock::Clock,
    pub metrics: crate::metrics::Metrics,
}

pub type SharedState = Arc<AppState>;

impl AppState {
    /// Returns the `sub` a client sees for an account: the account id, or for a pairwise
    /// client a keyed hash of its sector and the account id. Clients of other sectors cannot
    /// link a pairwise `sub`, and it reveals nothing about how many accounts exist.
    pub fn subject(&self, client: &crate::store::systems::Model, account_id: i32) -> String {
        match client.pairwise_sector() {
            None => account_id.to_string(),
            Some(sector) => crate::crypto::hmac_b64(
                &self.master_key.derive("pairwise-subject"),
                format!("{sector}\n{account_id}").as_bytes(),
            ),
        }
    }

    pub fn session_limits(&self) -> SessionLimits {
        SessionLimits {
            ttl_secs: self.config.login.session_ttl_secs,
            idle_timeout_secs: self.config.login.idle_timeout_secs,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot create data folder {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open database {url}: {source}")]
    Database { url: String, source: sea_orm::DbErr },
    #[error("real-name service: {0}")]
    Realname(String),
    #[error("database migration failed: {0}")]
    Migration(sea_orm::DbErr),
    #[error("master key file {path}: {reason}")]
    MasterKey { path: PathBuf, reason: String },
    #[error("invalid configuration key `keys.master_key`: not base64 of 32 bytes")]
    MasterKeyConfig,
    #[error("signing keys: {0}")]
    Keys(#[from] oidc::keys::KeyError),
    #[error("theme: {0}")]
    Theme(#[from] web::templates::ThemeError),
    #[error("password hasher: {0}")]
    Hasher(#[from] crate::auth::password::HashError),
    #[error("demo data: {0}")]
    Demo(String),
    #[error("certificate trust store: {0}")]
    Certificates(#[from] crate::auth::certificate::CertError),
    #[error("certificate listener: {0}")]
    Tls(#[from] crate::listener::TlsSetupError),
    #[error(
        "main listener TLS (server.tls_cert, server.tls_key): {0}; give a PEM certificate chain and its matching PEM private key"
    )]
    MainTls(crate::listener::TlsSetupError),
    #[error("cannot listen on {address} (certificate.listen): {source}")]
    CertificateListen {
        address: String,
        source: std::io::Error,
    },
    #[error("cannot listen on {address} (server.metrics_bind): {source}")]
    MetricsListen {
        address: String,
        source: std::io::Error,
    },
}

/// Opens the database (creating the data folder for SQLite), applies migrations, loads the
/// master key and the signing keys, and parses the theme.
pub async fn build_state(config: Config, demo: bool) -> Result<SharedState, StartupError> {
    let data_dir = &config.server.data_dir;
    std::fs::create_dir_all(data_dir).map_err(|source| StartupError::DataDir {
        path: data_dir.clone(),
        source,
    })?;

    let url = config.database_url();
    let db = crate::store::connect(&url, config.database.max_connections)
        .await
        .map_err(|source| StartupError::Database {
            url: redact_url(&url),
            source,
        })?;
    crate::store::migrate(&db)
        .await
        .map_err(StartupError::Migration)?;

    let master_key = load_master_key(&config)?;
    let keys = crate::oidc::keys::Keys::new(KeySet::load_or_create(&db, &master_key).await?);
    // Records what the set was built from, so the first timed reload changes nothing.
    keys.reload(&db, &master_key, crate::clock::now()).await?;
    let theme_dir = (!config.theme.dir.is_empty()).then(|| PathBuf::from(&config.theme.dir));
    let templates = Templates::load(theme_dir.as_deref())?;
    let passwords = PasswordHasherPool::new(config.login.hash_concurrency)?;
    let sms: Box<dyn SmsSender> = Box::new(OutboxSender::new(config.sms_outbox_path()));

    let realname =
        crate::providers::realname::from_config(&config.realname, config.realname_fixture_path())
            .map_err(StartupError::Realname)?;
    let (trust_store, ca_subjects) = load_trust_store(&config)?;
    if demo {
        crate::seed::load_demo(&db, &config, &master_key, &passwords)
            .await
            .map_err(|e| StartupError::Demo(e.to_string()))?;
    }

    Ok(Arc::new(AppState {
        discovery: oidc::discovery::metadata(&config.server.issuer),
        csrf_key: master_key.derive("csrf"),
        config,
        db,
        master_key,
        keys,
        passwords,
        sms,
        realname,
        templates,
        demo_enabled: demo,
        trust_store: std::sync::RwLock::new(trust_store),
        ca_subjects,
        clock: crate::clock::Clock::default(),
        metrics: crate::metrics::Metrics::default(),
    }))
}

/// Loads the configured CAs and CRLs. Without configured CAs, the development CA (created on
/// first start) is trusted and a warning is logged.
fn load_trust_store(config: &Config) -> Result<(TrustStore, Vec<Vec<u8>>), StartupError> {
    let (ca_files, crl_files) = if config.certificate.ca_files.is_empty() {
        let dev_ca = DevCa::init(&config.dev_ca_dir())?;
        tracing::warn!(
            dir = %config.dev_ca_dir().display(),
            "certificate.ca_files is empty: trusting the development CA; configure the legal-person CA bundle in production"
        );
        (dev_ca.ca_pem_paths(), dev_ca.crl_paths())
    } else {
        (
            config.certificate.ca_files.clone(),
            config.certificate.crl_files.clone(),
        )
    };
    let store = TrustStore::load(&ca_files, &crl_files)?;
    let subjects = store.anchor_subjects();
    Ok((store, subjects))
}

/// Hides the password in a database URL for messages.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Uses `keys.master_key` when set; otherwise reads the key file, creating it with a fresh
/// random key (mode 0600) on first start.
pub fn load_master_key(config: &Config) -> Result<MasterKey, StartupError> {
    if !config.keys.master_key.is_empty() {
        return MasterKey::from_base64(&config.keys.master_key)
            .ok_or(StartupError::MasterKeyConfig);
    }
    let path = config.master_key_path();
    let fail = |reason: String| StartupError::MasterKey {
        path: path.clone(),
        reason,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            refuse_shared_key_file(&path).map_err(fail)?;
            MasterKey::from_base64(&text).ok_or_else(|| fail("not base64 of 32 bytes".into()))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key = MasterKey::generate().map_err(|e| fail(e.to_string()))?;
            write_private_file(&path, key.to_base64().as_bytes())
                .map_err(|e| fail(e.to_string()))?;
            tracing::info!(path = %path.display(), "generated master key");
            Ok(key)
        }
        Err(error) => Err(fail(error.to_string())),
    }
}

/// Refuses a key file that users other than its owner may read or write.
fn refuse_shared_key_file(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| e.to_string())?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "mode {:o} lets other users read or change it; run `chmod 600 {}`",
                mode & 0o777,
                path.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Largest request body accepted; forms and token requests are far smaller.
const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn router(state: SharedState) -> Router {
    let pages = Router::new()
        .route("/", get(web::index))
        .route(
            oidc::AUTHORIZE_PATH,
            get(oidc::authorize::authorize_get).post(oidc::authorize::authorize_post),
        )
        .route(
            "/login",
            get(web::login::login_page).post(web::login::submit),
        )
        .route("/login/sms-code", post(web::login::send_code))
        .route(
            "/login/stock",
            get(web::stock::stock_page).post(web::stock::stock_submit),
        )
        .route(
            web::login::PASSWORD_CHANGE_PATH,
            get(web::password::change_page).post(web::password::change_submit),
        )
        .route(
            "/login/certificate",
            get(web::certificate::certificate_page),
        )
        .route(
            "/login/certificate/challenge",
            post(web::certificate::challenge),
        )
        .route("/login/certificate/verify", post(web::certificate::verify))
        .route("/login/certificate/bind", post(web::binding::bind_submit))
        .route(
            web::certificate::SELECT_IDENTITY_PATH,
            get(web::identity::select_page).post(web::identity::select_submit),
        )
        .route(
            oidc::END_SESSION_PATH,
            get(web::logout::logout_get).post(web::logout::logout_post),
        )
        .route(
            oidc::completion::REALNAME_PATH,
            get(web::realname::realname_page).post(web::realname::submit),
        )
        .route("/realname/sms-code", post(web::realname::send_code))
        .route("/realname/continue", post(web::realname::continue_sign_in))
        .route(
            "/admin",
            get(|| async { axum::response::Redirect::to(web::admin::CONSOLE_PATH) }),
        )
        .route(
            web::admin::CONSOLE_PATH,
            get(web::admin::operators_page).post(web::admin::create_operator),
        )
        .route("/admin/operators/new", get(web::admin::new_operator_page))
        .route(
            "/admin/operators/{id}",
            get(web::admin::operator_page).post(web::admin::modify_operator),
        )
        .route(
            "/admin/operators/{id}/delete",
            post(web::admin::delete_operator),
        )
        .route("/admin/reviews", get(web::admin::reviews_page))
        .route(
            "/admin/applications",
            get(web::applications::list_page).post(web::applications::apply_submit),
        )
        .route(
            "/admin/applications/question",
            get(web::applications::question_page),
        )
        .route(
            "/admin/applications/attach",
            get(web::applications::attach_page).post(web::applications::attach_submit),
        )
        .route(
            "/admin/applications/new",
            get(web::applications::apply_page),
        )
        .route("/admin/reviews/{id}/approve", post(web::admin::approve))
        .route("/admin/reviews/{id}/reject", post(web::admin::reject))
        .route("/demo", get(web::demo::demo_page))
        .route("/demo/start", get(web::demo::start))
        .route("/demo/callback", get(web::demo::callback))
        .fallback(web::not_found)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::error_pages,
        ));

    let api = Router::new()
        .route(oidc::DISCOVERY_PATH, get(oidc::discovery::configuration))
        .route(oidc::JWKS_PATH, get(oidc::discovery::jwks))
        .route(oidc::TOKEN_PATH, post(oidc::token::token))
        .route(oidc::REVOCATION_PATH, post(oidc::revocation::revoke))
        .route(oidc::INTROSPECTION_PATH, post(oidc::revocation::introspect))
        .route(oidc::PAR_PATH, post(oidc::par::push))
        .route(
            oidc::USERINFO_PATH,
            get(oidc::userinfo::userinfo_get).post(oidc::userinfo::userinfo_post),
        )
        .route("/static/style.css", get(web::style_css))
        .route("/static/certificate.js", get(web::certificate_js))
        .route("/static/login.js", get(web::login_js))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route(
            "/api/v1/operators",
            get(admin::api::list_operators).post(admin::api::create_operator),
        )
        .route(
            "/api/v1/operators/{id}",
            get(admin::api::get_operator)
                .patch(admin::api::modify_operator)
                .delete(admin::api::delete_operator),
        )
        .route(
            "/api/v1/realname-submissions",
            get(admin::api::list_submissions),
        )
        .route(
            "/api/v1/applications",
            get(admin::api::available_applications).post(admin::api::submit_application),
        )
        .route(
            "/api/v1/platform/systems",
            get(admin::platform::list_systems).post(admin::platform::create_system),
        )
        .route(
            "/api/v1/platform/systems/{client_id}",
            axum::routing::patch(admin::platform::update_system),
        )
        .route(
            "/api/v1/platform/provisioning-events",
            get(admin::platform::list_events),
        )
        .route(
            "/api/v1/realname-submissions/{id}/approve",
            post(admin::api::approve_submission),
        )
        .route(
            "/api/v1/realname-submissions/{id}/reject",
            post(admin::api::reject_submission),
        )
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES));

    let security_header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    // Browsers ignore the header over plain HTTP, so it is safe behind a TLS-terminating proxy
    // too (RFC 6797 §8.1).
    let hsts = (state.config.issuer_is_https() && state.config.server.hsts_max_age_secs > 0)
        .then(|| format!("max-age={}", state.config.server.hsts_max_age_secs))
        .and_then(|value| HeaderValue::from_str(&value).ok());
    api.merge(pages)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .with_state(state)
        .layer(security_header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
        ))
        .layer(security_header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(security_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(security_header(header::REFERRER_POLICY, "no-referrer"))
        .layer(tower::util::option_layer(hsts.map(|value| {
            SetResponseHeaderLayer::if_not_present(header::STRICT_TRANSPORT_SECURITY, value)
        })))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let route = request
                        .extensions()
                        .get::<MatchedPath>()
                        .map(MatchedPath::as_str)
                        .unwrap_or("-");
                    let request_id = crate::telemetry::request_id(
                        request
                            .headers()
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok()),
                    );
                    tracing::info_span!("request", method = %request.method(), route, request_id)
                })
                .on_request(())
                .on_response(
                    |response: &axum::response::Response,
                     latency: Duration,
                     _span: &tracing::Span| {
                        tracing::info!(
                            status = response.status().as_u16(),
                            latency_ms = latency.as_millis() as u64,
                            "request"
                        );
                    },
                ),
        )
}

/// `GET /readyz`: 200 when the database answers (the signing keys are loaded before the
/// server starts listening), 503 otherwise.
async fn readyz(
    axum::extract::State(state): axum::extract::State<SharedState>,
) -> (axum::http::StatusCode, &'static str) {
    match state.db.ping().await {
        Ok(()) => (axum::http::StatusCode::OK, "ready"),
        Err(error) => {
            tracing::error!(error = %error, "readiness check failed: database unreachable");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "database unreachable",
            )
        }
    }
}

/// Bound listeners with their state, ready to serve. Tests bind port 0 and read the addresses.
pub struct Application {
    listener: tokio::net::TcpListener,
    certificate_listener: Option<(tokio::net::TcpListener, tokio_rustls::TlsAcceptor)>,
    metrics_listener: Option<tokio::net::TcpListener>,
    /// The main listener's TLS acceptor when `server.tls_cert` is set.
    main_tls: Option<tokio_rustls::TlsAcceptor>,
    state: SharedState,
}

impl Application {
    /// Builds the state and binds the certificate listener from `certificate.listen`.
    pub async fn new(
        config: Config,
        demo: bool,
        listener: tokio::net::TcpListener,
    ) -> Result<Application, StartupError> {
        // Two rustls crypto providers are compiled in (reqwest brings ring); use aws-lc-rs.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let state = build_state(config, demo).await?;

        let certificate = &state.config.certificate;
        let certificate_listener = if certificate.listen.is_empty() {
            None
        } else {
            let (cert, key, generated) = crate::listener::server_files(
                &certificate.server_cert,
                &certificate.server_key,
                &state.config.server.data_dir,
            );
            if generated {
                crate::listener::ensure_self_signed(&cert, &key)?;
            }
            let acceptor = crate::listener::acceptor(&cert, &key, state.ca_subjects.clone())?;
            let bound = tokio::net::TcpListener::bind(&certificate.listen)
                .await
                .map_err(|source| StartupError::CertificateListen {
                    address: certificate.listen.clone(),
                    source,
                })?;
            Some((bound, acceptor))
        };
        let metrics_listener = if state.config.server.metrics_bind.is_empty() {
            None
        } else {
            Some(
                tokio::net::TcpListener::bind(&state.config.server.metrics_bind)
                    .await
                    .map_err(|source| StartupError::MetricsListen {
                        address: state.config.server.metrics_bind.clone(),
                        source,
                    })?,
            )
        };
        let main_tls = if state.config.main_listener_tls() {
            Some(
                crate::listener::main_acceptor(
                    Path::new(&state.config.server.tls_cert),
                    Path::new(&state.config.server.tls_key),
                )
                .map_err(StartupError::MainTls)?,
            )
        } else {
            None
        };
        Ok(Application {
            listener,
            certificate_listener,
            metrics_listener,
            main_tls,
            state,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Address of the certificate listener, when it is enabled.
    pub fn certificate_addr(&self) -> Option<SocketAddr> {
        self.certificate_listener
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    /// Address of the metrics listener, when `server.metrics_bind` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    pub fn state(&self) -> SharedState {
        self.state.clone()
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests on the main
    /// listener. The certificate listener stops accepting at the same moment.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let worker = tokio::spawn(crate::admin::provisioning::run_worker(
            self.state.clone(),
            stop_rx.clone(),
        ));
        tokio::spawn(crate::oidc::keys::run_reloader(
            self.state.clone(),
            stop_rx.clone(),
        ));
        tokio::spawn(crate::jobs::run_cleanup(
            self.state.clone(),
            stop_rx.clone(),
        ));
        if let Some(listener) = self.metrics_listener {
            let metrics = Router::new()
                .route("/metrics", get(crate::metrics::serve_metrics))
                .with_state(self.state.clone());
            let mut stop = stop_rx.clone();
            tokio::spawn(async move {
                let served = axum::serve(listener, metrics)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|stopped| *stopped).await;
                    })
                    .await;
                if let Err(error) = served {
                    tracing::error!(error = %error, "metrics listener failed");
                }
            });
        }
        let main_tls = self.main_tls;
        let header_timeout =
            Duration::from_secs(self.state.config.server.header_read_timeout_secs.max(1));
        let router = router(self.state);
        if let Some((listener, acceptor)) = self.certificate_listener {
            let mut stop = stop_rx;
            let tls_router = router.clone();
            tokio::spawn(crate::listener::serve(
                listener,
                Some(acceptor),
                tls_router,
                header_timeout,
                async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                },
            ));
        }
        let stop_tx = Arc::new(stop_tx);
        let stop_on_signal = stop_tx.clone();
        let stopped = async move {
            shutdown.await;
            let _ = stop_on_signal.send(true);
        };
        crate::listener::serve(self.listener, main_tls, router, header_timeout, stopped).await;
        let _ = stop_tx.send(true);
        // The worker finishes the delivery in flight; undelivered events stay queued in the
        // database for the next start.
        if tokio::time::timeout(Duration::from_secs(30), worker)
            .await
            .is_err()
        {
            tracing::warn!("provisioning worker did not stop within 30 s");
        }
        Ok(())
    }
}
