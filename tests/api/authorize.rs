//! Authorization endpoint validation: what is shown as a page and what goes back to the client.

use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn redirect_uri_variants_never_redirected() {
    let app = spawn_app().await;
    let browser = Browser::new();
    let variants = [
        "http://127.0.0.1:9/callback/",
        "http://127.0.0.1:9/callback?x=1",
        "http://127.0.0.1:10/callback",
        "https://127.0.0.1:9/callback",
        "http://127.0.0.1:9/CALLBACK",
        "http://127.0.0.1:9/callback#frag",
    ];
    for variant in variants {
        let (url, _) = authorization_url(&app, &[("redirect_uri", variant)]);
        let page = browser.get(&url).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{variant}");
        assert_eq!(page.location, None, "{variant}");
        assert!(
            page.body
                .contains("redirect_uri 与该客户端登记的回调地址不完全一致"),
            "{variant}: {}",
            page.body
        );
    }
}

#[tokio::test]
async fn unknown_client_shows_error_page() {
    let app = spawn_app().await;
    let (url, _) = authorization_url(&app, &[("client_id", "intruder")]);
    let page = Browser::new().get(&url).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_eq!(page.location, None);
    assert!(page.body.contains("未注册的客户端"), "{}", page.body);
    assert!(page.body.contains("intruder"));
}

async fn client_error(app: &TestApp, extra: &[(&str, &str)]) -> (String, String) {
    let (url, _) = authorization_url(app, extra);
    let page = Browser::new().get(&url).await;
    assert_eq!(page.status, StatusCode::FOUND, "{extra:?}: {}", page.body);
    let location = page.location.unwrap();
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(app.issuer.as_str())
    );
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some("client-state-1")
    );
    (
        query_param(&location, "error").unwrap(),
        query_param(&location, "error_description").unwrap(),
    )
}

#[tokio::test]
async fn missing_pkce_rejected() {
    let app = spawn_app().await;
    let (error, description) = client_error(
        &app,
        &[("code_challenge", ""), ("code_challenge_method", "")],
    )
    .await;
    assert_eq!(error, "invalid_request");
    assert_eq!(description, "code_challenge is required (PKCE S256)");
}

#[tokio::test]
async fn plain_pkce_rejected() {
    let app = spawn_app().await;
    let (error, description) = client_error(&app, &[("code_challenge_method", "plain")]).await;
    assert_eq!(error, "invalid_request");
    assert_eq!(
        description,
        "code_challenge_method `plain` is not supported; use `S256`"
    );
}

#[tokio::test]
async fn other_response_types_unsupported() {
    let app = spawn_app().await;
    for response_type in ["token", "id_token", "code id_token"] {
        let (error, _) = client_error(&app, &[("response_type", response_type)]).await;
        assert_eq!(error, "unsupported_response_type", "{response_type}");
    }
    let (error, _) = client_error(&app, &[("response_type", "")]).await;
    assert_eq!(error, "invalid_request");
}

#[tokio::test]
async fn scope_without_openid_rejected() {
    let app = spawn_app().await;
    let (error, _) = client_error(&app, &[("scope", "profile")]).await;
    assert_eq!(error, "invalid_scope");
}

#[tokio::test]
async fn request_uri_by_reference_unsupported() {
    let app = spawn_app().await;
    let (error, _) = client_error(
        &app,
        &[("request_uri", "https://rp.example.cn/request.jwt")],
    )
    .await;
    assert_eq!(error, "request_uri_not_supported");
}

#[tokio::test]
async fn unknown_parameters_ignored_and_post_accepted() {
    let app = spawn_app().await;
    let (url, _) = authorization_url(&app, &[("extra", "foobar")]);
    let browser = Browser::new();
    let page = browser.get(&url).await;
    assert!(page.location.unwrap().starts_with("/login?request_id="));

    let (url, _) = authorization_url(&app, &[]);
    let query = url.split_once('?').unwrap().1.to_owned();
    let posted = browser
        .client
        .post(app.url("/authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(query)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::FOUND);
    let location = posted.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/login?request_id="), "{location}");
}

#[tokio::test]
async fn duplicate_parameter_rejected() {
    let app = spawn_app().await;
    let (url, _) = authorization_url(&app, &[]);
    let page = Browser::new()
        .get(&format!("{url}&client_id={CLIENT_ID}"))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_eq!(page.location, None);
    assert!(page.body.contains("请求参数重复出现"), "{}", page.body);
}

#[tokio::test]
async fn expired_sign_in_request_rejected() {
    use sea_orm::{ConnectionTrait, Statement};
    let app = spawn_app().await;
    let (url, _) = authorization_url(&app, &[]);
    let browser = Browser::new();
    let redirect = browser.get(&url).await;
    let backend = app.state.db.get_database_backend();
    let expire =
        Statement::from_string(backend, "UPDATE pending_authorizations SET expires_at = 0");
    app.state.db.execute_raw(expire).await.unwrap();
    let page = browser.get(&app.url(&redirect.location.unwrap())).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.body.contains("登录请求不存在或已过期"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn sign_in_request_tied_to_its_browser() {
    let app = spawn_app().await;
    let (url, _) = authorization_url(&app, &[]);
    let owner = Browser::new();
    let redirect = owner.get(&url).await;
    let login_path = redirect.location.unwrap();
    assert_eq!(
        owner.get(&app.url(&login_path)).await.status,
        StatusCode::OK
    );

    for other in [Browser::new(), {
        let with_cookie = Browser::new();
        with_cookie.get(&authorization_url(&app, &[]).0).await;
        with_cookie
    }] {
        let page = other.get(&app.url(&login_path)).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(
            page.body.contains("该登录请求来自另一个浏览器"),
            "{}",
            page.body
        );
    }
}

#[tokio::test]
async fn framework_rejections_use_themed_pages() {
    let app = spawn_app().await;
    let browser = Browser::new();
    let wrong_method = browser.get(&app.url("/login/sms-code")).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        wrong_method.body.contains("该页面不支持这种访问方式"),
        "{}",
        wrong_method.body
    );

    let duplicated = browser
        .get(&app.url("/login?request_id=a&request_id=b"))
        .await;
    assert_eq!(duplicated.status, StatusCode::BAD_REQUEST);
    assert!(
        duplicated.body.contains("请求格式不正确"),
        "{}",
        duplicated.body
    );

    let huge = "x".repeat(70 * 1024);
    let too_large = browser
        .post(&app.url("/login"), &[("phone", huge.as_str())])
        .await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        too_large.body.contains("提交的内容过大"),
        "{}",
        too_large.body
    );

    let script = reqwest::get(app.url("/static/login.js")).await.unwrap();
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
}
