//! nacosd's wiring: settings, storage choice, telemetry, and the node that ties the
//! adapters to the services. The only crate that names concrete types.

pub mod allocator;
mod distro_tasks;
mod health_tasks;
pub mod node;
#[cfg(test)]
mod paused_clock;
mod registry_tasks;
pub mod settings;
pub mod storage;
pub mod telemetry;

pub use node::{Listeners, Node};
pub use settings::Settings;
