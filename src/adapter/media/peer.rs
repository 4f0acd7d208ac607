//! Latching: which source address a leg accepts RTP from and sends RTP to.
//!
//! Anyone who can reach the port could otherwise inject audio into the call
//! (DESIGN: "RTP is accepted only from the Asterisk address the call latched
//! onto"). Nothing is accepted until the session says whose packets to take:
//! - `SetPeer` (Asterisk's `UNICASTRTP_LOCAL_*`) pins the address; with an
//!   unspecified IP (Asterisk bound to a wildcard) the port is pinned and the
//!   IP must be one of the Asterisk host's;
//! - `Latch` (Asterisk reported nothing) opens a window of [`LATCH_WINDOW`]
//!   in which the first packet from one of the Asterisk host's addresses is
//!   taken; the window closes unused, and nothing is taken after it.
//!
//! Checking is a comparison per packet once latched; the host list is read
//! only until then.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::{Duration, Instant},
};

/// How long a `Latch` waits for the first packet.
pub(crate) const LATCH_WINDOW: Duration = Duration::from_secs(1);

/// What to do with a datagram from some source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// From the peer, and the first packet accepted: report the latch.
    FirstFromPeer,
    /// From the peer.
    Accept,
    /// From anyone else: drop and count.
    Foreign,
}

/// The leg's peer, set or learnt.
#[derive(Debug)]
pub(crate) struct PeerFilter {
    /// Where packets must come from and go to, once known.
    peer: Option<SocketAddr>,
    /// The Asterisk host's addresses: the only sources a latch may take.
    hosts: Arc<[IpAddr]>,
    /// A `SetPeer` with an unspecified IP: the port is pinned, the IP is
    /// learnt from the first packet from one of `hosts`.
    port_only: Option<u16>,
    /// Until when a `Latch` takes the first packet from `hosts`.
    window_until: Option<Instant>,
    latched: bool,
}

impl PeerFilter {
    /// Accepts nothing until [`set`](Self::set) or [`latch`](Self::latch).
    pub(crate) fn new(hosts: Arc<[IpAddr]>) -> Self {
        Self {
            peer: None,
            hosts,
            port_only: None,
            window_until: None,
            latched: false,
        }
    }

    /// Pins the peer: from now on only `addr` is accepted.
    pub(crate) fn set(&mut self, addr: SocketAddr) {
        self.window_until = None;
        if addr.ip().is_unspecified() {
            self.port_only = Some(addr.port());
            self.peer = self.peer.filter(|p| p.port() == addr.port());
        } else {
            self.port_only = None;
            self.peer = Some(addr);
        }
    }

    /// Asterisk reported no address: take the first packet from its host
    /// within [`LATCH_WINDOW`] of `now`. Ignored once a peer is known.
    pub(crate) fn latch(&mut self, now: Instant) {
        if self.peer.is_none() && self.port_only.is_none() {
            self.window_until = Some(now + LATCH_WINDOW);
        }
    }

    /// Where to send, if known.
    pub(crate) fn destination(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Judges a datagram from `from` received at `now`, latching onto it if allowed.
    pub(crate) fn check(&mut self, from: SocketAddr, now: Instant) -> Verdict {
        match self.peer {
            Some(peer) if peer == from => {}
            Some(_) => return Verdict::Foreign,
            None => {
                let may_latch = match self.port_only {
                    Some(port) => port == from.port(),
                    None => self.window_until.is_some_and(|until| now < until),
                };
                if !may_latch || !self.hosts.contains(&from.ip()) {
                    return Verdict::Foreign;
                }
                self.peer = Some(from);
                self.window_until = None;
            }
        }
        if std::mem::replace(&mut self.latched, true) {
            Verdict::Accept
        } else {
            Verdict::FirstFromPeer
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn filter() -> PeerFilter {
        PeerFilter::new(Arc::from(["10.0.0.1".parse::<IpAddr>().unwrap()]))
    }

    #[test]
    fn nothing_is_accepted_before_the_session_says_whose() {
        let mut f = filter();
        assert_eq!(
            f.check(addr("10.0.0.1:4000"), Instant::now()),
            Verdict::Foreign
        );
        assert_eq!(f.destination(), None);
    }

    #[test]
    fn a_latch_takes_the_first_packet_from_the_asterisk_host_only() {
        let (mut f, t0) = (filter(), Instant::now());
        f.latch(t0);
        assert_eq!(
            f.check(addr("10.0.0.2:4000"), t0),
            Verdict::Foreign,
            "not the host"
        );
        assert_eq!(f.check(addr("10.0.0.1:4000"), t0), Verdict::FirstFromPeer);
        assert_eq!(f.check(addr("10.0.0.1:4000"), t0), Verdict::Accept);
        assert_eq!(
            f.check(addr("10.0.0.1:4001"), t0),
            Verdict::Foreign,
            "same host, other port"
        );
        assert_eq!(f.destination(), Some(addr("10.0.0.1:4000")));
    }

    #[test]
    fn a_latch_window_closes_after_a_second() {
        let (mut f, t0) = (filter(), Instant::now());
        f.latch(t0);
        let late = t0 + LATCH_WINDOW;
        assert_eq!(f.check(addr("10.0.0.1:4000"), late), Verdict::Foreign);
        assert_eq!(f.destination(), None);
    }

    #[test]
    fn a_set_peer_wins_over_a_latched_one() {
        let (mut f, t0) = (filter(), Instant::now());
        f.latch(t0);
        f.check(addr("10.0.0.1:9"), t0);
        f.set(addr("10.0.0.1:4000"));
        assert_eq!(f.check(addr("10.0.0.1:9"), t0), Verdict::Foreign);
        assert_eq!(f.check(addr("10.0.0.1:4000"), t0), Verdict::Accept);
    }

    #[test]
    fn a_set_peer_refuses_everyone_else_from_the_start() {
        let (mut f, t0) = (filter(), Instant::now());
        f.set(addr("10.0.0.9:4000"));
        assert_eq!(f.check(addr("10.0.0.1:4000"), t0), Verdict::Foreign);
        assert_eq!(f.check(addr("10.0.0.9:4000"), t0), Verdict::FirstFromPeer);
    }

    #[test]
    fn a_wildcard_peer_pins_the_port_and_learns_the_ip_from_the_host() {
        let (mut f, t0) = (filter(), Instant::now());
        f.set(addr("0.0.0.0:4000"));
        assert_eq!(f.destination(), None);
        assert_eq!(f.check(addr("10.0.0.1:4001"), t0), Verdict::Foreign);
        assert_eq!(
            f.check(addr("10.0.0.2:4000"), t0),
            Verdict::Foreign,
            "not the host"
        );
        assert_eq!(f.check(addr("10.0.0.1:4000"), t0), Verdict::FirstFromPeer);
        assert_eq!(f.destination(), Some(addr("10.0.0.1:4000")));
    }
}
