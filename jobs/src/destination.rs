//! Webhook destinations and server-side request forgery: a client-supplied URL must not make
//! SPARTA call into its own network. Only `http`/`https`, and every address the host resolves to
//! must be public (no loopback, private, link-local — which includes cloud metadata at
//! 169.254.169.254 —, unique-local, shared, multicast or unspecified addresses) unless it falls in
//! a configured allow-list (tests allow-list loopback). [`check_destination`] runs before an
//! attempt (a refused destination is given up with a clear reason); the delivery client's own
//! resolver applies [`checked_addresses`] again to the addresses it connects to, so a second DNS
//! answer cannot swap them (DNS rebinding).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A network in CIDR form, e.g. `127.0.0.0/8` or `::1/128`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Network {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = text.split_once('/').unwrap_or((text, ""));
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("'{text}' is not an IP network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() {
            max
        } else {
            prefix
                .parse::<u8>()
                .map_err(|_| format!("'{text}' has a bad prefix length"))?
        };
        if prefix > max {
            return Err(format!("'{text}' has a prefix longer than {max}"));
        }
        Ok(Self { addr, prefix })
    }
}

impl Network {
    /// True when `ip` lies in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Why an address may not be called, or `None` for a public address.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            forbidden_v6(v6)
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local (cloud metadata lives here)")
    } else if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("broadcast, multicast or reserved")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared address space (carrier-grade NAT)")
    } else if ip.is_documentation() || (a == 198 && (b == 18 || b == 19)) {
        Some("documentation or benchmarking")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if first & 0xfe00 == 0xfc00 {
        Some("unique-local")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if first == 0x2001 && ip.segments()[1] == 0x0db8 {
        Some("documentation")
    } else if first == 0x0064 && ip.segments()[1] == 0xff9b {
        Some("NAT64 (may reach private IPv4)")
    } else {
        None
    }
}

/// Where webhooks may go: the networks allowed although not public, and the ports allowed.
/// One value, read from settings once and handed to both the submit-time check (API) and the
/// connection-time check (deliverer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationPolicy {
    /// Networks that may be called although they are not public (e.g. loopback in tests).
    pub allow_networks: Vec<Network>,
    /// Ports a destination may name (inclusive ranges); default 80, 443 and 1024–65535.
    pub allowed_ports: Vec<(u16, u16)>,
}

impl Default for DestinationPolicy {
    fn default() -> Self {
        Self {
            allow_networks: Vec::new(),
            allowed_ports: vec![(80, 80), (443, 443), (1024, 65535)],
        }
    }
}

/// A destination that passed the check: the URL and the addresses to connect to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedDestination {
    /// The URL's host, as written.
    pub host: String,
    /// The addresses the host resolved to, each allowed.
    pub addrs: Vec<SocketAddr>,
}

/// Resolves `url`'s host and checks every address. `allow` lists networks that may be called
/// even though they are not public (e.g. loopback in tests, an internal receiver on purpose).
pub async fn check_destination(url: &str, allow: &[Network]) -> Result<CheckedDestination, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| "the webhook URL has no scheme".to_owned())?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        other => {
            return Err(format!(
                "scheme '{other}' is not allowed (http or https only)"
            ));
        }
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = split_host_port(authority, default_port)?;
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot resolve '{host}': {e}"))?
        .collect();
    let addrs = checked_addresses(&host, addrs, allow)?;
    Ok(CheckedDestination { host, addrs })
}

/// The addresses `host` resolved to, when every one may be called; otherwise why not. Used
/// by [`check_destination`] and by the delivery client's resolver, so the connection goes to
/// exactly the addresses checked.
pub fn checked_addresses(
    host: &str,
    addrs: Vec<SocketAddr>,
    allow: &[Network],
) -> Result<Vec<SocketAddr>, String> {
    if addrs.is_empty() {
        return Err(format!("'{host}' resolves to no address"));
    }
    for addr in &addrs {
        let ip = addr.ip();
        if allow.iter().any(|net| net.contains(ip)) {
            continue;
        }
        if let Some(reason) = forbidden_reason(ip) {
            return Err(format!("'{host}' resolves to {ip}, a {reason} address"));
        }
    }
    Ok(addrs)
}

fn split_host_port(authority: &str, default_port: u16) -> Result<(String, u16), String> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| "unclosed IPv6 literal".to_owned())?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| format!("bad port '{p}'"))?,
            None => default_port,
        };
        return Ok((host.to_owned(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Ok((
            host.to_owned(),
            port.parse().map_err(|_| format!("bad port '{port}'"))?,
        )),
        None if authority.is_empty() => Err("the webhook URL has no host".to_owned()),
        None => Ok((authority.to_owned(), default_port)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn internal_addresses_are_forbidden_and_public_ones_allowed() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::",
        ] {
            assert!(
                forbidden_reason(ip(internal)).is_some(),
                "{internal} must be forbidden"
            );
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(forbidden_reason(ip(public)), None, "{public} is public");
        }
    }

    #[test]
    fn networks_contain_their_addresses() {
        let loopback: Network = "127.0.0.0/8".parse().expect("cidr");
        assert!(loopback.contains(ip("127.9.9.9")));
        assert!(!loopback.contains(ip("128.0.0.1")));
        let v6: Network = "::1/128".parse().expect("cidr");
        assert!(v6.contains(ip("::1")));
        assert!(!v6.contains(ip("127.0.0.1")));
        let host: Network = "10.0.0.5".parse().expect("single address");
        assert!(host.contains(ip("10.0.0.5")) && !host.contains(ip("10.0.0.6")));
        assert!("10.0.0.0/33".parse::<Network>().is_err());
        assert!("nope/8".parse::<Network>().is_err());
    }

    #[tokio::test]
    async fn destinations_are_checked_after_resolution() {
        let refused = check_destination("http://127.0.0.1:9/hook", &[]).await;
        assert!(refused.is_err_and(|e| e.contains("loopback")));
        let refused = check_destination("http://localhost/hook", &[]).await;
        assert!(
            refused.is_err(),
            "a name resolving to loopback is refused too"
        );
        assert!(check_destination("ftp://example.com/x", &[]).await.is_err());
        assert!(check_destination("http://[::1]:8080/x", &[]).await.is_err());
        let allowed = check_destination(
            "http://user:pw@127.0.0.1:9/hook",
            &["127.0.0.0/8".parse().expect("cidr")],
        )
        .await
        .expect("allow-listed");
        assert_eq!(allowed.host, "127.0.0.1");
        assert_eq!(
            allowed.addrs,
            vec!["127.0.0.1:9".parse::<SocketAddr>().expect("addr")]
        );
    }
}
