//! Console APIs on a real node: namespaces, config search and history, and that they
//! survive a restart.

use reqwest::StatusCode;
use serde_json::Value;
use tests::Nacosd;

fn json(response: reqwest::blocking::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")))
}

fn publish(node: &Nacosd, tenant: &str, data_id: &str, content: &str) {
    let form = [
        ("dataId", data_id),
        ("group", "DEFAULT_GROUP"),
        ("content", content),
        ("tenant", tenant),
        ("appName", "shop"),
    ];
    assert_eq!(node.http().post(node.url("/nacos/v1/cs/configs")).form(&form).send().unwrap().text().unwrap(), "true");
}

#[test]
fn namespaces_are_created_listed_updated_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Nacosd::start(&dir.path().join("node"));
    let url = node.url("/nacos/v1/console/namespaces");
    let create = [("customNamespaceId", "dev"), ("namespaceName", "Development"), ("namespaceDesc", "for devs")];
    assert_eq!(node.http().post(&url).form(&create).send().unwrap().text().unwrap(), "true");
    assert_eq!(node.http().post(&url).form(&create).send().unwrap().text().unwrap(), "false", "an existing id");
    let bad = [("customNamespaceId", "a b"), ("namespaceName", "x")];
    assert_eq!(node.http().post(&url).form(&bad).send().unwrap().status(), StatusCode::BAD_REQUEST);
    publish(&node, "dev", "in-dev", "x");

    let (status, list) = json(node.http().get(&url).send().unwrap());
    assert_eq!(status, StatusCode::OK);
    let data = list["data"].as_array().unwrap();
    assert_eq!(data[0]["namespace"], "", "public comes first");
    assert_eq!(
        (data[1]["namespace"].as_str(), data[1]["namespaceShowName"].as_str()),
        (Some("dev"), Some("Development"))
    );
    assert_eq!(data[1]["configCount"], 1);

    let update = [("namespace", "dev"), ("namespaceShowName", "Dev"), ("namespaceDesc", "")];
    assert_eq!(node.http().put(&url).form(&update).send().unwrap().text().unwrap(), "true");
    node.kill9();
    node.restart();
    let (_, one) = json(node.http().get(&url).query(&[("show", "all"), ("namespaceId", "dev")]).send().unwrap());
    assert_eq!(one["namespaceShowName"], "Dev", "namespaces go through raft and survive kill -9");

    let (status, v2) = json(node.http().get(node.url("/nacos/v2/console/namespace/list")).send().unwrap());
    assert_eq!((status, v2["code"].as_i64(), v2["data"].as_array().map(Vec::len)), (StatusCode::OK, Some(0), Some(2)));

    assert_eq!(node.http().delete(&url).query(&[("namespaceId", "dev")]).send().unwrap().text().unwrap(), "true");
    assert_eq!(node.http().delete(&url).query(&[("namespaceId", "dev")]).send().unwrap().text().unwrap(), "false");
    let check = node.http().get(&url).query(&[("checkNamespaceIdExist", "true"), ("customNamespaceId", "dev")]);
    assert_eq!(check.send().unwrap().text().unwrap(), "false");
}

#[test]
fn search_pages_and_blurs() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    for i in 0..12 {
        publish(&node, "", &format!("app-{i:02}.yaml"), "x");
    }
    publish(&node, "", "other.properties", "y");
    let search = |mode: &str, data_id: &str, page: &str| {
        let query = [("search", mode), ("dataId", data_id), ("group", ""), ("pageNo", page), ("pageSize", "5")];
        json(node.http().get(node.url("/nacos/v1/cs/configs")).query(&query).send().unwrap()).1
    };
    let all = search("accurate", "", "1");
    assert_eq!((all["totalCount"].as_u64(), all["pagesAvailable"].as_u64()), (Some(13), Some(3)));
    assert_eq!(all["pageItems"].as_array().unwrap().len(), 5);
    let blurred = search("blur", "app-*", "3");
    assert_eq!(blurred["totalCount"], 12);
    assert_eq!(blurred["pageItems"][1]["dataId"], "app-11.yaml");
    assert_eq!(search("accurate", "other.properties", "1")["pageItems"][0]["content"], "y");
    let bad = node.http().get(node.url("/nacos/v1/cs/configs")).query(&[("search", "blur"), ("pageNo", "x")]);
    assert_eq!(bad.send().unwrap().status(), StatusCode::BAD_REQUEST);
}

