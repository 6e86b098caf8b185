//! The auth use cases: who a request comes from (a token, or a user name and password),
//! whether they may do what they ask (the domain's rule), logins (throttled), and the
//! management of users, roles and permissions through raft.
//!
//! With auth off every check passes and every login succeeds with a placeholder token, as
//! before auth existed (SDKs log in at start-up and need a well-formed answer).

mod manage;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use async_trait::async_trait;
use domain::auth::{
    authorize, Action, AuthError, Denied, LoginThrottle, Permission, Resource, MAX_ADDRESS_FAILURES, MAX_USER_FAILURES,
};
use domain::paging::{Page, PageRequest};
use domain::{Command, Rejection, Verdict};

use crate::applied::AppliedState;
use crate::clock::Clock;
use crate::consensus::{ConsensusError, ConsensusLog};

/// The token an auth-disabled server hands out; never checked.
pub const AUTH_DISABLED_TOKEN: &str = "AUTH_DISABLED";

/// Hashes and checks passwords (driven port): bcrypt, as Nacos stores them, so users
/// exported from Nacos can be imported.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait PasswordHasher: Send + Sync {
    fn hash(&self, password: &str) -> Result<String, String>;
    fn verify(&self, password: &str, hash: &str) -> bool;
    /// A fresh random password (the first admin's, when none is given).
    fn random_password(&self) -> String;
}

/// Issues and verifies access tokens (driven port).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait TokenCodec: Send + Sync {
    /// A token for `username`, valid until `expires_at` (Unix seconds).
    fn issue(&self, username: &str, expires_at: u64) -> String;
    /// The user a token names and when it expires (Unix seconds), if it is genuine and
    /// unexpired at `now`.
    fn verify(&self, token: &str, now: u64) -> Result<(String, u64), TokenError>;
}

/// Tokens already verified, so a client's every request costs a map lookup instead of an
/// HMAC: each with its user and expiry, at most [`TOKEN_CACHE_ENTRIES`] (then it starts
/// over; a miss only costs a verification).
const TOKEN_CACHE_ENTRIES: usize = 10_000;

/// Why a token was refused; the texts are Java Nacos's 403 reasons.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token invalid!")]
    Malformed,
    #[error("unsupported signature algorithm")]
    UnsupportedAlgorithm,
    #[error("Invalid signature")]
    BadSignature,
    #[error("token expired!")]
    Expired,
}

/// Who a request says it comes from, as it carried it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub token: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl Credentials {
    /// Whether checking these runs bcrypt (a password and no token), which takes long
    /// enough that adapters run the check off their async workers; a token is a map lookup.
    pub fn carry_password(&self) -> bool {
        self.token.is_none() && self.password.is_some()
    }
}

/// A successful login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginGrant {
    pub token: String,
    pub ttl_seconds: u64,
    pub global_admin: bool,
    pub username: String,
}

/// Why an auth use case failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthFailure {
    /// No usable credentials, or a user name and password that do not match.
    #[error("user not found!")]
    UnknownUser,
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error("too many failed logins; try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    #[error(transparent)]
    Invalid(#[from] AuthError),
    #[error(transparent)]
    Rejected(Rejection),
    #[error("password could not be hashed: {0}")]
    Hashing(String),
    #[error(transparent)]
    Unavailable(#[from] ConsensusError),
}

/// How long tokens live, and whether auth is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthSettings {
    pub enabled: bool,
    pub token_ttl_seconds: u64,
}

/// How a list narrows by name: exactly, or Nacos's "blur" (`*` any run; no `*` means
/// "contains").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameFilter {
    Any,
    Exact(String),
    Blur(String),
}

impl NameFilter {
    pub fn new(value: Option<&str>, blur: bool) -> Self {
        match value.map(str::trim).filter(|value| !value.is_empty()) {
            None => Self::Any,
            Some(value) if blur => Self::Blur(value.to_owned()),
            Some(value) => Self::Exact(value.to_owned()),
        }
    }

