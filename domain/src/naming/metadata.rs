//! Instance metadata in a compact form.

use std::collections::BTreeMap;

/// An instance's metadata: key-value pairs sorted by key. Most instances carry a handful of
/// keys, and a registry holds hundreds of thousands of instances: a `BTreeMap`'s first node
/// alone is about 540 bytes, this is 16 bytes plus the pairs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata(Box<[(Box<str>, Box<str>)]>);

impl Metadata {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.binary_search_by(|(k, _)| (**k).cmp(key)).ok().map(|at| &*self.0[at].1)
    }

    /// The pairs, ordered by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    /// A map view, for encoders that want one.
    pub fn as_map(&self) -> BTreeMap<&str, &str> {
        self.iter().collect()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&BTreeMap<String, String>> for Metadata {
    fn from(map: &BTreeMap<String, String>) -> Self {
        // A BTreeMap iterates sorted and without duplicate keys.
        Self(map.iter().map(|(k, v)| (Box::from(k.as_str()), Box::from(v.as_str()))).collect())
    }
}

impl From<BTreeMap<String, String>> for Metadata {
    fn from(map: BTreeMap<String, String>) -> Self {
        Self(map.into_iter().map(|(k, v)| (k.into_boxed_str(), v.into_boxed_str())).collect())
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Metadata {
    /// Later pairs win over earlier ones with the same key.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let map: BTreeMap<String, String> = pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        Self::from(map)
    }
}
