//! Import of stock operators and their sign-in with the old operator ID and password.

use reqwest::StatusCode;
use unilogin::admin::import::{ImportReport, import_operators};
use unilogin::store::{accounts, admin_bindings, enterprises, identities, legacy_credentials};

use crate::helpers::*;

const HEADER: &str = "operator_id,enterprise_code,enterprise_name,person_name,phone,identity_type,is_admin,password_scheme,password_hash\n";

fn csv_file(rows: &[String]) -> String {
    let mut text = HEADER.to_owned();
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

async fn import(app: &TestApp, text: &str) -> ImportReport {
    import_operators(
        &app.state.db,
        &app.state.config.identities,
        text.as_bytes(),
        unilogin::clock::now(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn import_reports_bad_rows_and_is_idempotent() {
    let app = spawn_app().await;
    app.register_system("fund").await;
    let bcrypt_hash = bcrypt::hash("Old-pass-1", 4).unwrap();
    let rows = vec![
        format!("100001,91310000MA1FL8XQ37,上海甲物业有限公司,王五,13900000001,property_company,true,bcrypt,{bcrypt_hash}"),
        format!("100002,MA1FL8XQ-1,上海乙开发有限公司,赵六,13900000002,developer,否,sha256_salted,{}", salted("Old-pass-1")),
        format!("100003,91310115MA1H7ABC0U,上海丙维修有限公司,钱七,13900000003,property_company,0,sha256_salted,{}", salted("x")),
        "100004,12345,某公司,孙八,13900000004,developer,true,bcrypt,x".to_owned(),
        "100005,91310000MA1FL8XQ37,上海甲物业有限公司,周九,12345,property_company,true,bcrypt,x".to_owned(),
        format!("100006,91310000MA1FL8XQ37,上海甲物业有限公司,吴十,13900000006,bank,true,sha256_salted,{}", salted("x")),
        "100007,91310000MA1FL8XQ37,上海甲物业有限公司,郑一,13900000007,developer,true,md5,abc".to_owned(),
        "100008,91310000MA1FL8XQ37,上海甲物业有限公司,冯二,13900000008,developer,true,bcrypt,$2b$short".to_owned(),
        format!("abc,91310000MA1FL8XQ37,上海甲物业有限公司,陈三,13900000009,developer,maybe,sha256_salted,{}", salted("x")),
        format!("100010,91310000MA1FL8XQ3U,上海甲物业有限公司,卫四,13900000010,developer,true,sha256_salted,{}", salted("x")),
        format!("100011,91310000MA1FL8XQ37,上海甲物业有限公司,蒋五,13900000001,developer,true,sha256_salted,{}", salted("x")),
        format!("100001,91310000MA1FL8XQ37,上海甲物业有限公司,王五,13900000001,developer,true,sha256_salted,{}", salted("x")),
    ];
    let text = csv_file(&rows);

    let report = import(&app, &text).await;
    assert_eq!(report.imported, 3);
    assert_eq!(report.unchanged, 0);
    let lines: Vec<u64> = report.rejected.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [5, 6, 7, 8, 9, 10, 11, 12, 13]);
    assert!(
        report.rejected[0].1.contains("enterprise_code `12345`"),
        "{:?}",
        report.rejected[0]
    );
    assert!(
        report.rejected[1]
            .1
            .contains("invalid mobile number `12345`"),
        "{:?}",
        report.rejected[1]
    );
    assert!(
        report.rejected[2]
            .1
            .contains("identity_type `bank` is unknown"),
        "{:?}",
        report.rejected[2]
    );
    assert!(
        report.rejected[3]
            .1
            .contains("password_scheme `md5` is unknown"),
        "{:?}",
        report.rejected[3]
    );
    assert!(
        report.rejected[4]
            .1
            .contains("password_hash does not match bcrypt"),
        "{:?}",
        report.rejected[4]
    );
    assert!(
        report.rejected[5].1.contains("operator_id `abc`"),
        "{:?}",
        report.rejected[5]
    );
    assert!(
        report.rejected[6]
            .1
            .contains("organization code MA1FL8XQ3 already belongs to USCC 91310000MA1FL8XQ37"),
        "{:?}",
        report.rejected[6]
    );
    assert!(
        report.rejected[7]
            .1
            .contains("already belongs to 王*, not 蒋*"),
        "{:?}",
        report.rejected[7]
    );
    assert!(
        report.rejected[8]
            .1
            .contains("operator_id 100001 was imported before with other data"),
        "{:?}",
        report.rejected[8]
    );
    assert_eq!(report.warnings, [(4, "91310115MA1H7ABC0U".to_owned())]);

    let enterprise = enterprises::find_by_uscc(&app.state.db, "91310000MA1FL8XQ37")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(enterprise.org_code, "MA1FL8XQ3");
    let org_only = enterprises::find_by_org_code(&app.state.db, "MA1FL8XQ1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(org_only.uscc, None);
    let admin = identities::find_by_operator_id(&app.state.db, 100001)
        .await
        .unwrap()
        .unwrap();
    assert!(admin.is_admin);
    assert_eq!(admin.enterprise_id, enterprise.id);
    assert_eq!(admin.system_id, "fund");

    let again = import(&app, &text).await;
    assert_eq!(again.imported, 0);
    assert_eq!(again.unchanged, 3);
    assert_eq!(again.rejected.len(), 9);
}

async fn stock_login(app: &TestApp, browser: &Browser, operator_id: &str, password: &str) -> Page {
    let (url, _) = authorization_url(app, &[]);
    let login = open_login(browser, &url).await;
    let request_id = login.input("request_id");
    let page = browser
        .get(&app.url(&format!("/login/stock?request_id={request_id}")))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    browser
        .post(
            &app.url("/login/stock"),
            &[
                ("operator_id", operator_id),
                ("password", password),
                ("csrf_token", &page.input("csrf_token")),
                ("request_id", &request_id),
            ],
        )
        .await
}

async fn import_staff(app: &TestApp) {
    let rows = [
        format!(
            "200001,91310000MA1FL8XQ37,上海甲物业有限公司,王五,13900000001,property_company,true,sha256_salted,{}",
            salted("Admin-old-1")
        ),
        format!(
            "200002,91310000MA1FL8XQ37,上海甲物业有限公司,赵六,13900000002,property_company,false,sha256_salted,{}",
            salted("Staff-old-1")
        ),
    ];
    let header = HEADER.trim_end().to_owned() + ",system\n";
    let text = format!(
        "{header}{}\n",
        rows.iter()
            .map(|row| format!("{row},{CLIENT_ID}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let report = import(app, &text).await;
    assert_eq!(report.imported, 2, "{report:?}");
}

#[tokio::test]
async fn stock_sign_in_for_unbound_enterprise_prompts_binding() {
    let app = spawn_app().await;
    import_staff(&app).await;
    let page = stock_login(&app, &Browser::new(), "200002", "Staff-old-1").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(
            "您所在的企业尚未绑定管理员，请先通过法人一证通绑定企业管理员账号后再进行个人账户绑定。"
        ),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("href=\"/login/certificate?request_id="),
        "a button leads to certificate sign-in"
    );

    let credential = legacy_credentials::find(&app.state.db, 200002)
        .await
        .unwrap()
        .unwrap();
    assert!(
        credential.migrated_at.is_some(),
        "the proven old password is rehashed"
    );
    let identity = identities::find_by_operator_id(&app.state.db, 200002)
        .await
        .unwrap()
        .unwrap();
    let account = accounts::find_by_id(&app.state.db, identity.account_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        account.password_hash.starts_with("$argon2id$"),
        "{}",
        account.password_hash
    );
}

#[tokio::test]
async fn stock_sign_in_wrong_password_rejected() {
    let app = spawn_app().await;
    import_staff(&app).await;
    for (operator_id, password) in [
        ("200002", "Wrong-old-1"),
        ("999999", "Staff-old-1"),
        ("not-a-number", "x"),
    ] {
        let page = stock_login(&app, &Browser::new(), operator_id, password).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{operator_id}");
        assert!(
            page.body.contains("操作员编号或密码错误。"),
            "{operator_id}: {}",
            page.body
        );
    }
    let credential = legacy_credentials::find(&app.state.db, 200002)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(credential.migrated_at, None);
}

#[tokio::test]
async fn stock_staff_of_bound_enterprise_signs_in() {
    let app = spawn_app().await;
    import_staff(&app).await;
    let admin = identities::find_by_operator_id(&app.state.db, 200001)
        .await
        .unwrap()
        .unwrap();
    let binding = admin_bindings::Model {
        enterprise_id: admin.enterprise_id,
        identity_id: admin.id,
        certificate_fingerprint: "00".repeat(32),
        bound_at: unilogin::clock::now(),
    };
    admin_bindings::insert(&app.state.db, binding)
        .await
        .unwrap();

    let browser = Browser::new();
    let page = stock_login(&app, &browser, "200002", "Staff-old-1").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    // Imported staff have no real-name verification yet: that page comes first.
    let location = page.location.unwrap();
    assert!(location.starts_with("/realname?request_id="), "{location}");

    // The old operator ID works once; then the new sign-in methods apply.
    let again = stock_login(&app, &Browser::new(), "200002", "Staff-old-1").await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.body.contains("该账号已完成迁移"), "{}", again.body);

    let admin_page = stock_login(&app, &Browser::new(), "200001", "Admin-old-1").await;
    assert_eq!(admin_page.status, StatusCode::OK);
    assert!(
        admin_page
            .body
            .contains("您是企业管理员，请使用法人一证通登录。"),
        "{}",
        admin_page.body
    );
}
