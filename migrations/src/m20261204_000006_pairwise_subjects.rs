//! Per-client ID token settings: pairwise subject identifiers (OpenID Connect Core §8.1)
//! with the sector that clients sharing one identifier belong to, and the signature
//! algorithm of the client's ID tokens.

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
    IdTokenSignedResponseAlg,
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
                string(Systems::IdTokenSignedResponseAlg)
                    .default("RS256")
                    .to_owned(),
            ],
        )
        .await
    }
}
