//! Command line: serve, migrate, and manage clients and accounts.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use unilogin::config::Config;
use unilogin::crypto::{self, sha256_b64};
use unilogin::domain::phone::Phone;
use unilogin::providers::sms::{OutboxSender, Purpose, SmsMessage, SmsSender};
use unilogin::store::{self, accounts, systems};

#[derive(Parser)]
#[command(
    name = "unilogin",
    version,
    about = "Unified login platform: an OpenID Connect provider"
)]
struct Cli {
    /// Configuration file (default: config/unilogin.toml, or $UNILOGIN_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start-up, so the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Also load the demo client, the demo account and the /demo page.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage the systems registry: relying parties (OIDC clients) with the identity types
    /// they offer. `system` is another name for `client`.
    #[command(subcommand, alias = "system")]
    Client(ClientCommand),
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Import data from the old fund system.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Write an online copy of the SQLite database to FILE (VACUUM INTO); for PostgreSQL
    /// use pg_dump.
    Backup {
        /// The copy to create; it must not exist yet.
        file: PathBuf,
    },
    /// Development CA for enterprise certificates (never for production).
    #[command(subcommand, name = "dev-ca")]
    DevCa(DevCaCommand),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print the public signing keys as a JWKS document, as /jwks serves them.
    ExportPublic,
    /// Add a new signing key. It is published at once and signs after the delay; older keys
    /// stay published until the tokens they signed have expired.
    Rotate {
        /// Seconds until the new key signs (default `keys.publish_before_use_secs`).
        #[arg(long)]
        use_in: Option<i64>,
    },
}

