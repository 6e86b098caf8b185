use super::*;

fn cli(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("nacosd").chain(args.iter().copied())).unwrap()
}

#[test]
fn defaults_are_nacos_ports_and_a_local_data_dir() {
    let settings = Settings::resolve(Cli::default()).unwrap();
    assert_eq!((settings.http_port, settings.grpc_port, settings.cluster_port), (8848, 9848, 9849));
    assert_eq!(settings.data_dir, PathBuf::from("nacos_data"));
    assert_eq!(settings.node_id, 1);
    assert_eq!(settings.log_level, "info");
    assert_eq!(settings.advertise_addr.as_str(), "127.0.0.1:9849");
}

#[test]
fn grpc_and_cluster_ports_follow_the_http_port() {
    let settings = Settings::resolve(cli(&["--http-port", "18848"])).unwrap();
    assert_eq!((settings.grpc_port, settings.cluster_port), (19848, 19849));
    let settings = Settings::resolve(cli(&["--http-port", "18848", "--grpc-port", "7000"])).unwrap();
    assert_eq!((settings.grpc_port, settings.cluster_port), (7000, 19849));
    assert!(Settings::resolve(cli(&["--http-port", "65000"])).is_err(), "65000 + 1000 is not a port");
}

#[test]
fn flags_beat_the_file_and_the_file_beats_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nacosd.toml");
    std::fs::write(&path, "http-port = 7777\nnode-id = 9\ndata-dir = \"/srv/nacos\"\nstorage = \"memory\"\n").unwrap();
    let path = path.to_str().unwrap();
    let settings = Settings::resolve(cli(&["--config", path, "--node-id", "3"])).unwrap();
    assert_eq!(settings.http_port, 7777);
    assert_eq!(settings.node_id, 3);
    assert_eq!(settings.data_dir, PathBuf::from("/srv/nacos"));
    assert_eq!(settings.storage, Engine::Memory);
}

#[test]
fn a_bad_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "http-prot = 1\n").unwrap();
    let err = Settings::resolve(cli(&["--config", path.to_str().unwrap()])).unwrap_err().to_string();
    assert!(err.contains("http-prot"), "{err}");
    assert!(Settings::resolve(cli(&["--config", "/nonexistent/nacosd.toml"])).is_err());
}

#[test]
fn unknown_engines_are_refused() {
    assert!(Cli::try_parse_from(["nacosd", "--storage", "mysql"]).is_err());
}

#[test]
fn the_storage_memory_budget_defaults_small_and_refuses_nonsense() {
    assert_eq!(Settings::resolve(cli(&[])).unwrap().storage_memory_bytes, 8 << 20);
    assert_eq!(Settings::resolve(cli(&["--storage-memory-mb", "256"])).unwrap().storage_memory_bytes, 256 << 20);
    for nonsense in ["0", "7", "99999999"] {
        let err = Settings::resolve(cli(&["--storage-memory-mb", nonsense])).unwrap_err().to_string();
        assert!(err.contains("storage-memory-mb must be between 8 and"), "{nonsense}: {err}");
    }
}

#[test]
fn snapshots_come_every_ten_thousand_log_entries_unless_told_and_not_too_often() {
    assert_eq!(Settings::resolve(cli(&[])).unwrap().raft_snapshot_logs, 10_000);
    assert_eq!(Settings::resolve(cli(&["--raft-snapshot-logs", "50000"])).unwrap().raft_snapshot_logs, 50_000);
    for nonsense in ["0", "999"] {
        let err = Settings::resolve(cli(&["--raft-snapshot-logs", nonsense])).unwrap_err().to_string();
        assert!(err.contains("raft-snapshot-logs must be 1000 or more"), "{nonsense}: {err}");
    }
}

