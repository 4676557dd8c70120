//! The address a request came from, for rate limits. `X-Forwarded-For` is
//! believed only when the connection comes from a configured proxy;
//! otherwise anyone could pick their own address and dodge the limit.

use axum::http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    pub fn resolve(
        peer: Option<SocketAddr>,
        headers: &HeaderMap,
        trusted_proxies: &[IpAddr],
    ) -> ClientIp {
        let peer_ip = peer.map_or(IpAddr::from([0, 0, 0, 0]), |p| p.ip());
        if !trusted_proxies.contains(&peer_ip) {
            return ClientIp(peer_ip);
        }
        // Walk the chain from the right, skipping our own proxies: the
        // first address not ours is the one our proxy saw.
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        forwarded
            .iter()
            .rev()
            .filter_map(|s| s.parse::<IpAddr>().ok())
            .find(|ip| !trusted_proxies.contains(ip))
            .map_or(ClientIp(peer_ip), ClientIp)
    }
}

impl ClientIp {
    /// What a per-address limit counts under. One IPv6 subscriber is
    /// normally handed a whole /64, so a limit keyed on the full address
    /// could be dodged by changing the last 64 bits; an IPv4 address (or
    /// one mapped into IPv6) is counted as itself.
    pub fn limit_key(&self) -> String {
        match self.0 {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let prefix = u128::from(v6) & !u128::from(u64::MAX);
                    format!("{}/64", std::net::Ipv6Addr::from(prefix))
                }
            },
        }
    }
}

impl std::fmt::Display for ClientIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_is_ignored_from_strangers() {
        let peer: SocketAddr = "203.0.113.7:5000".parse().unwrap();
        let ip = ClientIp::resolve(Some(peer), &headers("198.51.100.1"), &[]);
        assert_eq!(ip.0.to_string(), "203.0.113.7");
    }

    #[test]
    fn forwarded_for_is_read_from_our_proxy_right_to_left() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let peer = SocketAddr::new(proxy, 5000);
        let ip = ClientIp::resolve(
            Some(peer),
            &headers("6.6.6.6, 198.51.100.1, 10.0.0.2"),
            &[proxy],
        );
        assert_eq!(
            ip.0.to_string(),
            "198.51.100.1",
            "a spoofed left-most entry is not believed"
        );
    }

    #[test]
    fn limits_count_an_ipv6_subscriber_by_its_64() {
        let key = |ip: &str| ClientIp(ip.parse().unwrap()).limit_key();
        assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(
            key("2001:db8:1:2:ffff:ffff:ffff:fffe"),
            key("2001:db8:1:2::1"),
            "one /64, one count"
        );
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_ne!(key("203.0.113.7"), key("203.0.113.8"));
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
    }
}
