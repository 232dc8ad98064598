//! Certificate sign-in by TLS client certificate, trusted proxy header and Ukey challenge
//! signature, and enterprise binding, with certificates from the development CA.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use unilogin::admin::import::import_operators;
use unilogin::auth::certificate::ChallengeAlgorithm;
use unilogin::auth::certificate::devca::{
    CodePlace, DevCa, IssueOptions, Issued, KeyKind, RevokeTarget, sign_challenge,
};
use unilogin::store::{admin_bindings, audit};

use crate::helpers::*;

pub(crate) const USCC_A: &str = "91310000MA1FL8XQ11";
pub(crate) const NAME_A: &str = "上海甲物业有限公司";
pub(crate) const USCC_B: &str = "91350100M000100Y43";
pub(crate) const NAME_B: &str = "福州乙开发有限公司";

/// Enterprise A: administrator 300001 (password Admin-old-1) and staff 300002;
/// enterprise B: administrator 400001 (password Other-old-1).
pub(crate) async fn import_enterprises(app: &TestApp) {
    let header = "operator_id,enterprise_code,enterprise_name,person_name,phone,identity_type,is_admin,password_scheme,password_hash,system\n";
    let rows = [
        format!(
            "300001,{USCC_A},{NAME_A},王五,13900000011,property_company,true,sha256_salted,{},{CLIENT_ID}",
            salted("Admin-old-1")
        ),
        format!(
            "300002,{USCC_A},{NAME_A},赵六,13900000012,property_company,false,sha256_salted,{},{CLIENT_ID}",
            salted("Staff-old-1")
        ),
        format!(
            "400001,{USCC_B},{NAME_B},钱七,13900000021,developer,true,sha256_salted,{},{CLIENT_ID}",
            salted("Other-old-1")
        ),
    ];
    let text = format!("{header}{}\n", rows.join("\n"));
    let report = import_operators(
        &app.state.db,
        &app.state.config.identities,
        text.as_bytes(),
        unilogin::clock::now(),
    )
    .await
    .unwrap();
    assert_eq!(report.imported, 3, "{report:?}");
}

pub(crate) fn dev_ca(app: &TestApp) -> DevCa {
    DevCa::load(&app.state.config.dev_ca_dir()).unwrap()
}

pub(crate) fn issue(
    app: &TestApp,
    uscc: &str,
    name: &str,
    adjust: impl FnOnce(&mut IssueOptions),
) -> Issued {
    let mut options = IssueOptions::new(uscc, name);
    adjust(&mut options);
    dev_ca(app).issue(&options).unwrap()
}

/// A browser holding enterprise A's certificate (a fresh one from the development CA).
pub(crate) fn certificate_browser(app: &TestApp) -> Browser {
    Browser::with_certificate(app, identity_pem(&issue(app, USCC_A, NAME_A, |_| {})))
}

pub(crate) fn identity_pem(issued: &Issued) -> Option<String> {
    Some(format!("{}{}", issued.cert_pem, issued.key_pem))
}

/// Starts an authorization on the main listener and returns (request_id, verifier).
pub(crate) async fn pending_request(
    app: &TestApp,
    browser: &Browser,
    extra: &[(&str, &str)],
) -> (String, String) {
    let (url, verifier) =
        authorization_url(app, &[&[("scope", "openid enterprise")], extra].concat());
    let redirect = browser.get(&url).await;
    let location = redirect.location.unwrap();
    (
        query_param(&format!("http://x{location}"), "request_id").unwrap(),
        verifier,
    )
}

pub(crate) async fn tls_certificate_page(
    app: &TestApp,
    browser: &Browser,
    request_id: &str,
) -> Page {
    browser
        .get(&format!(
            "{}/login/certificate?request_id={request_id}",
            app.certificate_url
        ))
        .await
}

pub(crate) async fn bind(
    app: &TestApp,
    browser: &Browser,
    binding: &Page,
    operator_id: &str,
    password: &str,
) -> Page {
    browser
        .post(
            &format!("{}/login/certificate/bind", app.certificate_url),
            &[
                ("operator_id", operator_id),
                ("password", password),
                ("csrf_token", &binding.input("csrf_token")),
                ("binding_ticket", &binding.input("binding_ticket")),
                ("request_id", &binding.input("request_id")),
            ],
        )
        .await
}

