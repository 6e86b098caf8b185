//! Instance metadata in a compact form.

use std::collections::BTreeMap;
use std::fmt;

use super::NamingError;

/// An instance's metadata: key-value pairs sorted by key, packed into one allocation.
///
/// A registry holds hundreds of thousands of instances, most with a handful of short
/// pairs. A `BTreeMap`'s first node alone is about 540 bytes; a slice of boxed pairs costs
/// three allocations per pair. Here every pair is `len(key) key len(value) value` (lengths
/// as LEB128) in one byte buffer: `version=1.0.0` costs 16 bytes inline and one 32-byte heap
/// chunk. Lookups scan, which for a handful of pairs is as fast as a search.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Metadata(Box<[u8]>);

impl Metadata {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The pairs, ordered by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        Pairs { rest: &self.0 }
    }

    /// A map view, for encoders that want one.
    pub fn as_map(&self) -> BTreeMap<&str, &str> {
        self.iter().collect()
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Packs pairs that are already sorted by key and free of duplicates.
    fn pack<'a>(sorted: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> Self {
        let size: usize =
            sorted.clone().map(|(k, v)| varint_len(k.len()) + k.len() + varint_len(v.len()) + v.len()).sum();
        let mut packed = Vec::with_capacity(size);
        for (key, value) in sorted {
            for text in [key, value] {
                put_varint(&mut packed, text.len());
                packed.extend_from_slice(text.as_bytes());
            }
        }
        Self(packed.into_boxed_slice())
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

pub use crate::limits::MAX_METADATA_CHARS;

/// Checks metadata against [`MAX_METADATA_CHARS`], counted as Java Nacos counts it: the
/// characters of every non-blank key and value.
pub fn check_metadata_size(map: &BTreeMap<String, String>) -> Result<(), NamingError> {
    let counted = |text: &String| if text.trim().is_empty() { 0 } else { text.chars().count() };
    let mut total = 0_usize;
    for (key, value) in map {
        total = total.saturating_add(counted(key)).saturating_add(counted(value));
        if total > MAX_METADATA_CHARS {
            return Err(NamingError::MetadataTooLong { limit: MAX_METADATA_CHARS });
        }
    }
    Ok(())
}

/// A batch edit of instances' metadata (Java's `/instance/metadata/batch`): `Put` adds or
/// replaces the given pairs, `Remove` drops the given keys (their values are ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataEdit {
    Put,
    Remove,
}

impl MetadataEdit {
    /// `current` after the edit, checked against the size limit.
    pub fn apply(
        self,
        current: &Metadata,
        pairs: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, NamingError> {
        let mut edited: BTreeMap<String, String> = current.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        match self {
            Self::Put => edited.extend(pairs.iter().map(|(k, v)| (k.clone(), v.clone()))),
            Self::Remove => edited.retain(|key, _| !pairs.contains_key(key)),
        }
        check_metadata_size(&edited)?;
        Ok(edited)
    }
}

impl From<&BTreeMap<String, String>> for Metadata {
    fn from(map: &BTreeMap<String, String>) -> Self {
        // A BTreeMap iterates sorted and without duplicate keys.
        Self::pack(map.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

impl From<BTreeMap<String, String>> for Metadata {
    fn from(map: BTreeMap<String, String>) -> Self {
        Self::from(&map)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Metadata {
    /// Later pairs win over earlier ones with the same key.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let map: BTreeMap<String, String> = pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        Self::from(&map)
    }
}

/// Walks a packed buffer. The buffer is only ever built by [`Metadata::pack`] from `&str`s,
/// so every length and every text is well formed; a malformed one would end the walk.
struct Pairs<'a> {
    rest: &'a [u8],
}

impl<'a> Pairs<'a> {
    fn text(&mut self) -> Option<&'a str> {
        let len = take_varint(&mut self.rest)?;
        let (text, rest) = self.rest.split_at_checked(len)?;
        self.rest = rest;
        std::str::from_utf8(text).ok()
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let pair = self.text().zip(self.text());
        if pair.is_none() {
            self.rest = &[];
        }
        pair
    }
}

fn varint_len(mut value: usize) -> usize {
    let mut len = 1;
    while value >= 0x80 {
        value >>= 7;
        len += 1;
    }
    len
}

fn put_varint(out: &mut Vec<u8>, mut value: usize) {
    while value >= 0x80 {
        // Truncation intended: the low seven bits, with the continuation bit set.
        #[allow(clippy::cast_possible_truncation)]
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    #[allow(clippy::cast_possible_truncation)]
    out.push(value as u8);
}

fn take_varint(input: &mut &[u8]) -> Option<usize> {
    let mut value = 0usize;
    for shift in (0..usize::BITS).step_by(7) {
        let (&byte, rest) = input.split_first()?;
        *input = rest;
        value |= usize::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip_sorted_and_deduplicated() {
        let long = "v".repeat(300);
        let metadata: Metadata = [("b", "2"), ("a", "1"), ("b", "3"), ("", ""), ("long", long.as_str()), ("ü", "ß\0x")]
            .into_iter()
            .collect();
        let pairs: Vec<(&str, &str)> = metadata.iter().collect();
        assert_eq!(pairs, vec![("", ""), ("a", "1"), ("b", "3"), ("long", long.as_str()), ("ü", "ß\0x")]);
        assert_eq!(metadata.len(), 5);
        assert_eq!(metadata.get("long"), Some(long.as_str()));
        assert_eq!(metadata.get("ü"), Some("ß\0x"));
        assert_eq!(metadata.get("c"), None);
        assert_eq!(format!("{metadata:?}"), format!("{:?}", metadata.as_map()));
    }

    #[test]
    fn empty_metadata_holds_nothing() {
        let metadata = Metadata::default();
        assert!(metadata.is_empty());
        assert_eq!(metadata.iter().count(), 0);
        assert_eq!(Metadata::from(BTreeMap::new()), metadata);
    }

    #[test]
    fn batch_edits_put_and_remove_and_keep_the_limit() {
        let current: Metadata = [("a", "1"), ("b", "2")].into_iter().collect();
        let pairs: BTreeMap<String, String> =
            [("b".to_owned(), "3".to_owned()), ("c".to_owned(), "4".to_owned())].into();
        let put = MetadataEdit::Put.apply(&current, &pairs).unwrap();
        assert_eq!(put, BTreeMap::from([("a".into(), "1".into()), ("b".into(), "3".into()), ("c".into(), "4".into())]));
        let removed = MetadataEdit::Remove.apply(&current, &pairs).unwrap();
        assert_eq!(removed, BTreeMap::from([("a".into(), "1".into())]));
        let huge: BTreeMap<String, String> = [("k".to_owned(), "v".repeat(MAX_METADATA_CHARS))].into();
        assert!(matches!(MetadataEdit::Put.apply(&current, &huge), Err(NamingError::MetadataTooLong { .. })));
    }
}
