//! Staff lifecycle: the enterprise administrator's operators (console and API), real-name
//! submission and review with the review window, the role picker, and first sign-in of an
//! added operator.

use reqwest::StatusCode;
use serde_json::{Value, json};
use unilogin::domain::phone::Phone;
use unilogin::providers::realname::FixtureVerifier;
use unilogin::store::{accounts, identities, realname_submissions};

use crate::certificate::{
    NAME_A, NAME_B, USCC_A, USCC_B, bind, id_token_claims, identity_pem, import_enterprises, issue,
    pending_request, tls_certificate_page,
};
use crate::helpers::*;

const MISMATCH: &str = "您填写的身份信息与手机号认证失败，请确认信息是否填写正确。";
const EXCLUSIVE: &str = "该手机号已绑定其他身份并与当前身份存在互斥关系，绑定失败。";
const NOT_VERIFIED: &str = "您尚未进行实名认证，请及时进行实名认证！";
const SUBMITTED: &str = "实名认证信息提交成功，请尽快联系管理员审核。";

/// Adds consistent name/phone pairs to the development real-name fixture.
fn realname_pairs(app: &TestApp, pairs: &[(&str, &str)]) {
    let fixture = FixtureVerifier::new(app.state.config.realname_fixture_path()).unwrap();
    for (phone, name) in pairs {
        fixture
            .add_pair(&Phone::parse(phone).unwrap(), name)
            .unwrap();
    }
}

/// Binds enterprise A (or B) with its administrator's certificate and signs in; the browser
/// then holds a certificate session for the console.
pub(crate) async fn admin_browser(app: &TestApp, enterprise_b: bool) -> Browser {
    let (uscc, name, operator, password) = if enterprise_b {
        (USCC_B, NAME_B, "400001", "Other-old-1")
    } else {
        (USCC_A, NAME_A, "300001", "Admin-old-1")
    };
    let browser = Browser::with_certificate(app, identity_pem(&issue(app, uscc, name, |_| {})));
    let binding = tls_certificate_page(app, &browser, "").await;
    let bound = bind(app, &browser, &binding, operator, password).await;
    assert_eq!(bound.status, StatusCode::SEE_OTHER, "{}", bound.body);
    let signed_in = tls_certificate_page(app, &browser, "").await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    assert_eq!(signed_in.location.as_deref(), Some("/admin/operators"));
    browser
}

pub(crate) async fn api(
    browser: &Browser,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = browser.client.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn add_operator(
    app: &TestApp,
    admin: &Browser,
    name: &str,
    phone: &str,
) -> (StatusCode, Value) {
    let body = json!({
        "name": name,
        "phone": phone,
        "department_type": "headquarters",
        "role": "operator",
        "remark": "测试",
    });
    api(
        admin,
        reqwest::Method::POST,
        &app.url("/api/v1/operators"),
        Some(body),
    )
    .await
}

async fn account_by_phone(app: &TestApp, phone: &str) -> Option<accounts::Model> {
    accounts::find_by_phone(&app.state.db, Phone::parse(phone).unwrap().as_e164())
        .await
        .unwrap()
}

#[tokio::test]
async fn add_operator_with_matching_name_creates_account() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    realname_pairs(&app, &[("17512342068", "李四")]);
    let admin = admin_browser(&app, false).await;

    let (status, body) = add_operator(&app, &admin, "李四", "17512342068").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["account_created"], true);
    assert_eq!(body["operator"]["phone"], "175****2068");
    assert_eq!(body["operator"]["department"], NAME_A);
    assert_eq!(body["operator"]["status"], "active");
    let operator_id = body["operator"]["operator_id"].as_i64().unwrap();
    assert!(operator_id > 800_000_000, "{operator_id}");

    let account = account_by_phone(&app, "17512342068").await.unwrap();
    assert!(account.must_change_password);
    let identity = identities::find_by_operator_id(&app.state.db, operator_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(identity.account_id, account.id);
    assert!(identity.realname_verified_at.is_some());
    assert_eq!(identity.system_id, CLIENT_ID);
    let sms = app.outbox_lines();
    let initial = sms
        .iter()
        .find(|l| l["purpose"] == "initial_password")
        .unwrap();
    assert_eq!(initial["phone"], "+8617512342068");
    let audit = app.audit_actions().await;
    assert!(
        audit
            .iter()
            .any(|(action, result, _)| action == "operator.create" && result == "success")
    );
    let events = unilogin::store::audit::recent(&app.state.db, 20)
        .await
        .unwrap();
    let create = events
        .iter()
        .find(|e| e.action == "operator.create")
        .unwrap();
    assert!(create.actor.starts_with("certificate:"), "{}", create.actor);
}

