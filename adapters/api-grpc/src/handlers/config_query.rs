//! `ConfigQueryRequest` -> `ConfigQueryResponse`; a missing config is errorCode 300, which
//! the Java client's profile fallback depends on.

use domain::config::{reader_tag, KeyRef, Reader, TAG_LABEL};
use proto::nacos::Payload;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::connections::Connection;
use crate::wire::{self, code, Incoming};
use crate::GrpcApi;

const RESPONSE: &str = "ConfigQueryResponse";

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct ConfigQueryRequest {
    data_id: Option<String>,
    group: Option<String>,
    tenant: Option<String>,
    tag: Option<String>,
}

pub(super) fn handle(api: &GrpcApi, connection: &Connection, incoming: &Incoming) -> Payload {
    let request: ConfigQueryRequest = match incoming.decode() {
        Ok(request) => request,
        Err(err) => return wire::failure(RESPONSE, code::BAD_GATEWAY, &err.to_string(), empty()),
    };
    let key = match KeyRef::parse(request.tenant.as_deref(), request.group.as_deref(), request.data_id.as_deref()) {
        Ok(key) => key,
        Err(err) => return wire::failure(RESPONSE, code::INVALID_PARAM, &err.to_string(), empty()),
    };
    let header = incoming.header(TAG_LABEL);
    let label = connection.labels.get(TAG_LABEL).map(String::as_str);
    let tag = reader_tag([request.tag.as_deref(), header.as_deref(), label]);
    match api.services.config.get_for(key, Reader::new(&connection.client_ip, tag)) {
        Some((config, gray)) => wire::payload(
            RESPONSE,
            &Found {
                result_code: wire::SUCCESS,
                error_code: 0,
                success: true,
                content: &config.content,
                md5: &config.md5,
                last_modified: config.last_modified.as_u64(),
                content_type: config.config_type.as_str(),
                encrypted_data_key: &config.encrypted_data_key,
                beta: gray.as_ref().is_some_and(|gray| gray.rule.is_beta()),
                tag: gray.as_ref().and_then(|gray| gray.rule.tag()),
            },
        ),
        None => wire::failure(RESPONSE, code::NOT_FOUND, "config data not exist", empty()),
    }
}

/// The answer for a config that exists, serialized straight from the stored config: the
/// hottest gRPC call copies the content once, into the response.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Found<'a> {
    result_code: i32,
    error_code: i32,
    success: bool,
    content: &'a str,
    md5: &'a str,
    last_modified: u64,
    content_type: &'a str,
    encrypted_data_key: &'a str,
    beta: bool,
    /// The tag whose gray version answered; left out otherwise (Go and Python decode the
    /// field as a boolean, and only a tag hit sends it).
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<&'a str>,
}

/// The fields SDKs require even on failures (the Rust SDK reads `md5` and `contentType`).
fn empty() -> serde_json::Value {
    json!({ "content": "", "md5": "", "lastModified": 0, "contentType": "text", "beta": false })
}
