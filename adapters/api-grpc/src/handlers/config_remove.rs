//! `ConfigRemoveRequest` -> `ConfigRemoveResponse`; removing an absent config succeeds. With
//! a `tag`, only that tag's gray version is removed.

use domain::config::{parse_gray_tag, ConfigKey, GrayRule};
use proto::nacos::Payload;
use serde::Deserialize;
use serde_json::json;

use crate::wire::{self, code, Incoming};
use crate::GrpcApi;

const RESPONSE: &str = "ConfigRemoveResponse";

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct ConfigRemoveRequest {
    data_id: Option<String>,
    group: Option<String>,
    tenant: Option<String>,
    tag: Option<String>,
}

pub(super) async fn handle(api: &GrpcApi, incoming: &Incoming) -> Payload {
    let request: ConfigRemoveRequest = match incoming.decode() {
        Ok(request) => request,
        Err(err) => return wire::failure(RESPONSE, code::BAD_GATEWAY, &err.to_string(), json!({})),
    };
    let key = match ConfigKey::parse(request.tenant.as_deref(), request.group.as_deref(), request.data_id.as_deref()) {
        Ok(key) => key,
        Err(err) => return wire::failure(RESPONSE, code::INVALID_PARAM, &err.to_string(), json!({})),
    };
    let removed = match parse_gray_tag(request.tag.as_deref()) {
        Ok(Some(tag)) => api.services.config.stop_gray(key, GrayRule::Tag { tag }.name()).await,
        Ok(None) => api.services.config.remove(key).await,
        Err(err) => return wire::failure(RESPONSE, code::INVALID_PARAM, &err.to_string(), json!({})),
    };
    match removed {
        Ok(()) => wire::success(RESPONSE, json!({})),
        Err(err) => {
            let (error_code, message) = super::service_error(&err);
            wire::failure(RESPONSE, error_code, &message, json!({}))
        }
    }
}
