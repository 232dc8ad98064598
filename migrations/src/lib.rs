//! Schema migrations for unilogin. One set of migrations serves SQLite and PostgreSQL, so the
//! column types stay within what both support: times are Unix seconds in 64-bit integers.

pub use sea_orm_migration::prelude::*;

mod m20261204_000001_initial;
mod m20261204_000002_staff_lifecycle;
mod m20261204_000003_permission_applications;
mod m20261204_000004_key_rotation;
mod m20261204_000005_client_features;
mod m20261204_000006_pairwise_subjects;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261204_000001_initial::Migration),
            Box::new(m20261204_000002_staff_lifecycle::Migration),
            Box::new(m20261204_000003_permission_applications::Migration),
            Box::new(m20261204_000004_key_rotation::Migration),
            Box::new(m20261204_000005_client_features::Migration),
            Box::new(m20261204_000006_pairwise_subjects::Migration),
        ]
    }
}

/// Adds columns to an existing table, one `ALTER TABLE` each, because SQLite accepts only one
/// column per statement.
pub(crate) async fn add_columns<T, const N: usize>(
    manager: &SchemaManager<'_>,
    table: T,
    columns: [ColumnDef; N],
) -> Result<(), DbErr>
where
    T: IntoIden + Copy + 'static,
{
    for mut column in columns {
        manager
            .alter_table(
                Table::alter()
                    .table(table)
                    .add_column(&mut column)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}