pub(crate) fn id_token_claims(tokens: &serde_json::Value) -> serde_json::Value {
    let id_token = tokens["id_token"].as_str().unwrap();
    let payload = id_token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn tls_certificate_binds_enterprise_then_signs_in() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    let certificate = issue(&app, USCC_A, NAME_A, |_| {});
    let browser = Browser::with_certificate(&app, identity_pem(&certificate));

    let (request_id, _) = pending_request(&app, &browser, &[]).await;
    let binding = tls_certificate_page(&app, &browser, &request_id).await;
    assert_eq!(binding.status, StatusCode::OK);
    assert!(
        binding.body.contains("维修资金企业绑定"),
        "{}",
        binding.body
    );
    assert!(binding.body.contains(NAME_A));

    let wrong = bind(&app, &browser, &binding, "300001", "Wrong-old-1").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("操作员编号或密码错误。"));
    let staff = bind(&app, &browser, &binding, "300002", "Staff-old-1").await;
    assert_eq!(staff.status, StatusCode::FORBIDDEN);
    assert!(
        staff.body.contains("该操作员不是企业管理员账号"),
        "{}",
        staff.body
    );

    let bound = bind(&app, &browser, &binding, "300001", "Admin-old-1").await;
    assert_eq!(bound.status, StatusCode::SEE_OTHER, "{}", bound.body);
    let entry = bound.location.unwrap();
    assert_eq!(
        entry,
        format!("/login/certificate?request_id={request_id}&bound=1")
    );

    // The sign-in entry confirms the binding; the next certificate sign-in is the admin.
    let confirmed = browser.get(&format!("{}{entry}", app.issuer)).await;
    assert!(
        confirmed.body.contains("企业绑定成功"),
        "{}",
        confirmed.body
    );
    let (request_id, verifier) = pending_request(&app, &browser, &[]).await;
    let signed_in = tls_certificate_page(&app, &browser, &request_id).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    let callback = signed_in.location.unwrap();
    assert!(callback.starts_with(REDIRECT_URI), "{callback}");

    let tokens: serde_json::Value =
        exchange(&app, &query_param(&callback, "code").unwrap(), &verifier)
            .await
            .json()
            .await
            .unwrap();
    let claims = id_token_claims(&tokens);
    assert_eq!(claims["acr"], "urn:unilogin:loa:3");
    assert_eq!(claims["amr"], serde_json::json!(["hwk"]));
    assert_eq!(claims["operator_id"], 300001);
    assert_eq!(claims["org_uscc"], USCC_A);
    assert_eq!(claims["org_name"], NAME_A);
    assert_eq!(claims["identity_type"], "property_company");
    assert_eq!(claims["enterprise_admin"], true);

    let events = audit::recent(&app.state.db, 50).await.unwrap();
    let fingerprint =
        unilogin::auth::certificate::extract::fingerprint_sha256(&certificate.cert_der);
    assert!(
        events
            .iter()
            .any(|e| e.action == "enterprise.bind" && e.result == "success")
    );
    assert!(events.iter().any(|e| e.action == "login.certificate.tls"
        && e.actor == format!("certificate:{fingerprint}")
        && e.result == "success"
        && e.detail.contains(NAME_A)));
}

#[tokio::test]
async fn binding_mismatch_named_and_locked_after_five() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    let browser =
        Browser::with_certificate(&app, identity_pem(&issue(&app, USCC_A, NAME_A, |_| {})));
    let (request_id, _) = pending_request(&app, &browser, &[]).await;
    let binding = tls_certificate_page(&app, &browser, &request_id).await;

    let mismatch = bind(&app, &browser, &binding, "400001", "Other-old-1").await;
    assert_eq!(mismatch.status, StatusCode::FORBIDDEN);
    assert!(
        mismatch.body.contains(&format!(
            "该管理员账号属于“{NAME_B}”，与证书中的企业“{NAME_A}”不一致，绑定失败。"
        )),
        "{}",
        mismatch.body
    );
    for _ in 0..3 {
        bind(&app, &browser, &binding, "300001", "Wrong-old-1").await;
    }
    let fifth = bind(&app, &browser, &binding, "300001", "Wrong-old-2").await;
    assert_eq!(fifth.status, StatusCode::TOO_MANY_REQUESTS);
    let locked = bind(&app, &browser, &binding, "300001", "Admin-old-1").await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        locked
            .body
            .contains("本企业的绑定已锁定，请在 15 分钟后重试"),
        "{}",
        locked.body
    );
    let enterprise = unilogin::store::enterprises::find_by_uscc(&app.state.db, USCC_A)
        .await
        .unwrap()
        .unwrap();
    assert!(
        admin_bindings::find(&app.state.db, enterprise.id)
            .await
            .unwrap()
            .is_none()
    );
}

