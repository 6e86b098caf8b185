//! Fuzzy watch (Nacos 3.x), the rules configs and services share: a connection watches every
//! key that matches a pattern `namespace>>groupPattern>>namePattern`, where a part is exact,
//! `*`, `*text`, `text*` or `*text*` (Java's `FuzzyGroupKeyPattern`). It is told which keys
//! match when it starts (a sync against the keys it says it already has) and, after that,
//! whenever a matching key comes into being or goes.
//!
//! The table remembers, per watcher and pattern, the keys the watcher was told exist (Java's
//! "matched keys"). A change is judged against that memory, not against the event that
//! caused it, so a burst of changes to one key becomes at most one notice, a repeated
//! change none, and a pattern that matches too much is cut at a limit instead of growing
//! without bound.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::Namespace;

/// What separates a pattern's parts.
pub const PATTERN_SPLITTER: &str = ">>";
/// Most patterns one connection may watch (Java's default `maxPatternCount`).
pub const MAX_PATTERNS_PER_WATCHER: usize = 20;
/// Most keys one pattern tracks (Java's default matched count, 500 for services and
/// configs): past it, new keys are not announced and the watch answers
/// [`FuzzyWatchError::MatchCountOverLimit`].
pub const MAX_KEYS_PER_PATTERN: usize = 500;
/// Longest pattern accepted.
pub const MAX_PATTERN_LEN: usize = 512;

