//! Removal of expired rows that nothing reads any more: sessions, pending authorizations,
//! certificate challenges, SMS codes, authorization codes and tokens. Deleting is idempotent,
//! so every node may run it at the same time.

use sea_orm::entity::prelude::*;

use super::authorizations::{codes, pending};
use super::{
    certificate_challenges, client_assertions, pushed_requests, refresh_tokens, session_clients,
    sessions, sms_codes, tokens,
};

/// SMS codes are kept a day past their expiry, because the daily limit per phone counts them.
const SMS_CODE_KEEP_SECS: i64 = 2 * 86_400;
/// Used authorization codes are kept a day past expiry, so a late replay still finds them
/// and revokes what they issued.
const CODE_KEEP_SECS: i64 = 86_400;
/// Expired access tokens are kept a day, so introspection of a recently expired token can
/// still name it inactive from the record.
const ACCESS_TOKEN_KEEP_SECS: i64 = 86_400;

/// Deletes expired rows and returns how many went.
pub async fn purge_expired(db: &DatabaseConnection, now: i64) -> Result<u64, DbErr> {
    let mut removed = 0;
    removed += sessions::Entity::delete_many()
        .filter(sessions::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected;
    removed += pending::Entity::delete_many()
        .filter(pending::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected;
    removed += certificate_challenges::Entity::delete_many()
        .filter(certificate_challenges::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected;
    removed += sms_codes::Entity::delete_many()
        .filter(sms_codes::Column::ExpiresAt.lt(now - SMS_CODE_KEEP_SECS))
        .exec(db)
        .await?
        .rows_affected;
    removed += codes::Entity::delete_many()
        .filter(codes::Column::ExpiresAt.lt(now - CODE_KEEP_SECS))
        .exec(db)
        .await?
        .rows_affected;
    removed += tokens::Entity::delete_many()
        .filter(tokens::Column::ExpiresAt.lt(now - ACCESS_TOKEN_KEEP_SECS))
        .exec(db)
        .await?
        .rows_affected;
    // A refresh token family is useless after its absolute lifetime, reuse detection included.
    removed += refresh_tokens::Entity::delete_many()
        .filter(refresh_tokens::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected;
    removed += client_assertions::Entity::delete_many()
        .filter(client_assertions::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected;
    removed += pushed_requests::Entity::delete_many()
        .filter(pushed_requests::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected;
    removed += session_clients::purge_orphans(db).await?;
    Ok(removed)
}
