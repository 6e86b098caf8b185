//! `InstanceRequest`, `BatchInstanceRequest` and `PersistentInstanceRequest`: register and
//! deregister. Ephemeral instances belong to the connection that registered them.

use domain::naming::{InstanceAddress, InstanceDraft, NamingError, Registrant, ServiceKey};
use ports::naming::NamingServiceError;
use proto::nacos::Payload;
use serde::Deserialize;
use serde_json::json;

use super::naming_error;
use crate::connections::Connection;
use crate::naming_wire::WireInstance;
use crate::wire::{self, code, Incoming};
use crate::GrpcApi;

const REGISTER: &str = "registerInstance";
const DEREGISTER: &str = "deregisterInstance";
const BATCH_REGISTER: &str = "batchRegisterInstance";

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct InstanceRequest {
    namespace: Option<String>,
    service_name: Option<String>,
    group_name: Option<String>,
    r#type: String,
    instance: Option<WireInstance>,
    instances: Option<Vec<WireInstance>>,
}

impl InstanceRequest {
    fn service(&self) -> Result<ServiceKey, NamingServiceError> {
        Ok(ServiceKey::parse(self.namespace.as_deref(), self.group_name.as_deref(), self.service_name.as_deref())?)
    }
}

/// What a fuzzer can reach of this handler without a registry: the request read, its
/// service and every instance validated as `apply` would.
#[cfg(any(test, feature = "fuzzing"))]
pub(super) fn read(incoming: &Incoming) {
    let Ok(request) = incoming.decode::<InstanceRequest>() else { return };
    let _ = request.service();
    for instance in request.instance.into_iter().chain(request.instances.into_iter().flatten()) {
        let _ = InstanceAddress::parse(instance.ip(), instance.port(), instance.cluster());
        let _ = instance.into_draft().validate();
    }
}

/// Which request arrived; they share the body shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Ephemeral,
    Batch,
    Persistent,
}

impl Kind {
    fn response(self) -> &'static str {
        match self {
            Self::Batch => "BatchInstanceResponse",
            Self::Ephemeral | Self::Persistent => "InstanceResponse",
        }
    }
}

pub(super) async fn handle(api: &GrpcApi, connection: &Connection, incoming: &Incoming, kind: Kind) -> Payload {
    let response = kind.response();
    let request: InstanceRequest = match incoming.decode() {
        Ok(request) => request,
        Err(err) => return wire::failure(response, code::BAD_GATEWAY, &err.to_string(), json!({})),
    };
    let request_type = request.r#type.clone();
    match apply(api, connection, request, kind).await {
        Ok(()) => {
            let request_type = serde_json::to_vec(&request_type).unwrap_or_else(|_| b"\"\"".to_vec());
            wire::success_with_raw(response, "type", &request_type)
        }
        Err(err) => {
            let (error_code, message) = naming_error(&err);
            wire::failure(response, error_code, &message, json!({ "type": request_type }))
        }
    }
}

async fn apply(
    api: &GrpcApi,
    connection: &Connection,
    request: InstanceRequest,
    kind: Kind,
) -> Result<(), NamingServiceError> {
    let service = request.service()?;
    let unsupported = || {
        NamingServiceError::Invalid(NamingError::Invalid {
            param: "type",
            reason: format!("unsupported request type {}", request.r#type),
        })
    };
    if kind == Kind::Batch {
        if request.r#type != BATCH_REGISTER {
            return Err(unsupported());
        }
        let drafts: Vec<_> = request.instances.into_iter().flatten().map(WireInstance::into_draft).collect();
        return api.services.registry.register_batch(&connection.id, &service, &drafts);
    }
    let instance = request.instance.ok_or(NamingServiceError::Invalid(NamingError::Missing("instance")))?;
    // The request type says which kind of instance this is, whatever its body claims.
    let ephemeral = kind != Kind::Persistent;
    match request.r#type.as_str() {
        REGISTER => {
            let draft = InstanceDraft { ephemeral: Some(ephemeral), ..instance.into_draft() };
            let registrant = Registrant::Connection(connection.id.clone());
            api.services.registry.register(registrant, &service, &draft).await
        }
        DEREGISTER => {
            let address = InstanceAddress::parse(instance.ip(), instance.port(), instance.cluster())?;
            api.services.registry.deregister(&service, &address, ephemeral).await
        }
        _ => Err(unsupported()),
    }
}
