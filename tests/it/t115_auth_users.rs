//! Users, roles, permissions and logins on a real node with auth on: a user gets what their
//! roles grant and changes only their own password; bad input is refused whole; repeated
//! failed logins are refused for a while; the first administrator is set once; users
//! survive a restart and are the same on every node of a cluster; the Rust SDK logs in,
//! renews its token and is refused with a wrong password. Passwords are kept as bcrypt
//! hashes only.

use std::time::{Duration, Instant};

use nacos_sdk::api::config::{ConfigService, ConfigServiceBuilder};
use nacos_sdk::api::props::ClientProps;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tests::Nacosd;

use crate::t114_auth::{admin_token, dev_reader, login, ok, start, status, Form, ADMIN_PASSWORD, SECRET};
#[test]
fn a_user_gets_what_their_roles_grant_and_passwords_are_kept_as_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = start(dir.path(), Some(ADMIN_PASSWORD));
    let admin = admin_token(&node);
    dev_reader(&node, &admin);
    let dev = login(&node, "dev", "dev-pw").unwrap();
    let read = [("tenant", "dev"), ("dataId", "app.yaml"), ("group", "G")];
    assert_eq!(ok(&node, Method::GET, "/nacos/v1/cs/configs", &dev, &read), "v1");
    let write = [("tenant", "dev"), ("dataId", "app.yaml"), ("group", "G"), ("content", "v2")];
    assert_eq!(
        status(&node, Method::POST, "/nacos/v1/cs/configs", Some(&dev), &write),
        (StatusCode::FORBIDDEN, "authorization failed!".to_owned())
    );
    let public = [("dataId", "app.yaml"), ("group", "G")];
    assert_eq!(
        status(&node, Method::GET, "/nacos/v1/cs/configs", Some(&dev), &public).0,
        StatusCode::FORBIDDEN,
        "another namespace"
    );
    assert_eq!(
        status(&node, Method::GET, "/nacos/v1/auth/users", Some(&dev), &[]).0,
        StatusCode::FORBIDDEN,
        "admin only"
    );
    assert_eq!(status(&node, Method::GET, "/nacos/v1/core/cluster/nodes", Some(&dev), &[]).0, StatusCode::FORBIDDEN);
    assert_eq!(
        ok(&node, Method::GET, "/nacos/v1/cs/configs", &admin, &read),
        "v1",
        "the refused write changed nothing"
    );
    // A user name and password on the request instead of a token (the node SDK does this).
    let by_password =
        [("tenant", "dev"), ("dataId", "app.yaml"), ("group", "G"), ("username", "dev"), ("password", "dev-pw")];
    assert_eq!(
        status(&node, Method::GET, "/nacos/v1/cs/configs", None, &by_password),
        (StatusCode::OK, "v1".to_owned())
    );

    // One's own password: yes; another's: no.
    let (code, body) =
        status(&node, Method::PUT, "/nacos/v1/auth/users", Some(&dev), &[("username", "nacos"), ("newPassword", "x")]);
    assert_eq!((code, body.as_str()), (StatusCode::FORBIDDEN, "authorization failed!"));
    ok(&node, Method::PUT, "/nacos/v1/auth/users", &dev, &[("username", "dev"), ("newPassword", "dev-pw2")]);

    // Lists show neither passwords nor their hashes.
    let users: Value = serde_json::from_str(&ok(
        &node,
        Method::GET,
        "/nacos/v1/auth/users",
        &admin,
        &[("pageNo", "1"), ("pageSize", "10")],
    ))
    .unwrap();
    assert_eq!(users["totalCount"], 2, "{users}");
    for user in users["pageItems"].as_array().unwrap() {
        assert!(user.get("password").is_none(), "{user}");
    }
    let roles: Value =
        serde_json::from_str(&ok(&node, Method::GET, "/nacos/v1/auth/roles", &admin, &[("username", "dev")])).unwrap();
    assert_eq!(roles["pageItems"][0]["role"], "DEV", "{roles}");
    let granted = ok(
        &node,
        Method::GET,
        "/nacos/v1/auth/permissions",
        &admin,
        &[("role", "DEV"), ("resource", "dev:*:*"), ("action", "r")],
    );
    assert!(granted.contains("\"data\":true"), "{granted}");
    assert!(!node.log().contains("dev-pw"), "no password in the log");

    // Bad input: a clear refusal, nothing changed.
    let (code, body) =
        status(&node, Method::POST, "/nacos/v1/auth/users", Some(&admin), &[("username", "dev"), ("password", "x")]);
    assert_eq!((code, body.as_str()), (StatusCode::BAD_REQUEST, "user 'dev' already exist!"));
    let (code, _) = status(
        &node,
        Method::POST,
        "/nacos/v1/auth/roles",
        Some(&admin),
        &[("role", "ROLE_ADMIN"), ("username", "dev")],
    );
    assert_eq!(code, StatusCode::BAD_REQUEST, "nobody else becomes admin");
    let (code, _) = status(&node, Method::DELETE, "/nacos/v1/auth/users", Some(&admin), &[("username", "nacos")]);
    assert_eq!(code, StatusCode::BAD_REQUEST, "the admin cannot be deleted");
    let bad = [("role", "DEV"), ("resource", "dev:*:*"), ("action", "x")];
    assert_eq!(
        status(&node, Method::POST, "/nacos/v1/auth/permissions", Some(&admin), &bad).0,
        StatusCode::BAD_REQUEST
    );

    // Everything survives a restart (through raft, in storage).
    node.kill9();
    node.restart();
    let dev = login(&node, "dev", "dev-pw2").unwrap();
    assert_eq!(ok(&node, Method::GET, "/nacos/v1/cs/configs", &dev, &read), "v1");
    assert!(login(&node, "dev", "dev-pw").is_err(), "the old password is gone");

    // A deleted user's token stops working at once.
    ok(&node, Method::DELETE, "/nacos/v1/auth/users", &admin_token(&node), &[("username", "dev")]);
    let (code, body) = status(&node, Method::GET, "/nacos/v1/cs/configs", Some(&dev), &read);
    assert_eq!((code, body.as_str()), (StatusCode::FORBIDDEN, "user not found!"));
}

