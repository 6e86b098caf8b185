//! Fuzzy watch of services (Nacos 3.x): the registry's side of [`crate::fuzzy_watch`]. A
//! service is named on the wire by its service key; a watcher is told when a matching
//! service comes into being (it appears in the service list: created, or given its first
//! instance) and when it goes. Instance changes reach it through ordinary subscriptions.

use super::ServiceKey;
use crate::fuzzy_watch::WatchedKey;

/// What separates the parts of a service key (Java's `SERVICE_INFO_SPLITER`).
const SPLITTER: &str = "@@";

/// Java's service key: `namespace@@group@@service`.
pub fn service_key(key: &ServiceKey) -> String {
    [key.namespace.as_str(), key.group.as_str(), key.name.as_str()].join(SPLITTER)
}

/// `key` as patterns see it; `wire` is its [`service_key`].
pub fn watched<'a>(key: &'a ServiceKey, wire: &'a str) -> WatchedKey<'a> {
    WatchedKey { namespace: key.namespace.as_str(), group: key.group.as_str(), name: key.name.as_str(), wire }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzy_watch::FuzzyPattern;

    #[test]
    fn service_keys_read_as_java_s() {
        let key = ServiceKey::parse(None, Some("G"), Some("orders")).unwrap();
        assert_eq!(service_key(&key), "public@@G@@orders");
        let pattern = FuzzyPattern::parse("public>>G>>ord*", "groupKeyPattern").unwrap();
        assert!(pattern.matches(&watched(&key, &service_key(&key))));
        let other = ServiceKey::parse(Some("dev"), Some("G"), Some("orders")).unwrap();
        assert!(!pattern.matches(&watched(&other, &service_key(&other))));
    }
}
