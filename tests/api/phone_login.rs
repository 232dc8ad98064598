//! Phone + password + SMS code sign-in rules.

use reqwest::StatusCode;

use crate::helpers::*;

const LOGIN_FAILED: &str = "手机号、密码或验证码错误。";

async fn login_page(app: &TestApp, browser: &Browser) -> Page {
    let (url, _) = authorization_url(app, &[]);
    open_login(browser, &url).await
}

async fn code_request(
    app: &TestApp,
    browser: &Browser,
    login: &Page,
    phone: &str,
) -> reqwest::Response {
    browser
        .client
        .post(app.url("/login/sms-code"))
        .header("accept", "application/json")
        .form(&[("phone", phone), ("csrf_token", &login.input("csrf_token"))])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn wrong_password_rejected() {
    let app = spawn_app().await;
    let account = app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let login = login_page(&app, &browser).await;
    let code = request_code(&app, &browser, &login, PHONE).await;

    let page = submit_login(&app, &browser, &login, PHONE, "Wrong#2026", &code).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains(LOGIN_FAILED), "{}", page.body);
    assert_eq!(page.location, None);
    assert_eq!(app.account(account.id).await.failed_logins, 1);
    let audit = app.audit_actions().await;
    assert!(
        audit.contains(&(
            "login.phone".into(),
            "failure".into(),
            "password mismatch".into()
        )),
        "{audit:?}"
    );
}

#[tokio::test]
async fn wrong_sms_code_rejected() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let login = login_page(&app, &browser).await;
    let code = request_code(&app, &browser, &login, PHONE).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };

    let page = submit_login(&app, &browser, &login, PHONE, PASSWORD, wrong).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains(LOGIN_FAILED));
    let audit = app.audit_actions().await;
    assert!(
        audit.contains(&(
            "login.phone".into(),
            "failure".into(),
            "sms code mismatch".into()
        )),
        "{audit:?}"
    );
}

#[tokio::test]
async fn expired_code_rejected() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let login = login_page(&app, &browser).await;
    let code = request_code(&app, &browser, &login, PHONE).await;
    app.age_latest_code(PHONE, 301).await;

    let page = submit_login(&app, &browser, &login, PHONE, PASSWORD, &code).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains(LOGIN_FAILED));
    let audit = app.audit_actions().await;
    assert!(
        audit.contains(&(
            "login.phone".into(),
            "failure".into(),
            "sms code expired".into()
        )),
        "{audit:?}"
    );
}

#[tokio::test]
async fn reused_code_rejected() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let first = Browser::new();
    let login = login_page(&app, &first).await;
    let code = request_code(&app, &first, &login, PHONE).await;
    let done = submit_login(&app, &first, &login, PHONE, PASSWORD, &code).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);

    let second = Browser::new();
    let login = login_page(&app, &second).await;
    let page = submit_login(&app, &second, &login, PHONE, PASSWORD, &code).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    let audit = app.audit_actions().await;
    assert!(
        audit.contains(&(
            "login.phone".into(),
            "failure".into(),
            "sms code already used".into()
        )),
        "{audit:?}"
    );
}

#[tokio::test]
async fn sixth_try_rejected_even_with_right_code() {
    let app = spawn_app_with(|config| config.login.max_failures = 10).await;
    app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let login = login_page(&app, &browser).await;
    let code = request_code(&app, &browser, &login, PHONE).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };

    for _ in 0..5 {
        let page = submit_login(&app, &browser, &login, PHONE, PASSWORD, wrong).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    let page = submit_login(&app, &browser, &login, PHONE, PASSWORD, &code).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains(LOGIN_FAILED));
    let audit = app.audit_actions().await;
    assert_eq!(
        audit[0],
        (
            "login.phone".into(),
            "failure".into(),
            "sms code attempts exhausted".into()
        )
    );
}

