//! The access rule: which resource a request touches, and whether a user's roles grant the
//! action on it. One rule, applied by every adapter (HTTP and gRPC alike).

use super::{AuthTable, ROLE_ADMIN};

/// What a request does to its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Read,
    Write,
}

impl Action {
    fn letter(self) -> char {
        match self {
            Self::Read => 'r',
            Self::Write => 'w',
        }
    }
}

/// What a request touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// A config: `namespace:group:config/dataId` (blank parts `*`).
    Config { namespace: String, group: String, data_id: String },
    /// A service: `namespace:group:naming/service`.
    Naming { namespace: String, group: String, service: String },
    /// Users, roles, permissions, namespaces' writes, the cluster and the registry's
    /// operator switches: the global administrator's alone.
    Admin,
}

impl Resource {
    /// Nacos 3.x's resource string: the namespace always written (`public` for the
    /// default), a blank group or name as `*`.
    pub fn as_pattern_target(&self) -> Option<String> {
        let part = |value: &str| if value.trim().is_empty() { "*".to_owned() } else { value.to_owned() };
        match self {
            Self::Config { namespace, group, data_id } => {
                Some(format!("{}:{}:config/{}", namespace_part(namespace), part(group), part(data_id)))
            }
            Self::Naming { namespace, group, service } => {
                Some(format!("{}:{}:naming/{}", namespace_part(namespace), part(group), part(service)))
            }
            Self::Admin => None,
        }
    }
}

fn namespace_part(namespace: &str) -> &str {
    if namespace.trim().is_empty() {
        "public"
    } else {
        namespace
    }
}

/// Why a request was refused; the texts are Java Nacos's 403 reasons.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("user not found!")]
    UnknownUser,
    #[error("authorization failed!")]
    NotPermitted,
}

/// Whether `username` may do `action` on `resource`: the global administrator always;
/// anyone else when one of their roles holds a permission whose action covers it and
/// whose pattern matches the resource. Administrative resources are the administrator's.
pub fn authorize(table: &AuthTable, username: &str, resource: &Resource, action: Action) -> Result<(), Denied> {
    if !table.has_user(username) {
        return Err(Denied::UnknownUser);
    }
    if table.roles(username).any(|role| role == ROLE_ADMIN) {
        return Ok(());
    }
    let Some(target) = resource.as_pattern_target() else { return Err(Denied::NotPermitted) };
    let granted = table.roles(username).any(|role| {
        table.permissions_of(role).any(|permission| {
            permission.action.contains(action.letter()) && pattern_matches(&permission.resource, &target)
        })
    });
    if granted {
        Ok(())
    } else {
        Err(Denied::NotPermitted)
    }
}

/// Whether a granted action (`r`, `w`, `rw`) covers a requested one (`rw` covers both).
pub fn permission_covers(granted: &str, requested: &str) -> bool {
    requested.chars().all(|letter| granted.contains(letter))
}

/// Java matches a pattern as a regular expression with each `*` made `.*`, so `*` spans
/// colons and `.` is any one character; nothing else in a pattern is special here (names
/// cannot hold other regex characters). A 2.x pattern for the public namespace starts with
/// `:`, and reads as `public:...`, as 3.x rewrites it.
fn pattern_matches(pattern: &str, target: &str) -> bool {
    let pattern = if pattern.starts_with(':') { format!("public{pattern}") } else { pattern.to_owned() };
    glob(pattern.as_bytes(), target.as_bytes())
}

/// Iterative wildcard match (`*` any run, `.` any one byte), linear in practice: it
/// backtracks only to the last `*`.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'.' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_java_s_regexes_do() {
        assert!(glob(b"*:*", b"dev:G:config/a"));
        assert!(glob(b"dev:*:*", b"dev:G:naming/s"));
        assert!(!glob(b"dev:*:*", b"prod:G:naming/s"));
        assert!(glob(b"public:DEFAULT_GROUP:config/*", b"public:DEFAULT_GROUP:config/app.yaml"));
        assert!(!glob(b"public:DEFAULT_GROUP:config/*", b"public:DEFAULT_GROUP:naming/app"));
        assert!(glob(b"public:G:config/a.yaml", b"public:G:config/aXyaml"), "a dot is any character");
        assert!(!glob(b"public:G:config/a", b"public:G:config/ab"), "the whole string must match");
        assert!(pattern_matches(":*:naming/*", "public:G:naming/s"), "2.x's public prefix");
        assert!(!pattern_matches(":*:naming/*", "dev:G:naming/s"));
    }

    #[test]
    fn resources_read_as_3x_writes_them() {
        let config = Resource::Config { namespace: String::new(), group: "G".into(), data_id: String::new() };
        assert_eq!(config.as_pattern_target().as_deref(), Some("public:G:config/*"));
        let service = Resource::Naming { namespace: "dev".into(), group: "G".into(), service: "s".into() };
        assert_eq!(service.as_pattern_target().as_deref(), Some("dev:G:naming/s"));
        assert!(permission_covers("rw", "r") && permission_covers("rw", "w") && !permission_covers("r", "w"));
    }
}
