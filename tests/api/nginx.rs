//! Certificate sign-in through Debian's nginx with `docker/nginx/unilogin.conf`: nginx
//! terminates TLS, asks for the client certificate and passes it in `X-SSL-Client-Cert`.
//! The test needs the `nginx` binary (`.ci/run` installs it), so it is ignored by default.

use reqwest::StatusCode;

use crate::certificate::{NAME_A, USCC_A, identity_pem, import_enterprises, issue};
use crate::helpers::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Renders the shipped configuration for this machine: upstream, ports and file paths.
fn render_config(
    upstream: &str,
    public_port: u16,
    certificate_port: u16,
    tls_dir: &std::path::Path,
) -> String {
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docker/nginx/unilogin.conf"
    ))
    .unwrap();
    let rendered = shipped
        .replace(
            "    server node-a:8080;\n    server node-b:8080;\n",
            &format!("    server {upstream};\n"),
        )
        .replace(
            "listen 443 ssl;",
            &format!("listen 127.0.0.1:{public_port} ssl;"),
        )
        .replace(
            "listen 8443 ssl;",
            &format!("listen 127.0.0.1:{certificate_port} ssl;"),
        )
        .replace("/etc/nginx/tls", tls_dir.to_str().unwrap());
    assert!(
        rendered.contains(&format!("server {upstream};")),
        "upstream not replaced"
    );
    assert!(rendered.contains("$ssl_client_escaped_cert"));
    rendered
}

#[tokio::test]
#[ignore = "needs the nginx binary; .ci/run installs it and runs this test"]
async fn certificate_sign_in_through_nginx() {
    let app = spawn_app_with(|config| {
        config.certificate.listen = String::new();
        config.certificate.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    import_enterprises(&app).await;

    let work = tempfile::tempdir().unwrap();
    let tls_dir = work.path().join("tls");
    std::fs::create_dir_all(&tls_dir).unwrap();
    unilogin::listener::ensure_self_signed(
        &tls_dir.join("server.pem"),
        &tls_dir.join("server.key"),
    )
    .unwrap();
    let ca =
        unilogin::auth::certificate::devca::DevCa::load(&app.state.config.dev_ca_dir()).unwrap();
    std::fs::copy(&ca.ca_pem_paths()[0], tls_dir.join("client-ca.pem")).unwrap();

    let upstream = app.issuer.trim_start_matches("http://").to_owned();
    let (public_port, certificate_port) = (free_port(), free_port());
    let site = work.path().join("unilogin.conf");
    std::fs::write(
        &site,
        render_config(&upstream, public_port, certificate_port, &tls_dir),
    )
    .unwrap();
    let prefix = work.path().display();
    let main_conf = format!(
        "worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {prefix}/body;\n  proxy_temp_path {prefix}/proxy;\n  fastcgi_temp_path {prefix}/fastcgi;\n  uwsgi_temp_path {prefix}/uwsgi;\n  scgi_temp_path {prefix}/scgi;\n  include {};\n}}\n",
        site.display()
    );
    let conf = work.path().join("nginx.conf");
    std::fs::write(&conf, main_conf).unwrap();
    let binary = std::env::var("NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".into());
    let args = [
        "-p".to_owned(),
        prefix.to_string(),
        "-c".to_owned(),
        conf.display().to_string(),
    ];
    let mut nginx = tokio::process::Command::new(&binary)
        .args(&args)
        .args(["-g", "daemon off;"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
    let _stop = StopNginx {
        binary: binary.clone(),
        args: args.to_vec(),
    };

    let server_pem = std::fs::read(tls_dir.join("server.pem")).unwrap();
    let certificate = issue(&app, USCC_A, NAME_A, |_| {});
    let browser = Browser {
        client: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .use_rustls_tls()
            .add_root_certificate(reqwest::Certificate::from_pem(&server_pem).unwrap())
            .identity(
                reqwest::Identity::from_pem(identity_pem(&certificate).unwrap().as_bytes())
                    .unwrap(),
            )
            .build()
            .unwrap(),
    };
    let base = format!("https://localhost:{certificate_port}");
    let mut binding = None;
    for _ in 0..100 {
        let page = browser
            .client
            .get(format!("{base}/login/certificate"))
            .send()
            .await;
        if let Ok(response) = page {
            binding = Some(response);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let binding = binding.unwrap_or_else(|| {
        let log = std::fs::read_to_string(work.path().join("error.log")).unwrap_or_default();
        panic!("nginx did not answer: {log}")
    });
    assert_eq!(binding.status(), StatusCode::OK);
    let body = binding.text().await.unwrap();
    assert!(body.contains("维修资金企业绑定"), "{body}");
    assert!(body.contains(NAME_A));
    let page = Page {
        status: StatusCode::OK,
        location: None,
        headers: Default::default(),
        body,
    };

    let bound = browser
        .post(
            &format!("{base}/login/certificate/bind"),
            &[
                ("operator_id", "300001"),
                ("password", "Admin-old-1"),
                ("csrf_token", &page.input("csrf_token")),
                ("binding_ticket", &page.input("binding_ticket")),
                ("request_id", ""),
            ],
        )
        .await;
    assert_eq!(bound.status, StatusCode::SEE_OTHER, "{}", bound.body);
    let signed_in = browser.get(&format!("{base}/login/certificate")).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    assert_eq!(signed_in.location.as_deref(), Some("/admin/operators"));
    let console = browser.get(&format!("{base}/admin/operators")).await;
    assert_eq!(console.status, StatusCode::OK, "{}", console.body);

    // A client on the public host cannot smuggle its own certificate header.
    let smuggled = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&server_pem).unwrap())
        .build()
        .unwrap()
        .get(format!("https://localhost:{public_port}/login/certificate"))
        .header("x-ssl-client-cert", "-----BEGIN%20CERTIFICATE-----")
        .header("x-ssl-client-verify", "SUCCESS")
        .send()
        .await
        .unwrap();
    assert_eq!(smuggled.status(), StatusCode::OK);
    let body = smuggled.text().await.unwrap();
    assert!(!body.contains("维修资金企业绑定"), "{body}");
    drop(_stop);
    nginx.wait().await.unwrap();
}

/// Stops nginx (master and workers) with `nginx -s stop`, also when the test fails.
struct StopNginx {
    binary: String,
    args: Vec<String>,
}

impl Drop for StopNginx {
    fn drop(&mut self) {
        let _ = std::process::Command::new(&self.binary)
            .args(&self.args)
            .args(["-s", "stop"])
            .status();
    }
}