#[tokio::test]
async fn resend_within_interval_rejected() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let login = login_page(&app, &browser).await;

    let first = code_request(&app, &browser, &login, PHONE).await;
    assert_eq!(first.status(), StatusCode::OK);
    let again = code_request(&app, &browser, &login, PHONE).await;
    assert_eq!(again.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: serde_json::Value = again.json().await.unwrap();
    assert_eq!(body["status"], "too_soon");
    assert!(
        (59..=60).contains(&body["retry_after"].as_i64().unwrap()),
        "{body}"
    );
    assert_eq!(app.outbox_lines().len(), 1);

    app.age_latest_code(PHONE, 61).await;
    let later = code_request(&app, &browser, &login, PHONE).await;
    assert_eq!(later.status(), StatusCode::OK);
    assert_eq!(app.outbox_lines().len(), 2);
}

#[tokio::test]
async fn daily_limit_per_phone_enforced() {
    let app = spawn_app_with(|config| config.sms.daily_limit_per_phone = 2).await;
    app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let login = login_page(&app, &browser).await;
    for _ in 0..2 {
        assert_eq!(
            code_request(&app, &browser, &login, PHONE).await.status(),
            StatusCode::OK
        );
        app.age_latest_code(PHONE, 61).await;
    }
    let third = code_request(&app, &browser, &login, PHONE).await;
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: serde_json::Value = third.json().await.unwrap();
    assert_eq!(body["status"], "daily_limit");
    assert_eq!(app.outbox_lines().len(), 2);
}

#[tokio::test]
async fn unknown_phone_answered_like_known() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let login = login_page(&app, &browser).await;

    let known = code_request(&app, &browser, &login, PHONE).await;
    let unknown = code_request(&app, &browser, &login, "13700001111").await;
    assert_eq!(known.status(), unknown.status());
    let known: serde_json::Value = known.json().await.unwrap();
    let unknown: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(known, unknown);
    let lines = app.outbox_lines();
    assert_eq!(lines.len(), 1, "only the account holder gets a message");
    assert_eq!(lines[0]["phone"], "+8613912345678");
    assert_eq!(lines[0]["purpose"], "login");
    assert!(
        lines[0]["text"]
            .as_str()
            .unwrap()
            .contains(lines[0]["code"].as_str().unwrap())
    );
    assert!(lines[0]["sent_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn phone_prefixes_reach_same_account() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let login = login_page(&app, &browser).await;
    let code = request_code(&app, &browser, &login, "+86 139-1234-5678").await;
    let done = submit_login(&app, &browser, &login, "008613912345678", PASSWORD, &code).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(done.location.unwrap().starts_with(REDIRECT_URI));
}

#[tokio::test]
async fn invalid_phone_named_in_error() {
    let app = spawn_app().await;
    let browser = Browser::new();
    let login = login_page(&app, &browser).await;
    let response = code_request(&app, &browser, &login, "12345").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "invalid_phone");
    assert_eq!(
        body["message"],
        "手机号格式不正确：请输入以 13 至 19 开头的 11 位手机号。"
    );
}

#[tokio::test]
async fn account_locked_after_five_failures() {
    let app = spawn_app().await;
    let account = app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let login = login_page(&app, &browser).await;
    let code = request_code(&app, &browser, &login, PHONE).await;
    for _ in 0..5 {
        submit_login(&app, &browser, &login, PHONE, "Wrong#2026", &code).await;
    }
    assert!(app.account(account.id).await.locked_until.is_some());

    app.age_latest_code(PHONE, 61).await;
    let fresh = request_code(&app, &browser, &login, PHONE).await;
    let page = submit_login(&app, &browser, &login, PHONE, PASSWORD, &fresh).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        page.body.contains("账号已锁定，请在 15 分钟后重试"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn missing_csrf_token_forbidden() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let login = login_page(&app, &browser).await;
    let page = browser
        .post(
            &app.url("/login/sms-code"),
            &[("phone", PHONE), ("request_id", &login.input("request_id"))],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        page.body.contains("页面已过期或请求来源无效"),
        "{}",
        page.body
    );
    assert!(app.outbox_lines().is_empty());

    let other_browser = Browser::new();
    let forged = other_browser
        .post(
            &app.url("/login/sms-code"),
            &[("phone", PHONE), ("csrf_token", &login.input("csrf_token"))],
        )
        .await;
    assert_eq!(
        forged.status,
        StatusCode::FORBIDDEN,
        "a token from another browser is rejected"
    );
}

#[tokio::test]
async fn english_page_on_request() {
    let app = spawn_app().await;
    let browser = Browser::new();
    let (url, _) = authorization_url(&app, &[]);
    let redirect = browser.get(&url).await;
    let location = redirect.location.unwrap();
    let page = browser
        .client
        .get(app.url(&location))
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<title>Sign in - Unified Login Platform</title>"),
        "{page}"
    );
}

