//! Identity choice: the identity a session uses towards a system, and whether it may sign in
//! now.

use sea_orm::{DatabaseConnection, DbErr};

use crate::domain::identity::{RealnameStanding, realname_standing};
use crate::store::{identities, realname_submissions, sessions};

/// Next step for a signed-in session and a relying party's request.
#[derive(Debug)]
pub enum Next {
    /// Issue the authorization code with this identity. None: the account holds no
    /// identities at all and signs in as a person only.
    Proceed(Option<identities::Model>),
    /// Several identities fit (or `prompt=select_account` was sent): show the role picker.
    Choose,
    /// The identity has to complete real-name verification first.
    Realname(identities::Model),
    /// Sign-in is refused: message key and detail.
    Refuse(&'static str, String),
}

/// Identities the session may use towards `client_id`. A certificate session offers the
/// account's active administrator identities in the certificate's enterprise; a phone or
/// stock session offers the account's staff identities that are neither deleted nor disabled.
pub async fn candidates(
    db: &DatabaseConnection,
    session: &sessions::Model,
    client_id: Option<&str>,
) -> Result<Vec<identities::Model>, DbErr> {
    let all = identities::of_account(db, session.account_id).await?;
    Ok(all
        .into_iter()
        .filter(|i| client_id.is_none_or(|client_id| i.system_id == client_id))
        .filter(|i| match session.enterprise_id {
            Some(enterprise_id) => {
                i.is_admin
                    && i.enterprise_id == enterprise_id
                    && i.status == identities::STATUS_ACTIVE
            }
            None => !i.is_admin && i.is_usable(),
        })
        .collect())
}

/// Decides the identity for a request of `client_id`. `chosen` is the identity the user
/// just picked; `force_choice` (from `prompt=select_account`) shows the picker even when the
/// session already has an identity or only one fits.
pub async fn decide(
    db: &DatabaseConnection,
    session: &sessions::Model,
    client_id: &str,
    chosen: Option<i32>,
    force_choice: bool,
    now: i64,
) -> Result<Next, DbErr> {
    let fitting = candidates(db, session, Some(client_id)).await?;
    if let Some(chosen) = chosen {
        return match fitting.into_iter().find(|i| i.id == chosen) {
            Some(identity) => gate(db, identity, now).await,
            None => Ok(Next::Refuse("identity_invalid", chosen.to_string())),
        };
    }
    if fitting.is_empty() {
        // An account whose identities were all deleted or disabled does not fall back to
        // signing in as a person only.
        let holds_any = identities::any_of_account(db, session.account_id).await?;
        if session.enterprise_id.is_none() && !holds_any {
            return Ok(Next::Proceed(None));
        }
        return Ok(Next::Refuse("no_identity_for_system", client_id.to_owned()));
    }
    if force_choice {
        return Ok(Next::Choose);
    }
    let current = session
        .identity_id
        .and_then(|id| fitting.iter().find(|i| i.id == id).cloned());
    let identity = match current {
        Some(identity) => identity,
        None if fitting.len() == 1 => fitting
            .into_iter()
            .next()
            .ok_or(DbErr::RecordNotFound("identity".into()))?,
        None => return Ok(Next::Choose),
    };
    gate(db, identity, now).await
}

/// Applies the real-name rules to an identity.
pub async fn gate(
    db: &DatabaseConnection,
    identity: identities::Model,
    now: i64,
) -> Result<Next, DbErr> {
    let (standing, _) = standing(db, &identity, now).await?;
    Ok(match standing {
        RealnameStanding::Verified | RealnameStanding::PendingWithin { .. } => {
            Next::Proceed(Some(identity))
        }
        RealnameStanding::Required | RealnameStanding::Rejected => Next::Realname(identity),
        RealnameStanding::PendingOverdue { .. } => {
            Next::Refuse("realname_review_overdue", identity.operator_id.to_string())
        }
    })
}

/// The identity's real-name standing and its newest submission.
pub async fn standing(
    db: &DatabaseConnection,
    identity: &identities::Model,
    now: i64,
) -> Result<(RealnameStanding, Option<realname_submissions::Model>), DbErr> {
    let submission = if identity.status == identities::STATUS_PENDING_REVIEW
        || identity.status == identities::STATUS_REJECTED
    {
        realname_submissions::latest_for_identity(db, identity.id).await?
    } else {
        None
    };
    let deadline = submission
        .as_ref()
        .filter(|s| s.status == realname_submissions::STATUS_PENDING)
        .map(|s| s.review_deadline);
    let standing = realname_standing(
        &identity.status,
        identity.is_admin,
        identity.realname_verified_at,
        deadline,
        now,
    );
    Ok((standing, submission))
}
