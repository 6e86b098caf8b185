//! Computed views, kept until their service changes, and the clock of `lastRefTime`.

use std::collections::HashMap;
use std::sync::Arc;

use domain::naming::{ServiceKey, ServiceView, ViewQuery};
use domain::Millis;

/// Views per service and query. Invalidated as a whole per service on any change, so a
/// busy service's subscribers share one computed view between changes.
#[derive(Default)]
pub(super) struct ViewCache {
    by_service: HashMap<ServiceKey, HashMap<ViewQuery, Arc<ServiceView>>>,
    last_ref_time: u64,
}

impl ViewCache {
    pub(super) fn get(&self, service: &ServiceKey, query: &ViewQuery) -> Option<Arc<ServiceView>> {
        self.by_service.get(service)?.get(query).cloned()
    }

    pub(super) fn put(&mut self, service: &ServiceKey, query: &ViewQuery, view: Arc<ServiceView>) {
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
