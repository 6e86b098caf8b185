//! Namespaces (the wire's `tenant`): ids, display names, and the table of them.
//!
//! The public namespace always exists and is not stored; every other namespace is created
//! through raft. Configs may name a namespace that was never created, as in Nacos.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::command::{Change, Rejection};
use crate::Millis;

use crate::limits::{MAX_NAMESPACE_DESC_LEN, MAX_NAMESPACE_ID_LEN, MAX_NAMESPACE_NAME_LEN};

/// A custom namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceInfo {
    pub id: String,
    pub name: String,
    pub desc: String,
    pub created: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceCommand {
    Create(NamespaceInfo),
    Update { id: String, name: String, desc: String },
    Delete { id: String },
}

/// A namespace request that breaks a rule; the message names the wire parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamespaceError {
    #[error("Required parameter '{0}' is missing")]
    Missing(&'static str),
    #[error("invalid {param}: {reason}")]
    Invalid { param: &'static str, reason: &'static str },
    /// Java Nacos's parameter check message, word for word.
    #[error("Param '{param}' is illegal, the param length should not exceed {limit}.")]
    TooLong { param: &'static str, limit: usize },
}

/// Validates a namespace id as Nacos's console does: `^[\w-]+$`, at most
/// [`MAX_NAMESPACE_ID_LEN`] characters.
pub fn validate_id(param: &'static str, id: &str) -> Result<(), NamespaceError> {
    if id.is_empty() {
        return Err(NamespaceError::Missing(param));
    }
    if id.len() > MAX_NAMESPACE_ID_LEN {
        return Err(NamespaceError::TooLong { param, limit: MAX_NAMESPACE_ID_LEN });
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(NamespaceError::Invalid { param, reason: "only letters, digits, _ and - are allowed" });
    }
    if id.eq_ignore_ascii_case("public") {
        return Err(NamespaceError::Invalid { param, reason: "the public namespace always exists" });
    }
    Ok(())
}

/// Validates a display name (no `@#$%^&*`) and a description, within their limits.
pub fn validate_labels(name: &str, desc: &str) -> Result<(), NamespaceError> {
    if name.trim().is_empty() {
        return Err(NamespaceError::Missing("namespaceName"));
    }
    if name.chars().count() > MAX_NAMESPACE_NAME_LEN {
        return Err(NamespaceError::TooLong { param: "namespaceName", limit: MAX_NAMESPACE_NAME_LEN });
    }
    if name.chars().any(|c| "@#$%^&*".contains(c)) {
        return Err(NamespaceError::Invalid { param: "namespaceName", reason: "must not contain @#$%^&*" });
    }
    if desc.chars().count() > MAX_NAMESPACE_DESC_LEN {
        return Err(NamespaceError::TooLong { param: "namespaceDesc", limit: MAX_NAMESPACE_DESC_LEN });
    }
    Ok(())
}

/// Every custom namespace, by id.
#[derive(Debug, Clone, Default)]
pub struct NamespaceTable {
    items: BTreeMap<String, Arc<NamespaceInfo>>,
}

impl NamespaceTable {
    pub fn get(&self, id: &str) -> Option<&Arc<NamespaceInfo>> {
        self.items.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<NamespaceInfo>> {
        self.items.values()
    }

    pub fn restore(&mut self, info: NamespaceInfo) {
        self.items.insert(info.id.clone(), Arc::new(info));
    }

    pub fn apply(&mut self, command: &NamespaceCommand) -> Result<Vec<Change>, Rejection> {
        match command {
            NamespaceCommand::Create(info) => {
                if info.id.eq_ignore_ascii_case("public") {
                    return Err(Rejection::NamespaceProtected);
                }
                if self.items.contains_key(&info.id) {
                    return Err(Rejection::NamespaceExists(info.id.clone()));
                }
                let info = Arc::new(info.clone());
                self.items.insert(info.id.clone(), Arc::clone(&info));
                Ok(vec![Change::NamespaceUpserted(info)])
            }
            NamespaceCommand::Update { id, name, desc } => {
                let current = self.items.get(id).ok_or_else(|| Rejection::NamespaceNotFound(id.clone()))?;
                let info = Arc::new(NamespaceInfo { name: name.clone(), desc: desc.clone(), ..(**current).clone() });
                self.items.insert(id.clone(), Arc::clone(&info));
                Ok(vec![Change::NamespaceUpserted(info)])
            }
            NamespaceCommand::Delete { id } => {
                if self.items.remove(id).is_none() {
                    return Err(Rejection::NamespaceNotFound(id.clone()));
                }
                Ok(vec![Change::NamespaceRemoved(id.clone())])
            }
        }
    }
}
