//! Authentication and authorisation on a real node with auth on: nothing but login, the
//! first-admin initialisation and health answers without a token; the administrator does
//! everything; a user gets what their roles' permissions grant, on HTTP and gRPC alike (the
//! Rust SDK logs in and carries its token); forged and expired tokens and repeated failed
//! logins are refused; users, roles and permissions survive a restart; passwords are kept
//! as bcrypt hashes only.

use std::time::{Duration, Instant};

use nacos_sdk::api::config::{ConfigService, ConfigServiceBuilder};
use nacos_sdk::api::props::ClientProps;
use reqwest::blocking::Response;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tests::Nacosd;

/// 32 bytes, base64.
const SECRET: &str = "U2VjcmV0S2V5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=";
const ADMIN_PASSWORD: &str = "Adm1n-pw";

fn start(dir: &std::path::Path, admin_password: Option<&str>) -> Nacosd {
    let mut args = vec!["--auth-enabled", "--auth-token-secret", SECRET];
    if let Some(password) = admin_password {
        args.extend(["--auth-admin-password", password]);
    }
    Nacosd::start_with(&dir.join("node"), &args)
}

fn send(node: &Nacosd, method: Method, path: &str, token: Option<&str>, form: &[(&str, &str)]) -> Response {
    let mut request = node.http().request(method, node.url(path)).form(form);
    if let Some(token) = token {
        request = request.query(&[("accessToken", token)]);
    }
    request.send().unwrap()
}

fn status(
    node: &Nacosd,
    method: Method,
    path: &str,
    token: Option<&str>,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let response = send(node, method, path, token, form);
    (response.status(), response.text().unwrap())
}

fn login(node: &Nacosd, username: &str, password: &str) -> Result<String, (StatusCode, String)> {
    let (code, body) =
        status(node, Method::POST, "/nacos/v1/auth/login", None, &[("username", username), ("password", password)]);
    if code != StatusCode::OK {
        return Err((code, body));
    }
    let body: Value = serde_json::from_str(&body).unwrap();
    Ok(body["accessToken"].as_str().unwrap().to_owned())
}

