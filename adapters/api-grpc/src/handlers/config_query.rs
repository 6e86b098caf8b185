//! `ConfigQueryRequest` -> `ConfigQueryResponse`; a missing config is errorCode 300, which
//! the Java client's profile fallback depends on.

use domain::config::KeyRef;
use proto::nacos::Payload;
use serde::Deserialize;
use serde_json::json;

use crate::connections::Connection;
use crate::wire::{self, code, Incoming};
use crate::GrpcApi;

const RESPONSE: &str = "ConfigQueryResponse";

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ConfigQueryRequest {
    data_id: Option<String>,
    group: Option<String>,
    tenant: Option<String>,
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
    match api.config.get_for(key, &connection.client_ip) {
        Some((config, beta)) => wire::success(
            RESPONSE,
            json!({
                "content": config.content,
                "md5": config.md5,
                "lastModified": config.last_modified.as_u64(),
                "contentType": config.config_type.as_str(),
                "encryptedDataKey": "",
                "beta": beta,
            }),
        ),
        None => wire::failure(RESPONSE, code::NOT_FOUND, "config data not exist", empty()),
    }
}

/// The fields SDKs require even on failures (the Rust SDK reads `md5` and `contentType`).
fn empty() -> serde_json::Value {
    json!({ "content": "", "md5": "", "lastModified": 0, "contentType": "text", "beta": false })
}
