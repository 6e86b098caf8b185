use super::*;

fn file(name: &str, content: &str) -> ArchiveFile {
    ArchiveFile { name: name.to_owned(), content: content.as_bytes().to_vec() }
}

fn public() -> Namespace {
    Namespace::public()
}

fn key(group: &str, data_id: &str) -> ConfigKey {
    ConfigKey::parse(None, Some(group), Some(data_id)).unwrap()
}

fn item(group: &str, data_id: &str, config_type: &str) -> MetadataItem {
    MetadataItem {
        group: Some(group.to_owned()),
        data_id: Some(data_id.to_owned()),
        config_type: Some(config_type.to_owned()),
        ..MetadataItem::default()
    }
}

#[test]
fn a_v1_archive_is_group_slash_data_id_entries_with_app_names_from_meta_yml() {
    let files = vec![file("DEFAULT_GROUP/app.yaml", "a: 1"), file("G/plain", "x"), file("loose.txt", "?")];
    let meta = ArchiveMetadata::V1("DEFAULT_GROUP.app~yaml.app=orders\r\n".to_owned());
    let set = read_archive(files, meta, &public(), ConfigLimits::default()).unwrap();
    assert_eq!(set.configs.len(), 2);
    assert_eq!(set.configs[0].key, key("DEFAULT_GROUP", "app.yaml"));
    assert_eq!(set.configs[0].meta.app_name, "orders");
    assert_eq!(set.configs[0].meta.config_type, ConfigType::Yaml, "typed by extension");
    assert_eq!(set.configs[1].meta.app_name, "");
    assert_eq!(set.unrecognized, vec!["loose.txt".to_owned()]);
}

#[test]
fn a_v2_archive_takes_types_descriptions_and_apps_from_its_metadata() {
    let mut described = item("G", "a.json", "json");
    described.desc = Some("the a".to_owned());
    described.app_name = Some("shop".to_owned());
    let files = vec![file("G/a.json", "{}"), file("G/stray", "s")];
    let meta = ArchiveMetadata::V2(vec![described.clone(), item("G", "missing", "text")]);
    let refused = read_archive(files.clone(), meta, &public(), ConfigLimits::default());
    assert!(matches!(refused, Err(TransferError::BadMetadata(message)) if message.contains("G/missing")));
    let set = read_archive(files, ArchiveMetadata::V2(vec![described]), &public(), ConfigLimits::default()).unwrap();
    assert_eq!(set.configs.len(), 1);
    let config = &set.configs[0];
    assert_eq!((config.meta.config_type, config.meta.desc.as_str()), (ConfigType::Json, "the a"));
    assert_eq!(config.meta.app_name, "shop");
    assert_eq!(set.unrecognized, vec!["not found in metadata: G/stray".to_owned()]);
}

#[test]
fn bad_archives_are_refused_whole() {
    let limits = ConfigLimits { max_content_bytes: 8 };
    let refuse = |files: Vec<ArchiveFile>, meta: ArchiveMetadata| read_archive(files, meta, &public(), limits);
    assert_eq!(refuse(vec![file("loose", "x")], ArchiveMetadata::None), Err(TransferError::NoData));
    assert!(matches!(
        refuse(vec![file("G/ok", "x"), file("G/big", "123456789")], ArchiveMetadata::None),
        Err(TransferError::BadArchive(message)) if message.contains("G/big") && message.contains("too large")
    ));
    let not_utf8 = ArchiveFile { name: "G/bin".to_owned(), content: vec![0xff, 0xfe] };
    assert!(matches!(refuse(vec![not_utf8], ArchiveMetadata::None), Err(TransferError::BadArchive(_))));
    assert!(matches!(
        refuse(vec![file("G/a", "x")], ArchiveMetadata::V1("no equals sign".to_owned())),
        Err(TransferError::BadMetadata(_))
    ));
    let untyped = MetadataItem { group: Some("G".to_owned()), data_id: Some("a".to_owned()), ..Default::default() };
    assert!(matches!(
        refuse(vec![file("G/a", "x")], ArchiveMetadata::V2(vec![untyped])),
        Err(TransferError::BadMetadata(_))
    ));
    assert!(matches!(
        refuse(vec![file("bad group!/a", "x")], ArchiveMetadata::None),
        Err(TransferError::BadArchive(_))
    ));
}

#[test]
fn entry_names_that_leave_the_archive_are_refused() {
    for name in ["../etc/passwd", "/abs/a", "G/../../a", "G\\a", "./G/a", "G/a\0"] {
        assert!(check_entry_name(name).is_err(), "{name:?}");
    }
    for name in ["G/a", "DEFAULT_GROUP/app.yaml", ".metadata.yml", "G/a..b"] {
        assert!(check_entry_name(name).is_ok(), "{name:?}");
    }
}