#[test]
fn history_records_every_change_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Nacosd::start(&dir.path().join("node"));
    publish(&node, "", "h", "v1");
    publish(&node, "", "h", "v2");
    let delete =
        node.http().delete(node.url("/nacos/v1/cs/configs")).query(&[("dataId", "h"), ("group", "DEFAULT_GROUP")]);
    assert_eq!(delete.send().unwrap().text().unwrap(), "true");

    node.kill9();
    node.restart();
    let list = node.url("/nacos/v1/cs/history");
    let query = [("search", "accurate"), ("dataId", "h"), ("group", "DEFAULT_GROUP")];
    let (status, page) = json(node.http().get(&list).query(&query).send().unwrap());
    assert_eq!(status, StatusCode::OK);
    let ops: Vec<(&str, &str)> = page["pageItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (item["opType"].as_str().unwrap(), item["content"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ops,
        vec![("D", "v2"), ("U", "v1"), ("I", "v1")],
        "newest first; updates and deletes keep the old content"
    );

    let newest = page["pageItems"][0]["id"].as_str().unwrap().to_owned();
    let (_, one) = json(node.http().get(&list).query(&[("nid", newest.as_str())]).send().unwrap());
    assert_eq!(one["opType"], "D");
    let previous = node.http().get(node.url("/nacos/v1/cs/history/previous")).query(&[
        ("dataId", "h"),
        ("group", "DEFAULT_GROUP"),
        ("id", newest.as_str()),
    ]);
    assert_eq!(json(previous.send().unwrap()).1["opType"], "U");
    let missing = node.http().get(&list).query(&[("nid", "999999")]).send().unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // A new config after the restart gets a fresh id: ids are never reused.
    publish(&node, "", "after", "x");
    let search = [("search", "accurate"), ("dataId", "after"), ("group", "DEFAULT_GROUP")];
    let (_, found) = json(node.http().get(node.url("/nacos/v1/cs/configs")).query(&search).send().unwrap());
    assert_eq!(found["pageItems"][0]["id"], "1", "id 0 went to the deleted config");
}

/// `GET ?show=all`: the detail the console's edit page reads. Every field a publish stored
/// beside the content (HTTP form or gRPC `additionMap`) comes back, and after a restart;
/// an over-long one is refused and changes nothing.
#[test]
fn config_detail_shows_every_stored_field_and_survives_restart() {
    use crate::t70_grpc_protocol::{payload, runtime, unary, RawClient};

    let dir = tempfile::tempdir().unwrap();
    let mut node = Nacosd::start(&dir.path().join("node"));
    let post = |form: &[(&str, &str)]| node.http().post(node.url("/nacos/v1/cs/configs")).form(form).send().unwrap();
    let form = [
        ("dataId", "app.yaml"),
        ("group", "DEFAULT_GROUP"),
        ("content", "port: 8080"),
        ("type", "yaml"),
        ("appName", "shop"),
        ("desc", "the shop's settings"),
        ("config_tags", "a,b"),
        ("use", "checkout"),
        ("effect", "restart needed"),
        ("schema", "{\"type\":\"object\"}"),
    ];
    assert_eq!(post(&form).text().unwrap(), "true");
    let detail = |node: &Nacosd| {
        let query = [("show", "all"), ("dataId", "app.yaml"), ("group", "DEFAULT_GROUP"), ("tenant", "")];
        json(node.http().get(node.url("/nacos/v1/cs/configs")).query(&query).send().unwrap())
    };
    let shown = |value: &Value| {
        ["content", "type", "appName", "desc", "configTags", "use", "effect", "schema"]
            .map(|field| value[field].as_str().unwrap_or_else(|| panic!("{field} in {value}")).to_owned())
    };
    let expected = [
        "port: 8080",
        "yaml",
        "shop",
        "the shop's settings",
        "a,b",
        "checkout",
        "restart needed",
        "{\"type\":\"object\"}",
    ];
    let (status, body) = detail(&node);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown(&body), expected);
    assert!(body["createTime"].as_u64().unwrap() > 0 && body["modifyTime"].as_u64() >= body["createTime"].as_u64());

    let too_long = "u".repeat(65);
    let refused = post(&[("dataId", "app.yaml"), ("group", "DEFAULT_GROUP"), ("content", "x"), ("use", &too_long)]);
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    node.terminate();
    node.restart();
    assert_eq!(shown(&detail(&node).1), expected, "unchanged by the refusal, and kept across a restart");

    // The gRPC publish takes the same fields from its additionMap.
    runtime().block_on(async {
        let client = RawClient::connect(&node).await;
        let publish = serde_json::json!({
            "dataId": "app.yaml", "group": "DEFAULT_GROUP", "tenant": "", "content": "port: 9090",
            "additionMap": {"type": "yaml", "use": "payments", "effect": "live", "schema": null},
        });
        let (_, body) = unary(&client.channel, payload("ConfigPublishRequest", &publish)).await;
        assert_eq!(body["resultCode"], 200, "{body}");
    });
    let after = shown(&detail(&node).1);
    assert_eq!(after[..2], ["port: 9090", "yaml"]);
    assert_eq!(after[5..], ["payments", "live", ""], "a publish replaces them all, as in Nacos");

    // The history record of that publish keeps the version it replaced, and shows its fields
    // in `extInfo` under the names the console's rollback reads.
    let query = [("search", "accurate"), ("dataId", "app.yaml"), ("group", "DEFAULT_GROUP"), ("tenant", "")];
    let (_, records) = json(node.http().get(node.url("/nacos/v1/cs/history")).query(&query).send().unwrap());
    let newest = &records["pageItems"][0];
    assert_eq!(newest["content"], "port: 8080", "{records}");
    let ext: Value = serde_json::from_str(newest["extInfo"].as_str().unwrap()).unwrap();
    assert_eq!(
        ext,
        serde_json::json!({
            "type": "yaml", "config_tags": "a,b", "c_desc": "the shop's settings", "c_use": "checkout",
            "effect": "restart needed", "c_schema": "{\"type\":\"object\"}",
        })
    );

    let query = [("show", "all"), ("dataId", "missing"), ("group", "DEFAULT_GROUP")];
    let missing = node.http().get(node.url("/nacos/v1/cs/configs")).query(&query).send().unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
