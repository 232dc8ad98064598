//! Enterprises, named by USCC; records from the old fund system may carry only the
//! 9-character organization code (USCC positions 9 to 17).

use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enterprises")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub uscc: Option<String>,
    pub org_code: String,
    pub name: String,
    /// Failed binding attempts in a row; reaching the limit sets `binding_locked_until`.
    pub binding_failures: i32,
    pub binding_locked_until: Option<i64>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub async fn find_by_id(db: &DatabaseConnection, id: i32) -> Result<Option<Model>, DbErr> {
    Entity::find_by_id(id).one(db).await
}

/// Finds the enterprise of a USCC: by the full code first, then by its organization code
/// for records that carry only that.
pub async fn find_by_uscc(db: &DatabaseConnection, uscc: &str) -> Result<Option<Model>, DbErr> {
    if let Some(found) = Entity::find().filter(Column::Uscc.eq(uscc)).one(db).await? {
        return Ok(Some(found));
    }
    let Some(org_code) = uscc.get(8..17) else {
        return Ok(None);
    };
    Entity::find()
        .filter(Column::OrgCode.eq(org_code))
        .filter(Column::Uscc.is_null())
        .one(db)
        .await
}

pub async fn find_by_org_code(
    db: &DatabaseConnection,
    org_code: &str,
) -> Result<Option<Model>, DbErr> {
    Entity::find()
        .filter(Column::OrgCode.eq(org_code))
        .one(db)
        .await
}

pub async fn insert(
    db: &DatabaseConnection,
    uscc: Option<&str>,
    org_code: &str,
    name: &str,
    now: i64,
) -> Result<Model, DbErr> {
    ActiveModel {
        uscc: Set(uscc.map(str::to_owned)),
        org_code: Set(org_code.to_owned()),
        name: Set(name.to_owned()),
        binding_failures: Set(0),
        binding_locked_until: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Records the full USCC on a record that had only the organization code.
pub async fn set_uscc(db: &DatabaseConnection, id: i32, uscc: &str) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Uscc, Expr::value(uscc))
        .filter(Column::Id.eq(id))
        .filter(Column::Uscc.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Counts a failed binding attempt; the `max_failures`-th locks binding for `lockout_secs`.
/// Returns true when this failure locked it.
pub async fn record_binding_failure(
    db: &DatabaseConnection,
    enterprise: &Model,
    max_failures: i32,
    lockout_secs: i64,
    now: i64,
) -> Result<bool, DbErr> {
    let locks = enterprise.binding_failures.saturating_add(1) >= max_failures;
    let mut update = Entity::update_many().filter(Column::Id.eq(enterprise.id));
    update = if locks {
        update
            .col_expr(Column::BindingFailures, Expr::value(0))
            .col_expr(
                Column::BindingLockedUntil,
                Expr::value(Some(now + lockout_secs)),
            )
    } else {
        update.col_expr(
            Column::BindingFailures,
            Expr::col(Column::BindingFailures).add(1),
        )
    };
    update.exec(db).await?;
    Ok(locks)
}

pub async fn reset_binding_failures(db: &DatabaseConnection, id: i32) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::BindingFailures, Expr::value(0))
        .col_expr(Column::BindingLockedUntil, Expr::value(Option::<i64>::None))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Ids of every enterprise that carries this USCC or its organization code (positions 9 to
/// 17), including records that only have the organization code.
pub async fn ids_with_code(
    db: &DatabaseConnection,
    uscc: Option<&str>,
    org_code: &str,
) -> Result<Vec<i32>, DbErr> {
    use sea_orm::{Condition, QuerySelect};
    let mut condition = Condition::any().add(Column::OrgCode.eq(org_code));
    if let Some(uscc) = uscc {
        condition = condition.add(Column::Uscc.eq(uscc));
    }
    Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(condition)
        .into_tuple::<i32>()
        .all(db)
        .await
}
