//! Authentication and authorisation as Nacos models them: users (with bcrypt password
//! hashes, made by the proposer so the log never holds a password), roles bound to users,
//! and permissions granted to roles on resource patterns. The tables are replicated state;
//! the rules here decide who may do what, for every adapter alike.

mod access;
mod table;
mod throttle;

pub use access::{authorize, permission_covers, Action, Denied, Resource};
pub use table::{AuthChange, AuthCommand, AuthTable, Permission};
pub use throttle::{LoginThrottle, Throttled, LOCK_MILLIS, MAX_ADDRESS_FAILURES, MAX_USER_FAILURES};

/// The role of the global administrator: it may do everything, and only it may manage
/// users, roles, permissions, namespaces and the cluster.
pub const ROLE_ADMIN: &str = "ROLE_ADMIN";
/// The user the first-admin initialisation creates (Nacos 2.4+'s `/v1/auth/users/admin`).
pub const DEFAULT_ADMIN: &str = "nacos";
/// bcrypt reads at most 72 bytes of a password; a longer one is refused rather than cut.
pub const MAX_PASSWORD_BYTES: usize = 72;
const MAX_NAME_CHARS: usize = 128;
const MAX_RESOURCE_CHARS: usize = 512;

/// A user, role, permission or password that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("Required parameter '{0}' is missing")]
    Missing(&'static str),
    #[error("{param} is invalid: {reason}")]
    Invalid { param: &'static str, reason: &'static str },
    #[error("Password length must not exceed {MAX_PASSWORD_BYTES} characters")]
    PasswordTooLong,
}

/// Checks a user or role name: 1 to 128 characters, none of them blank or a control, so a
/// name prints as it is and cannot smuggle a separator into a stored key.
pub fn check_name(param: &'static str, raw: Option<&str>) -> Result<String, AuthError> {
    let name = raw.map(str::trim).filter(|name| !name.is_empty()).ok_or(AuthError::Missing(param))?;
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AuthError::Invalid { param, reason: "longer than 128 characters" });
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AuthError::Invalid { param, reason: "contains blanks or control characters" });
    }
    Ok(name.to_owned())
}

/// Checks a password before it is hashed: present, and within bcrypt's 72 bytes.
pub fn check_password(param: &'static str, raw: Option<&str>) -> Result<String, AuthError> {
    let password = raw.filter(|password| !password.is_empty()).ok_or(AuthError::Missing(param))?;
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::PasswordTooLong);
    }
    Ok(password.to_owned())
}

/// Checks a permission's resource pattern and action (`r`, `w` or `rw`).
pub fn check_permission(resource: Option<&str>, action: Option<&str>) -> Result<(String, String), AuthError> {
    let resource = resource.map(str::trim).filter(|r| !r.is_empty()).ok_or(AuthError::Missing("resource"))?;
    if resource.chars().count() > MAX_RESOURCE_CHARS || resource.chars().any(char::is_control) {
        return Err(AuthError::Invalid { param: "resource", reason: "longer than 512 characters or not printable" });
    }
    let action = action.map(str::trim).ok_or(AuthError::Missing("action"))?;
    if !matches!(action, "r" | "w" | "rw") {
        return Err(AuthError::Invalid { param: "action", reason: "must be r, w or rw" });
    }
    Ok((resource.to_owned(), action.to_owned()))
}

#[cfg(test)]
mod tests;