#[test]
fn repeated_failed_logins_are_refused_for_a_while() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), Some(ADMIN_PASSWORD));
    admin_token(&node);
    for _ in 0..5 {
        assert_eq!(login(&node, "nacos", "guess").unwrap_err(), (StatusCode::FORBIDDEN, "user not found!".to_owned()));
    }
    let (code, body) = login(&node, "nacos", ADMIN_PASSWORD).unwrap_err();
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert!(body.contains("too many failed logins"), "{body}");
    assert!(node.log().contains("too many failed logins"), "and it is logged");
}

#[test]
fn the_first_admin_is_set_once_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), None);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !node.log().contains("no administrator yet") {
        assert!(Instant::now() < deadline, "the log does not say how to set the admin: {}", node.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(login(&node, "nacos", "nacos").is_err(), "no default password");
    let state = |node: &Nacosd| -> Value {
        serde_json::from_str(&status(node, Method::GET, "/nacos/v1/console/server/state", None, &[]).1).unwrap()
    };
    assert_eq!(
        (state(&node)["auth_enabled"].as_str(), state(&node)["auth_admin_request"].as_str()),
        (Some("true"), Some("true"))
    );
    let (code, body) = status(&node, Method::POST, "/nacos/v1/auth/users/admin", None, &[("password", ADMIN_PASSWORD)]);
    assert_eq!(code, StatusCode::OK);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((body["username"].as_str(), body["password"].as_str()), (Some("nacos"), Some(ADMIN_PASSWORD)));
    let (_, again) = status(&node, Method::POST, "/nacos/v1/auth/users/admin", None, &[("password", "other")]);
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_eq!((again["code"].as_i64(), again["data"].as_str()), (Some(409), Some("have admin user cannot use it")));
    assert_eq!(state(&node)["auth_admin_request"], "false", "a console no longer asks for it");
    let grant: Value = serde_json::from_str(
        &status(
            &node,
            Method::POST,
            "/nacos/v3/auth/user/login",
            None,
            &[("username", "nacos"), ("password", ADMIN_PASSWORD)],
        )
        .1,
    )
    .unwrap();
    assert_eq!(grant["data"]["globalAdmin"], true, "{grant}");
    assert_eq!(grant["data"]["tokenTtl"], 18000);
}

#[test]
fn the_rust_sdk_logs_in_and_its_grpc_calls_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), Some(ADMIN_PASSWORD));
    let admin = admin_token(&node);
    dev_reader(&node, &admin);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let sdk = |username: &str, password: &str| {
            let props = ClientProps::new()
                .server_addr(node.http_addr())
                .remote_grpc_port(node.grpc_port)
                .namespace("dev")
                .cache_dir(dir.path().join(format!("cache-{username}")))
                .auth_username(username)
                .auth_password(password);
            ConfigServiceBuilder::new(props).enable_auth_plugin_http().build()
        };
        let dev: ConfigService = sdk("dev", "dev-pw").await.unwrap();
        let read = dev.get_config("app.yaml".into(), "G".into()).await.unwrap();
        assert_eq!(read.content(), "v1");
        let write = dev.publish_config("app.yaml".into(), "G".into(), "v2".into(), None).await;
        assert!(write.is_err(), "a reader cannot publish over gRPC: {write:?}");
        let admin_sdk: ConfigService = sdk("nacos", ADMIN_PASSWORD).await.unwrap();
        assert!(admin_sdk.publish_config("app.yaml".into(), "G".into(), "v3".into(), None).await.unwrap());
        let stranger: ConfigService = sdk("dev", "wrong").await.unwrap();
        assert!(stranger.get_config("app.yaml".into(), "G".into()).await.is_err(), "no login, no read");
    });
    let read = [("tenant", "dev"), ("dataId", "app.yaml"), ("group", "G")];
    assert_eq!(ok(&node, Method::GET, "/nacos/v1/cs/configs", &admin, &read), "v3");
}

