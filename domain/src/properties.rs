//! Property tests of the rules that read client input: whatever a client sends, they answer
//! a value or a typed error, never a panic, and what they accept keeps their promises.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::config::{ConfigKey, KeyRef};
use crate::naming::{InstanceAddress, InstanceDraft, ServiceKey, MAX_METADATA_CHARS};
use crate::paging::{Page, PageRequest, MAX_PAGE_SIZE};

/// Text a client might send: mostly plausible names, sometimes anything at all.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9._:-]{0,12}",
        "[a-z]{1,8}@@[a-z]{1,8}",
        ".{0,40}",
        Just(String::new()),
        Just("public".to_owned()),
        Just("null".to_owned()),
    ]
}

proptest! {
    #[test]
    fn config_keys_parse_or_refuse_and_borrowed_keys_agree(
        namespace in proptest::option::of(text()),
        group in proptest::option::of(text()),
        data_id in proptest::option::of(text()),
    ) {
        let owned = ConfigKey::parse(namespace.as_deref(), group.as_deref(), data_id.as_deref());
        let borrowed = KeyRef::parse(namespace.as_deref(), group.as_deref(), data_id.as_deref());
        prop_assert_eq!(owned.is_ok(), borrowed.is_ok(), "the hot path and the owned key take the same input");
        if let Ok(key) = owned {
            let again = ConfigKey::parse(Some(key.namespace.as_str()), Some(key.group.as_str()), Some(key.data_id.as_str()));
            prop_assert_eq!(again.unwrap(), key, "an accepted key parses to itself");
        }
    }

    #[test]
    fn service_keys_parse_or_refuse(
        namespace in proptest::option::of(text()),
        group in proptest::option::of(text()),
        name in proptest::option::of(text()),
    ) {
        if let Ok(key) = ServiceKey::parse(namespace.as_deref(), group.as_deref(), name.as_deref()) {
            let again = ServiceKey::parse(Some(key.namespace.as_str()), Some(key.group.as_str()), Some(key.name.as_str()));
            prop_assert_eq!(again.unwrap(), key);
        }
    }

    #[test]
    fn instance_drafts_validate_or_refuse_and_keep_the_limits(
        ip in proptest::option::of(prop_oneof!["127\\.0\\.[0-9]{1,3}\\.[0-9]{1,3}", text()]),
        port in proptest::option::of(any::<i64>()),
        weight in proptest::option::of(any::<f64>()),
        cluster in proptest::option::of(text()),
        metadata in proptest::collection::btree_map(text(), ".{0,300}", 0..8),
    ) {
        let draft = InstanceDraft { ip, port, weight, cluster, metadata: metadata.clone(), ..InstanceDraft::default() };
        if let Ok(instance) = draft.validate() {
            prop_assert!(port.is_some_and(|port| u16::try_from(port).is_ok_and(|p| p == instance.port)));
            prop_assert!((0.0..=10_000.0).contains(&instance.weight.value()));
            let counted = |text: &String| if text.trim().is_empty() { 0 } else { text.chars().count() };
            let chars: usize = metadata.iter().map(|(k, v)| counted(k) + counted(v)).sum();
            prop_assert!(chars <= MAX_METADATA_CHARS);
        }
        let _ = InstanceAddress::parse(draft.ip.as_deref(), draft.port, draft.cluster.as_deref());
    }

    #[test]
    fn any_page_request_is_a_valid_page(page_no in any::<Option<i64>>(), page_size in any::<Option<i64>>(), items in 0usize..2_000) {
        let request = PageRequest::new(page_no, page_size, 20);
        prop_assert!(request.page_no() >= 1);
        prop_assert!((1..=MAX_PAGE_SIZE).contains(&request.page_size()));
        let page = Page::of(0..items, request);
        prop_assert_eq!(page.total, items);
        prop_assert!(page.items.len() <= request.page_size());
        prop_assert_eq!(page.items.first().copied(), (request.skip() < items).then(|| request.skip()));
    }
}

#[test]
fn metadata_map_helper_agrees_with_the_rule() {
    let map = BTreeMap::from([("k".to_owned(), "v".repeat(MAX_METADATA_CHARS - 1))]);
    assert!(crate::naming::check_metadata_size(&map).is_ok());
}
