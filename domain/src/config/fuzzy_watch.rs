//! Fuzzy watch (Nacos 3.x): a connection watches every config whose key matches a pattern,
//! `namespace>>groupPattern>>dataIdPattern`, where a part is exact, `*`, `*text`, `text*` or
//! `*text*` (Java's `FuzzyGroupKeyPattern`). The connection is told which keys match when it
//! starts (an initial sync, against the keys it says it already has) and whenever a config
//! that matches one of its patterns comes into being or goes; content changes reach it
//! through ordinary listens.

use std::collections::{BTreeMap, BTreeSet};

use super::{ConfigError, ConfigKey, ListenerId};

/// What separates a pattern's parts.
pub const PATTERN_SPLITTER: &str = ">>";
/// Most patterns one connection may watch (Java's default `maxPatternCount`).
pub const MAX_PATTERNS_PER_CONNECTION: usize = 20;
/// Longest pattern accepted.
pub const MAX_PATTERN_LEN: usize = 512;

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FuzzyPattern {
    raw: String,
    namespace: String,
    group: String,
    data_id: String,
}

impl FuzzyPattern {
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let invalid = || ConfigError::Invalid {
            param: "groupKeyPattern",
            reason: "expected namespace>>groupPattern>>dataIdPattern",
        };
        if raw.len() > MAX_PATTERN_LEN {
            return Err(ConfigError::TooLong { param: "groupKeyPattern", limit: MAX_PATTERN_LEN });
        }
        let parts: Vec<&str> = raw.split(PATTERN_SPLITTER).collect();
        let [namespace, group, data_id] = parts[..] else { return Err(invalid()) };
        if [namespace, group, data_id].iter().any(|part| part.trim().is_empty() || part.chars().any(char::is_control)) {
            return Err(invalid());
        }
        let namespace = super::Namespace::new(namespace).map_err(|_| invalid())?;
        Ok(Self {
            raw: raw.to_owned(),
            namespace: namespace.as_str().to_owned(),
            group: group.to_owned(),
            data_id: data_id.to_owned(),
        })
    }

    /// The pattern as the client sent it (what the syncs echo).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn matches(&self, key: &ConfigKey) -> bool {
        key.namespace.as_str() == self.namespace
            && part_matches(&self.group, key.group.as_str())
            && part_matches(&self.data_id, key.data_id.as_str())
    }
}

fn part_matches(pattern: &str, value: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == value;
    }
    let inner = pattern.trim_matches('*');
    match (pattern.starts_with('*'), pattern.ends_with('*')) {
        _ if inner.is_empty() => true,
        _ if inner.contains('*') => false,
        (true, true) => value.contains(inner),
        (true, false) => value.ends_with(inner),
        (false, true) => value.starts_with(inner),
        (false, false) => false,
    }
}

/// Java's group key of a config: `dataId+group+namespace`, each part with `%` and `+`
/// escaped.
pub fn group_key(key: &ConfigKey) -> String {
    let escape = |part: &str| part.replace('%', "%25").replace('+', "%2B");
    format!("{}+{}+{}", escape(key.data_id.as_str()), escape(key.group.as_str()), escape(key.namespace.as_str()))
}

/// How a synced key changed for the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FuzzyChange {
    /// Matches and exists; the client does not have it (`ADD_CONFIG` in a sync,
    /// `CONFIG_CHANGED` in a change notice, as Java sends them).
    Added,
    /// The client has it, but it no longer exists or matches (`DELETE_CONFIG`).
    Removed,
}

/// Why a watch was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FuzzyWatchError {
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    #[error("fuzzy watch pattern count is over the limit of {limit}")]
    TooManyPatterns { limit: usize },
}

/// Every listener's patterns.
#[derive(Debug, Clone, Default)]
pub struct FuzzyWatchTable {
    by_listener: BTreeMap<ListenerId, BTreeSet<FuzzyPattern>>,
}

impl FuzzyWatchTable {
    /// Adds a pattern for `listener` (again: nothing changes).
    pub fn watch(&mut self, listener: &ListenerId, pattern: FuzzyPattern) -> Result<(), FuzzyWatchError> {
        let patterns = self.by_listener.entry(listener.clone()).or_default();
        if !patterns.contains(&pattern) && patterns.len() >= MAX_PATTERNS_PER_CONNECTION {
            return Err(FuzzyWatchError::TooManyPatterns { limit: MAX_PATTERNS_PER_CONNECTION });
        }
        patterns.insert(pattern);
        Ok(())
    }