fn publishes(names: &[&str]) -> Vec<PublishConfig> {
    names
        .iter()
        .map(|name| PublishConfig {
            key: key("G", name),
            content: (*name).to_owned(),
            meta: ConfigMeta::default(),
            cas_md5: Some("stale".to_owned()),
        })
        .collect()
}

#[test]
fn abort_imports_nothing_when_any_config_exists() {
    let plan = SameConfigPolicy::Abort.plan(publishes(&["a", "b", "c"]), |key| key.data_id.as_str() == "b");
    assert!(plan.publish.is_empty());
    assert_eq!(plan.failed, vec![key("G", "b")]);
    assert_eq!(plan.skipped, vec![key("G", "a"), key("G", "c")]);

    let plan = SameConfigPolicy::Abort.plan(publishes(&["a"]), |_| false);
    assert_eq!(plan.publish[0].cas_md5.as_deref(), Some(""), "created only if still absent");
    assert!(SameConfigPolicy::Abort.stops_on_conflict());
}

#[test]
fn skip_leaves_existing_configs_and_overwrite_replaces_them() {
    let plan = SameConfigPolicy::Skip.plan(publishes(&["a", "b"]), |key| key.data_id.as_str() == "b");
    assert_eq!(plan.publish.iter().map(|p| p.key.clone()).collect::<Vec<_>>(), vec![key("G", "a")]);
    assert_eq!(plan.publish[0].cas_md5.as_deref(), Some(""));
    assert_eq!(plan.skipped, vec![key("G", "b")]);
    assert!(!SameConfigPolicy::Skip.stops_on_conflict());

    let plan = SameConfigPolicy::Overwrite.plan(publishes(&["a", "b"]), |_| true);
    assert_eq!(plan.publish.len(), 2);
    assert!(plan.publish.iter().all(|publish| publish.cas_md5.is_none()));
}

#[test]
fn policies_parse_as_nacos_spells_them() {
    assert_eq!(SameConfigPolicy::parse(None), Ok(SameConfigPolicy::Abort));
    assert_eq!(SameConfigPolicy::parse(Some("SKIP")), Ok(SameConfigPolicy::Skip));
    assert_eq!(SameConfigPolicy::parse(Some("overwrite")), Ok(SameConfigPolicy::Overwrite));
    assert!(SameConfigPolicy::parse(Some("MERGE")).is_err());
}

fn stored(content: &str, app: &str) -> Config {
    let publish = PublishConfig {
        key: key("G", "x"),
        content: content.to_owned(),
        meta: ConfigMeta { app_name: app.to_owned(), desc: "d".to_owned(), ..ConfigMeta::default() },
        cas_md5: None,
    };
    let mut table = super::super::ConfigTable::default();
    table.apply(&super::super::ConfigCommand::Publish { publish, now: crate::Millis(1) }).unwrap();
    (**table.get(&key("G", "x")).unwrap()).clone()
}

#[test]
fn an_export_reads_back_as_the_same_configs() {
    let a = stored("a: 1", "orders");
    let b = stored("plain", "");
    let (ka, kb) = (key("G", "app.yaml"), key("DEFAULT_GROUP", "b"));
    let (files, metadata) = export_archive([(&ka, &a), (&kb, &b)], ArchiveLayout::V1);
    assert_eq!(metadata, ArchiveMetadata::V1("G.app~yaml.app=orders".to_owned()));
    assert_eq!(files[0], file("G/app.yaml", "a: 1"));

    let (files, metadata) = export_archive([(&ka, &a), (&kb, &b)], ArchiveLayout::V2);
    let set = read_archive(files, metadata, &public(), ConfigLimits::default()).unwrap();
    assert!(set.unrecognized.is_empty());
    assert_eq!(set.configs[0].key, ka);
    assert_eq!((set.configs[0].meta.app_name.as_str(), set.configs[0].meta.desc.as_str()), ("orders", "d"));
    assert_eq!(set.configs[1].content, "plain");

    let (_, metadata) = export_archive([(&kb, &b)], ArchiveLayout::V1);
    assert_eq!(metadata, ArchiveMetadata::None, "v1 writes .meta.yml only when some config has an app");
}

#[test]
fn a_clone_copies_content_and_metadata_under_a_new_name_if_given() {
    let config = stored("v", "orders");
    let target = Namespace::new("dev").unwrap();
    let item = CloneItem { id: config.id, group: Some(" ".to_owned()), data_id: Some("y".to_owned()) };
    let publish = clone_publish(&item, &key("G", "x"), &config, &target, ConfigLimits::default()).unwrap();
    assert_eq!(publish.key, ConfigKey::parse(Some("dev"), Some("G"), Some("y")).unwrap());
    assert_eq!((publish.content.as_str(), publish.meta.app_name.as_str()), ("v", "orders"));
    let bad = CloneItem { id: config.id, group: Some("bad group!".to_owned()), data_id: None };
    assert!(clone_publish(&bad, &key("G", "x"), &config, &target, ConfigLimits::default()).is_err());
}
