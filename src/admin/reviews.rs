//! Review of staff real-name submissions by the enterprise administrator: approve, or reject
//! with a reason that is shown to the staff member.

use sea_orm::TransactionTrait;
use serde::Serialize;

use super::{AdminError, AdminSession, Page};
use crate::app::AppState;
use crate::domain::phone::Phone;
use crate::store::realname_submissions::{self, Review};
use crate::store::{accounts, identities};

/// Maximum length of a rejection reason, in characters.
pub const MAX_REASON_CHARS: usize = 200;

#[derive(Debug, Serialize)]
pub struct SubmissionView {
    pub id: i32,
    pub identity_id: i32,
    pub operator_id: i64,
    pub name: String,
    /// Masked.
    pub phone: String,
    pub status: String,
    pub submitted_at: i64,
    pub review_deadline: i64,
}

pub async fn pending(
    state: &AppState,
    admin: &AdminSession,
    page: u64,
    per_page: u64,
) -> Result<Page<SubmissionView>, AdminError> {
    let page = page.clamp(1, super::MAX_PAGE);
    let per_page = per_page.clamp(1, super::MAX_PER_PAGE);
    let (rows, total) =
        realname_submissions::pending_of_enterprise(&state.db, admin.enterprise.id, page, per_page)
            .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let operator_id = identities::find_by_id(&state.db, row.identity_id)
            .await?
            .map_or(0, |i| i.operator_id);
        items.push(SubmissionView {
            id: row.id,
            identity_id: row.identity_id,
            operator_id,
            phone: Phone::parse(&row.phone)
                .map(|p| p.masked())
                .unwrap_or_default(),
            name: row.name,
            status: row.status,
            submitted_at: row.submitted_at,
            review_deadline: row.review_deadline,
        });
    }
    Ok(Page {
        items,
        page,
        per_page,
        total,
    })
}

/// Finds a submission of the administrator's enterprise whose operator is not deleted.
async fn find_live(
    state: &AppState,
    admin: &AdminSession,
    id: i32,
) -> Result<realname_submissions::Model, AdminError> {
    let submission = realname_submissions::find_in_enterprise(&state.db, id, admin.enterprise.id)
        .await?
        .ok_or(AdminError::SubmissionNotFound)?;
    let live = identities::find_by_id(&state.db, submission.identity_id)
        .await?
        .is_some_and(|identity| identity.deleted_at.is_none());
    if !live {
        return Err(AdminError::SubmissionNotFound);
    }
    Ok(submission)
}

/// Approves a pending submission: the identity becomes active and verified, and the account
/// takes the confirmed name (and phone, when the staff member verified another one).
pub async fn approve(state: &AppState, admin: &AdminSession, id: i32) -> Result<(), AdminError> {
    let submission = find_live(state, admin, id).await?;
    if submission.status != realname_submissions::STATUS_PENDING {
        return Err(AdminError::AlreadyReviewed);
    }
    let phone_owner = accounts::find_by_phone(&state.db, &submission.phone).await?;
    if phone_owner.is_some_and(|owner| owner.id != submission.account_id) {
        return Err(AdminError::PhoneTaken);
    }
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let review = Review {
        status: realname_submissions::STATUS_APPROVED,
        reason: None,
        reviewer_identity_id: admin.identity.id,
        reviewer_fingerprint: &admin.fingerprint,
    };
    if !realname_submissions::review(&txn, submission.id, review, now).await? {
        txn.rollback().await?;
        return Err(AdminError::AlreadyReviewed);
    }
    identities::mark_realname_verified(&txn, submission.identity_id, now).await?;
    accounts::set_realname_verified(&txn, submission.account_id, &submission.name, now).await?;
    accounts::set_phone(&txn, submission.account_id, &submission.phone, now).await?;
    txn.commit().await?;
    let target = format!("identity:{}", submission.identity_id);
    let detail = format!("submission {} approved", submission.id);
    admin
        .audit(state, "realname.approve", &target, "success", &detail)
        .await?;
    Ok(())
}

/// Rejects a pending submission with a reason; the staff member must submit again.
pub async fn reject(
    state: &AppState,
    admin: &AdminSession,
    id: i32,
    reason: &str,
) -> Result<(), AdminError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AdminError::ReasonRequired);
    }
    if reason.chars().count() > MAX_REASON_CHARS
        || crate::domain::operator::has_hidden_chars(reason)
    {
        return Err(AdminError::Invalid {
            field: "reason",
            message_key: "review_reason_invalid",
        });
    }
    let submission = find_live(state, admin, id).await?;
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let review = Review {
        status: realname_submissions::STATUS_REJECTED,
        reason: Some(reason),
        reviewer_identity_id: admin.identity.id,
        reviewer_fingerprint: &admin.fingerprint,
    };
    if !realname_submissions::review(&txn, submission.id, review, now).await? {
        txn.rollback().await?;
        return Err(AdminError::AlreadyReviewed);
    }
    // A disabled operator stays disabled; only a pending one becomes rejected.
    identities::move_status(
        &txn,
        submission.identity_id,
        identities::STATUS_PENDING_REVIEW,
        identities::STATUS_REJECTED,
        now,
    )
    .await?;
    txn.commit().await?;
    let target = format!("identity:{}", submission.identity_id);
    let detail = format!("submission {} rejected: {reason}", submission.id);
    admin
        .audit(state, "realname.reject", &target, "success", &detail)
        .await?;
    Ok(())
}