async fn rejected_with(app: &TestApp, issued: &Issued, message: &str) {
    let browser = Browser::with_certificate(app, identity_pem(issued));
    let page = tls_certificate_page(app, &browser, "").await;
    assert_eq!(
        page.status,
        StatusCode::UNAUTHORIZED,
        "{message}: {}",
        page.body
    );
    assert!(page.body.contains(message), "{message}: {}", page.body);
}

#[tokio::test]
async fn bad_certificates_rejected_with_reason() {
    let app = spawn_app().await;
    import_enterprises(&app).await;

    let other_dir = tempfile::tempdir().unwrap();
    let foreign = DevCa::init(other_dir.path())
        .unwrap()
        .issue(&IssueOptions::new(USCC_A, NAME_A))
        .unwrap();
    rejected_with(&app, &foreign, "证书不是由受信任的法人一证通 CA 签发的。").await;

    let expired = issue(&app, USCC_A, NAME_A, |o| o.expired = true);
    rejected_with(&app, &expired, "证书已过期").await;

    let encryption_only = issue(&app, USCC_A, NAME_A, |o| o.digital_signature = false);
    rejected_with(&app, &encryption_only, "该证书不能用于签名").await;

    let revoked = issue(&app, USCC_A, NAME_A, |_| {});
    // CRL files are compared by modification time; make sure the rewrite gets a new one.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    dev_ca(&app)
        .revoke(&RevokeTarget::Certificate(revoked.cert_der.clone()))
        .unwrap();
    rejected_with(&app, &revoked, "证书已被吊销").await;

    let events = audit::recent(&app.state.db, 50).await.unwrap();
    let reasons: Vec<&str> = events
        .iter()
        .filter(|e| e.result == "failure")
        .map(|e| e.detail.as_str())
        .collect();
    for reason in [
        "reason=untrusted_issuer",
        "reason=expired",
        "reason=key_usage",
        "reason=revoked",
    ] {
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with(reason) && r.contains(NAME_A)),
            "{reason} in {reasons:?}"
        );
    }
}

