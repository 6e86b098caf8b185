//! Fuzzy watch of configs (Nacos 3.x): the config side of [`crate::fuzzy_watch`]. A config
//! is named on the wire by its group key; content changes reach a fuzzy watcher through
//! ordinary listens, so only a config's coming into being and going are told here.

use super::ConfigKey;
use crate::fuzzy_watch::WatchedKey;

/// Java's group key of a config: `dataId+group+namespace`, each part with `%` and `+`
/// escaped.
pub fn group_key(key: &ConfigKey) -> String {
    let escape = |part: &str| part.replace('%', "%25").replace('+', "%2B");
    format!("{}+{}+{}", escape(key.data_id.as_str()), escape(key.group.as_str()), escape(key.namespace.as_str()))
}

/// `key` as patterns see it; `wire` is its [`group_key`].
pub fn watched<'a>(key: &'a ConfigKey, wire: &'a str) -> WatchedKey<'a> {
    WatchedKey { namespace: key.namespace.as_str(), group: key.group.as_str(), name: key.data_id.as_str(), wire }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzy_watch::FuzzyPattern;

    fn key(namespace: &str, group: &str, data_id: &str) -> ConfigKey {
        ConfigKey::parse(Some(namespace), Some(group), Some(data_id)).unwrap()
    }

    #[test]
    fn group_keys_escape_as_java_s_do() {
        assert_eq!(group_key(&key("", "G", "a.yaml")), "a.yaml+G+public");
    }

    #[test]
    fn a_config_matches_by_namespace_group_and_data_id() {
        let pattern = FuzzyPattern::parse("public>>DEFAULT_GROUP>>app-*", "groupKeyPattern").unwrap();
        let config = key("", "DEFAULT_GROUP", "app-1.yaml");
        assert!(pattern.matches(&watched(&config, &group_key(&config))));
        let other = key("dev", "DEFAULT_GROUP", "app-1.yaml");
        assert!(!pattern.matches(&watched(&other, &group_key(&other))));
    }
}
