//! The registry's switches (Java's `SwitchDomain`, `/ns/operator/switches`): cluster-wide
//! settings an operator changes at run time, replicated through raft like any other write.
//!
//! Every switch Java has is accepted, checked against its type, stored and shown, so the
//! scripts and consoles that set them keep working. Those with a meaning here are honoured
//! ([`Switch::honoured`]): `healthCheckEnabled` and `checkTimes` drive the health checks of
//! persistent instances.

use std::collections::BTreeMap;

use super::NamingError;

/// A switch's value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwitchKind {
    Bool,
    Int,
    Float,
    Text,
}

/// One of Java's switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switch {
    pub name: &'static str,
    pub kind: SwitchKind,
    pub default: &'static str,
    /// Whether this server acts on it (the rest are stored and shown only).
    pub honoured: bool,
}

const fn switch(name: &'static str, kind: SwitchKind, default: &'static str, honoured: bool) -> Switch {
    Switch { name, kind, default, honoured }
}

/// Java's switches with a scalar value, and their defaults.
pub const SWITCHES: &[Switch] = &[
    switch("defaultPushCacheMillis", SwitchKind::Int, "10000", false),
    switch("clientBeatInterval", SwitchKind::Int, "5000", false),
    switch("defaultCacheMillis", SwitchKind::Int, "3000", false),
    switch("distroThreshold", SwitchKind::Float, "0.7", false),
    switch("healthCheckEnabled", SwitchKind::Bool, "true", true),
    switch("autoChangeHealthCheckEnabled", SwitchKind::Bool, "true", false),
    switch("distroEnabled", SwitchKind::Bool, "true", false),
    switch("enableStandalone", SwitchKind::Bool, "true", false),
    switch("pushEnabled", SwitchKind::Bool, "true", false),
    switch("checkTimes", SwitchKind::Int, "3", true),
    switch("serverStatusSynchronizationPeriodMillis", SwitchKind::Int, "2000", false),
    switch("serviceStatusSynchronizationPeriodMillis", SwitchKind::Int, "5000", false),
    switch("disableAddIP", SwitchKind::Bool, "false", false),
    switch("sendBeatOnly", SwitchKind::Bool, "false", false),
    switch("lightBeatEnabled", SwitchKind::Bool, "true", false),
    switch("distroServerExpiredMillis", SwitchKind::Int, "10000", false),
    switch("pushGoVersion", SwitchKind::Text, "0.1.0", false),
    switch("pushJavaVersion", SwitchKind::Text, "0.1.0", false),
    switch("pushPythonVersion", SwitchKind::Text, "0.4.3", false),
    switch("pushCVersion", SwitchKind::Text, "1.0.12", false),
    switch("pushCSharpVersion", SwitchKind::Text, "0.9.0", false),
    switch("enableAuthentication", SwitchKind::Bool, "false", false),
    switch("defaultInstanceEphemeral", SwitchKind::Bool, "true", false),
];

/// Longest text switch value accepted.
const MAX_TEXT_LEN: usize = 64;
/// Most consecutive results a health check may need (`checkTimes`).
const MAX_CHECK_TIMES: i64 = 100;

/// The switches as set: only those changed from their default are held.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Switches {
    set: BTreeMap<String, String>,
}

