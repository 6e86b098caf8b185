use super::*;
use crate::{Change, Command, Millis, Outcome, Rejection, State};

fn params<'a>(data_id: &'a str, content: &'a str) -> PublishParams<'a> {
    PublishParams { data_id: Some(data_id), group: Some("DEFAULT_GROUP"), content: Some(content), ..Default::default() }
}

fn publish(data_id: &str, content: &str) -> PublishConfig {
    PublishConfig::parse(&params(data_id, content), ConfigLimits::default()).unwrap()
}

fn apply_publish(state: &mut State, publish: PublishConfig, now: u64) -> Outcome {
    state.apply(&Command::Config(ConfigCommand::Publish { publish, now: Millis(now) }))
}

#[test]
fn md5_matches_nacos() {
    assert_eq!(md5_hex(""), "");
    assert_eq!(md5_hex("hello"), "5d41402abc4b2a76b9719d911017c592");
    assert_eq!(md5_hex("a=1\nb=2").len(), 32);
}

#[test]
fn public_namespace_has_one_spelling() {
    for raw in ["", "public", "PUBLIC", "null", "  "] {
        assert!(Namespace::new(raw).unwrap().is_public(), "{raw:?}");
    }
    assert_eq!(Namespace::new("dev-1").unwrap().as_str(), "dev-1");
}

#[test]
fn names_follow_nacos_character_rules() {
    assert!(DataId::new("app.yaml").is_ok());
    assert!(DataId::new("a_b-c.d:e").is_ok());
    for bad in ["a b", "a/b", "a*b", "中文", "a\u{0}b"] {
        assert!(matches!(DataId::new(bad), Err(ConfigError::Invalid { param: "dataId", .. })), "{bad:?}");
        assert!(matches!(Group::new(bad), Err(ConfigError::Invalid { param: "group", .. })), "{bad:?}");
    }
}

/// Java Nacos's `ParamCheckRule` lengths, at the boundary, with its message; stored data is
/// read back without them.
#[test]
fn identity_lengths_follow_nacos_parameter_checks() {
    use crate::limits::{MAX_DATA_ID_LEN, MAX_GROUP_LEN, MAX_NAMESPACE_ID_LEN};
    assert!(DataId::new(&"x".repeat(MAX_DATA_ID_LEN)).is_ok());
    assert_eq!(
        DataId::new(&"x".repeat(MAX_DATA_ID_LEN + 1)),
        Err(ConfigError::TooLong { param: "dataId", limit: 256 })
    );
    assert!(Group::new(&"g".repeat(MAX_GROUP_LEN)).is_ok());
    assert_eq!(Group::new(&"g".repeat(MAX_GROUP_LEN + 1)), Err(ConfigError::TooLong { param: "group", limit: 128 }));
    assert!(Namespace::new(&"n".repeat(MAX_NAMESPACE_ID_LEN)).is_ok());
    let too_long = Namespace::new(&"n".repeat(MAX_NAMESPACE_ID_LEN + 1)).unwrap_err();
    assert_eq!(too_long.to_string(), "Param 'tenant' is illegal, the param length should not exceed 64.");
    assert!(KeyRef::parse(Some(&"n".repeat(65)), Some("g"), Some("d")).is_err());

    let long = "n".repeat(128);
    assert_eq!(Namespace::restore(&long).unwrap().as_str(), long);
    assert!(Group::restore(&"g".repeat(300)).is_ok());
    assert!(DataId::restore("a b").is_err(), "restoring still checks the characters");
}

#[test]
fn missing_parameters_are_named() {
    let limits = ConfigLimits::default();
    let missing = |params: PublishParams<'_>| PublishConfig::parse(&params, limits).unwrap_err();
    assert_eq!(missing(PublishParams { data_id: None, ..params("d", "c") }), ConfigError::Missing("dataId"));
    assert_eq!(missing(PublishParams { group: None, ..params("d", "c") }), ConfigError::Missing("group"));
    assert_eq!(missing(PublishParams { content: None, ..params("d", "c") }), ConfigError::Missing("content"));
    assert_eq!(missing(params("d", "  \n")), ConfigError::Missing("content"));
    assert_eq!(missing(params("", "c")), ConfigError::Missing("dataId"));
    assert!(missing(PublishParams { data_id: None, ..params("d", "c") }).to_string().contains("'dataId'"));
}