    pub fn matches(&self, name: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(value) => name == value,
            Self::Blur(value) if value.contains('*') => {
                let parts: Vec<&str> = value.split('*').collect();
                let mut rest = name;
                for (n, part) in parts.iter().enumerate() {
                    if n == 0 {
                        let Some(after) = rest.strip_prefix(part) else { return false };
                        rest = after;
                    } else if n == parts.len() - 1 {
                        return rest.ends_with(part);
                    } else {
                        let Some(at) = rest.find(part) else { return false };
                        rest = &rest[at + part.len()..];
                    }
                }
                rest.is_empty()
            }
            Self::Blur(value) => name.contains(value.as_str()),
        }
    }
}

/// The auth use cases (driving port).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait AuthService: Send + Sync {
    fn settings(&self) -> AuthSettings;

    /// Whether the request may do `action` on `resource`. Always when auth is off.
    fn check(&self, credentials: &Credentials, resource: &Resource, action: Action) -> Result<(), AuthFailure>;

    /// The user the credentials name (checked: a genuine token or the right password).
    fn identify(&self, credentials: &Credentials) -> Result<String, AuthFailure>;

    /// Logs in from `client_ip`; failures count against the user and the address.
    fn login(&self, username: &str, password: &str, client_ip: &str) -> Result<LoginGrant, AuthFailure>;

    /// Whether the first administrator still has to be created.
    fn admin_missing(&self) -> bool;

    /// Creates the first administrator (`nacos`) with `password`, or a random one; answers
    /// the user name and password.
    async fn init_admin(&self, password: Option<String>) -> Result<(String, String), AuthFailure>;

    async fn create_user(&self, username: Option<String>, password: Option<String>) -> Result<(), AuthFailure>;
    async fn delete_user(&self, username: Option<String>) -> Result<(), AuthFailure>;
    /// Sets `username`'s password; `caller` must be that user or the administrator.
    async fn set_password(
        &self,
        caller: &str,
        username: Option<String>,
        password: Option<String>,
    ) -> Result<(), AuthFailure>;
    async fn bind_role(&self, role: Option<String>, username: Option<String>) -> Result<(), AuthFailure>;
    async fn unbind_role(&self, role: Option<String>, username: Option<String>) -> Result<(), AuthFailure>;
    async fn add_permission(
        &self,
        role: Option<String>,
        resource: Option<String>,
        action: Option<String>,
    ) -> Result<(), AuthFailure>;
    async fn remove_permission(
        &self,
        role: Option<String>,
        resource: Option<String>,
        action: Option<String>,
    ) -> Result<(), AuthFailure>;

    /// User names. Their hashes never leave the service: nothing needs them, and a hash can
    /// be attacked offline.
    fn users(&self, filter: &NameFilter, page: PageRequest) -> Page<String>;
    /// Role bindings (role, username).
    fn roles(&self, role: &NameFilter, username: &NameFilter, page: PageRequest) -> Page<(String, String)>;
    fn permissions(&self, role: &NameFilter, page: PageRequest) -> Page<Permission>;
    /// Whether `role` already holds a permission covering `action` on `resource`.
    fn has_permission(&self, role: &str, resource: &str, action: &str) -> bool;
}

/// The auth service. One per node.
pub struct AuthApp {
    consensus: Arc<dyn ConsensusLog>,
    state: AppliedState,
    clock: Arc<dyn Clock>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn TokenCodec>,
    settings: AuthSettings,
    /// A std lock, held for a map update only.
    throttle: Mutex<LoginThrottle>,
    /// Verified tokens: token -> (user, expiry in Unix seconds). A std lock, held for a
    /// lookup or an insert.
    verified: RwLock<HashMap<String, (String, u64)>>,
}