/// Logs in as the administrator once the node has made it (from its flag, through raft).
fn admin_token(node: &Nacosd) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match login(node, "nacos", ADMIN_PASSWORD) {
            Ok(token) => return token,
            Err(err) => assert!(Instant::now() < deadline, "the administrator never appeared: {err:?}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn ok(node: &Nacosd, method: Method, path: &str, token: &str, form: &[(&str, &str)]) -> String {
    let (code, body) = status(node, method, path, Some(token), form);
    assert_eq!(code, StatusCode::OK, "{path}: {body}");
    body
}

/// A user `dev` whose role `DEV` may read namespace `dev`, and a config there.
fn dev_reader(node: &Nacosd, admin: &str) {
    ok(
        node,
        Method::POST,
        "/nacos/v1/console/namespaces",
        admin,
        &[("customNamespaceId", "dev"), ("namespaceName", "Dev")],
    );
    let publish = [("tenant", "dev"), ("dataId", "app.yaml"), ("group", "G"), ("content", "v1")];
    assert_eq!(ok(node, Method::POST, "/nacos/v1/cs/configs", admin, &publish), "true");
    let created = ok(node, Method::POST, "/nacos/v1/auth/users", admin, &[("username", "dev"), ("password", "dev-pw")]);
    assert!(created.contains("create user ok!"), "{created}");
    ok(node, Method::POST, "/nacos/v1/auth/roles", admin, &[("role", "DEV"), ("username", "dev")]);
    let grant = [("role", "DEV"), ("resource", "dev:*:*"), ("action", "r")];
    ok(node, Method::POST, "/nacos/v1/auth/permissions", admin, &grant);
}

#[test]
fn without_a_token_only_login_and_health_answer() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), Some(ADMIN_PASSWORD));
    let admin = admin_token(&node);
    for (method, path, form) in [
        (Method::GET, "/nacos/v1/cs/configs", vec![("dataId", "a"), ("group", "G")]),
        (Method::POST, "/nacos/v1/cs/configs", vec![("dataId", "a"), ("group", "G"), ("content", "x")]),
        (Method::GET, "/nacos/v2/cs/config", vec![("dataId", "a"), ("group", "G")]),
        (Method::GET, "/nacos/v3/admin/cs/config/list", vec![]),
        (Method::GET, "/nacos/v1/cs/history", vec![("search", "accurate"), ("dataId", "a"), ("group", "G")]),
        (Method::POST, "/nacos/v1/ns/instance", vec![("serviceName", "s"), ("ip", "127.0.0.1"), ("port", "80")]),
        (Method::GET, "/nacos/v1/ns/instance/list", vec![("serviceName", "s")]),
        (Method::GET, "/nacos/v2/ns/service/list", vec![]),
        (Method::PUT, "/nacos/v1/ns/operator/switches", vec![("entry", "checkTimes"), ("value", "4")]),
        (Method::POST, "/nacos/v1/console/namespaces", vec![("customNamespaceId", "x"), ("namespaceName", "x")]),
        (Method::GET, "/nacos/v1/core/cluster/nodes", vec![]),
        (Method::GET, "/nacos/v1/auth/users", vec![("pageNo", "1"), ("pageSize", "10")]),
        (Method::POST, "/nacos/v1/auth/users", vec![("username", "x"), ("password", "x")]),
    ] {
        let (code, body) = status(&node, method.clone(), path, None, &form);
        assert_eq!((code, body.as_str()), (StatusCode::FORBIDDEN, "user not found!"), "{method} {path}");
    }
    // A token claiming to be the administrator's, signed with nothing.
    let forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJuYWNvcyIsImV4cCI6OTk5OTk5OTk5OX0.AAAA";
    let (code, body) =
        status(&node, Method::GET, "/nacos/v1/cs/configs", Some(forged), &[("dataId", "a"), ("group", "G")]);
    assert_eq!((code, body.as_str()), (StatusCode::FORBIDDEN, "Invalid signature"));
    // `alg: none`, unsigned: refused for its algorithm.
    let unsigned = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJuYWNvcyIsImV4cCI6OTk5OTk5OTk5OX0.";
    let (code, body) =
        status(&node, Method::GET, "/nacos/v1/cs/configs", Some(unsigned), &[("dataId", "a"), ("group", "G")]);
    assert_eq!((code, body.as_str()), (StatusCode::FORBIDDEN, "unsupported signature algorithm"));
    let (code, body) =
        status(&node, Method::GET, "/nacos/v1/cs/configs", Some("not.a.token"), &[("dataId", "a"), ("group", "G")]);
    assert_eq!((code, body.as_str()), (StatusCode::FORBIDDEN, "unsupported signature algorithm"));
    let (code, body) =
        status(&node, Method::GET, "/nacos/v1/cs/configs", Some("garbage"), &[("dataId", "a"), ("group", "G")]);
    assert_eq!((code, body.as_str()), (StatusCode::FORBIDDEN, "token invalid!"));
    assert_eq!(status(&node, Method::GET, "/nacos/v1/console/health/readiness", None, &[]).0, StatusCode::OK);
    assert_eq!(status(&node, Method::GET, "/nacos/v1/console/namespaces", None, &[]).0, StatusCode::OK, "as Java");
    let (code, body) = status(&node, Method::GET, "/nacos/v1/cs/configs", None, &[("dataId", "a"), ("group", "G")]);
    assert_eq!(code, StatusCode::FORBIDDEN, "{body}");

    // Nothing was written by the refused requests; the administrator may do all of it.
    assert_eq!(
        status(&node, Method::GET, "/nacos/v1/cs/configs", Some(&admin), &[("dataId", "a"), ("group", "G")]).0,
        StatusCode::NOT_FOUND
    );
    let publish = [("dataId", "a"), ("group", "G"), ("content", "x")];
    assert_eq!(ok(&node, Method::POST, "/nacos/v1/cs/configs", &admin, &publish), "true");
    ok(&node, Method::GET, "/nacos/v1/core/cluster/nodes", &admin, &[]);
    ok(&node, Method::PUT, "/nacos/v1/ns/operator/switches", &admin, &[("entry", "checkTimes"), ("value", "4")]);
    let bearer = node.http().get(node.url("/nacos/v1/cs/configs?dataId=a&group=G")).bearer_auth(&admin).send().unwrap();
    assert_eq!(bearer.text().unwrap(), "x", "the token in Authorization: Bearer");
}

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