#[test]
fn content_size_is_bounded() {
    let limits = ConfigLimits { max_content_bytes: 8 };
    assert!(PublishConfig::parse(&params("d", "12345678"), limits).is_ok());
    assert_eq!(
        PublishConfig::parse(&params("d", "123456789"), limits).unwrap_err(),
        ConfigError::ContentTooLarge { size: 9, limit: 8 }
    );
}

#[test]
fn metadata_is_validated_and_normalised() {
    let limits = ConfigLimits::default();
    let parsed = PublishConfig::parse(
        &PublishParams { config_type: Some("YAML"), tags: Some(" a, b ,,c"), desc: Some("d"), ..params("d", "c") },
        limits,
    )
    .unwrap();
    assert_eq!(parsed.meta.config_type, ConfigType::Yaml);
    assert_eq!(parsed.meta.tags, "a,b,c");
    let unknown =
        PublishConfig::parse(&PublishParams { config_type: Some("exe"), ..params("d", "c") }, limits).unwrap();
    assert_eq!(unknown.meta.config_type, ConfigType::Text);
    let too_many = PublishParams { tags: Some("1,2,3,4,5,6"), ..params("d", "c") };
    assert!(matches!(PublishConfig::parse(&too_many, limits), Err(ConfigError::Invalid { param: "config_tags", .. })));
    let long_desc = "x".repeat(129);
    let long = PublishParams { desc: Some(&long_desc), ..params("d", "c") };
    assert!(matches!(PublishConfig::parse(&long, limits), Err(ConfigError::TooLong { param: "desc", limit: 128 })));
}

#[test]
fn publish_stores_content_md5_and_times() {
    let mut state = State::default();
    let outcome = apply_publish(&mut state, publish("d", "v1"), 10);
    let Outcome::Applied(changes) = outcome else { panic!("rejected") };
    let Change::Config(ConfigChange::Upserted { config, previous: None, .. }) = &changes[0] else {
        panic!("unexpected {changes:?}")
    };
    assert_eq!(config.md5, md5_hex("v1"));
    assert_eq!((config.created, config.last_modified), (Millis(10), Millis(10)));

    apply_publish(&mut state, publish("d", "v2"), 20);
    let stored = state.config.get(&publish("d", "x").key).unwrap();
    assert_eq!(stored.content, "v2");
    assert_eq!((stored.created, stored.last_modified), (Millis(10), Millis(20)));
}

#[test]
fn cas_publish_checks_the_stored_md5() {
    let mut state = State::default();
    apply_publish(&mut state, publish("d", "v1"), 1);
    let stale = PublishConfig { cas_md5: Some(md5_hex("other")), ..publish("d", "v2") };
    assert_eq!(apply_publish(&mut state, stale, 2), Outcome::Rejected(Rejection::CasMismatch));
    assert_eq!(state.config.get(&publish("d", "x").key).unwrap().content, "v1", "a refused cas changes nothing");

    let fresh = PublishConfig { cas_md5: Some(md5_hex("v1")), ..publish("d", "v2") };
    assert!(matches!(apply_publish(&mut state, fresh, 3), Outcome::Applied(_)));
    assert_eq!(state.config.get(&publish("d", "x").key).unwrap().content, "v2");

    let create_expected_absent = PublishConfig { cas_md5: Some(md5_hex("v1")), ..publish("new", "v") };
    assert_eq!(apply_publish(&mut state, create_expected_absent, 4), Outcome::Rejected(Rejection::CasMismatch));
}

