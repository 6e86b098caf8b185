//! One module per Nacos request type, and the dispatch by type name.

mod access;
mod config_fuzzy_watch;
mod config_listen;
mod config_publish;
mod config_query;
mod config_remove;
mod naming_fuzzy_watch;
mod naming_instance;
mod naming_query;
mod server_check;

use std::net::SocketAddr;
use std::time::Duration;

use proto::nacos::Payload;
use serde_json::json;

use crate::wire::{self, code, Incoming};
use crate::GrpcApi;
use naming_instance::Kind;

/// How long a unary call waits for its connection's set-up already on the way.
const SETUP_PATIENCE: Duration = Duration::from_secs(1);

/// The request types that need a set-up connection, by their wire name: the one list of
/// what this server answers.
#[derive(Debug, Clone, Copy)]
enum Route {
    HealthCheck,
    ConfigQuery,
    ConfigPublish,
    ConfigRemove,
    ConfigListen,
    ConfigFuzzyWatch,
    Instance(Kind),
    NamingFuzzyWatch,
    Subscribe,
    ServiceQuery,
    ServiceList,
}

impl Route {
    fn of(kind: &str) -> Option<Self> {
        Some(match kind {
            "HealthCheckRequest" => Self::HealthCheck,
            "ConfigQueryRequest" => Self::ConfigQuery,
            "ConfigPublishRequest" => Self::ConfigPublish,
            "ConfigRemoveRequest" => Self::ConfigRemove,
            "ConfigBatchListenRequest" => Self::ConfigListen,
            "ConfigFuzzyWatchRequest" => Self::ConfigFuzzyWatch,
            "InstanceRequest" => Self::Instance(Kind::Ephemeral),
            "BatchInstanceRequest" => Self::Instance(Kind::Batch),
            "PersistentInstanceRequest" => Self::Instance(Kind::Persistent),
            "NamingFuzzyWatchRequest" => Self::NamingFuzzyWatch,
            "SubscribeServiceRequest" => Self::Subscribe,
            "ServiceQueryRequest" => Self::ServiceQuery,
            "ServiceListRequest" => Self::ServiceList,
            _ => return None,
        })
    }
}

impl Route {
    /// The response type a refusal of this route is answered with (clients match on it).
    fn response(self) -> &'static str {
        match self {
            Self::HealthCheck => "HealthCheckResponse",
            Self::ConfigQuery => "ConfigQueryResponse",
            Self::ConfigPublish => "ConfigPublishResponse",
            Self::ConfigRemove => "ConfigRemoveResponse",
            Self::ConfigListen => "ConfigChangeBatchListenResponse",
            Self::ConfigFuzzyWatch => "ConfigFuzzyWatchResponse",
            Self::Instance(naming_instance::Kind::Batch) => "BatchInstanceResponse",
            Self::Instance(_) => "InstanceResponse",
            Self::NamingFuzzyWatch => "NamingFuzzyWatchResponse",
            Self::Subscribe => "SubscribeServiceResponse",
            Self::ServiceQuery => "QueryServiceResponse",
            Self::ServiceList => "ServiceListResponse",
        }
    }
}

/// Whether the request may do what it asks; the refusal's reason (Java Nacos's texts, which
/// clients answer by logging in again) if not.
async fn check_access(api: &GrpcApi, route: Route, incoming: &Incoming) -> Result<(), String> {
    let auth = std::sync::Arc::clone(&api.services.auth);
    if !auth.settings().enabled {
        return Ok(());
    }
    let Some((resources, action, credentials)) = access::need(route, incoming) else { return Ok(()) };
    let uses_password = credentials.carry_password();
    let judge = move || resources.iter().try_for_each(|resource| auth.check(&credentials, resource, action));
    // A token is checked in a map lookup (verified tokens are cached); a user name and
    // password with bcrypt, which takes a while: off the async workers.
    let judged = if uses_password {
        tokio::task::spawn_blocking(judge).await.map_err(|_| "server error".to_owned())?
    } else {
        judge()
    };
    judged.map_err(|failure| failure.to_string())
}

/// Reads a request as its handler would, short of calling a service: the typed body of
/// its route, and what the handler validates before any call. For fuzzers.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn read_routed(incoming: &Incoming) {
    let Some(route) = Route::of(&incoming.kind) else { return };
    match route {
        Route::HealthCheck => {}
        Route::ConfigQuery => drop(incoming.decode::<config_query::ConfigQueryRequest>()),
        Route::ConfigPublish => drop(incoming.decode::<config_publish::ConfigPublishRequest>()),
        Route::ConfigRemove => drop(incoming.decode::<config_remove::ConfigRemoveRequest>()),
        Route::ConfigListen => drop(incoming.decode::<config_listen::ConfigBatchListenRequest>()),
        Route::ConfigFuzzyWatch => drop(incoming.decode::<config_fuzzy_watch::ConfigFuzzyWatchRequest>()),
        Route::Instance(_) => naming_instance::read(incoming),
        Route::NamingFuzzyWatch => drop(incoming.decode::<naming_fuzzy_watch::NamingFuzzyWatchRequest>()),
        Route::Subscribe | Route::ServiceQuery | Route::ServiceList => {
            if let Ok(request) = incoming.decode::<naming_query::ServiceRequest>() {
                let _ = request.service();
            }
        }
    }
}