/// What an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    Read,
    Write,
    /// Any known user (the SDKs' health check).
    User,
    Admin,
}

/// Request parameters.
type Form<'a> = Vec<(&'a str, &'a str)>;

/// Every HTTP endpoint family, on namespace `dev` where it names one: the one list the
/// access test walks.
fn endpoints() -> Vec<(Method, &'static str, Form<'static>, Needs)> {
    use Needs::*;
    let config = vec![("tenant", "dev"), ("dataId", "app.yaml"), ("group", "G")];
    let config3 = vec![("namespaceId", "dev"), ("dataId", "app.yaml"), ("groupName", "G")];
    let service = vec![("namespaceId", "dev"), ("groupName", "G"), ("serviceName", "svc")];
    let instance =
        vec![("namespaceId", "dev"), ("groupName", "G"), ("serviceName", "svc"), ("ip", "127.0.0.1"), ("port", "81")];
    vec![
        (Method::GET, "/nacos/v1/cs/configs", config.clone(), Read),
        (
            Method::GET,
            "/nacos/v1/cs/configs",
            vec![("search", "accurate"), ("tenant", "dev"), ("dataId", ""), ("group", "")],
            Read,
        ),
        (
            Method::GET,
            "/nacos/v2/cs/config",
            vec![("namespaceId", "dev"), ("dataId", "app.yaml"), ("group", "G")],
            Read,
        ),
        (Method::GET, "/nacos/v3/client/cs/config", config3.clone(), Read),
        (Method::GET, "/nacos/v3/admin/cs/config", config3.clone(), Read),
        (Method::GET, "/nacos/v3/admin/cs/config/list", vec![("namespaceId", "dev")], Read),
        (
            Method::GET,
            "/nacos/v1/cs/history",
            vec![("search", "accurate"), ("tenant", "dev"), ("dataId", "app.yaml"), ("group", "G")],
            Read,
        ),
        (Method::GET, "/nacos/v3/admin/cs/history/list", config3.clone(), Read),
        (Method::GET, "/nacos/v1/cs/configs/listener", config.clone(), Read),
        (Method::GET, "/nacos/v1/cs/listener", vec![("ip", "127.0.0.1"), ("tenant", "dev")], Read),
        (
            Method::POST,
            "/nacos/v1/cs/configs/listener",
            vec![("Listening-Configs", "app.yaml\u{2}G\u{2}\u{2}dev\u{1}")],
            Read,
        ),
        (Method::GET, "/nacos/v1/ns/instance/list", vec![("namespaceId", "dev"), ("serviceName", "G@@svc")], Read),
        (Method::GET, "/nacos/v2/ns/instance/list", service.clone(), Read),
        (Method::GET, "/nacos/v3/client/ns/instance/list", service.clone(), Read),
        (Method::GET, "/nacos/v1/ns/service", service.clone(), Read),
        (
            Method::GET,
            "/nacos/v1/ns/service/list",
            vec![("namespaceId", "dev"), ("pageNo", "1"), ("pageSize", "10")],
            Read,
        ),
        (Method::GET, "/nacos/v1/ns/catalog/services", vec![("namespaceId", "dev")], Read),
        (
            Method::POST,
            "/nacos/v1/cs/configs",
            vec![("tenant", "dev"), ("dataId", "w1"), ("group", "G"), ("content", "x")],
            Write,
        ),
        (
            Method::POST,
            "/nacos/v2/cs/config",
            vec![("namespaceId", "dev"), ("dataId", "w2"), ("group", "G"), ("content", "x")],
            Write,
        ),
        (
            Method::POST,
            "/nacos/v3/admin/cs/config",
            vec![("namespaceId", "dev"), ("dataId", "w3"), ("groupName", "G"), ("content", "x")],
            Write,
        ),
        (Method::DELETE, "/nacos/v1/cs/configs", vec![("tenant", "dev"), ("dataId", "w1"), ("group", "G")], Write),
        (Method::POST, "/nacos/v1/ns/instance", instance.clone(), Write),
        (Method::DELETE, "/nacos/v1/ns/instance", instance, Write),
        (
            Method::POST,
            "/nacos/v1/ns/service",
            vec![("namespaceId", "dev"), ("groupName", "G"), ("serviceName", "svc2")],
            Write,
        ),
        (Method::GET, "/nacos/v1/ns/operator/metrics", vec![], User),
        (Method::GET, "/nacos/v1/ns/operator/switches", vec![], Admin),
        (Method::GET, "/nacos/v2/ns/client/list", vec![], Admin),
        (Method::GET, "/nacos/v1/core/cluster/nodes", vec![], Admin),
        (Method::GET, "/nacos/v2/core/cluster/node/list", vec![], Admin),
        (Method::GET, "/nacos/v3/admin/core/cluster/node/list", vec![], Admin),
        (
            Method::POST,
            "/nacos/v1/console/namespaces",
            vec![("customNamespaceId", "made"), ("namespaceName", "made")],
            Admin,
        ),
        (Method::GET, "/nacos/v1/auth/users", vec![("pageNo", "1"), ("pageSize", "10")], Admin),
        (Method::GET, "/nacos/v1/auth/roles", vec![("pageNo", "1"), ("pageSize", "10")], Admin),
        (Method::GET, "/nacos/v1/auth/permissions", vec![("pageNo", "1"), ("pageSize", "10")], Admin),
        (Method::POST, "/nacos/v1/auth/users", vec![("username", "made"), ("password", "made-pw")], Admin),
        (Method::GET, "/nacos/v3/auth/user/list", vec![], Admin),
    ]
}

