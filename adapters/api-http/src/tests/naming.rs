//! Naming routes against mocks of the registry's driving ports: which use case each route
//! calls with which arguments, nothing called on bad input, and the answer's shape.

use std::sync::Arc;

use domain::config::{ConnectionId, Namespace};
use domain::naming::{
    compute_view, ClusterName, InstanceAddress, InstanceDraft, Registrant, ServiceKey, Subscriber, SubscriberId,
    ViewQuery,
};
use domain::paging::{Page, PageRequest, DEFAULT_NAMING_PAGE_SIZE};
use domain::Millis;
use ports::naming::{BeatReply, NamingServiceError, ServiceSummary, SharedView};
use serde_json::Value;
use warp::http::StatusCode;

use super::Mocks;

async fn call(mocks: Mocks, method: &str, path: &str) -> (StatusCode, String) {
    let response = warp::test::request().method(method).path(path).reply(&mocks.api().routes()).await;
    (response.status(), String::from_utf8_lossy(response.body()).into_owned())
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap()
}

fn key(name: &str) -> ServiceKey {
    ServiceKey::parse(None, None, Some(name)).unwrap()
}

fn empty_view(service: &ServiceKey) -> Arc<SharedView> {
    Arc::new(SharedView::new(compute_view(service, None, std::iter::empty(), &ViewQuery::default(), None, Millis(7))))
}

