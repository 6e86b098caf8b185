//! Server-side health checks of persistent instances, as Java Nacos runs them: each cluster
//! of a service names a checker (`TCP` by default, `HTTP`, or `NONE`); the node responsible
//! for the service probes every persistent instance every few seconds, and a run of
//! [`CHECK_TIMES`] results against the instance's recorded health flips it.
//!
//! Ephemeral instances are not probed: their clients' connections and beats say whether
//! they live.

use std::collections::{BTreeMap, HashMap};

use super::{ClusterName, Instance, NamingError, PersistentService, ServiceKey};
use crate::Millis;

/// Consecutive results against an instance's recorded health that change it (Java's
/// `checkTimes` switch, default 3).
pub const CHECK_TIMES: u8 = 3;
/// The shortest pause between two probes of one instance (Java: 2 s).
pub const CHECK_EVERY_MIN_MS: u64 = 2_000;
/// The spread added to [`CHECK_EVERY_MIN_MS`] at random, so a service's instances are not
/// all probed at once (Java: up to 5 s).
pub const CHECK_SPREAD_MS: u64 = 5_000;
/// How long a TCP connect or an HTTP answer may take before the probe fails (Java: 500 ms
/// for TCP; its HTTP client allows more, which only slows the check down).
pub const PROBE_TIMEOUT_MS: u64 = 2_000;
/// Longest HTTP checker path accepted.
pub const MAX_CHECK_PATH_CHARS: usize = 1_024;
/// Longest HTTP checker headers accepted (`Name:value|Name:value`, as Java's `headers`).
pub const MAX_CHECK_HEADERS_CHARS: usize = 1_024;

/// How a cluster's instances are checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum HealthChecker {
    /// A TCP connection to the check port is accepted.
    #[default]
    Tcp,
    /// `GET path` on the check port answers `expected_code`.
    Http { path: String, headers: String, expected_code: u16 },
    /// Not checked: health is what clients and the health API set.
    None,
}

impl HealthChecker {
    /// Reads the wire's `{"type": "HTTP", "path": ..., "headers": ..., "expectedResponseCode": ...}`
    /// fields; the type is case-insensitive, as Java's.
    pub fn from_parts(
        kind: &str,
        path: Option<&str>,
        headers: Option<&str>,
        expected_code: Option<i64>,
    ) -> Result<Self, NamingError> {
        let invalid = |reason: &str| NamingError::Invalid { param: "healthChecker", reason: reason.to_owned() };
        match kind.trim().to_ascii_uppercase().as_str() {
            "TCP" => Ok(Self::Tcp),
            "NONE" => Ok(Self::None),
            "HTTP" => {
                let path = path.unwrap_or_default().trim();
                let headers = headers.unwrap_or_default().trim();
                if path.chars().count() > MAX_CHECK_PATH_CHARS {
                    return Err(NamingError::TooLong { param: "healthChecker.path", limit: MAX_CHECK_PATH_CHARS });
                }
                if headers.chars().count() > MAX_CHECK_HEADERS_CHARS {
                    return Err(NamingError::TooLong {
                        param: "healthChecker.headers",
                        limit: MAX_CHECK_HEADERS_CHARS,
                    });
                }
                if path.chars().any(|c| c.is_control() || c == ' ') || headers.chars().any(char::is_control) {
                    return Err(invalid("path and headers may not hold spaces or control characters"));
                }
                let expected_code = match expected_code {
                    None => 200,
                    Some(code @ 100..=599) => code as u16,
                    Some(_) => return Err(invalid("expectedResponseCode must be an HTTP status (100-599)")),
                };
                let path = if path.starts_with('/') { path.to_owned() } else { format!("/{path}") };
                Ok(Self::Http { path, headers: headers.to_owned(), expected_code })
            }
            _ => Err(invalid("type must be TCP, HTTP or NONE")),
        }
    }