#[test]
fn bad_input_on_the_auth_endpoints_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), Some(ADMIN_PASSWORD));
    let admin = admin_token(&node);
    let long_name = "n".repeat(129);
    let long_password = "p".repeat(73);
    let long_resource = format!("dev:*:{}", "r".repeat(510));
    let refused: Vec<(Method, &str, Form<'_>)> = vec![
        (Method::POST, "/nacos/v1/auth/users", vec![("password", "pw")]),
        (Method::POST, "/nacos/v1/auth/users", vec![("username", ""), ("password", "pw")]),
        (Method::POST, "/nacos/v1/auth/users", vec![("username", "two words"), ("password", "pw")]),
        (Method::POST, "/nacos/v1/auth/users", vec![("username", &long_name), ("password", "pw")]),
        (Method::POST, "/nacos/v1/auth/users", vec![("username", "u1"), ("password", &long_password)]),
        (Method::POST, "/nacos/v1/auth/users", vec![("username", "u2")]),
        (Method::POST, "/nacos/v3/auth/user", vec![("username", "tab\tname"), ("password", "pw")]),
        (Method::DELETE, "/nacos/v1/auth/users", vec![]),
        (Method::DELETE, "/nacos/v1/auth/users", vec![("username", "ghost")]),
        (Method::PUT, "/nacos/v1/auth/users", vec![("username", "ghost"), ("newPassword", "x")]),
        (Method::POST, "/nacos/v1/auth/roles", vec![("role", "R")]),
        (Method::POST, "/nacos/v1/auth/roles", vec![("role", "R"), ("username", "ghost")]),
        (Method::POST, "/nacos/v1/auth/roles", vec![("role", "bad\u{1}role"), ("username", "nacos")]),
        (Method::POST, "/nacos/v1/auth/permissions", vec![("role", "NOBODY"), ("resource", "*:*:*"), ("action", "r")]),
        (Method::POST, "/nacos/v1/auth/permissions", vec![("role", "ROLE_ADMIN"), ("action", "r")]),
        (
            Method::POST,
            "/nacos/v1/auth/permissions",
            vec![("role", "ROLE_ADMIN"), ("resource", "*:*:*"), ("action", "rwx")],
        ),
        (
            Method::POST,
            "/nacos/v1/auth/permissions",
            vec![("role", "ROLE_ADMIN"), ("resource", &long_resource), ("action", "r")],
        ),
        (Method::POST, "/nacos/v3/auth/permission", vec![("role", "ROLE_ADMIN"), ("resource", "*:*:*")]),
    ];
    for (method, path, params) in &refused {
        let (code, body) = status(&node, method.clone(), path, Some(&admin), params);
        assert_eq!(code, StatusCode::BAD_REQUEST, "{method} {path} {params:?}: {body}");
        assert!(!body.is_empty() && !body.contains("panicked"), "a clear reason: {body}");
    }
    // A name in any script is a name.
    ok(&node, Method::POST, "/nacos/v1/auth/users", &admin, &[("username", "ユーザー"), ("password", "pw")]);
    let users: Value = serde_json::from_str(&ok(&node, Method::GET, "/nacos/v1/auth/users", &admin, &[])).unwrap();
    let names: Vec<&str> =
        users["pageItems"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["nacos", "ユーザー"], "nothing half-written");
    let roles: Value = serde_json::from_str(&ok(&node, Method::GET, "/nacos/v1/auth/roles", &admin, &[])).unwrap();
    assert_eq!(roles["totalCount"], 1, "only the administrator's: {roles}");
    let permissions: Value =
        serde_json::from_str(&ok(&node, Method::GET, "/nacos/v1/auth/permissions", &admin, &[])).unwrap();
    assert_eq!(permissions["totalCount"], 0, "{permissions}");
}