#[tokio::test]
async fn an_http_registration_goes_to_the_registry_as_http_with_the_draft_as_sent() {
    let mut mocks = Mocks::default();
    mocks
        .registry
        .expect_register()
        .withf(|registrant, service, draft| {
            *registrant == Registrant::Http
                && service.name.as_str() == "orders"
                && service.namespace.as_str() == "dev"
                && draft.ip.as_deref() == Some("127.0.0.1")
                && draft.port == Some(8080)
                && draft.ephemeral == Some(false)
                && draft.metadata.get("zone").map(String::as_str) == Some("a")
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    let path = "/nacos/v1/ns/instance?serviceName=orders&namespaceId=dev&ip=127.0.0.1&port=8080&ephemeral=false\
                &metadata=%7B%22zone%22%3A%22a%22%7D";
    assert_eq!(call(mocks, "POST", path).await, (StatusCode::OK, "ok".to_owned()));
}

#[tokio::test]
async fn v2_wraps_the_same_call_in_its_envelope() {
    let mut mocks = Mocks::default();
    mocks.registry.expect_register().times(1).returning(|_, _, _| Ok(()));
    let (status, body) = call(mocks, "POST", "/nacos/v2/ns/instance?serviceName=s&ip=127.0.0.1&port=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["data"], "ok");
}

#[tokio::test]
async fn bad_input_reaches_no_use_case() {
    for (method, path, needle) in [
        ("POST", "/nacos/v1/ns/instance?ip=127.0.0.1&port=1", "serviceName"),
        ("POST", "/nacos/v1/ns/instance?serviceName=s&ip=127.0.0.1&port=x", "port"),
        ("POST", "/nacos/v1/ns/instance?serviceName=s&ip=127.0.0.1&port=1&weight=NaN", "weight"),
        ("POST", "/nacos/v1/ns/instance?serviceName=s&ip=127.0.0.1&port=1&metadata=%7Bbroken", "metadata"),
        ("DELETE", "/nacos/v1/ns/instance?serviceName=s&port=1", "ip"),
        ("DELETE", "/nacos/v1/ns/instance?serviceName=s&ip=127.0.0.1&port=1&clusterName=a_b", "cluster"),
        ("PUT", "/nacos/v1/ns/instance/beat?serviceName=s&beat=%7Bnot-json", "beat"),
        ("PUT", "/nacos/v1/ns/health/instance?serviceName=s&ip=127.0.0.1&port=1", "healthy"),
        ("GET", "/nacos/v1/ns/instance/list?serviceName=s&healthyOnly=maybe", "healthyOnly"),
        ("GET", "/nacos/v1/ns/catalog/services?pageNo=first", "pageNo"),
        ("POST", "/nacos/v1/ns/service?serviceName=s&protectThreshold=2", "protect"),
    ] {
        // No expectations: any call into a mock fails the test.
        let (status, body) = call(Mocks::default(), method, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}: {body}");
        assert!(body.to_lowercase().contains(&needle.to_lowercase()), "{method} {path}: {body}");
    }
}

#[tokio::test]
async fn deregistration_is_ephemeral_unless_asked_and_names_the_address() {
    let mut mocks = Mocks::default();
    let address = InstanceAddress::parse(Some("127.0.0.1"), Some(9), Some("east")).unwrap();
    mocks
        .registry
        .expect_deregister()
        .withf(move |service, at, ephemeral| service.name.as_str() == "s" && *at == address && *ephemeral)
        .times(1)
        .returning(|_, _, _| Ok(()));
    let path = "/nacos/v1/ns/instance?serviceName=s&ip=127.0.0.1&port=9&clusterName=east";
    assert_eq!(call(mocks, "DELETE", path).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_beat_carries_its_instance_and_answers_the_registry_verdict() {
    let mut mocks = Mocks::default();
    mocks
        .registry
        .expect_beat()
        .withf(|service, address, full| {
            service.name.as_str() == "s"
                && address.ip == "127.0.0.1"
                && address.port == 7
                && full.as_ref().is_some_and(|draft: &InstanceDraft| draft.port == Some(7))
        })
        .times(1)
        .returning(|_, _, _| Ok(BeatReply { known: false, interval: 5000 }));
    let beat = "%7B%22ip%22%3A%22127.0.0.1%22%2C%22port%22%3A7%2C%22serviceName%22%3A%22s%22%7D";
    let (status, body) = call(mocks, "PUT", &format!("/nacos/v1/ns/instance/beat?serviceName=s&beat={beat}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["code"], 20404, "unknown instance: register again");
    assert_eq!(json(&body)["clientBeatInterval"], 5000);
}

#[tokio::test]
async fn a_udp_list_refreshes_the_subscription_and_answers_the_view() {
    let mut mocks = Mocks::default();
    mocks
        .subscriptions
        .expect_refresh_udp()
        .withf(|id, service, subscriber: &Subscriber| {
            *id == SubscriberId::Udp { ip: "127.0.0.5".into(), port: 4000 }
                && service.name.as_str() == "s"
                && subscriber.clusters == "a,b"
        })
        .times(1)
        .return_const(());
    mocks
        .queries
        .expect_view()
        .withf(|_, query| query.clusters == "a,b" && query.healthy_only)
        .times(1)
        .returning(|service, _| empty_view(service));
    let path = "/nacos/v1/ns/instance/list?serviceName=s&clusters=a,b&healthyOnly=true&udpPort=4000&clientIP=127.0.0.5";
    let (status, body) = call(mocks, "GET", path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["lastRefTime"], 7);
}

#[tokio::test]
async fn lists_page_with_one_default_and_report_the_domain_protect_flag() {
    let mut mocks = Mocks::default();
    mocks
        .queries
        .expect_services()
        .withf(|namespace, group, filter, page| {
            *namespace == Namespace::public()
                && group.is_none()
                && filter == "ord"
                && *page == PageRequest::new(None, None, DEFAULT_NAMING_PAGE_SIZE)
        })
        .times(1)
        .returning(|_, _, _, page| {
            let summary = ServiceSummary {
                service: key("orders"),
                meta: None,
                clusters: vec!["DEFAULT".into()],
                instance_count: 2,
                healthy_count: 2,
                protect_triggered: true,
            };
            Page::from_parts(41, page, vec![summary])
        });
    let (status, body) = call(mocks, "GET", "/nacos/v1/ns/catalog/services?serviceNameParam=ord").await;
    assert_eq!(status, StatusCode::OK);
    let body = json(&body);
    assert_eq!(body["count"], 41);
    assert_eq!(body["serviceList"][0]["triggerFlag"], "true", "the flag is the domain's, not recomputed here");
}

#[tokio::test]
async fn subscribers_and_instances_come_paged_from_the_services() {
    let mut mocks = Mocks::default();
    mocks
        .subscriptions
        .expect_subscribers()
        .withf(|_, page| page.page_no() == 2 && page.page_size() == 500)
        .times(1)
        .returning(|_, page| {
            let subscriber = Subscriber { clusters: String::new(), client_ip: "127.0.0.2".into(), app: "shop".into() };
            Page::from_parts(501, page, vec![(SubscriberId::Connection(ConnectionId::new("c1")), subscriber)])
        });
    let path = "/nacos/v1/ns/service/subscribers?serviceName=s&pageNo=2&pageSize=100000";
    let (status, body) = call(mocks, "GET", path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["count"], 501);
    assert_eq!(json(&body)["subscribers"][0]["addrStr"], "c1");

    let mut mocks = Mocks::default();
    mocks
        .queries
        .expect_instances()
        .withf(|_, cluster, _| cluster.as_deref() == Some("east"))
        .times(1)
        .returning(|_, _, page| Page::from_parts(0, page, Vec::new()));
    let (status, body) = call(mocks, "GET", "/nacos/v1/ns/catalog/instances?serviceName=s&clusterName=east").await;
    assert_eq!((status, json(&body)["count"].clone()), (StatusCode::OK, Value::from(0)));
}

#[tokio::test]
async fn not_found_answers_carry_nacos_wording() {
    let mut mocks = Mocks::default();
    mocks.registry.expect_update_or_register().times(1).returning(|service, address, _, _, _| {
        Err(NamingServiceError::InstanceNotFound {
            service: service.grouped_name(),
            ip: address.ip.clone(),
            port: address.port,
        })
    });
    let (status, body) = call(mocks, "PUT", "/nacos/v1/ns/instance?serviceName=s&ip=127.0.0.1&port=3").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("no matched ip found! 127.0.0.1:3 in DEFAULT_GROUP@@s"), "{body}");

    let mut mocks = Mocks::default();
    mocks
        .queries
        .expect_instance()
        .withf(|_, ip, port, cluster| ip == "127.0.0.1" && *port == 3 && cluster.is_none())
        .times(1)
        .returning(|_, _, _, _| None);
    let (status, body) = call(mocks, "GET", "/nacos/v2/ns/instance?serviceName=s&ip=127.0.0.1&port=3").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json(&body)["code"], 20004);
}

#[tokio::test]
async fn health_is_set_through_the_registry_whatever_the_kind() {
    let mut mocks = Mocks::default();
    mocks
        .registry
        .expect_set_health()
        .withf(|_, address, healthy| address.cluster == ClusterName::default() && !*healthy)
        .times(1)
        .returning(|_, _, _| Ok(()));
    let path = "/nacos/v1/ns/health/instance?serviceName=s&ip=127.0.0.1&port=3&healthy=false";
    assert_eq!(call(mocks, "PUT", path).await, (StatusCode::OK, "ok".to_owned()));
}

#[tokio::test]
async fn the_service_api_forwards_metadata_and_refuses_what_the_domain_refuses() {
    let mut mocks = Mocks::default();
    mocks
        .registry
        .expect_create_service()
        .withf(|service, meta| {
            service.name.as_str() == "s"
                && (meta.protect_threshold.value() - 0.4).abs() < f64::EPSILON
                && meta.metadata.get("k").map(String::as_str) == Some("v")
                && !meta.ephemeral
        })
        .times(1)
        .returning(|_, _| Ok(()));
    mocks.registry.expect_update_service().withf(|_, meta| meta.ephemeral).times(1).returning(|_, _| Ok(()));
    mocks.registry.expect_remove_service().times(1).returning(|service| {
        Err(NamingServiceError::Rejected(domain::Rejection::ServiceNotEmpty(service.grouped_name())))
    });
    let api = mocks.api().routes();
    let send = |method: &str, path: &str| warp::test::request().method(method).path(path).reply(&api);
    let created = send("POST", "/nacos/v1/ns/service?serviceName=s&protectThreshold=0.4&metadata=k%3Dv").await;
    assert_eq!(created.status(), StatusCode::OK);
    let updated = send("PUT", "/nacos/v2/ns/service?serviceName=s&ephemeral=true").await;
    assert_eq!(updated.status(), StatusCode::OK);
    let removed = send("DELETE", "/nacos/v1/ns/service?serviceName=s").await;
    assert_eq!(removed.status(), StatusCode::BAD_REQUEST);
    // v1's update names its threshold; without it nothing is called.
    let refused = send("PUT", "/nacos/v1/ns/service?serviceName=s").await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_service_is_read_from_its_summary_and_a_missing_one_is_not_found() {
    let mut mocks = Mocks::default();
    mocks.queries.expect_service().withf(|service| service.name.as_str() == "gone").returning(|_| None);
    mocks.queries.expect_service().withf(|service| service.name.as_str() == "here").returning(|service| {
        Some(ServiceSummary {
            service: service.clone(),
            meta: None,
            clusters: vec!["east".into()],
            instance_count: 1,
            healthy_count: 1,
            protect_triggered: false,
        })
    });
    let api = mocks.api().routes();
    let here = warp::test::request().path("/nacos/v2/ns/service?serviceName=here").reply(&api).await;
    let body = json(&String::from_utf8_lossy(here.body()));
    assert_eq!(body["data"]["clusterMap"]["east"]["name"], "east");
    let gone = warp::test::request().path("/nacos/v1/ns/service?serviceName=gone").reply(&api).await;
    assert_eq!(gone.status(), StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(gone.body()).contains("service not found"));
}

#[tokio::test]
async fn the_service_list_and_metrics_read_the_queries() {
    let mut mocks = Mocks::default();
    mocks
        .queries
        .expect_services()
        .withf(|_, group, _, page| group.as_deref() == Some("DEFAULT_GROUP") && page.page_size() == 2)
        .times(1)
        .returning(|_, _, _, page| {
            let summary = |name: &str| ServiceSummary {
                service: key(name),
                meta: None,
                clusters: Vec::new(),
                instance_count: 0,
                healthy_count: 0,
                protect_triggered: false,
            };
            Page::from_parts(3, page, vec![summary("a"), summary("b")])
        });
    mocks.queries.expect_metrics().times(1).returning(|| ports::naming::NamingMetrics {
        service_count: 3,
        instance_count: 7,
        ..Default::default()
    });
    let api = mocks.api().routes();
    let list = warp::test::request().path("/nacos/v1/ns/service/list?pageNo=1&pageSize=2").reply(&api).await;
    assert_eq!(json(&String::from_utf8_lossy(list.body())), serde_json::json!({ "count": 3, "doms": ["a", "b"] }));
    let metrics = warp::test::request().path("/nacos/v1/ns/operator/metrics?onlyStatus=false").reply(&api).await;
    assert_eq!(json(&String::from_utf8_lossy(metrics.body()))["instanceCount"], 7);
}
