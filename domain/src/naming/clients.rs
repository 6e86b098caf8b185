//! Naming clients as Nacos's client views (`/ns/client/*`) name them: a gRPC connection by
//! its id (`<millis>_<ip>_<port>`), an HTTP client by `ip:port#true` (ephemeral instances
//! kept by beats, UDP subscribers) or `ip:port#false` (a persistent instance's).

use super::{Instance, Owner, SubscriberId};
use crate::config::ConnectionId;

/// One client, as the views list and look it up.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClientRef {
    Connection(ConnectionId),
    IpPort { ip: String, port: u16, ephemeral: bool },
}

impl ClientRef {
    /// The client that owns an ephemeral instance.
    pub fn of_owner(owner: &Owner) -> Self {
        match owner {
            Owner::Connection(id) => Self::Connection(id.clone()),
            Owner::Beats { ip, port } => Self::IpPort { ip: ip.clone(), port: *port, ephemeral: true },
        }
    }

    /// The client a subscription belongs to.
    pub fn of_subscriber(id: &SubscriberId) -> Self {
        match id {
            SubscriberId::Connection(id) => Self::Connection(id.clone()),
            SubscriberId::Udp { ip, port } => Self::IpPort { ip: ip.clone(), port: *port, ephemeral: true },
        }
    }

    /// The client of a persistent instance (Java gives each its own `ip:port#false`).
    pub fn of_persistent(instance: &Instance) -> Self {
        Self::IpPort { ip: instance.ip.clone(), port: instance.port, ephemeral: false }
    }

    /// Reads a client id; `None` when blank.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        let ip_port = raw.rsplit_once('#').and_then(|(address, kind)| {
            let ephemeral = match kind {
                "true" => true,
                "false" => false,
                _ => return None,
            };
            let (ip, port) = address.rsplit_once(':')?;
            Some(Self::IpPort { ip: ip.to_owned(), port: port.parse().ok()?, ephemeral })
        });
        Some(ip_port.unwrap_or_else(|| Self::Connection(ConnectionId::new(raw))))
    }

    /// The id the views show.
    pub fn id(&self) -> String {
        match self {
            Self::Connection(id) => id.as_str().to_owned(),
            Self::IpPort { ip, port, ephemeral } => format!("{ip}:{port}#{ephemeral}"),
        }
    }

    /// Whether its instances are ephemeral (connections' always are).
    pub fn is_ephemeral(&self) -> bool {
        match self {
            Self::Connection(_) => true,
            Self::IpPort { ephemeral, .. } => *ephemeral,
        }
    }

    /// The client's ip and port: an HTTP client's own, a connection's from its id.
    pub fn address(&self) -> (String, String) {
        match self {
            Self::IpPort { ip, port, .. } => (ip.clone(), port.to_string()),
            Self::Connection(id) => {
                let mut parts = id.as_str().rsplitn(3, '_');
                let port = parts.next().unwrap_or_default().to_owned();
                let ip = parts.next().unwrap_or_default().to_owned();
                (ip, port)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_name_the_address() {
        let http = ClientRef::IpPort { ip: "127.0.0.1".into(), port: 8080, ephemeral: true };
        assert_eq!(http.id(), "127.0.0.1:8080#true");
        assert_eq!(ClientRef::parse(&http.id()), Some(http.clone()));
        let stored = ClientRef::parse("::1:80#false").unwrap();
        assert_eq!(stored, ClientRef::IpPort { ip: "::1".into(), port: 80, ephemeral: false });
        let connection = ClientRef::parse("1700000000000_127.0.0.9_51234").unwrap();
        assert_eq!(connection.address(), ("127.0.0.9".to_owned(), "51234".to_owned()));
        assert!(connection.is_ephemeral());
        assert_eq!(ClientRef::parse("x#maybe"), Some(ClientRef::Connection(ConnectionId::new("x#maybe"))));
        assert_eq!(ClientRef::parse("  "), None);
    }
}
