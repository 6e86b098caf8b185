//! Config routes against a mocked config service: what reaches the service, and what the
//! client sees, without raft or sockets.

use std::sync::Arc;

use domain::config::{md5_hex, Config, ConfigLimits, ConfigType};
use domain::{Millis, Rejection};
use ports::config::{ConfigServiceError, MockConfigService};
use ports::consensus::ConsensusError;
use warp::http::StatusCode;

use super::Mocks;
use crate::HttpApi;

fn api(config: MockConfigService) -> HttpApi {
    Mocks { config, ..Mocks::default() }.api()
}

fn limited(mut service: MockConfigService) -> MockConfigService {
    service.expect_limits().return_const(ConfigLimits { max_content_bytes: 1024 });
    service
}

async fn post(service: MockConfigService, body: &str) -> (StatusCode, String) {
    let response = warp::test::request()
        .method("POST")
        .path("/nacos/v1/cs/configs")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .reply(&api(service).routes())
        .await;
    (response.status(), String::from_utf8_lossy(response.body()).into_owned())
}

#[tokio::test]
async fn publish_passes_every_field_to_the_service() {
    let mut service = limited(MockConfigService::new());
    service
        .expect_publish()
        .withf(|publish| {
            publish.key.data_id.as_str() == "app.yaml"
                && publish.key.namespace.as_str() == "dev"
                && publish.content == "a: b c"
                && publish.meta.config_type == ConfigType::Yaml
                && publish.meta.app_name == "shop"
                && publish.meta.tags == "x,y"
                && publish.cas_md5.is_none()
        })
        .times(1)
        .returning(|_| Ok(()));
    let body = "dataId=app.yaml&group=DEFAULT_GROUP&tenant=dev&content=a%3A+b+c&type=yaml&appName=shop&config_tags=x,y";
    assert_eq!(post(service, body).await, (StatusCode::OK, "true".to_owned()));
}