impl AuthApp {
    pub fn new(
        consensus: Arc<dyn ConsensusLog>,
        state: AppliedState,
        clock: Arc<dyn Clock>,
        hasher: Arc<dyn PasswordHasher>,
        tokens: Arc<dyn TokenCodec>,
        settings: AuthSettings,
    ) -> Self {
        Self {
            consensus,
            state,
            clock,
            hasher,
            tokens,
            settings,
            throttle: Mutex::default(),
            verified: RwLock::default(),
        }
    }

    fn now_secs(&self) -> u64 {
        self.clock.now().as_u64() / 1000
    }

    fn throttle(&self) -> MutexGuard<'_, LoginThrottle> {
        // Every throttle operation is a map update; a poisoned lock still guards a usable map.
        self.throttle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn propose(&self, command: domain::auth::AuthCommand) -> Result<(), AuthFailure> {
        match self.consensus.propose(Command::Auth(command)).await? {
            Verdict::Applied => Ok(()),
            Verdict::Rejected(rejection) => Err(AuthFailure::Rejected(rejection)),
        }
    }

    /// The user of a genuine, unexpired token; from the cache when it was seen before.
    fn verified_user(&self, token: &str) -> Result<String, AuthFailure> {
        let now = self.now_secs();
        // A read lock: every request of every client looks here, and writes are rare.
        let verified = self.verified.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        match verified.get(token) {
            Some((username, expires_at)) if *expires_at >= now => return Ok(username.clone()),
            Some(_) => return Err(AuthFailure::Token(TokenError::Expired)),
            None => {}
        }
        drop(verified);
        let (username, expires_at) = self.tokens.verify(token, now)?;
        let mut verified = self.verified.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if verified.len() >= TOKEN_CACHE_ENTRIES {
            verified.clear();
        }
        verified.insert(token.to_owned(), (username.clone(), expires_at));
        Ok(username)
    }

    fn password_matches(&self, username: &str, password: &str) -> bool {
        let hash = self.state.read_with(|state| state.auth.password_hash(username).map(str::to_owned));
        hash.is_some_and(|hash| self.hasher.verify(password, &hash))
    }

    fn is_admin(&self, username: &str) -> bool {
        self.state.read_with(|state| authorize(&state.auth, username, &Resource::Admin, Action::Write).is_ok())
    }
}

#[async_trait]
impl AuthService for AuthApp {
    fn settings(&self) -> AuthSettings {
        self.settings
    }

    fn check(&self, credentials: &Credentials, resource: &Resource, action: Action) -> Result<(), AuthFailure> {
        if !self.settings.enabled {
            return Ok(());
        }
        let username = self.identify(credentials)?;
        self.state.read_with(|state| authorize(&state.auth, &username, resource, action)).map_err(AuthFailure::from)
    }

    fn identify(&self, credentials: &Credentials) -> Result<String, AuthFailure> {
        if let Some(token) = credentials.token.as_deref().map(str::trim).filter(|token| !token.is_empty()) {
            return self.verified_user(token);
        }
        match (credentials.username.as_deref(), credentials.password.as_deref()) {
            (Some(username), Some(password)) if self.password_matches(username, password) => Ok(username.to_owned()),
            _ => Err(AuthFailure::UnknownUser),
        }
    }