#[tokio::test]
async fn add_operator_mismatch_saves_nothing() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    realname_pairs(&app, &[("17512342068", "李四")]);
    let admin = admin_browser(&app, false).await;

    let (status, body) = add_operator(&app, &admin, "王八", "17512342068").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["message"], MISMATCH);
    assert!(account_by_phone(&app, "17512342068").await.is_none());
    assert!(
        app.outbox_lines()
            .iter()
            .all(|l| l["purpose"] != "initial_password")
    );
    let audit = app.audit_actions().await;
    assert!(
        audit
            .iter()
            .any(|(action, result, detail)| action == "operator.create"
                && result == "failure"
                && detail.contains("mismatch"))
    );

    // The console form shows the same message and keeps what was typed.
    let form = admin.get(&app.url("/admin/operators/new")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let identity_value = format!("{CLIENT_ID} property_company");
    let page = admin
        .post(
            &app.url("/admin/operators"),
            &[
                ("name", "王八"),
                ("phone", "17512342068"),
                ("department", ""),
                ("department_type", "headquarters"),
                ("role", "operator"),
                ("remark", ""),
                ("identity", &identity_value),
                ("csrf_token", &form.input("csrf_token")),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains(MISMATCH), "{}", page.body);
    assert!(page.body.contains("value=\"王八\""));
    assert!(account_by_phone(&app, "17512342068").await.is_none());
}

#[tokio::test]
async fn add_operator_with_provider_down_saves_nothing() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let app = spawn_app_with(|config| {
        config.realname.adapter = "http".into();
        config.realname.http.url = format!("http://127.0.0.1:{port}/verify");
        config.realname.http.retries = 1;
    })
    .await;
    import_enterprises(&app).await;
    let admin = admin_browser(&app, false).await;

    let (status, body) = add_operator(&app, &admin, "李四", "17512342068").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["message"], "实名认证服务暂时不可用，请稍后重试。");
    assert!(account_by_phone(&app, "17512342068").await.is_none());
}

#[tokio::test]
async fn add_operator_joins_existing_account() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    let existing = app.add_account("13912345678", false).await;
    realname_pairs(&app, &[("13912345678", "张三")]);
    let admin = admin_browser(&app, false).await;

    let (status, body) = add_operator(&app, &admin, "张三", "13912345678").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["account_created"], false);
    let identity = identities::find_by_id(
        &app.state.db,
        body["operator"]["id"].as_i64().unwrap() as i32,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(identity.account_id, existing.id);
    assert!(
        app.outbox_lines()
            .iter()
            .all(|l| l["purpose"] != "initial_password")
    );

    // The same person again for the same system and type is refused.
    let (status, body) = add_operator(&app, &admin, "张三", "13912345678").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "identity_duplicate");
}

#[tokio::test]
async fn mutually_exclusive_identity_refused_and_audited() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    // 钱七 (13900000021) is enterprise B's developer administrator; A's type is property company.
    realname_pairs(&app, &[("13900000021", "钱七")]);
    let admin = admin_browser(&app, false).await;

    let (status, body) = add_operator(&app, &admin, "钱七", "13900000021").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["message"], EXCLUSIVE);
    assert_eq!(body["held_identity_type"], "developer");
    let account = account_by_phone(&app, "13900000021").await.unwrap();
    let held = identities::of_account(&app.state.db, account.id)
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    let audit = app.audit_actions().await;
    assert!(
        audit
            .iter()
            .any(|(action, result, detail)| action == "operator.create"
                && result == "failure"
                && detail.contains("mutually exclusive"))
    );
}