fn escaped_pem(pem: &str) -> String {
    url::form_urlencoded::byte_serialize(pem.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[tokio::test]
async fn proxy_header_accepted_only_from_trusted_peer() {
    let trusting =
        spawn_app_with(|c| c.certificate.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()])
            .await;
    import_enterprises(&trusting).await;
    let issued = issue(&trusting, USCC_A, NAME_A, |_| {});
    let client = reqwest::Client::new();

    let nginx = client
        .get(trusting.url("/login/certificate"))
        .header("x-ssl-client-cert", escaped_pem(&issued.cert_pem))
        .header("x-ssl-client-verify", "SUCCESS")
        .send()
        .await
        .unwrap();
    assert_eq!(nginx.status(), StatusCode::OK);
    assert!(nginx.text().await.unwrap().contains("维修资金企业绑定"));

    let failed = client
        .get(trusting.url("/login/certificate"))
        .header("x-ssl-client-cert", escaped_pem(&issued.cert_pem))
        .header("x-ssl-client-verify", "FAILED:certificate has expired")
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);

    let rfc9440 = client
        .get(trusting.url("/login/certificate"))
        .header(
            "client-cert",
            format!(":{}:", STANDARD.encode(&issued.cert_der)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(rfc9440.status(), StatusCode::OK);
    assert!(rfc9440.text().await.unwrap().contains("维修资金企业绑定"));

    let both = client
        .get(trusting.url("/login/certificate"))
        .header("x-ssl-client-cert", escaped_pem(&issued.cert_pem))
        .header("x-ssl-client-verify", "SUCCESS")
        .header(
            "client-cert",
            format!(":{}:", STANDARD.encode(&issued.cert_der)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        both.status(),
        StatusCode::UNAUTHORIZED,
        "conflicting proxy headers are rejected"
    );

    // A server that trusts no proxy ignores the header and offers the challenge page.
    let untrusting = spawn_app().await;
    let ignored = client
        .get(untrusting.url("/login/certificate"))
        .header("x-ssl-client-cert", escaped_pem(&issued.cert_pem))
        .header("x-ssl-client-verify", "SUCCESS")
        .send()
        .await
        .unwrap();
    assert_eq!(ignored.status(), StatusCode::OK);
    assert!(ignored.text().await.unwrap().contains("使用 Ukey 签名登录"));
}

async fn challenge_nonce(app: &TestApp, browser: &Browser, page: &Page) -> String {
    let response = browser
        .client
        .post(app.url("/login/certificate/challenge"))
        .form(&[("csrf_token", page.input("csrf_token"))])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 120);
    body["nonce"].as_str().unwrap().to_owned()
}

async fn post_signature(
    app: &TestApp,
    browser: &Browser,
    page: &Page,
    certificate: &str,
    signature: &str,
    algorithm: &str,
    nonce: &str,
) -> Page {
    browser
        .post(
            &app.url("/login/certificate/verify"),
            &[
                ("certificate", certificate),
                ("signature", signature),
                ("algorithm", algorithm),
                ("nonce", nonce),
                ("pin_verified", "true"),
                ("csrf_token", &page.input("csrf_token")),
                ("request_id", &page.input("request_id")),
            ],
        )
        .await
}

#[tokio::test]
async fn challenge_signature_with_each_algorithm() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    let cases = [
        (KeyKind::Sm2, ChallengeAlgorithm::Sm3WithSm2, "SM3withSM2"),
        (
            KeyKind::Rsa,
            ChallengeAlgorithm::RsaPkcs1Sha256,
            "SHA256withRSA",
        ),
        (
            KeyKind::P256,
            ChallengeAlgorithm::EcdsaP256Sha256,
            "SHA256withECDSA",
        ),
    ];
    for (key, algorithm, name) in cases {
        let issued = issue(&app, USCC_A, NAME_A, |o| o.key = key);
        let browser = Browser::new();
        let page = browser.get(&app.url("/login/certificate")).await;
        let nonce = challenge_nonce(&app, &browser, &page).await;
        let signature =
            STANDARD.encode(sign_challenge(&issued.key_pem, algorithm, nonce.as_bytes()).unwrap());
        let certificate = STANDARD.encode(&issued.cert_der);

        let result = post_signature(
            &app,
            &browser,
            &page,
            &certificate,
            &signature,
            name,
            &nonce,
        )
        .await;
        assert_eq!(result.status, StatusCode::OK, "{name}: {}", result.body);
        assert!(result.body.contains("维修资金企业绑定"), "{name}");

        let replay = post_signature(
            &app,
            &browser,
            &page,
            &certificate,
            &signature,
            name,
            &nonce,
        )
        .await;
        assert_eq!(
            replay.status,
            StatusCode::UNAUTHORIZED,
            "{name}: a nonce is single-use"
        );
    }
}

#[tokio::test]
async fn challenge_sign_in_carries_pin_in_amr() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    let enterprise = unilogin::store::enterprises::find_by_uscc(&app.state.db, USCC_A)
        .await
        .unwrap()
        .unwrap();
    let admin = unilogin::store::identities::find_by_operator_id(&app.state.db, 300001)
        .await
        .unwrap()
        .unwrap();
    let binding = admin_bindings::Model {
        enterprise_id: enterprise.id,
        identity_id: admin.id,
        certificate_fingerprint: "00".repeat(32),
        bound_at: unilogin::clock::now(),
    };
    admin_bindings::insert(&app.state.db, binding)
        .await
        .unwrap();

    let issued = issue(&app, USCC_A, NAME_A, |o| o.key = KeyKind::Sm2);
    let browser = Browser::new();
    let (request_id, verifier) = pending_request(&app, &browser, &[]).await;
    let page = browser
        .get(&app.url(&format!("/login/certificate?request_id={request_id}")))
        .await;
    let nonce = challenge_nonce(&app, &browser, &page).await;
    let signature = STANDARD.encode(
        sign_challenge(
            &issued.key_pem,
            ChallengeAlgorithm::Sm3WithSm2,
            nonce.as_bytes(),
        )
        .unwrap(),
    );
    let certificate = STANDARD.encode(&issued.cert_der);
    let done = post_signature(
        &app,
        &browser,
        &page,
        &certificate,
        &signature,
        "SM3withSM2",
        &nonce,
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);

    let callback = done.location.unwrap();
    let tokens: serde_json::Value =
        exchange(&app, &query_param(&callback, "code").unwrap(), &verifier)
            .await
            .json()
            .await
            .unwrap();
    let claims = id_token_claims(&tokens);
    assert_eq!(claims["amr"], serde_json::json!(["hwk", "pin"]));
    assert_eq!(claims["acr"], "urn:unilogin:loa:3");
    assert_eq!(claims["operator_id"], 300001);
}