#[test]
fn remove_reports_what_was_there() {
    let mut state = State::default();
    apply_publish(&mut state, publish("d", "v1"), 1);
    let key = publish("d", "x").key;
    let outcome = state.apply(&Command::Config(ConfigCommand::Remove { key: key.clone(), now: Millis(2) }));
    assert!(
        matches!(&outcome, Outcome::Applied(changes) if matches!(changes[0], Change::Config(ConfigChange::Removed { previous: Some(_), .. })))
    );
    assert!(state.config.get(&key).is_none());
    let again = state.apply(&Command::Config(ConfigCommand::Remove { key, now: Millis(3) }));
    let Outcome::Applied(changes) = again else { panic!("rejected") };
    assert!(
        matches!(changes.as_slice(), [Change::Config(ConfigChange::Removed { previous: None, .. })]),
        "no history for a no-op"
    );
}

#[test]
fn namespaces_and_groups_isolate_configs() {
    let limits = ConfigLimits::default();
    let mut state = State::default();
    let in_dev = PublishParams { namespace: Some("dev"), ..params("d", "dev") };
    let in_public = PublishParams { namespace: Some(""), ..params("d", "public") };
    let other_group = PublishParams { group: Some("G2"), ..params("d", "g2") };
    for p in [in_dev, in_public, other_group] {
        apply_publish(&mut state, PublishConfig::parse(&p, limits).unwrap(), 1);
    }
    assert_eq!(state.config.len(), 3);
    let public_key = ConfigKey::parse(Some("public"), Some("DEFAULT_GROUP"), Some("d")).unwrap();
    assert_eq!(state.config.get(&public_key).unwrap().content, "public");
}

mod listeners {
    use super::super::*;

    fn key(data_id: &str) -> ConfigKey {
        ConfigKey::parse(None, Some("DEFAULT_GROUP"), Some(data_id)).unwrap()
    }

    fn context(data_id: &str, tenant: &str, md5: &str) -> ListenContext {
        ListenContext { key: key(data_id), tenant_as_sent: tenant.to_owned(), md5: md5.to_owned() }
    }

    fn md5_of_a(k: &ConfigKey) -> String {
        if k.data_id.as_str() == "a" {
            md5_hex("a")
        } else {
            String::new()
        }
    }

    fn listener(id: &str) -> ListenerId {
        ListenerId::Connection(ConnectionId::new(id))
    }

    #[test]
    fn a_long_poll_is_a_listener_whose_stale_keys_are_asked_again_after_a_change() {
        let mut table = ListenerTable::default();
        let poll = ListenerId::LongPoll(7);
        let held = [context("a", "dev", &md5_hex("a")), context("b", "", "")];
        assert!(table.listen(&poll, &Reader::at("10.0.0.3"), &held, 10, md5_of_a).unwrap().is_empty());
        assert_eq!(table.targets(&key("a"))[0].listener, poll);
        assert!(table.stale(&poll, |key, _| md5_of_a(key)).is_empty());
        let changed = table.stale(&poll, |key, reader| {
            assert_eq!(reader.ip, "10.0.0.3", "staleness is judged for the client's ip (betas)");
            if key.data_id.as_str() == "a" {
                "new".to_owned()
            } else {
                String::new()
            }
        });
        assert_eq!(changed, vec![context("a", "dev", &md5_hex("a"))], "the tenant is echoed as sent");
        assert_eq!(table.registrations_of_ip("10.0.0.3").len(), 2);
        table.drop_listener(&poll);
        assert!(table.targets(&key("a")).is_empty());
    }

    #[test]
    fn listen_reports_only_stale_keys() {
        let mut table = ListenerTable::default();
        let conn = listener("c1");
        let contexts = [context("a", "", &md5_hex("a")), context("b", "", ""), context("c", "", "old")];
        let changed = table.listen(&conn, &Reader::at("10.0.0.1"), &contexts, 10, md5_of_a).unwrap();
        assert_eq!(changed, vec![context("c", "", "old")], "an absent config matches md5 \"\"");
    }

    #[test]
    fn pushes_echo_the_tenant_each_connection_sent() {
        let mut table = ListenerTable::default();
        table.listen(&listener("c1"), &Reader::at("10.0.0.1"), &[context("a", "", "")], 10, md5_of_a).unwrap();
        table.listen(&listener("c2"), &Reader::at("10.0.0.2"), &[context("a", "public", "")], 10, md5_of_a).unwrap();
        let targets = table.targets(&key("a"));
        assert_eq!(
            targets,
            vec![
                PushTarget { listener: listener("c1"), tenant_as_sent: String::new() },
                PushTarget { listener: listener("c2"), tenant_as_sent: "public".to_owned() },
            ]
        );
    }

