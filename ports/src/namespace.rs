//! The namespace use cases: list, create, update, delete.

use std::sync::Arc;

use async_trait::async_trait;
use domain::namespace::{validate_id, validate_labels, NamespaceCommand, NamespaceError, NamespaceInfo};
use domain::{Command, Rejection, Verdict};

use crate::applied::AppliedState;
use crate::clock::Clock;
use crate::consensus::{ConsensusError, ConsensusLog};

/// A namespace as consoles list it, with its config count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceView {
    /// `None` for the public namespace.
    pub info: Option<Arc<NamespaceInfo>>,
    pub config_count: usize,
}

/// What the HTTP adapter calls for namespaces (driving port).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait NamespaceService: Send + Sync {
    /// Public first, then custom namespaces by id.
    fn list(&self) -> Vec<NamespaceView>;

    /// One namespace; `"public"` or `""` gives the public one.
    fn get(&self, id: &str) -> Option<NamespaceView>;

    /// Creates a namespace; a blank id gets a random UUID. Answers the id.
    async fn create(&self, id: Option<String>, name: String, desc: String) -> Result<String, NamespaceServiceError>;

    async fn update(&self, id: String, name: String, desc: String) -> Result<(), NamespaceServiceError>;

    async fn delete(&self, id: String) -> Result<(), NamespaceServiceError>;
}

#[derive(Debug, thiserror::Error)]
pub enum NamespaceServiceError {
    #[error(transparent)]
    Invalid(#[from] NamespaceError),
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Unavailable(#[from] ConsensusError),
}

pub struct NamespaceApp {
    consensus: Arc<dyn ConsensusLog>,
    state: AppliedState,
    clock: Arc<dyn Clock>,
}

impl NamespaceApp {
    pub fn new(consensus: Arc<dyn ConsensusLog>, state: AppliedState, clock: Arc<dyn Clock>) -> Self {
        Self { consensus, state, clock }
    }

    async fn propose(&self, command: NamespaceCommand) -> Result<(), NamespaceServiceError> {
        match self.consensus.propose(Command::Namespace(command)).await? {
            Verdict::Applied => Ok(()),
            Verdict::Rejected(rejection) => Err(rejection.into()),
        }
    }
}

#[async_trait]
impl NamespaceService for NamespaceApp {
    fn list(&self) -> Vec<NamespaceView> {
        self.state.read_with(|state| {
            let count = |id: &str| state.config.iter().filter(|(key, _)| key.namespace.as_str() == id).count();
            let mut views = vec![NamespaceView { info: None, config_count: count("public") }];
            views.extend(
                state
                    .namespaces
                    .iter()
                    .map(|info| NamespaceView { info: Some(Arc::clone(info)), config_count: count(&info.id) }),
            );
            views
        })
    }

    fn get(&self, id: &str) -> Option<NamespaceView> {
        let public = id.is_empty() || id.eq_ignore_ascii_case("public");
        self.list().into_iter().find(|view| match &view.info {
            None => public,
            Some(info) => info.id == id,
        })
    }

    async fn create(&self, id: Option<String>, name: String, desc: String) -> Result<String, NamespaceServiceError> {
        let id = match id.map(|id| id.trim().to_owned()).filter(|id| !id.is_empty()) {
            Some(id) => id,
            None => uuid::Uuid::new_v4().to_string(),
        };
        validate_id("customNamespaceId", &id)?;
        validate_labels(&name, &desc)?;
        let info = NamespaceInfo { id: id.clone(), name, desc, created: self.clock.now() };
        self.propose(NamespaceCommand::Create(info)).await?;
        Ok(id)
    }

    async fn update(&self, id: String, name: String, desc: String) -> Result<(), NamespaceServiceError> {
        if id.is_empty() || id.eq_ignore_ascii_case("public") {
            return Err(Rejection::NamespaceProtected.into());
        }
        validate_id("namespace", &id)?;
        validate_labels(&name, &desc)?;
        self.propose(NamespaceCommand::Update { id, name, desc }).await
    }

    async fn delete(&self, id: String) -> Result<(), NamespaceServiceError> {
        if id.is_empty() || id.eq_ignore_ascii_case("public") {
            return Err(Rejection::NamespaceProtected.into());
        }
        self.propose(NamespaceCommand::Delete { id }).await
    }
}
