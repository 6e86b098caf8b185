//! `ConfigFuzzyWatchRequest` -> `ConfigFuzzyWatchResponse` (Nacos 3.x): start or end a fuzzy
//! watch of a key pattern; the sync of matching keys follows as server requests.

use std::collections::BTreeSet;

use proto::nacos::Payload;
use serde::Deserialize;
use serde_json::json;

use super::fuzzy_watch_failure;
use crate::connections::Connection;
use crate::wire::{self, code, Incoming};
use crate::GrpcApi;

const RESPONSE: &str = "ConfigFuzzyWatchResponse";

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct ConfigFuzzyWatchRequest {
    group_key_pattern: Option<String>,
    received_group_keys: Option<BTreeSet<String>>,
    watch_type: Option<String>,
    initializing: bool,
}

pub(super) fn handle(api: &GrpcApi, connection: &Connection, incoming: &Incoming) -> Payload {
    let request: ConfigFuzzyWatchRequest = match incoming.decode() {
        Ok(request) => request,
        Err(err) => return wire::failure(RESPONSE, code::BAD_GATEWAY, &err.to_string(), json!({})),
    };
    let Some(pattern) = request.group_key_pattern.as_deref() else {
        return wire::failure(RESPONSE, code::INVALID_PARAM, "groupKeyPattern is required", json!({}));
    };
    let listening = &api.services.listening;
    let done = match request.watch_type.as_deref().unwrap_or("WATCH") {
        "WATCH" => listening.fuzzy_watch(
            &connection.id,
            pattern,
            request.received_group_keys.unwrap_or_default(),
            request.initializing,
        ),
        "CANCEL_WATCH" => listening.fuzzy_cancel(&connection.id, pattern),
        _ => return wire::failure(RESPONSE, code::INVALID_PARAM, "watchType is WATCH or CANCEL_WATCH", json!({})),
    };
    match done {
        Ok(()) => wire::success(RESPONSE, json!({})),
        Err(err) => fuzzy_watch_failure(RESPONSE, &err),
    }
}