    #[test]
    fn unlisten_and_disconnect_remove_registrations() {
        let mut table = ListenerTable::default();
        let (c1, c2) = (listener("c1"), listener("c2"));
        table
            .listen(&c1, &Reader::at("10.0.0.1"), &[context("a", "", ""), context("b", "", "")], 10, md5_of_a)
            .unwrap();
        table.listen(&c2, &Reader::at("10.0.0.2"), &[context("a", "", "")], 10, md5_of_a).unwrap();
        assert_eq!(table.counts(), (2, 2), "two listeners, two listened configs");
        table.unlisten(&c1, &[key("a")]);
        assert_eq!(table.targets(&key("a")).len(), 1);
        assert_eq!(table.keys_of(&c1), vec![key("b")]);
        table.drop_listener(&c1);
        assert!(table.targets(&key("b")).is_empty());
        assert!(table.keys_of(&c1).is_empty());
        assert_eq!(table.targets(&key("a"))[0].listener, c2);
        assert_eq!(table.counts(), (1, 1));
    }

    #[test]
    fn the_per_connection_limit_is_all_or_nothing() {
        let mut table = ListenerTable::default();
        let conn = listener("c1");
        table
            .listen(&conn, &Reader::at("10.0.0.1"), &[context("a", "", ""), context("b", "", "")], 3, md5_of_a)
            .unwrap();
        let err = table.listen(
            &conn,
            &Reader::at("10.0.0.1"),
            &[context("a", "", ""), context("c", "", ""), context("d", "", "")],
            3,
            md5_of_a,
        );
        assert_eq!(err, Err(ListenError::TooManyListeners { limit: 3 }));
        assert_eq!(table.keys_of(&conn).len(), 2, "a refused batch registers nothing");
        table
            .listen(&conn, &Reader::at("10.0.0.1"), &[context("a", "", ""), context("c", "", "")], 3, md5_of_a)
            .unwrap();
        assert_eq!(table.keys_of(&conn).len(), 3);
    }
}

mod history {
    use super::*;

    #[test]
    fn ids_are_stable_per_config_and_never_reused() {
        let mut state = State::default();
        apply_publish(&mut state, publish("a", "1"), 1);
        apply_publish(&mut state, publish("b", "1"), 1);
        apply_publish(&mut state, publish("a", "2"), 2);
        let key_a = publish("a", "x").key;
        assert_eq!(state.config.get(&key_a).unwrap().id, 0);
        assert_eq!(state.config.get(&publish("b", "x").key).unwrap().id, 1);
        state.apply(&Command::Config(ConfigCommand::Remove { key: publish("b", "x").key, now: Millis(3) }));
        apply_publish(&mut state, publish("c", "1"), 4);
        assert_eq!(state.config.get(&publish("c", "x").key).unwrap().id, 2, "a deleted config's id is not reused");
    }

    #[test]
    fn records_keep_what_each_change_replaced() {
        let mut state = State::default();
        apply_publish(&mut state, publish("a", "v1"), 10);
        apply_publish(&mut state, publish("a", "v2"), 20);
        let key = publish("a", "x").key;
        let mut records = Vec::new();
        for (n, command) in [
            Command::Config(ConfigCommand::Publish { publish: publish("a", "v3"), now: Millis(25) }),
            Command::Config(ConfigCommand::Remove { key: key.clone(), now: Millis(30) }),
        ]
        .into_iter()
        .enumerate()
        {
            let Outcome::Applied(changes) = state.apply(&command) else { panic!("{n} was refused") };
            records.extend(changes.into_iter().filter_map(|change| match change {
                Change::HistoryAdded(record) => Some((record.op, record.content.clone(), record.recorded.as_u64())),
                _ => None,
            }));
        }
        assert_eq!(records, vec![(HistoryOp::Update, "v2".to_owned(), 25), (HistoryOp::Delete, "v3".to_owned(), 30)]);
        assert_eq!(state.history.next_id(), 4, "one id per record, in apply order");
    }

