//! The Nacos payload envelope: a type name in the metadata, the JSON object in the body.

use proto::nacos::{Metadata, Payload};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// Nacos's generic failure code for `resultCode`.
pub(crate) const FAIL: i32 = 500;
pub(crate) const SUCCESS: i32 = 200;

/// errorCode values clients act on.
pub(crate) mod code {
    /// Config not found (same number as "server starting"; clients tell them apart by type).
    pub(crate) const NOT_FOUND: i32 = 300;
    /// The connection is not registered: the client reconnects.
    pub(crate) const UN_REGISTER: i32 = 301;
    /// Unknown request type.
    pub(crate) const NO_HANDLER: i32 = 302;
    pub(crate) const INVALID_PARAM: i32 = 400;
    /// Refused by the access check; clients log in again when they see it.
    pub(crate) const NO_RIGHT: i32 = 403;
    pub(crate) const SERVER_ERROR: i32 = 500;
    /// Unparseable payload.
    pub(crate) const BAD_GATEWAY: i32 = 502;
    /// Over a limit.
    pub(crate) const OVER_THRESHOLD: i32 = 503;
}

/// A request as it arrived: its type name, client ip and JSON body. The body is checked
/// to be a JSON object on arrival but decoded only into the handler's typed request, so a
/// request is parsed once, without an intermediate tree.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub(crate) kind: String,
    pub(crate) client_ip: String,
    /// The payload metadata's headers (where Java and Rust clients put `accessToken`).
    headers: std::collections::HashMap<String, String>,
    body: Vec<u8>,
}

impl Incoming {
    /// Reads a payload; refuses one without a type (nothing to dispatch on) or whose body
    /// is not a JSON object.
    pub(crate) fn parse(payload: Payload) -> Result<Self, WireError> {
        let metadata = payload.metadata.unwrap_or_default();
        if metadata.r#type.is_empty() {
            return Err(WireError::NoType);
        }
        let mut body = payload.body.map(|any| any.value).unwrap_or_default();
        if body.iter().all(u8::is_ascii_whitespace) {
            body = b"{}".to_vec();
        }
        serde_json::from_slice::<serde::de::IgnoredAny>(&body)?;
        if body.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
            return Err(WireError::NotAnObject);
        }
        Ok(Self { kind: metadata.r#type, client_ip: metadata.client_ip, headers: metadata.headers, body })
    }

    /// A header of the payload's metadata.
    pub(crate) fn metadata_header(&self, name: &str) -> Option<String> {
        self.headers.get(name).cloned()
    }

    /// The body as a typed request.
    pub(crate) fn decode<T: DeserializeOwned>(&self) -> Result<T, WireError> {
        Ok(serde_json::from_slice(&self.body)?)
    }

    /// The body as a JSON tree (client answers to server requests).
    pub(crate) fn value(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }

    /// A header the client put in the body's `headers` object (Python and Java do).
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct Headers {
            #[serde(default)]
            headers: std::collections::HashMap<String, Value>,
        }
        let headers: Headers = serde_json::from_slice(&self.body).ok()?;
        headers.headers.get(name)?.as_str().map(str::to_owned)
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    #[error("payload has no type")]
    NoType,
    #[error("payload body is not a JSON object")]
    NotAnObject,
    #[error("payload body is not valid JSON for its type: {0}")]
    Json(#[from] serde_json::Error),
}

/// Builds a payload of `kind` with `body` as its JSON.
pub(crate) fn payload(kind: &str, body: &impl Serialize) -> Payload {
    raw_payload(kind, serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec()))
}

/// A successful response of `kind`: `fields` plus the common success fields.
pub(crate) fn success(kind: &str, fields: Value) -> Payload {
    let mut body = match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    body.insert("resultCode".into(), json!(SUCCESS));
    body.insert("errorCode".into(), json!(0));
    body.insert("success".into(), json!(true));
    payload(kind, &body)
}

/// A successful response of `kind` whose `field` is already-encoded JSON (a memoised
/// `ServiceInfo`): the bytes are spliced in, not parsed and re-serialized.
pub(crate) fn success_with_raw(kind: &str, field: &str, raw: &[u8]) -> Payload {
    let mut body = Vec::with_capacity(raw.len() + 96);
    body.extend_from_slice(br#"{"resultCode":200,"errorCode":0,"success":true,"message":"success",""#);
    body.extend_from_slice(field.as_bytes());
    body.extend_from_slice(br#"":"#);
    body.extend_from_slice(raw);
    body.push(b'}');
    raw_payload(kind, body)
}

/// A payload of `kind` whose body is already JSON.
pub(crate) fn raw_payload(kind: &str, body: Vec<u8>) -> Payload {
    Payload {
        metadata: Some(Metadata { r#type: kind.to_owned(), client_ip: String::new(), headers: Default::default() }),
        body: Some(prost_types::Any { type_url: String::new(), value: body }),
    }
}

/// A failed response of `kind` with an error code and message.
pub(crate) fn failure(kind: &str, error_code: i32, message: &str, fields: Value) -> Payload {
    let mut body = match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    body.insert("resultCode".into(), json!(FAIL));
    body.insert("errorCode".into(), json!(error_code));
    body.insert("message".into(), json!(message));
    body.insert("success".into(), json!(false));
    payload(kind, &body)
}

/// An `ErrorResponse`, for failures before a handler runs.
pub(crate) fn error_response(error_code: i32, message: &str) -> Payload {
    failure("ErrorResponse", error_code, message, json!({}))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever bytes arrive as a payload body, reading it and decoding it into any
        /// request shape answers a value or an error, never a panic.
        #[test]
        fn any_payload_is_read_or_refused(kind in prop_oneof![
            proptest::sample::select(&[
                "ConfigQueryRequest", "ConfigPublishRequest", "ConfigRemoveRequest", "ConfigBatchListenRequest",
                "InstanceRequest", "BatchInstanceRequest", "PersistentInstanceRequest", "SubscribeServiceRequest",
                "ServiceQueryRequest", "ServiceListRequest",
            ][..]).prop_map(str::to_owned),
            "[A-Za-z]{0,20}",
        ], body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            "\\{(\"[a-zA-Z]{1,8}\":(null|[0-9]{1,5}|\"[^\"]{0,8}\"|\\[\\]|\\{\\}),?){0,6}\\}".prop_map(String::into_bytes),
            "\\{(\"(dataId|group|tenant|content|serviceName|groupName|namespace|type|pageNo|pageSize|listen)\":(null|-?[0-9]{1,12}|\"[a-zA-Z0-9@.:-]{0,8}\"|true),){0,6}\"(instance|instances|configListenContexts)\":(\\{\"ip\":\"[0-9.a-z]{0,9}\",\"port\":-?[0-9]{1,6},\"clusterName\":\"[a-z_-]{0,4}\",\"weight\":[0-9]{1,6}\\}|\\[\\{\"ip\":\"127.0.0.1\",\"port\":[0-9]{1,3}\\}\\]|\\[\\{\"dataId\":\"[a-z]{0,3}\",\"group\":\"[A-Z]{0,3}\"\\}\\]|null)\\}".prop_map(String::into_bytes),
        ]) {
            let payload = Payload {
                metadata: Some(Metadata { r#type: kind, client_ip: String::new(), headers: Default::default() }),
                body: Some(prost_types::Any { type_url: String::new(), value: body }),
            };
            crate::fuzzing::incoming(payload);
        }

        /// Whatever bytes arrive as a protobuf message are decoded and read, or refused.
        #[test]
        fn any_message_is_read_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            crate::fuzzing::payload(&bytes);
        }
    }
}
