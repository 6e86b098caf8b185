//! The one place where failures become HTTP answers in Nacos's shape.
//!
//! Nacos v1 answers errors with the status code and a plain-text message; clients look only
//! at the status. Internal causes are logged here and never sent to clients.

use std::convert::Infallible;

use domain::config::ConfigError;
use ports::config::ConfigServiceError;
use ports::consensus::ConsensusError;
use warp::http::StatusCode;
use warp::reject::Rejection;
use warp::reply::{Reply, Response};

/// Why a request failed, as the HTTP API reports it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    #[error("Required parameter '{0}' is missing")]
    MissingParam(&'static str),
    #[error("invalid Listening-Configs: each record needs dataId, group and md5")]
    BadListeningConfigs,
    #[error("too many listened configs: the limit is {limit}")]
    TooManyListeningConfigs { limit: usize },
    #[error("parameter '{0}' is not valid UTF-8")]
    NotUtf8(String),
    #[error("request body is larger than the {limit} byte limit")]
    BodyTooLarge { limit: u64 },
    #[error("request body could not be read")]
    BadBody,
    #[error("multipart body could not be read: {0}")]
    BadMultipart(String),
    #[error("config data not exist")]
    ConfigNotFound,
    #[error("Cas publish fail, server md5 may have changed.")]
    CasMismatch,
    #[error(transparent)]
    InvalidNamespace(#[from] domain::namespace::NamespaceError),
    #[error("namespace does not exist")]
    NamespaceNotFound,
    #[error("namespace already exists")]
    NamespaceExists,
    #[error("the public namespace cannot be changed")]
    NamespaceProtected,
    #[error("history record does not exist")]
    HistoryNotFound,
    #[error("invalid parameter '{0}': not a number")]
    NotANumber(&'static str),
    #[error("no such api")]
    NoSuchApi,
    #[error(transparent)]
    Naming(#[from] domain::naming::NamingError),
    #[error(transparent)]
    NamingRejected(domain::Rejection),
    #[error("{0}")]
    NamingNotFound(String),
    /// A 3.x heartbeat for an instance this node does not hold: the client registers again.
    #[error("instance not found, please register again")]
    HeartbeatUnknown,
    /// A client view's `clientId` that no client has (404, as Java's `NacosApiException`).
    #[error("clientId [ {0} ] not exist")]
    ClientNotFound(String),
    #[error("no matched ip found!")]
    InstanceNotFound,
    #[error("service not found: {0}")]
    ServiceNotFound(String),
    #[error("invalid parameter '{0}': not true or false")]
    NotABoolean(&'static str),
    #[error("metadata must be a JSON object of strings or k=v,k2=v2")]
    BadMetadata,
    #[error("beat must be the JSON of a beat")]
    BadBeat,
    #[error("selector must be JSON like {{\"type\":\"none\"}}")]
    BadSelector,
    #[error("server is not ready: {0}")]
    Unavailable(String),
    #[error("server error")]
    Internal,
    #[error("server error: stored data could not be read")]
    StorageRead,
    /// Refused by the access check: Java Nacos's reason (`user not found!`, `token
    /// expired!`, `authorization failed!`, ...), which SDKs and consoles key on.
    #[error("{0}")]
    Forbidden(String),
}

impl warp::reject::Reject for ApiError {}

impl From<ConfigServiceError> for ApiError {
    fn from(err: ConfigServiceError) -> Self {
        match err {
            ConfigServiceError::Invalid(err) => Self::Invalid(err),
            ConfigServiceError::Rejected(domain::Rejection::CasMismatch) => Self::CasMismatch,
            ConfigServiceError::Rejected(rejection) => {
                // Config commands are refused only for CAS; anything else is a bug.
                tracing::error!(%rejection, "unexpected rejection of a config command");
                Self::Internal
            }
            ConfigServiceError::Unavailable(err) => err.into(),
            ConfigServiceError::Storage(err) => {
                tracing::error!(cause = &err as &dyn std::error::Error, "stored config data could not be read");
                Self::StorageRead
            }
        }
    }
}

impl From<ConsensusError> for ApiError {
    fn from(err: ConsensusError) -> Self {
        match err {
            ConsensusError::NoLeader | ConsensusError::Timeout | ConsensusError::ShuttingDown => {
                Self::Unavailable(err.to_string())
            }
            ConsensusError::Fatal(_) | ConsensusError::Failed(_) => {
                tracing::error!(cause = &err as &dyn std::error::Error, "write failed inside raft");
                Self::Internal
            }
        }
    }
}

impl ApiError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::Invalid(ConfigError::ContentTooLarge { .. }) | Self::BodyTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Self::Invalid(_)
            | Self::NotUtf8(_)
            | Self::BadBody
            | Self::BadMultipart(_)
            | Self::MissingParam(_)
            | Self::BadListeningConfigs
            | Self::TooManyListeningConfigs { .. }
            | Self::InvalidNamespace(_)
            | Self::NamespaceProtected
            | Self::NotANumber(_)
            | Self::Naming(_)
            | Self::NamingRejected(_)
            | Self::NamingNotFound(_)
            | Self::ServiceNotFound(_)
            | Self::NotABoolean(_)
            | Self::BadMetadata
            | Self::BadBeat
            | Self::BadSelector => StatusCode::BAD_REQUEST,
            Self::ConfigNotFound
            | Self::NamespaceNotFound
            | Self::HistoryNotFound
            | Self::NoSuchApi
            | Self::ClientNotFound(_)
            | Self::HeartbeatUnknown
            | Self::InstanceNotFound => StatusCode::NOT_FOUND,
            Self::NamespaceExists => StatusCode::CONFLICT,
            // Java Nacos answers a failed CAS with 500; clients key on it.
            Self::CasMismatch | Self::Internal | Self::StorageRead => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
        }
    }
}

impl ApiError {
    /// The v2 envelope's `code` (Nacos's v2 error-code table).
    pub(crate) fn v2_code(&self) -> u32 {
        match self {
            Self::ConfigNotFound | Self::HistoryNotFound | Self::NoSuchApi => 20004,
            Self::InstanceNotFound | Self::NamingNotFound(_) | Self::ServiceNotFound(_) | Self::ClientNotFound(_) => {
                20004
            }
            Self::NamingRejected(domain::Rejection::ServiceNotFound(_)) => 20004,
            Self::HeartbeatUnknown => 21003,
            Self::NamingRejected(domain::Rejection::ServiceExists(_)) => 20005,
            Self::Naming(domain::naming::NamingError::Missing(_)) => 10000,
            Self::Naming(_)
            | Self::NamingRejected(_)
            | Self::NotABoolean(_)
            | Self::BadMetadata
            | Self::BadBeat
            | Self::BadSelector => 20002,
            Self::InvalidNamespace(_) | Self::NamespaceProtected => 22000,
            Self::NamespaceNotFound => 22001,
            Self::NamespaceExists => 22002,
            Self::NotANumber(_) => 20002,
            Self::MissingParam(_) | Self::Invalid(ConfigError::Missing(_)) => 10000,
            Self::Invalid(
                ConfigError::Invalid { param: "dataId", .. } | ConfigError::TooLong { param: "dataId", .. },
            ) => 20008,
            Self::Invalid(
                ConfigError::Invalid { param: "tenant", .. } | ConfigError::TooLong { param: "tenant", .. },
            ) => 20001,
            Self::Invalid(_)
            | Self::NotUtf8(_)
            | Self::BadBody
            | Self::BadMultipart(_)
            | Self::BodyTooLarge { .. }
            | Self::BadListeningConfigs
            | Self::TooManyListeningConfigs { .. } => 20002,
            Self::CasMismatch => 20005,
            Self::Unavailable(_) => 23000,
            Self::Internal | Self::StorageRead => 30000,
            Self::Forbidden(_) => 10001,
        }
    }

    /// The v2 envelope's short `message` for [`Self::v2_code`].
    pub(crate) fn v2_message(&self) -> &'static str {
        match self.v2_code() {
            20004 => "resource not found",
            21003 => "instance not found",
            10000 => "parameter missing",
            20008 => "invalid dataId",
            20001 => "'tenant' parameter error",
            20005 => "resource conflict",
            23000 => "illegal state",
            22000 => "illegal namespace",
            22001 => "namespace not exist",
            22002 => "namespace already exist",
            30000 => "server error",
            10001 => "access denied",
            _ => "parameter validate error",
        }
    }
}

