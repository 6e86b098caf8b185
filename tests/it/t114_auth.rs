//! Authorisation on a real node with auth on, endpoint by endpoint: nothing but login, the
//! first-admin initialisation and health answers without a token; every HTTP endpoint
//! family and every gRPC request type, each from one list, answers by who asks (no token,
//! a reader of one namespace, a user of another, the administrator); forged, unsigned and
//! malformed tokens are refused. The helpers here serve `t115_auth_users` too.

use std::time::{Duration, Instant};

use reqwest::blocking::Response;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tests::Nacosd;

/// 32 bytes, base64.
pub(crate) const SECRET: &str = "U2VjcmV0S2V5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=";
pub(crate) const ADMIN_PASSWORD: &str = "Adm1n-pw";

pub(crate) fn start(dir: &std::path::Path, admin_password: Option<&str>) -> Nacosd {
    let mut args = vec!["--auth-enabled", "--auth-token-secret", SECRET];
    if let Some(password) = admin_password {
        args.extend(["--auth-admin-password", password]);
    }
    Nacosd::start_with(&dir.join("node"), &args)
}

pub(crate) fn send(node: &Nacosd, method: Method, path: &str, token: Option<&str>, form: &[(&str, &str)]) -> Response {
    let mut request = node.http().request(method, node.url(path)).form(form);
    if let Some(token) = token {
        request = request.query(&[("accessToken", token)]);
    }
    request.send().unwrap()
}

pub(crate) fn status(
    node: &Nacosd,
    method: Method,
    path: &str,
    token: Option<&str>,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let response = send(node, method, path, token, form);
    (response.status(), response.text().unwrap())
}

pub(crate) fn login(node: &Nacosd, username: &str, password: &str) -> Result<String, (StatusCode, String)> {
    let (code, body) =
        status(node, Method::POST, "/nacos/v1/auth/login", None, &[("username", username), ("password", password)]);
    if code != StatusCode::OK {
        return Err((code, body));
    }
    let body: Value = serde_json::from_str(&body).unwrap();
    Ok(body["accessToken"].as_str().unwrap().to_owned())
}

/// Logs in as the administrator once the node has made it (from its flag, through raft).
pub(crate) fn admin_token(node: &Nacosd) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match login(node, "nacos", ADMIN_PASSWORD) {
            Ok(token) => return token,
            Err(err) => assert!(Instant::now() < deadline, "the administrator never appeared: {err:?}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn ok(node: &Nacosd, method: Method, path: &str, token: &str, form: &[(&str, &str)]) -> String {
    let (code, body) = status(node, method, path, Some(token), form);
    assert_eq!(code, StatusCode::OK, "{path}: {body}");
    body
}

/// A user `dev` whose role `DEV` may read namespace `dev`, and a config there.
pub(crate) fn dev_reader(node: &Nacosd, admin: &str) {
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
pub(crate) type Form<'a> = Vec<(&'a str, &'a str)>;

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
        (Method::GET, "/nacos/v1/cs/configs", vec![("export", "true"), ("tenant", "dev")], Read),
        (Method::GET, "/nacos/v1/cs/configs", vec![("exportV2", "true"), ("tenant", "dev")], Read),
        // No file: allowed callers are answered Nacos's "empty file" code, with 200.
        (Method::POST, "/nacos/v1/cs/configs", vec![("import", "true"), ("namespace", "dev")], Write),
        // No JSON body: allowed callers get a 400.
        (Method::POST, "/nacos/v1/cs/configs", vec![("clone", "true"), ("tenant", "dev")], Write),
        (Method::GET, "/nacos/v1/console/overview", vec![], User),
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
