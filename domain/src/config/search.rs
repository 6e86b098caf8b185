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

/// One page of results; `page_no` counts from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub total: usize,
    pub page_no: usize,
    pub pages: usize,
    pub items: Vec<T>,
}

/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: usize = 500;

impl<T> Page<T> {
    /// Cuts `items` into pages of `page_size` (1..=500) and keeps page `page_no` (from 1).
    pub fn of(items: Vec<T>, page_no: usize, page_size: usize) -> Self {
        let page_size = page_size.clamp(1, MAX_PAGE_SIZE);
        let page_no = page_no.max(1);
        let total = items.len();
        let pages = total.div_ceil(page_size);
        let items = items.into_iter().skip((page_no - 1).saturating_mul(page_size)).take(page_size).collect();
        Self { total, page_no, pages, items }
    }
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

    #[test]
    fn pages() {
        let page = Page::of((1..=25).collect::<Vec<_>>(), 3, 10);
        assert_eq!((page.total, page.pages, page.items), (25, 3, vec![21, 22, 23, 24, 25]));
        assert!(Page::of((1..=5).collect::<Vec<_>>(), 9, 10).items.is_empty());
        assert_eq!(Page::of(vec![1], 0, 0).items, vec![1], "page 0 and size 0 are clamped");
    }
}
