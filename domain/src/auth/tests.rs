use super::*;
use crate::{Millis, Rejection};

fn table_with_admin() -> AuthTable {
    let mut table = AuthTable::default();
    table.apply(&AuthCommand::InitAdmin { password_hash: "h0".into() }).unwrap();
    table
}

fn grant(table: &mut AuthTable, role: &str, resource: &str, action: &str) {
    let permission = Permission { role: role.into(), resource: resource.into(), action: action.into() };
    table.apply(&AuthCommand::AddPermission(permission)).unwrap();
}

fn config(namespace: &str, data_id: &str) -> Resource {
    Resource::Config { namespace: namespace.into(), group: "G".into(), data_id: data_id.into() }
}

#[test]
fn the_first_admin_is_made_once_and_cannot_be_deleted_or_demoted() {
    let mut table = table_with_admin();
    assert!(table.has_admin());
    assert_eq!(table.roles_of(DEFAULT_ADMIN), [ROLE_ADMIN]);
    assert_eq!(table.apply(&AuthCommand::InitAdmin { password_hash: "h1".into() }), Err(Rejection::AdminExists));
    assert_eq!(table.password_hash(DEFAULT_ADMIN), Some("h0"), "the refused init changed nothing");
    let delete = AuthCommand::DeleteUser { username: DEFAULT_ADMIN.into() };
    assert_eq!(table.apply(&delete), Err(Rejection::CannotDeleteAdmin(DEFAULT_ADMIN.into())));
    let bind = AuthCommand::BindRole { role: ROLE_ADMIN.into(), username: DEFAULT_ADMIN.into() };
    assert_eq!(table.apply(&bind), Err(Rejection::RoleNotPermitted(ROLE_ADMIN.into())));
    let unbind = AuthCommand::UnbindRole { role: ROLE_ADMIN.into(), username: None };
    assert_eq!(table.apply(&unbind), Err(Rejection::RoleNotPermitted(ROLE_ADMIN.into())));
}

#[test]
fn users_roles_and_permissions_follow_nacos_s_rules() {
    let mut table = table_with_admin();
    let create = AuthCommand::CreateUser { username: "dev".into(), password_hash: "h".into() };
    table.apply(&create).unwrap();
    assert_eq!(table.apply(&create), Err(Rejection::UserExists("dev".into())));
    let bind = AuthCommand::BindRole { role: "DEV".into(), username: "dev".into() };
    table.apply(&bind).unwrap();
    assert_eq!(table.apply(&bind), Err(Rejection::AlreadyBound { username: "dev".into(), role: "DEV".into() }));
    let ghost = AuthCommand::BindRole { role: "DEV".into(), username: "ghost".into() };
    assert_eq!(table.apply(&ghost), Err(Rejection::UserNotFound("ghost".into())));
    let orphan = Permission { role: "NOBODY".into(), resource: "*:*:*".into(), action: "r".into() };
    assert_eq!(table.apply(&AuthCommand::AddPermission(orphan)), Err(Rejection::RoleNotFound("NOBODY".into())));
    grant(&mut table, "DEV", "dev:*:*", "rw");
    assert_eq!(table.permissions_of("DEV").count(), 1);

    // Deleting the user drops its bindings too.
    let changes = table.apply(&AuthCommand::DeleteUser { username: "dev".into() }).unwrap();
    assert_eq!(
        changes,
        [
            AuthChange::UserRemoved { username: "dev".into() },
            AuthChange::RoleUnbound { role: "DEV".into(), username: "dev".into() }
        ]
    );
    assert!(table.roles_of("dev").is_empty());
}

