//! Schema migrations for unilogin. One set of migrations serves SQLite and PostgreSQL, so the
//! column types stay within what both support: times are Unix seconds in 64-bit integers.

pub use sea_orm_migration::prelude::*;

mod m20261204_000001_initial;
mod m20261204_000002_staff_lifecycle;
mod m20261204_000003_permission_applications;
mod m20261204_000004_key_rotation;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261204_000001_initial::Migration),
            Box::new(m20261204_000002_staff_lifecycle::Migration),
            Box::new(m20261204_000003_permission_applications::Migration),
            Box::new(m20261204_000004_key_rotation::Migration),
        ]
    }
}
