use std::sync::atomic::{AtomicU64, Ordering};

use domain::auth::{LOCK_MILLIS, MAX_ADDRESS_FAILURES, MAX_USER_FAILURES};
use domain::Millis;

use super::*;
use crate::consensus::MockConsensusLog;

struct StepClock(AtomicU64);

impl Clock for StepClock {
    fn now(&self) -> Millis {
        Millis(self.0.load(Ordering::Relaxed))
    }
}

/// "Hashes" by prefixing: enough to see that only hashes reach the state.
struct PlainHasher;

impl PasswordHasher for PlainHasher {
    fn hash(&self, password: &str) -> Result<String, String> {
        Ok(format!("hashed:{password}"))
    }

    fn verify(&self, password: &str, hash: &str) -> bool {
        hash.strip_prefix("hashed:") == Some(password)
    }

    fn random_password(&self) -> String {
        "random-pw".to_owned()
    }
}

/// Tokens as `user/expiry`; counts its verifications.
#[derive(Default)]
struct PlainTokens {
    checks: AtomicU64,
}

impl TokenCodec for PlainTokens {
    fn issue(&self, username: &str, expires_at: u64) -> String {
        format!("{username}/{expires_at}")
    }

    fn verify(&self, token: &str, now: u64) -> Result<(String, u64), TokenError> {
        self.checks.fetch_add(1, Ordering::Relaxed);
        let (user, expiry) = token.split_once('/').ok_or(TokenError::Malformed)?;
        let expiry: u64 = expiry.parse().map_err(|_| TokenError::Malformed)?;
        if expiry < now {
            return Err(TokenError::Expired);
        }
        Ok((user.to_owned(), expiry))
    }
}

fn app(enabled: bool) -> (AuthApp, AppliedState, Arc<StepClock>) {
    let (app, state, clock, _) = app_with_tokens(enabled);
    (app, state, clock)
}

fn app_with_tokens(enabled: bool) -> (AuthApp, AppliedState, Arc<StepClock>, Arc<PlainTokens>) {
    let state = AppliedState::new();
    let mut consensus = MockConsensusLog::new();
    let applied = state.clone();
    consensus.expect_propose().returning(move |command| Ok(applied.apply(&command).verdict()));
    let clock = Arc::new(StepClock(AtomicU64::new(1_000_000)));
    let settings = AuthSettings { enabled, token_ttl_seconds: 100 };
    let tokens = Arc::new(PlainTokens::default());
    let app = AuthApp::new(
        Arc::new(consensus),
        state.clone(),
        clock.clone(),
        Arc::new(PlainHasher),
        tokens.clone(),
        settings,
    );
    (app, state, clock, tokens)
}

fn config(namespace: &str) -> Resource {
    Resource::Config { namespace: namespace.into(), group: "G".into(), data_id: "d".into() }
}

fn some(value: &str) -> Option<String> {
    Some(value.to_owned())
}

async fn dev_reader(app: &AuthApp) {
    app.init_admin(some("admin-pw")).await.unwrap();
    app.create_user(some("dev"), some("dev-pw")).await.unwrap();
    app.bind_role(some("DEV"), some("dev")).await.unwrap();
    app.add_permission(some("DEV"), some("dev:*:*"), some("r")).await.unwrap();
}

#[tokio::test]
async fn with_auth_off_everything_passes_and_any_login_succeeds() {
    let (app, _, _) = app(false);
    assert!(app.check(&Credentials::default(), &config("dev"), Action::Write).is_ok());
    let grant = app.login("anyone", "anything", "127.0.0.1").unwrap();
    assert_eq!((grant.token.as_str(), grant.ttl_seconds), (AUTH_DISABLED_TOKEN, 100));
}

#[tokio::test]
async fn a_token_carries_its_user_s_permissions_and_expires() {
    let (app, state, clock) = app(true);
    dev_reader(&app).await;
    assert!(
        state.read_with(|state| state.auth.password_hash("dev") == Some("hashed:dev-pw")),
        "only the hash is stored"
    );
    assert!(matches!(app.check(&Credentials::default(), &config("dev"), Action::Read), Err(AuthFailure::UnknownUser)));

    let grant = app.login("dev", "dev-pw", "127.0.0.1").unwrap();
    assert!(!grant.global_admin);
    let token = Credentials { token: Some(grant.token.clone()), ..Credentials::default() };
    assert!(app.check(&token, &config("dev"), Action::Read).is_ok());
    assert!(matches!(app.check(&token, &config("dev"), Action::Write), Err(AuthFailure::Denied(_))));
    assert!(matches!(app.check(&token, &config("prod"), Action::Read), Err(AuthFailure::Denied(_))));
    assert!(matches!(app.check(&token, &Resource::Admin, Action::Read), Err(AuthFailure::Denied(_))));
    let by_password = Credentials { username: some("dev"), password: some("dev-pw"), token: None };
    assert!(app.check(&by_password, &config("dev"), Action::Read).is_ok(), "user and password on the request");
    let wrong = Credentials { username: some("dev"), password: some("nope"), token: None };
    assert!(matches!(app.check(&wrong, &config("dev"), Action::Read), Err(AuthFailure::UnknownUser)));

    clock.0.fetch_add(101_000, Ordering::Relaxed);
    assert!(matches!(app.check(&token, &config("dev"), Action::Read), Err(AuthFailure::Token(TokenError::Expired))));
    assert!(app.login("nacos", "admin-pw", "127.0.0.1").unwrap().global_admin);
}

