//! Webhook destinations and server-side request forgery: a client-supplied URL must not make
//! SPARTA call into its own network.
//!
//! A webhook URL is parsed once, by the `url` crate (the parser the HTTP client uses), into the
//! [`Url`] held by [`WebhookUrl`](crate::WebhookUrl); that value is the only thing passed on, so
//! the check and the connection see the same host. [`check_destination`] judges it against a
//! [`DestinationPolicy`] — at submit (the API answers 400) and again before every delivery:
//! only `http`/`https`, no user info, an allowed port (explicit or the scheme's default), and an
//! IP-literal host must be public (see [`SPECIAL_PURPOSE`], the IANA special-purpose registries
//! for IPv4 and IPv6 in one table) unless it lies in the policy's allow-list; `localhost` and
//! `*.localhost` names are refused (RFC 6761). A host *name* is judged where it is resolved: the
//! delivery client's resolver applies [`checked_addresses`] to every address it would connect
//! to, so a second DNS answer cannot swap them (DNS rebinding).
//!
//! Refusals carry a detailed reason for logs and for the submitter of the URL (it only ever
//! describes the URL itself); what a tenant reads in a delivery record is the fixed
//! [`NOT_ALLOWED`] or [`UNRESOLVABLE`], never an address a name resolved to.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

/// What a delivery record says of a destination the guard refused.
pub const NOT_ALLOWED: &str = "destination not allowed";
/// What a delivery record says of a host name that did not resolve.
pub const UNRESOLVABLE: &str = "destination could not be resolved";

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

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Network {
    const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Self {
        Self {
            addr: IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
            prefix,
        }
    }

    const fn v6(segments: [u16; 8], prefix: u8) -> Self {
        let [a, b, c, d, e, f, g, h] = segments;
        Self {
            addr: IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h)),
            prefix,
        }
    }

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

/// How a special-purpose network is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judged {
    /// Never called (unless allow-listed).
    Refused,
    /// Carries an IPv4 address at this bit offset (32 bits long), which is judged instead:
    /// IPv4-mapped, NAT64 (RFC 6052) and 6to4 addresses reach that IPv4 address.
    EmbedsV4At(u8),
}

/// One row of [`SPECIAL_PURPOSE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Special {
    /// The network.
    pub network: Network,
    /// Its registry name.
    pub name: &'static str,
    /// Whether it is refused or judged by the IPv4 address it embeds.
    pub judged: Judged,
}

const fn refused(network: Network, name: &'static str) -> Special {
    Special {
        network,
        name,
        judged: Judged::Refused,
    }
}

/// The IANA special-purpose address registries (IPv4 and IPv6, RFC 6890 and later) as one
/// table: an address in any row is not public, except the rows that embed an IPv4 address,
/// which are judged by that address. Globally reachable entries of the registries (e.g. AS112)
/// are refused too: no webhook receiver lives there. Looked up first match first, so the more
/// specific rows come before the blocks that contain them. Besides the table, any IPv6 address
/// outside global unicast `2000::/3` is not public (see [`forbidden_reason`]).
pub const SPECIAL_PURPOSE: &[Special] = &[
    // IPv4.
    refused(Network::v4(0, 0, 0, 0, 8), "\"this network\" (unspecified)"),
    refused(Network::v4(10, 0, 0, 0, 8), "private-use"),
    refused(
        Network::v4(100, 64, 0, 0, 10),
        "shared address space (carrier-grade NAT)",
    ),
    refused(Network::v4(127, 0, 0, 0, 8), "loopback"),
    refused(
        Network::v4(169, 254, 0, 0, 16),
        "link-local (cloud metadata lives here)",
    ),
    refused(Network::v4(172, 16, 0, 0, 12), "private-use"),
    refused(Network::v4(192, 0, 0, 0, 24), "IETF protocol assignments"),
    refused(Network::v4(192, 0, 2, 0, 24), "documentation (TEST-NET-1)"),
    refused(Network::v4(192, 31, 196, 0, 24), "AS112-v4"),
    refused(Network::v4(192, 52, 193, 0, 24), "AMT"),
    refused(
        Network::v4(192, 88, 99, 0, 24),
        "deprecated 6to4 relay anycast",
    ),
    refused(Network::v4(192, 168, 0, 0, 16), "private-use"),
    refused(
        Network::v4(192, 175, 48, 0, 24),
        "direct delegation AS112 service",
    ),
    refused(Network::v4(198, 18, 0, 0, 15), "benchmarking"),
    refused(
        Network::v4(198, 51, 100, 0, 24),
        "documentation (TEST-NET-2)",
    ),
    refused(
        Network::v4(203, 0, 113, 0, 24),
        "documentation (TEST-NET-3)",
    ),
    refused(Network::v4(224, 0, 0, 0, 4), "multicast"),
    refused(Network::v4(255, 255, 255, 255, 32), "limited broadcast"),
    refused(Network::v4(240, 0, 0, 0, 4), "reserved"),
    // IPv6.
    refused(Network::v6([0, 0, 0, 0, 0, 0, 0, 0], 128), "unspecified"),
    refused(Network::v6([0, 0, 0, 0, 0, 0, 0, 1], 128), "loopback"),
    Special {
        network: Network::v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96),
        name: "IPv4-mapped",
        judged: Judged::EmbedsV4At(96),
    },
    refused(
        Network::v6([0, 0, 0, 0, 0, 0, 0, 0], 96),
        "IPv4-compatible (deprecated)",
    ),
    Special {
        network: Network::v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96),
        name: "IPv4/IPv6 translation (NAT64)",
        judged: Judged::EmbedsV4At(96),
    },
    refused(
        Network::v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48),
        "local-use IPv4/IPv6 translation",
    ),
    refused(
        Network::v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64),
        "discard-only",
    ),
    refused(Network::v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32), "Teredo"),
    refused(
        Network::v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),
        "IETF protocol assignments",
    ),
    refused(
        Network::v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
        "documentation",
    ),
    Special {
        network: Network::v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16),
        name: "6to4",
        judged: Judged::EmbedsV4At(16),
    },
    refused(
        Network::v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),
        "documentation",
    ),
    refused(
        Network::v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16),
        "segment routing (SRv6) SIDs",
    ),
    refused(
        Network::v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
        "unique-local",
    ),
    refused(Network::v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), "link-local"),
    refused(
        Network::v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),
        "site-local (deprecated)",
    ),
    refused(Network::v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), "multicast"),
];

