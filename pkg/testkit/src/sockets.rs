//! The TCP and UDP sockets a process has open, read from `/proc`, so a test
//! can check that a server listens on loopback only.

use std::{
    collections::HashSet,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
};

/// One TCP or UDP socket of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSocket {
    /// `tcp`, `tcp6`, `udp` or `udp6` (the `/proc/net` table it was found in).
    pub proto: &'static str,
    /// The address it is bound to.
    pub local: SocketAddr,
    /// The kernel state code (`0A` is a listening TCP socket, `07` an unconnected UDP one).
    pub state: String,
}

/// Every TCP/UDP socket `pid` has open: the inodes of its `/proc/<pid>/fd`
/// socket links matched against its network namespace's socket tables.
pub fn open_sockets(pid: u32) -> std::io::Result<Vec<OpenSocket>> {
    let mut inodes = HashSet::new();
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        // An fd can close between listing and reading the link: skip it.
        let Ok(link) = std::fs::read_link(fd?.path()) else {
            continue;
        };
        let link = link.to_string_lossy().into_owned();
        if let Some(inode) = link
            .strip_prefix("socket:[")
            .and_then(|s| s.strip_suffix(']'))
        {
            inodes.insert(inode.to_owned());
        }
    }
    let mut found = Vec::new();
    for proto in ["tcp", "tcp6", "udp", "udp6"] {
        let table = std::fs::read_to_string(format!("/proc/{pid}/net/{proto}"))?;
        for line in table.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (cols.get(1), cols.get(3), cols.get(9))
            else {
                continue;
            };
            if !inodes.contains(*inode) {
                continue;
            }
            if let Some(local) = parse_addr(local) {
                found.push(OpenSocket {
                    proto,
                    local,
                    state: (*state).to_owned(),
                });
            }
        }
    }
    Ok(found)
}

/// Whether an address is loopback (`127.0.0.0/8`, `::1` or `::ffff:127.x`).
pub fn is_loopback(addr: &SocketAddr) -> bool {
    match addr.ip() {
        IpAddr::V4(a) => a.is_loopback(),
        IpAddr::V6(a) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// Parses `0100007F:1F90` (IPv4) or 32 hex digits `:PORT` (IPv6). The kernel
/// prints each 32-bit word of the address as a host-order number.
fn parse_addr(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| u32::from_str_radix(ip.get(i * 8..i * 8 + 8)?, 16).ok();
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?.to_ne_bytes())),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_own_loopback_listener() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let socks = open_sockets(std::process::id()).unwrap();
        assert!(
            socks
                .iter()
                .any(|s| s.proto == "tcp" && s.local.port() == port && is_loopback(&s.local)),
            "{socks:?}"
        );
    }
}
