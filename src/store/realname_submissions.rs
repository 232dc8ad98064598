//! Real-name submissions of staff: the name and phone the carrier confirmed, waiting for the
//! enterprise administrator's review.

use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{PaginatorTrait, QueryOrder};

pub const STATUS_PENDING: &str = "pending";
pub const STATUS_APPROVED: &str = "approved";
pub const STATUS_REJECTED: &str = "rejected";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "realname_submissions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub identity_id: i32,
    pub account_id: i32,
    pub enterprise_id: i32,
    /// The name as on the ID card.
    pub name: String,
    /// The phone bound to that ID card, E.164.
    pub phone: String,
    pub status: String,
    /// The administrator's reason for a rejection.
    pub reason: Option<String>,
    /// The real-name provider's request id of the check that matched.
    pub provider_request_id: String,
    pub submitted_at: i64,
    /// Sign-in is refused from this time on while the submission is still pending.
    pub review_deadline: i64,
    pub reviewed_at: Option<i64>,
    pub reviewer_identity_id: Option<i32>,
    /// SHA-256 of the reviewing administrator's certificate, lowercase hex.
    pub reviewer_fingerprint: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub struct NewSubmission<'a> {
    pub identity_id: i32,
    pub account_id: i32,
    pub enterprise_id: i32,
    pub name: &'a str,
    pub phone: &'a str,
    pub provider_request_id: &'a str,
    pub review_deadline: i64,
}

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    submission: NewSubmission<'_>,
    now: i64,
) -> Result<Model, DbErr> {
    ActiveModel {
        identity_id: Set(submission.identity_id),
        account_id: Set(submission.account_id),
        enterprise_id: Set(submission.enterprise_id),
        name: Set(submission.name.to_owned()),
        phone: Set(submission.phone.to_owned()),
        status: Set(STATUS_PENDING.to_owned()),
        reason: Set(None),
        provider_request_id: Set(submission.provider_request_id.to_owned()),
        submitted_at: Set(now),
        review_deadline: Set(submission.review_deadline),
        reviewed_at: Set(None),
        reviewer_identity_id: Set(None),
        reviewer_fingerprint: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Finds the newest submission for an identity.
pub async fn latest_for_identity(
    db: &DatabaseConnection,
    identity_id: i32,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::IdentityId.eq(identity_id))
        .order_by_desc(Column::Id)
        .one(db)
        .await
}

pub async fn find_in_enterprise(
    db: &DatabaseConnection,
    id: i32,
    enterprise_id: i32,
) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id)
        .filter(Column::EnterpriseId.eq(enterprise_id))
        .one(db)
        .await
}

/// Returns one page of an enterprise's pending submissions, oldest first, with the total count.
pub async fn pending_of_enterprise(
    db: &DatabaseConnection,
    enterprise_id: i32,
    page: u64,
    per_page: u64,
) -> Result<(Vec<Model>, u64), DbErr> {
    // Submissions of deleted operators are not reviewed.
    let live = Query::select()
        .column(super::identities::Column::Id)
        .from(super::identities::Entity)
        .and_where(super::identities::Column::DeletedAt.is_null())
        .to_owned();
    let paginator = Entity::find()
        .filter(Column::EnterpriseId.eq(enterprise_id))
        .filter(Column::Status.eq(STATUS_PENDING))
        .filter(Column::IdentityId.in_subquery(live))
        .order_by_asc(Column::Id)
        .paginate(db, per_page.max(1));
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((rows, total))
}

pub struct Review<'a> {
    pub status: &'a str,
    pub reason: Option<&'a str>,
    pub reviewer_identity_id: i32,
    pub reviewer_fingerprint: &'a str,
}

/// Records a review of a pending submission. Returns false when it was no longer pending, so
/// two administrators reviewing at once cannot both decide.
pub async fn review<C: ConnectionTrait>(
    db: &C,
    id: i32,
    review: Review<'_>,
    now: i64,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::Status, Expr::value(review.status))
        .col_expr(
            Column::Reason,
            Expr::value(review.reason.map(str::to_owned)),
        )
        .col_expr(Column::ReviewedAt, Expr::value(Some(now)))
        .col_expr(
            Column::ReviewerIdentityId,
            Expr::value(Some(review.reviewer_identity_id)),
        )
        .col_expr(
            Column::ReviewerFingerprint,
            Expr::value(Some(review.reviewer_fingerprint.to_owned())),
        )
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(STATUS_PENDING))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
