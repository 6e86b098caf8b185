//! Gray release by client ip ("beta"): a second content for a config, served only to the
//! listed client ips until it is stopped.

use std::net::IpAddr;

use super::{ConfigError, ConfigType};
use crate::Millis;

use crate::limits::MAX_BETA_IPS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BetaConfig {
    pub content: String,
    pub md5: String,
    pub config_type: ConfigType,
    /// The data key the gray content was encrypted with, `""` if it is not.
    pub encrypted_data_key: String,
    /// Client ips that get this content, as the publisher listed them.
    pub ips: Vec<String>,
    pub last_modified: Millis,
}

impl BetaConfig {
    /// Whether a client at `client_ip` is served the beta content.
    pub fn serves(&self, client_ip: &str) -> bool {
        self.ips.iter().any(|ip| ip == client_ip)
    }
}

/// Parses `betaIps`: comma-separated ip addresses. `None` when blank (a formal publish).
pub fn parse_beta_ips(raw: Option<&str>) -> Result<Option<Vec<String>>, ConfigError> {
    let Some(raw) = raw.map(str::trim).filter(|raw| !raw.is_empty()) else { return Ok(None) };
    let mut ips = Vec::new();
    for ip in raw.split(',').map(str::trim).filter(|ip| !ip.is_empty()) {
        let parsed: IpAddr =
            ip.parse().map_err(|_| ConfigError::Invalid { param: "betaIps", reason: "not an ip address" })?;
        let canonical = parsed.to_string();
        if !ips.contains(&canonical) {
            ips.push(canonical);
        }
    }
    if ips.is_empty() {
        return Ok(None);
    }
    if ips.len() > MAX_BETA_IPS {
        return Err(ConfigError::Invalid { param: "betaIps", reason: "more than 1000 ips" });
    }
    Ok(Some(ips))
}