/// A node with a config and a service in `dev`, the administrator's token, a reader of
/// `dev` and a user with every right on namespace `other` only.
fn populated(dir: &std::path::Path) -> (Nacosd, [String; 3]) {
    let node = start(dir, Some(ADMIN_PASSWORD));
    let admin = admin_token(&node);
    dev_reader(&node, &admin);
    ok(
        &node,
        Method::POST,
        "/nacos/v1/console/namespaces",
        &admin,
        &[("customNamespaceId", "other"), ("namespaceName", "Other")],
    );
    let register =
        [("namespaceId", "dev"), ("groupName", "G"), ("serviceName", "svc"), ("ip", "127.0.0.1"), ("port", "80")];
    ok(&node, Method::POST, "/nacos/v1/ns/instance", &admin, &register);
    ok(&node, Method::POST, "/nacos/v1/auth/users", &admin, &[("username", "outsider"), ("password", "out-pw")]);
    ok(&node, Method::POST, "/nacos/v1/auth/roles", &admin, &[("role", "OTHER"), ("username", "outsider")]);
    ok(
        &node,
        Method::POST,
        "/nacos/v1/auth/permissions",
        &admin,
        &[("role", "OTHER"), ("resource", "other:*:*"), ("action", "rw")],
    );
    let reader = login(&node, "dev", "dev-pw").unwrap();
    let outsider = login(&node, "outsider", "out-pw").unwrap();
    (node, [admin, reader, outsider])
}

#[test]
fn every_endpoint_family_answers_by_who_asks() {
    let dir = tempfile::tempdir().unwrap();
    let (node, [admin, reader, outsider]) = populated(dir.path());
    let refused = |token: Option<&str>, method: &Method, path: &str, params: &[(&str, &str)]| {
        let (code, body) = status(&node, method.clone(), path, token, params);
        assert!(!code.is_server_error(), "{method} {path}: {code} {body}");
        code == StatusCode::FORBIDDEN
    };
    for (method, path, params, needs) in endpoints() {
        let what = format!("{method} {path} {params:?}");
        assert!(refused(None, &method, path, &params), "no token: {what}");
        assert_eq!(
            refused(Some(&reader), &method, path, &params),
            !matches!(needs, Needs::Read | Needs::User),
            "reader of dev: {what}"
        );
        assert_eq!(
            refused(Some(&outsider), &method, path, &params),
            needs != Needs::User,
            "user of another namespace: {what}"
        );
    }
    // The refused writes wrote nothing.
    let refused_write = [("tenant", "dev"), ("dataId", "w1"), ("group", "G")];
    assert_eq!(
        status(&node, Method::GET, "/nacos/v1/cs/configs", Some(&admin), &refused_write).0,
        StatusCode::NOT_FOUND
    );
    for (method, path, params, _) in endpoints() {
        assert!(!refused(Some(&admin), &method, path, &params), "the administrator: {method} {path}");
    }
}

