//! The whole replicated state and the single entry point that changes it.

use crate::auth::AuthTable;
use crate::config::{ConfigTable, HistoryLog, HistoryPurge};
use crate::namespace::NamespaceTable;
use crate::naming::{NamingTable, Switches};
use crate::{Change, Command, Outcome};

/// Everything a raft state machine holds. Grows a field per bounded context (naming's
/// persistent instances, users) as they arrive.
#[derive(Debug, Clone, Default)]
pub struct State {
    pub config: ConfigTable,
    pub history: HistoryLog,
    pub namespaces: NamespaceTable,
    pub naming: NamingTable,
    pub switches: Switches,
    pub auth: AuthTable,
}

impl State {
    /// Applies one committed command. Never fails: a command the state refuses comes back
    /// as [`Outcome::Rejected`] and leaves the state untouched.
    pub fn apply(&mut self, command: &Command) -> Outcome {
        match command {
            Command::Config(command) => match self.config.apply(command) {
                Ok(change) => {
                    let mut changes = Vec::with_capacity(2);
                    if let Some(record) = self.history.record(&change, command.now()) {
                        changes.push(Change::HistoryAdded(record));
                    }
                    changes.insert(0, Change::Config(change));
                    Outcome::Applied(changes)
                }
                Err(rejection) => Outcome::Rejected(rejection),
            },
            Command::Namespace(command) => match self.namespaces.apply(command) {
                Ok(changes) => Outcome::Applied(changes),
                Err(rejection) => Outcome::Rejected(rejection),
            },
            Command::Naming(command) => match self.naming.apply(command) {
                Ok(change) => Outcome::Applied(change.map(Change::Naming).into_iter().collect()),
                Err(rejection) => Outcome::Rejected(rejection),
            },
            Command::PurgeHistory { before } => {
                Outcome::Applied(vec![Change::HistoryPurged(HistoryPurge { before: *before })])
            }
            Command::SetSwitch { name, value } => {
                // The proposer checked the value; a replica re-checks, so a bad entry in the
                // log changes nothing rather than something unexpected.
                match crate::naming::Switches::check(name, value) {
                    Ok((switch, value)) if self.switches.set(switch.name, &value) => {
                        Outcome::Applied(vec![Change::SwitchSet { name: switch.name.to_owned(), value }])
                    }
                    _ => Outcome::Applied(Vec::new()),
                }
            }
            Command::Auth(command) => match self.auth.apply(command) {
                Ok(changes) => Outcome::Applied(changes.into_iter().map(Change::Auth).collect()),
                Err(rejection) => Outcome::Rejected(rejection),
            },
        }
    }
}
