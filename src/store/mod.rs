//! Database access: sea-orm entities and the queries on them, one module per aggregate.
//! Nothing here uses HTTP types.

pub mod accounts;
pub mod admin_bindings;
pub mod audit;
pub mod authorizations;
pub mod certificate_challenges;
pub mod cleanup;
pub mod client_assertions;
pub mod enterprises;
pub mod identities;
pub mod legacy_credentials;
pub mod permission_applications;
pub mod provisioning_events;
pub mod pushed_requests;
pub mod realname_submissions;
pub mod refresh_tokens;
pub mod session_clients;
pub mod sessions;
pub mod signing_keys;
pub mod sms_codes;
pub mod systems;
pub mod tokens;

use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

/// Connects to the configured database. SQLite files are created when missing and opened in
/// WAL mode with a busy timeout, so concurrent requests wait instead of failing.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    Database::connect(options).await
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}