    /// Java's type name.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Tcp => "TCP",
            Self::Http { .. } => "HTTP",
            Self::None => "NONE",
        }
    }

    /// The HTTP checker's headers as (name, value) pairs: `Name:value` entries split on `|`,
    /// as Java's `Http.getCustomHeaders` reads them; malformed entries are skipped.
    pub fn header_pairs(&self) -> Vec<(&str, &str)> {
        let Self::Http { headers, .. } = self else { return Vec::new() };
        headers
            .split('|')
            .filter_map(|entry| entry.split_once(':'))
            .map(|(name, value)| (name.trim(), value.trim()))
            .filter(|(name, _)| !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':'))
            .collect()
    }
}

/// What a service stores about one of its clusters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterMeta {
    pub checker: HealthChecker,
    /// The port probed when `use_instance_port` is off.
    pub check_port: u16,
    pub use_instance_port: bool,
    pub metadata: BTreeMap<String, String>,
}

impl Default for ClusterMeta {
    /// Java's defaults: TCP on each instance's own port (80 otherwise).
    fn default() -> Self {
        Self { checker: HealthChecker::Tcp, check_port: 80, use_instance_port: true, metadata: BTreeMap::new() }
    }
}

impl ClusterMeta {
    /// The port `instance` is probed on.
    pub fn port_for(&self, instance: &Instance) -> u16 {
        if self.use_instance_port {
            instance.port
        } else {
            self.check_port
        }
    }
}

/// One probe to make: where, and how.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProbeTarget {
    pub service: ServiceKey,
    /// The instance's identity in its service (its registered address).
    pub ip: String,
    pub port: u16,
    pub cluster: ClusterName,
    /// Where the probe goes: the registered ip, on the cluster's check port.
    pub check_port: u16,
    pub checker: HealthChecker,
}

/// What a probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeResult {
    Passed,
    /// Failed in a way that may pass on the next try (a timeout, a busy server): counts
    /// towards [`CHECK_TIMES`].
    Failed,
    /// Failed in a way that says the instance is not serving (HTTP connection refused, an
    /// unexpected status): unhealthy at once, as Java's `checkFailNow`.
    FailedNow,
}

/// What a probe saw, before any judgement: the adapter reports it, the domain's rule
/// ([`HealthChecker::judge`]) decides what it says about the instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeObservation {
    /// The TCP connection was accepted (and, for TCP checks, that is all that was asked).
    Connected,
    /// Nothing listens there.
    Refused,
    /// No connection, or no answer, within [`PROBE_TIMEOUT_MS`].
    TimedOut,
    /// The HTTP answer's status.
    HttpStatus(u16),
    /// Connected, but the HTTP answer was not one (closed early, not HTTP).
    NoAnswer,
}

impl HealthChecker {
    /// Java's reading of a probe. TCP: an accepted connection passes; a refused or slow
    /// one counts towards the run. HTTP: the expected status passes; "busy" (503) and a
    /// temporary redirect (302), a timeout or a broken answer count towards the run; any
    /// other status, or nothing listening, says the instance does not serve the path.
    pub fn judge(&self, seen: ProbeObservation) -> ProbeResult {
        use ProbeObservation as Seen;
        match (self, seen) {
            (Self::None, _) | (Self::Tcp, Seen::Connected) => ProbeResult::Passed,
            (Self::Tcp, _) => ProbeResult::Failed,
            (Self::Http { expected_code, .. }, Seen::HttpStatus(code)) if code == *expected_code => ProbeResult::Passed,
            (Self::Http { .. }, Seen::HttpStatus(302 | 503) | Seen::TimedOut | Seen::NoAnswer | Seen::Connected) => {
                ProbeResult::Failed
            }
            (Self::Http { .. }, Seen::HttpStatus(_) | Seen::Refused) => ProbeResult::FailedNow,
        }
    }
}

/// The instances of `service` to probe: every persistent instance in a cluster whose
/// checker is not `NONE`.
pub fn probe_targets(service: &ServiceKey, entry: &PersistentService) -> Vec<ProbeTarget> {
    entry
        .instances
        .iter()
        .filter_map(|instance| {
            let cluster = entry.meta.clusters.get(instance.cluster.as_str()).cloned().unwrap_or_default();
            (cluster.checker != HealthChecker::None).then(|| ProbeTarget {
                service: service.clone(),
                ip: instance.ip.clone(),
                port: instance.port,
                cluster: instance.cluster.clone(),
                check_port: cluster.port_for(instance),
                checker: cluster.checker,
            })
        })
        .collect()
}