#[test]
fn access_is_granted_by_role_permissions_and_the_admin_passes_everything() {
    let mut table = table_with_admin();
    for user in ["reader", "writer", "other"] {
        table.apply(&AuthCommand::CreateUser { username: user.into(), password_hash: "h".into() }).unwrap();
    }
    table.apply(&AuthCommand::BindRole { role: "R".into(), username: "reader".into() }).unwrap();
    table.apply(&AuthCommand::BindRole { role: "W".into(), username: "writer".into() }).unwrap();
    grant(&mut table, "R", "dev:*:*", "r");
    grant(&mut table, "W", "dev:G:config/app*", "rw");

    assert_eq!(authorize(&table, "reader", &config("dev", "x"), Action::Read), Ok(()));
    assert_eq!(authorize(&table, "reader", &config("dev", "x"), Action::Write), Err(Denied::NotPermitted));
    assert_eq!(authorize(&table, "reader", &config("prod", "x"), Action::Read), Err(Denied::NotPermitted));
    assert_eq!(authorize(&table, "writer", &config("dev", "app.yaml"), Action::Write), Ok(()));
    assert_eq!(authorize(&table, "writer", &config("dev", "web.yaml"), Action::Write), Err(Denied::NotPermitted));
    let naming = Resource::Naming { namespace: "dev".into(), group: "G".into(), service: "s".into() };
    assert_eq!(authorize(&table, "reader", &naming, Action::Read), Ok(()));
    assert_eq!(authorize(&table, "other", &naming, Action::Read), Err(Denied::NotPermitted), "no role");
    assert_eq!(authorize(&table, "ghost", &naming, Action::Read), Err(Denied::UnknownUser));
    assert_eq!(authorize(&table, "reader", &Resource::Admin, Action::Read), Err(Denied::NotPermitted));
    assert_eq!(authorize(&table, DEFAULT_ADMIN, &Resource::Admin, Action::Write), Ok(()));
    assert_eq!(authorize(&table, DEFAULT_ADMIN, &config("prod", "x"), Action::Write), Ok(()));
}

#[test]
fn names_passwords_and_permissions_are_checked() {
    assert_eq!(check_name("username", Some(" dev ")), Ok("dev".into()));
    assert!(check_name("username", None).is_err());
    assert!(check_name("username", Some("a b")).is_err());
    assert!(check_name("username", Some(&"x".repeat(129))).is_err());
    assert_eq!(check_password("password", Some(&"p".repeat(73))), Err(AuthError::PasswordTooLong));
    assert!(check_password("password", Some("")).is_err());
    assert!(check_permission(Some("dev:*:*"), Some("rw")).is_ok());
    assert!(check_permission(Some("dev:*:*"), Some("x")).is_err());
    assert!(check_permission(None, Some("r")).is_err());
}

#[test]
fn repeated_failed_logins_lock_a_key_for_a_while() {
    let mut throttle = LoginThrottle::default();
    let mut now = Millis(1_000);
    for n in 1..MAX_USER_FAILURES {
        assert!(!throttle.failed("user:dev", MAX_USER_FAILURES, now), "failure {n} does not lock");
        assert_eq!(throttle.check("user:dev", now), Ok(()));
        now = Millis(now.0 + 100);
    }
    assert!(throttle.failed("user:dev", MAX_USER_FAILURES, now), "the fifth failure locks");
    assert_eq!(throttle.check("user:dev", now), Err(Throttled { retry_after_ms: LOCK_MILLIS }));
    assert_eq!(throttle.check("user:other", now), Ok(()), "other keys are free");
    let later = Millis(now.0 + LOCK_MILLIS);
    assert_eq!(throttle.check("user:dev", later), Ok(()), "unlocked after the lock time");
    assert!(!throttle.failed("user:dev", MAX_USER_FAILURES, later), "a failure after the lock starts a new count");
    throttle.succeeded("user:dev");
    assert!(throttle.is_empty());
}

#[test]
fn the_throttle_forgets_the_stalest_keys_when_full() {
    let mut throttle = LoginThrottle::default();
    for n in 0..10_050u64 {
        throttle.failed(&format!("ip:{n}"), MAX_ADDRESS_FAILURES, Millis(n));
    }
    assert!(throttle.len() <= 10_000, "{}", throttle.len());
}
