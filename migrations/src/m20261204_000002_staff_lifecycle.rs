//! Staff lifecycle: real-name submissions and their review, the fields of operators that
//! enterprise administrators manage, the last identity chosen, and the systems' portal links.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::add_columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Identities {
    Table,
    DepartmentType,
    Role,
    RealnameVerifiedAt,
    LastChosenAt,
    DeletedAt,
    AccountId,
    SystemId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Systems {
    Table,
    InitiateLoginUri,
    HomeUri,
}

#[derive(DeriveIden, Clone, Copy)]
enum RealnameSubmissions {
    Table,
    Id,
    IdentityId,
    AccountId,
    EnterpriseId,
    Name,
    Phone,
    Status,
    Reason,
    ProviderRequestId,
    SubmittedAt,
    ReviewDeadline,
    ReviewedAt,
    ReviewerIdentityId,
    ReviewerFingerprint,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE statement.
        let identity_columns = [
            string(Identities::DepartmentType).default("").to_owned(),
            string(Identities::Role).default("operator").to_owned(),
            big_integer_null(Identities::RealnameVerifiedAt).to_owned(),
            big_integer_null(Identities::LastChosenAt).to_owned(),
            big_integer_null(Identities::DeletedAt).to_owned(),
        ];
        add_columns(manager, Identities::Table, identity_columns).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_identities_account_system")
                    .table(Identities::Table)
                    .col(Identities::AccountId)
                    .col(Identities::SystemId)
                    .to_owned(),
            )
            .await?;

        add_columns(
            manager,
            Systems::Table,
            [
                string_null(Systems::InitiateLoginUri).to_owned(),
                string_null(Systems::HomeUri).to_owned(),
            ],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(RealnameSubmissions::Table)
                    .col(pk_auto(RealnameSubmissions::Id))
                    .col(integer(RealnameSubmissions::IdentityId))
                    .col(integer(RealnameSubmissions::AccountId))
                    .col(integer(RealnameSubmissions::EnterpriseId))
                    .col(string(RealnameSubmissions::Name))
                    .col(string(RealnameSubmissions::Phone))
                    .col(string(RealnameSubmissions::Status))
                    .col(text_null(RealnameSubmissions::Reason))
                    .col(string(RealnameSubmissions::ProviderRequestId))
                    .col(big_integer(RealnameSubmissions::SubmittedAt))
                    .col(big_integer(RealnameSubmissions::ReviewDeadline))
                    .col(big_integer_null(RealnameSubmissions::ReviewedAt))
                    .col(integer_null(RealnameSubmissions::ReviewerIdentityId))
                    .col(string_null(RealnameSubmissions::ReviewerFingerprint))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            (
                "idx_realname_submissions_identity",
                RealnameSubmissions::IdentityId,
            ),
            (
                "idx_realname_submissions_enterprise",
                RealnameSubmissions::EnterpriseId,
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(RealnameSubmissions::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