/// The checking of every probed instance: when each is next due, and the run of results
/// each has had against its recorded health. Held by the node responsible for the
/// services; lost (and started afresh) when responsibility moves, as in Java.
#[derive(Debug, Default)]
pub struct HealthChecks {
    checks: HashMap<ProbeTarget, Tally>,
}

#[derive(Debug, Clone, Copy)]
struct Tally {
    due: Millis,
    in_flight: bool,
    /// Consecutive results that disagree with the recorded health.
    against: u8,
}

impl HealthChecks {
    /// Replaces the set of instances to check with `targets`: new ones are first due
    /// `first_delay` from `now`, gone ones are forgotten, the rest keep their tallies.
    pub fn track(&mut self, targets: Vec<ProbeTarget>, now: Millis, mut first_delay: impl FnMut() -> u64) {
        let mut kept = HashMap::with_capacity(targets.len());
        for target in targets {
            let tally = self.checks.remove(&target).unwrap_or_else(|| Tally {
                due: Millis(now.0.saturating_add(first_delay())),
                in_flight: false,
                against: 0,
            });
            kept.insert(target, tally);
        }
        self.checks = kept;
    }

    /// The probes due at `now`, marked in flight until [`HealthChecks::record`] hears back.
    pub fn due(&mut self, now: Millis) -> Vec<ProbeTarget> {
        let mut due = Vec::new();
        for (target, tally) in &mut self.checks {
            if !tally.in_flight && tally.due <= now {
                tally.in_flight = true;
                due.push(target.clone());
            }
        }
        due
    }

    /// Takes a probe's result for an instance whose recorded health is `healthy`; the
    /// instance is next due `next_delay` ms from `now`. Answers the health to record, when
    /// `check_times` results in a row (the `checkTimes` switch) say it changed.
    pub fn record(
        &mut self,
        target: &ProbeTarget,
        result: ProbeResult,
        healthy: bool,
        now: Millis,
        next_delay: u64,
        check_times: u8,
    ) -> Option<bool> {
        let tally = self.checks.get_mut(target)?;
        tally.in_flight = false;
        tally.due = Millis(now.0.saturating_add(next_delay));
        let (agrees, decisive) = match result {
            ProbeResult::Passed => (healthy, false),
            ProbeResult::Failed => (!healthy, false),
            ProbeResult::FailedNow => (!healthy, true),
        };
        if agrees {
            tally.against = 0;
            return None;
        }
        tally.against = tally.against.saturating_add(1);
        if decisive || tally.against >= check_times.max(1) {
            tally.against = 0;
            return Some(!healthy);
        }
        None
    }

    /// How many instances are being checked.
    pub fn len(&self) -> usize {
        self.checks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }
}