#[tokio::test]
async fn parameters_may_come_in_the_query_string_too() {
    let mut service = limited(MockConfigService::new());
    service.expect_publish().times(1).returning(|_| Ok(()));
    let response = warp::test::request()
        .method("POST")
        .path("/nacos/v1/cs/configs?dataId=q&group=DEFAULT_GROUP&content=from-query")
        .reply(&api(service).routes())
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn invalid_input_never_reaches_the_service() {
    for (body, status, needle) in [
        ("group=DEFAULT_GROUP&content=x", StatusCode::BAD_REQUEST, "dataId"),
        ("dataId=d&content=x", StatusCode::BAD_REQUEST, "group"),
        ("dataId=d&group=DEFAULT_GROUP", StatusCode::BAD_REQUEST, "content"),
        ("dataId=a%2Fb&group=DEFAULT_GROUP&content=x", StatusCode::BAD_REQUEST, "dataId"),
        ("dataId=d&group=DEFAULT_GROUP&content=%C3%28", StatusCode::BAD_REQUEST, "UTF-8"),
    ] {
        // No `expect_publish`: a call would fail the test.
        let (got, text) = post(limited(MockConfigService::new()), body).await;
        assert_eq!(got, status, "{body}");
        assert!(text.contains(needle), "{body}: {text}");
    }
    let too_big = format!("dataId=d&group=DEFAULT_GROUP&content={}", "x".repeat(2000));
    assert_eq!(post(limited(MockConfigService::new()), &too_big).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    let body_too_big = format!("dataId=d&group=DEFAULT_GROUP&content={}", "x".repeat(70 * 1024));
    assert_eq!(post(limited(MockConfigService::new()), &body_too_big).await.0, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn service_failures_map_to_nacos_statuses_without_internals() {
    let cases: Vec<(ConfigServiceError, StatusCode, &str)> = vec![
        (Rejection::CasMismatch.into(), StatusCode::INTERNAL_SERVER_ERROR, "Cas publish fail"),
        (ConsensusError::NoLeader.into(), StatusCode::SERVICE_UNAVAILABLE, "retry"),
        (
            ConsensusError::Fatal(Arc::new(std::io::Error::other("disk on fire at /dev/sda"))).into(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "server error",
        ),
        (
            ports::config::HistoryStoreError { what: "record 3".into(), cause: "checksum mismatch in /dev/sda".into() }
                .into(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "stored data could not be read",
        ),
    ];
    for (err, status, needle) in cases {
        let mut service = limited(MockConfigService::new());
        let mut err = Some(err);
        service.expect_publish().times(1).returning(move |_| Err(err.take().unwrap()));
        let (got, text) = post(service, "dataId=d&group=DEFAULT_GROUP&content=x").await;
        assert_eq!(got, status);
        assert!(text.contains(needle), "{text}");
        assert!(!text.contains("/dev/sda"), "internals leaked: {text}");
    }
}

#[tokio::test]
async fn get_answers_content_and_nacos_headers() {
    let mut service = MockConfigService::new();
    service.expect_get_for().returning(|_, _| {
        let config = Arc::new(Config {
            id: 7,
            content: "{\"a\":1}".to_owned(),
            md5: md5_hex("{\"a\":1}"),
            config_type: ConfigType::Json,
            desc: String::new(),
            app_name: String::new(),
            tags: String::new(),
            encrypted_data_key: String::new(),
            details: None,
            created: Millis(0),
            last_modified: Millis(1_700_000_000_000),
        });
        Some((config, None))
    });
    let response = warp::test::request()
        .path("/nacos/v1/cs/configs?dataId=d&group=DEFAULT_GROUP")
        .reply(&api(service).routes())
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body().as_ref(), b"{\"a\":1}");
    assert_eq!(response.headers()["content-md5"], md5_hex("{\"a\":1}").as_str());
    assert_eq!(response.headers()["config-type"], "json");
    assert_eq!(response.headers()["content-type"], "application/json;charset=UTF-8");
    assert!(!response.headers().contains_key("encrypted-data-key"), "only an encrypted config has a data key");
    assert_eq!(response.headers()["last-modified"], "Tue, 14 Nov 2023 22:13:20 GMT");
}

#[tokio::test]
async fn a_missing_config_is_404_with_nacos_text() {
    let mut service = MockConfigService::new();
    service.expect_get_for().returning(|_, _| None);
    let response = warp::test::request()
        .path("/nacos/v1/cs/configs?dataId=d&group=DEFAULT_GROUP")
        .reply(&api(service).routes())
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.body().as_ref(), b"config data not exist\n");
}

#[tokio::test]
async fn login_answers_the_auth_service_s_grant_as_nacos_does() {
    for path in ["/nacos/v1/auth/login?username=nacos&password=x", "/nacos/v1/auth/users/login?username=u"] {
        let mut auth = super::auth_off();
        auth.expect_login().times(1).returning(|username, _, _| {
            Ok(ports::auth::LoginGrant {
                token: "t0k3n".into(),
                ttl_seconds: 18_000,
                global_admin: true,
                username: username.to_owned(),
            })
        });
        let api = Mocks { auth, ..Mocks::default() }.api();
        let response = warp::test::request().method("POST").path(path).reply(&api.routes()).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["accessToken"], "t0k3n");
        assert_eq!(body["tokenTtl"], 18000);
        assert_eq!(response.headers()["authorization"].to_str().unwrap(), "Bearer t0k3n");
    }
    let mut auth = super::auth_off();
    auth.expect_login().returning(|_, _, _| Err(ports::auth::AuthFailure::UnknownUser));
    let api = Mocks { auth, ..Mocks::default() }.api();
    let response = warp::test::request().method("POST").path("/nacos/v1/auth/login").reply(&api.routes()).await;
    assert_eq!((response.status(), response.body().as_ref()), (StatusCode::FORBIDDEN, &b"user not found!"[..]));
}
