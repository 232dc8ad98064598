//! The command line, run as a user runs it, against a fresh data folder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn unilogin(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_unilogin"))
        .args(args)
        .env("UNILOGIN_SERVER__DATA_DIR", data_dir)
        .env_remove("UNILOGIN_CONFIG")
        .current_dir(data_dir)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn dev_ca_issues_expired_and_revoked_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let init = unilogin(dir.path(), &["dev-ca", "init"]);
    assert!(init.status.success(), "{init:?}");
    assert!(dir.path().join("dev-ca/ca.pem").exists());
    assert!(dir.path().join("dev-ca/sm2-ca.pem").exists());

    let sm2 = unilogin(
        dir.path(),
        &[
            "dev-ca",
            "issue",
            "--uscc",
            "91310000MA1FL8XQ11",
            "--name",
            "上海甲物业有限公司",
            "--key",
            "sm2",
        ],
    );
    assert!(sm2.status.success(), "{sm2:?}");
    assert!(
        dir.path()
            .join("dev-ca/issued/91310000MA1FL8XQ11.pem")
            .exists()
    );
    assert!(
        !dir.path()
            .join("dev-ca/issued/91310000MA1FL8XQ11.p12")
            .exists(),
        "no PKCS#12 for SM2"
    );

    let revoked = unilogin(
        dir.path(),
        &[
            "dev-ca",
            "issue",
            "--uscc",
            "91350100M000100Y43",
            "--name",
            "乙公司",
            "--expired",
            "--revoke",
        ],
    );
    assert!(revoked.status.success(), "{revoked:?}");
    assert!(
        stdout(&revoked).contains("revoked; CRL:"),
        "{}",
        stdout(&revoked)
    );
    assert!(
        dir.path()
            .join("dev-ca/issued/91350100M000100Y43.p12")
            .exists()
    );

    let bad_place = unilogin(
        dir.path(),
        &[
            "dev-ca",
            "issue",
            "--uscc",
            "x",
            "--name",
            "y",
            "--place",
            "subject.X",
        ],
    );
    assert!(!bad_place.status.success());
    assert!(String::from_utf8_lossy(&bad_place.stderr).contains("invalid --place `subject.X`"));

    let key = dir.path().join("dev-ca/issued/91310000MA1FL8XQ11.key.pem");
    let signed = unilogin(
        dir.path(),
        &[
            "dev-ca",
            "sign",
            "--key",
            key.to_str().unwrap(),
            "--algorithm",
            "SM3withSM2",
            "--message",
            "nonce",
        ],
    );
    assert!(signed.status.success(), "{signed:?}");
    assert!(stdout(&signed).trim().len() > 60);
}