    #[test]
    fn purge_drops_only_records_older_than_its_bound() {
        let mut state = State::default();
        apply_publish(&mut state, publish("a", "v1"), 10);
        let outcome = state.apply(&Command::PurgeHistory { before: Millis(15) });
        let purge = HistoryPurge { before: Millis(15) };
        assert_eq!(outcome, Outcome::Applied(vec![Change::HistoryPurged(purge)]));
        assert!(purge.drops(Millis(14)));
        assert!(!purge.drops(Millis(15)), "a record made at the bound stays");
        assert_eq!(state.history.next_id(), 1, "a purge hands out no id, and ids are never reused");
    }
}

mod namespaces {
    use crate::namespace::*;
    use crate::{Change, Command, Millis, Outcome, Rejection, State};

    fn create(id: &str) -> Command {
        Command::Namespace(NamespaceCommand::Create(NamespaceInfo {
            id: id.to_owned(),
            name: id.to_owned(),
            desc: String::new(),
            created: Millis(1),
        }))
    }

    #[test]
    fn ids_and_names_follow_the_console_rules() {
        assert!(validate_id("customNamespaceId", "dev-1_a").is_ok());
        for bad in ["", "a b", "a.b", "public", &"x".repeat(129)] {
            assert!(validate_id("customNamespaceId", bad).is_err(), "{bad:?}");
        }
        assert!(validate_labels("Dev", "").is_ok());
        assert!(validate_labels("De#v", "").is_err());
        assert!(validate_labels(" ", "").is_err());
    }

    #[test]
    fn create_update_delete() {
        let mut state = State::default();
        assert!(
            matches!(state.apply(&create("dev")), Outcome::Applied(changes) if matches!(changes[0], Change::NamespaceUpserted(_)))
        );
        assert_eq!(state.apply(&create("dev")), Outcome::Rejected(Rejection::NamespaceExists("dev".into())));
        let update = NamespaceCommand::Update { id: "dev".into(), name: "Development".into(), desc: "d".into() };
        state.apply(&Command::Namespace(update));
        assert_eq!(state.namespaces.get("dev").unwrap().name, "Development");
        assert_eq!(state.namespaces.get("dev").unwrap().created, Millis(1));
        let delete = Command::Namespace(NamespaceCommand::Delete { id: "dev".into() });
        assert_eq!(state.apply(&delete), Outcome::Applied(vec![Change::NamespaceRemoved("dev".into())]));
        assert_eq!(state.apply(&delete), Outcome::Rejected(Rejection::NamespaceNotFound("dev".into())));
    }
}

mod gray {
    use super::*;

    /// `use`, `effect` and `schema` are kept behind one pointer, and only when set.
    #[test]
    fn details_are_stored_only_when_set() {
        let mut state = State::default();
        let params = PublishParams { usage: Some("checkout"), schema: Some("{}"), ..params("d", "v1") };
        apply_publish(&mut state, PublishConfig::parse(&params, ConfigLimits::default()).unwrap(), 1);
        let key = publish("d", "x").key;
        let details = state.config.get(&key).unwrap().details.clone().unwrap();
        assert_eq!((details.usage.as_str(), details.effect.as_str(), details.schema.as_str()), ("checkout", "", "{}"));
        apply_publish(&mut state, publish("d", "v2"), 2);
        assert_eq!(state.config.get(&key).unwrap().details, None);
    }

