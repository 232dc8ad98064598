//! Pending authorization requests and the authorization codes that complete them.

pub mod pending {
    use sea_orm::ActiveValue::Set;
    use sea_orm::entity::prelude::*;

    /// A validated authorization request waiting for the user to sign in.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "pending_authorizations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub client_id: String,
        pub redirect_uri: String,
        pub scope: String,
        pub state: Option<String>,
        pub nonce: Option<String>,
        pub code_challenge: String,
        pub prompt: Option<String>,
        pub max_age: Option<i64>,
        /// Space-separated `acr_values` of the request.
        pub acr_values: Option<String>,
        pub login_hint: Option<String>,
        /// Space-separated `ui_locales` of the request, preferred first.
        pub ui_locales: Option<String>,
        /// SHA-256 of the `unilogin_flow` cookie of the browser that made the request.
        pub browser_hash: String,
        pub created_at: i64,
        pub expires_at: i64,
        /// The `claims` request parameter's claim names, as `ClaimsRequest::to_stored`
        /// writes them.
        pub claims: Option<String>,
        /// The `sub` that `id_token_hint` or `claims.id_token.sub` names; the code goes only
        /// to that user.
        pub expected_sub: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    pub async fn insert(db: &DatabaseConnection, model: Model) -> Result<Model, DbErr> {
        ActiveModel {
            id: Set(model.id),
            expected_sub: Set(model.expected_sub),
            client_id: Set(model.client_id),
            redirect_uri: Set(model.redirect_uri),
            scope: Set(model.scope),
            state: Set(model.state),
            nonce: Set(model.nonce),
            code_challenge: Set(model.code_challenge),
            prompt: Set(model.prompt),
            max_age: Set(model.max_age),
            acr_values: Set(model.acr_values),
            login_hint: Set(model.login_hint),
            ui_locales: Set(model.ui_locales),
            browser_hash: Set(model.browser_hash),
            created_at: Set(model.created_at),
            expires_at: Set(model.expires_at),
            claims: Set(model.claims),
        }
        .insert(db)
        .await
    }

    pub async fn find(db: &DatabaseConnection, id: &str) -> Result<Option<Model>, DbErr> {
        Entity::find_by_id(id.to_owned()).one(db).await
    }

    /// Deletes the request. Returns false when another request completed it first.
    pub async fn take(db: &DatabaseConnection, id: &str) -> Result<bool, DbErr> {
        let result = Entity::delete_by_id(id.to_owned()).exec(db).await?;
        Ok(result.rows_affected == 1)
    }
}

pub mod codes {
    use sea_orm::ActiveValue::Set;
    use sea_orm::entity::prelude::*;
    use sea_orm::sea_query::Expr;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "authorization_codes")]
    pub struct Model {
        /// SHA-256 of the code, base64url.
        #[sea_orm(primary_key, auto_increment = false)]
        pub code_hash: String,
        /// Ties together every token issued from this code, so a replay can revoke them.
        pub grant_id: String,
        pub client_id: String,
        pub account_id: i32,
        pub identity_id: Option<i32>,
        pub session_id: String,
        pub redirect_uri: String,
        pub scope: String,
        pub nonce: Option<String>,
        pub code_challenge: String,
        pub auth_time: i64,
        pub amr: String,
        pub acr: String,
        pub created_at: i64,
        pub expires_at: i64,
        pub used_at: Option<i64>,
        /// The `claims` request parameter's claim names, as `ClaimsRequest::to_stored`
        /// writes them.
        pub claims: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    pub async fn insert(db: &DatabaseConnection, model: Model) -> Result<Model, DbErr> {
        ActiveModel {
            code_hash: Set(model.code_hash),
            grant_id: Set(model.grant_id),
            client_id: Set(model.client_id),
            account_id: Set(model.account_id),
            identity_id: Set(model.identity_id),
            session_id: Set(model.session_id),
            redirect_uri: Set(model.redirect_uri),
            scope: Set(model.scope),
            nonce: Set(model.nonce),
            code_challenge: Set(model.code_challenge),
            auth_time: Set(model.auth_time),
            amr: Set(model.amr),
            acr: Set(model.acr),
            created_at: Set(model.created_at),
            expires_at: Set(model.expires_at),
            used_at: Set(None),
            claims: Set(model.claims),
        }
        .insert(db)
        .await
    }

    pub async fn find(db: &DatabaseConnection, code_hash: &str) -> Result<Option<Model>, DbErr> {
        Entity::find_by_id(code_hash.to_owned()).one(db).await
    }

    /// Marks the code used. Returns false when it was used before, including by a concurrent
    /// request, which makes this the single point that enforces single use.
    pub async fn mark_used(
        db: &DatabaseConnection,
        code_hash: &str,
        now: i64,
    ) -> Result<bool, DbErr> {
        let result = Entity::update_many()
            .col_expr(Column::UsedAt, Expr::value(Some(now)))
            .filter(Column::CodeHash.eq(code_hash))
            .filter(Column::UsedAt.is_null())
            .exec(db)
            .await?;
        Ok(result.rows_affected == 1)
    }
}
