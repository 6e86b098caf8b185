//! `NamingFuzzyWatchRequest` -> `NamingFuzzyWatchResponse` (Nacos 3.x): start or end a fuzzy
//! watch of a service pattern; the sync of matching services follows as server requests.

use std::collections::BTreeSet;

use proto::nacos::Payload;
use serde::Deserialize;
use serde_json::json;

use super::fuzzy_watch_failure;
use crate::connections::Connection;
use crate::wire::{self, code, Incoming};
use crate::GrpcApi;

const RESPONSE: &str = "NamingFuzzyWatchResponse";

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct NamingFuzzyWatchRequest {
    group_key_pattern: Option<String>,
    received_group_keys: Option<BTreeSet<String>>,
    watch_type: Option<String>,
    initializing: bool,
}

pub(super) fn handle(api: &GrpcApi, connection: &Connection, incoming: &Incoming) -> Payload {
    let request: NamingFuzzyWatchRequest = match incoming.decode() {
        Ok(request) => request,
        Err(err) => return wire::failure(RESPONSE, code::BAD_GATEWAY, &err.to_string(), json!({})),
    };
    let Some(pattern) = request.group_key_pattern.as_deref() else {
        return wire::failure(RESPONSE, code::INVALID_PARAM, "groupKeyPattern is required", json!({}));
    };
    let subscriptions = &api.services.subscriptions;
    let done = match request.watch_type.as_deref().unwrap_or("WATCH") {
        "WATCH" => subscriptions.fuzzy_watch(
            &connection.id,
            pattern,
            &request.received_group_keys.unwrap_or_default(),
            request.initializing,
        ),
        "CANCEL_WATCH" => subscriptions.fuzzy_cancel(&connection.id, pattern),
        _ => return wire::failure(RESPONSE, code::INVALID_PARAM, "watchType is WATCH or CANCEL_WATCH", json!({})),
    };
    match done {
        Ok(()) => wire::success(RESPONSE, json!({})),
        Err(err) => fuzzy_watch_failure(RESPONSE, &err),
    }
}