    fn login(&self, username: &str, password: &str, client_ip: &str) -> Result<LoginGrant, AuthFailure> {
        let ttl_seconds = self.settings.token_ttl_seconds;
        if !self.settings.enabled {
            let username = if username.is_empty() { domain::auth::DEFAULT_ADMIN } else { username };
            let token = AUTH_DISABLED_TOKEN.to_owned();
            return Ok(LoginGrant { token, ttl_seconds, global_admin: true, username: username.to_owned() });
        }
        let now = self.clock.now();
        // Only a user that exists can be locked: failures for made-up names would lock
        // nothing worth locking, and must not grow the table per guess.
        let user_exists = self.state.read_with(|state| state.auth.has_user(username));
        let mut keys = vec![(format!("ip:{client_ip}"), MAX_ADDRESS_FAILURES)];
        if user_exists {
            keys.push((format!("user:{username}"), MAX_USER_FAILURES));
        }
        for (key, _) in &keys {
            if let Err(throttled) = self.throttle().check(key, now) {
                tracing::warn!(username, client_ip, "login refused: too many failed logins");
                return Err(AuthFailure::Throttled { retry_after_secs: throttled.retry_after_ms.div_ceil(1000) });
            }
        }
        if !self.password_matches(username, password) {
            let mut throttle = self.throttle();
            for (key, max_failures) in &keys {
                if throttle.failed(key, *max_failures, now) {
                    tracing::warn!(key, "too many failed logins: locked for a while");
                }
            }
            tracing::info!(username, client_ip, "login failed");
            return Err(AuthFailure::UnknownUser);
        }
        let mut throttle = self.throttle();
        for (key, _) in &keys {
            throttle.succeeded(key);
        }
        drop(throttle);
        let token = self.tokens.issue(username, self.now_secs().saturating_add(ttl_seconds));
        Ok(LoginGrant { token, ttl_seconds, global_admin: self.is_admin(username), username: username.to_owned() })
    }

    fn admin_missing(&self) -> bool {
        !self.state.read_with(|state| state.auth.has_admin())
    }

    async fn init_admin(&self, password: Option<String>) -> Result<(String, String), AuthFailure> {
        self.init_admin_user(password).await
    }

    async fn create_user(&self, username: Option<String>, password: Option<String>) -> Result<(), AuthFailure> {
        self.create(username, password).await
    }

    async fn delete_user(&self, username: Option<String>) -> Result<(), AuthFailure> {
        self.delete(username).await
    }

    async fn set_password(
        &self,
        caller: &str,
        username: Option<String>,
        password: Option<String>,
    ) -> Result<(), AuthFailure> {
        self.change_password(caller, username, password).await
    }

    async fn bind_role(&self, role: Option<String>, username: Option<String>) -> Result<(), AuthFailure> {
        self.bind(role, username).await
    }

    async fn unbind_role(&self, role: Option<String>, username: Option<String>) -> Result<(), AuthFailure> {
        self.unbind(role, username).await
    }

    async fn add_permission(
        &self,
        role: Option<String>,
        resource: Option<String>,
        action: Option<String>,
    ) -> Result<(), AuthFailure> {
        self.grant(role, resource, action, true).await
    }

    async fn remove_permission(
        &self,
        role: Option<String>,
        resource: Option<String>,
        action: Option<String>,
    ) -> Result<(), AuthFailure> {
        self.grant(role, resource, action, false).await
    }

    fn users(&self, filter: &NameFilter, page: PageRequest) -> Page<String> {
        self.state.read_with(|state| {
            let names = state.auth.users().map(|(name, _)| name).filter(|name| filter.matches(name));
            Page::of(names.map(str::to_owned), page)
        })
    }

    fn roles(&self, role: &NameFilter, username: &NameFilter, page: PageRequest) -> Page<(String, String)> {
        self.state.read_with(|state| {
            let bindings = state.auth.bindings().filter(|(r, u)| role.matches(r) && username.matches(u));
            Page::of(bindings.map(|(r, u)| (r.to_owned(), u.to_owned())), page)
        })
    }

    fn permissions(&self, role: &NameFilter, page: PageRequest) -> Page<Permission> {
        self.state.read_with(|state| {
            Page::of(state.auth.permissions().filter(|permission| role.matches(&permission.role)).cloned(), page)
        })
    }

    fn has_permission(&self, role: &str, resource: &str, action: &str) -> bool {
        self.state.read_with(|state| {
            state.auth.permissions_of(role).any(|permission| {
                permission.resource == resource && domain::auth::permission_covers(&permission.action, action)
            })
        })
    }
}

#[cfg(test)]
mod tests;
