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

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Database(#[from] DbErr),
    #[error(transparent)]
    Hash(#[from] crate::auth::password::HashError),
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
        };
        accounts::insert(db, account, now).await?;
    }
    tracing::info!(
        demo = %format!("{}/demo", config.server.issuer),
        phone = "13800138000",
        sms_outbox = %config.sms_outbox_path().display(),
        "demo data loaded: sign in with the demo phone and the password from the README; SMS codes go to the outbox"
    );
    Ok(())
}
