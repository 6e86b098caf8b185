//! The API boundary of nacosd: port traits, their errors, and the application services.
//!
//! Driven ports (the core calls out): [`kv::KvStore`], [`consensus::ConsensusLog`],
//! [`peer::PeerTransport`], [`clock::Clock`], [`listen::ClientChannel`],
//! [`listen::LongPollWaker`], [`naming::ServicePush`], [`config::HistoryStore`].
//! Driving ports (the outside calls in): [`config::ConfigService`],
//! [`namespace::NamespaceService`], [`listen::ListenService`], [`naming::RegistryService`],
//! [`naming::RegistryQueries`], [`naming::SubscriptionService`],
//! [`connection::ConnectionService`] and [`peer::RaftRpcHandler`]. Adapters hold them as
//! `Arc<dyn ...>`, so every handler can be tested against a mock.
//!
//! Services live here rather than in `domain` because they are async and talk to ports; the
//! rules they enforce still live in `domain`.

pub mod applied;
pub mod auth;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod consensus;
pub mod kv;
pub mod listen;
pub mod namespace;
pub mod naming;
pub mod peer;
pub mod read_index;

#[cfg(feature = "testkit")]
pub mod testkit;
