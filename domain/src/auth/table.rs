//! The replicated auth tables: users, role bindings and permissions, and the commands that
//! change them, with Java Nacos's rules and refusal texts.

use std::collections::{BTreeMap, BTreeSet};

use super::{DEFAULT_ADMIN, ROLE_ADMIN};
use crate::Rejection;

/// One permission: a role may do `action` (`r`, `w`, `rw`) on resources matching
/// `resource`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission {
    pub role: String,
    pub resource: String,
    pub action: String,
}

/// A change to the auth tables. Passwords arrive hashed: the proposer hashes them, so
/// neither the log nor a snapshot ever holds one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthCommand {
    CreateUser {
        username: String,
        password_hash: String,
    },
    /// Deletes a user and their role bindings; the administrator cannot be deleted.
    DeleteUser {
        username: String,
    },
    SetPassword {
        username: String,
        password_hash: String,
    },
    /// Creates the first administrator (`nacos`, with [`ROLE_ADMIN`]) while nobody holds
    /// that role.
    InitAdmin {
        password_hash: String,
    },
    BindRole {
        role: String,
        username: String,
    },
    /// Unbinds `role` from `username`, or from everyone when `username` is `None`.
    UnbindRole {
        role: String,
        username: Option<String>,
    },
    AddPermission(Permission),
    RemovePermission(Permission),
}

/// What a command changed, for storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthChange {
    UserUpserted { username: String, password_hash: String },
    UserRemoved { username: String },
    RoleBound { role: String, username: String },
    RoleUnbound { role: String, username: String },
    PermissionAdded(Permission),
    PermissionRemoved(Permission),
}

/// Users (name -> bcrypt hash), role bindings and permissions.
#[derive(Debug, Clone, Default)]
pub struct AuthTable {
    users: BTreeMap<String, String>,
    /// (role, username)
    bindings: BTreeSet<(String, String)>,
    /// The same bindings by user: every request asks for its user's roles.
    roles_by_user: BTreeMap<String, BTreeSet<String>>,
    /// Ordered by role first, so a role's permissions are one range.
    permissions: BTreeSet<Permission>,
}

impl AuthTable {
    pub fn apply(&mut self, command: &AuthCommand) -> Result<Vec<AuthChange>, Rejection> {
        match command {
            AuthCommand::CreateUser { username, password_hash } => {
                if self.users.contains_key(username) {
                    return Err(Rejection::UserExists(username.clone()));
                }
                Ok(vec![self.upsert_user(username, password_hash)])
            }
            AuthCommand::DeleteUser { username } => {
                if !self.users.contains_key(username) {
                    return Err(Rejection::UserNotFound(username.clone()));
                }
                if self.roles_of(username).iter().any(|role| role == ROLE_ADMIN) {
                    return Err(Rejection::CannotDeleteAdmin(username.clone()));
                }
                self.users.remove(username);
                let mut changes = vec![AuthChange::UserRemoved { username: username.clone() }];
                for role in self.roles_of(username) {
                    changes.push(self.unbind(&role, username));
                }
                Ok(changes)
            }
            AuthCommand::SetPassword { username, password_hash } => {
                if !self.users.contains_key(username) {
                    return Err(Rejection::UserNotFound(username.clone()));
                }
                Ok(vec![self.upsert_user(username, password_hash)])
            }
            AuthCommand::InitAdmin { password_hash } => {
                if self.has_admin() {
                    return Err(Rejection::AdminExists);
                }
                let user = self.upsert_user(DEFAULT_ADMIN, password_hash);
                Ok(vec![user, self.bind(ROLE_ADMIN, DEFAULT_ADMIN)])
            }
            AuthCommand::BindRole { role, username } => {
                if role == ROLE_ADMIN {
                    return Err(Rejection::RoleNotPermitted(role.clone()));
                }
                if !self.users.contains_key(username) {
                    return Err(Rejection::UserNotFound(username.clone()));
                }
                if self.bindings.contains(&(role.clone(), username.clone())) {
                    return Err(Rejection::AlreadyBound { username: username.clone(), role: role.clone() });
                }
                Ok(vec![self.bind(role, username)])
            }
            AuthCommand::UnbindRole { role, username } => {
                if role == ROLE_ADMIN {
                    return Err(Rejection::RoleNotPermitted(role.clone()));
                }
                let holders: Vec<String> = self
                    .bindings
                    .iter()
                    .filter(|(r, u)| r == role && username.as_ref().is_none_or(|username| u == username))
                    .map(|(_, u)| u.clone())
                    .collect();
                Ok(holders.iter().map(|holder| self.unbind(role, holder)).collect())
            }
            AuthCommand::AddPermission(permission) => {
                if permission.role != ROLE_ADMIN && !self.bindings.iter().any(|(role, _)| *role == permission.role) {
                    return Err(Rejection::RoleNotFound(permission.role.clone()));
                }
                if !self.permissions.insert(permission.clone()) {
                    return Ok(Vec::new());
                }
                Ok(vec![AuthChange::PermissionAdded(permission.clone())])
            }
            AuthCommand::RemovePermission(permission) => {
                if !self.permissions.remove(permission) {
                    return Ok(Vec::new());
                }
                Ok(vec![AuthChange::PermissionRemoved(permission.clone())])
            }
        }
    }

