//! Every bound on what a client may send, in one place.
//!
//! The identity and naming bounds are Java Nacos's parameter checks (`ParamCheckRule`,
//! enforced by default since 2.3), so a client that works against Java Nacos works here and
//! one that Java refuses is refused here with the same message. The rest are Nacos's own
//! limits where it has one, and ours, with the reason, where it has none.
//!
//! These bound *requests*. Data already stored is read back without them (see the
//! `restore` constructors): a limit lowered in a new release must not make an old data
//! directory unreadable.

/// Longest namespace id (`tenant`, `namespaceId`): `maxNamespaceIdLength`.
pub const MAX_NAMESPACE_ID_LEN: usize = 64;
/// Longest namespace display name: `maxNamespaceShowNameLength`.
pub const MAX_NAMESPACE_NAME_LEN: usize = 256;
/// Longest namespace description (the console's limit).
pub const MAX_NAMESPACE_DESC_LEN: usize = 256;
/// Longest config data id: `maxDataIdLength`.
pub const MAX_DATA_ID_LEN: usize = 256;
/// Longest group, of configs and of services: `maxGroupLength`.
pub const MAX_GROUP_LEN: usize = 128;
/// Longest service name (without its group): `maxServiceNameLength`.
pub const MAX_SERVICE_NAME_LEN: usize = 512;
/// Longest cluster name: `maxClusterLength`.
pub const MAX_CLUSTER_LEN: usize = 64;
/// Longest instance ip or host name: `maxIpLength`.
pub const MAX_IP_LEN: usize = 128;
/// Most characters an instance's or a service's metadata may hold, non-blank keys and values
/// together: `maxMetadataLength`. Without it one registration makes every read of its
/// service megabytes long.
pub const MAX_METADATA_CHARS: usize = 1024;
/// Largest instance weight.
pub const MAX_WEIGHT: f64 = 10_000.0;

/// Default largest config content, 10 MiB, as Nacos's `maxContent`; operators may change it.
pub const DEFAULT_MAX_CONTENT_BYTES: usize = 10 * 1024 * 1024;
/// Most tags one config may carry (the console's limit).
pub const MAX_CONFIG_TAGS: usize = 5;
/// Longest config tag.
pub const MAX_CONFIG_TAG_LEN: usize = 64;
/// Longest config description.
pub const MAX_CONFIG_DESC_LEN: usize = 128;
/// Longest application name on a config.
pub const MAX_CONFIG_APP_NAME_LEN: usize = 128;
/// Longest CAS md5 (an md5 in hex is 32 characters).
pub const MAX_CAS_MD5_LEN: usize = 32;
/// Longest `use` and `effect` of a config (Nacos's columns are 64 characters).
pub const MAX_CONFIG_USE_LEN: usize = 64;
pub const MAX_CONFIG_EFFECT_LEN: usize = 64;
/// Longest `schema` of a config (a text column in Nacos; bounded here so that it cannot
/// become a second content).
pub const MAX_CONFIG_SCHEMA_LEN: usize = 32 * 1024;
/// Longest encrypted data key. The SDKs' encryption plugins send the data key (encrypted with
/// a key the server never sees) base64-encoded: a few hundred characters at most; the bound
/// keeps a key from becoming a second content.
pub const MAX_ENCRYPTED_DATA_KEY_LEN: usize = 4096;
/// Most client ips one beta (gray) release may list.
pub const MAX_BETA_IPS: usize = 1000;
/// Longest tag of a tag-gray release (Java's `ParamUtils`: 16).
pub const MAX_GRAY_TAG_LEN: usize = 16;

/// Largest page a client may ask for; larger requests get pages of this size.
pub const MAX_PAGE_SIZE: usize = 500;
