//! Demo data for `serve --demo`: the demo relying party and one account with a known phone
//! and password. Loading twice changes nothing.

use sea_orm::{DatabaseConnection, DbErr};

use crate::auth::password::PasswordHasherPool;
use crate::config::Config;
use crate::crypto::{MasterKey, sha256_b64};
use crate::store::{accounts, systems};
use crate::web::demo;

pub const DEMO_PHONE: &str = "+8613800138000";
pub const DEMO_PASSWORD: &str = "Demo@2026";
pub const DEMO_NAME: &str = "演示用户";
pub const DEMO_USCC: &str = "91310000MA1FL8XQ11";
pub const DEMO_ENTERPRISE: &str = "上海演示物业管理有限公司";
/// Old fund-system administrator of the demo enterprise, for the binding page.
pub const DEMO_ADMIN_OPERATOR_ID: i64 = 100001;
pub const DEMO_ADMIN_PASSWORD: &str = "Admin@2026";

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Database(#[from] DbErr),
    #[error(transparent)]
    Hash(#[from] crate::auth::password::HashError),
    #[error(transparent)]
    Import(#[from] crate::admin::import::ImportError),
    #[error(transparent)]
    Certificate(#[from] crate::auth::certificate::CertError),
    #[error("real-name fixture: {0}")]
    Fixture(#[from] std::io::Error),
}

pub async fn load_demo(
    db: &DatabaseConnection,
    config: &Config,
    master: &MasterKey,
    passwords: &PasswordHasherPool,
) -> Result<(), SeedError> {
    let now = crate::clock::now();
    let redirect_uri = demo::redirect_uri(&config.server.issuer);
    match systems::find_by_client_id(db, demo::CLIENT_ID).await? {
        Some(existing) if existing.redirect_uri_list() == [redirect_uri.clone()] => {}
        Some(existing) => {
            // The issuer changed since the demo client was stored; re-register it.
            use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
            let mut model = existing.into_active_model();
            model.redirect_uris = Set(serde_json::json!([redirect_uri]).to_string());
            model.secret_hash = Set(sha256_b64(&demo::client_secret(master)));
            model.update(db).await?;
        }
        None => {
            let system = systems::NewSystem {
                client_id: demo::CLIENT_ID,
                name: "演示客户端 (Demo client)",
                secret_hash: sha256_b64(&demo::client_secret(master)),
                redirect_uris: &[redirect_uri],
                post_logout_redirect_uris: &[format!("{}/demo", config.server.issuer)],
                initiate_login_uri: None,
                home_uri: None,
                identity_types: &[],
                provisioning_endpoint: None,
                ..Default::default()
            };
            systems::insert(db, system, now).await?;
        }
    }

    if accounts::find_by_phone(db, DEMO_PHONE).await?.is_none() {
        let account = accounts::NewAccount {
            phone: DEMO_PHONE,
            name: DEMO_NAME,
            password_hash: passwords.hash(DEMO_PASSWORD.to_owned()).await?,
            must_change_password: false,
            realname_status: accounts::REALNAME_UNVERIFIED,
        };
        accounts::insert(db, account, now).await?;
    }
    register_demo_systems(db, now).await?;
    load_demo_enterprise(db, config, now).await?;
    if config.realname.adapter == "fixture" {
        add_realname_pairs(config)?;
    }
    tracing::info!(
        demo = %format!("{}/demo", config.server.issuer),
        phone = "138****8000",
        sms_outbox = %config.sms_outbox_path().display(),
        "demo data loaded: sign in with the demo phone and the password from the README; SMS codes go to the outbox"
    );
    Ok(())
}

/// The three relying systems of the platform, with the identity types each offers. Their
/// redirect URIs are placeholders and their secrets random, because the demo signs in through
/// the `demo` client; they are there so administrators can apply for access to them.
async fn register_demo_systems(db: &DatabaseConnection, now: i64) -> Result<(), SeedError> {
    use systems::OfferedType;
    let offer = |codes: &[&str]| -> Vec<OfferedType> {
        codes
            .iter()
            .map(|code| OfferedType {
                code: (*code).to_owned(),
                applicable: true,
            })
            .collect()
    };
    let registry = [
        (
            "fund",
            "维修资金系统",
            offer(&[
                "developer",
                "property_company",
                "repair_contractor",
                "owners_committee",
            ]),
        ),
        (
            "supervision",
            "物业监管平台",
            offer(&["property_company", "owners_committee"]),
        ),
        (
            "bidding",
            "招投标系统",
            offer(&["developer", "property_company", "repair_contractor"]),
        ),
    ];
    for (client_id, name, identity_types) in registry {
        if systems::find_by_client_id(db, client_id).await?.is_some() {
            continue;
        }
        let secret = crate::crypto::random_token()
            .map_err(|e| SeedError::Database(DbErr::Custom(e.to_string())))?;
        let system = systems::NewSystem {
            client_id,
            name,
            secret_hash: sha256_b64(&secret),
            redirect_uris: &[format!("https://{client_id}.example.invalid/callback")],
            post_logout_redirect_uris: &[],
            initiate_login_uri: None,
            home_uri: None,
            identity_types: &identity_types,
            provisioning_endpoint: None,
            ..Default::default()
        };
        systems::insert(db, system, now).await?;
    }
    Ok(())
}

/// Pairs the development real-name check confirms: the demo people, and spare people an
/// administrator can add as operators in the demo.
pub const DEMO_REALNAME_PAIRS: [(&str, &str); 5] = [
    ("13800138000", DEMO_NAME),
    ("13800138001", "演示管理员"),
    ("13800138002", "演示员工"),
    ("17512342068", "李四"),
    ("17512342069", "王五"),
];

fn add_realname_pairs(config: &Config) -> Result<(), SeedError> {
    let fixture = crate::providers::realname::FixtureVerifier::new(config.realname_fixture_path())?;
    for (phone, name) in DEMO_REALNAME_PAIRS {
        if let Ok(phone) = crate::domain::phone::Phone::parse(phone) {
            fixture.add_pair(&phone, name)?;
        }
    }
    Ok(())
}

/// The demo enterprise as the old fund system knew it (an administrator and one staff
/// member), and a development-CA certificate for it.
async fn load_demo_enterprise(
    db: &DatabaseConnection,
    config: &Config,
    now: i64,
) -> Result<(), SeedError> {
    use crate::auth::certificate::devca::{DevCa, IssueOptions};

    let salted = |password: &str| {
        let digest = crate::crypto::sha256(format!("demo{password}").as_bytes());
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        format!("demo${hex}")
    };
    let csv = format!(
        "operator_id,enterprise_code,enterprise_name,person_name,phone,identity_type,is_admin,password_scheme,password_hash,system\n\
         {DEMO_ADMIN_OPERATOR_ID},{DEMO_USCC},{DEMO_ENTERPRISE},演示管理员,13800138001,property_company,true,sha256_salted,{},{client}\n\
         100002,{DEMO_USCC},{DEMO_ENTERPRISE},演示员工,13800138002,property_company,false,sha256_salted,{},{client}\n",
        salted(DEMO_ADMIN_PASSWORD),
        salted("Staff@2026"),
        client = demo::CLIENT_ID,
    );
    crate::admin::import::import_operators(db, &config.identities, csv.as_bytes(), now).await?;

    let ca = DevCa::init(&config.dev_ca_dir())?;
    let out = config.dev_ca_dir().join("demo");
    let cert_path = out.join(format!("{DEMO_USCC}.pem"));
    if !cert_path.exists() {
        let issued = ca.issue(&IssueOptions::new(DEMO_USCC, DEMO_ENTERPRISE))?;
        ca.write_issued(&issued, &out, DEMO_USCC)?;
    }
    tracing::info!(
        certificate = %cert_path.display(),
        pkcs12 = %out.join(format!("{DEMO_USCC}.p12")).display(),
        admin_operator_id = DEMO_ADMIN_OPERATOR_ID,
        "demo enterprise certificate ready; the PKCS#12 password is `unilogin`"
    );
    Ok(())
}
