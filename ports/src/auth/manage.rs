//! Managing users, roles and permissions: each request is checked against the domain's
//! rules, passwords are hashed here (the log carries hashes only), and the change goes
//! through raft so every node agrees.

use domain::auth::{check_name, check_password, check_permission, AuthCommand, Permission, DEFAULT_ADMIN};

use super::{AuthApp, AuthFailure};

impl AuthApp {
    fn hashed(&self, password: &str) -> Result<String, AuthFailure> {
        self.hasher.hash(password).map_err(AuthFailure::Hashing)
    }

    pub(super) async fn init_admin_user(&self, password: Option<String>) -> Result<(String, String), AuthFailure> {
        let password = match password.filter(|password| !password.is_empty()) {
            Some(password) => check_password("password", Some(&password))?,
            None => self.hasher.random_password(),
        };
        let password_hash = self.hashed(&password)?;
        self.propose(AuthCommand::InitAdmin { password_hash }).await?;
        tracing::info!("the first administrator, {DEFAULT_ADMIN}, was created");
        Ok((DEFAULT_ADMIN.to_owned(), password))
    }

    pub(super) async fn create(&self, username: Option<String>, password: Option<String>) -> Result<(), AuthFailure> {
        let username = check_name("username", username.as_deref())?;
        let password = check_password("password", password.as_deref())?;
        let password_hash = self.hashed(&password)?;
        self.propose(AuthCommand::CreateUser { username, password_hash }).await
    }

    pub(super) async fn delete(&self, username: Option<String>) -> Result<(), AuthFailure> {
        let username = check_name("username", username.as_deref())?;
        self.propose(AuthCommand::DeleteUser { username }).await
    }

    pub(super) async fn change_password(
        &self,
        caller: &str,
        username: Option<String>,
        password: Option<String>,
    ) -> Result<(), AuthFailure> {
        let username = check_name("username", username.as_deref())?;
        let password = check_password("newPassword", password.as_deref())?;
        if self.settings.enabled && caller != username && !self.is_admin(caller) {
            return Err(AuthFailure::Denied(domain::auth::Denied::NotPermitted));
        }
        let password_hash = self.hashed(&password)?;
        self.propose(AuthCommand::SetPassword { username, password_hash }).await
    }

    pub(super) async fn bind(&self, role: Option<String>, username: Option<String>) -> Result<(), AuthFailure> {
        let role = check_name("role", role.as_deref())?;
        let username = check_name("username", username.as_deref())?;
        self.propose(AuthCommand::BindRole { role, username }).await
    }

    pub(super) async fn unbind(&self, role: Option<String>, username: Option<String>) -> Result<(), AuthFailure> {
        let role = check_name("role", role.as_deref())?;
        let username = match username.as_deref().map(str::trim).filter(|name| !name.is_empty()) {
            Some(name) => Some(check_name("username", Some(name))?),
            None => None,
        };
        self.propose(AuthCommand::UnbindRole { role, username }).await
    }

    pub(super) async fn grant(
        &self,
        role: Option<String>,
        resource: Option<String>,
        action: Option<String>,
        add: bool,
    ) -> Result<(), AuthFailure> {
        let role = check_name("role", role.as_deref())?;
        let (resource, action) = check_permission(resource.as_deref(), action.as_deref())?;
        let permission = Permission { role, resource, action };
        let command =
            if add { AuthCommand::AddPermission(permission) } else { AuthCommand::RemovePermission(permission) };
        self.propose(command).await
    }
}
