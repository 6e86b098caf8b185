//! Every request type: what reaches which use case, with which arguments, and what the
//! client hears; bad input reaches nothing.

use std::sync::Arc;

use domain::config::{ConfigKey, ListenContext, ListenerId};
use domain::naming::{compute_view, InstanceAddress, Registrant, SubscriberId, ViewQuery, DEFAULT_GROUP};
use domain::paging::{Page, PageRequest, DEFAULT_NAMING_PAGE_SIZE};
use domain::Millis;
use ports::config::ConfigServiceError;
use ports::naming::{NamingServiceError, SharedView};
use serde_json::json;

use super::{incoming, remote, Mocks};

fn view(service: &domain::naming::ServiceKey) -> Arc<SharedView> {
    Arc::new(SharedView::new(compute_view(service, None, std::iter::empty(), &ViewQuery::default(), None, Millis(5))))
}

#[tokio::test]
async fn a_publish_reaches_the_config_service_with_every_field() {
    let mut mocks = Mocks::default();
    mocks.config.expect_limits().return_const(domain::config::ConfigLimits::default());
    mocks
        .config
        .expect_publish()
        .withf(|publish| {
            publish.key.data_id.as_str() == "app.yaml"
                && publish.key.group.as_str() == "G"
                && publish.content == "a: 1"
                && publish.cas_md5.as_deref() == Some("abc")
                && publish.meta.app_name == "shop"
        })
        .times(1)
        .returning(|_| Ok(()));
    let client = mocks.client();
    let body = json!({ "dataId": "app.yaml", "group": "G", "content": "a: 1", "casMd5": "abc",
                       "additionMap": { "appName": "shop", "type": null } });
    let (kind, answer) = client.call("ConfigPublishRequest", body).await;
    assert_eq!((kind.as_str(), answer["success"].as_bool()), ("ConfigPublishResponse", Some(true)));
}

#[tokio::test]
async fn bad_config_requests_reach_nothing() {
    let mut mocks = Mocks::default();
    mocks.config.expect_limits().return_const(domain::config::ConfigLimits::default());
    let client = mocks.client();
    for (kind, body, code) in [
        ("ConfigPublishRequest", json!({ "group": "G", "content": "x" }), 400),
        ("ConfigPublishRequest", json!({ "dataId": "d", "group": "G", "content": 5 }), 502),
        (
            "ConfigPublishRequest",
            json!({ "dataId": "d", "group": "G", "content": "x",
                                         "additionMap": { "tag": "not a tag" } }),
            400,
        ),
        (
            "ConfigPublishRequest",
            json!({ "dataId": "d", "group": "G", "content": "x",
                                         "additionMap": { "tag": "t", "betaIps": "127.0.0.1" } }),
            400,
        ),
        (
            "ConfigPublishRequest",
            json!({ "dataId": "d", "group": "G", "content": "x",
                                         "additionMap": { "betaIps": "not-an-ip" } }),
            400,
        ),
        ("ConfigQueryRequest", json!({ "dataId": "a/b", "group": "G" }), 400),
        ("ConfigRemoveRequest", json!({ "dataId": "d" }), 400),
        ("ConfigRemoveRequest", json!({ "dataId": "d", "group": "G", "tag": "a b" }), 400),
        ("ConfigBatchListenRequest", json!({ "configListenContexts": [{ "group": "G" }] }), 400),
    ] {
        let (_, answer) = client.call(kind, body.clone()).await;
        assert_eq!(answer["errorCode"], code, "{kind} {body}: {answer}");
        assert_eq!(answer["success"], false);
    }
}

#[tokio::test]
async fn a_query_reads_for_the_connection_client_ip_and_a_removal_is_forwarded() {
    let mut mocks = Mocks::default();
    mocks
        .config
        .expect_get_for()
        .withf(|key, reader| key.data_id == "d" && reader.ip == "127.0.0.9" && reader.tag.is_empty())
        .times(1)
        .returning(|_, _| None);
    mocks
        .config
        .expect_remove()
        .withf(|key: &ConfigKey| key.data_id.as_str() == "d")
        .times(1)
        .returning(|_| Err(ConfigServiceError::Unavailable(ports::consensus::ConsensusError::NoLeader)));
    let client = mocks.client();
    let (kind, answer) = client.call("ConfigQueryRequest", json!({ "dataId": "d", "group": "G" })).await;
    assert_eq!((kind.as_str(), answer["errorCode"].as_i64()), ("ConfigQueryResponse", Some(300)));
    let (_, answer) = client.call("ConfigRemoveRequest", json!({ "dataId": "d", "group": "G" })).await;
    assert_eq!(answer["errorCode"], 500);
    assert!(answer["message"].as_str().unwrap().contains("leader"));
}

