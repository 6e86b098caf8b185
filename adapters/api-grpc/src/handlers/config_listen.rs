//! `ConfigBatchListenRequest` -> `ConfigChangeBatchListenResponse`: registers (or drops)
//! listens for this connection and answers at once with the keys whose md5 differs.

use domain::config::{reader_tag, ConfigKey, ListenContext, ListenerId, TAG_LABEL};
use proto::nacos::Payload;
use serde::Deserialize;
use serde_json::json;

use crate::connections::Connection;
use crate::wire::{self, code, Incoming};
use crate::GrpcApi;

const RESPONSE: &str = "ConfigChangeBatchListenResponse";

#[derive(Debug, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct ConfigBatchListenRequest {
    listen: bool,
    config_listen_contexts: Vec<Context>,
}

impl Default for ConfigBatchListenRequest {
    fn default() -> Self {
        Self { listen: true, config_listen_contexts: Vec::new() }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Context {
    data_id: Option<String>,
    group: Option<String>,
    tenant: Option<String>,
    /// Absent or null: the client has nothing, i.e. `""`.
    md5: Option<String>,
}

pub(super) fn handle(api: &GrpcApi, connection: &Connection, incoming: &Incoming) -> Payload {
    let request: ConfigBatchListenRequest = match incoming.decode() {
        Ok(request) => request,
        Err(err) => {
            return wire::failure(RESPONSE, code::BAD_GATEWAY, &err.to_string(), json!({ "changedConfigs": [] }))
        }
    };
    let mut contexts = Vec::with_capacity(request.config_listen_contexts.len());
    for context in &request.config_listen_contexts {
        let key =
            match ConfigKey::parse(context.tenant.as_deref(), context.group.as_deref(), context.data_id.as_deref()) {
                Ok(key) => key,
                Err(err) => {
                    return wire::failure(
                        RESPONSE,
                        code::INVALID_PARAM,
                        &err.to_string(),
                        json!({ "changedConfigs": [] }),
                    );
                }
            };
        contexts.push(ListenContext {
            key,
            tenant_as_sent: context.tenant.clone().unwrap_or_default(),
            md5: context.md5.clone().unwrap_or_default(),
        });
    }
    let listener = ListenerId::Connection(connection.id.clone());
    if !request.listen {
        let keys: Vec<ConfigKey> = contexts.into_iter().map(|context| context.key).collect();
        api.services.listening.unlisten(&listener, &keys);
        return wire::success(RESPONSE, json!({ "changedConfigs": [] }));
    }
    let header = incoming.header(TAG_LABEL);
    let tag = reader_tag([header.as_deref(), connection.labels.get(TAG_LABEL).map(String::as_str)]);
    match api.services.listening.listen(&listener, &connection.client_ip, tag, &contexts) {
        Ok(changed) => {
            let changed: Vec<_> = changed
                .iter()
                .map(|context| {
                    json!({
                        "dataId": context.key.data_id.as_str(),
                        "group": context.key.group.as_str(),
                        "tenant": context.tenant_as_sent,
                    })
                })
                .collect();
            wire::success(RESPONSE, json!({ "changedConfigs": changed }))
        }
        Err(err) => wire::failure(RESPONSE, code::OVER_THRESHOLD, &err.to_string(), json!({ "changedConfigs": [] })),
    }
}
