//! Commands: the replicated changes to the state, and what applying one yields.

use crate::config::{ConfigChange, ConfigCommand};

/// A change to the replicated state. Every variant is deterministic given the state it is
/// applied to: it carries its own timestamp and never consults the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Config(ConfigCommand),
}

/// What applying a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The command changed (or confirmed) the state.
    Config(ConfigChange),
    /// The command was valid but refused by the state it met; nothing changed.
    Rejected(Rejection),
}

/// Why a well-formed command was refused at apply time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("cas publish fail, server md5 may have changed")]
    CasMismatch,
}

/// What a proposer learns of its command: whether it took effect. Unlike [`Outcome`] this
/// is small enough to travel back through the consensus layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Applied,
    Rejected(Rejection),
}

impl Outcome {
    pub fn verdict(&self) -> Verdict {
        match self {
            Self::Config(_) => Verdict::Applied,
            Self::Rejected(rejection) => Verdict::Rejected(rejection.clone()),
        }
    }
}