#[test]
fn users_and_tokens_are_the_same_on_every_node_of_a_cluster() {
    let cluster = tests::cluster::Cluster::start(
        3,
        &[
            "--auth-enabled",
            "--auth-token-secret",
            SECRET,
            "--cluster-token",
            "peers",
            "--auth-admin-password",
            ADMIN_PASSWORD,
        ],
    );
    let [one, two, three] = [&cluster.nodes[0], &cluster.nodes[1], &cluster.nodes[2]];
    let admin = admin_token(one);
    dev_reader(one, &admin);
    // The user made through node 1 logs in on node 3; a token from node 2 reads on node 3.
    let deadline = Instant::now() + Duration::from_secs(10);
    let dev = loop {
        match login(three, "dev", "dev-pw") {
            Ok(token) => break token,
            Err(err) => assert!(Instant::now() < deadline, "node 3 never knew dev: {err:?}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = [("tenant", "dev"), ("dataId", "app.yaml"), ("group", "G")];
    assert_eq!(ok(two, Method::GET, "/nacos/v1/cs/configs", &dev, &read), "v1");
    let from_two = login(two, "dev", "dev-pw").unwrap();
    assert_eq!(ok(three, Method::GET, "/nacos/v1/cs/configs", &from_two, &read), "v1");
    let write = [("tenant", "dev"), ("dataId", "app.yaml"), ("group", "G"), ("content", "v2")];
    assert_eq!(status(three, Method::POST, "/nacos/v1/cs/configs", Some(&dev), &write).0, StatusCode::FORBIDDEN);

    // HTTP registrations with the token in a header, on every node: a write relayed to the
    // node responsible for its client is checked there with the same token.
    for (n, node) in [one, two, three].iter().enumerate() {
        let port = (9000 + n).to_string();
        let form = [("namespaceId", "dev"), ("serviceName", "G@@svc"), ("ip", "127.0.0.1"), ("port", port.as_str())];
        let response =
            node.http().post(node.url("/nacos/v1/ns/instance")).bearer_auth(&admin).form(&form).send().unwrap();
        assert_eq!(response.text().unwrap(), "ok", "through node {}", n + 1);
    }
    let list = [("namespaceId", "dev"), ("serviceName", "G@@svc")];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let hosts: Value =
            serde_json::from_str(&ok(three, Method::GET, "/nacos/v1/ns/instance/list", &dev, &list)).unwrap();
        if hosts["hosts"].as_array().map(Vec::len) == Some(3) {
            break;
        }
        assert!(Instant::now() < deadline, "every registration on node 3: {hosts}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_rust_sdk_registers_with_its_login_and_renews_its_token_before_it_expires() {
    use nacos_sdk::api::naming::{NamingService, NamingServiceBuilder, ServiceInstance};

    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start_with(
        &dir.path().join("node"),
        &[
            "--auth-enabled",
            "--auth-token-secret",
            SECRET,
            "--auth-admin-password",
            ADMIN_PASSWORD,
            "--auth-token-ttl-seconds",
            "35",
        ],
    );
    let admin = admin_token(&node);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let sdk = |password: &str| {
            let props = ClientProps::new()
                .server_addr(node.http_addr())
                .remote_grpc_port(node.grpc_port)
                .naming_push_empty_protection(false)
                .naming_load_cache_at_start(false)
                .cache_dir(dir.path().join(format!("cache-{password}")))
                .auth_username("nacos")
                .auth_password(password);
            NamingServiceBuilder::new(props).enable_auth_plugin_http().build()
        };
        let instance = |port| ServiceInstance { ip: "127.0.0.1".into(), port, ..ServiceInstance::default() };
        let wrong: NamingService = sdk("wrong").await.unwrap();
        assert!(wrong.register_instance("refused".into(), None, instance(7000)).await.is_err(), "no login, no write");

        let naming: NamingService = sdk(ADMIN_PASSWORD).await.unwrap();
        naming.register_instance("orders".into(), None, instance(7001)).await.unwrap();
        // Past the first token's 35 seconds, every call still works: the SDK logged in
        // again before it expired (it does every 30 s, whatever the token's life, so a
        // shorter life than that fails it, against Java Nacos too).
        let until = Instant::now() + Duration::from_secs(38);
        let mut calls = 0;
        while Instant::now() < until {
            let hosts = naming.get_all_instances("orders".into(), None, Vec::new(), false).await;
            assert_eq!(hosts.map(|hosts| hosts.len()).ok(), Some(1), "call {calls}");
            calls += 1;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let refused = [("serviceName", "refused")];
    let (code, body) = status(&node, Method::GET, "/nacos/v1/ns/instance/list", Some(&admin), &refused);
    assert_eq!((code, body.as_str()), (StatusCode::FORBIDDEN, "token expired!"), "the first token is past its life");
    let admin = admin_token(&node);
    let hosts: Value =
        serde_json::from_str(&ok(&node, Method::GET, "/nacos/v1/ns/instance/list", &admin, &refused)).unwrap();
    assert_eq!(hosts["hosts"], Value::Array(Vec::new()), "the refused registration wrote nothing");
}
