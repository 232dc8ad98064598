//! Pairwise subject identifiers (OpenID Connect Core §8.1): which clients get them, and the
//! sector that clients sharing one identifier belong to.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::add_columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Systems {
    Table,
    SubjectType,
    SectorIdentifier,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            Systems::Table,
            [
                string(Systems::SubjectType).default("public").to_owned(),
                string_null(Systems::SectorIdentifier).to_owned(),
            ],
        )
        .await
    }
}