#[tokio::test]
async fn modify_changes_only_phone_and_status() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    realname_pairs(&app, &[("17512342068", "李四"), ("17512342069", "李四")]);
    let admin = admin_browser(&app, false).await;
    let (_, body) = add_operator(&app, &admin, "李四", "17512342068").await;
    let id = body["operator"]["id"].as_i64().unwrap();
    let url = app.url(&format!("/api/v1/operators/{id}"));

    // Fields other than phone and status are refused by the API and by the form.
    let (status, _) = api(
        &admin,
        reqwest::Method::PATCH,
        &url,
        Some(json!({ "name": "李五" })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api(
        &admin,
        reqwest::Method::PATCH,
        &url,
        Some(json!({ "department": "X" })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let page = admin.get(&app.url(&format!("/admin/operators/{id}"))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let refused = admin
        .post(
            &app.url(&format!("/admin/operators/{id}")),
            &[
                ("name", "李五"),
                ("status", ""),
                ("phone", ""),
                ("csrf_token", &page.input("csrf_token")),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("只能修改手机号和状态。"),
        "{}",
        refused.body
    );
    let (_, unchanged) = api(&admin, reqwest::Method::GET, &url, None).await;
    assert_eq!(unchanged["name"], "李四");
    assert_eq!(unchanged["department"], NAME_A);

    // The phone changes after a real-name check; a mismatching phone is refused.
    let (status, body) = api(
        &admin,
        reqwest::Method::PATCH,
        &url,
        Some(json!({ "phone": "13900009999" })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = api(
        &admin,
        reqwest::Method::PATCH,
        &url,
        Some(json!({ "phone": "17512342069" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["phone"], "175****2069");
    assert!(account_by_phone(&app, "17512342069").await.is_some());
    assert!(account_by_phone(&app, "17512342068").await.is_none());

    // Status: disabled and back; other values are refused.
    let (status, body) = api(
        &admin,
        reqwest::Method::PATCH,
        &url,
        Some(json!({ "status": "disabled" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "disabled");
    let (status, body) = api(
        &admin,
        reqwest::Method::PATCH,
        &url,
        Some(json!({ "status": "pending_review" })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "status");
    let modified = admin
        .post(
            &app.url(&format!("/admin/operators/{id}")),
            &[
                ("phone", ""),
                ("status", "active"),
                ("csrf_token", &page.input("csrf_token")),
            ],
        )
        .await;
    assert_eq!(modified.status, StatusCode::SEE_OTHER, "{}", modified.body);
    let identity = identities::find_by_id(&app.state.db, id as i32)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(identity.status, "active");
    assert_eq!(identity.department, NAME_A);
    assert_eq!(identity.remark, "测试");
}

/// Signs in an added operator for the first time: initial password from the outbox, SMS
/// code, forced password change; returns the callback URL.
async fn first_sign_in(app: &TestApp, browser: &Browser, auth_url: &str, phone: &str) -> String {
    let e164 = Phone::parse(phone).unwrap().as_e164().to_owned();
    let initial = app
        .outbox_lines()
        .iter()
        .rev()
        .find(|l| l["purpose"] == "initial_password" && l["phone"] == e164.as_str())
        .map(|l| l["text"].as_str().unwrap().to_owned())
        .unwrap();
    let password = initial
        .split("初始密码为")
        .nth(1)
        .unwrap()
        .split('，')
        .next()
        .unwrap()
        .to_owned();
    let login = open_login(browser, auth_url).await;
    let code = request_code(app, browser, &login, phone).await;
    let done = submit_login(app, browser, &login, phone, &password, &code).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let change_url = done.location.unwrap();
    assert!(change_url.starts_with("/password/change"), "{change_url}");
    let change = browser.get(&app.url(&change_url)).await;
    let changed = browser
        .post(
            &app.url("/password/change"),
            &[
                ("current_password", password.as_str()),
                ("new_password", "Changed#2026"),
                ("new_password_confirm", "Changed#2026"),
                ("csrf_token", &change.input("csrf_token")),
                ("request_id", &change.input("request_id")),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    changed.location.unwrap()
}

#[tokio::test]
async fn added_operator_first_sign_in_end_to_end() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    realname_pairs(&app, &[("17512342068", "李四")]);
    let admin = admin_browser(&app, false).await;
    let (_, body) = add_operator(&app, &admin, "李四", "17512342068").await;
    let operator_id = body["operator"]["operator_id"].as_i64().unwrap();

    let browser = Browser::new();
    let (auth_url, verifier) = authorization_url(&app, &[("scope", "openid enterprise")]);
    let callback = first_sign_in(&app, &browser, &auth_url, "17512342068").await;
    assert!(callback.starts_with(REDIRECT_URI), "{callback}");
    let tokens: Value = exchange(&app, &query_param(&callback, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    let claims = id_token_claims(&tokens);
    assert_eq!(claims["operator_id"], operator_id);
    assert_eq!(claims["org_uscc"], USCC_A);
    assert_eq!(claims["identity_type"], "property_company");
    assert_eq!(claims["enterprise_admin"], false);
}

#[tokio::test]
async fn deleted_operator_cannot_sign_in_or_refresh() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    realname_pairs(&app, &[("17512342068", "李四")]);
    let admin = admin_browser(&app, false).await;
    let (_, body) = add_operator(&app, &admin, "李四", "17512342068").await;
    let id = body["operator"]["id"].as_i64().unwrap();

    let browser = Browser::new();
    let (auth_url, verifier) =
        authorization_url(&app, &[("scope", "openid enterprise offline_access")]);
    let callback = first_sign_in(&app, &browser, &auth_url, "17512342068").await;
    let tokens: Value = exchange(&app, &query_param(&callback, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();

    let (status, _) = api(
        &admin,
        reqwest::Method::DELETE,
        &app.url(&format!("/api/v1/operators/{id}")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let identity = identities::find_by_id(&app.state.db, id as i32)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(identity.status, "disabled");
    assert!(identity.deleted_at.is_some());

    let refreshed = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::BAD_REQUEST);
    let error: Value = refreshed.json().await.unwrap();
    assert_eq!(error["error"], "invalid_grant");

    // The old browser session ended; signing in again is refused.
    app.state.clock.advance(61);
    let (auth_url, _) = authorization_url(&app, &[("scope", "openid enterprise")]);
    let login = open_login(&browser, &auth_url).await;
    let code = request_code(&app, &browser, &login, "17512342068").await;
    let refused = submit_login(&app, &browser, &login, "17512342068", "Changed#2026", &code).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(
        refused.body.contains("您在该业务系统没有可用身份"),
        "{}",
        refused.body
    );

    // Deleted operators leave the list and the API.
    let (status, _) = api(
        &admin,
        reqwest::Method::GET,
        &app.url(&format!("/api/v1/operators/{id}")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn list_filters_and_pages() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    realname_pairs(
        &app,
        &[
            ("17512342061", "李一"),
            ("17512342062", "李二"),
            ("17512342063", "周三"),
        ],
    );
    let admin = admin_browser(&app, false).await;
    for (name, phone) in [
        ("李一", "17512342061"),
        ("李二", "17512342062"),
        ("周三", "17512342063"),
    ] {
        let (status, body) = add_operator(&app, &admin, name, phone).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let list = |query: &'static str| {
        let admin = &admin;
        let url = app.url(&format!("/api/v1/operators{query}"));
        async move { api(admin, reqwest::Method::GET, &url, None).await.1 }
    };

    // The imported staff member 300002 and the three added ones.
    let all = list("").await;
    assert_eq!(all["total"], 4, "{all}");
    let names = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&list("?name=%E6%9D%8E").await), ["李一", "李二"]);
    assert_eq!(names(&list("?operator_id=300002").await), ["赵六"]);
    assert_eq!(list("?operator_id=abc").await["total"], 0);
    assert_eq!(list("?status=disabled").await["total"], 0);
    assert_eq!(list("?identity_type=property_company").await["total"], 4);
    assert_eq!(list("?identity_type=developer").await["total"], 0);
    assert_eq!(
        list(concat!("?unit_code=", "91310000MA1FL8XQ11")).await["total"],
        4
    );
    assert_eq!(list("?unit_code=91350100M000100Y43").await["total"], 0);
    assert_eq!(list("?name=%25").await["total"], 0);

    let first = list("?per_page=3&page=1").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    assert_eq!(first["total"], 4);
    let second = list("?per_page=3&page=2").await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);

    let page = admin.get(&app.url("/admin/operators?name=%E6%9D%8E")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("李一") && page.body.contains("李二"));
    assert!(!page.body.contains("周三"));
    assert!(page.body.contains("175****2061"), "{}", page.body);
    assert!(!page.body.contains("17512342061"));
}

#[tokio::test]
async fn other_enterprise_admin_cannot_reach_operators() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    realname_pairs(&app, &[("17512342068", "李四")]);
    let admin_a = admin_browser(&app, false).await;
    let (_, body) = add_operator(&app, &admin_a, "李四", "17512342068").await;
    let id = body["operator"]["id"].as_i64().unwrap();
    let admin_b = admin_browser(&app, true).await;

    let url = app.url(&format!("/api/v1/operators/{id}"));
    let (status, _) = api(&admin_b, reqwest::Method::GET, &url, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api(
        &admin_b,
        reqwest::Method::PATCH,
        &url,
        Some(json!({ "status": "disabled" })),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api(&admin_b, reqwest::Method::DELETE, &url, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = api(
        &admin_b,
        reqwest::Method::GET,
        &app.url("/api/v1/operators"),
        None,
    )
    .await;
    assert_eq!(list["total"], 0);
    let page = admin_b
        .get(&app.url(&format!("/admin/operators/{id}")))
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let identity = identities::find_by_id(&app.state.db, id as i32)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(identity.status, "active");
    assert!(identity.deleted_at.is_none());

    // Without a certificate session there is no console at all.
    let anonymous = Browser::new();
    let (status, body) = api(
        &anonymous,
        reqwest::Method::GET,
        &app.url("/api/v1/operators"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "certificate_session_required");
    // A changing request without a JSON body is refused (cross-site forms cannot send JSON).
    let form = admin_a
        .post(&app.url("/api/v1/operators"), &[("name", "x")])
        .await;
    assert_eq!(form.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

/// Staff member 300002 (赵六, 13900000012) of enterprise A, imported without real-name
/// verification: signs in with the old operator ID and is sent to real-name verification.
/// Returns the browser on the real-name page and the page.
async fn stock_staff_to_realname(app: &TestApp) -> (Browser, Page, String) {
    let browser = Browser::new();
    let (request_id, verifier) = pending_request(app, &browser, &[]).await;
    let stock = browser
        .get(&app.url(&format!("/login/stock?request_id={request_id}")))
        .await;
    let signed_in = browser
        .post(
            &app.url("/login/stock"),
            &[
                ("operator_id", "300002"),
                ("password", "Staff-old-1"),
                ("csrf_token", &stock.input("csrf_token")),
                ("request_id", &request_id),
            ],
        )
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    let location = signed_in.location.unwrap();
    assert_eq!(location, format!("/realname?request_id={request_id}"));
    let page = browser.get(&app.url(&location)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(NOT_VERIFIED), "{}", page.body);
    (browser, page, verifier)
}

async fn submit_realname(app: &TestApp, browser: &Browser, page: &Page, name: &str) -> Page {
    // One SMS code per minute and phone: move past the resend interval.
    app.state.clock.advance(61);
    let sent = browser
        .post(
            &app.url("/realname/sms-code"),
            &[
                ("phone", "13900000012"),
                ("csrf_token", &page.input("csrf_token")),
                ("request_id", &page.input("request_id")),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    let code = app
        .outbox_lines()
        .iter()
        .rev()
        .find(|l| l["purpose"] == "realname")
        .map(|l| l["code"].as_str().unwrap().to_owned())
        .unwrap();
    browser
        .post(
            &app.url("/realname"),
            &[
                ("password", "Staff-old-1"),
                ("name", name),
                ("phone", "13900000012"),
                ("sms_code", &code),
                ("csrf_token", &page.input("csrf_token")),
                ("request_id", &page.input("request_id")),
            ],
        )
        .await
}

/// Signs staff member 赵六 in by phone on a fresh browser and returns the final response.
async fn staff_phone_sign_in(app: &TestApp) -> Page {
    app.state.clock.advance(61);
    let browser = Browser::new();
    let (auth_url, _) = authorization_url(app, &[("scope", "openid enterprise")]);
    let login = open_login(&browser, &auth_url).await;
    let code = request_code(app, &browser, &login, "13900000012").await;
    submit_login(app, &browser, &login, "13900000012", "Staff-old-1", &code).await
}

async fn staff_identity(app: &TestApp) -> identities::Model {
    identities::find_by_operator_id(&app.state.db, 300002)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn realname_submission_and_review_window() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    realname_pairs(&app, &[("13900000012", "赵六")]);
    let _admin = admin_browser(&app, false).await;
    let (browser, page, _) = stock_staff_to_realname(&app).await;

    let wrong = submit_realname(&app, &browser, &page, "赵七").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains(MISMATCH), "{}", wrong.body);
    assert_eq!(staff_identity(&app).await.status, "active");

    let submitted = submit_realname(&app, &browser, &page, "赵六").await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    assert!(submitted.body.contains(SUBMITTED), "{}", submitted.body);
    assert!(
        submitted.body.contains("还可登录 24 小时"),
        "{}",
        submitted.body
    );
    let identity = staff_identity(&app).await;
    assert_eq!(identity.status, "pending_review");
    assert_eq!(identity.operator_id, 300002);
    let submission = realname_submissions::latest_for_identity(&app.state.db, identity.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(submission.status, "pending");
    assert_eq!(submission.name, "赵六");

    let continued = browser
        .post(
            &app.url("/realname/continue"),
            &[
                ("csrf_token", &page.input("csrf_token")),
                ("request_id", &page.input("request_id")),
            ],
        )
        .await;
    assert_eq!(
        continued.status,
        StatusCode::SEE_OTHER,
        "{}",
        continued.body
    );
    assert!(continued.location.unwrap().starts_with(REDIRECT_URI));

    app.state.clock.advance(23 * 3600);
    let at_23h = staff_phone_sign_in(&app).await;
    assert_eq!(at_23h.status, StatusCode::SEE_OTHER, "{}", at_23h.body);
    assert!(at_23h.location.unwrap().starts_with(REDIRECT_URI));

    app.state.clock.advance(2 * 3600);
    let at_25h = staff_phone_sign_in(&app).await;
    assert_eq!(at_25h.status, StatusCode::FORBIDDEN, "{}", at_25h.body);
    assert!(
        at_25h.body.contains("请联系本企业管理员审核"),
        "{}",
        at_25h.body
    );
}

#[tokio::test]
async fn approved_submission_makes_identity_active() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    realname_pairs(&app, &[("13900000012", "赵六")]);
    let admin = admin_browser(&app, false).await;
    let (browser, page, _) = stock_staff_to_realname(&app).await;
    assert_eq!(
        submit_realname(&app, &browser, &page, "赵六").await.status,
        StatusCode::OK
    );

    let (_, pending) = api(
        &admin,
        reqwest::Method::GET,
        &app.url("/api/v1/realname-submissions"),
        None,
    )
    .await;
    assert_eq!(pending["total"], 1, "{pending}");
    assert_eq!(pending["items"][0]["phone"], "139****0012");
    let id = pending["items"][0]["id"].as_i64().unwrap();
    let reviews = admin.get(&app.url("/admin/reviews")).await;
    assert!(reviews.body.contains("赵六"), "{}", reviews.body);
    let approved = admin
        .post(
            &app.url(&format!("/admin/reviews/{id}/approve")),
            &[("csrf_token", &reviews.input("csrf_token"))],
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert!(approved.body.contains("已通过审核。"));
    let identity = staff_identity(&app).await;
    assert_eq!(identity.status, "active");
    assert!(identity.realname_verified_at.is_some());
    let again = admin
        .post(
            &app.url(&format!("/admin/reviews/{id}/approve")),
            &[("csrf_token", &reviews.input("csrf_token"))],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // Past the review window the approved identity still signs in.
    app.state.clock.advance(25 * 3600);
    let later = staff_phone_sign_in(&app).await;
    assert_eq!(later.status, StatusCode::SEE_OTHER, "{}", later.body);
    assert!(later.location.unwrap().starts_with(REDIRECT_URI));
    let events = unilogin::store::audit::recent(&app.state.db, 50)
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.action == "realname.approve" && e.actor.starts_with("certificate:"))
    );
}

#[tokio::test]
async fn rejected_submission_shows_reason_and_resubmits() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    realname_pairs(&app, &[("13900000012", "赵六")]);
    let admin = admin_browser(&app, false).await;
    let (browser, page, _) = stock_staff_to_realname(&app).await;
    assert_eq!(
        submit_realname(&app, &browser, &page, "赵六").await.status,
        StatusCode::OK
    );
    let (_, pending) = api(
        &admin,
        reqwest::Method::GET,
        &app.url("/api/v1/realname-submissions"),
        None,
    )
    .await;
    let id = pending["items"][0]["id"].as_i64().unwrap();
    let url = app.url(&format!("/api/v1/realname-submissions/{id}/reject"));

    let (status, body) = api(
        &admin,
        reqwest::Method::POST,
        &url,
        Some(json!({ "reason": " " })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = api(
        &admin,
        reqwest::Method::POST,
        &url,
        Some(json!({ "reason": "姓名与员工名册不符" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(staff_identity(&app).await.status, "rejected");

    let signed_in = staff_phone_sign_in(&app).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    assert!(
        signed_in
            .location
            .as_deref()
            .unwrap()
            .starts_with("/realname?request_id=")
    );
    // The same browser is needed to see the page: sign in again keeping the cookies.
    let browser = Browser::new();
    let (auth_url, _) = authorization_url(&app, &[("scope", "openid enterprise")]);
    let login = open_login(&browser, &auth_url).await;
    app.state.clock.advance(61);
    let code = request_code(&app, &browser, &login, "13900000012").await;
    let done = submit_login(&app, &browser, &login, "13900000012", "Staff-old-1", &code).await;
    let page = browser.get(&app.url(&done.location.unwrap())).await;
    assert!(page.body.contains("姓名与员工名册不符"), "{}", page.body);
    assert!(page.body.contains("请重新提交"), "{}", page.body);

    let resubmitted = submit_realname(&app, &browser, &page, "赵六").await;
    assert!(resubmitted.body.contains(SUBMITTED), "{}", resubmitted.body);
    assert_eq!(staff_identity(&app).await.status, "pending_review");
}

#[tokio::test]
async fn role_picker_claims_and_select_account() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    app.add_account("13912345678", false).await;
    realname_pairs(&app, &[("13912345678", "张三")]);
    let admin_a = admin_browser(&app, false).await;
    let (_, in_a) = add_operator(&app, &admin_a, "张三", "13912345678").await;
    // A second identity for the same system: the repair contractor type in enterprise A.
    let header = "operator_id,enterprise_code,enterprise_name,person_name,phone,identity_type,is_admin,password_scheme,password_hash,system\n";
    let row = format!(
        "600001,91310000MA1FL8XQ11,{NAME_A},张三,13912345678,repair_contractor,false,sha256_salted,{},{CLIENT_ID}\n",
        salted("x")
    );
    let report = unilogin::admin::import::import_operators(
        &app.state.db,
        &app.state.config.identities,
        format!("{header}{row}").as_bytes(),
        unilogin::clock::now(),
    )
    .await
    .unwrap();
    assert_eq!(report.imported, 1, "{report:?}");
    let second = identities::find_by_operator_id(&app.state.db, 600001)
        .await
        .unwrap()
        .unwrap();
    // Mark it verified so it signs in without the real-name step.
    identities::mark_realname_verified(&app.state.db, second.id, 1)
        .await
        .unwrap();

    let browser = Browser::new();
    let (auth_url, verifier) = authorization_url(&app, &[("scope", "openid enterprise")]);
    let picker_url = sign_in(&app, &browser, &auth_url, PHONE).await;
    assert!(
        picker_url.starts_with("/login/select-identity?request_id="),
        "{picker_url}"
    );
    let picker = browser.get(&app.url(&picker_url)).await;
    assert_eq!(
        picker.body.matches("name=\"identity_id\"").count(),
        2,
        "{}",
        picker.body
    );
    assert!(picker.body.contains("维修施工单位") && picker.body.contains("物业服务企业"));
    assert!(picker.body.contains("600001"));
    let chosen = browser
        .post(
            &app.url("/login/select-identity"),
            &[
                ("identity_id", &second.id.to_string()),
                ("csrf_token", &picker.input("csrf_token")),
                ("request_id", &picker.input("request_id")),
            ],
        )
        .await;
    assert_eq!(chosen.status, StatusCode::SEE_OTHER, "{}", chosen.body);
    let callback = chosen.location.unwrap();
    let tokens: Value = exchange(&app, &query_param(&callback, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    let claims = id_token_claims(&tokens);
    assert_eq!(claims["operator_id"], 600001);
    assert_eq!(claims["identity_type"], "repair_contractor");
    assert_eq!(claims["identity_id"], second.id);
    assert_eq!(claims["org_name"], NAME_A);
    let userinfo: Value = reqwest::Client::new()
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["operator_id"], 600001);

    // The same browser signs in silently with the chosen identity.
    let (auth_url, _) = authorization_url(&app, &[("scope", "openid enterprise")]);
    let silent = browser.get(&auth_url).await;
    assert_eq!(silent.status, StatusCode::FOUND);
    assert!(silent.location.unwrap().starts_with(REDIRECT_URI));

    // prompt=select_account shows the picker again, with the last choice preselected.
    let (auth_url, verifier) = authorization_url(
        &app,
        &[("scope", "openid enterprise"), ("prompt", "select_account")],
    );
    let forced = browser.get(&auth_url).await;
    assert_eq!(forced.status, StatusCode::FOUND, "{}", forced.body);
    let location = forced.location.unwrap();
    assert!(
        location.starts_with("/login/select-identity?request_id="),
        "{location}"
    );
    let picker = browser.get(&app.url(&location)).await;
    let checked = format!("value=\"{}\" checked", second.id);
    assert!(picker.body.contains(&checked), "{}", picker.body);
    let first_id = in_a["operator"]["id"].as_i64().unwrap().to_string();
    let chosen = browser
        .post(
            &app.url("/login/select-identity"),
            &[
                ("identity_id", &first_id),
                ("csrf_token", &picker.input("csrf_token")),
                ("request_id", &picker.input("request_id")),
            ],
        )
        .await;
    let callback = chosen.location.unwrap();
    let tokens: Value = exchange(&app, &query_param(&callback, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    let claims = id_token_claims(&tokens);
    assert_eq!(claims["operator_id"], in_a["operator"]["operator_id"]);
    assert_eq!(claims["identity_type"], "property_company");
    assert_eq!(claims["org_uscc"], USCC_A);

    // prompt=none cannot be combined with select_account (OIDC Core §3.1.2.1).
    let (auth_url, _) = authorization_url(
        &app,
        &[
            ("scope", "openid enterprise"),
            ("prompt", "none select_account"),
        ],
    );
    let none = browser.get(&auth_url).await;
    assert_eq!(none.status, StatusCode::FOUND);
    let location = none.location.unwrap();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn review_keeps_disabled_operator_disabled() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    realname_pairs(&app, &[("13900000012", "赵六")]);
    let admin = admin_browser(&app, false).await;
    let (browser, page, _) = stock_staff_to_realname(&app).await;
    assert_eq!(
        submit_realname(&app, &browser, &page, "赵六").await.status,
        StatusCode::OK
    );
    let identity = staff_identity(&app).await;
    let url = app.url(&format!("/api/v1/operators/{}", identity.id));
    let (status, _) = api(
        &admin,
        reqwest::Method::PATCH,
        &url,
        Some(json!({ "status": "disabled" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (_, pending) = api(
        &admin,
        reqwest::Method::GET,
        &app.url("/api/v1/realname-submissions"),
        None,
    )
    .await;
    let id = pending["items"][0]["id"].as_i64().unwrap();
    let approve = app.url(&format!("/api/v1/realname-submissions/{id}/approve"));
    let (status, body) = api(&admin, reqwest::Method::POST, &approve, Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let identity = staff_identity(&app).await;
    assert_eq!(identity.status, "disabled");
    assert!(identity.realname_verified_at.is_some());

    // Submissions of deleted operators leave the list and cannot be reviewed.
    let (status, _) = api(&admin, reqwest::Method::DELETE, &url, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = api(&admin, reqwest::Method::POST, &approve, None).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    let (status, body) = api(&admin, reqwest::Method::POST, &approve, Some(json!({}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"], "submission_not_found");
}

#[tokio::test]
async fn bad_paging_and_ids_get_json_errors() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    let admin = admin_browser(&app, false).await;
    let (status, body) = api(
        &admin,
        reqwest::Method::GET,
        &app.url("/api/v1/operators?page=18446744073709551615"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"], json!([]));
    assert_eq!(body["page"], 1_000_000);
    let (status, body) = api(
        &admin,
        reqwest::Method::GET,
        &app.url("/api/v1/operators?page=abc"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_query");
    let (status, body) = api(
        &admin,
        reqwest::Method::GET,
        &app.url("/api/v1/operators/abc"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "operator_not_found");
    let page = admin.get(&app.url("/admin/operators?page=abc")).await;
    assert_eq!(page.status, StatusCode::OK);
    let page = admin
        .get(&app.url("/admin/reviews?page=99999999999999999999"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
}

#[tokio::test]
async fn concurrent_adds_of_new_phone_send_one_password() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    realname_pairs(&app, &[("17512342068", "李四")]);
    let admin = admin_browser(&app, false).await;
    let (first, second, third, fourth) = tokio::join!(
        add_operator(&app, &admin, "李四", "17512342068"),
        add_operator(&app, &admin, "李四", "17512342068"),
        add_operator(&app, &admin, "李四", "17512342068"),
        add_operator(&app, &admin, "李四", "17512342068"),
    );
    let results = [first, second, third, fourth];
    let created = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    let conflicts = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CONFLICT)
        .count();
    assert_eq!(created, 1, "{results:?}");
    assert_eq!(conflicts, 3, "{results:?}");
    let passwords = app
        .outbox_lines()
        .iter()
        .filter(|l| l["purpose"] == "initial_password")
        .count();
    assert_eq!(passwords, 1);
}

#[tokio::test]
async fn add_refuses_other_name_and_hidden_characters() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    app.add_account("13912345678", false).await;
    realname_pairs(&app, &[("13912345678", "钱八"), ("17512342068", "李四")]);
    let admin = admin_browser(&app, false).await;

    // The account of this phone is 张三's; the carrier names 钱八.
    let (status, body) = add_operator(&app, &admin, "钱八", "13912345678").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "phone_taken");

    let body = json!({
        "name": "李四",
        "phone": "17512342068",
        "department_type": "branch",
        "department": "a\u{0}b\r\nFAKE",
    });
    let (status, body) = api(
        &admin,
        reqwest::Method::POST,
        &app.url("/api/v1/operators"),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "department");
    let (status, body) = add_operator(&app, &admin, "李\u{202e}四", "17512342068").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "name");
    assert!(account_by_phone(&app, "17512342068").await.is_none());
}

#[tokio::test]
async fn deleted_operator_added_again_is_restored() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    realname_pairs(&app, &[("17512342068", "李四")]);
    let admin = admin_browser(&app, false).await;
    let (_, first) = add_operator(&app, &admin, "李四", "17512342068").await;
    let id = first["operator"]["id"].as_i64().unwrap();
    let url = app.url(&format!("/api/v1/operators/{id}"));
    let (status, _) = api(&admin, reqwest::Method::DELETE, &url, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, again) = add_operator(&app, &admin, "李四", "17512342068").await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again["operator"]["id"], first["operator"]["id"]);
    assert_eq!(
        again["operator"]["operator_id"],
        first["operator"]["operator_id"]
    );
    assert_eq!(again["operator"]["status"], "active");
    let notices = app
        .outbox_lines()
        .iter()
        .filter(|l| l["purpose"] == "notice")
        .count();
    assert_eq!(notices, 1);
}

#[tokio::test]
async fn realname_http_adapter_maps_and_retries() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use unilogin::providers::realname::{HttpVerifier, Outcome, RealnameConfig, RealnameVerifier};

    // A provider that fails once with HTTP 500, then answers by the name it receives.
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let router = axum::Router::new().route(
        "/verify",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let seen = seen.clone();
            async move {
                if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                    return (
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        axum::Json(json!({})),
                    );
                }
                assert_eq!(body["mobile"], "17512342068");
                let result = match body["name"].as_str() {
                    Some("李四") => "1",
                    Some("王五") => "2",
                    _ => "9",
                };
                (
                    axum::http::StatusCode::OK,
                    axum::Json(json!({ "result": result, "request_id": "r-42" })),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/verify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let mut config = RealnameConfig::default().http;
    config.url = url;
    config.retries = 1;
    let verifier = HttpVerifier::new(config).unwrap();
    let phone = Phone::parse("17512342068").unwrap();

    let matched = verifier.verify_phone("李四", &phone).await;
    assert_eq!(matched.outcome, Outcome::Match);
    assert_eq!(matched.request_id, "r-42");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "one retry after the provider error"
    );
    let mismatched = verifier.verify_phone("王五", &phone).await;
    assert_eq!(mismatched.outcome, Outcome::Mismatch);
    assert_eq!(calls.load(Ordering::SeqCst), 3, "a mismatch is not retried");
    let unknown = verifier.verify_phone("赵六", &phone).await;
    assert_eq!(unknown.outcome, Outcome::ProviderError);
    assert!(
        unknown.detail.contains("unknown result code `9`"),
        "{}",
        unknown.detail
    );
}

#[tokio::test]
async fn portal_lists_systems_with_login_links() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    let system = accounts_system(&app).await;
    realname_pairs(&app, &[("17512342068", "李四")]);
    let admin = admin_browser(&app, false).await;
    add_operator(&app, &admin, "李四", "17512342068").await;

    let browser = Browser::new();
    let (auth_url, _) = authorization_url(&app, &[("scope", "openid enterprise")]);
    first_sign_in(&app, &browser, &auth_url, "17512342068").await;
    let portal = browser.get(&app.url("/")).await;
    assert_eq!(portal.status, StatusCode::OK);
    assert!(portal.body.contains(&system.name), "{}", portal.body);
    assert!(portal.body.contains("物业服务企业"), "{}", portal.body);
    // The link is the system's initiate_login_uri with iss and target_link_uri.
    assert!(
        portal
            .body
            .contains("https:&#x2f;&#x2f;fund.example.cn&#x2f;login?iss="),
        "{}",
        portal.body
    );
    assert!(portal.body.contains("target_link_uri="), "{}", portal.body);
}

/// Gives the test client a third-party-initiated login URI and a home page.
async fn accounts_system(app: &TestApp) -> unilogin::store::systems::Model {
    use unilogin::store::systems;
    let existing = systems::find_by_client_id(&app.state.db, CLIENT_ID)
        .await
        .unwrap()
        .unwrap();
    let change = systems::SystemUpdate {
        initiate_login_uri: Some("https://fund.example.cn/login".into()),
        home_uri: Some("https://fund.example.cn/".into()),
        ..systems::SystemUpdate::default()
    };
    systems::update(&app.state.db, existing, change)
        .await
        .unwrap()
}
