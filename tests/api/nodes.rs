//! Two nodes on one database: every piece of state a request depends on lives in the
//! database, so any node can continue what another started. On PostgreSQL (`TEST_POSTGRES_URL`)
//! this is the multi-node deployment; on SQLite both nodes share the WAL file.

use reqwest::StatusCode;
use serde_json::Value;
use unilogin::store::provisioning_events;

use crate::applications::start_receiver;
use crate::helpers::*;

async fn form(node: &TestApp, path: &str, fields: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(node.url(path))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn sign_in_on_one_node_continues_on_another() {
    let node_a = spawn_app().await;
    let node_b = node_a.second_node().await;
    node_a.add_account(PHONE, false).await;

    let browser = Browser::new();
    let (auth_url, verifier) = authorization_url(&node_a, &[("scope", "openid offline_access")]);
    let callback = sign_in(&node_a, &browser, &auth_url, PHONE).await;
    let exchanged = exchange(&node_b, &query_param(&callback, "code").unwrap(), &verifier).await;
    assert_eq!(exchanged.status(), StatusCode::OK);
    let tokens: Value = exchanged.json().await.unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    let (_, claims) = node_a.state.keys.verify_jwt(id_token).unwrap();
    assert_eq!(claims["iss"], node_a.config.server.issuer);

    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let (status, refreshed) = form(
        &node_b,
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    // The rotated token is spent for both nodes.
    let (status, reused) = form(
        &node_a,
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(reused["error"], "invalid_grant");

    // Revoked on A, inactive on B.
    let access_token = refreshed["access_token"].as_str().unwrap();
    let (status, _) = form(&node_a, "/revoke", &[("token", access_token)]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, introspected) = form(&node_b, "/introspect", &[("token", access_token)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(introspected["active"], false);
}

#[tokio::test]
async fn sms_limits_are_shared_between_nodes() {
    let node_a = spawn_app().await;
    let node_b = node_a.second_node().await;
    node_a.add_account(PHONE, false).await;

    let browser_a = Browser::new();
    let (auth_url, _) = authorization_url(&node_a, &[]);
    let login = open_login(&browser_a, &auth_url).await;
    request_code(&node_a, &browser_a, &login, PHONE).await;

    let browser_b = Browser::new();
    let (auth_url, _) = authorization_url(&node_b, &[]);
    let login = open_login(&browser_b, &auth_url).await;
    let again = browser_b
        .post(
            &node_b.url("/login/sms-code"),
            &[
                ("phone", PHONE),
                ("csrf_token", &login.input("csrf_token")),
                ("request_id", &login.input("request_id")),
            ],
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        again.body
    );
}

#[tokio::test]
async fn queued_event_delivered_once_by_two_workers() {
    let node_a = spawn_app_with(|config| config.provisioning.poll_interval_ms = 20).await;
    let node_b = node_a.second_node().await;
    let (receiver, endpoint) = start_receiver(0).await;
    let system = unilogin::store::systems::find_by_client_id(&node_a.state.db, CLIENT_ID)
        .await
        .unwrap()
        .unwrap();
    let change = unilogin::store::systems::SystemUpdate {
        provisioning_endpoint: Some(endpoint),
        ..Default::default()
    };
    unilogin::store::systems::update(&node_a.state.db, system, change)
        .await
        .unwrap();
    let now = unilogin::clock::now();
    for index in 0..5 {
        provisioning_events::insert(
            &node_b.state.db,
            &format!("event-{index}"),
            CLIENT_ID,
            "urn:unilogin:event:identity-provisioned",
            &format!("token-{index}"),
            now,
        )
        .await
        .unwrap();
    }

    for _ in 0..200 {
        if provisioning_events::pending_count(&node_a.state.db)
            .await
            .unwrap()
            == 0
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Give a second delivery a chance to happen before counting.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut accepted = receiver.accepted.lock().await.clone();
    accepted.sort();
    assert_eq!(
        accepted,
        ["token-0", "token-1", "token-2", "token-3", "token-4"]
    );
}

async fn wait_for_kid(node: &TestApp, kid: &str) {
    for _ in 0..200 {
        if node.state.keys.kid() == kid {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("node did not switch to key {kid}");
}

fn published_kids(node: &TestApp) -> Vec<String> {
    let jwks: Value = serde_json::from_slice(&node.state.keys.jwks()).unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn key_rotated_on_one_node_verifies_on_another() {
    let node_a = spawn_app_with(|config| config.keys.reload_interval_ms = 20).await;
    let node_b = node_a.second_node().await;
    node_a.add_account(PHONE, false).await;
    let old_kid = node_a.state.keys.kid();
    let before = node_a
        .state
        .keys
        .sign_jwt("JWT", &serde_json::json!({ "sub": "before" }))
        .unwrap();

    let now = unilogin::clock::now();
    let rotated =
        unilogin::oidc::keys::rotate(&node_a.state.db, &node_a.state.master_key, now, 0, 3600)
            .await
            .unwrap();
    assert_ne!(rotated.kid, old_kid);
    wait_for_kid(&node_a, &rotated.kid).await;
    wait_for_kid(&node_b, &rotated.kid).await;
    let kids = published_kids(&node_b);
    assert!(
        kids.contains(&old_kid) && kids.contains(&rotated.kid),
        "{kids:?}"
    );
    assert!(
        node_b.state.keys.verify_jwt(&before).is_some(),
        "the old key still verifies"
    );

    let browser = Browser::new();
    let (auth_url, verifier) = authorization_url(&node_a, &[]);
    let callback = sign_in(&node_a, &browser, &auth_url, PHONE).await;
    let tokens: Value = exchange(&node_a, &query_param(&callback, "code").unwrap(), &verifier)
        .await
        .json()
        .await
        .unwrap();
    let (header, _) = node_b
        .state
        .keys
        .verify_jwt(tokens["id_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(header["kid"], rotated.kid.as_str());

    // A key rotated for later use is published at once but does not sign yet.
    let later =
        unilogin::oidc::keys::rotate(&node_b.state.db, &node_b.state.master_key, now, 3600, 3600)
            .await
            .unwrap();
    for _ in 0..200 {
        if published_kids(&node_a).contains(&later.kid) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(published_kids(&node_a).contains(&later.kid));
    assert_eq!(node_a.state.keys.kid(), rotated.kid);
}

#[tokio::test]
async fn scheduled_rotation_replaces_old_key() {
    let app = spawn_app_with(|config| {
        config.keys.reload_interval_ms = 20;
        config.keys.rotate_every_secs = 86_400;
        config.keys.publish_before_use_secs = 0;
    })
    .await;
    let first_kid = app.state.keys.kid();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        app.state.keys.kid(),
        first_kid,
        "a fresh key is not rotated"
    );

    app.state.clock.advance(86_401);
    let mut rotated_kid = first_kid.clone();
    for _ in 0..200 {
        rotated_kid = app.state.keys.kid();
        if rotated_kid != first_kid {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_ne!(rotated_kid, first_kid, "the day-old key was not rotated");
    let kids = published_kids(&app);
    assert!(kids.contains(&first_kid), "{kids:?}");
    assert!(kids.contains(&rotated_kid), "{kids:?}");

    // The new key is young, so the next checks add nothing.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let rows = unilogin::store::signing_keys::list(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 6, "two keys of each algorithm");
}

#[tokio::test]
async fn sooner_rotation_cancels_pending_key() {
    let app = spawn_app_with(|config| config.keys.reload_interval_ms = 20).await;
    let now = app.state.clock.now();
    let pending =
        unilogin::oidc::keys::rotate(&app.state.db, &app.state.master_key, now, 3600, 330)
            .await
            .unwrap();
    let sooner = unilogin::oidc::keys::rotate(&app.state.db, &app.state.master_key, now, 0, 330)
        .await
        .unwrap();
    wait_for_kid(&app, &sooner.kid).await;

    // When the first rotation's key would have started, the sooner key keeps signing, and
    // it stays published.
    app.state.clock.advance(3601);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(app.state.keys.kid(), sooner.kid);
    assert!(published_kids(&app).contains(&sooner.kid));
    let rows = unilogin::store::signing_keys::list(&app.state.db)
        .await
        .unwrap();
    let cancelled = rows.iter().find(|row| row.kid == pending.kid).unwrap();
    assert!(!cancelled.active, "the overtaken key never signs");
}

#[tokio::test]
async fn rotation_with_wrong_master_key_fails() {
    let app = spawn_app().await;
    let wrong = unilogin::crypto::MasterKey::generate().unwrap();
    let before = unilogin::store::signing_keys::list(&app.state.db)
        .await
        .unwrap()
        .len();
    let error = unilogin::oidc::keys::rotate(&app.state.db, &wrong, app.state.clock.now(), 0, 330)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("the master key does not open the stored signing keys"),
        "{error}"
    );
    let after = unilogin::store::signing_keys::list(&app.state.db)
        .await
        .unwrap()
        .len();
    assert_eq!(after, before, "nothing was written");
}