impl Reply for ApiError {
    fn into_response(self) -> Response {
        let body = match &self {
            // Nacos ends this one with a newline; 1.x clients compare the text.
            Self::ConfigNotFound => "config data not exist\n".to_owned(),
            other => other.to_string(),
        };
        let closes = self.closes_connection();
        let mut response = warp::reply::with_status(text(body), self.status()).into_response();
        if closes {
            mark_closing(&mut response);
        }
        response
    }
}

impl ApiError {
    /// A refused body is read only up to a bound (see `params::SWALLOW_BYTES`), so the
    /// server drops the connection after answering; saying so keeps clients from sending
    /// their next request on it.
    pub(crate) fn closes_connection(&self) -> bool {
        matches!(self, Self::BodyTooLarge { .. })
    }
}

/// Adds `Connection: close` to an answer after which the server drops the connection.
pub(crate) fn mark_closing(response: &mut Response) {
    response.headers_mut().insert("connection", warp::http::HeaderValue::from_static("close"));
}

/// A plain-text UTF-8 body.
pub(crate) fn text(body: String) -> impl Reply {
    warp::reply::with_header(body, "content-type", "text/plain;charset=UTF-8")
}

/// Turns every rejection into a Nacos-style answer; nothing reaches warp's default page.
pub(crate) async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    if let Some(err) = rejection.find::<ApiError>() {
        return Ok(err.clone().into_response());
    }
    let (status, message) = if rejection.is_not_found() {
        (StatusCode::NOT_FOUND, "no such api".to_owned())
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        (StatusCode::METHOD_NOT_ALLOWED, "method not allowed".to_owned())
    } else if rejection.find::<warp::reject::InvalidHeader>().is_some() {
        (StatusCode::BAD_REQUEST, "invalid header".to_owned())
    } else {
        // A request no filter anticipated is still the client's doing: debug, not warn.
        tracing::debug!(?rejection, "unhandled rejection");
        (StatusCode::BAD_REQUEST, "bad request".to_owned())
    };
    Ok(warp::reply::with_status(text(message), status).into_response())
}
