//! System permission applications: the identity types each system offers, the applications of
//! enterprise administrators, and the persistent queue of provisioning events to the systems.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::add_columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Systems {
    Table,
    IdentityTypes,
    ProvisioningEndpoint,
}

#[derive(DeriveIden, Clone, Copy)]
enum PermissionApplications {
    Table,
    Id,
    EnterpriseId,
    SystemId,
    IdentityType,
    ApplicantIdentityId,
    CertificateFingerprint,
    ContactName,
    ContactPhone,
    ContactEmail,
    IdentityId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ProvisioningEvents {
    Table,
    Id,
    EventId,
    SystemId,
    EventType,
    Token,
    Status,
    Attempts,
    NextAttemptAt,
    LastError,
    CreatedAt,
    DeliveredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            Systems::Table,
            [
                text(Systems::IdentityTypes).default("[]").to_owned(),
                string_null(Systems::ProvisioningEndpoint).to_owned(),
            ],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(PermissionApplications::Table)
                    .col(pk_auto(PermissionApplications::Id))
                    .col(integer(PermissionApplications::EnterpriseId))
                    .col(string(PermissionApplications::SystemId))
                    .col(string(PermissionApplications::IdentityType))
                    .col(integer(PermissionApplications::ApplicantIdentityId))
                    .col(string(PermissionApplications::CertificateFingerprint))
                    .col(string(PermissionApplications::ContactName))
                    .col(string(PermissionApplications::ContactPhone))
                    .col(string(PermissionApplications::ContactEmail))
                    .col(integer_null(PermissionApplications::IdentityId))
                    .col(big_integer(PermissionApplications::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // One application per enterprise, system and type: of two racing submissions, the
        // second insert fails here.
        manager
            .create_index(
                Index::create()
                    .name("uq_permission_applications_enterprise_system_type")
                    .table(PermissionApplications::Table)
                    .col(PermissionApplications::EnterpriseId)
                    .col(PermissionApplications::SystemId)
                    .col(PermissionApplications::IdentityType)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ProvisioningEvents::Table)
                    .col(pk_auto(ProvisioningEvents::Id))
                    .col(string_uniq(ProvisioningEvents::EventId))
                    .col(string(ProvisioningEvents::SystemId))
                    .col(string(ProvisioningEvents::EventType))
                    .col(text(ProvisioningEvents::Token))
                    .col(string(ProvisioningEvents::Status))
                    .col(integer(ProvisioningEvents::Attempts))
                    .col(big_integer(ProvisioningEvents::NextAttemptAt))
                    .col(text_null(ProvisioningEvents::LastError))
                    .col(big_integer(ProvisioningEvents::CreatedAt))
                    .col(big_integer_null(ProvisioningEvents::DeliveredAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_provisioning_events_due")
                    .table(ProvisioningEvents::Table)
                    .col(ProvisioningEvents::Status)
                    .col(ProvisioningEvents::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