    /// An encrypted config's data key is stored with it, read with the version it belongs
    /// to (the gray one's for a listed ip), and kept by the history record of that version.
    #[test]
    fn each_version_keeps_its_own_encrypted_data_key() {
        let encrypted = |content: &str, data_key: &str| {
            let params = PublishParams { encrypted_data_key: Some(data_key), ..params("d", content) };
            PublishConfig::parse(&params, ConfigLimits::default()).unwrap()
        };
        let mut state = State::default();
        apply_publish(&mut state, encrypted("formal", "k-formal"), 1);
        let gray = ConfigCommand::PublishGray {
            publish: encrypted("gray", "k-gray"),
            rule: GrayRule::Beta { ips: vec!["10.0.0.1".into()] },
            now: Millis(2),
        };
        state.apply(&Command::Config(gray));
        let key = publish("d", "x").key;
        assert_eq!(state.config.view(&key, &Reader::at("10.0.0.1")).unwrap().0.encrypted_data_key, "k-gray");
        assert_eq!(state.config.view(&key, &Reader::at("10.0.0.2")).unwrap().0.encrypted_data_key, "k-formal");

        let Outcome::Applied(changes) = apply_publish(&mut state, publish("d", "plain"), 3) else { panic!("refused") };
        let Some(Change::HistoryAdded(record)) = changes.get(1) else { panic!("no record: {changes:?}") };
        assert_eq!((record.content.as_str(), record.encrypted_data_key.as_str()), ("formal", "k-formal"));
        assert_eq!(state.config.get(&key).unwrap().encrypted_data_key, "", "a plain publish is plain");

        let too_long = "k".repeat(crate::limits::MAX_ENCRYPTED_DATA_KEY_LEN + 1);
        let params = PublishParams { encrypted_data_key: Some(&too_long), ..params("d", "x") };
        assert!(matches!(
            PublishConfig::parse(&params, ConfigLimits::default()),
            Err(ConfigError::TooLong { param: "encryptedDataKey", .. })
        ));
    }

    fn gray(content: &str, rule: GrayRule) -> Command {
        Command::Config(ConfigCommand::PublishGray { publish: publish("d", content), rule, now: Millis(5) })
    }

    fn beta(content: &str, ips: &[&str]) -> Command {
        gray(content, GrayRule::Beta { ips: ips.iter().map(|ip| (*ip).to_owned()).collect() })
    }

    fn tag(content: &str, tag: &str) -> Command {
        gray(content, GrayRule::Tag { tag: tag.to_owned() })
    }

    /// The content `reader` reads, and the name of the gray version that served it.
    fn read(state: &State, ip: &str, tag: &str) -> (String, Option<String>) {
        let key = publish("d", "x").key;
        let (config, gray) = state.config.view(&key, &Reader::new(ip, tag)).unwrap();
        (config.content.clone(), gray.map(|gray| gray.rule.name()))
    }

    #[test]
    fn listed_ips_read_the_beta_and_others_the_formal_config() {
        let mut state = State::default();
        apply_publish(&mut state, publish("d", "formal"), 1);
        state.apply(&beta("gray", &["10.0.0.1"]));
        let key = publish("d", "x").key;
        assert_eq!(read(&state, "10.0.0.1", ""), ("gray".into(), Some("beta".into())));
        assert_eq!(read(&state, "10.0.0.2", ""), ("formal".into(), None));
        assert_eq!(state.config.md5_for(&key, &Reader::at("10.0.0.1")), md5_hex("gray"));
        assert_eq!(state.config.md5_for(&key, &Reader::at("10.0.0.2")), md5_hex("formal"));

        let stop = ConfigCommand::StopGray { key: key.clone(), name: "beta".into(), now: Millis(9) };
        let outcome = state.apply(&Command::Config(stop));
        let recorded_beta = matches!(&outcome, Outcome::Applied(changes)
            if changes.len() == 2
                && matches!(&changes[1], Change::HistoryAdded(record) if record.gray_name.as_deref() == Some("beta")));
        assert!(recorded_beta, "stop is recorded in history, as a beta record: {outcome:?}");
        assert_eq!(read(&state, "10.0.0.1", ""), ("formal".into(), None));
    }