#[tokio::test]
async fn password_change_enforces_policy() {
    let app = spawn_app().await;
    app.add_account(PHONE, true).await;
    let browser = Browser::new();
    let login = login_page(&app, &browser).await;
    let code = request_code(&app, &browser, &login, PHONE).await;
    let signed_in = submit_login(&app, &browser, &login, PHONE, PASSWORD, &code).await;
    let change_page = browser.get(&app.url(&signed_in.location.unwrap())).await;

    // While the change is pending, the session cannot complete an authorization.
    let (url, _) = authorization_url(&app, &[("prompt", "none")]);
    let silent = browser.get(&url).await;
    assert_eq!(
        query_param(&silent.location.unwrap(), "error").as_deref(),
        Some("login_required")
    );

    let cases = [
        ("Short#1", "Short#1", "新密码至少需要 8 个字符。"),
        (
            "alllowercase1",
            "alllowercase1",
            "新密码须包含大写字母、小写字母、数字、特殊字符中的至少 3 类。",
        ),
        ("Renewed#2026", "Renewed#2027", "两次输入的新密码不一致。"),
        (PASSWORD, PASSWORD, "新密码不能与原密码相同。"),
    ];
    for (new, confirm, message) in cases {
        let page = browser
            .post(
                &app.url("/password/change"),
                &[
                    ("new_password", new),
                    ("new_password_confirm", confirm),
                    ("csrf_token", &change_page.input("csrf_token")),
                    ("request_id", &change_page.input("request_id")),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{new}");
        assert!(page.body.contains(message), "{new}: {}", page.body);
    }
}

#[tokio::test]
async fn guesses_without_code_never_lock_or_reveal() {
    let app = spawn_app().await;
    let account = app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let login = login_page(&app, &browser).await;
    for phone in [PHONE, "13700001111"] {
        for _ in 0..7 {
            let page = submit_login(&app, &browser, &login, phone, "Wrong#2026", "000000").await;
            assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{phone}");
            assert!(page.body.contains(LOGIN_FAILED), "{phone}");
        }
    }
    let account = app.account(account.id).await;
    assert_eq!(account.failed_logins, 0);
    assert_eq!(account.locked_until, None);
}

#[tokio::test]
async fn language_link_keeps_request_and_get_page() {
    let app = spawn_app().await;
    let browser = Browser::new();
    let login = login_page(&app, &browser).await;
    let request_id = login.input("request_id");
    let sent = browser
        .post(
            &app.url("/login/sms-code"),
            &[
                ("phone", "123"),
                ("csrf_token", &login.input("csrf_token")),
                ("request_id", &request_id),
            ],
        )
        .await;
    // minijinja escapes `/` as `&#x2f;` in attributes; browsers read it as `/`.
    let expected = format!("href=\"&#x2f;login?request_id={request_id}&amp;lang=en\"");
    assert!(sent.body.contains(&expected), "{expected} in {}", sent.body);

    let not_found = browser
        .get(&format!("{}//evil.example/x", app.issuer))
        .await;
    assert_eq!(not_found.status, StatusCode::NOT_FOUND);
    assert!(
        not_found.body.contains("href=\"&#x2f;?lang=en\""),
        "{}",
        not_found.body
    );
}

#[tokio::test]
async fn password_change_refused_without_pending_change() {
    let app = spawn_app().await;
    app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let (url, _) = authorization_url(&app, &[]);
    sign_in(&app, &browser, &url, PHONE).await;
    let page = browser.get(&app.url("/password/change")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("当前会话无需修改密码"), "{}", page.body);
}