#[tokio::test]
async fn listening_registers_the_connection_as_a_listener_and_answers_what_changed() {
    let mut mocks = Mocks::default();
    mocks
        .listening
        .expect_listen()
        .withf(|listener, ip, tag, contexts: &[ListenContext]| {
            matches!(listener, ListenerId::Connection(_)) && ip == "127.0.0.9" && tag.is_empty() && contexts.len() == 2
        })
        .times(1)
        .returning(|_, _, _, contexts| Ok(contexts[..1].to_vec()));
    mocks
        .listening
        .expect_unlisten()
        .withf(|_, keys| keys.len() == 1 && keys[0].data_id.as_str() == "a")
        .times(1)
        .return_const(());
    let client = mocks.client();
    let contexts = json!([{ "dataId": "a", "group": "G", "tenant": "", "md5": "x" },
                          { "dataId": "b", "group": "G", "md5": null }]);
    let (_, answer) =
        client.call("ConfigBatchListenRequest", json!({ "listen": true, "configListenContexts": contexts })).await;
    assert_eq!(answer["changedConfigs"], json!([{ "dataId": "a", "group": "G", "tenant": "" }]));
    let one = json!([{ "dataId": "a", "group": "G" }]);
    let (_, answer) =
        client.call("ConfigBatchListenRequest", json!({ "listen": false, "configListenContexts": one })).await;
    assert_eq!(answer["success"], true);
}

fn instance_body(kind: &str) -> serde_json::Value {
    json!({ "serviceName": "orders", "groupName": "G", "namespace": "dev", "type": kind,
            "instance": { "ip": "127.0.0.1", "port": 80, "clusterName": "east", "ephemeral": false,
                          "metadata": { "v": "1", "null": null } } })
}