#[tokio::test]
async fn challenge_rejects_bad_input_without_panic() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    let issued = issue(&app, USCC_A, NAME_A, |o| o.key = KeyKind::Sm2);
    let browser = Browser::new();
    let page = browser.get(&app.url("/login/certificate")).await;
    let certificate = STANDARD.encode(&issued.cert_der);

    let nonce = challenge_nonce(&app, &browser, &page).await;
    let other = STANDARD.encode(
        sign_challenge(
            &issued.key_pem,
            ChallengeAlgorithm::Sm3WithSm2,
            b"another nonce",
        )
        .unwrap(),
    );
    let wrong_message = post_signature(
        &app,
        &browser,
        &page,
        &certificate,
        &other,
        "SM3withSM2",
        &nonce,
    )
    .await;
    assert_eq!(wrong_message.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong_message.body.contains("证书或签名校验失败。"),
        "{}",
        wrong_message.body
    );

    let cases = [
        ("!!!", "AAAA", "SM3withSM2", "证书或签名数据格式不正确。"),
        (
            &STANDARD.encode(b"not a certificate") as &str,
            "AAAA",
            "SM3withSM2",
            "证书或签名数据格式不正确。",
        ),
        (
            &certificate,
            "%%%",
            "SM3withSM2",
            "证书或签名数据格式不正确。",
        ),
        (&certificate, "AAAA", "MD5withRSA", "不支持的签名算法"),
        (&certificate, "AAAA", "SM3withSM2", "证书或签名"),
    ];
    for (certificate, signature, algorithm, message) in cases {
        let nonce = challenge_nonce(&app, &browser, &page).await;
        let result = post_signature(
            &app,
            &browser,
            &page,
            certificate,
            signature,
            algorithm,
            &nonce,
        )
        .await;
        assert_eq!(
            result.status,
            StatusCode::UNAUTHORIZED,
            "{algorithm} {signature}"
        );
        assert!(result.body.contains(message), "{message}: {}", result.body);
    }

    // A nonce issued to another browser is not accepted.
    let other_browser = Browser::new();
    let other_page = other_browser.get(&app.url("/login/certificate")).await;
    let foreign_nonce = challenge_nonce(&app, &other_browser, &other_page).await;
    let signature = STANDARD.encode(
        sign_challenge(
            &issued.key_pem,
            ChallengeAlgorithm::Sm3WithSm2,
            foreign_nonce.as_bytes(),
        )
        .unwrap(),
    );
    let stolen = post_signature(
        &app,
        &browser,
        &page,
        &certificate,
        &signature,
        "SM3withSM2",
        &foreign_nonce,
    )
    .await;
    assert_eq!(stolen.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn enterprise_code_read_from_each_place() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    let places = [
        CodePlace::Extension("1.2.156.112570.11.210".into()),
        CodePlace::Extension("1.2.156.10260.4.1.4".into()),
        CodePlace::Extension("1.2.156.10260.4.1.3".into()),
        CodePlace::Extension("1.2.86.11.7.3".into()),
        CodePlace::Extension("1.2.156.1.8888.148".into()),
        CodePlace::SubjectSerialNumber,
        CodePlace::SubjectOu,
    ];
    for place in places {
        let label = format!("{place:?}");
        let issued = issue(&app, USCC_A, NAME_A, |o| o.place = place);
        let page = tls_certificate_page(
            &app,
            &Browser::with_certificate(&app, identity_pem(&issued)),
            "",
        )
        .await;
        assert_eq!(page.status, StatusCode::OK, "{label}: {}", page.body);
        assert!(
            page.body.contains(NAME_A) && page.body.contains(USCC_A),
            "{label}: {}",
            page.body
        );
    }

    // A certificate with only the organization code finds the enterprise by USCC positions 9 to 17.
    let org_only = issue(&app, "MA1FL8XQ-1", NAME_A, |_| {});
    let page = tls_certificate_page(
        &app,
        &Browser::with_certificate(&app, identity_pem(&org_only)),
        "",
    )
    .await;
    assert!(page.body.contains(USCC_A), "{}", page.body);

    let unknown = issue(&app, "91310115MA1K3YJ20X", "未登记公司", |_| {});
    let page = tls_certificate_page(
        &app,
        &Browser::with_certificate(&app, identity_pem(&unknown)),
        "",
    )
    .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        page.body.contains("证书中的企业尚未在平台登记"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn helper_script_signs_challenge() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    let issued = issue(&app, USCC_A, NAME_A, |o| o.key = KeyKind::Sm2);
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("ukey.pem");
    let key_path = dir.path().join("ukey.key.pem");
    std::fs::write(&cert_path, &issued.cert_pem).unwrap();
    std::fs::write(&key_path, &issued.key_pem).unwrap();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/ukey-helper.py");
    let mut helper = tokio::process::Command::new("python3")
        .arg(script)
        .args([
            "--cert",
            cert_path.to_str().unwrap(),
            "--key",
            key_path.to_str().unwrap(),
        ])
        .args(["--algorithm", "SM3withSM2", "--port", &port.to_string()])
        .args(["--unilogin", env!("CARGO_BIN_EXE_unilogin")])
        .kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();

    let browser = Browser::new();
    let page = browser.get(&app.url("/login/certificate")).await;
    let nonce = challenge_nonce(&app, &browser, &page).await;
    let mut signed = None;
    for _ in 0..50 {
        let attempt = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/sign"))
            .json(&serde_json::json!({ "nonce": nonce }))
            .send()
            .await;
        if let Ok(response) = attempt {
            signed = Some(response.json::<serde_json::Value>().await.unwrap());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let signed = signed.expect("the helper script did not start");
    let foreign = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/sign"))
        .header("origin", "https://evil.example")
        .json(&serde_json::json!({ "nonce": nonce }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        foreign.status(),
        StatusCode::FORBIDDEN,
        "only the platform's origin may ask for signatures"
    );
    assert!(signed.get("error").is_none(), "{signed}");
    assert_eq!(signed["algorithm"], "SM3withSM2");
    assert_eq!(signed["pin_verified"], true);

    let result = post_signature(
        &app,
        &browser,
        &page,
        signed["certificate"].as_str().unwrap(),
        signed["signature"].as_str().unwrap(),
        "SM3withSM2",
        &nonce,
    )
    .await;
    assert_eq!(result.status, StatusCode::OK, "{}", result.body);
    assert!(result.body.contains("维修资金企业绑定"));
    helper.kill().await.unwrap();
}

#[tokio::test]
async fn several_admin_identities_offer_role_picker() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    // The same administrator also has the repair contractor type in enterprise A.
    let header = "operator_id,enterprise_code,enterprise_name,person_name,phone,identity_type,is_admin,password_scheme,password_hash,system\n";
    let row = format!(
        "300003,{USCC_A},{NAME_A},王五,13900000011,repair_contractor,true,sha256_salted,{},{CLIENT_ID}\n",
        salted("x")
    );
    import_operators(
        &app.state.db,
        &app.state.config.identities,
        format!("{header}{row}").as_bytes(),
        unilogin::clock::now(),
    )
    .await
    .unwrap();

    let browser =
        Browser::with_certificate(&app, identity_pem(&issue(&app, USCC_A, NAME_A, |_| {})));
    let (request_id, _) = pending_request(&app, &browser, &[]).await;
    let binding = tls_certificate_page(&app, &browser, &request_id).await;
    assert_eq!(
        bind(&app, &browser, &binding, "300001", "Admin-old-1")
            .await
            .status,
        StatusCode::SEE_OTHER
    );

    let (request_id, verifier) = pending_request(&app, &browser, &[]).await;
    let signed_in = tls_certificate_page(&app, &browser, &request_id).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let picker_url = signed_in.location.unwrap();
    assert_eq!(
        picker_url,
        format!("/login/select-identity?request_id={request_id}")
    );
    let picker = browser.get(&app.url(&picker_url)).await;
    assert_eq!(
        picker.body.matches("name=\"identity_id\"").count(),
        2,
        "{}",
        picker.body
    );
    assert!(picker.body.contains("维修施工单位"), "{}", picker.body);
    assert!(picker.body.contains("物业服务企业"), "{}", picker.body);

    let developer = unilogin::store::identities::find_by_operator_id(&app.state.db, 300003)
        .await
        .unwrap()
        .unwrap();
    let chosen = browser
        .post(
            &app.url("/login/select-identity"),
            &[
                ("identity_id", &developer.id.to_string()),
                ("csrf_token", &picker.input("csrf_token")),
                ("request_id", &request_id),
            ],
        )
        .await;
    assert_eq!(chosen.status, StatusCode::SEE_OTHER, "{}", chosen.body);
    let callback = chosen.location.unwrap();
    let tokens: serde_json::Value =
        exchange(&app, &query_param(&callback, "code").unwrap(), &verifier)
            .await
            .json()
            .await
            .unwrap();
    let claims = id_token_claims(&tokens);
    assert_eq!(claims["operator_id"], 300003);
    assert_eq!(claims["identity_type"], "repair_contractor");
}

#[tokio::test]
async fn acr_values_for_certificate_leads_to_certificate_page() {
    let app = spawn_app().await;
    let (url, _) = authorization_url(&app, &[("acr_values", "urn:unilogin:loa:3")]);
    let page = Browser::new().get(&url).await;
    assert!(
        page.location
            .unwrap()
            .starts_with("/login/certificate?request_id=")
    );

    // A phone session does not satisfy it: completing the request is refused.
    app.add_account(PHONE, false).await;
    let browser = Browser::new();
    let (url, _) = authorization_url(&app, &[]);
    sign_in(&app, &browser, &url, PHONE).await;
    let (strict, _) = authorization_url(
        &app,
        &[("acr_values", "urn:unilogin:loa:3"), ("prompt", "none")],
    );
    let silent = browser.get(&strict).await;
    assert_eq!(
        query_param(&silent.location.unwrap(), "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn identities_serve_only_their_system() {
    let app = spawn_app().await;
    import_enterprises(&app).await;
    app.register_system("bidding").await;
    let browser =
        Browser::with_certificate(&app, identity_pem(&issue(&app, USCC_A, NAME_A, |_| {})));
    let (request_id, _) = pending_request(&app, &browser, &[]).await;
    let binding = tls_certificate_page(&app, &browser, &request_id).await;
    assert_eq!(
        bind(&app, &browser, &binding, "300001", "Admin-old-1")
            .await
            .status,
        StatusCode::SEE_OTHER
    );

    let other_system = [
        ("client_id", "bidding"),
        ("redirect_uri", "http://127.0.0.1:9/bidding"),
    ];
    let (request_id, _) = pending_request(&app, &browser, &other_system).await;
    let page = tls_certificate_page(&app, &browser, &request_id).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        page.body.contains("您在该业务系统没有可用身份"),
        "{}",
        page.body
    );

    let header = "operator_id,enterprise_code,enterprise_name,person_name,phone,identity_type,is_admin,password_scheme,password_hash,system\n";
    let row = format!(
        "500001,{USCC_A},{NAME_A},孙八,13900000031,developer,false,sha256_salted,{},nosuchsystem\n",
        salted("x")
    );
    let report = import_operators(
        &app.state.db,
        &app.state.config.identities,
        format!("{header}{row}").as_bytes(),
        unilogin::clock::now(),
    )
    .await
    .unwrap();
    assert_eq!(report.imported, 0);
    assert!(
        report.rejected[0]
            .1
            .contains("system `nosuchsystem` is not a registered client"),
        "{report:?}"
    );
}