    fn upsert_user(&mut self, username: &str, password_hash: &str) -> AuthChange {
        self.users.insert(username.to_owned(), password_hash.to_owned());
        AuthChange::UserUpserted { username: username.to_owned(), password_hash: password_hash.to_owned() }
    }

    fn bind(&mut self, role: &str, username: &str) -> AuthChange {
        self.restore_binding(role.to_owned(), username.to_owned());
        AuthChange::RoleBound { role: role.to_owned(), username: username.to_owned() }
    }

    fn unbind(&mut self, role: &str, username: &str) -> AuthChange {
        self.bindings.remove(&(role.to_owned(), username.to_owned()));
        if let Some(roles) = self.roles_by_user.get_mut(username) {
            roles.remove(role);
            if roles.is_empty() {
                self.roles_by_user.remove(username);
            }
        }
        AuthChange::RoleUnbound { role: role.to_owned(), username: username.to_owned() }
    }

    pub fn has_user(&self, username: &str) -> bool {
        self.users.contains_key(username)
    }

    /// The stored bcrypt hash of a user's password.
    pub fn password_hash(&self, username: &str) -> Option<&str> {
        self.users.get(username).map(String::as_str)
    }

    /// Whether anybody holds [`ROLE_ADMIN`] (the first-admin initialisation is open until
    /// then).
    pub fn has_admin(&self) -> bool {
        self.bindings.iter().any(|(role, username)| role == ROLE_ADMIN && self.users.contains_key(username))
    }

    pub fn roles_of(&self, username: &str) -> Vec<String> {
        self.roles(username).map(str::to_owned).collect()
    }

    /// The roles bound to `username`.
    pub fn roles<'a>(&'a self, username: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.roles_by_user.get(username).into_iter().flat_map(|roles| roles.iter().map(String::as_str))
    }

    pub fn permissions_of<'a>(&'a self, role: &'a str) -> impl Iterator<Item = &'a Permission> + 'a {
        let from = Permission { role: role.to_owned(), resource: String::new(), action: String::new() };
        self.permissions.range(from..).take_while(move |permission| permission.role == role)
    }

    pub fn users(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.users.iter().map(|(name, hash)| (name.as_str(), hash.as_str()))
    }

    /// Every (role, username) binding.
    pub fn bindings(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.bindings.iter().map(|(role, username)| (role.as_str(), username.as_str()))
    }

    pub fn permissions(&self) -> impl Iterator<Item = &Permission> + '_ {
        self.permissions.iter()
    }

    /// Takes a stored row back (start-up, snapshot install).
    pub fn restore_user(&mut self, username: String, password_hash: String) {
        self.users.insert(username, password_hash);
    }

    pub fn restore_binding(&mut self, role: String, username: String) {
        self.roles_by_user.entry(username.clone()).or_default().insert(role.clone());
        self.bindings.insert((role, username));
    }

    pub fn restore_permission(&mut self, permission: Permission) {
        self.permissions.insert(permission);
    }
}