#[test]
fn import_reports_rejected_lines_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("operators.csv");
    std::fs::write(
        &file,
        "operator_id,enterprise_code,enterprise_name,person_name,phone,identity_type,is_admin,password_scheme,password_hash\n\
         1,91310000MA1FL8XQ11,甲公司,张三,13900000001,developer,true,sha256_salted,s$0000000000000000000000000000000000000000000000000000000000000000\n\
         2,bad,甲公司,李四,13900000002,developer,true,sha256_salted,s$00\n",
    )
    .unwrap();
    let client = unilogin(
        dir.path(),
        &[
            "client",
            "add",
            "--client-id",
            "fund",
            "--name",
            "维修资金系统",
            "--redirect-uri",
            "https://fund.example.cn/cb",
        ],
    );
    assert!(client.status.success(), "{client:?}");
    let output = unilogin(dir.path(), &["import", "operators", file.to_str().unwrap()]);
    assert!(!output.status.success());
    let text = stdout(&output);
    assert!(
        text.contains("line 3: rejected: enterprise_code `bad`"),
        "{text}"
    );
    assert!(
        text.contains("1 imported, 0 unchanged (imported before), 1 rejected"),
        "{text}"
    );

    let missing_config = unilogin(dir.path(), &["--config", "/nonexistent.toml", "migrate"]);
    assert!(!missing_config.status.success());
    assert!(
        String::from_utf8_lossy(&missing_config.stderr)
            .contains("configuration file /nonexistent.toml does not exist")
    );

    let missing = unilogin(dir.path(), &["import", "operators", "/nonexistent.csv"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot open /nonexistent.csv"));
}

#[test]
fn client_and_account_commands() {
    let dir = tempfile::tempdir().unwrap();
    let added = unilogin(
        dir.path(),
        &[
            "client",
            "add",
            "--client-id",
            "fund",
            "--name",
            "维修资金系统",
            "--redirect-uri",
            "https://fund.example.cn/cb",
        ],
    );
    assert!(added.status.success(), "{added:?}");
    assert!(stdout(&added).contains("client_secret: "));
    let again = unilogin(
        dir.path(),
        &[
            "client",
            "add",
            "--client-id",
            "fund",
            "--name",
            "x",
            "--redirect-uri",
            "https://fund.example.cn/cb",
        ],
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("client `fund` already exists"));
    let listed = unilogin(dir.path(), &["client", "list"]);
    assert!(stdout(&listed).contains("fund\t维修资金系统\thttps://fund.example.cn/cb"));

    let account = unilogin(
        dir.path(),
        &["account", "add", "--phone", "13912345678", "--name", "张三"],
    );
    assert!(account.status.success(), "{account:?}");
    let outbox = std::fs::read_to_string(dir.path().join("sms-outbox.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(outbox.lines().next().unwrap()).unwrap();
    assert_eq!(line["phone"], "+8613912345678");
    assert_eq!(line["purpose"], "initial_password");
    let bad = unilogin(
        dir.path(),
        &["account", "add", "--phone", "123", "--name", "张三"],
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid mobile number `123`"));
}

#[test]
fn system_registry_add_list_update() {
    let dir = tempfile::tempdir().unwrap();
    let added = unilogin(
        dir.path(),
        &[
            "system",
            "add",
            "--client-id",
            "supervision",
            "--name",
            "物业监管平台",
            "--redirect-uri",
            "https://supervision.example.cn/callback",
            "--identity-type",
            "property_company",
            "--identity-type",
            "owners_committee:closed",
            "--provisioning-endpoint",
            "https://supervision.example.cn/events",
        ],
    );
    assert!(added.status.success(), "{added:?}");
    assert!(stdout(&added).contains("client_secret: "));

    let listed = unilogin(dir.path(), &["system", "list"]);
    assert!(listed.status.success(), "{listed:?}");
    assert!(
        stdout(&listed).contains("supervision\t物业监管平台\thttps://supervision.example.cn/callback\tproperty_company,owners_committee:closed"),
        "{}",
        stdout(&listed)
    );

    let unknown = unilogin(
        dir.path(),
        &[
            "system",
            "update",
            "--client-id",
            "supervision",
            "--identity-type",
            "bank",
        ],
    );
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("`bank`"),
        "{unknown:?}"
    );

    let updated = unilogin(
        dir.path(),
        &[
            "system",
            "update",
            "--client-id",
            "supervision",
            "--identity-type",
            "developer",
        ],
    );
    assert!(updated.status.success(), "{updated:?}");
    let listed = unilogin(dir.path(), &["system", "list"]);
    assert!(
        stdout(&listed).ends_with("\tdeveloper\tclient_secret_basic\tpublic\tRS256\t-\n"),
        "{}",
        stdout(&listed)
    );
}

#[test]
fn keys_export_refuses_shared_master_key() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let exported = unilogin(dir.path(), &["keys", "export-public"]);
    assert!(exported.status.success(), "{exported:?}");
    let jwks: serde_json::Value = serde_json::from_str(&stdout(&exported)).unwrap();
    let mut types: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kty"].as_str().unwrap())
        .collect();
    types.sort_unstable();
    assert_eq!(types, ["EC", "OKP", "RSA"]);
    for key in jwks["keys"].as_array().unwrap() {
        assert!(key.get("d").is_none(), "no private parts");
    }

    let rotated = unilogin(dir.path(), &["keys", "rotate", "--use-in", "0"]);
    assert!(rotated.status.success(), "{rotated:?}");
    assert!(stdout(&rotated).starts_with("new signing key "));
    let exported = unilogin(dir.path(), &["keys", "export-public"]);
    let jwks: serde_json::Value = serde_json::from_str(&stdout(&exported)).unwrap();
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        6,
        "the old key of each algorithm stays published"
    );
    let negative = unilogin(dir.path(), &["keys", "rotate", "--use-in", "-5"]);
    assert!(!negative.status.success());
    let huge = unilogin(
        dir.path(),
        &["keys", "rotate", "--use-in", "9223372036854775807"],
    );
    assert!(!huge.status.success());
    assert!(
        String::from_utf8_lossy(&huge.stderr).contains("invalid --use-in"),
        "{huge:?}"
    );

    let key_file = dir.path().join("master.key");
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = unilogin(dir.path(), &["keys", "export-public"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("mode 644"), "{stderr}");
    assert!(stderr.contains("chmod 600"), "{stderr}");
}

#[test]
fn backup_copies_database_for_restore() {
    let dir = tempfile::tempdir().unwrap();
    let added = unilogin(
        dir.path(),
        &[
            "client",
            "add",
            "--client-id",
            "fund",
            "--name",
            "维修资金系统",
            "--redirect-uri",
            "https://fund.example.cn/cb",
        ],
    );
    assert!(added.status.success(), "{added:?}");
    let copy = dir.path().join("backup.db");
    let backup = unilogin(dir.path(), &["backup", copy.to_str().unwrap()]);
    assert!(backup.status.success(), "{backup:?}");
    let again = unilogin(dir.path(), &["backup", copy.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    // Restoring is putting the copy in place of unilogin.db in a data folder.
    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(&copy, restored.path().join("unilogin.db")).unwrap();
    let listed = unilogin(restored.path(), &["client", "list"]);
    assert!(listed.status.success(), "{listed:?}");
    assert!(
        stdout(&listed).contains("fund\t维修资金系统"),
        "{}",
        stdout(&listed)
    );
}

/// Sends a GET over a plain TCP connection and returns the status line.
fn http_get(port: u16, path: &str, request_id: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: {request_id}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.lines().next().map(str::to_owned)
}

#[test]
fn json_logs_carry_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_unilogin"))
        .arg("serve")
        .env("UNILOGIN_SERVER__DATA_DIR", dir.path())
        .env("UNILOGIN_SERVER__BIND", format!("127.0.0.1:{port}"))
        .env(
            "UNILOGIN_SERVER__ISSUER",
            format!("http://127.0.0.1:{port}"),
        )
        .env("UNILOGIN_SERVER__METRICS_BIND", "")
        .env("UNILOGIN_CERTIFICATE__LISTEN", "")
        .env("UNILOGIN_LOG__FORMAT", "json")
        .env_remove("UNILOGIN_CONFIG")
        .env_remove("RUST_LOG")
        .current_dir(dir.path())
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut ready = false;
    for _ in 0..200 {
        if http_get(port, "/healthz", "probe-0").is_some_and(|line| line.contains("200")) {
            ready = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let status = http_get(port, "/no-such-page", "trace-abc-123");
    server.kill().unwrap();
    let output = server.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(ready, "{stderr}");
    assert!(status.unwrap().contains("404"));
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let traced = lines
        .iter()
        .find(|line| line["span"]["request_id"] == "trace-abc-123")
        .unwrap_or_else(|| panic!("no line with the request id: {stderr}"));
    assert_eq!(traced["fields"]["status"], 404);
}

const PLATFORM_TOKEN: &str = "kill-test-platform-token";

/// A server process on a data folder, with the demo data, certificate headers trusted from
/// 127.0.0.1 and the platform API open to `PLATFORM_TOKEN`.
fn start_server(dir: &Path, port: u16) -> std::process::Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_unilogin"))
        .args(["serve", "--demo"])
        .env("UNILOGIN_SERVER__DATA_DIR", dir)
        .env("UNILOGIN_SERVER__BIND", format!("127.0.0.1:{port}"))
        .env(
            "UNILOGIN_SERVER__ISSUER",
            format!("http://127.0.0.1:{port}"),
        )
        .env("UNILOGIN_SERVER__METRICS_BIND", "")
        .env("UNILOGIN_CERTIFICATE__LISTEN", "")
        .env(
            "UNILOGIN_CERTIFICATE__TRUSTED_PROXIES",
            "[\"127.0.0.1/32\"]",
        )
        .env(
            "UNILOGIN_PLATFORM__ADMIN_TOKEN_HASHES",
            format!("[\"{}\"]", unilogin::crypto::sha256_b64(PLATFORM_TOKEN)),
        )
        .env_remove("UNILOGIN_CONFIG")
        .env("RUST_LOG", "warn")
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("server.log"))
                .unwrap(),
        )
        .spawn()
        .unwrap();
    for _ in 0..400 {
        if http_get(port, "/readyz", "kill-test").is_some_and(|line| line.contains("200")) {
            return child;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not become ready");
}

/// The `value` of the input called `name` in a page.
fn input_value(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        + marker.len();
    body[start..start + body[start..].find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn kill_during_burst_loses_no_committed_write() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = start_server(dir.path(), port);
    let base = format!("http://127.0.0.1:{port}");

    // 40 people the development real-name check knows.
    let people: Vec<(String, String)> = (0..40)
        .map(|i| (format!("1751234{:04}", 3000 + i), "测试员工".to_owned()))
        .collect();
    let mut fixture = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("realname-fixture.csv"))
        .unwrap();
    for (phone, name) in &people {
        use std::io::Write;
        writeln!(fixture, "{phone},{name}").unwrap();
    }

    // The demo administrator signs in with the demo certificate passed as a proxy header.
    let pem =
        std::fs::read_to_string(dir.path().join("dev-ca/demo/91310000MA1FL8XQ11.pem")).unwrap();
    let escaped = url::form_urlencoded::byte_serialize(pem.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    // No pooled connections: a connection to the killed server must not be reused.
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let with_cert = |request: reqwest::RequestBuilder| {
        request
            .header("x-ssl-client-cert", escaped.clone())
            .header("x-ssl-client-verify", "SUCCESS")
    };
    let binding = with_cert(client.get(format!("{base}/login/certificate")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let bound = with_cert(client.post(format!("{base}/login/certificate/bind")))
        .form(&[
            ("operator_id", "100001"),
            ("password", "Admin@2026"),
            ("csrf_token", &input_value(&binding, "csrf_token")),
            ("binding_ticket", &input_value(&binding, "binding_ticket")),
            ("request_id", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bound.status(), 303, "{}", bound.text().await.unwrap());
    let signed_in = with_cert(client.get(format!("{base}/login/certificate")))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    submit_demo_staff_realname(&base, dir.path()).await;
    let pending: serde_json::Value = client
        .get(format!("{base}/api/v1/realname-submissions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let submission_id = pending["items"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{pending}"));

    // Every system sends provisioning events to an endpoint that refuses them, so they stay
    // queued.
    for system in ["fund", "supervision", "bidding"] {
        let patched = client
            .patch(format!("{base}/api/v1/platform/systems/{system}"))
            .bearer_auth(PLATFORM_TOKEN)
            .json(&serde_json::json!({ "provisioning_endpoint": "http://127.0.0.1:9/events" }))
            .send()
            .await
            .unwrap();
        assert_eq!(patched.status(), 200);
    }
    let offers: serde_json::Value = client
        .get(format!("{base}/api/v1/applications"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let offers: Vec<(String, String)> = offers["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{offers}"))
        .iter()
        .map(|offer| {
            (
                offer["system_id"].as_str().unwrap().to_owned(),
                offer["identity_type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(offers.len() >= 3, "{offers:?}");

    // A burst of operator additions and applications; the server is killed while some are
    // in flight.
    let acknowledged = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut applications = Vec::new();
    for (system_id, identity_type) in offers.clone() {
        let client = client.clone();
        let url = format!("{base}/api/v1/applications");
        applications.push(tokio::spawn(async move {
            let body = serde_json::json!({
                "system_id": system_id,
                "identity_type": identity_type,
                "contact_name": "演示管理员",
                "contact_phone": "13800138001",
            });
            let response = client.post(url).json(&body).send().await.ok()?;
            (response.status() == 201).then_some((system_id, identity_type))
        }));
    }
    let approval = {
        let client = client.clone();
        let url = format!("{base}/api/v1/realname-submissions/{submission_id}/approve");
        tokio::spawn(async move {
            let response = client
                .post(url)
                .json(&serde_json::json!({}))
                .send()
                .await
                .ok()?;
            (response.status() == 200).then_some(())
        })
    };
    let mut tasks = Vec::new();
    for (phone, name) in people.clone() {
        let client = client.clone();
        let acknowledged = acknowledged.clone();
        let url = format!("{base}/api/v1/operators");
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .json(&serde_json::json!({
                    "name": name,
                    "phone": phone,
                    "department_type": "branch",
                    // Named, because the applications in the same burst add more pairs.
                    "system_id": "demo",
                    "identity_type": "property_company",
                }))
                .send()
                .await
                .ok()?;
            if response.status() != 201 {
                return None;
            }
            let body: serde_json::Value = response.json().await.ok()?;
            acknowledged.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            body["operator"]["operator_id"].as_i64()
        }));
    }
    // Kill once a few additions were acknowledged, while the rest are still running. Each
    // addition hashes an initial password, which can take seconds on a busy machine.
    for _ in 0..1200 {
        if acknowledged.load(std::sync::atomic::Ordering::SeqCst) >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let mut committed = Vec::new();
    for task in tasks {
        if let Some(operator_id) = task.await.unwrap() {
            committed.push(operator_id);
        }
    }
    let approved = approval.await.unwrap().is_some();
    let mut applied = Vec::new();
    for task in applications {
        if let Some(pair) = task.await.unwrap() {
            applied.push(pair);
        }
    }

    // After a restart every acknowledged operator is there, with its account.
    let mut server = start_server(dir.path(), port);
    let listed: serde_json::Value = client
        .get(format!("{base}/api/v1/operators?per_page=100"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let still_open: serde_json::Value = client
        .get(format!("{base}/api/v1/applications"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events: serde_json::Value = client
        .get(format!("{base}/api/v1/platform/provisioning-events"))
        .bearer_auth(PLATFORM_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let staff: serde_json::Value = client
        .get(format!("{base}/api/v1/operators?operator_id=100002"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    // The approval is sent first and costs no password hash, so it is acknowledged before the
    // kill, which waits for three operator additions.
    assert!(
        approved,
        "the approval was not acknowledged before the kill"
    );
    assert_eq!(
        staff["items"][0]["status"], "active",
        "the approval was lost: {staff}"
    );
    assert_eq!(staff["items"][0]["realname_verified"], true, "{staff}");
    for (system_id, identity_type) in &applied {
        let offered = still_open["items"].as_array().unwrap().iter().any(|offer| {
            offer["system_id"] == system_id.as_str()
                && offer["identity_type"] == identity_type.as_str()
        });
        assert!(
            !offered,
            "application {system_id}/{identity_type} was acknowledged but is gone"
        );
        let queued = events["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|event| event["system_id"] == system_id.as_str())
            .count();
        let acknowledged_here = applied
            .iter()
            .filter(|(system, _)| system == system_id)
            .count();
        assert!(
            queued >= acknowledged_here,
            "events for {system_id} lost: {events}"
        );
    }
    let stored: Vec<i64> = listed["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .iter()
        .filter_map(|item| item["operator_id"].as_i64())
        .collect();
    for operator_id in &committed {
        assert!(
            stored.contains(operator_id),
            "operator {operator_id} was acknowledged but is gone: {listed}"
        );
    }
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
    assert!(
        !committed.is_empty(),
        "no addition finished before the kill; server log:\n{log}"
    );
    assert!(
        !applied.is_empty(),
        "no application finished before the kill"
    );
}

/// Signs in the demo staff member with the old operator ID and submits real-name
/// verification, which then waits for the administrator's review.
async fn submit_demo_staff_realname(base: &str, dir: &Path) {
    let staff = reqwest::Client::builder()
        .cookie_store(true)
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = |path: String| {
        let staff = staff.clone();
        async move { staff.get(path).send().await.unwrap().text().await.unwrap() }
    };
    let stock = page(format!("{base}/login/stock")).await;
    let signed_in = staff
        .post(format!("{base}/login/stock"))
        .form(&[
            ("operator_id", "100002"),
            ("password", "Staff@2026"),
            ("csrf_token", &input_value(&stock, "csrf_token")),
            ("request_id", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let form = page(format!("{base}/realname")).await;
    let csrf = input_value(&form, "csrf_token");
    let sent = staff
        .post(format!("{base}/realname/sms-code"))
        .form(&[("phone", "13800138002"), ("csrf_token", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let outbox = std::fs::read_to_string(dir.join("sms-outbox.jsonl")).unwrap();
    let code = outbox
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .rfind(|line| line["purpose"] == "realname")
        .and_then(|line| line["code"].as_str().map(str::to_owned))
        .unwrap();
    let submitted = staff
        .post(format!("{base}/realname"))
        .form(&[
            ("password", "Staff@2026"),
            ("name", "演示员工"),
            ("phone", "13800138002"),
            ("sms_code", code.as_str()),
            ("csrf_token", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), 200);
    let body = submitted.text().await.unwrap();
    assert!(body.contains("实名认证信息提交成功"), "{body}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process for the two-node test: the shared data folder (master key, and the
/// SQLite file unless `TEST_POSTGRES_URL` names a database) and the issuer of node A.
fn start_node(
    dir: &Path,
    port: u16,
    issuer: &str,
    database_url: &str,
    demo: bool,
) -> std::process::Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_unilogin"));
    command.arg("serve");
    if demo {
        command.arg("--demo");
    }
    let mut child = command
        .env("UNILOGIN_SERVER__DATA_DIR", dir)
        .env("UNILOGIN_SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("UNILOGIN_SERVER__ISSUER", issuer)
        .env("UNILOGIN_SERVER__METRICS_BIND", "")
        .env("UNILOGIN_CERTIFICATE__LISTEN", "")
        .env("UNILOGIN_DATABASE__URL", database_url)
        .env("UNILOGIN_KEYS__RELOAD_INTERVAL_MS", "100")
        .env_remove("UNILOGIN_CONFIG")
        .env("RUST_LOG", "warn")
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..400 {
        if http_get(port, "/readyz", "node").is_some_and(|line| line.contains("200")) {
            return child;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("node on port {port} did not become ready");
}

#[tokio::test]
async fn two_node_processes_share_one_database() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = std::env::var("TEST_POSTGRES_URL").unwrap_or_default();
    let database_url = if database_url.is_empty() {
        String::new()
    } else {
        // A fresh database for this test, created through the admin URL.
        use sea_orm::{ConnectionTrait, Database, Statement};
        let name = format!(
            "unilogin_nodes_{}",
            unilogin::crypto::random_digits(10).unwrap()
        );
        let admin = Database::connect(&database_url).await.unwrap();
        admin
            .execute_raw(Statement::from_string(
                admin.get_database_backend(),
                format!("CREATE DATABASE {name}"),
            ))
            .await
            .unwrap();
        let mut url = url::Url::parse(&database_url).unwrap();
        url.set_path(&format!("/{name}"));
        url.to_string()
    };
    let added = unilogin(
        dir.path(),
        &[
            "client",
            "add",
            "--client-id",
            "nodes",
            "--name",
            "节点测试",
            "--redirect-uri",
            "http://127.0.0.1:9/cb",
        ],
    );
    let added = if database_url.is_empty() {
        added
    } else {
        Command::new(env!("CARGO_BIN_EXE_unilogin"))
            .args([
                "client",
                "add",
                "--client-id",
                "nodes",
                "--name",
                "节点测试",
                "--redirect-uri",
                "http://127.0.0.1:9/cb",
            ])
            .env("UNILOGIN_SERVER__DATA_DIR", dir.path())
            .env("UNILOGIN_DATABASE__URL", &database_url)
            .env_remove("UNILOGIN_CONFIG")
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    assert!(added.status.success(), "{added:?}");
    let secret = stdout(&added)
        .lines()
        .find_map(|line| line.strip_prefix("client_secret: ").map(str::to_owned))
        .unwrap();

    let (port_a, port_b) = (free_port(), free_port());
    let issuer = format!("http://127.0.0.1:{port_a}");
    let mut node_a = start_node(dir.path(), port_a, &issuer, &database_url, true);
    let mut node_b = start_node(dir.path(), port_b, &issuer, &database_url, false);
    let (a, b) = (issuer.clone(), format!("http://127.0.0.1:{port_b}"));

    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let verifier = "node-test-verifier-0123456789-0123456789-0123456789";
    let challenge = unilogin::domain::pkce::s256_challenge(verifier, unilogin::crypto::sha256);
    let authorize = format!(
        "{a}/authorize?response_type=code&client_id=nodes&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=openid%20offline_access&code_challenge={challenge}&code_challenge_method=S256&nonce=n"
    );
    let to_login = browser.get(&authorize).send().await.unwrap();
    let login_path = to_login.headers()["location"].to_str().unwrap().to_owned();
    let login = browser
        .get(format!("{a}{login_path}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = input_value(&login, "csrf_token");
    let request_id = input_value(&login, "request_id");
    let sent = browser
        .post(format!("{a}/login/sms-code"))
        .form(&[
            ("phone", "13800138000"),
            ("csrf_token", csrf.as_str()),
            ("request_id", request_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let outbox = std::fs::read_to_string(dir.path().join("sms-outbox.jsonl")).unwrap();
    let code = outbox
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .rfind(|line| line["purpose"] == "login")
        .and_then(|line| line["code"].as_str().map(str::to_owned))
        .unwrap();
    let signed_in = browser
        .post(format!("{a}/login"))
        .form(&[
            ("phone", "13800138000"),
            ("password", "Demo@2026"),
            ("sms_code", code.as_str()),
            ("csrf_token", csrf.as_str()),
            ("request_id", request_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let callback = signed_in.headers()["location"].to_str().unwrap().to_owned();
    let authorization_code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(key, _)| key == "code")
        .unwrap()
        .1
        .into_owned();

    // Node B exchanges the code node A issued, and refreshes.
    let api = reqwest::Client::new();
    let token = |base: String, form: Vec<(&'static str, String)>| {
        let api = api.clone();
        let secret = secret.clone();
        async move {
            let response = api
                .post(format!("{base}/token"))
                .basic_auth("nodes", Some(secret))
                .form(&form)
                .send()
                .await
                .unwrap();
            (
                response.status(),
                response.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    let (status, tokens) = token(
        b.clone(),
        vec![
            ("grant_type", "authorization_code".into()),
            ("code", authorization_code),
            ("redirect_uri", "http://127.0.0.1:9/cb".into()),
            ("code_verifier", verifier.into()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let (status, refreshed) = token(
        b.clone(),
        vec![
            ("grant_type", "refresh_token".into()),
            (
                "refresh_token",
                tokens["refresh_token"].as_str().unwrap().into(),
            ),
        ],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");

    // Revoked on A, inactive on B.
    let access_token = refreshed["access_token"].as_str().unwrap().to_owned();
    let revoked = api
        .post(format!("{a}/revoke"))
        .basic_auth("nodes", Some(&secret))
        .form(&[("token", access_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let introspected: serde_json::Value = api
        .post(format!("{b}/introspect"))
        .basic_auth("nodes", Some(&secret))
        .form(&[("token", access_token.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected["active"], false, "{introspected}");

    // A key rotated with the CLI reaches both running nodes.
    let rotated = Command::new(env!("CARGO_BIN_EXE_unilogin"))
        .args(["keys", "rotate", "--use-in", "0"])
        .env("UNILOGIN_SERVER__DATA_DIR", dir.path())
        .env("UNILOGIN_DATABASE__URL", &database_url)
        .env_remove("UNILOGIN_CONFIG")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(rotated.status.success(), "{rotated:?}");
    let kid = stdout(&rotated)
        .split_whitespace()
        .nth(3)
        .unwrap()
        .to_owned();
    let mut seen = false;
    for _ in 0..100 {
        let jwks_a = api
            .get(format!("{a}/jwks"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let jwks_b = api
            .get(format!("{b}/jwks"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if jwks_a.contains(&kid) && jwks_b.contains(&kid) {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    node_a.kill().unwrap();
    node_b.kill().unwrap();
    node_a.wait().unwrap();
    node_b.wait().unwrap();
    assert!(seen, "key {kid} did not reach both nodes");
}

#[test]
fn client_add_checks_new_options() {
    let dir = tempfile::tempdir().unwrap();
    let base = [
        "client",
        "add",
        "--name",
        "Test client",
        "--redirect-uri",
        "https://rp.example.cn/callback",
    ];
    let add = |client_id: &str, extra: &[&str]| {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(["--client-id", client_id]);
        args.extend(extra);
        unilogin(dir.path(), &args)
    };
    let stderr = |output: &Output| String::from_utf8_lossy(&output.stderr).into_owned();

    let public = add("public-app", &["--auth-method", "none"]);
    assert!(public.status.success(), "{public:?}");
    assert!(stdout(&public).contains("client_id:     public-app"));
    assert!(
        !stdout(&public).contains("client_secret"),
        "{}",
        stdout(&public)
    );

    let no_keys = add("keyed", &["--auth-method", "private_key_jwt"]);
    assert!(!no_keys.status.success());
    assert!(
        stderr(&no_keys).contains("needs --jwks-file"),
        "{}",
        stderr(&no_keys)
    );

    let private = dir.path().join("private.json");
    std::fs::write(
        &private,
        r#"{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}]}"#,
    )
    .unwrap();
    let with_private = add(
        "keyed",
        &[
            "--auth-method",
            "private_key_jwt",
            "--jwks-file",
            private.to_str().unwrap(),
        ],
    );
    assert!(!with_private.status.success());
    assert!(
        stderr(&with_private).contains("contains a private key"),
        "{}",
        stderr(&with_private)
    );

    let two_hosts = add(
        "pairwise",
        &[
            "--subject-type",
            "pairwise",
            "--redirect-uri",
            "https://other.example.cn/callback",
        ],
    );
    assert!(!two_hosts.status.success());
    assert!(
        stderr(&two_hosts).contains("give --sector-identifier"),
        "{}",
        stderr(&two_hosts)
    );

    let pairwise = add(
        "pairwise-one",
        &[
            "--subject-type",
            "pairwise",
            "--id-token-alg",
            "ES256",
            "--require-par",
        ],
    );
    assert!(pairwise.status.success(), "{pairwise:?}");
    // The sector is stored, so a later change of redirect URIs keeps the subjects.
    let update = unilogin(
        dir.path(),
        &[
            "client",
            "update",
            "--client-id",
            "pairwise-one",
            "--redirect-uri",
            "https://elsewhere.example.cn/callback",
        ],
    );
    assert!(update.status.success(), "{update:?}");
    let listed = stdout(&unilogin(dir.path(), &["client", "list"]));
    let row = listed
        .lines()
        .find(|line| line.starts_with("pairwise-one\t"))
        .unwrap();
    assert!(
        row.ends_with("\tclient_secret_basic\tpairwise:rp.example.cn\tES256\tpar"),
        "{row}"
    );

    let changed = unilogin(
        dir.path(),
        &[
            "client",
            "update",
            "--client-id",
            "pairwise-one",
            "--id-token-alg",
            "EdDSA",
            "--post-logout-redirect-uri",
            "https://rp.example.cn/signed-out",
        ],
    );
    assert!(changed.status.success(), "{changed:?}");
    let listed = stdout(&unilogin(dir.path(), &["client", "list"]));
    assert!(
        listed.contains("\tpairwise:rp.example.cn\tEdDSA\tpar"),
        "{listed}"
    );
    let public_keys = dir.path().join("public.json");
    let coordinate = "A".repeat(43);
    std::fs::write(
        &public_keys,
        format!(
            r#"{{"keys":[{{"kty":"EC","crv":"P-256","x":"{coordinate}","y":"{coordinate}"}}]}}"#
        ),
    )
    .unwrap();
    let keys_for_secret_client = unilogin(
        dir.path(),
        &[
            "client",
            "update",
            "--client-id",
            "pairwise-one",
            "--jwks-file",
            public_keys.to_str().unwrap(),
        ],
    );
    assert!(!keys_for_secret_client.status.success());
    assert!(
        stderr(&keys_for_secret_client).contains("applies only to private_key_jwt clients"),
        "{}",
        stderr(&keys_for_secret_client)
    );

    let empty_uri = unilogin(
        dir.path(),
        &[
            "client",
            "update",
            "--client-id",
            "pairwise-one",
            "--redirect-uri",
            "",
        ],
    );
    assert!(!empty_uri.status.success());
    assert!(
        stderr(&empty_uri).contains("invalid --redirect-uri"),
        "{}",
        stderr(&empty_uri)
    );

    let sector_public = add("public-sector", &["--sector-identifier", "rp.example.cn"]);
    assert!(!sector_public.status.success());
    assert!(
        stderr(&sector_public).contains("applies only with --subject-type pairwise"),
        "{}",
        stderr(&sector_public)
    );

    let bad_alg = add("hmac", &["--id-token-alg", "HS256"]);
    assert!(!bad_alg.status.success());
    assert!(
        stderr(&bad_alg).contains("invalid --id-token-alg `HS256`"),
        "{}",
        stderr(&bad_alg)
    );

    let logout = add(
        "notified",
        &[
            "--backchannel-logout-uri",
            "https://rp.example.cn/backchannel",
            "--frontchannel-logout-uri",
            "javascript:alert(1)",
        ],
    );
    assert!(!logout.status.success());
    assert!(
        stderr(&logout).contains("invalid --frontchannel-logout-uri"),
        "{}",
        stderr(&logout)
    );
}