/// Why a pattern or a watch was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FuzzyWatchError {
    #[error("{param} is invalid: expected namespace>>groupPattern>>namePattern")]
    Invalid { param: &'static str },
    #[error("{param} is longer than {limit} characters")]
    TooLong { param: &'static str, limit: usize },
    #[error("fuzzy watch pattern count is over the limit of {limit}")]
    TooManyPatterns { limit: usize },
    /// The watch holds, but only the first `limit` matching keys are tracked.
    #[error("fuzzy watch pattern matched count is over the limit of {limit}")]
    MatchCountOverLimit { limit: usize },
}

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FuzzyPattern {
    raw: String,
    namespace: String,
    group: String,
    name: String,
}

impl FuzzyPattern {
    /// Reads `raw`; `param` names it in errors (`groupKeyPattern` on the wire).
    pub fn parse(raw: &str, param: &'static str) -> Result<Self, FuzzyWatchError> {
        if raw.len() > MAX_PATTERN_LEN {
            return Err(FuzzyWatchError::TooLong { param, limit: MAX_PATTERN_LEN });
        }
        let invalid = FuzzyWatchError::Invalid { param };
        let parts: Vec<&str> = raw.split(PATTERN_SPLITTER).collect();
        let [namespace, group, name] = parts[..] else { return Err(invalid) };
        if [namespace, group, name].iter().any(|part| part.trim().is_empty() || part.chars().any(char::is_control)) {
            return Err(invalid);
        }
        let namespace = Namespace::new(namespace).map_err(|_| invalid)?;
        Ok(Self {
            raw: raw.to_owned(),
            namespace: namespace.as_str().to_owned(),
            group: group.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The pattern as the client sent it (what the syncs echo).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether the pattern watches namespace `namespace` (canonical, as [`Namespace`]
    /// holds it): a key elsewhere never matches.
    pub fn namespace_is(&self, namespace: &str) -> bool {
        self.namespace == namespace
    }

    /// Whether the key (`namespace` canonical, as [`Namespace`] holds it) matches.
    pub fn matches(&self, key: &WatchedKey<'_>) -> bool {
        key.namespace == self.namespace && part_matches(&self.group, key.group) && part_matches(&self.name, key.name)
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

/// A config's or a service's key as patterns see it, with the string that names it on the
/// wire (a config's group key, a service's service key).
#[derive(Debug, Clone, Copy)]
pub struct WatchedKey<'a> {
    pub namespace: &'a str,
    pub group: &'a str,
    pub name: &'a str,
    pub wire: &'a str,
}

/// How a key changed for a watcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FuzzyChange {
    /// Matches and exists; the watcher was not told of it yet.
    Added,
    /// The watcher was told of it, and it no longer exists (or matches).
    Removed,
}

/// What a watch asks the adapter to send: the sync's changes in order, and whether the
/// pattern matched more keys than are tracked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPlan {
    pub changes: Vec<(String, FuzzyChange)>,
    pub over_limit: bool,
}

/// Every watcher's patterns, and per pattern the keys the watcher was told exist.
#[derive(Debug, Clone)]
pub struct FuzzyWatchTable<W> {
    watchers: BTreeMap<W, BTreeMap<FuzzyPattern, BTreeSet<String>>>,
}

impl<W> Default for FuzzyWatchTable<W> {
    fn default() -> Self {
        Self { watchers: BTreeMap::new() }
    }
}

impl<W: Ord + Clone> FuzzyWatchTable<W> {
    /// Starts (or repeats) `watcher`'s watch of `pattern`. `existing` are the keys that exist
    /// now (any; those matching are kept); `received` the wire keys the watcher says it has.
    /// The plan adds what it lacks (up to the limit) and removes what it has that is gone.
    pub fn watch<'a>(
        &mut self,
        watcher: &W,
        pattern: FuzzyPattern,
        existing: impl IntoIterator<Item = WatchedKey<'a>>,
        received: &BTreeSet<String>,
    ) -> Result<SyncPlan, FuzzyWatchError> {
        let patterns = self.watchers.entry(watcher.clone()).or_default();
        if !patterns.contains_key(&pattern) && patterns.len() >= MAX_PATTERNS_PER_WATCHER {
            return Err(FuzzyWatchError::TooManyPatterns { limit: MAX_PATTERNS_PER_WATCHER });
        }
        let matching: BTreeSet<String> =
            existing.into_iter().filter(|key| pattern.matches(key)).map(|key| key.wire.to_owned()).collect();
        let over_limit = matching.len() > MAX_KEYS_PER_PATTERN;
        let tracked: BTreeSet<String> = matching.into_iter().take(MAX_KEYS_PER_PATTERN).collect();
        let added = tracked.difference(received).map(|key| (key.clone(), FuzzyChange::Added));
        let removed = received.difference(&tracked).map(|key| (key.clone(), FuzzyChange::Removed));
        let changes = added.chain(removed).collect();
        patterns.insert(pattern, tracked);
        Ok(SyncPlan { changes, over_limit })
    }

    /// Ends `watcher`'s watch of `pattern`.
    pub fn cancel(&mut self, watcher: &W, pattern: &FuzzyPattern) {
        if let Some(patterns) = self.watchers.get_mut(watcher) {
            patterns.remove(pattern);
            if patterns.is_empty() {
                self.watchers.remove(watcher);
            }
        }
    }

    /// Whether nobody watches (the common case: the registry skips its checks).
    pub fn is_empty(&self) -> bool {
        self.watchers.is_empty()
    }

    /// The watcher is gone.
    pub fn drop_watcher(&mut self, watcher: &W) {
        self.watchers.remove(watcher);
    }

    /// `key` exists now (or not): who is told, and how. A watcher hears of a key once,
    /// however many of its patterns match it, and only when that changes what it was told.
    pub fn observe(&mut self, key: &WatchedKey<'_>, exists: bool) -> Vec<(W, FuzzyChange)> {
        let mut notices = Vec::new();
        for (watcher, patterns) in &mut self.watchers {
            let mut known_before = false;
            let mut known_after = false;
            for (_, tracked) in patterns.iter_mut().filter(|(pattern, _)| pattern.matches(key)) {
                known_before |= tracked.contains(key.wire);
                if !exists {
                    tracked.remove(key.wire);
                } else if tracked.len() < MAX_KEYS_PER_PATTERN || tracked.contains(key.wire) {
                    tracked.insert(key.wire.to_owned());
                }
                known_after |= tracked.contains(key.wire);
            }
            match (known_before, known_after) {
                (false, true) => notices.push((watcher.clone(), FuzzyChange::Added)),
                (true, false) => notices.push((watcher.clone(), FuzzyChange::Removed)),
                _ => {}
            }
        }
        notices
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key<'a>(namespace: &'a str, group: &'a str, name: &'a str, wire: &'a str) -> WatchedKey<'a> {
        WatchedKey { namespace, group, name, wire }
    }

    fn pattern(raw: &str) -> FuzzyPattern {
        FuzzyPattern::parse(raw, "groupKeyPattern").unwrap()
    }

    #[test]
    fn patterns_match_as_java_s_do() {
        let exact = pattern("public>>DEFAULT_GROUP>>app-*");
        assert!(exact.matches(&key("public", "DEFAULT_GROUP", "app-1", "")));
        assert!(!exact.matches(&key("public", "DEFAULT_GROUP", "web-1", "")));
        assert!(!exact.matches(&key("dev", "DEFAULT_GROUP", "app-1", "")), "another namespace");
        let suffix = pattern("dev>>*>>*.yaml");
        assert!(suffix.matches(&key("dev", "G", "a.yaml", "")) && !suffix.matches(&key("dev", "G", "a.json", "")));
        assert!(pattern("public>>*RO*>>x").matches(&key("public", "GROUP", "x", "")));
        for bad in ["public>>G", "public>>>>x", ">>G>>x", " >>G>>x", "a>>b>>c>>d", "bad ns!>>G>>x"] {
            assert!(FuzzyPattern::parse(bad, "p").is_err(), "{bad}");
        }
        let long = format!("public>>G>>{}", "x".repeat(MAX_PATTERN_LEN));
        assert_eq!(
            FuzzyPattern::parse(&long, "p"),
            Err(FuzzyWatchError::TooLong { param: "p", limit: MAX_PATTERN_LEN })
        );
    }

    #[test]
    fn a_sync_adds_what_the_watcher_lacks_and_removes_what_is_gone() {
        let mut table = FuzzyWatchTable::default();
        let existing = [key("public", "G", "a", "a"), key("public", "G", "b", "b"), key("public", "H", "c", "c")];
        let received: BTreeSet<String> = ["b".to_owned(), "gone".to_owned()].into();
        let plan = table.watch(&1, pattern("public>>G>>*"), existing, &received).unwrap();
        assert_eq!(plan.changes, [("a".to_owned(), FuzzyChange::Added), ("gone".to_owned(), FuzzyChange::Removed)]);
        assert!(!plan.over_limit);
    }

    #[test]
    fn a_watcher_hears_of_a_key_once_and_only_when_what_it_knows_changes() {
        let mut table = FuzzyWatchTable::default();
        table.watch(&1, pattern("public>>G>>a*"), [], &BTreeSet::new()).unwrap();
        table.watch(&1, pattern("public>>G>>*"), [], &BTreeSet::new()).unwrap();
        table.watch(&2, pattern("public>>H>>*"), [], &BTreeSet::new()).unwrap();
        let a = key("public", "G", "a1", "a1");
        assert_eq!(table.observe(&a, true), [(1, FuzzyChange::Added)], "two patterns match; one notice");
        assert!(table.observe(&a, true).is_empty(), "already told");
        assert_eq!(table.observe(&a, false), [(1, FuzzyChange::Removed)]);
        assert!(table.observe(&a, false).is_empty(), "already told it went");
        table.cancel(&1, &pattern("public>>G>>a*"));
        table.cancel(&1, &pattern("public>>G>>*"));
        assert!(table.observe(&a, true).is_empty(), "no pattern left");
        table.drop_watcher(&2);
        assert!(table.observe(&key("public", "H", "x", "x"), true).is_empty());
    }

    #[test]
    fn a_watcher_has_at_most_twenty_patterns() {
        let mut table = FuzzyWatchTable::default();
        for n in 0..MAX_PATTERNS_PER_WATCHER {
            table.watch(&1, pattern(&format!("public>>G>>p{n}*")), [], &BTreeSet::new()).unwrap();
        }
        let over = table.watch(&1, pattern("public>>G>>other*"), [], &BTreeSet::new());
        assert_eq!(over, Err(FuzzyWatchError::TooManyPatterns { limit: 20 }));
        assert!(table.watch(&1, pattern("public>>G>>p0*"), [], &BTreeSet::new()).is_ok(), "a repeat is no new pattern");
    }

    #[test]
    fn a_pattern_tracks_at_most_its_limit_of_keys() {
        let names: Vec<String> = (0..=MAX_KEYS_PER_PATTERN).map(|n| format!("s{n:04}")).collect();
        let existing = names.iter().map(|name| key("public", "G", name, name));
        let mut table = FuzzyWatchTable::default();
        let plan = table.watch(&1, pattern("public>>G>>*"), existing, &BTreeSet::new()).unwrap();
        assert!(plan.over_limit);
        assert_eq!(plan.changes.len(), MAX_KEYS_PER_PATTERN);
        assert!(table.observe(&key("public", "G", "new", "new"), true).is_empty(), "full: not announced");
        assert_eq!(table.observe(&key("public", "G", "s0000", "s0000"), false), [(1, FuzzyChange::Removed)]);
        assert_eq!(table.observe(&key("public", "G", "new", "new"), true), [(1, FuzzyChange::Added)], "room again");
    }
}