#[tokio::test]
async fn an_instance_request_registers_an_ephemeral_instance_owned_by_the_connection() {
    let mut mocks = Mocks::default();
    mocks
        .registry
        .expect_register()
        .withf(|registrant, service, draft| {
            matches!(registrant, Registrant::Connection(id) if id.as_str().ends_with("_127.0.0.1_50000"))
                && service.grouped_name() == "G@@orders"
                && draft.ephemeral == Some(true)
                && draft.cluster.as_deref() == Some("east")
                && draft.metadata.len() == 1
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    let client = mocks.client();
    let (kind, answer) = client.call("InstanceRequest", instance_body("registerInstance")).await;
    assert_eq!((kind.as_str(), answer["type"].as_str()), ("InstanceResponse", Some("registerInstance")));
}

#[tokio::test]
async fn a_persistent_instance_request_registers_through_the_same_rule_as_persistent() {
    let mut mocks = Mocks::default();
    mocks
        .registry
        .expect_register()
        .withf(|_, _, draft| draft.ephemeral == Some(false))
        .times(1)
        .returning(|_, _, _| Ok(()));
    let expected = InstanceAddress::parse(Some("127.0.0.1"), Some(80), Some("east")).unwrap();
    mocks
        .registry
        .expect_deregister()
        .withf(move |_, address, ephemeral| *address == expected && !*ephemeral)
        .times(1)
        .returning(|_, _, _| Ok(()));
    let client = mocks.client();
    let (_, answer) = client.call("PersistentInstanceRequest", instance_body("registerInstance")).await;
    assert_eq!(answer["success"], true);
    let (_, answer) = client.call("PersistentInstanceRequest", instance_body("deregisterInstance")).await;
    assert_eq!(answer["success"], true);
}

#[tokio::test]
async fn a_batch_replaces_what_the_connection_holds() {
    let mut mocks = Mocks::default();
    mocks
        .registry
        .expect_register_batch()
        .withf(|connection, _, drafts| connection.as_str().ends_with("_50000") && drafts.len() == 2)
        .times(1)
        .returning(|_, _, _| Ok(()));
    let client = mocks.client();
    let body = json!({ "serviceName": "s", "type": "batchRegisterInstance",
                       "instances": [{ "ip": "127.0.0.1", "port": 1 }, { "ip": "127.0.0.1", "port": 2 }] });
    let (kind, answer) = client.call("BatchInstanceRequest", body).await;
    assert_eq!((kind.as_str(), answer["success"].as_bool()), ("BatchInstanceResponse", Some(true)));
}

#[tokio::test]
async fn bad_instance_requests_reach_nothing_and_failures_speak_nacos() {
    let mut mocks = Mocks::default();
    mocks.registry.expect_deregister().times(1).returning(|service, address, _| {
        Err(NamingServiceError::InstanceNotFound { service: service.grouped_name(), ip: address.ip.clone(), port: 80 })
    });
    let client = mocks.client();
    for body in [
        json!({ "serviceName": "s", "type": "updateInstance", "instance": { "ip": "127.0.0.1", "port": 1 } }),
        json!({ "serviceName": "s", "type": "registerInstance" }),
        json!({ "type": "registerInstance", "instance": { "ip": "127.0.0.1", "port": 1 } }),
        json!({ "serviceName": "s", "type": "deregisterInstance", "instance": { "port": 1 } }),
    ] {
        let (_, answer) = client.call("InstanceRequest", body.clone()).await;
        assert_eq!(answer["errorCode"], 400, "{body}: {answer}");
    }
    let (_, answer) = client.call("BatchInstanceRequest", instance_body("registerInstance")).await;
    assert_eq!(answer["errorCode"], 400, "a batch must say batchRegisterInstance");
    let (_, answer) = client.call("InstanceRequest", instance_body("deregisterInstance")).await;
    assert_eq!(answer["message"], "no matched ip found! 127.0.0.1:80 in G@@orders");
}

#[tokio::test]
async fn subscribing_and_unsubscribing_go_to_the_subscriptions_with_the_connection() {
    let mut mocks = Mocks::default();
    mocks
        .subscriptions
        .expect_subscribe()
        .withf(|id, service, subscriber| {
            matches!(id, SubscriberId::Connection(_))
                && service.name.as_str() == "s"
                && subscriber.clusters == "east"
                && subscriber.client_ip == "127.0.0.9"
                && subscriber.app == "shop"
        })
        .times(1)
        .returning(|_, service, _| view(service));
    mocks.subscriptions.expect_unsubscribe().times(1).return_const(());
    mocks
        .queries
        .expect_view()
        .withf(|_, query| query.clusters == "east")
        .times(1)
        .returning(|service, _| view(service));
    let client = mocks.client();
    let body = json!({ "serviceName": "s", "clusters": "east", "subscribe": true, "headers": { "app": "shop" } });
    let (kind, answer) = client.call("SubscribeServiceRequest", body).await;
    assert_eq!(kind, "SubscribeServiceResponse");
    assert_eq!(answer["serviceInfo"]["lastRefTime"], 5);
    let body = json!({ "serviceName": "s", "clusters": "east", "subscribe": false });
    let (_, answer) = client.call("SubscribeServiceRequest", body).await;
    assert_eq!(answer["success"], true);
}

#[tokio::test]
async fn queries_and_lists_read_with_the_client_filters_and_the_shared_page_rule() {
    let mut mocks = Mocks::default();
    mocks
        .queries
        .expect_view()
        .withf(|_, query| query.clusters == "a" && query.healthy_only)
        .times(1)
        .returning(|service, _| view(service));
    mocks
        .queries
        .expect_services()
        .withf(|_, group, filter, page| {
            group.as_deref() == Some(DEFAULT_GROUP)
                && filter.is_empty()
                && *page == PageRequest::new(None, None, DEFAULT_NAMING_PAGE_SIZE)
        })
        .times(1)
        .returning(|_, _, _, page| Page::from_parts(0, page, Vec::new()));
    let client = mocks.client();
    let (_, answer) =
        client.call("ServiceQueryRequest", json!({ "serviceName": "s", "cluster": "a", "healthyOnly": true })).await;
    assert_eq!(answer["success"], true);
    let (kind, answer) = client.call("ServiceListRequest", json!({ "groupName": " " })).await;
    assert_eq!((kind.as_str(), answer["count"].as_u64()), ("ServiceListResponse", Some(0)));
    assert_eq!(answer["serviceNames"], json!([]));
}

#[tokio::test]
async fn a_server_check_answers_the_connection_id_and_unknown_or_unregistered_calls_are_refused() {
    let client = Mocks::default().client();
    let (kind, answer) = client.call("ServerCheckRequest", json!({})).await;
    assert_eq!(kind, "ServerCheckResponse");
    assert_eq!(answer["connectionId"], client.connection.id.as_str());
    let (kind, health) = client.call("HealthCheckRequest", json!({})).await;
    assert_eq!((kind.as_str(), health["success"].as_bool()), ("HealthCheckResponse", Some(true)));
    let (_, answer) = client.call("NoSuchRequest", json!({})).await;
    assert_eq!(answer["errorCode"], 302);
    let stranger = "127.0.0.1:1".parse().unwrap();
    let unregistered =
        crate::handlers::dispatch(&client.api, Some(stranger), incoming("ConfigQueryRequest", &json!({})));
    let (kind, refusal) = super::answer(unregistered.await);
    assert_eq!((kind.as_str(), refusal["errorCode"].as_i64()), ("ErrorResponse", Some(301)));
    let unknown = crate::handlers::dispatch(&client.api, Some(stranger), incoming("NoSuchRequest", &json!({})));
    let (_, refusal) = super::answer(unknown.await);
    assert_eq!(refusal["errorCode"], 302, "an unknown type is refused as unknown before asking to reconnect");
    assert_ne!(stranger, remote());
}

#[tokio::test]
async fn with_auth_on_a_request_is_checked_against_its_resource_with_the_token_it_carries() {
    use domain::auth::{Action, Denied, Resource};
    use ports::auth::AuthFailure;

    let mut auth = super::auth_with(true);
    // The token from the metadata or the body's headers; a write to a service; a read of
    // each listened config, refused at the first.
    auth.expect_check()
        .withf(|credentials, resource, action| {
            credentials.token.as_deref() == Some("t")
                && *action == Action::Write
                && *resource == Resource::Naming { namespace: "dev".into(), group: "G".into(), service: "svc".into() }
        })
        .times(1)
        .returning(|_, _, _| Err(AuthFailure::Denied(Denied::NotPermitted)));
    auth.expect_check()
        .withf(|credentials, resource, action| {
            credentials.token.is_none()
                && *action == Action::Read
                && matches!(resource, Resource::Config { data_id, .. } if data_id == "a")
        })
        .times(1)
        .returning(|_, _, _| Err(AuthFailure::UnknownUser));
    let client = Mocks { auth: Some(auth), ..Mocks::default() }.client();
    let register = json!({
        "namespace": "dev", "groupName": "G", "serviceName": "svc", "type": "registerInstance",
        "headers": { "accessToken": "t" },
        "instance": { "ip": "127.0.0.1", "port": 80 },
    });
    let (kind, answer) = client.call("InstanceRequest", register).await;
    assert_eq!(kind, "InstanceResponse");
    assert_eq!((answer["errorCode"].as_i64(), answer["message"].as_str()), (Some(403), Some("authorization failed!")));
    let listen = json!({ "listen": true, "configListenContexts": [
        { "dataId": "a", "group": "G", "md5": "", "tenant": "" },
        { "dataId": "b", "group": "G", "md5": "", "tenant": "" },
    ]});
    let (kind, answer) = client.call("ConfigBatchListenRequest", listen).await;
    assert_eq!(kind, "ConfigChangeBatchListenResponse");
    assert_eq!((answer["errorCode"].as_i64(), answer["message"].as_str()), (Some(403), Some("user not found!")));
    let (_, health) = client.call("HealthCheckRequest", json!({})).await;
    assert_eq!(health["resultCode"], 200, "health checks are open");
}