/// Answers one unary request. Never fails: every problem becomes a Nacos error response.
#[tracing::instrument(level = "debug", skip_all, fields(kind = %incoming.kind))]
pub(crate) async fn dispatch(api: &GrpcApi, remote: Option<SocketAddr>, incoming: Incoming) -> Payload {
    if incoming.kind == "ServerCheckRequest" {
        return server_check::handle(api, remote);
    }
    // An unknown type is refused as such first, registered connection or not (as Java
    // Nacos does): a client told to reconnect would only send it again.
    let Some(route) = Route::of(&incoming.kind) else {
        tracing::debug!(kind = %incoming.kind, "no handler");
        return wire::error_response(code::NO_HANDLER, "RequestHandler Not Found");
    };
    // Everything else needs a registered connection (its bi-stream set up): a client that
    // hears 301 reconnects and sets up again.
    let connection = match remote {
        Some(remote) => api.connections.registered(remote, SETUP_PATIENCE).await,
        None => None,
    };
    let Some(connection) = connection else {
        return wire::error_response(code::UN_REGISTER, "connection is not registered, please reconnect");
    };
    if let Err(reason) = check_access(api, route, &incoming).await {
        return wire::failure(route.response(), code::NO_RIGHT, &reason, json!({}));
    }
    match route {
        Route::HealthCheck => wire::success("HealthCheckResponse", json!({})),
        Route::ConfigQuery => config_query::handle(api, &connection, &incoming),
        Route::ConfigPublish => config_publish::handle(api, &incoming).await,
        Route::ConfigRemove => config_remove::handle(api, &incoming).await,
        Route::ConfigListen => config_listen::handle(api, &connection, &incoming),
        Route::ConfigFuzzyWatch => config_fuzzy_watch::handle(api, &connection, &incoming),
        Route::Instance(kind) => naming_instance::handle(api, &connection, &incoming, kind).await,
        Route::NamingFuzzyWatch => naming_fuzzy_watch::handle(api, &connection, &incoming),
        Route::Subscribe => naming_query::subscribe(api, &connection, &incoming),
        Route::ServiceQuery => naming_query::query(api, &connection, &incoming),
        Route::ServiceList => naming_query::list(api, &incoming),
    }
}

/// The Nacos error code and message for a config use-case failure.
pub(crate) fn service_error(err: &ports::config::ConfigServiceError) -> (i32, String) {
    use ports::config::ConfigServiceError as E;
    match err {
        E::Invalid(err) => (code::INVALID_PARAM, err.to_string()),
        E::Rejected(rejection) => (code::SERVER_ERROR, capitalise(&rejection.to_string())),
        E::Unavailable(err) => consensus_error(err),
        E::Storage(err) => {
            tracing::error!(cause = err as &dyn std::error::Error, "config storage read failed");
            (code::SERVER_ERROR, "server error: stored data could not be read".to_owned())
        }
    }
}

/// The Nacos error code and message for a failed proposal; internal causes are logged.
fn consensus_error(err: &ports::consensus::ConsensusError) -> (i32, String) {
    use ports::consensus::ConsensusError as E;
    match err {
        E::Fatal(_) | E::Failed(_) => {
            tracing::error!(cause = err as &dyn std::error::Error, "write failed inside raft");
            (code::SERVER_ERROR, "server error".to_owned())
        }
        E::NoLeader | E::Timeout | E::ShuttingDown => (code::SERVER_ERROR, err.to_string()),
    }
}

/// A refused or cut-short fuzzy watch as Java answers it: its own codes for the limits
/// (`FUZZY_WATCH_PATTERN_OVER_LIMIT`, `FUZZY_WATCH_PATTERN_MATCH_COUNT_OVER_LIMIT`), a
/// parameter error otherwise.
fn fuzzy_watch_failure(response: &str, err: &domain::fuzzy_watch::FuzzyWatchError) -> Payload {
    use domain::fuzzy_watch::FuzzyWatchError as E;
    let code = match err {
        E::TooManyPatterns { .. } => 50310,
        E::MatchCountOverLimit { .. } => 50311,
        E::Invalid { .. } | E::TooLong { .. } => code::INVALID_PARAM,
    };
    wire::failure(response, code, &err.to_string(), json!({}))
}

fn capitalise(message: &str) -> String {
    let mut chars = message.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

/// The Nacos error code and message for a registry use-case failure.
pub(crate) fn naming_error(err: &ports::naming::NamingServiceError) -> (i32, String) {
    use ports::naming::NamingServiceError as E;
    match err {
        E::Invalid(err) => (code::INVALID_PARAM, err.to_string()),
        E::Rejected(rejection) => (code::INVALID_PARAM, rejection.to_string()),
        // Java Nacos's wording.
        E::InstanceNotFound { service, ip, port } => {
            (code::INVALID_PARAM, format!("no matched ip found! {ip}:{port} in {service}"))
        }
        E::ServiceNotFound(service) => (code::INVALID_PARAM, format!("service not found: {service}")),
        E::Unavailable(err) => consensus_error(err),
    }
}
