//! Waiting HTTP long polls. What a poll listens to lives in the listen service's table,
//! with the gRPC listeners; this holds only the wake-ups, by poll id.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use domain::config::ListenerId;
use ports::listen::{ListenService, LongPollWaker};
use tokio::sync::Notify;

/// The long polls in flight.
#[derive(Clone, Default)]
pub struct LongPolls {
    /// A std lock: never held across an `.await`; each section is a map update.
    waiting: Arc<Mutex<HashMap<u64, Arc<Notify>>>>,
    next_id: Arc<AtomicU64>,
}

/// One poll in flight. Dropped (answered, timed out, or the client went away), it takes
/// its registrations out of the listen table and its wake-up out of the map.
pub(crate) struct Poll {
    polls: LongPolls,
    listening: Arc<dyn ListenService>,
    id: u64,
    notify: Arc<Notify>,
}

impl LongPolls {
    pub fn new() -> Self {
        Self::default()
    }

    /// A new poll; register its keys under [`Poll::listener`] before comparing md5s, so
    /// that no change in between is missed.
    pub(crate) fn start(&self, listening: Arc<dyn ListenService>) -> Poll {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let notify = Arc::new(Notify::new());
        self.lock().insert(id, Arc::clone(&notify));
        Poll { polls: self.clone(), listening, id, notify }
    }

    /// How many polls are waiting (tests).
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<Notify>>> {
        self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Poll {
    pub(crate) fn listener(&self) -> ListenerId {
        ListenerId::LongPoll(self.id)
    }

    /// Resolves once a watched key has changed since registration.
    pub(crate) async fn changed(&self) {
        self.notify.notified().await;
    }
}

impl Drop for Poll {
    fn drop(&mut self) {
        self.listening.forget(&self.listener());
        self.polls.lock().remove(&self.id);
    }
}

impl LongPollWaker for LongPolls {
    fn wake(&self, poll: u64) {
        if let Some(notify) = self.lock().get(&poll) {
            // `notify_one` keeps a permit if the poll is not awaiting yet.
            notify.notify_one();
        }
    }
}
