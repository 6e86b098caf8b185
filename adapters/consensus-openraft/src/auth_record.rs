//! Users, roles and permissions as the raft log and the state machine's rows hold them.
//! Passwords only ever appear as bcrypt hashes.

use domain::auth::{AuthChange, AuthCommand, Permission};
use domain::Rejection;
use serde::{Deserialize, Serialize};

use crate::keys;

/// An auth command in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthCommandV1 {
    CreateUser { username: String, password_hash: String },
    DeleteUser { username: String },
    SetPassword { username: String, password_hash: String },
    InitAdmin { password_hash: String },
    BindRole { role: String, username: String },
    UnbindRole { role: String, username: Option<String> },
    AddPermission { role: String, resource: String, action: String },
    RemovePermission { role: String, resource: String, action: String },
}

impl From<&AuthCommand> for AuthCommandV1 {
    fn from(command: &AuthCommand) -> Self {
        match command.clone() {
            AuthCommand::CreateUser { username, password_hash } => Self::CreateUser { username, password_hash },
            AuthCommand::DeleteUser { username } => Self::DeleteUser { username },
            AuthCommand::SetPassword { username, password_hash } => Self::SetPassword { username, password_hash },
            AuthCommand::InitAdmin { password_hash } => Self::InitAdmin { password_hash },
            AuthCommand::BindRole { role, username } => Self::BindRole { role, username },
            AuthCommand::UnbindRole { role, username } => Self::UnbindRole { role, username },
            AuthCommand::AddPermission(Permission { role, resource, action }) => {
                Self::AddPermission { role, resource, action }
            }
            AuthCommand::RemovePermission(Permission { role, resource, action }) => {
                Self::RemovePermission { role, resource, action }
            }
        }
    }
}

impl From<&AuthCommandV1> for AuthCommand {
    fn from(command: &AuthCommandV1) -> Self {
        match command.clone() {
            AuthCommandV1::CreateUser { username, password_hash } => Self::CreateUser { username, password_hash },
            AuthCommandV1::DeleteUser { username } => Self::DeleteUser { username },
            AuthCommandV1::SetPassword { username, password_hash } => Self::SetPassword { username, password_hash },
            AuthCommandV1::InitAdmin { password_hash } => Self::InitAdmin { password_hash },
            AuthCommandV1::BindRole { role, username } => Self::BindRole { role, username },
            AuthCommandV1::UnbindRole { role, username } => Self::UnbindRole { role, username },
            AuthCommandV1::AddPermission { role, resource, action } => {
                Self::AddPermission(Permission { role, resource, action })
            }
            AuthCommandV1::RemovePermission { role, resource, action } => {
                Self::RemovePermission(Permission { role, resource, action })
            }
        }
    }
}

/// Why an auth command was refused, as openraft hands it back to the proposer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthRejectionV1 {
    UserExists(String),
    UserNotFound(String),
    CannotDeleteAdmin(String),
    AdminExists,
    RoleNotPermitted(String),
    AlreadyBound { username: String, role: String },
    RoleNotFound(String),
}

impl AuthRejectionV1 {
    pub(crate) fn rejection(&self) -> Rejection {
        match self.clone() {
            Self::UserExists(user) => Rejection::UserExists(user),
            Self::UserNotFound(user) => Rejection::UserNotFound(user),
            Self::CannotDeleteAdmin(user) => Rejection::CannotDeleteAdmin(user),
            Self::AdminExists => Rejection::AdminExists,
            Self::RoleNotPermitted(role) => Rejection::RoleNotPermitted(role),
            Self::AlreadyBound { username, role } => Rejection::AlreadyBound { username, role },
            Self::RoleNotFound(role) => Rejection::RoleNotFound(role),
        }
    }
}

/// One user, role binding or permission, as a state machine row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum AuthRow {
    UserV1 { username: String, password_hash: String },
    RoleV1 { role: String, username: String },
    PermissionV1 { role: String, resource: String, action: String },
}

impl AuthRow {
    pub(crate) fn key(&self) -> Vec<u8> {
        match self {
            Self::UserV1 { username, .. } => keys::auth_key(b'u', &[username]),
            Self::RoleV1 { role, username } => keys::auth_key(b'r', &[role, username]),
            Self::PermissionV1 { role, resource, action } => keys::auth_key(b'p', &[role, resource, action]),
        }
    }

    /// The row a change writes (`Some`) or the key it deletes.
    pub(crate) fn of(change: &AuthChange) -> (Self, bool) {
        match change.clone() {
            AuthChange::UserUpserted { username, password_hash } => (Self::UserV1 { username, password_hash }, true),
            AuthChange::UserRemoved { username } => (Self::UserV1 { username, password_hash: String::new() }, false),
            AuthChange::RoleBound { role, username } => (Self::RoleV1 { role, username }, true),
            AuthChange::RoleUnbound { role, username } => (Self::RoleV1 { role, username }, false),
            AuthChange::PermissionAdded(Permission { role, resource, action }) => {
                (Self::PermissionV1 { role, resource, action }, true)
            }
            AuthChange::PermissionRemoved(Permission { role, resource, action }) => {
                (Self::PermissionV1 { role, resource, action }, false)
            }
        }
    }

    pub(crate) fn restore(self, table: &mut domain::auth::AuthTable) {
        match self {
            Self::UserV1 { username, password_hash } => table.restore_user(username, password_hash),
            Self::RoleV1 { role, username } => table.restore_binding(role, username),
            Self::PermissionV1 { role, resource, action } => {
                table.restore_permission(Permission { role, resource, action })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_rejections_round_trip() {
        let commands = [
            AuthCommand::CreateUser { username: "u".into(), password_hash: "$2b$10$x".into() },
            AuthCommand::DeleteUser { username: "u".into() },
            AuthCommand::SetPassword { username: "u".into(), password_hash: "h".into() },
            AuthCommand::InitAdmin { password_hash: "h".into() },
            AuthCommand::BindRole { role: "R".into(), username: "u".into() },
            AuthCommand::UnbindRole { role: "R".into(), username: None },
            AuthCommand::AddPermission(Permission { role: "R".into(), resource: "*:*:*".into(), action: "rw".into() }),
            AuthCommand::RemovePermission(Permission { role: "R".into(), resource: "a".into(), action: "r".into() }),
        ];
        for command in commands {
            assert_eq!(AuthCommand::from(&AuthCommandV1::from(&command)), command);
        }
        let rejection = Rejection::AlreadyBound { username: "u".into(), role: "R".into() };
        let result = crate::record::ApplyResult::from(domain::Verdict::Rejected(rejection.clone()));
        assert_eq!(result.verdict(), domain::Verdict::Rejected(rejection));
    }

    #[test]
    fn rows_have_one_key_per_entry() {
        let a = AuthRow::PermissionV1 { role: "R".into(), resource: "a:b".into(), action: "r".into() };
        let b = AuthRow::PermissionV1 { role: "R".into(), resource: "a".into(), action: "b:r".into() };
        assert_ne!(a.key(), b.key(), "parts are separated by NUL, which no part holds");
    }
}
