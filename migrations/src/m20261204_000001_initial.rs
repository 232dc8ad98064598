use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Enterprises {
    Table,
    Id,
    Uscc,
    OrgCode,
    Name,
    BindingFailures,
    BindingLockedUntil,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Identities {
    Table,
    Id,
    AccountId,
    EnterpriseId,
    SystemId,
    IdentityType,
    OperatorId,
    IsAdmin,
    Status,
    Department,
    Remark,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum LegacyCredentials {
    Table,
    OperatorId,
    IdentityId,
    Scheme,
    PasswordHash,
    ImportedAt,
    MigratedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AdminBindings {
    Table,
    EnterpriseId,
    IdentityId,
    CertificateFingerprint,
    BoundAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum CertificateChallenges {
    Table,
    Nonce,
    BrowserHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Systems {
    Table,
    Id,
    ClientId,
    Name,
    SecretHash,
    RedirectUris,
    PostLogoutRedirectUris,
    TokenEndpointAuthMethod,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Accounts {
    Table,
    Id,
    Phone,
    Name,
    PasswordHash,
    MustChangePassword,
    PasswordChangedAt,
    RealnameStatus,
    FailedLogins,
    LockedUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum SmsCodes {
    Table,
    Id,
    Phone,
    Purpose,
    CodeHash,
    Attempts,
    CreatedAt,
    ExpiresAt,
    ConsumedAt,
    SourceIp,
}

#[derive(DeriveIden, Clone, Copy)]
enum Sessions {
    Table,
    Id,
    AccountId,
    IdentityId,
    EnterpriseId,
    CertificateFingerprint,
    State,
    AuthTime,
    Amr,
    Acr,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    SourceIp,
}

#[derive(DeriveIden, Clone, Copy)]
enum PendingAuthorizations {
    Table,
    Id,
    ClientId,
    RedirectUri,
    Scope,
    State,
    Nonce,
    CodeChallenge,
    Prompt,
    MaxAge,
    AcrValues,
    LoginHint,
    UiLocales,
    BrowserHash,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuthorizationCodes {
    Table,
    CodeHash,
    GrantId,
    ClientId,
    AccountId,
    IdentityId,
    SessionId,
    RedirectUri,
    Scope,
    Nonce,
    CodeChallenge,
    AuthTime,
    Amr,
    Acr,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AccessTokens {
    Table,
    Jti,
    GrantId,
    ClientId,
    AccountId,
    IdentityId,
    Scope,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum RefreshTokens {
    Table,
    TokenHash,
    FamilyId,
    ParentHash,
    ClientId,
    AccountId,
    IdentityId,
    SessionId,
    Scope,
    AuthTime,
    Amr,
    Acr,
    CreatedAt,
    ExpiresAt,
    IdleExpiresAt,
    UsedAt,
    RevokedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum SigningKeys {
    Table,
    Kid,
    Alg,
    PrivateKeyEncrypted,
    PublicJwk,
    Active,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditEvents {
    Table,
    Id,
    At,
    Actor,
    Action,
    Target,
    Result,
    SourceIp,
    Detail,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Enterprises::Table)
                    .col(pk_auto(Enterprises::Id))
                    .col(string_len_null(Enterprises::Uscc, 18).unique_key())
                    .col(string_len(Enterprises::OrgCode, 9))
                    .col(string(Enterprises::Name))
                    .col(integer(Enterprises::BindingFailures))
                    .col(big_integer_null(Enterprises::BindingLockedUntil))
                    .col(big_integer(Enterprises::CreatedAt))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "idx_enterprises_org_code",
            Enterprises::Table,
            &[Enterprises::OrgCode],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Systems::Table)
                    .col(pk_auto(Systems::Id))
                    .col(string_uniq(Systems::ClientId))
                    .col(string(Systems::Name))
                    .col(string(Systems::SecretHash))
                    .col(text(Systems::RedirectUris))
                    .col(text(Systems::PostLogoutRedirectUris))
                    .col(string(Systems::TokenEndpointAuthMethod))
                    .col(big_integer(Systems::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .col(pk_auto(Accounts::Id))
                    .col(string_uniq(Accounts::Phone))
                    .col(string(Accounts::Name))
                    .col(string(Accounts::PasswordHash))
                    .col(boolean(Accounts::MustChangePassword))
                    .col(big_integer(Accounts::PasswordChangedAt))
                    .col(string(Accounts::RealnameStatus))
                    .col(integer(Accounts::FailedLogins))
                    .col(big_integer_null(Accounts::LockedUntil))
                    .col(big_integer(Accounts::CreatedAt))
                    .col(big_integer(Accounts::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SmsCodes::Table)
                    .col(pk_auto(SmsCodes::Id))
                    .col(string(SmsCodes::Phone))
                    .col(string(SmsCodes::Purpose))
                    .col(string(SmsCodes::CodeHash))
                    .col(integer(SmsCodes::Attempts))
                    .col(big_integer(SmsCodes::CreatedAt))
                    .col(big_integer(SmsCodes::ExpiresAt))
                    .col(big_integer_null(SmsCodes::ConsumedAt))
                    .col(string(SmsCodes::SourceIp))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "idx_sms_codes_phone_created",
            SmsCodes::Table,
            &[SmsCodes::Phone, SmsCodes::CreatedAt],
        )
        .await?;
        create_index(
            manager,
            "idx_sms_codes_source_ip_created",
            SmsCodes::Table,
            &[SmsCodes::SourceIp, SmsCodes::CreatedAt],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(string(Sessions::Id).primary_key())
                    .col(integer(Sessions::AccountId))
                    .col(integer_null(Sessions::IdentityId))
                    .col(integer_null(Sessions::EnterpriseId))
                    .col(string_null(Sessions::CertificateFingerprint))
                    .col(string(Sessions::State))
                    .col(big_integer(Sessions::AuthTime))
                    .col(string(Sessions::Amr))
                    .col(string(Sessions::Acr))
                    .col(big_integer(Sessions::CreatedAt))
                    .col(big_integer(Sessions::LastSeenAt))
                    .col(big_integer(Sessions::ExpiresAt))
                    .col(string(Sessions::SourceIp))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "idx_sessions_account",
            Sessions::Table,
            &[Sessions::AccountId],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(PendingAuthorizations::Table)
                    .col(string(PendingAuthorizations::Id).primary_key())
                    .col(string(PendingAuthorizations::ClientId))
                    .col(text(PendingAuthorizations::RedirectUri))
                    .col(text(PendingAuthorizations::Scope))
                    .col(text_null(PendingAuthorizations::State))
                    .col(text_null(PendingAuthorizations::Nonce))
                    .col(string(PendingAuthorizations::CodeChallenge))
                    .col(string_null(PendingAuthorizations::Prompt))
                    .col(big_integer_null(PendingAuthorizations::MaxAge))
                    .col(string_null(PendingAuthorizations::AcrValues))
                    .col(string_null(PendingAuthorizations::LoginHint))
                    .col(string_null(PendingAuthorizations::UiLocales))
                    .col(string(PendingAuthorizations::BrowserHash))
                    .col(big_integer(PendingAuthorizations::CreatedAt))
                    .col(big_integer(PendingAuthorizations::ExpiresAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuthorizationCodes::Table)
                    .col(string(AuthorizationCodes::CodeHash).primary_key())
                    .col(string(AuthorizationCodes::GrantId))
                    .col(string(AuthorizationCodes::ClientId))
                    .col(integer(AuthorizationCodes::AccountId))
                    .col(integer_null(AuthorizationCodes::IdentityId))
                    .col(string(AuthorizationCodes::SessionId))
                    .col(text(AuthorizationCodes::RedirectUri))
                    .col(text(AuthorizationCodes::Scope))
                    .col(text_null(AuthorizationCodes::Nonce))
                    .col(string(AuthorizationCodes::CodeChallenge))
                    .col(big_integer(AuthorizationCodes::AuthTime))
                    .col(string(AuthorizationCodes::Amr))
                    .col(string(AuthorizationCodes::Acr))
                    .col(big_integer(AuthorizationCodes::CreatedAt))
                    .col(big_integer(AuthorizationCodes::ExpiresAt))
                    .col(big_integer_null(AuthorizationCodes::UsedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AccessTokens::Table)
                    .col(string(AccessTokens::Jti).primary_key())
                    .col(string(AccessTokens::GrantId))
                    .col(string(AccessTokens::ClientId))
                    .col(integer(AccessTokens::AccountId))
                    .col(integer_null(AccessTokens::IdentityId))
                    .col(text(AccessTokens::Scope))
                    .col(big_integer(AccessTokens::CreatedAt))
                    .col(big_integer(AccessTokens::ExpiresAt))
                    .col(big_integer_null(AccessTokens::RevokedAt))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "idx_access_tokens_grant",
            AccessTokens::Table,
            &[AccessTokens::GrantId],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(string(RefreshTokens::TokenHash).primary_key())
                    .col(string(RefreshTokens::FamilyId))
                    .col(string_null(RefreshTokens::ParentHash))
                    .col(string(RefreshTokens::ClientId))
                    .col(integer(RefreshTokens::AccountId))
                    .col(integer_null(RefreshTokens::IdentityId))
                    .col(string(RefreshTokens::SessionId))
                    .col(text(RefreshTokens::Scope))
                    .col(big_integer(RefreshTokens::AuthTime))
                    .col(string(RefreshTokens::Amr))
                    .col(string(RefreshTokens::Acr))
                    .col(big_integer(RefreshTokens::CreatedAt))
                    .col(big_integer(RefreshTokens::ExpiresAt))
                    .col(big_integer(RefreshTokens::IdleExpiresAt))
                    .col(big_integer_null(RefreshTokens::UsedAt))
                    .col(big_integer_null(RefreshTokens::RevokedAt))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "idx_refresh_tokens_family",
            RefreshTokens::Table,
            &[RefreshTokens::FamilyId],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(SigningKeys::Table)
                    .col(string(SigningKeys::Kid).primary_key())
                    .col(string(SigningKeys::Alg))
                    .col(text(SigningKeys::PrivateKeyEncrypted))
                    .col(text(SigningKeys::PublicJwk))
                    .col(boolean(SigningKeys::Active))
                    .col(big_integer(SigningKeys::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(big_pk_auto(AuditEvents::Id))
                    .col(big_integer(AuditEvents::At))
                    .col(string(AuditEvents::Actor))
                    .col(string(AuditEvents::Action))
                    .col(string(AuditEvents::Target))
                    .col(string(AuditEvents::Result))
                    .col(string(AuditEvents::SourceIp))
                    .col(text(AuditEvents::Detail))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            "idx_audit_events_at",
            AuditEvents::Table,
            &[AuditEvents::At],
        )
        .await?;

        create_enterprise_tables(manager).await
    }
}

async fn create_enterprise_tables(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Identities::Table)
                .col(pk_auto(Identities::Id))
                .col(integer(Identities::AccountId))
                .col(integer(Identities::EnterpriseId))
                .col(string(Identities::SystemId))
                .col(string(Identities::IdentityType))
                .col(big_integer_uniq(Identities::OperatorId))
                .col(boolean(Identities::IsAdmin))
                .col(string(Identities::Status))
                .col(string(Identities::Department))
                .col(string(Identities::Remark))
                .col(big_integer(Identities::CreatedAt))
                .col(big_integer(Identities::UpdatedAt))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("uq_identities_account_enterprise_system_type")
                .table(Identities::Table)
                .col(Identities::AccountId)
                .col(Identities::EnterpriseId)
                .col(Identities::SystemId)
                .col(Identities::IdentityType)
                .unique()
                .to_owned(),
        )
        .await?;
    create_index(
        manager,
        "idx_identities_enterprise",
        Identities::Table,
        &[Identities::EnterpriseId],
    )
    .await?;

    manager
        .create_table(
            Table::create()
                .table(LegacyCredentials::Table)
                .col(big_integer(LegacyCredentials::OperatorId).primary_key())
                .col(integer(LegacyCredentials::IdentityId))
                .col(string(LegacyCredentials::Scheme))
                .col(text(LegacyCredentials::PasswordHash))
                .col(big_integer(LegacyCredentials::ImportedAt))
                .col(big_integer_null(LegacyCredentials::MigratedAt))
                .to_owned(),
        )
        .await?;

    manager
        .create_table(
            Table::create()
                .table(AdminBindings::Table)
                .col(integer(AdminBindings::EnterpriseId).primary_key())
                .col(integer(AdminBindings::IdentityId))
                .col(string(AdminBindings::CertificateFingerprint))
                .col(big_integer(AdminBindings::BoundAt))
                .to_owned(),
        )
        .await?;

    manager
        .create_table(
            Table::create()
                .table(CertificateChallenges::Table)
                .col(string(CertificateChallenges::Nonce).primary_key())
                .col(string(CertificateChallenges::BrowserHash))
                .col(big_integer(CertificateChallenges::CreatedAt))
                .col(big_integer(CertificateChallenges::ExpiresAt))
                .col(big_integer_null(CertificateChallenges::UsedAt))
                .to_owned(),
        )
        .await
}

async fn create_index<T, C>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    columns: &[C],
) -> Result<(), DbErr>
where
    T: IntoIden + Clone + 'static,
    C: IntoIden + Clone + 'static,
{
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(column.clone());
    }
    manager.create_index(index.to_owned()).await
}
