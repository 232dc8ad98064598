//! Test kit: a server per test, a cookie-keeping browser that never follows redirects, and
//! readers for the SMS outbox and the database.

use std::path::PathBuf;

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel};
use unilogin::Config;
use unilogin::app::SharedState;
use unilogin::crypto::sha256_b64;
use unilogin::domain::pkce;
use unilogin::store::{accounts, systems};

pub const CLIENT_ID: &str = "fund-system";
pub const CLIENT_SECRET: &str = "fund-system-secret-for-tests-0123456789";
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
pub const POST_LOGOUT_REDIRECT_URI: &str = "http://127.0.0.1:9/signed-out";
pub const PHONE: &str = "13912345678";
pub const PASSWORD: &str = "Initial#2026";

pub struct TestApp {
    pub issuer: String,
    /// Base URL of the certificate listener (HTTPS).
    pub certificate_url: String,
    /// Base URL of the metrics listener.
    pub metrics_url: String,
    pub state: SharedState,
    pub outbox: PathBuf,
    /// The configuration the server started with, to start it again.
    pub config: Config,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    stopped: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _data_dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();

    let mut config = Config::default();
    config.server.data_dir = data_dir.path().to_path_buf();
    config.server.issuer = format!("http://127.0.0.1:{port}");
    config.certificate.listen = "127.0.0.1:0".into();
    config.server.metrics_bind = "127.0.0.1:0".into();
    if let Ok(admin_url) = std::env::var("TEST_POSTGRES_URL") {
        config.database.url = fresh_postgres_database(&admin_url).await;
    }
    adjust(&mut config);
    config.validate().unwrap();

    let app = start(config, listener, data_dir).await;

    let system = systems::NewSystem {
        client_id: CLIENT_ID,
        name: "维修资金系统",
        secret_hash: sha256_b64(CLIENT_SECRET),
        redirect_uris: &[REDIRECT_URI.to_owned()],
        post_logout_redirect_uris: &[POST_LOGOUT_REDIRECT_URI.to_owned()],
        initiate_login_uri: None,
        home_uri: None,
        identity_types: &[],
        provisioning_endpoint: None,
        ..Default::default()
    };
    systems::insert(&app.state.db, system, unilogin::clock::now())
        .await
        .unwrap();
    app
}

/// Starts the server on `listener` with `config` and keeps `data_dir` alive with it.
async fn start(
    config: Config,
    listener: tokio::net::TcpListener,
    data_dir: tempfile::TempDir,
) -> TestApp {
    let outbox = config.sms_outbox_path();
    let issuer = config.server.issuer.clone();
    let app = unilogin::Application::new(config.clone(), false, listener)
        .await
        .unwrap();
    let certificate_url = app
        .certificate_addr()
        .map(|addr| format!("https://127.0.0.1:{}", addr.port()))
        .unwrap_or_default();
    let metrics_url = app
        .metrics_addr()
        .map(|addr| format!("http://{addr}"))
        .unwrap_or_default();
    let state = app.state();
    let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
    let stopped = tokio::spawn(app.serve(async move {
        let _ = stop.await;
    }));
    TestApp {
        issuer,
        certificate_url,
        metrics_url,
        state,
        outbox,
        config,
        shutdown: Some(shutdown),
        stopped: Some(stopped),
        _data_dir: data_dir,
    }
}

impl TestApp {
    /// Starts a second node on the same database, master key and issuer, on its own port;
    /// the returned app's `url` points at the new node.
    pub async fn second_node(&self) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let node_url = format!("http://{}", listener.local_addr().unwrap());
        let node = start(self.config.clone(), listener, tempfile::tempdir().unwrap()).await;
        TestApp {
            issuer: node_url,
            ..node
        }
    }

    /// Stops the server and starts it again on the same data folder and database, on a new
    /// port that becomes the issuer.
    pub async fn restart(mut self) -> TestApp {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(stopped) = self.stopped.take() {
            let _ = stopped.await;
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut config = self.config.clone();
        config.certificate.listen = "127.0.0.1:0".into();
        config.server.issuer = format!("http://{}", listener.local_addr().unwrap());
        let data_dir = std::mem::replace(&mut self._data_dir, tempfile::tempdir().unwrap());
        start(config, listener, data_dir).await
    }
}