/// Global unicast IPv6: everything outside it is reserved or special.
const GLOBAL_UNICAST_V6: Network = Network::v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);

/// Why an address may not be called (the name of its special-purpose network), or `None` for
/// a public address. An address embedding IPv4 (mapped, NAT64, 6to4) is judged by that IPv4.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    let row = SPECIAL_PURPOSE.iter().find(|row| row.network.contains(ip));
    match (ip, row) {
        (IpAddr::V6(v6), Some(row)) => match row.judged {
            Judged::Refused => Some(row.name),
            Judged::EmbedsV4At(offset) => {
                let bits = u128::from(v6) >> (96 - u32::from(offset));
                let v4 = Ipv4Addr::from(u32::try_from(bits & u128::from(u32::MAX)).unwrap_or(0));
                forbidden_reason(IpAddr::V4(v4))
            }
        },
        (_, Some(row)) => Some(row.name),
        (IpAddr::V6(_), None) if !GLOBAL_UNICAST_V6.contains(ip) => {
            Some("reserved (not global unicast)")
        }
        _ => None,
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

impl DestinationPolicy {
    /// Why `ip` may not be called under this policy, or `None`: allow-listed or public.
    pub fn forbidden(&self, ip: IpAddr) -> Option<&'static str> {
        if self.allow_networks.iter().any(|net| net.contains(ip)) {
            return None;
        }
        forbidden_reason(ip)
    }

    fn port_allowed(&self, port: u16) -> bool {
        self.allowed_ports
            .iter()
            .any(|(low, high)| (*low..=*high).contains(&port))
    }
}

/// Checks a parsed webhook URL against `policy`, without resolving anything: the scheme
/// (`http`/`https`), no user info, the port (explicit or default), an IP-literal host (public
/// or allow-listed), and no `localhost` name. A host name passing here is judged again where it
/// is resolved ([`checked_addresses`]). The error is a reason that describes only the URL
/// itself, fit for its submitter and for logs.
pub fn check_destination(url: &Url, policy: &DestinationPolicy) -> Result<(), String> {
    let scheme = url.scheme();
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "scheme '{scheme}' is not allowed (http or https only)"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a user name or password in the URL is not allowed".into());
    }
    let port = url
        .port_or_known_default()
        .ok_or_else(|| "the URL has no port".to_owned())?;
    if !policy.port_allowed(port) {
        let allowed: Vec<String> = policy
            .allowed_ports
            .iter()
            .map(|(low, high)| {
                if low == high {
                    low.to_string()
                } else {
                    format!("{low}-{high}")
                }
            })
            .collect();
        return Err(format!(
            "port {port} is not allowed (allowed: {})",
            allowed.join(", ")
        ));
    }
    let ip = match url.host() {
        None => return Err("the URL has no host".into()),
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name.is_empty() {
                return Err("the URL has no host".into());
            }
            if name == "localhost" || name.ends_with(".localhost") {
                return Err(format!("'{name}' is a loopback name"));
            }
            return Ok(());
        }
    };
    match policy.forbidden(ip) {
        Some(reason) => Err(format!("{ip} is not a public address ({reason})")),
        None => Ok(()),
    }
}