    /// Tag versions are one per tag, read only with that tag; a tag outranks the beta for a
    /// client both match; stopping one leaves the others.
    #[test]
    fn tags_read_their_version_and_outrank_the_beta() {
        let mut state = State::default();
        apply_publish(&mut state, publish("d", "formal"), 1);
        state.apply(&beta("for-ip", &["10.0.0.1"]));
        state.apply(&tag("for-blue", "blue"));
        state.apply(&tag("for-green", "green"));
        assert_eq!(read(&state, "10.0.0.9", "blue"), ("for-blue".into(), Some("tag_blue".into())));
        assert_eq!(read(&state, "10.0.0.9", "green"), ("for-green".into(), Some("tag_green".into())));
        assert_eq!(read(&state, "10.0.0.9", "red"), ("formal".into(), None), "an unknown tag reads the formal");
        assert_eq!(read(&state, "10.0.0.9", ""), ("formal".into(), None));
        assert_eq!(read(&state, "10.0.0.1", "blue"), ("for-blue".into(), Some("tag_blue".into())), "tag over beta");
        assert_eq!(read(&state, "10.0.0.1", ""), ("for-ip".into(), Some("beta".into())));

        state.apply(&tag("blue-2", "blue"));
        assert_eq!(read(&state, "10.0.0.9", "blue").0, "blue-2", "a tag's publish replaces its version");
        let key = publish("d", "x").key;
        assert_eq!(state.config.grays(&key).unwrap().len(), 3);
        let stop = ConfigCommand::StopGray { key: key.clone(), name: "tag_blue".into(), now: Millis(9) };
        state.apply(&Command::Config(stop));
        assert_eq!(read(&state, "10.0.0.1", "blue"), ("for-ip".into(), Some("beta".into())), "the beta again");
        assert_eq!(read(&state, "10.0.0.9", "green").0, "for-green", "other tags stay");
        let absent = ConfigCommand::StopGray { key, name: "tag_red".into(), now: Millis(10) };
        assert_eq!(
            state.apply(&Command::Config(absent)),
            Outcome::Applied(vec![Change::Config(ConfigChange::GrayRemoved {
                key: publish("d", "x").key,
                name: "tag_red".into(),
                previous: None
            })]),
            "stopping an absent gray version changes nothing and records nothing"
        );
    }

    #[test]
    fn gray_rules_are_parsed_from_beta_ips_or_a_tag() {
        assert_eq!(parse_gray_rule(None, Some(" ")), Ok(None));
        assert_eq!(parse_gray_rule(None, Some("blue")), Ok(Some(GrayRule::Tag { tag: "blue".into() })));
        assert!(matches!(
            parse_gray_rule(Some("10.0.0.1"), Some("blue")),
            Err(ConfigError::Invalid { param: "tag", .. })
        ));
        assert!(matches!(parse_gray_tag(Some("a b")), Err(ConfigError::Invalid { param: "tag", .. })));
        assert!(matches!(parse_gray_tag(Some(&"t".repeat(17))), Err(ConfigError::TooLong { param: "tag", limit: 16 })));
    }

    #[test]
    fn beta_ips_must_be_ip_addresses() {
        assert_eq!(parse_beta_ips(None), Ok(None));
        assert_eq!(parse_beta_ips(Some(" , ")), Ok(None));
        assert_eq!(parse_beta_ips(Some("10.0.0.1, ::1,10.0.0.1")), Ok(Some(vec!["10.0.0.1".into(), "::1".into()])));
        assert!(matches!(parse_beta_ips(Some("10.0.0.1,host")), Err(ConfigError::Invalid { param: "betaIps", .. })));
    }
}

#[test]
fn borrowed_keys_follow_the_owned_rules() {
    let cases: [(Option<&str>, Option<&str>, Option<&str>); 7] = [
        (None, Some("G"), Some("d")),
        (Some("NULL"), Some(" G "), Some("d.yaml")),
        (Some("Public"), Some("G"), Some("d")),
        (Some("dev"), Some("G"), Some("d")),
        (Some("bad ns"), Some("G"), Some("d")),
        (None, None, Some("d")),
        (None, Some("G"), Some("a/b")),
    ];
    for (namespace, group, data_id) in cases {
        let owned = ConfigKey::parse(namespace, group, data_id);
        let borrowed = KeyRef::parse(namespace, group, data_id);
        match (&owned, &borrowed) {
            (Ok(owned), Ok(borrowed)) => {
                assert_eq!(owned.as_key_ref(), *borrowed);
                assert_eq!(borrowed.to_owned_key(), *owned);
            }
            (Err(owned), Err(borrowed)) => assert_eq!(owned, borrowed),
            _ => panic!("{namespace:?} {group:?} {data_id:?}: {owned:?} vs {borrowed:?}"),
        }
    }
}