#[derive(Subcommand)]
enum DevCaCommand {
    /// Create the RSA and SM2 development CAs in DATA_DIR/dev-ca (kept when they exist).
    Init,
    /// Issue an enterprise certificate: PEM, PKCS#8 key and, for RSA and P-256, a PKCS#12
    /// file with password `unilogin`.
    Issue {
        /// 18-character USCC, or a 9-character organization code.
        #[arg(long)]
        uscc: String,
        /// Enterprise name (subject O and CN).
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value = "rsa")]
        key: KeyArg,
        /// Place of the code: an extension OID, `subject.serialNumber` or `subject.OU`.
        #[arg(long, default_value = "1.2.156.112570.11.210")]
        place: String,
        /// Issue a certificate that expired a year ago.
        #[arg(long)]
        expired: bool,
        /// Add the certificate to its CA's CRL right away.
        #[arg(long)]
        revoke: bool,
        /// Leave digitalSignature out of keyUsage (an encryption-only certificate).
        #[arg(long)]
        no_digital_signature: bool,
        /// Output folder (default DATA_DIR/dev-ca/issued).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Sign a challenge with a key file, as a Ukey does; prints the base64 signature.
    Sign {
        /// PKCS#8 PEM private key.
        #[arg(long)]
        key: PathBuf,
        /// SM3withSM2, SHA256withRSA or SHA256withECDSA.
        #[arg(long)]
        algorithm: String,
        /// The exact text to sign (the nonce).
        #[arg(long)]
        message: String,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum KeyArg {
    Rsa,
    P256,
    Sm2,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import stock operator accounts from a CSV file (columns in the README).
    Operators {
        /// CSV file with a header row.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Register a client and print its generated secret once.
    Add {
        /// Client identifier: letters, digits, `-`, `_` or `.`.
        #[arg(long)]
        client_id: String,
        /// Display name shown on the sign-in page.
        #[arg(long)]
        name: String,
        /// Exact redirect URI; repeat for several.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Exact URI the browser may return to after logout; repeat for several.
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// The client's third-party-initiated login URI, which the portal opens.
        #[arg(long)]
        initiate_login_uri: Option<String>,
        /// The client's home page, which the portal opens when no initiate login URI is set.
        #[arg(long)]
        home_uri: Option<String>,
        /// Identity type the system offers, open for application; `CODE:closed` offers it
        /// without application. Repeat for several.
        #[arg(long = "identity-type")]
        identity_types: Vec<String>,
        /// URL that receives provisioning events (signed Security Event Tokens).
        #[arg(long)]
        provisioning_endpoint: Option<String>,
        /// Client authentication method at the token endpoint: client_secret_basic,
        /// client_secret_post, private_key_jwt (needs --jwks-file) or none (a public client
        /// with PKCE alone).
        #[arg(long, default_value = "client_secret_basic")]
        auth_method: String,
        /// File with the client's public keys as a JWK Set, for private_key_jwt.
        #[arg(long)]
        jwks_file: Option<PathBuf>,
        /// `public` gives the account id as `sub`; `pairwise` gives a per-sector identifier
        /// that other sectors cannot link.
        #[arg(long, default_value = "public")]
        subject_type: String,
        /// Host whose clients share pairwise identifiers; defaults to the redirect URIs' host,
        /// which must then be the same for all of them.
        #[arg(long)]
        sector_identifier: Option<String>,
        /// Signature algorithm of the client's ID tokens: RS256, ES256 or EdDSA.
        #[arg(long, default_value = "RS256")]
        id_token_alg: String,
        #[command(flatten)]
        logout: LogoutArgs,
    },
    /// List registered clients.
    List,
    /// Change a registered client; options left out keep their values, and an empty URI
    /// clears it.
    Update {
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        name: Option<String>,
        /// Replaces the redirect URIs when given; repeat for several.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Replaces the offered identity types when given (`CODE` or `CODE:closed`).
        #[arg(long = "identity-type")]
        identity_types: Vec<String>,
        #[arg(long)]
        provisioning_endpoint: Option<String>,
        #[arg(long)]
        initiate_login_uri: Option<String>,
        #[arg(long)]
        home_uri: Option<String>,
        /// Replaces the post-logout redirect URIs when given; repeat for several.
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// Replaces the public keys of a private_key_jwt client with this JWK Set file, for
        /// the client's own key rotation.
        #[arg(long)]
        jwks_file: Option<PathBuf>,
        /// Signature algorithm of the client's ID tokens: RS256, ES256 or EdDSA.
        #[arg(long)]
        id_token_alg: Option<String>,
        #[command(flatten)]
        logout: LogoutArgs,
    },
}

/// Logout notification and PAR settings shared by `client add` and `client update`.
#[derive(clap::Args)]
struct LogoutArgs {
    /// URL that receives logout tokens when a session ends (back-channel logout); an
    /// empty value clears it on update.
    #[arg(long)]
    backchannel_logout_uri: Option<String>,
    /// URL loaded in an iframe of the sign-out page (front-channel logout); an empty value
    /// clears it on update.
    #[arg(long)]
    frontchannel_logout_uri: Option<String>,
    /// Accept authorization requests only through pushed authorization requests (PAR).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    require_par: Option<bool>,
}

/// Parses `CODE` (open for application) or `CODE:closed`.
fn offered_types(args: &[String]) -> anyhow::Result<Vec<systems::OfferedType>> {
    args.iter()
        .map(|arg| match arg.split_once(':') {
            None => Ok(systems::OfferedType {
                code: arg.clone(),
                applicable: true,
            }),
            Some((code, "closed")) => Ok(systems::OfferedType {
                code: code.to_owned(),
                applicable: false,
            }),
            Some(_) => bail!("invalid --identity-type `{arg}`: use CODE or CODE:closed"),
        })
        .collect()
}

fn uses_secret(auth_method: &str) -> bool {
    auth_method == systems::AUTH_SECRET_BASIC || auth_method == systems::AUTH_SECRET_POST
}

/// Checks the logout URIs; an empty value (which clears on update) passes.
fn validate_logout_uris(logout: &LogoutArgs) -> anyhow::Result<()> {
    for (option, uri) in [
        ("--backchannel-logout-uri", &logout.backchannel_logout_uri),
        ("--frontchannel-logout-uri", &logout.frontchannel_logout_uri),
    ] {
        let Some(uri) = uri.as_deref().filter(|uri| !uri.is_empty()) else {
            continue;
        };
        let parsed = url::Url::parse(uri).with_context(|| format!("invalid {option} `{uri}`"))?;
        if parsed.fragment().is_some() || !matches!(parsed.scheme(), "http" | "https") {
            bail!("invalid {option} `{uri}`: use an http(s) URL without a fragment");
        }
    }
    Ok(())
}

/// Returns the sector of a pairwise client: the given host name, or the one host shared by
/// every redirect URI. A public client has none.
fn sector_for(
    pairwise: bool,
    sector_identifier: Option<String>,
    redirect_uris: &[String],
) -> anyhow::Result<Option<String>> {
    if !pairwise {
        if sector_identifier.is_some() {
            bail!("--sector-identifier applies only with --subject-type pairwise");
        }
        return Ok(None);
    }
    if let Some(sector) = sector_identifier {
        if sector.is_empty() || sector.contains(|c: char| c == '/' || c.is_whitespace()) {
            bail!(
                "invalid --sector-identifier `{sector}`: give a host name such as fund.example.cn"
            );
        }
        return Ok(Some(sector));
    }
    let hosts: std::collections::BTreeSet<String> = redirect_uris
        .iter()
        .filter_map(|uri| url::Url::parse(uri).ok())
        .filter_map(|url| url.host_str().map(str::to_owned))
        .collect();
    if hosts.len() > 1 {
        let listed: Vec<String> = hosts.into_iter().collect();
        bail!(
            "the redirect URIs use several hosts ({}); give --sector-identifier for pairwise subjects",
            listed.join(", ")
        );
    }
    Ok(hosts.into_iter().next())
}

/// Reads a client's JWK Set and checks that it contains at least one usable public key.
fn read_client_jwks(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --jwks-file {}", path.display()))?;
    unilogin::oidc::client_auth::parse_client_jwks(&text)
        .map_err(|reason| anyhow::anyhow!("invalid --jwks-file {}: {reason}", path.display()))?;
    Ok(text)
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account; a random initial password goes out by SMS and must be changed at
    /// the first sign-in.
    Add {
        /// Mainland mobile number; +86, 0086 and 86 prefixes are accepted.
        #[arg(long)]
        phone: String,
        /// The person's name as on the ID card.
        #[arg(long)]
        name: String,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` prints the whole cause chain on one line, without a backtrace.
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let (config, config_file) = Config::load(cli.config.as_deref())?;
    unilogin::telemetry::init(config.log.format == "json");

    match cli.command {
        Command::Serve { demo } => serve(config, config_file, demo).await,
        Command::Migrate => {
            let db = open_db(&config).await?;
            store::migrate(&db)
                .await
                .context("database migration failed")?;
            println!("migrations applied to {}", config.database_url());
            Ok(())
        }
        Command::Client(command) => client_command(&config, command).await,
        Command::Account(AccountCommand::Add { phone, name }) => {
            add_account(&config, &phone, &name).await
        }
        Command::Import(ImportCommand::Operators { file }) => {
            import_operators(&config, &file).await
        }
        Command::DevCa(command) => dev_ca_command(&config, command),
        Command::Keys(KeysCommand::ExportPublic) => {
            let db = open_db(&config).await?;
            let master = unilogin::app::load_master_key(&config)?;
            let keys = unilogin::oidc::keys::KeySet::load_or_create(&db, &master).await?;
            println!("{}", String::from_utf8_lossy(&keys.jwks()));
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate { use_in }) => {
            let db = open_db(&config).await?;
            let master = unilogin::app::load_master_key(&config)?;
            let now = unilogin::clock::now();
            let use_in = use_in.unwrap_or(config.keys.publish_before_use_secs);
            if !(0..=10 * 365 * 86_400).contains(&use_in) {
                bail!("invalid --use-in {use_in}: give seconds from 0 to 315360000 (ten years)");
            }
            let grace = config.key_retire_grace_secs();
            let row = unilogin::oidc::keys::rotate(&db, &master, now, use_in, grace).await?;
            println!(
                "new signing key {} signs from {} (Unix time)",
                row.kid, row.use_from
            );
            Ok(())
        }
        Command::Backup { file } => backup(&config, &file).await,
    }
}

async fn serve(config: Config, config_file: Option<PathBuf>, demo: bool) -> anyhow::Result<()> {
    let bind = config.server.bind;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind} (server.bind)"))?;
    let issuer = config.server.issuer.clone();
    let tls = config.main_listener_tls();
    let app = unilogin::Application::new(config, demo, listener).await?;
    let config_source =
        config_file.map_or("built-in defaults".to_owned(), |p| p.display().to_string());
    let metrics = app
        .metrics_addr()
        .map_or("off".to_owned(), |address| address.to_string());
    tracing::info!(address = %app.local_addr()?, tls, issuer = %issuer, metrics = %metrics, config = %config_source, "unilogin listening");
    app.serve(shutdown_signal()).await?;
    tracing::info!("unilogin stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing open requests");
}

async fn open_db(config: &Config) -> anyhow::Result<sea_orm::DatabaseConnection> {
    std::fs::create_dir_all(&config.server.data_dir).with_context(|| {
        format!(
            "cannot create data folder {}",
            config.server.data_dir.display()
        )
    })?;
    let db = store::connect(&config.database_url(), config.database.max_connections)
        .await
        .context("cannot open the database (database.url)")?;
    store::migrate(&db)
        .await
        .context("database migration failed")?;
    Ok(db)
}

async fn client_command(config: &Config, command: ClientCommand) -> anyhow::Result<()> {
    let db = open_db(config).await?;
    match command {
        ClientCommand::Add {
            client_id,
            name,
            redirect_uris,
            post_logout_redirect_uris,
            initiate_login_uri,
            home_uri,
            identity_types,
            provisioning_endpoint,
            auth_method,
            jwks_file,
            subject_type,
            sector_identifier,
            id_token_alg,
            logout,
        } => {
            let identity_types = offered_types(&identity_types)?;
            unilogin::admin::platform::validate_name(&name)
                .map_err(|reason| anyhow::anyhow!("invalid --name: {reason}"))?;
            unilogin::admin::platform::validate_system(
                &config.identities,
                None,
                &provisioning_endpoint
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
                &identity_types,
            )
            .map_err(|reason| anyhow::anyhow!("invalid option: {reason}"))?;
            if client_id.is_empty()
                || client_id.len() > 64
                || !client_id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                bail!(
                    "invalid --client-id `{client_id}`: use 1 to 64 letters, digits, `-`, `_` or `.`"
                );
            }
            let uri_options = redirect_uris
                .iter()
                .map(|uri| ("--redirect-uri", uri))
                .chain(
                    post_logout_redirect_uris
                        .iter()
                        .map(|uri| ("--post-logout-redirect-uri", uri)),
                );
            for (option, uri) in uri_options {
                let parsed =
                    url::Url::parse(uri).with_context(|| format!("invalid {option} `{uri}`"))?;
                if parsed.fragment().is_some() || !matches!(parsed.scheme(), "http" | "https") {
                    bail!("invalid {option} `{uri}`: use an http(s) URL without a fragment");
                }
            }
            for (option, uri) in [
                ("--initiate-login-uri", &initiate_login_uri),
                ("--home-uri", &home_uri),
            ] {
                let Some(uri) = uri else { continue };
                let parsed =
                    url::Url::parse(uri).with_context(|| format!("invalid {option} `{uri}`"))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    bail!("invalid {option} `{uri}`: use an http(s) URL");
                }
            }
            validate_logout_uris(&logout)?;
            if !systems::AUTH_METHODS.contains(&auth_method.as_str()) {
                bail!(
                    "invalid --auth-method `{auth_method}`: use one of {}",
                    systems::AUTH_METHODS.join(", ")
                );
            }
            let jwks = match &jwks_file {
                Some(path) => Some(read_client_jwks(path)?),
                None => None,
            };
            if auth_method == systems::AUTH_PRIVATE_KEY_JWT && jwks.is_none() {
                bail!(
                    "--auth-method private_key_jwt needs --jwks-file with the client's public keys"
                );
            }
            if auth_method != systems::AUTH_PRIVATE_KEY_JWT && jwks.is_some() {
                bail!("--jwks-file is only used with --auth-method private_key_jwt");
            }
            let pairwise = match subject_type.as_str() {
                systems::SUBJECT_PUBLIC => false,
                systems::SUBJECT_PAIRWISE => true,
                other => bail!("invalid --subject-type `{other}`: use public or pairwise"),
            };
            // The sector is stored at registration, so later changes to the redirect URIs
            // cannot change the client's pairwise subjects.
            let sector_identifier = sector_for(pairwise, sector_identifier, &redirect_uris)?;
            if !unilogin::oidc::keys::ALGS.contains(&id_token_alg.as_str()) {
                bail!(
                    "invalid --id-token-alg `{id_token_alg}`: use one of {}",
                    unilogin::oidc::keys::ALGS.join(", ")
                );
            }
            if systems::find_by_client_id(&db, &client_id).await?.is_some() {
                bail!("client `{client_id}` already exists");
            }
            let secret = crypto::random_token()?;
            let system = systems::NewSystem {
                client_id: &client_id,
                name: &name,
                secret_hash: sha256_b64(&secret),
                redirect_uris: &redirect_uris,
                post_logout_redirect_uris: &post_logout_redirect_uris,
                initiate_login_uri: initiate_login_uri.as_deref(),
                home_uri: home_uri.as_deref(),
                identity_types: &identity_types,
                provisioning_endpoint: provisioning_endpoint.as_deref(),
                auth_method: &auth_method,
                jwks: jwks.as_deref(),
                backchannel_logout_uri: logout.backchannel_logout_uri.as_deref(),
                frontchannel_logout_uri: logout.frontchannel_logout_uri.as_deref(),
                require_par: logout.require_par.unwrap_or(false),
                pairwise,
                sector_identifier: sector_identifier.as_deref(),
                id_token_alg: &id_token_alg,
            };
            systems::insert(&db, system, unilogin::clock::now()).await?;
            println!("client_id:     {client_id}");
            if uses_secret(&auth_method) {
                println!("client_secret: {secret}");
                println!("Store the secret now; only its hash is kept.");
            }
        }
        ClientCommand::List => {
            for system in systems::list(&db).await? {
                let types: Vec<String> = system
                    .offered_types()
                    .into_iter()
                    .map(|t| {
                        if t.applicable {
                            t.code
                        } else {
                            format!("{}:closed", t.code)
                        }
                    })
                    .collect();
                let subject = match system.pairwise_sector() {
                    Some(sector) => format!("pairwise:{sector}"),
                    None => systems::SUBJECT_PUBLIC.to_owned(),
                };
                let par = if system.require_par { "par" } else { "-" };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    system.client_id,
                    system.name,
                    system.redirect_uri_list().join(" "),
                    types.join(","),
                    system.token_endpoint_auth_method,
                    subject,
                    system.id_token_signed_response_alg,
                    par
                );
            }
        }
        ClientCommand::Update {
            client_id,
            name,
            redirect_uris,
            identity_types,
            provisioning_endpoint,
            initiate_login_uri,
            home_uri,
            post_logout_redirect_uris,
            jwks_file,
            id_token_alg,
            logout,
        } => {
            validate_logout_uris(&logout)?;
            if let Some(alg) = &id_token_alg
                && !unilogin::oidc::keys::ALGS.contains(&alg.as_str())
            {
                bail!(
                    "invalid --id-token-alg `{alg}`: use one of {}",
                    unilogin::oidc::keys::ALGS.join(", ")
                );
            }
            let jwks = match &jwks_file {
                Some(path) => Some(read_client_jwks(path)?),
                None => None,
            };
            let types = offered_types(&identity_types)?;
            if let Some(name) = &name {
                unilogin::admin::platform::validate_name(name)
                    .map_err(|reason| anyhow::anyhow!("invalid --name: {reason}"))?;
            }
            if redirect_uris.iter().any(String::is_empty) {
                bail!(
                    "invalid --redirect-uri ``: give an http(s) URL; a client keeps at least one"
                );
            }
            let uris: Vec<&str> = redirect_uris
                .iter()
                .chain(&post_logout_redirect_uris)
                .chain(&provisioning_endpoint)
                .chain(&initiate_login_uri)
                .chain(&home_uri)
                .map(String::as_str)
                .collect();
            unilogin::admin::platform::validate_system(&config.identities, None, &uris, &types)
                .map_err(|reason| anyhow::anyhow!("invalid option: {reason}"))?;
            let Some(existing) = systems::find_by_client_id(&db, &client_id).await? else {
                bail!("client `{client_id}` is not registered; add it with `unilogin system add`");
            };
            if jwks.is_some()
                && existing.token_endpoint_auth_method != systems::AUTH_PRIVATE_KEY_JWT
            {
                bail!(
                    "--jwks-file applies only to private_key_jwt clients; `{client_id}` uses {}",
                    existing.token_endpoint_auth_method
                );
            }
            let change = systems::SystemUpdate {
                name,
                redirect_uris: (!redirect_uris.is_empty()).then_some(redirect_uris),
                post_logout_redirect_uris: (!post_logout_redirect_uris.is_empty())
                    .then_some(post_logout_redirect_uris),
                jwks,
                id_token_signed_response_alg: id_token_alg,
                identity_types: (!types.is_empty()).then_some(types),
                provisioning_endpoint,
                initiate_login_uri,
                home_uri,
                backchannel_logout_uri: logout.backchannel_logout_uri,
                frontchannel_logout_uri: logout.frontchannel_logout_uri,
                require_par: logout.require_par,
            };
            systems::update(&db, existing, change).await?;
            println!("client `{client_id}` updated");
        }
    }
    Ok(())
}

async fn add_account(config: &Config, phone: &str, name: &str) -> anyhow::Result<()> {
    let phone = Phone::parse(phone)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        bail!("invalid --name `{name}`: give the person's name, 1 to 64 characters");
    }
    let db = open_db(config).await?;
    if accounts::find_by_phone(&db, phone.as_e164())
        .await?
        .is_some()
    {
        bail!("an account with phone {phone} already exists");
    }

    let password = unilogin::auth::password::initial_password()?;
    let hash = unilogin::auth::password::hash_blocking(&password)?;

    // The message goes out before the account is stored: an account whose initial password
    // never reached its owner could not be used or re-created.
    let sender = OutboxSender::new(config.sms_outbox_path());
    let message = SmsMessage {
        phone: &phone,
        purpose: Purpose::InitialPassword,
        text: format!(
            "{}您的统一登录平台账号已开通，初始密码为{password}，首次登录须修改密码。",
            config.sms.signature
        ),
        code: None,
    };
    sender
        .send(&message)
        .await
        .context("the initial password could not be sent; no account was created")?;

    let account = accounts::NewAccount {
        phone: phone.as_e164(),
        name,
        password_hash: hash,
        must_change_password: true,
        realname_status: accounts::REALNAME_UNVERIFIED,
    };
    let account = accounts::insert(&db, account, unilogin::clock::now()).await?;
    println!(
        "account {} created for {phone}; the initial password was sent by SMS",
        account.id
    );
    Ok(())
}

fn dev_ca_command(config: &Config, command: DevCaCommand) -> anyhow::Result<()> {
    use base64::Engine;
    use unilogin::auth::certificate::ChallengeAlgorithm;
    use unilogin::auth::certificate::devca::{
        CodePlace, DevCa, IssueOptions, KeyKind, RevokeTarget, sign_challenge,
    };

    match command {
        DevCaCommand::Init => {
            let ca = DevCa::init(&config.dev_ca_dir())?;
            for path in ca.ca_pem_paths() {
                println!("CA certificate: {}", path.display());
            }
        }
        DevCaCommand::Issue {
            uscc,
            name,
            key,
            place,
            expired,
            revoke,
            no_digital_signature,
            out,
        } => {
            let ca = DevCa::init(&config.dev_ca_dir())?;
            let place = match place.as_str() {
                "subject.serialNumber" => CodePlace::SubjectSerialNumber,
                "subject.OU" => CodePlace::SubjectOu,
                oid if oid
                    .split('.')
                    .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit())) =>
                {
                    CodePlace::Extension(oid.to_owned())
                }
                other => bail!(
                    "invalid --place `{other}`: use an OID, subject.serialNumber or subject.OU"
                ),
            };
            let mut options = IssueOptions::new(&uscc, &name);
            options.key = match key {
                KeyArg::Rsa => KeyKind::Rsa,
                KeyArg::P256 => KeyKind::P256,
                KeyArg::Sm2 => KeyKind::Sm2,
            };
            options.place = place;
            options.expired = expired;
            options.digital_signature = !no_digital_signature;
            let issued = ca.issue(&options)?;
            let out = out.unwrap_or_else(|| config.dev_ca_dir().join("issued"));
            let basename: String = uscc.chars().filter(char::is_ascii_alphanumeric).collect();
            for path in ca.write_issued(&issued, &out, &basename)? {
                println!("wrote {}", path.display());
            }
            if revoke {
                let crl = ca.revoke(&RevokeTarget::Certificate(issued.cert_der.clone()))?;
                println!("revoked; CRL: {}", crl.display());
            }
        }
        DevCaCommand::Sign {
            key,
            algorithm,
            message,
        } => {
            let algorithm = ChallengeAlgorithm::parse(&algorithm)
                .with_context(|| format!("invalid --algorithm `{algorithm}`: use SM3withSM2, SHA256withRSA or SHA256withECDSA"))?;
            let key_pem = std::fs::read_to_string(&key)
                .with_context(|| format!("cannot read {}", key.display()))?;
            let signature = sign_challenge(&key_pem, algorithm, message.as_bytes())?;
            println!(
                "{}",
                base64::engine::general_purpose::STANDARD.encode(signature)
            );
        }
    }
    Ok(())
}

async fn import_operators(config: &Config, file: &std::path::Path) -> anyhow::Result<()> {
    let input =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let db = open_db(config).await?;
    let report = unilogin::admin::import::import_operators(
        &db,
        &config.identities,
        input,
        unilogin::clock::now(),
    )
    .await?;
    for (line, code) in &report.warnings {
        println!(
            "line {line}: warning: enterprise code {code} has a wrong check digit; imported anyway"
        );
    }
    for (line, reason) in &report.rejected {
        println!("line {line}: rejected: {reason}");
    }
    println!(
        "{} imported, {} unchanged (imported before), {} rejected",
        report.imported,
        report.unchanged,
        report.rejected.len()
    );
    if !report.rejected.is_empty() {
        bail!(
            "{} row(s) were rejected; fix them and run the import again",
            report.rejected.len()
        );
    }
    Ok(())
}

/// Copies the SQLite database while the server may be running. `VACUUM INTO` writes a
/// consistent snapshot (SQLite 3.27 and later); restoring is stopping the server and putting
/// the copy in place of `unilogin.db`.
async fn backup(config: &Config, file: &std::path::Path) -> anyhow::Result<()> {
    use sea_orm::{ConnectionTrait, Statement};
    if !config.database_url().starts_with("sqlite:") {
        bail!("backup copies SQLite databases only; for PostgreSQL run pg_dump (see the README)");
    }
    if file.exists() {
        bail!(
            "{} exists already; choose a new file for the backup",
            file.display()
        );
    }
    let target = file
        .to_str()
        .context("the backup path is not valid UTF-8")?
        .replace('\'', "''");
    let db = open_db(config).await?;
    let statement =
        Statement::from_string(db.get_database_backend(), format!("VACUUM INTO '{target}'"));
    db.execute_raw(statement)
        .await
        .with_context(|| format!("backup to {} failed", file.display()))?;
    println!("database copied to {}", file.display());
    Ok(())
}