#[tokio::test]
async fn repeated_failed_logins_are_refused_for_a_while_even_with_the_right_password() {
    let (app, _, clock) = app(true);
    dev_reader(&app).await;
    for _ in 0..MAX_USER_FAILURES {
        assert!(matches!(app.login("dev", "guess", "127.0.0.9"), Err(AuthFailure::UnknownUser)));
    }
    assert!(matches!(app.login("dev", "dev-pw", "127.0.0.1"), Err(AuthFailure::Throttled { retry_after_secs: 60 })));
    assert!(app.login("nacos", "admin-pw", "127.0.0.9").is_ok(), "another user from that address");
    clock.0.fetch_add(LOCK_MILLIS, Ordering::Relaxed);
    assert!(app.login("dev", "dev-pw", "127.0.0.1").is_ok(), "the lock ends");

    // An address gets more tries, made-up names included, then is locked for every user.
    for n in 0..MAX_ADDRESS_FAILURES {
        assert!(matches!(app.login(&format!("guess{n}"), "x", "127.0.0.7"), Err(AuthFailure::UnknownUser)));
    }
    assert!(matches!(app.login("nacos", "admin-pw", "127.0.0.7"), Err(AuthFailure::Throttled { .. })));
    assert!(app.login("nacos", "admin-pw", "127.0.0.1").is_ok(), "from another address");
}

#[tokio::test]
async fn passwords_change_by_their_owner_or_the_admin_only() {
    let (app, _, _) = app(true);
    dev_reader(&app).await;
    app.create_user(some("other"), some("other-pw")).await.unwrap();
    let denied = app.set_password("other", some("dev"), some("x")).await;
    assert!(matches!(denied, Err(AuthFailure::Denied(_))));
    app.set_password("dev", some("dev"), some("dev-pw2")).await.unwrap();
    app.set_password("nacos", some("dev"), some("dev-pw3")).await.unwrap();
    assert!(app.login("dev", "dev-pw3", "127.0.0.1").is_ok());
    let too_long = app.create_user(some("long"), Some("p".repeat(73))).await;
    assert!(matches!(too_long, Err(AuthFailure::Invalid(domain::auth::AuthError::PasswordTooLong))));
    assert!(matches!(app.init_admin(None).await, Err(AuthFailure::Rejected(Rejection::AdminExists))));
}

#[test]
fn name_filters_read_as_nacos_s_search() {
    assert!(NameFilter::new(Some("dev"), false).matches("dev") && !NameFilter::new(Some("dev"), false).matches("dev2"));
    assert!(NameFilter::new(Some("ev"), true).matches("dev2"));
    assert!(NameFilter::new(Some("d*2"), true).matches("dev2") && !NameFilter::new(Some("d*2"), true).matches("dev3"));
    assert!(NameFilter::new(None, true).matches("anything"));
}

#[tokio::test]
async fn a_token_is_verified_once_and_a_deleted_user_s_token_stops_working() {
    let (app, _, clock, tokens) = app_with_tokens(true);
    dev_reader(&app).await;
    let grant = app.login("dev", "dev-pw", "127.0.0.1").unwrap();
    let token = Credentials { token: Some(grant.token.clone()), ..Credentials::default() };
    for _ in 0..100 {
        assert!(app.check(&token, &config("dev"), Action::Read).is_ok());
    }
    assert_eq!(tokens.checks.load(Ordering::Relaxed), 1, "the signature is checked once");
    clock.0.fetch_add(101_000, Ordering::Relaxed);
    let expired = app.check(&token, &config("dev"), Action::Read);
    assert!(matches!(expired, Err(AuthFailure::Token(TokenError::Expired))), "a cached token still expires");

    let grant = app.login("dev", "dev-pw", "127.0.0.1").unwrap();
    let token = Credentials { token: Some(grant.token.clone()), ..Credentials::default() };
    assert!(app.check(&token, &config("dev"), Action::Read).is_ok());
    app.delete_user(some("dev")).await.unwrap();
    let deleted = app.check(&token, &config("dev"), Action::Read);
    assert!(matches!(deleted, Err(AuthFailure::Denied(domain::auth::Denied::UnknownUser))));
}
