//! Key rotation: when each signing key starts signing, and when a replaced key leaves the
//! JWKS.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::add_columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum SigningKeys {
    Table,
    UseFrom,
    RetireAfter,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            SigningKeys::Table,
            [
                big_integer(SigningKeys::UseFrom).default(0).to_owned(),
                big_integer_null(SigningKeys::RetireAfter).to_owned(),
            ],
        )
        .await?;
        Ok(())
    }
}
