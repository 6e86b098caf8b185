//! `ConfigPublishRequest` -> `ConfigPublishResponse`, with `casMd5` and the `additionMap`
//! attributes (whose values may be null).

use std::collections::HashMap;

use domain::config::{parse_gray_rule, PublishConfig, PublishParams};
use proto::nacos::Payload;
use serde::Deserialize;
use serde_json::json;

use crate::wire::{self, code, Incoming};
use crate::GrpcApi;

const RESPONSE: &str = "ConfigPublishResponse";

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct ConfigPublishRequest {
    data_id: Option<String>,
    group: Option<String>,
    tenant: Option<String>,
    content: Option<String>,
    cas_md5: Option<String>,
    addition_map: HashMap<String, Option<String>>,
}

impl ConfigPublishRequest {
    fn addition(&self, name: &str) -> Option<&str> {
        self.addition_map.get(name).and_then(Option::as_deref).filter(|value| !value.trim().is_empty())
    }
}

pub(super) async fn handle(api: &GrpcApi, incoming: &Incoming) -> Payload {
    let request: ConfigPublishRequest = match incoming.decode() {
        Ok(request) => request,
        Err(err) => return wire::failure(RESPONSE, code::BAD_GATEWAY, &err.to_string(), json!({})),
    };
    let params = PublishParams {
        namespace: request.tenant.as_deref(),
        group: request.group.as_deref(),
        data_id: request.data_id.as_deref(),
        content: request.content.as_deref(),
        config_type: request.addition("type"),
        desc: request.addition("desc"),
        app_name: request.addition("appName"),
        tags: request.addition("config_tags"),
        cas_md5: request.cas_md5.as_deref(),
        encrypted_data_key: request.addition("encryptedDataKey"),
        usage: request.addition("use"),
        effect: request.addition("effect"),
        schema: request.addition("schema"),
    };
    let publish = match PublishConfig::parse(&params, api.services.config.limits()) {
        Ok(publish) => publish,
        Err(err) => return wire::failure(RESPONSE, code::INVALID_PARAM, &err.to_string(), json!({})),
    };
    let rule = match parse_gray_rule(request.addition("betaIps"), request.addition("tag")) {
        Ok(rule) => rule,
        Err(err) => return wire::failure(RESPONSE, code::INVALID_PARAM, &err.to_string(), json!({})),
    };
    let published = match rule {
        Some(rule) => api.services.config.publish_gray(publish, rule).await,
        None => api.services.config.publish(publish).await,
    };
    match published {
        Ok(()) => wire::success(RESPONSE, json!({})),
        Err(err) => {
            let (error_code, message) = super::service_error(&err);
            wire::failure(RESPONSE, error_code, &message, json!({}))
        }
    }
}
