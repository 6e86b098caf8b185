//! Entry points for fuzzers: every reader of client input on the HTTP API, from raw bytes.
//!
//! The same functions run under `cargo fuzz` (the `fuzz/` crate, by hand and briefly in
//! CI) and under proptest in this crate's tests, so both exercise exactly what a request
//! reaches. Each one panics only when a rule is broken: input is refused or accepted, and
//! what is accepted is within the limits of `domain::limits`.

use domain::config::{ConfigKey, ConfigLimits, PublishConfig};
use domain::limits::{MAX_CLUSTER_LEN, MAX_GROUP_LEN, MAX_IP_LEN, MAX_NAMESPACE_ID_LEN};
use domain::naming::{check_metadata_size, Instance, ServiceKey};
use domain::paging::{PageRequest, DEFAULT_NAMING_PAGE_SIZE};

use crate::configs::{publish_params, Version};
use crate::naming_wire::{self, Beat};
use crate::params::Params;

/// A form request: the query string and body, read as every handler reads them.
pub fn form_request(query: &[u8], body: &[u8]) {
    let Ok(params) = Params::parse(&String::from_utf8_lossy(query), body) else { return };
    if let Ok(key) = ConfigKey::parse(params.get("tenant"), params.get("group"), params.get("dataId")) {
        assert!(key.namespace.as_str().len() <= MAX_NAMESPACE_ID_LEN && key.group.as_str().len() <= MAX_GROUP_LEN);
    }
    for version in [Version::V1, Version::V2] {
        let _ = PublishConfig::parse(&publish_params(version, &params, params.get("casMd5")), ConfigLimits::default());
    }
    if let Ok(service) = naming_wire::service_key(&params) {
        assert!(service.group.as_str().len() <= MAX_GROUP_LEN);
    }
    if let Ok(draft) = naming_wire::draft(&params) {
        if let Ok(instance) = draft.validate() {
            assert_within_limits(&instance);
        }
    }
    let _ = naming_wire::patch(&params);
    let page_no = naming_wire::number(&params, "pageNo").ok().flatten();
    let page_size = naming_wire::number(&params, "pageSize").ok().flatten();
    let page = PageRequest::new(page_no, page_size, DEFAULT_NAMING_PAGE_SIZE);
    assert!(page.page_size() >= 1);
}

/// The JSON of an HTTP beat, and the instance it describes.
pub fn beat(json: &[u8]) {
    let Ok(beat) = Beat::parse(&String::from_utf8_lossy(json)) else { return };
    if let Ok(service) = ServiceKey::parse(None, None, beat.service_name()) {
        assert!(!service.name.as_str().is_empty());
    }
    if let Ok(instance) = beat.draft().validate() {
        assert_within_limits(&instance);
    }
}

/// A `Listening-Configs` value of a long poll.
pub fn listening_configs(raw: &[u8]) {
    let _ = crate::listener::parse_listening_configs(&String::from_utf8_lossy(raw));
}

fn assert_within_limits(instance: &Instance) {
    assert!(instance.ip.len() <= MAX_IP_LEN, "ip over its limit");
    assert!(instance.cluster.as_str().len() <= MAX_CLUSTER_LEN, "cluster over its limit");
    let metadata = instance.metadata.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    assert!(check_metadata_size(&metadata).is_ok(), "metadata over its limit");
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    /// Query strings and bodies shaped like forms, with real parameter names, so the
    /// generator reaches the readers behind `Params` and not only its decoder.
    fn form() -> impl Strategy<Value = Vec<u8>> {
        const NAMES: &[&str] = &[
            "dataId",
            "group",
            "tenant",
            "content",
            "type",
            "desc",
            "config_tags",
            "casMd5",
            "serviceName",
            "groupName",
            "namespaceId",
            "ip",
            "port",
            "weight",
            "healthy",
            "enabled",
            "ephemeral",
            "clusterName",
            "metadata",
            "pageNo",
            "pageSize",
        ];
        let name = prop_oneof![proptest::sample::select(NAMES).prop_map(str::to_owned), "[a-z%+=&]{0,6}"];
        let value = prop_oneof![
            "[a-zA-Z0-9_.:-]{0,12}",
            "-?[0-9]{1,22}(\\.[0-9]{0,4})?",
            "(true|false|TRUE|1|0|NaN|inf)",
            "\\{(\"[a-z]{0,4}\":(\"[^\"]{0,6}\"|[0-9]{1,3}|null|\\[\\]),?){0,4}\\}",
            "(%[0-9A-Fa-f]{2}|%[g-z]?|\\+|[^&=]){0,16}",
            "[a-z]{60,140}",
        ];
        proptest::collection::vec((name, value), 0..8).prop_map(|pairs| {
            pairs.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("&").into_bytes()
        })
    }

    /// Real requests as the fuzzers' seed corpus: with `NACOSD_FUZZ_SEEDS=DIR` they are
    /// written there (`scripts/fuzz.sh`).
    #[test]
    fn real_requests_are_read_and_seed_the_fuzzers() {
        let seeds: [(&str, &[u8]); 6] = [
            ("http_form", b"dataId=a.yaml&group=G&tenant=dev\ncontent=k%3A+v&type=yaml&config_tags=a%2Cb"),
            ("http_form", b"serviceName=G%40%40svc&ip=127.0.0.1&port=80&weight=1.5&ephemeral=false&metadata=%7B%22k%22%3A%22v%22%7D\nclusterName=c1&pageNo=1&pageSize=10"),
            ("http_beat", br#"{"serviceName":"G@@svc","ip":"127.0.0.1","port":80,"cluster":"c1","weight":1,"metadata":{"k":"v","n":1}}"#),
            ("listening_configs", b"a.yaml\x02G\x02d41d8cd98f00b204e9800998ecf8427e\x02dev\x01b\x02G\x02\x01"),
            ("listening_configs", b"a.yaml%02G%02abc%01"),
            ("http_beat", br#"{"serviceName":"svc","ip":"::1","port":1,"ephemeral":true}"#),
        ];
        for (i, (target, bytes)) in seeds.iter().enumerate() {
            match *target {
                "http_form" => super::form_request(bytes.split(|b| *b == b'\n').next().unwrap_or_default(), bytes),
                "http_beat" => super::beat(bytes),
                _ => super::listening_configs(bytes),
            }
            if let Ok(dir) = std::env::var("NACOSD_FUZZ_SEEDS") {
                let dir = std::path::Path::new(&dir).join(target);
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join(format!("seed-{i}")), bytes).unwrap();
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Any query and body a client sends is read or refused, and what is accepted is
        /// within the limits.
        #[test]
        fn form_requests(query in prop_oneof![form(), proptest::collection::vec(any::<u8>(), 0..64)],
                         body in prop_oneof![form(), proptest::collection::vec(any::<u8>(), 0..64)]) {
            super::form_request(&query, &body);
        }

        /// Any beat JSON is read or refused.
        #[test]
        fn beats(json in prop_oneof![
            "\\{(\"(serviceName|ip|port|cluster|weight|metadata|ephemeral)\":(\"[a-zA-Z0-9.:-]{0,16}\"|-?[0-9]{1,6}(\\.[0-9])?|true|null|\\{\"[a-z]{0,3}\":(\"[a-z]{0,3}\"|[0-9]|\\{\\}|\\[\\])\\}),?){0,7}\\}",
            ".{0,40}",
        ]) {
            super::beat(json.as_bytes());
        }
    }
}
