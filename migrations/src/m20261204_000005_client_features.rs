//! Client features of a complete OpenID Connect provider: per-client authentication method
//! keys, logout URIs, pushed authorization requests, which clients each session has signed
//! in to, and the `claims` request parameter kept with each grant.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::add_columns;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Systems {
    Table,
    Jwks,
    BackchannelLogoutUri,
    FrontchannelLogoutUri,
    RequirePar,
}

/// Tables that carry the `claims` request parameter from the request to the tokens.
#[derive(DeriveIden, Clone, Copy)]
enum PendingAuthorizations {
    Table,
    Claims,
    ExpectedSub,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuthorizationCodes {
    Table,
    Claims,
}

#[derive(DeriveIden, Clone, Copy)]
enum RefreshTokens {
    Table,
    Claims,
}

#[derive(DeriveIden, Clone, Copy)]
enum AccessTokens {
    Table,
    Claims,
}

#[derive(DeriveIden, Clone, Copy)]
enum SessionClients {
    Table,
    SessionId,
    ClientId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ClientAssertions {
    Table,
    ClientId,
    Jti,
    ExpiresAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PushedRequests {
    Table,
    Id,
    ClientId,
    Params,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            Systems::Table,
            [
                text_null(Systems::Jwks).to_owned(),
                string_null(Systems::BackchannelLogoutUri).to_owned(),
                string_null(Systems::FrontchannelLogoutUri).to_owned(),
                boolean(Systems::RequirePar).default(false).to_owned(),
            ],
        )
        .await?;
        add_columns(
            manager,
            PendingAuthorizations::Table,
            [
                text_null(PendingAuthorizations::Claims).to_owned(),
                string_null(PendingAuthorizations::ExpectedSub).to_owned(),
            ],
        )
        .await?;
        add_columns(
            manager,
            AuthorizationCodes::Table,
            [text_null(AuthorizationCodes::Claims).to_owned()],
        )
        .await?;
        add_columns(
            manager,
            RefreshTokens::Table,
            [text_null(RefreshTokens::Claims).to_owned()],
        )
        .await?;
        add_columns(
            manager,
            AccessTokens::Table,
            [text_null(AccessTokens::Claims).to_owned()],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(SessionClients::Table)
                    .col(string(SessionClients::SessionId))
                    .col(string(SessionClients::ClientId))
                    .col(big_integer(SessionClients::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(SessionClients::SessionId)
                            .col(SessionClients::ClientId),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ClientAssertions::Table)
                    .col(string(ClientAssertions::ClientId))
                    .col(string(ClientAssertions::Jti))
                    .col(big_integer(ClientAssertions::ExpiresAt))
                    .primary_key(
                        Index::create()
                            .col(ClientAssertions::ClientId)
                            .col(ClientAssertions::Jti),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_client_assertions_expires_at")
                    .table(ClientAssertions::Table)
                    .col(ClientAssertions::ExpiresAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PushedRequests::Table)
                    .col(string(PushedRequests::Id).primary_key())
                    .col(string(PushedRequests::ClientId))
                    .col(text(PushedRequests::Params))
                    .col(big_integer(PushedRequests::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_pushed_requests_client_id")
                    .table(PushedRequests::Table)
                    .col(PushedRequests::ClientId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