/// The pause before an instance's next probe, from a random number: Java's 2 s plus a
/// spread of up to 5 s, skewed towards short ones.
pub fn check_delay(random: u64) -> u64 {
    let spread = random % CHECK_SPREAD_MS;
    CHECK_EVERY_MIN_MS + (random >> 32) % (spread + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::{InstanceDraft, ServiceMeta};

    fn service() -> ServiceKey {
        ServiceKey::parse(None, None, Some("checked")).unwrap()
    }

    fn instance(port: i64, cluster: &str) -> Instance {
        let draft = InstanceDraft {
            ip: Some("127.0.0.1".into()),
            port: Some(port),
            cluster: Some(cluster.into()),
            ephemeral: Some(false),
            ..InstanceDraft::default()
        };
        draft.validate().unwrap()
    }

    #[test]
    fn checkers_parse_as_java_names_them_and_bad_ones_are_refused() {
        assert_eq!(HealthChecker::from_parts("tcp", None, None, None).unwrap(), HealthChecker::Tcp);
        assert_eq!(HealthChecker::from_parts("NONE", None, None, None).unwrap(), HealthChecker::None);
        assert_eq!(
            HealthChecker::from_parts("HTTP", Some("health"), Some("A:1|B:2"), Some(204)).unwrap(),
            HealthChecker::Http { path: "/health".into(), headers: "A:1|B:2".into(), expected_code: 204 }
        );
        assert!(matches!(
            HealthChecker::from_parts("HTTP", None, None, None).unwrap(),
            HealthChecker::Http { expected_code: 200, .. }
        ));
        for (kind, path, code) in
            [("MYSQL", None, None), ("", None, None), ("HTTP", None, Some(99)), ("HTTP", Some("/a b"), None)]
        {
            assert!(HealthChecker::from_parts(kind, path, None, code).is_err(), "{kind} {path:?} {code:?}");
        }
        let long = "x".repeat(MAX_CHECK_PATH_CHARS + 1);
        assert!(matches!(HealthChecker::from_parts("HTTP", Some(&long), None, None), Err(NamingError::TooLong { .. })));
        let http = HealthChecker::from_parts("HTTP", None, Some("A:1|bad|:x|B: 2"), None).unwrap();
        assert_eq!(http.header_pairs(), [("A", "1"), ("B", "2")]);
    }

    #[test]
    fn targets_skip_none_clusters_and_use_the_cluster_s_port() {
        let mut meta = ServiceMeta::default();
        meta.clusters.insert("off".into(), ClusterMeta { checker: HealthChecker::None, ..ClusterMeta::default() });
        meta.clusters
            .insert("fixed".into(), ClusterMeta { check_port: 9, use_instance_port: false, ..ClusterMeta::default() });
        let entry = PersistentService {
            meta,
            instances: vec![instance(1, "DEFAULT"), instance(2, "off"), instance(3, "fixed")],
        };
        let targets = probe_targets(&service(), &entry);
        let ports: Vec<(u16, u16)> = targets.iter().map(|t| (t.port, t.check_port)).collect();
        assert_eq!(ports, [(1, 1), (3, 9)]);
        assert!(targets.iter().all(|t| t.checker == HealthChecker::Tcp));
    }

    fn tracked() -> (HealthChecks, ProbeTarget) {
        let entry = PersistentService { meta: ServiceMeta::default(), instances: vec![instance(1, "DEFAULT")] };
        let target = probe_targets(&service(), &entry).remove(0);
        let mut checks = HealthChecks::default();
        checks.track(vec![target.clone()], Millis(0), || 2_000);
        (checks, target)
    }

    #[test]
    fn three_failures_in_a_row_turn_a_healthy_instance_unhealthy_and_a_pass_resets_the_run() {
        let (mut checks, target) = tracked();
        assert!(checks.due(Millis(1_999)).is_empty());
        assert_eq!(checks.due(Millis(2_000)), std::slice::from_ref(&target));
        assert!(checks.due(Millis(2_000)).is_empty(), "in flight: not due again");
        let mut at = 2_000;
        let mut probe = |checks: &mut HealthChecks, result, healthy| {
            at += 2_000;
            checks.record(&target, result, healthy, Millis(at), 2_000, CHECK_TIMES)
        };
        assert_eq!(probe(&mut checks, ProbeResult::Failed, true), None);
        assert_eq!(probe(&mut checks, ProbeResult::Failed, true), None);
        assert_eq!(probe(&mut checks, ProbeResult::Passed, true), None, "a pass ends the run");
        assert_eq!(probe(&mut checks, ProbeResult::Failed, true), None);
        assert_eq!(probe(&mut checks, ProbeResult::Failed, true), None);
        assert_eq!(probe(&mut checks, ProbeResult::Failed, true), Some(false));
        assert_eq!(probe(&mut checks, ProbeResult::Passed, false), None);
        assert_eq!(probe(&mut checks, ProbeResult::Passed, false), None);
        assert_eq!(probe(&mut checks, ProbeResult::Passed, false), Some(true));
        assert_eq!(probe(&mut checks, ProbeResult::FailedNow, true), Some(false), "refused: at once");
    }

    #[test]
    fn tracking_keeps_tallies_of_kept_instances_and_forgets_gone_ones() {
        let (mut checks, target) = tracked();
        checks.due(Millis(2_000));
        checks.record(&target, ProbeResult::Failed, true, Millis(2_100), 3_000, CHECK_TIMES);
        checks.track(vec![target.clone()], Millis(2_200), || 0);
        assert!(checks.due(Millis(5_099)).is_empty(), "kept its due time");
        checks.due(Millis(5_100));
        checks.record(&target, ProbeResult::Failed, true, Millis(5_200), 0, CHECK_TIMES);
        checks.due(Millis(5_200));
        assert_eq!(
            checks.record(&target, ProbeResult::Failed, true, Millis(5_300), 0, CHECK_TIMES),
            Some(false),
            "kept its run"
        );
        checks.track(Vec::new(), Millis(6_000), || 0);
        assert!(checks.is_empty());
        assert_eq!(checks.record(&target, ProbeResult::Failed, true, Millis(6_000), 0, CHECK_TIMES), None, "forgotten");
    }

    #[test]
    fn delays_stay_within_java_s_range() {
        for random in [0, 1, u64::MAX, 4_999, 5_000, 0xdead_beef_cafe_f00d] {
            let delay = check_delay(random);
            assert!((CHECK_EVERY_MIN_MS..CHECK_EVERY_MIN_MS + CHECK_SPREAD_MS).contains(&delay), "{delay}");
        }
    }

    #[test]
    fn the_table_keeps_cluster_settings_and_records_probed_health() {
        use crate::naming::{NamingCommand, NamingTable};
        use crate::Rejection;

        let mut table = NamingTable::default();
        let http = ClusterMeta {
            checker: HealthChecker::Http { path: "/up".into(), headers: String::new(), expected_code: 200 },
            ..ClusterMeta::default()
        };
        let update = |meta: &ClusterMeta| NamingCommand::UpdateCluster {
            service: service(),
            cluster: ClusterName::default(),
            meta: meta.clone(),
        };
        assert!(matches!(table.apply(&update(&http)), Err(Rejection::ServiceNotFound(_))), "absent service");
        let registered =
            NamingCommand::RegisterInstance { service: service(), instance: instance(1, "DEFAULT"), now: Millis(1) };
        table.apply(&registered).unwrap();
        assert!(table.apply(&update(&http)).unwrap().is_some());
        assert!(table.apply(&update(&http)).unwrap().is_none(), "the same settings change nothing");
        let service_update = NamingCommand::UpdateService { service: service(), meta: ServiceMeta::default() };
        table.apply(&service_update).unwrap();
        assert_eq!(
            table.get(&service()).unwrap().meta.clusters.get("DEFAULT"),
            Some(&http),
            "kept by a service update"
        );

        let set = |ip: &str, healthy| NamingCommand::SetHealth {
            service: service(),
            ip: ip.into(),
            port: 1,
            cluster: ClusterName::default(),
            healthy,
        };
        assert!(table.apply(&set("127.0.0.1", true)).unwrap().is_none(), "already healthy");
        assert!(table.apply(&set("127.0.0.2", false)).unwrap().is_none(), "no such instance");
        assert!(table.apply(&set("127.0.0.1", false)).unwrap().is_some());
        assert!(!table.get(&service()).unwrap().instances[0].healthy);
    }

    #[test]
    fn probes_are_judged_as_java_judges_them() {
        use ProbeObservation as Seen;
        let http = |expected_code| HealthChecker::Http { path: "/".into(), headers: String::new(), expected_code };
        assert_eq!(HealthChecker::Tcp.judge(Seen::Connected), ProbeResult::Passed);
        for seen in [Seen::Refused, Seen::TimedOut] {
            assert_eq!(HealthChecker::Tcp.judge(seen), ProbeResult::Failed, "{seen:?}");
        }
        assert_eq!(http(200).judge(Seen::HttpStatus(200)), ProbeResult::Passed);
        assert_eq!(http(204).judge(Seen::HttpStatus(204)), ProbeResult::Passed);
        for seen in [Seen::HttpStatus(503), Seen::HttpStatus(302), Seen::TimedOut, Seen::NoAnswer] {
            assert_eq!(http(200).judge(seen), ProbeResult::Failed, "{seen:?}");
        }
        for seen in [Seen::HttpStatus(500), Seen::HttpStatus(204), Seen::Refused] {
            assert_eq!(http(200).judge(seen), ProbeResult::FailedNow, "{seen:?}");
        }
        assert_eq!(HealthChecker::None.judge(Seen::Refused), ProbeResult::Passed);
    }
}
