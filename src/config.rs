//! Configuration: built-in defaults, then `config/unilogin.toml` (or the file named by
//! `UNILOGIN_CONFIG`), then `UNILOGIN_*` environment variables with `__` between nested keys.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

pub const DEFAULT_CONFIG_PATH: &str = "config/unilogin.toml";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub keys: KeysConfig,
    pub sms: SmsConfig,
    pub login: LoginConfig,
    pub tokens: TokenConfig,
    pub theme: ThemeConfig,
    pub certificate: CertificateConfig,
    pub identities: crate::domain::identity::IdentityRules,
    pub realname: crate::providers::realname::RealnameConfig,
    pub provisioning: crate::providers::provisioning::ProvisioningConfig,
    pub platform: PlatformConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `text` (one readable line per event) or `json` (one JSON object per line).
    pub format: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformConfig {
    /// SHA-256 (base64url, no padding) of each bearer token that the platform-admin API
    /// under `/api/v1/platform/` accepts. Empty: that API is off.
    pub admin_token_hashes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateConfig {
    /// Address of the HTTPS listener that requests client certificates. Empty disables it.
    pub listen: String,
    /// URL of that listener as browsers reach it, for links to certificate sign-in.
    pub public_url: String,
    /// PEM server certificate chain and PKCS#8 key of that listener. Empty: a self-signed
    /// certificate for 127.0.0.1 and localhost in `DATA_DIR/tls/`, created on first start.
    pub server_cert: String,
    pub server_key: String,
    /// PEM files of the legal-person CAs that issue enterprise certificates. Empty: the
    /// development CA in `DATA_DIR/dev-ca/`, created on first start (for development only).
    pub ca_files: Vec<PathBuf>,
    /// CRL files (PEM or DER), re-read when they change.
    pub crl_files: Vec<PathBuf>,
    /// Proxies (CIDR) whose `X-SSL-Client-Cert` or `Client-Cert` header is accepted, and whose
    /// `X-Forwarded-For` names the client address for rate limits and audit events.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Places the USCC is read from, in order: extension OIDs, `subject.serialNumber`,
    /// `subject.OU`, `subject.O`, `subject.CN`.
    pub uscc_sources: Vec<String>,
    pub challenge_ttl_secs: i64,
    /// Failed enterprise binding attempts that lock binding for `binding_lockout_secs`.
    pub binding_max_failures: i32,
    pub binding_lockout_secs: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address of the main HTTP listener.
    pub bind: SocketAddr,
    /// Public issuer URL; every endpoint URL is built from it.
    pub issuer: String,
    /// Folder for the SQLite database, the master key and the SMS outbox.
    pub data_dir: PathBuf,
    /// Address of the Prometheus `/metrics` listener; empty disables it. Keep it off the
    /// public network.
    pub metrics_bind: String,
    /// PEM certificate chain of the main listener. With `tls_key` set, the main listener
    /// speaks HTTPS itself; empty serves plain HTTP (for a TLS-terminating proxy or
    /// development).
    pub tls_cert: String,
    /// PEM private key of the main listener.
    pub tls_key: String,
    /// `max-age` of the Strict-Transport-Security header, in seconds, sent whenever the
    /// issuer is https; 0 sends none.
    pub hsts_max_age_secs: u64,
    /// Time a client has to send a request's headers before the connection is closed, in
    /// seconds.
    pub header_read_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH?mode=rwc` or `postgres://...`. Empty means `DATA_DIR/unilogin.db`.
    pub url: String,
    pub max_connections: u32,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// Base64 of 32 bytes that encrypt signing keys at rest and derive the CSRF key.
    /// Empty means read or create `master_key_path`.
    pub master_key: String,
    /// Empty means `DATA_DIR/master.key`.
    pub master_key_path: String,
    /// How often each node re-reads the signing keys, so a rotation made anywhere reaches
    /// every node, in milliseconds.
    pub reload_interval_ms: u64,
    /// A new key from `unilogin keys rotate` is published this long before it signs.
    pub publish_before_use_secs: i64,
    /// Age in seconds at which the newest signing key is replaced automatically, by the
    /// same steps as `unilogin keys rotate`; 0 turns scheduled rotation off.
    pub rotate_every_secs: i64,
}

impl std::fmt::Debug for KeysConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeysConfig")
            .field(
                "master_key",
                &if self.master_key.is_empty() {
                    ""
                } else {
                    "[redacted]"
                },
            )
            .field("master_key_path", &self.master_key_path)
            .field("reload_interval_ms", &self.reload_interval_ms)
            .field("publish_before_use_secs", &self.publish_before_use_secs)
            .field("rotate_every_secs", &self.rotate_every_secs)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    /// `outbox` appends each message to `outbox_path` as a JSON line.
    pub adapter: String,
    /// Empty means `DATA_DIR/sms-outbox.jsonl`.
    pub outbox_path: String,
    /// Signature prefix that the SMS gateway has approved, such as `【统一登录平台】`.
    pub signature: String,
    pub code_ttl_secs: i64,
    pub resend_interval_secs: i64,
    pub daily_limit_per_phone: u64,
    /// Codes one client address may request per hour across all phones, against SMS bombing.
    pub hourly_limit_per_address: u64,
    pub max_attempts: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginConfig {
    /// Failed sign-ins in a row that lock an account.
    pub max_failures: i32,
    pub lockout_secs: i64,
    /// Absolute lifetime of a sign-in session.
    pub session_ttl_secs: i64,
    /// A session unused for this long ends.
    pub idle_timeout_secs: i64,
    /// Password hashes computed at once; more wait on the blocking pool.
    pub hash_concurrency: usize,
    /// Time a user has to finish signing in after the relying party's request.
    pub pending_ttl_secs: i64,
    /// How often each node deletes expired sessions, codes and tokens, in seconds.
    pub cleanup_interval_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    pub authorization_code_ttl_secs: i64,
    pub access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    /// Absolute lifetime of a refresh token family, from the authorization code.
    pub refresh_token_ttl_secs: i64,
    /// A refresh token unused for this long expires.
    pub refresh_token_idle_secs: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeConfig {
    /// Folder with `templates/` and `messages/` that override the embedded default theme.
    pub dir: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            server: ServerConfig {
                bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
                issuer: "http://127.0.0.1:8080".into(),
                data_dir: PathBuf::from("data"),
                metrics_bind: "127.0.0.1:9464".into(),
                tls_cert: String::new(),
                tls_key: String::new(),
                hsts_max_age_secs: 31_536_000,
                header_read_timeout_secs: 30,
            },
            database: DatabaseConfig {
                url: String::new(),
                max_connections: 8,
            },
            keys: KeysConfig {
                master_key: String::new(),
                master_key_path: String::new(),
                reload_interval_ms: 30_000,
                publish_before_use_secs: 3600,
                rotate_every_secs: 0,
            },
            sms: SmsConfig {
                adapter: "outbox".into(),
                outbox_path: String::new(),
                signature: "【统一登录平台】".into(),
                code_ttl_secs: 300,
                resend_interval_secs: 60,
                daily_limit_per_phone: 10,
                hourly_limit_per_address: 30,
                max_attempts: 5,
            },
            login: LoginConfig {
                max_failures: 5,
                lockout_secs: 900,
                session_ttl_secs: 8 * 3600,
                idle_timeout_secs: 1800,
                hash_concurrency: 2,
                pending_ttl_secs: 1800,
                cleanup_interval_secs: 3600,
            },
            tokens: TokenConfig {
                authorization_code_ttl_secs: 60,
                access_token_ttl_secs: 3600,
                id_token_ttl_secs: 3600,
                refresh_token_ttl_secs: 30 * 86_400,
                refresh_token_idle_secs: 7 * 86_400,
            },
            theme: ThemeConfig { dir: String::new() },
            certificate: CertificateConfig {
                listen: "127.0.0.1:8443".into(),
                public_url: "https://127.0.0.1:8443".into(),
                server_cert: String::new(),
                server_key: String::new(),
                ca_files: Vec::new(),
                crl_files: Vec::new(),
                trusted_proxies: Vec::new(),
                uscc_sources: crate::auth::certificate::DEFAULT_USCC_SOURCES
                    .iter()
                    .map(|source| (*source).to_owned())
                    .collect(),
                challenge_ttl_secs: 120,
                binding_max_failures: 5,
                binding_lockout_secs: 900,
            },
            identities: crate::domain::identity::IdentityRules::default(),
            realname: crate::providers::realname::RealnameConfig::default(),
            provisioning: crate::providers::provisioning::ProvisioningConfig::default(),
            platform: PlatformConfig::default(),
            log: LogConfig {
                format: "text".into(),
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Parse(Box<figment::Error>),
    #[error("invalid configuration key `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
    #[error("configuration file {} does not exist; fix --config or UNILOGIN_CONFIG", path.display())]
    Missing { path: PathBuf },
}

/// Largest accepted duration or count setting: ten years in seconds.
const MAX_SETTING: i64 = 10 * 365 * 86_400;

impl Config {
    /// Loads the layers. `path` is the TOML file; a missing file is skipped so that a fresh
    /// checkout runs on the defaults. Returns the config and the file it read, if any.
    pub fn load(path: Option<&Path>) -> Result<(Config, Option<PathBuf>), ConfigError> {
        let named = path
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("UNILOGIN_CONFIG").map(PathBuf::from));
        // A file named on the command line or in UNILOGIN_CONFIG must exist; only the default
        // path may be absent.
        if let Some(named) = &named
            && !named.is_file()
        {
            return Err(ConfigError::Missing {
                path: named.clone(),
            });
        }
        let path = named.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH));
        let file_read = path.is_file().then(|| path.clone());

        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(&path))
            .merge(Env::prefixed("UNILOGIN_").ignore(&["CONFIG"]).split("__"))
            .extract()
            .map_err(|e| ConfigError::Parse(Box::new(e)))?;
        config.validate()?;
        Ok((config, file_read))
    }

    /// Checks values that parse but cannot work, so start-up stops with the key named.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let issuer = url::Url::parse(&self.server.issuer).map_err(|e| ConfigError::Invalid {
            key: "server.issuer",
            reason: format!("`{}` is not a URL ({e})", self.server.issuer),
        })?;
        if !matches!(issuer.scheme(), "http" | "https")
            || issuer.query().is_some()
            || issuer.fragment().is_some()
            || self.server.issuer.ends_with('/')
        {
            return Err(ConfigError::Invalid {
                key: "server.issuer",
                reason: format!(
                    "`{}` must be an http(s) URL without query, fragment or trailing slash",
                    self.server.issuer
                ),
            });
        }
        if self.server.tls_cert.is_empty() != self.server.tls_key.is_empty() {
            return Err(ConfigError::Invalid {
                key: "server.tls_cert",
                reason: "set both server.tls_cert and server.tls_key, or neither".into(),
            });
        }
        if self.main_listener_tls() && issuer.scheme() != "https" {
            return Err(ConfigError::Invalid {
                key: "server.issuer",
                reason: format!(
                    "`{}` must start with https:// when the main listener serves TLS",
                    self.server.issuer
                ),
            });
        }
        if self.sms.adapter != "outbox" {
            return Err(ConfigError::Invalid {
                key: "sms.adapter",
                reason: format!(
                    "`{}` is not a known adapter; use `outbox`",
                    self.sms.adapter
                ),
            });
        }
        let positive: [(&'static str, i64); 17] = [
            (
                "tokens.refresh_token_ttl_secs",
                self.tokens.refresh_token_ttl_secs,
            ),
            (
                "tokens.refresh_token_idle_secs",
                self.tokens.refresh_token_idle_secs,
            ),
            (
                "database.max_connections",
                i64::from(self.database.max_connections),
            ),
            (
                "sms.daily_limit_per_phone",
                i64::try_from(self.sms.daily_limit_per_phone).unwrap_or(i64::MAX),
            ),
            (
                "sms.hourly_limit_per_address",
                i64::try_from(self.sms.hourly_limit_per_address).unwrap_or(i64::MAX),
            ),
            ("login.lockout_secs", self.login.lockout_secs),
            (
                "server.header_read_timeout_secs",
                i64::try_from(self.server.header_read_timeout_secs).unwrap_or(i64::MAX),
            ),
            ("login.pending_ttl_secs", self.login.pending_ttl_secs),
            ("tokens.id_token_ttl_secs", self.tokens.id_token_ttl_secs),
            ("sms.code_ttl_secs", self.sms.code_ttl_secs),
            ("sms.resend_interval_secs", self.sms.resend_interval_secs),
            ("sms.max_attempts", i64::from(self.sms.max_attempts)),
            ("login.max_failures", i64::from(self.login.max_failures)),
            ("login.session_ttl_secs", self.login.session_ttl_secs),
            ("login.idle_timeout_secs", self.login.idle_timeout_secs),
            (
                "tokens.authorization_code_ttl_secs",
                self.tokens.authorization_code_ttl_secs,
            ),
            (
                "tokens.access_token_ttl_secs",
                self.tokens.access_token_ttl_secs,
            ),
        ];
        for (key, value) in positive {
            if value <= 0 {
                return Err(ConfigError::Invalid {
                    key,
                    reason: format!("{value} must be above 0"),
                });
            }
            // Times and counts are added to Unix times, so a value near i64::MAX would overflow.
            if value > MAX_SETTING {
                return Err(ConfigError::Invalid {
                    key,
                    reason: format!("{value} must be at most {MAX_SETTING}"),
                });
            }
        }
        let rotate_every = self.keys.rotate_every_secs;
        if !(0..=MAX_SETTING).contains(&rotate_every)
            || (rotate_every > 0 && rotate_every <= self.keys.publish_before_use_secs)
        {
            return Err(ConfigError::Invalid {
                key: "keys.rotate_every_secs",
                reason: format!(
                    "{rotate_every} must be 0 (off) or above keys.publish_before_use_secs ({}), so each new key signs before the next rotation",
                    self.keys.publish_before_use_secs
                ),
            });
        }
        if !(0..=MAX_SETTING).contains(&self.keys.publish_before_use_secs) {
            return Err(ConfigError::Invalid {
                key: "keys.publish_before_use_secs",
                reason: format!(
                    "{} must be between 0 and {MAX_SETTING}",
                    self.keys.publish_before_use_secs
                ),
            });
        }
        if !self.certificate.listen.is_empty()
            && self.certificate.listen.parse::<SocketAddr>().is_err()
        {
            return Err(ConfigError::Invalid {
                key: "certificate.listen",
                reason: format!(
                    "`{}` is not an address such as 127.0.0.1:8443",
                    self.certificate.listen
                ),
            });
        }
        crate::auth::certificate::extract::validate_sources(&self.certificate.uscc_sources)
            .map_err(|error| ConfigError::Invalid {
                key: "certificate.uscc_sources",
                reason: error.to_string(),
            })?;
        for (key, value) in [
            (
                "certificate.challenge_ttl_secs",
                self.certificate.challenge_ttl_secs,
            ),
            (
                "certificate.binding_max_failures",
                i64::from(self.certificate.binding_max_failures),
            ),
            (
                "certificate.binding_lockout_secs",
                self.certificate.binding_lockout_secs,
            ),
        ] {
            if value <= 0 {
                return Err(ConfigError::Invalid {
                    key,
                    reason: format!("{value} must be above 0"),
                });
            }
        }
        self.identities
            .validate()
            .map_err(|reason| ConfigError::Invalid {
                key: "identities",
                reason,
            })?;
        self.realname
            .validate()
            .map_err(|reason| ConfigError::Invalid {
                key: "realname",
                reason,
            })?;
        self.provisioning
            .validate()
            .map_err(|reason| ConfigError::Invalid {
                key: "provisioning",
                reason,
            })?;
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(ConfigError::Invalid {
                key: "log.format",
                reason: format!(
                    "`{}` is not a format; use `text` or `json`",
                    self.log.format
                ),
            });
        }
        if self.login.hash_concurrency == 0 {
            return Err(ConfigError::Invalid {
                key: "login.hash_concurrency",
                reason: "0 must be above 0".into(),
            });
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.server.data_dir.join("unilogin.db").display()
            )
        } else {
            self.database.url.clone()
        }
    }

    pub fn master_key_path(&self) -> PathBuf {
        or_in_data_dir(
            &self.keys.master_key_path,
            &self.server.data_dir,
            "master.key",
        )
    }

    pub fn sms_outbox_path(&self) -> PathBuf {
        or_in_data_dir(
            &self.sms.outbox_path,
            &self.server.data_dir,
            "sms-outbox.jsonl",
        )
    }

    pub fn realname_fixture_path(&self) -> PathBuf {
        or_in_data_dir(
            &self.realname.fixture_path,
            &self.server.data_dir,
            "realname-fixture.csv",
        )
    }

    pub fn dev_ca_dir(&self) -> PathBuf {
        self.server.data_dir.join("dev-ca")
    }

    pub fn issuer_is_https(&self) -> bool {
        self.server.issuer.starts_with("https://")
    }

    /// Returns how long a replaced signing key stays in the JWKS after its successor starts
    /// signing: the maximum token lifetime plus five minutes of clock skew.
    pub fn key_retire_grace_secs(&self) -> i64 {
        self.tokens
            .id_token_ttl_secs
            .max(self.tokens.access_token_ttl_secs)
            .saturating_add(300)
    }

    /// Whether the main listener serves TLS itself.
    pub fn main_listener_tls(&self) -> bool {
        !self.server.tls_cert.is_empty() && !self.server.tls_key.is_empty()
    }
}

fn or_in_data_dir(configured: &str, data_dir: &Path, file: &str) -> PathBuf {
    if configured.is_empty() {
        data_dir.join(file)
    } else {
        PathBuf::from(configured)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid_key(config: &Config) -> Option<&'static str> {
        match config.validate() {
            Err(ConfigError::Invalid { key, .. }) => Some(key),
            _ => None,
        }
    }

    #[test]
    fn defaults_are_valid() {
        assert!(Config::default().validate().is_ok());
    }

    #[test]
    fn invalid_values_name_their_key() {
        let mut config = Config::default();
        config.server.issuer = "http://127.0.0.1:8080/".into();
        assert_eq!(invalid_key(&config), Some("server.issuer"));

        let mut config = Config::default();
        config.sms.adapter = "carrier-pigeon".into();
        assert_eq!(invalid_key(&config), Some("sms.adapter"));

        let mut config = Config::default();
        config.tokens.access_token_ttl_secs = 0;
        assert_eq!(invalid_key(&config), Some("tokens.access_token_ttl_secs"));
    }
}
