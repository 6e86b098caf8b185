//! Login throttling: after [`MAX_USER_FAILURES`] failed logins in a row for one user, or
//! [`MAX_ADDRESS_FAILURES`] from one client address, further attempts for it are refused for
//! [`LOCK_MILLIS`], so a password cannot be guessed at the speed of the network. An address
//! gets more tries than a user: many clients may share one (a NAT, a host of services), and
//! one misconfigured client should not lock out the rest for long. Pure: time arrives as an
//! argument.

use std::collections::HashMap;

use crate::Millis;

/// Failed logins in a row that lock a user.
pub const MAX_USER_FAILURES: u32 = 5;
/// Failed logins in a row that lock a client address.
pub const MAX_ADDRESS_FAILURES: u32 = 20;
/// How long a locked key stays locked.
pub const LOCK_MILLIS: u64 = 60_000;
/// Failures older than this are forgotten (a slow trickle never locks).
const WINDOW_MILLIS: u64 = 10 * 60_000;
/// Most keys remembered; past it the stalest are forgotten, so a flood of made-up names
/// cannot grow the table without bound.
const MAX_KEYS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Millis,
    locked_until: Option<Millis>,
}

/// A key is locked; it may try again after `retry_after_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after_ms: u64,
}

/// Failed logins by key (`user:<name>`, `ip:<address>`).
#[derive(Debug, Default)]
pub struct LoginThrottle {
    entries: HashMap<String, Entry>,
}

impl LoginThrottle {
    /// Whether `key` may try to log in now.
    pub fn check(&self, key: &str, now: Millis) -> Result<(), Throttled> {
        match self.entries.get(key).and_then(|entry| entry.locked_until) {
            Some(until) if until.0 > now.0 => Err(Throttled { retry_after_ms: until.0 - now.0 }),
            _ => Ok(()),
        }
    }

    /// A failed login for `key`, which `max_failures` in a row lock; answers whether this
    /// failure locked it.
    pub fn failed(&mut self, key: &str, max_failures: u32, now: Millis) -> bool {
        if self.entries.len() >= MAX_KEYS && !self.entries.contains_key(key) {
            self.forget_stalest(now);
        }
        let entry =
            self.entries.entry(key.to_owned()).or_insert(Entry { failures: 0, last_failure: now, locked_until: None });
        if now.0.saturating_sub(entry.last_failure.0) > WINDOW_MILLIS
            || entry.locked_until.is_some_and(|until| until.0 <= now.0)
        {
            entry.failures = 0;
            entry.locked_until = None;
        }
        entry.failures += 1;
        entry.last_failure = now;
        if entry.failures >= max_failures && entry.locked_until.is_none() {
            entry.locked_until = Some(Millis(now.0 + LOCK_MILLIS));
            return true;
        }
        false
    }

    /// A successful login clears `key`'s failures.
    pub fn succeeded(&mut self, key: &str) {
        self.entries.remove(key);
    }

    fn forget_stalest(&mut self, now: Millis) {
        self.entries.retain(|_, entry| now.0.saturating_sub(entry.last_failure.0) <= WINDOW_MILLIS);
        if self.entries.len() >= MAX_KEYS {
            let mut ages: Vec<(u64, String)> =
                self.entries.iter().map(|(key, entry)| (entry.last_failure.0, key.clone())).collect();
            ages.sort();
            for (_, key) in ages.into_iter().take(MAX_KEYS / 10) {
                self.entries.remove(&key);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
