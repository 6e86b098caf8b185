//! The whole replicated state and the single entry point that changes it.

use crate::config::ConfigTable;
use crate::{Command, Outcome};

/// Everything a raft state machine holds. Grows a field per bounded context (naming's
/// persistent instances, namespaces, users) as they arrive.
#[derive(Debug, Clone, Default)]
pub struct State {
    pub config: ConfigTable,
}

impl State {
    /// Applies one committed command. Never fails: a command the state refuses comes back
    /// as [`Outcome::Rejected`] and leaves the state untouched.
    pub fn apply(&mut self, command: &Command) -> Outcome {
        match command {
            Command::Config(command) => match self.config.apply(command) {
                Ok(change) => Outcome::Config(change),
                Err(rejection) => Outcome::Rejected(rejection),
            },
        }
    }
}