/// The addresses `host` resolved to, when every one may be called; otherwise why not (for
/// logs only: it names the resolved address). Used by the delivery client's resolver, so the
/// connection goes to exactly the addresses checked.
pub fn checked_addresses(
    host: &str,
    addrs: Vec<SocketAddr>,
    policy: &DestinationPolicy,
) -> Result<Vec<SocketAddr>, String> {
    if addrs.is_empty() {
        return Err(format!("'{host}' resolves to no address"));
    }
    for addr in &addrs {
        let ip = addr.ip();
        if let Some(reason) = policy.forbidden(ip) {
            return Err(format!("'{host}' resolves to {ip}, a {reason} address"));
        }
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    fn url(text: &str) -> Url {
        Url::parse(text).expect("url")
    }

    /// One address inside each row of the table, with the reason it must get.
    const INSIDE: &[(&str, &str)] = &[
        ("0.1.2.3", "\"this network\" (unspecified)"),
        ("0.0.0.0", "\"this network\" (unspecified)"),
        ("10.1.2.3", "private-use"),
        ("100.64.0.1", "shared address space (carrier-grade NAT)"),
        (
            "100.127.255.254",
            "shared address space (carrier-grade NAT)",
        ),
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("169.254.169.254", "link-local (cloud metadata lives here)"),
        ("172.16.0.1", "private-use"),
        ("172.31.255.254", "private-use"),
        ("192.0.0.8", "IETF protocol assignments"),
        ("192.0.2.1", "documentation (TEST-NET-1)"),
        ("192.31.196.1", "AS112-v4"),
        ("192.52.193.1", "AMT"),
        ("192.88.99.1", "deprecated 6to4 relay anycast"),
        ("192.168.1.1", "private-use"),
        ("192.175.48.1", "direct delegation AS112 service"),
        ("198.18.0.1", "benchmarking"),
        ("198.19.255.254", "benchmarking"),
        ("198.51.100.7", "documentation (TEST-NET-2)"),
        ("203.0.113.9", "documentation (TEST-NET-3)"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("255.255.255.255", "limited broadcast"),
        ("240.0.0.1", "reserved"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:7f00:1", "loopback"),
        ("::ffff:10.0.0.1", "private-use"),
        (
            "::ffff:169.254.169.254",
            "link-local (cloud metadata lives here)",
        ),
        ("::127.0.0.1", "IPv4-compatible (deprecated)"),
        ("::8.8.8.8", "IPv4-compatible (deprecated)"),
        ("64:ff9b::7f00:1", "loopback"),
        ("64:ff9b::10.0.0.1", "private-use"),
        ("64:ff9b:1::1", "local-use IPv4/IPv6 translation"),
        ("100::1", "discard-only"),
        ("2001::1", "Teredo"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
        ("2001:2::1", "IETF protocol assignments"),
        ("2001:1ff::1", "IETF protocol assignments"),
        ("2001:db8::1", "documentation"),
        ("2002:7f00:1::", "loopback"),
        (
            "2002:a9fe:a9fe::1",
            "link-local (cloud metadata lives here)",
        ),
        ("2002:c0a8:101::1", "private-use"),
        ("3fff::1", "documentation"),
        ("5f00::1", "segment routing (SRv6) SIDs"),
        ("fc00::1", "unique-local"),
        ("fd12:3456::1", "unique-local"),
        ("fe80::1", "link-local"),
        ("fec0::1", "site-local (deprecated)"),
        ("ff02::1", "multicast"),
        ("4000::1", "reserved (not global unicast)"),
    ];

    #[test]
    fn every_special_purpose_row_is_refused() {
        for (address, reason) in INSIDE {
            assert_eq!(
                forbidden_reason(ip(address)),
                Some(*reason),
                "{address} must be refused as {reason}"
            );
        }
        // Every row of the table has an address above that falls in it.
        for row in SPECIAL_PURPOSE {
            assert!(
                INSIDE.iter().any(|(a, _)| row.network.contains(ip(a))),
                "row {} ({}) is not tested",
                row.network,
                row.name
            );
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.216.34",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
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
        assert_eq!(loopback.to_string(), "127.0.0.0/8");
    }

    #[test]
    fn urls_are_checked_by_their_parsed_host() {
        let policy = DestinationPolicy::default();
        for refused in [
            "http://127.0.0.1:8080/hook",
            "http://2130706433:8080/",
            "http://0x7f000001:8080/",
            "http://127.1:8080/",
            "http://0177.0.0.1:8080/",
            "http://0/",
            "http://[::1]:8080/x",
            "http://[::ffff:127.0.0.1]:8080/",
            "http://[::127.0.0.1]:8080/",
            "http://169.254.169.254/latest",
            "http://localhost:8080/",
            "http://LOCALHOST.:8080/",
            "http://api.localhost/",
            "http://user:pw@example.com/",
            "http://user@example.com/",
            "ftp://example.com/x",
            "http://example.com:22/",
            "https://example.com:1023/",
        ] {
            assert!(
                check_destination(&url(refused), &policy).is_err(),
                "{refused} must be refused"
            );
        }
        for allowed in [
            "https://example.com/hook",
            "http://example.com:8080/hook",
            "http://8.8.8.8/",
            "https://[2606:4700:4700::1111]/",
        ] {
            assert_eq!(
                check_destination(&url(allowed), &policy),
                Ok(()),
                "{allowed}"
            );
        }
        let reason = check_destination(&url("http://0x7f.1:8080/"), &policy).expect_err("refused");
        assert!(
            reason.contains("127.0.0.1") && reason.contains("loopback"),
            "{reason}"
        );
        let port = check_destination(&url("http://example.com:25/"), &policy).expect_err("port");
        assert!(port.contains("80, 443, 1024-65535"), "{port}");

        let loopback = DestinationPolicy {
            allow_networks: vec!["127.0.0.0/8".parse().expect("cidr")],
            ..DestinationPolicy::default()
        };
        assert_eq!(
            check_destination(&url("http://127.0.0.1:9999/"), &loopback),
            Ok(())
        );
        assert!(check_destination(&url("http://[::1]:9999/"), &loopback).is_err());
        let only_443 = DestinationPolicy {
            allowed_ports: vec![(443, 443)],
            ..DestinationPolicy::default()
        };
        assert!(check_destination(&url("http://example.com/"), &only_443).is_err());
        assert_eq!(
            check_destination(&url("https://example.com/"), &only_443),
            Ok(())
        );
    }

    #[test]
    fn stored_urls_load_by_syntax_and_submitted_ones_pass_the_policy() {
        use crate::WebhookUrl;
        let policy = DestinationPolicy::default();
        // An old row with user info or a loopback host still loads (delivery refuses it).
        for stored in ["http://user:pw@127.0.0.1:9/hook", "http://[::1]:8080/"] {
            assert!(WebhookUrl::parse(stored).is_ok(), "{stored}");
            assert!(WebhookUrl::submitted(stored, &policy).is_err(), "{stored}");
        }
        for bad in [
            "ftp://example.com/",
            "http://",
            "nope",
            "mailto:a@example.com",
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(WebhookUrl::MAX_LEN));
        assert!(WebhookUrl::parse(long).is_err());
        for raw in [
            "http://127.0.0.1:8080\\@8.8.8.8/",
            "https://example.com\\@8.8.8.8/",
            "https://exa\tmple.com/",
            "https://example.com/a\nb",
        ] {
            assert!(WebhookUrl::submitted(raw, &policy).is_err(), "{raw:?}");
        }
        let url = WebhookUrl::submitted("HTTPS://Example.COM:443/a/./b", &policy).expect("url");
        assert_eq!(url.as_str(), "https://example.com/a/b");
        assert_eq!(url.url().host_str(), Some("example.com"));
        assert_eq!(
            serde_json::to_value(&url).expect("json"),
            serde_json::json!("https://example.com/a/b")
        );
    }

    #[test]
    fn resolved_addresses_are_all_checked() {
        let policy = DestinationPolicy::default();
        let addr = |text: &str| text.parse::<SocketAddr>().expect("addr");
        assert!(checked_addresses("h", vec![], &policy).is_err());
        let mixed = vec![addr("8.8.8.8:443"), addr("127.0.0.1:443")];
        let refused = checked_addresses("h", mixed, &policy).expect_err("one is loopback");
        assert!(refused.contains("loopback"), "{refused}");
        assert_eq!(
            checked_addresses("h", vec![addr("8.8.8.8:443")], &policy),
            Ok(vec![addr("8.8.8.8:443")])
        );
    }
}