impl Switches {
    /// Checks an update (`entry`, `value`) and answers the switch and the value as stored.
    pub fn check(entry: &str, value: &str) -> Result<(&'static Switch, String), NamingError> {
        let entry = entry.trim();
        let switch = SWITCHES
            .iter()
            .find(|switch| switch.name == entry)
            .ok_or_else(|| invalid("entry", format!("update entry not found: {entry}")))?;
        let value = value.trim();
        let stored = match switch.kind {
            SwitchKind::Bool => match value.to_ascii_lowercase().as_str() {
                "true" => "true".to_owned(),
                "false" => "false".to_owned(),
                _ => return Err(invalid("value", format!("{entry} is true or false"))),
            },
            SwitchKind::Int => {
                let number: i64 = value.parse().map_err(|_| invalid("value", format!("{entry} is a whole number")))?;
                let range = if entry == "checkTimes" { 1..=MAX_CHECK_TIMES } else { 0..=i64::from(i32::MAX) };
                if !range.contains(&number) {
                    return Err(invalid("value", format!("{entry} must be within {range:?}")));
                }
                number.to_string()
            }
            SwitchKind::Float => {
                let number: f64 = value.parse().map_err(|_| invalid("value", format!("{entry} is a number")))?;
                if !(0.0..=1.0).contains(&number) {
                    return Err(invalid("value", format!("{entry} must be between 0 and 1")));
                }
                number.to_string()
            }
            SwitchKind::Text => {
                if value.is_empty() || value.len() > MAX_TEXT_LEN || value.chars().any(char::is_control) {
                    return Err(invalid("value", format!("{entry} is 1 to {MAX_TEXT_LEN} printable characters")));
                }
                value.to_owned()
            }
        };
        Ok((switch, stored))
    }

    /// Sets a checked value (see [`Switches::check`]); setting the default forgets it.
    /// Answers whether anything changed.
    pub fn set(&mut self, name: &str, value: &str) -> bool {
        let Some(switch) = SWITCHES.iter().find(|switch| switch.name == name) else { return false };
        let before = self.value(switch.name).to_owned();
        if value == switch.default {
            self.set.remove(name);
        } else {
            self.set.insert(name.to_owned(), value.to_owned());
        }
        before != value
    }

    /// A switch's value (its default unless set).
    pub fn value(&self, name: &str) -> &str {
        match self.set.get(name) {
            Some(value) => value,
            None => SWITCHES.iter().find(|switch| switch.name == name).map_or("", |switch| switch.default),
        }
    }

    /// Every switch with its value, in Java's order.
    pub fn all(&self) -> impl Iterator<Item = (&'static Switch, &str)> + '_ {
        SWITCHES.iter().map(|switch| (switch, self.value(switch.name)))
    }

    /// The switches changed from their defaults, for storage.
    pub fn changed(&self) -> &BTreeMap<String, String> {
        &self.set
    }

    /// Whether persistent instances are health-checked at all.
    pub fn health_check_enabled(&self) -> bool {
        self.value("healthCheckEnabled") == "true"
    }

    /// Consecutive results against an instance's health that change it.
    pub fn check_times(&self) -> u8 {
        self.value("checkTimes").parse::<u8>().unwrap_or(super::health_check::CHECK_TIMES).max(1)
    }
}

fn invalid(param: &'static str, reason: String) -> NamingError {
    NamingError::Invalid { param, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_are_checked_against_each_switch_s_type() {
        assert_eq!(Switches::check("healthCheckEnabled", " FALSE ").unwrap().1, "false");
        assert_eq!(Switches::check("checkTimes", "5").unwrap().1, "5");
        assert_eq!(Switches::check("distroThreshold", "0.5").unwrap().1, "0.5");
        assert_eq!(Switches::check("pushJavaVersion", "2.0.0").unwrap().1, "2.0.0");
        for (entry, value) in [
            ("noSuchSwitch", "1"),
            ("healthCheckEnabled", "yes"),
            ("checkTimes", "0"),
            ("checkTimes", "x"),
            ("distroThreshold", "2"),
            ("pushJavaVersion", ""),
        ] {
            assert!(Switches::check(entry, value).is_err(), "{entry}={value}");
        }
    }

    #[test]
    fn set_values_replace_defaults_and_the_default_is_forgotten() {
        let mut switches = Switches::default();
        assert!(switches.health_check_enabled());
        assert_eq!(switches.check_times(), 3);
        assert!(switches.set("healthCheckEnabled", "false"));
        assert!(switches.set("checkTimes", "5"));
        assert!(!switches.set("checkTimes", "5"), "no change");
        assert!(!switches.health_check_enabled());
        assert_eq!(switches.check_times(), 5);
        assert_eq!(switches.changed().len(), 2);
        assert!(switches.set("healthCheckEnabled", "true"));
        assert_eq!(switches.changed().len(), 1, "back to the default: forgotten");
        assert_eq!(switches.all().count(), SWITCHES.len());
    }
}
