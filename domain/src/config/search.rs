//! Config search for consoles and the Python 2.x SDK's `get_configs`: exact or blurred
//! matching on data id and group, filters, and paging.

use std::sync::Arc;

use super::{Config, ConfigKey, ConfigTable, Namespace};

/// How `data_id` and `group` patterns match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchMode {
    /// Equal, or anything when the pattern is empty (`search=accurate`).
    Accurate,
    /// `*` is a wildcard; a pattern without one matches as a substring (`search=blur`).
    Blur,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigQuery {
    pub namespace: Namespace,
    pub data_id: String,
    pub group: String,
    pub mode: MatchMode,
    /// Exact app name, when non-empty.
    pub app_name: String,
    /// Configs carrying every one of these tags.
    pub tags: Vec<String>,
}

pub fn search(table: &ConfigTable, query: &ConfigQuery) -> Vec<(ConfigKey, Arc<Config>)> {
    table
        .iter()
        .filter(|(key, config)| {
            key.namespace == query.namespace
                && matches(query.mode, &query.data_id, key.data_id.as_str())
                && matches(query.mode, &query.group, key.group.as_str())
                && (query.app_name.is_empty() || config.app_name == query.app_name)
                && query.tags.iter().all(|tag| config.tags.split(',').any(|have| have == tag))
        })
        .map(|(key, config)| (key.clone(), Arc::clone(config)))
        .collect()
}

fn matches(mode: MatchMode, pattern: &str, value: &str) -> bool {
    if pattern.is_empty() {
        return true;
    }
    match mode {
        MatchMode::Accurate => pattern == value,
        MatchMode::Blur if pattern.contains('*') => glob(pattern.as_bytes(), value.as_bytes()),
        MatchMode::Blur => value.contains(pattern),
    }
}

/// `*` matches any run of bytes; everything else matches itself. Iterative, backtracking
/// only to the last `*`, so a pattern of many stars cannot blow up (O(pattern × value)).
fn glob(pattern: &[u8], value: &[u8]) -> bool {
    let (mut p, mut v) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    while v < value.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            last_star = Some((p, v));
            p += 1;
        } else if p < pattern.len() && pattern[p] == value[v] {
            p += 1;
            v += 1;
        } else if let Some((star, matched)) = last_star {
            p = star + 1;
            v = matched + 1;
            last_star = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|byte| *byte == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_patterns() {
        assert!(matches(MatchMode::Blur, "app*", "app.yaml"));
        assert!(matches(MatchMode::Blur, "*.yaml", "app.yaml"));
        assert!(matches(MatchMode::Blur, "a*p*l", "app.yaml"));
        assert!(!matches(MatchMode::Blur, "a*x", "app.yaml"));
        assert!(matches(MatchMode::Blur, "**", ""));
        let stars = "*a".repeat(40) + "b";
        assert!(!matches(MatchMode::Blur, &stars, &"a".repeat(200)), "many stars stay fast");
        assert!(matches(MatchMode::Blur, "pp.y", "app.yaml"));
        assert!(!matches(MatchMode::Accurate, "app", "app.yaml"));
        assert!(matches(MatchMode::Accurate, "", "anything"));
    }
}
