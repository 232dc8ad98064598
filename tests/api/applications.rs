//! System permission applications, the systems registry (platform API) and provisioning
//! events delivered to a relying system's endpoint on 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::StatusCode as AxumStatus;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use unilogin::store::{enterprises, identities, provisioning_events};

use crate::certificate::{
    NAME_A, USCC_A, id_token_claims, import_enterprises, pending_request, tls_certificate_page,
};
use crate::helpers::*;
use crate::staff::{admin_browser, api};

const PLATFORM_TOKEN: &str = "platform-token-for-tests";
const DUPLICATE_PROPERTY: &str =
    "物业监管平台已经存在统一社会信用代码（含组织机构代码）相同的物业服务企业，申请失败！";

/// A relying system's provisioning endpoint: answers 503 to the first `failures` deliveries,
/// then 202, and keeps the tokens it accepted.
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    failures: Arc<AtomicUsize>,
    pub(crate) accepted: Arc<Mutex<Vec<String>>>,
}

pub(crate) async fn start_receiver(failures: usize) -> (Receiver, String) {
    let receiver = Receiver::default();
    receiver.failures.store(failures, Ordering::SeqCst);
    let shared = receiver.clone();
    let router = axum::Router::new().route(
        "/events",
        axum::routing::post(move |body: String| {
            let shared = shared.clone();
            async move {
                let left = shared.failures.load(Ordering::SeqCst);
                if left > 0 {
                    shared.failures.store(left - 1, Ordering::SeqCst);
                    return AxumStatus::SERVICE_UNAVAILABLE;
                }
                shared.accepted.lock().await.push(body);
                AxumStatus::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (receiver, url)
}

async fn spawn_platform() -> TestApp {
    spawn_app_with(|config| {
        config.platform.admin_token_hashes = vec![unilogin::crypto::sha256_b64(PLATFORM_TOKEN)];
        config.provisioning.poll_interval_ms = 50;
        config.provisioning.retry_base_secs = 5;
    })
    .await
}

async fn platform(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .request(method, app.url(path))
        .bearer_auth(PLATFORM_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Registers the supervision platform through the platform API; returns its client secret.
async fn register_supervision(app: &TestApp, endpoint: Option<&str>) -> String {
    let (status, body) = platform(
        app,
        reqwest::Method::POST,
        "/api/v1/platform/systems",
        Some(json!({
            "client_id": "supervision",
            "name": "物业监管平台",
            "redirect_uris": ["http://127.0.0.1:9/supervision"],
            "identity_types": [
                { "code": "property_company", "applicable": true },
                { "code": "repair_contractor", "applicable": true },
                { "code": "owners_committee", "applicable": false },
            ],
            "provisioning_endpoint": endpoint,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["client_secret"].as_str().unwrap().to_owned()
}

async fn apply(app: &TestApp, admin: &Browser, identity_type: &str) -> (StatusCode, Value) {
    let body = json!({
        "system_id": "supervision",
        "identity_type": identity_type,
        "contact_name": "王五",
        "contact_phone": "13900000011",
        "contact_email": "wangwu@example.cn",
    });
    api(
        admin,
        reqwest::Method::POST,
        &app.url("/api/v1/applications"),
        Some(body),
    )
    .await
}

async fn wait_for_event(app: &TestApp, status: &str, attempts: i32) -> provisioning_events::Model {
    for _ in 0..200 {
        let events = provisioning_events::recent(&app.state.db, 10)
            .await
            .unwrap();
        if let Some(event) = events
            .into_iter()
            .find(|e| e.status == status && e.attempts >= attempts)
        {
            return event;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("no provisioning event reached {status} after {attempts} attempts");
}

#[tokio::test]
async fn application_pages_follow_each_answer() {
    let app = spawn_platform().await;
    import_enterprises(&app).await;
    register_supervision(&app, None).await;
    let admin = admin_browser(&app, false).await;

    let list = admin.get(&app.url("/admin/applications")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(
        list.body.contains("value=\"supervision property_company\""),
        "{}",
        list.body
    );
    assert!(
        list.body
            .contains("value=\"supervision repair_contractor\"")
    );
    assert!(
        !list.body.contains("owners_committee"),
        "a closed type is not offered"
    );
    assert!(
        !list
            .body
            .contains(&format!("value=\"{CLIENT_ID} property_company\"")),
        "a held type is not offered"
    );

    let question = admin
        .get(&app.url("/admin/applications/question?offer=supervision+property_company"))
        .await;
    assert_eq!(question.status, StatusCode::OK);
    assert!(
        question
            .body
            .contains("您所在企业是否在物业监管平台已有物业服务企业身份账号（OTP&#x2f;密钥）？"),
        "{}",
        question.body
    );
    assert!(question.body.contains(
        "/admin/applications/attach?system_id=supervision&amp;identity_type=property_company"
    ));
    assert!(question.body.contains(
        "/admin/applications/new?system_id=supervision&amp;identity_type=property_company"
    ));

    let attach =
        admin
            .get(&app.url(
                "/admin/applications/attach?system_id=supervision&identity_type=property_company",
            ))
            .await;
    assert_eq!(attach.status, StatusCode::OK);
    assert!(attach.body.contains("name=\"operator_id\""));
    let form =
        admin
            .get(&app.url(
                "/admin/applications/new?system_id=supervision&identity_type=property_company",
            ))
            .await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body.contains(&format!("value=\"{NAME_A}\" readonly")),
        "{}",
        form.body
    );
    assert!(form.body.contains(&format!("value=\"{USCC_A}\" readonly")));

    let closed =
        admin
            .get(&app.url(
                "/admin/applications/new?system_id=supervision&identity_type=owners_committee",
            ))
            .await;
    assert_eq!(closed.status, StatusCode::BAD_REQUEST);

    let done = admin
        .post(
            &app.url("/admin/applications"),
            &[
                ("system_id", "supervision"),
                ("identity_type", "property_company"),
                ("contact_name", "王五"),
                ("contact_phone", "13900000011"),
                ("contact_email", ""),
                ("csrf_token", &form.input("csrf_token")),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("申请成功"), "{}", done.body);
    let admin_identity = identities::find_by_operator_id(&app.state.db, 300001)
        .await
        .unwrap()
        .unwrap();
    let held = identities::of_account(&app.state.db, admin_identity.account_id)
        .await
        .unwrap();
    assert!(held.iter().any(|i| i.system_id == "supervision"
        && i.identity_type == "property_company"
        && i.is_admin
        && i.status == "active"));
    let audit = app.audit_actions().await;
    assert!(
        audit
            .iter()
            .any(|(action, result, _)| action == "application.submit" && result == "success")
    );
}

#[tokio::test]
async fn application_provisions_and_notifies_with_retry() {
    let app = spawn_platform().await;
    import_enterprises(&app).await;
    let (receiver, endpoint) = start_receiver(1).await;
    let secret = register_supervision(&app, Some(&endpoint)).await;
    let admin = admin_browser(&app, false).await;

    let (status, body) = apply(&app, &admin, "property_company").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let operator_id = body["operator_id"].as_i64().unwrap();

    let failed = wait_for_event(&app, "pending", 1).await;
    assert!(
        failed.last_error.as_deref().unwrap_or("").contains("503"),
        "{failed:?}"
    );
    app.state.clock.advance(6);
    let delivered = wait_for_event(&app, "delivered", 2).await;
    assert_eq!(delivered.system_id, "supervision");
    let accepted = receiver.accepted.lock().await.clone();
    assert_eq!(accepted.len(), 1);
    let (header, claims) = app.state.keys.verify_jwt(&accepted[0]).unwrap();
    assert_eq!(header["typ"], "secevent+jwt");
    assert_eq!(claims["aud"], "supervision");
    assert_eq!(claims["jti"], delivered.event_id);
    let event = &claims["events"]["urn:unilogin:event:identity-provisioned"];
    assert_eq!(event["operator_id"], operator_id);
    assert_eq!(event["org_uscc"], USCC_A);
    assert_eq!(event["identity_type"], "property_company");

    let (status, events) = platform(
        &app,
        reqwest::Method::GET,
        "/api/v1/platform/provisioning-events",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(events["items"][0]["status"], "delivered");
    assert_eq!(events["items"][0]["attempts"], 2);
    assert!(events["items"][0].get("token").is_none());

    // The new identity signs in to the supervision platform with its claims.
    let browser = crate::certificate::certificate_browser(&app);
    let (request_id, verifier) = pending_request(
        &app,
        &browser,
        &[
            ("client_id", "supervision"),
            ("redirect_uri", "http://127.0.0.1:9/supervision"),
        ],
    )
    .await;
    let signed_in = tls_certificate_page(&app, &browser, &request_id).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    let callback = signed_in.location.unwrap();
    assert!(
        callback.starts_with("http://127.0.0.1:9/supervision"),
        "{callback}"
    );
    let tokens: Value = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth("supervision", Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", query_param(&callback, "code").unwrap().as_str()),
            ("redirect_uri", "http://127.0.0.1:9/supervision"),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let claims = id_token_claims(&tokens);
    assert_eq!(claims["operator_id"], operator_id);
    assert_eq!(claims["identity_type"], "property_company");
    assert_eq!(claims["enterprise_admin"], true);
    assert_eq!(claims["aud"], "supervision");
}

#[tokio::test]
async fn duplicate_by_uscc_and_org_code_refused() {
    let app = spawn_platform().await;
    import_enterprises(&app).await;
    register_supervision(&app, None).await;
    let admin = admin_browser(&app, false).await;
    let now = unilogin::clock::now();

    // The same enterprise already has a (staff) property company identity there.
    let staff = identities::find_by_operator_id(&app.state.db, 300002)
        .await
        .unwrap()
        .unwrap();
    let mut same = staff.clone();
    same.system_id = "supervision".into();
    insert_like(&app, &same, 310002, now).await;
    let (status, body) = apply(&app, &admin, "property_company").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["message"], DUPLICATE_PROPERTY);

    // An older record that carries only the organization code holds the repair type.
    let org_only = enterprises::insert(&app.state.db, None, &USCC_A[8..17], "旧名称企业", now)
        .await
        .unwrap();
    let mut old = staff.clone();
    old.enterprise_id = org_only.id;
    old.system_id = "supervision".into();
    old.identity_type = "repair_contractor".into();
    insert_like(&app, &old, 310003, now).await;
    let (status, body) = apply(&app, &admin, "repair_contractor").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        body["message"],
        "物业监管平台已经存在统一社会信用代码（含组织机构代码）相同的维修施工单位，申请失败！"
    );
    let audit = app.audit_actions().await;
    assert_eq!(
        audit
            .iter()
            .filter(|(action, result, _)| action == "application.submit" && result == "failure")
            .count(),
        2
    );
}

async fn insert_like(app: &TestApp, like: &identities::Model, operator_id: i64, now: i64) {
    identities::insert(
        &app.state.db,
        identities::NewIdentity {
            account_id: like.account_id,
            enterprise_id: like.enterprise_id,
            system_id: &like.system_id,
            identity_type: &like.identity_type,
            operator_id,
            is_admin: false,
            status: "active",
            department: "",
            department_type: "",
            role: "operator",
            remark: "",
            realname_verified_at: Some(now),
        },
        now,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn concurrent_applications_provision_once() {
    let app = spawn_platform().await;
    import_enterprises(&app).await;
    register_supervision(&app, None).await;
    let admin = admin_browser(&app, false).await;

    let (first, second) = tokio::join!(
        apply(&app, &admin, "repair_contractor"),
        apply(&app, &admin, "repair_contractor")
    );
    let mut statuses = [first.0, second.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::CREATED, StatusCode::CONFLICT],
        "{first:?} {second:?}"
    );
    let admin_identity = identities::find_by_operator_id(&app.state.db, 300001)
        .await
        .unwrap()
        .unwrap();
    let held = identities::of_account(&app.state.db, admin_identity.account_id)
        .await
        .unwrap();
    let provisioned = held
        .iter()
        .filter(|i| i.system_id == "supervision" && i.identity_type == "repair_contractor")
        .count();
    assert_eq!(provisioned, 1);

    // A second system or type for the same enterprise is a new application.
    let (status, body) = apply(&app, &admin, "property_company").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, offers) = api(
        &admin,
        reqwest::Method::GET,
        &app.url("/api/v1/applications"),
        None,
    )
    .await;
    assert_eq!(offers["items"], json!([]));
}

#[tokio::test]
async fn existing_account_attached_by_old_password() {
    let app = spawn_platform().await;
    import_enterprises(&app).await;
    register_supervision(&app, None).await;
    let header = "operator_id,enterprise_code,enterprise_name,person_name,phone,identity_type,is_admin,password_scheme,password_hash,system\n";
    let row = format!(
        "700001,{USCC_A},{NAME_A},孙九,13900000071,repair_contractor,true,sha256_salted,{},supervision\n",
        salted("Super-old-1")
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
    let admin = admin_browser(&app, false).await;

    let page = admin
        .get(&app.url(
            "/admin/applications/attach?system_id=supervision&identity_type=repair_contractor",
        ))
        .await;
    let attach = |password: &'static str| {
        let admin = &admin;
        let url = app.url("/admin/applications/attach");
        let csrf = page.input("csrf_token");
        async move {
            admin
                .post(
                    &url,
                    &[
                        ("system_id", "supervision"),
                        ("identity_type", "repair_contractor"),
                        ("operator_id", "700001"),
                        ("password", password),
                        ("csrf_token", &csrf),
                    ],
                )
                .await
        }
    };
    let wrong = attach("Wrong-old-1").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.body.contains("操作员编号或密码错误"),
        "{}",
        wrong.body
    );
    let done = attach("Super-old-1").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("700001"));

    let attached = identities::find_by_operator_id(&app.state.db, 700001)
        .await
        .unwrap()
        .unwrap();
    let admin_identity = identities::find_by_operator_id(&app.state.db, 300001)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(attached.account_id, admin_identity.account_id);
    let (_, offers) = api(
        &admin,
        reqwest::Method::GET,
        &app.url("/api/v1/applications"),
        None,
    )
    .await;
    let still_open: Vec<&str> = offers["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["identity_type"].as_str().unwrap())
        .collect();
    assert_eq!(still_open, ["property_company"]);
}

#[tokio::test]
async fn queued_event_delivered_after_restart() {
    let app = spawn_platform().await;
    import_enterprises(&app).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_endpoint = format!("http://{}/events", closed.local_addr().unwrap());
    drop(closed);
    register_supervision(&app, Some(&dead_endpoint)).await;
    let admin = admin_browser(&app, false).await;
    let (status, _) = apply(&app, &admin, "property_company").await;
    assert_eq!(status, StatusCode::CREATED);
    let failed = wait_for_event(&app, "pending", 1).await;

    let app = app.restart().await;
    let (receiver, endpoint) = start_receiver(0).await;
    let (status, body) = platform(
        &app,
        reqwest::Method::PATCH,
        "/api/v1/platform/systems/supervision",
        Some(json!({ "provisioning_endpoint": endpoint })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.state.clock.advance(3600);
    let delivered = wait_for_event(&app, "delivered", 2).await;
    assert_eq!(delivered.event_id, failed.event_id);
    assert_eq!(receiver.accepted.lock().await.len(), 1);
}

#[tokio::test]
async fn platform_api_requires_token_and_valid_systems() {
    let app = spawn_platform().await;
    let anonymous = reqwest::Client::new()
        .get(app.url("/api/v1/platform/systems"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let wrong = reqwest::Client::new()
        .get(app.url("/api/v1/platform/systems"))
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let (status, body) = platform(
        &app,
        reqwest::Method::POST,
        "/api/v1/platform/systems",
        Some(json!({ "client_id": "bidding", "name": "招投标系统", "redirect_uris": ["http://127.0.0.1:9/b"], "identity_types": [{ "code": "bank", "applicable": true }] })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("`bank`"),
        "{body}"
    );
    let (status, _) = platform(
        &app,
        reqwest::Method::POST,
        "/api/v1/platform/systems",
        Some(json!({ "client_id": "bid ding", "name": "x", "redirect_uris": ["http://127.0.0.1:9/b"] })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    register_supervision(&app, None).await;
    let (status, _) = platform(
        &app,
        reqwest::Method::POST,
        "/api/v1/platform/systems",
        Some(json!({ "client_id": "supervision", "name": "x", "redirect_uris": ["http://127.0.0.1:9/b"] })),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = platform(
        &app,
        reqwest::Method::PATCH,
        "/api/v1/platform/systems/supervision",
        Some(json!({ "name": "物业监管平台（新）", "identity_types": [{ "code": "developer", "applicable": true }] })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "物业监管平台（新）");
    assert_eq!(
        body["identity_types"],
        json!([{ "code": "developer", "applicable": true }])
    );
    let (status, _) = platform(
        &app,
        reqwest::Method::PATCH,
        "/api/v1/platform/systems/nosuch",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn exclusion_applies_to_applications_and_attachments() {
    let app = spawn_platform().await;
    import_enterprises(&app).await;
    register_supervision(&app, None).await;
    let (status, _) = platform(
        &app,
        reqwest::Method::PATCH,
        "/api/v1/platform/systems/supervision",
        Some(json!({ "identity_types": [
            { "code": "developer", "applicable": true },
            { "code": "repair_contractor", "applicable": true },
        ] })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // An imported developer administrator of enterprise A in the supervision platform.
    let header = "operator_id,enterprise_code,enterprise_name,person_name,phone,identity_type,is_admin,password_scheme,password_hash,system\n";
    let row = format!(
        "700002,{USCC_A},{NAME_A},孙十,13900000072,developer,true,sha256_salted,{},supervision\n",
        salted("Dev-old-1")
    );
    unilogin::admin::import::import_operators(
        &app.state.db,
        &app.state.config.identities,
        format!("{header}{row}").as_bytes(),
        unilogin::clock::now(),
    )
    .await
    .unwrap();
    let admin = admin_browser(&app, false).await;

    // The administrator holds property_company, which excludes developer.
    let (_, offers) = api(
        &admin,
        reqwest::Method::GET,
        &app.url("/api/v1/applications"),
        None,
    )
    .await;
    let open: Vec<&str> = offers["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["identity_type"].as_str().unwrap())
        .collect();
    assert_eq!(open, ["repair_contractor"]);
    let (status, body) = apply(&app, &admin, "developer").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "application_mutually_exclusive");

    let page = admin
        .get(&app.url(
            "/admin/applications/attach?system_id=supervision&identity_type=repair_contractor",
        ))
        .await;
    let refused = admin
        .post(
            &app.url("/admin/applications/attach"),
            &[
                ("system_id", "supervision"),
                ("identity_type", "developer"),
                ("operator_id", "700002"),
                ("password", "Dev-old-1"),
                ("csrf_token", &page.input("csrf_token")),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("管理员账号已持有与该身份类型互斥的身份"),
        "{}",
        refused.body
    );
    let attached = identities::find_by_operator_id(&app.state.db, 700002)
        .await
        .unwrap()
        .unwrap();
    let admin_identity = identities::find_by_operator_id(&app.state.db, 300001)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(attached.account_id, admin_identity.account_id);
}

#[tokio::test]
async fn duplicate_message_follows_the_language() {
    let app = spawn_platform().await;
    import_enterprises(&app).await;
    register_supervision(&app, None).await;
    let staff = identities::find_by_operator_id(&app.state.db, 300002)
        .await
        .unwrap()
        .unwrap();
    let mut same = staff.clone();
    same.system_id = "supervision".into();
    insert_like(&app, &same, 310002, unilogin::clock::now()).await;
    let admin = admin_browser(&app, false).await;
    let response = admin
        .client
        .post(app.url("/api/v1/applications"))
        .header("accept-language", "en")
        .json(&json!({
            "system_id": "supervision",
            "identity_type": "property_company",
            "contact_name": "王五",
            "contact_phone": "13900000011",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["message"],
        "物业监管平台 already has a Property management company with the same unified social credit code (or organization code); the application failed."
    );
}

#[tokio::test]
async fn platform_api_rejects_incomplete_systems() {
    let app = spawn_platform().await;
    register_supervision(&app, None).await;
    let create = |body: Value| {
        platform(
            &app,
            reqwest::Method::POST,
            "/api/v1/platform/systems",
            Some(body),
        )
    };
    let (status, _) =
        create(json!({ "client_id": "p1", "name": "P1", "redirect_uris": [""] })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = create(
        json!({ "client_id": "p2", "name": "a\u{0}b", "redirect_uris": ["http://127.0.0.1:9/p"] }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = create(json!({ "client_id": "p3", "name": "P3", "redirect_uris": ["http://user:pw@127.0.0.1:9/p"] })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = create(json!({
        "client_id": "p4",
        "name": "P4",
        "redirect_uris": ["http://127.0.0.1:9/p"],
        "identity_types": [{ "code": "developer", "applicable": true }, { "code": "developer", "applicable": false }],
    }))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("listed twice"),
        "{body}"
    );

    let patch = |body: Value| {
        platform(
            &app,
            reqwest::Method::PATCH,
            "/api/v1/platform/systems/supervision",
            Some(body),
        )
    };
    assert_eq!(
        patch(json!({ "name": " " })).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        patch(json!({ "redirect_uris": [] })).await.0,
        StatusCode::BAD_REQUEST
    );
    let lowercase = reqwest::Client::new()
        .get(app.url("/api/v1/platform/systems"))
        .header("authorization", format!("bearer {PLATFORM_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(lowercase.status(), StatusCode::OK);
    assert_eq!(
        patch(json!({ "name": "物业监管平台" })).await.0,
        StatusCode::OK
    );
    let audit = app.audit_actions().await;
    assert!(audit.iter().any(|(action, _, _)| action == "system.update"));
}