/// Creates an empty PostgreSQL database for one test and returns its URL. `admin_url` points
/// at a database of a role that may create databases.
async fn fresh_postgres_database(admin_url: &str) -> String {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let name = format!(
        "unilogin_test_{}",
        unilogin::crypto::random_digits(12).unwrap()
    );
    let admin = Database::connect(admin_url).await.unwrap();
    let create = Statement::from_string(
        admin.get_database_backend(),
        format!("CREATE DATABASE {name}"),
    );
    admin.execute_raw(create).await.unwrap();
    admin.close().await.unwrap();
    let mut url = url::Url::parse(admin_url).unwrap();
    url.set_path(&format!("/{name}"));
    url.to_string()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// Registers another system (OIDC client) with a placeholder secret and redirect URI.
    pub async fn register_system(&self, client_id: &str) {
        let system = systems::NewSystem {
            client_id,
            name: client_id,
            secret_hash: sha256_b64("unused"),
            redirect_uris: &[format!("http://127.0.0.1:9/{client_id}")],
            post_logout_redirect_uris: &[],
            initiate_login_uri: None,
            home_uri: None,
            identity_types: &[],
            provisioning_endpoint: None,
            ..Default::default()
        };
        systems::insert(&self.state.db, system, unilogin::clock::now())
            .await
            .unwrap();
    }

    /// Creates an account with `PASSWORD`; `must_change` as an account from `account add` has.
    pub async fn add_account(&self, phone: &str, must_change: bool) -> accounts::Model {
        let hash = unilogin::auth::password::hash_blocking(PASSWORD).unwrap();
        let e164 = unilogin::domain::phone::Phone::parse(phone).unwrap();
        let account = accounts::NewAccount {
            phone: e164.as_e164(),
            name: "张三",
            password_hash: hash,
            must_change_password: must_change,
            realname_status: unilogin::store::accounts::REALNAME_UNVERIFIED,
        };
        accounts::insert(&self.state.db, account, unilogin::clock::now())
            .await
            .unwrap()
    }

    pub async fn account(&self, id: i32) -> accounts::Model {
        accounts::Entity::find_by_id(id)
            .one(&self.state.db)
            .await
            .unwrap()
            .unwrap()
    }

    /// Lines of the SMS outbox, parsed.
    pub fn outbox_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.outbox)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// The code of the newest login message to `phone`.
    pub fn latest_code(&self, phone: &str) -> String {
        let e164 = unilogin::domain::phone::Phone::parse(phone)
            .unwrap()
            .as_e164()
            .to_owned();
        let lines = self.outbox_lines();
        let line = lines
            .iter()
            .rev()
            .find(|line| line["phone"] == e164.as_str() && line["purpose"] == "login")
            .expect("no login code in the outbox");
        line["code"].as_str().unwrap().to_owned()
    }

    /// Moves the newest code's creation and expiry into the past, as if `seconds` had passed.
    pub async fn age_latest_code(&self, phone: &str, seconds: i64) {
        use unilogin::store::sms_codes;
        let code = sms_codes::latest(&self.state.db, &format!("+86{phone}"), "login")
            .await
            .unwrap()
            .unwrap();
        let mut model = code.clone().into_active_model();
        model.created_at = Set(code.created_at - seconds);
        model.expires_at = Set(code.expires_at - seconds);
        model.update(&self.state.db).await.unwrap();
    }

    pub async fn audit_actions(&self) -> Vec<(String, String, String)> {
        unilogin::store::audit::recent(&self.state.db, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|event| (event.action, event.result, event.detail))
            .collect()
    }
}