#[test]
fn members_name_this_node_and_its_advertised_address() {
    let members = "1=127.0.0.1:9849,2=127.0.0.1:9859,3=127.0.0.1:9869";
    let settings = Settings::resolve(cli(&["--node-id", "2", "--members", members])).unwrap();
    assert_eq!(settings.members.len(), 3);
    assert_eq!(settings.advertise_addr.as_str(), "127.0.0.1:9859", "taken from the members list");
    assert_eq!(settings.cluster_id, "nacosd");
    assert_eq!(settings.cluster_token, None);

    // A node with state ignores the list, so a moved node may advertise another address
    // (raft checks the list against this node only when founding).
    let moved = Settings::resolve(cli(&["--node-id", "2", "--members", members, "--advertise-addr", "127.0.0.1:1"]));
    assert_eq!(moved.unwrap().advertise_addr.as_str(), "127.0.0.1:1");

    let error = |args: &[&str]| Settings::resolve(cli(args)).unwrap_err().to_string();
    assert!(error(&["--members", "1=a:1,1=b:2"]).contains("listed twice"));
    assert!(error(&["--members", members, "--join", "127.0.0.1:9849"]).contains("not both"));
    assert!(error(&["--cluster-id", ""]).contains("cluster-id"));
}

#[test]
fn without_members_a_node_is_a_cluster_of_one() {
    let settings =
        Settings::resolve(cli(&["--node-id", "7", "--cluster-token", "s", "--peer-source-ip", "127.0.0.7"])).unwrap();
    assert_eq!(
        settings.members.iter().map(|(id, addr)| (id, addr.as_str())).collect::<Vec<_>>(),
        [(7, "127.0.0.1:9849")]
    );
    assert_eq!(settings.cluster_token.as_deref(), Some("s"));
    assert!(!format!("{settings:?}").contains("token: Some(\"s\")"), "the cluster token stays out of logs");
    assert!(format!("{settings:?}").contains("cluster_token: Some(<set>)"));
    assert_eq!(settings.peer_source_ip, Some(IpAddr::from([127, 0, 0, 7])));
}

/// 32 bytes, base64.
const SECRET: &str = "U2VjcmV0S2V5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=";

#[test]
fn auth_is_off_by_default_and_on_only_with_a_usable_secret() {
    let settings = Settings::resolve(Cli::default()).unwrap();
    assert!(!settings.auth.enabled);
    assert_eq!(settings.auth.token_ttl_seconds, 18_000);

    let missing = Settings::resolve(cli(&["--auth-enabled"])).unwrap_err().to_string();
    assert!(missing.contains("no token secret") && missing.contains("--auth-token-secret"), "{missing}");
    let short = Settings::resolve(cli(&["--auth-enabled", "--auth-token-secret", "c2hvcnQ="])).unwrap_err();
    assert!(short.to_string().contains("at least 32 bytes"), "{short}");
    let not_base64 = Settings::resolve(cli(&["--auth-enabled", "true", "--auth-token-secret", "!!"])).unwrap_err();
    assert!(not_base64.to_string().contains("base64"), "{not_base64}");

    let on = Settings::resolve(cli(&[
        "--auth-enabled",
        "--auth-token-secret",
        SECRET,
        "--auth-token-ttl-seconds",
        "60",
        "--auth-admin-password",
        "s3cret",
    ]))
    .unwrap();
    assert!(on.auth.enabled);
    assert_eq!(on.auth.token_ttl_seconds, 60);
    let shown = format!("{:?}", on.auth);
    assert!(!shown.contains(SECRET) && !shown.contains("s3cret"), "secrets stay out of logs: {shown}");
    assert!(Settings::resolve(cli(&["--auth-enabled=false"])).is_ok(), "off needs no secret");
}

#[test]
fn auth_settings_come_from_the_file_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nacosd.toml");
    std::fs::write(&path, format!("auth-enabled = true\nauth-token-secret = \"{SECRET}\"\n")).unwrap();
    let settings = Settings::resolve(cli(&["--config", path.to_str().unwrap()])).unwrap();
    assert!(settings.auth.enabled);
    assert_eq!(settings.auth.token_secret.as_deref(), Some(SECRET));
}

#[test]
fn auth_on_a_cluster_needs_the_cluster_token() {
    let members = "1=127.0.0.1:9849,2=127.0.0.1:19849";
    let without =
        Settings::resolve(cli(&["--auth-enabled", "--auth-token-secret", SECRET, "--members", members])).unwrap_err();
    assert!(without.to_string().contains("--cluster-token"), "{without}");
    let with = Settings::resolve(cli(&[
        "--auth-enabled",
        "--auth-token-secret",
        SECRET,
        "--members",
        members,
        "--cluster-token",
        "peer-secret",
    ]));
    assert!(with.is_ok());
}
