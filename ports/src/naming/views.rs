//! Computed views, kept until their service changes, and the clock of `lastRefTime`.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use domain::naming::{ServiceKey, ServiceView, ViewQuery};
use domain::Millis;

/// A computed view shared by every reader until its service changes, with its wire
/// encodings memoised: a thousand subscribers of one service cost one serialization.
#[derive(Debug)]
pub struct SharedView {
    view: ServiceView,
    /// Encoded forms by format name (adapters choose the names).
    encodings: Mutex<HashMap<&'static str, Arc<[u8]>>>,
}

impl SharedView {
    pub fn new(view: ServiceView) -> Self {
        Self { view, encodings: Mutex::default() }
    }

    /// The view encoded as `format`, encoding it on first use.
    pub fn encoded(&self, format: &'static str, encode: impl FnOnce(&ServiceView) -> Vec<u8>) -> Arc<[u8]> {
        let mut encodings = self.encodings.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(encodings.entry(format).or_insert_with(|| Arc::from(encode(&self.view))))
    }
}

impl Deref for SharedView {
    type Target = ServiceView;

    fn deref(&self) -> &ServiceView {
        &self.view
    }
}

/// Views per service and query. Invalidated as a whole per service on any change, so a
/// busy service's subscribers share one computed view between changes.
#[derive(Default)]
pub(super) struct ViewCache {
    by_service: HashMap<ServiceKey, HashMap<ViewQuery, Arc<SharedView>>>,
    last_ref_time: u64,
}

impl ViewCache {
    pub(super) fn get(&self, service: &ServiceKey, query: &ViewQuery) -> Option<Arc<SharedView>> {
        self.by_service.get(service)?.get(query).cloned()
    }

    pub(super) fn put(&mut self, service: &ServiceKey, query: &ViewQuery, view: Arc<SharedView>) {
        self.by_service.entry(service.clone()).or_default().insert(query.clone(), view);
    }

    pub(super) fn invalidate(&mut self, service: &ServiceKey) {
        self.by_service.remove(service);
    }

    /// `now`, or one more than the last value handed out if the clock has not moved on:
    /// SDKs drop a view whose `lastRefTime` is not newer than the one they hold.
    pub(super) fn next_ref_time(&mut self, now: Millis) -> Millis {
        self.last_ref_time = now.0.max(self.last_ref_time.saturating_add(1));
        Millis(self.last_ref_time)
    }
}