/// A browser: keeps cookies, never follows redirects.
pub struct Browser {
    pub client: reqwest::Client,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    /// The `value` of the input called `name`.
    pub fn input(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no input {name} in page:\n{}", self.body));
        let rest = &self.body[start + marker.len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

impl Browser {
    /// A browser that presents `identity_pem` (certificate and key) to the certificate
    /// listener and trusts the listener's generated certificate.
    pub fn with_certificate(app: &TestApp, identity_pem: Option<String>) -> Browser {
        let server_pem =
            std::fs::read(app.state.config.server.data_dir.join("tls/server.pem")).unwrap();
        let mut builder = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .use_rustls_tls()
            .add_root_certificate(reqwest::Certificate::from_pem(&server_pem).unwrap());
        if let Some(pem) = identity_pem {
            builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
        }
        Browser {
            client: builder.build().unwrap(),
        }
    }

    pub fn new() -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser { client }
    }

    async fn page(response: reqwest::Response) -> Page {
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let headers = response.headers().clone();
        Page {
            status,
            location,
            headers,
            body: response.text().await.unwrap(),
        }
    }

    pub async fn get(&self, url: &str) -> Page {
        Browser::page(self.client.get(url).send().await.unwrap()).await
    }

    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(form).unwrap();
        let response = self
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        Browser::page(response).await
    }
}

/// An authorization URL for the test client with a fresh PKCE pair; returns (url, verifier).
pub fn authorization_url(app: &TestApp, extra: &[(&str, &str)]) -> (String, String) {
    let verifier = "v".repeat(20) + &unilogin::crypto::random_token().unwrap();
    let challenge = pkce::s256_challenge(&verifier, unilogin::crypto::sha256);
    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid profile phone"),
        ("state", "client-state-1"),
        ("nonce", "nonce-1"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    for (key, value) in extra {
        params.retain(|(k, _)| k != key);
        if !value.is_empty() {
            params.push((key, value));
        }
    }
    let query = serde_urlencoded::to_string(&params).unwrap();
    (format!("{}/authorize?{query}", app.issuer), verifier)
}

/// Follows an authorization URL to the sign-in page and returns it.
pub async fn open_login(browser: &Browser, url: &str) -> Page {
    let redirect = browser.get(url).await;
    assert_eq!(redirect.status, StatusCode::FOUND, "{}", redirect.body);
    let location = redirect.location.unwrap();
    assert!(location.starts_with("/login?request_id="), "{location}");
    let page = browser.get(&location_url(url, &location)).await;
    assert_eq!(page.status, StatusCode::OK);
    page
}

fn location_url(base: &str, location: &str) -> String {
    url::Url::parse(base)
        .unwrap()
        .join(location)
        .unwrap()
        .to_string()
}

/// Requests a code for `phone` from the sign-in page and returns it from the outbox.
pub async fn request_code(app: &TestApp, browser: &Browser, login: &Page, phone: &str) -> String {
    let sent = browser
        .post(
            &app.url("/login/sms-code"),
            &[
                ("phone", phone),
                ("csrf_token", &login.input("csrf_token")),
                ("request_id", &login.input("request_id")),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    app.latest_code(phone)
}

pub async fn submit_login(
    app: &TestApp,
    browser: &Browser,
    login: &Page,
    phone: &str,
    password: &str,
    code: &str,
) -> Page {
    browser
        .post(
            &app.url("/login"),
            &[
                ("phone", phone),
                ("password", password),
                ("sms_code", code),
                ("csrf_token", &login.input("csrf_token")),
                ("request_id", &login.input("request_id")),
            ],
        )
        .await
}

/// Signs in an account without a forced password change; returns the client callback URL.
pub async fn sign_in(app: &TestApp, browser: &Browser, auth_url: &str, phone: &str) -> String {
    let login = open_login(browser, auth_url).await;
    let code = request_code(app, browser, &login, phone).await;
    let done = submit_login(app, browser, &login, phone, PASSWORD, &code).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    done.location.unwrap()
}

/// Reads one query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Exchanges a code at the token endpoint with client_secret_basic.
pub async fn exchange(app: &TestApp, code: &str, verifier: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            serde_urlencoded::to_string([
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", verifier),
            ])
            .unwrap(),
        )
        .send()
        .await
        .unwrap()
}

/// A `sha256_salted` hash of the old fund system: `salt$HEX(SHA-256("salt" || password))`.
pub fn salted(password: &str) -> String {
    let digest = unilogin::crypto::sha256(format!("salt{password}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("salt${hex}")
}