    pub fn cancel(&mut self, listener: &ListenerId, pattern: &FuzzyPattern) {
        if let Some(patterns) = self.by_listener.get_mut(listener) {
            patterns.remove(pattern);
            if patterns.is_empty() {
                self.by_listener.remove(listener);
            }
        }
    }

    pub fn drop_listener(&mut self, listener: &ListenerId) {
        self.by_listener.remove(listener);
    }

    /// Who is told that `key` came into being or went: each listener with a matching pattern,
    /// once, with that pattern.
    pub fn targets(&self, key: &ConfigKey) -> Vec<(ListenerId, FuzzyPattern)> {
        self.by_listener
            .iter()
            .filter_map(|(listener, patterns)| {
                patterns.iter().find(|pattern| pattern.matches(key)).map(|pattern| (listener.clone(), pattern.clone()))
            })
            .collect()
    }
}

/// The initial (or re-)sync of one pattern: the matching keys the client lacks are
/// added, the keys it has that no longer match or exist are removed.
pub fn sync<'a>(
    pattern: &FuzzyPattern,
    existing: impl IntoIterator<Item = &'a ConfigKey>,
    received: &BTreeSet<String>,
) -> Vec<(String, FuzzyChange)> {
    let matching: BTreeSet<String> = existing.into_iter().filter(|key| pattern.matches(key)).map(group_key).collect();
    let added = matching.difference(received).map(|key| (key.clone(), FuzzyChange::Added));
    let removed = received.difference(&matching).map(|key| (key.clone(), FuzzyChange::Removed));
    added.chain(removed).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(namespace: &str, group: &str, data_id: &str) -> ConfigKey {
        ConfigKey::parse(Some(namespace), Some(group), Some(data_id)).unwrap()
    }

    #[test]
    fn patterns_match_as_java_s_do() {
        let pattern = FuzzyPattern::parse("public>>DEFAULT_GROUP>>app-*").unwrap();
        assert!(pattern.matches(&key("", "DEFAULT_GROUP", "app-1.yaml")));
        assert!(!pattern.matches(&key("", "DEFAULT_GROUP", "web-1.yaml")));
        assert!(!pattern.matches(&key("dev", "DEFAULT_GROUP", "app-1.yaml")), "another namespace");
        let any = FuzzyPattern::parse("dev>>*>>*.yaml").unwrap();
        assert!(any.matches(&key("dev", "G", "a.yaml")) && !any.matches(&key("dev", "G", "a.json")));
        let inner = FuzzyPattern::parse("public>>*RO*>>x").unwrap();
        assert!(inner.matches(&key("", "GROUP", "x")));
        for bad in ["public>>G", "public>>>>x", ">>G>>x", "a>>b>>c>>d", "bad ns!>>G>>x"] {
            assert!(FuzzyPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn group_keys_escape_as_java_s_do() {
        assert_eq!(group_key(&key("", "G", "a.yaml")), "a.yaml+G+public");
    }

    #[test]
    fn a_sync_adds_what_the_client_lacks_and_removes_what_is_gone() {
        let pattern = FuzzyPattern::parse("public>>G>>*").unwrap();
        let existing = [key("", "G", "a"), key("", "G", "b"), key("", "H", "c")];
        let received: BTreeSet<String> = ["b+G+public".to_owned(), "gone+G+public".to_owned()].into();
        let changes = sync(&pattern, existing.iter(), &received);
        assert_eq!(
            changes,
            [("a+G+public".to_owned(), FuzzyChange::Added), ("gone+G+public".to_owned(), FuzzyChange::Removed)]
        );
    }

    #[test]
    fn a_listener_has_at_most_twenty_patterns_and_each_key_tells_it_once() {
        let mut table = FuzzyWatchTable::default();
        let listener = ListenerId::LongPoll(1);
        for n in 0..MAX_PATTERNS_PER_CONNECTION {
            table.watch(&listener, FuzzyPattern::parse(&format!("public>>G>>p{n}*")).unwrap()).unwrap();
        }
        let over = FuzzyPattern::parse("public>>G>>other*").unwrap();
        assert!(matches!(table.watch(&listener, over), Err(FuzzyWatchError::TooManyPatterns { limit: 20 })));
        table.watch(&listener, FuzzyPattern::parse("public>>G>>p0*").unwrap()).unwrap();
        assert_eq!(table.targets(&key("", "G", "p0-x")).len(), 1);
        assert!(table.targets(&key("", "G", "zzz")).is_empty());
        table.drop_listener(&listener);
        assert!(table.targets(&key("", "G", "p0-x")).is_empty());
    }
}
