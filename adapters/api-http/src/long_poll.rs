//! Waiting HTTP long polls, woken when a key they watch changes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use domain::config::ConfigKey;
use ports::applied::StateObserver;
use tokio::sync::Notify;

/// Polls waiting on each key: poll id and the poll's wake-up.
type Waiting = HashMap<ConfigKey, Vec<(u64, Arc<Notify>)>>;

/// The long polls in flight, by the keys they watch.
#[derive(Clone, Default)]
pub struct LongPolls {
    /// A std lock: never held across an `.await`; each section is a map update.
    waiting: Arc<Mutex<Waiting>>,
    next_id: Arc<AtomicU64>,
}

/// One registered poll; unregisters itself when dropped (answered, timed out or the
/// client went away).
pub(crate) struct Waiter {
    polls: LongPolls,
    id: u64,
    keys: Vec<ConfigKey>,
    notify: Arc<Notify>,
}

impl LongPolls {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers interest in `keys`; call before checking md5s so no change is missed.
    pub(crate) fn wait_on(&self, keys: Vec<ConfigKey>) -> Waiter {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let notify = Arc::new(Notify::new());
        let mut waiting = self.lock();
        for key in &keys {
            waiting.entry(key.clone()).or_default().push((id, Arc::clone(&notify)));
        }
        Waiter { polls: self.clone(), id, keys, notify }
    }

    fn lock(&self) -> MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Waiter {
    /// Resolves once any watched key has changed since registration.
    pub(crate) async fn changed(&self) {
        self.notify.notified().await;
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let mut waiting = self.polls.lock();
        for key in &self.keys {
            if let Some(waiters) = waiting.get_mut(key) {
                waiters.retain(|(id, _)| *id != self.id);
                if waiters.is_empty() {
                    waiting.remove(key);
                }
            }
        }
    }
}

impl StateObserver for LongPolls {
    fn config_changed(&self, key: &ConfigKey) {
        if let Some(waiters) = self.lock().get(key) {
            for (_, notify) in waiters {
                // `notify_one` keeps a permit if the poll is not awaiting yet.
                notify.notify_one();
            }
        }
    }
}