#[test]
fn every_grpc_request_type_answers_by_who_asks() {
    use crate::t70_grpc_protocol::{payload, runtime, unary, RawClient};
    use serde_json::json;

    let dir = tempfile::tempdir().unwrap();
    let (node, [admin, reader, outsider]) = populated(dir.path());
    let instance =
        json!({ "ip": "127.0.0.1", "port": 82, "weight": 1.0, "enabled": true, "healthy": true, "ephemeral": true });
    let persistent =
        json!({ "ip": "127.0.0.1", "port": 83, "weight": 1.0, "enabled": true, "healthy": true, "ephemeral": false });
    let service = json!({ "namespace": "dev", "groupName": "G", "serviceName": "svc" });
    let with = |base: &serde_json::Value, extra: serde_json::Value| {
        let mut merged = base.clone();
        merged.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        merged
    };
    let requests = [
        ("ConfigQueryRequest", json!({ "dataId": "app.yaml", "group": "G", "tenant": "dev" }), Needs::Read),
        (
            "ConfigBatchListenRequest",
            json!({ "listen": true, "configListenContexts": [{ "dataId": "app.yaml", "group": "G", "tenant": "dev", "md5": "" }] }),
            Needs::Read,
        ),
        (
            "ConfigFuzzyWatchRequest",
            json!({ "groupKeyPattern": "dev>>G>>*", "watchType": "WATCH", "initializing": true }),
            Needs::Read,
        ),
        ("SubscribeServiceRequest", with(&service, json!({ "subscribe": true, "clusters": "" })), Needs::Read),
        ("ServiceQueryRequest", with(&service, json!({ "cluster": "", "healthyOnly": false })), Needs::Read),
        (
            "ServiceListRequest",
            json!({ "namespace": "dev", "groupName": "G", "pageNo": 1, "pageSize": 10 }),
            Needs::Read,
        ),
        (
            "NamingFuzzyWatchRequest",
            json!({ "namespace": "dev", "groupKeyPattern": "dev>>G>>*", "watchType": "WATCH", "initializing": true }),
            Needs::Read,
        ),
        (
            "ConfigPublishRequest",
            json!({ "dataId": "g1", "group": "G", "tenant": "dev", "content": "x" }),
            Needs::Write,
        ),
        ("ConfigRemoveRequest", json!({ "dataId": "g1", "group": "G", "tenant": "dev" }), Needs::Write),
        ("InstanceRequest", with(&service, json!({ "type": "registerInstance", "instance": instance })), Needs::Write),
        (
            "BatchInstanceRequest",
            with(&service, json!({ "type": "batchRegisterInstance", "instances": [instance] })),
            Needs::Write,
        ),
        (
            "PersistentInstanceRequest",
            with(&service, json!({ "serviceName": "psvc", "type": "registerInstance", "instance": persistent })),
            Needs::Write,
        ),
    ];
    runtime().block_on(async {
        let client = RawClient::connect(&node).await;
        let call = |kind: &'static str, body: &serde_json::Value, token: Option<&str>| {
            let mut body = body.clone();
            if let Some(token) = token {
                body["headers"] = json!({ "accessToken": token });
            }
            let channel = client.channel.clone();
            async move { unary(&channel, payload(kind, &body)).await }
        };
        for (kind, body, needs) in &requests {
            let (_, answer) = call(kind, body, None).await;
            assert_eq!(
                (answer["errorCode"].as_i64(), answer["message"].as_str()),
                (Some(403), Some("user not found!")),
                "{kind}"
            );
            let (_, answer) = call(kind, body, Some(&reader)).await;
            assert_eq!(answer["errorCode"] == 403, *needs == Needs::Write, "reader of dev: {kind}: {answer}");
            let (_, answer) = call(kind, body, Some(&outsider)).await;
            assert_eq!(answer["errorCode"], 403, "user of another namespace: {kind}: {answer}");
        }
        for (kind, body, _) in &requests {
            let (_, answer) = call(kind, body, Some(&admin)).await;
            assert_eq!(answer["resultCode"], 200, "the administrator: {kind}: {answer}");
        }
    });
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
