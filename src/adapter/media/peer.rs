//! Latching: which source address a leg accepts RTP from and sends RTP to.
//!
//! Anyone who can reach the port could otherwise inject audio into the call
//! (DESIGN: "RTP is accepted only from the Asterisk address the call latched
//! onto"). `SetPeer` (Asterisk's `UNICASTRTP_LOCAL_*`) pins the address;
//! before it, the first packet's source is taken.

use std::net::SocketAddr;

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
#[derive(Debug, Default)]
pub(crate) struct PeerFilter {
    /// Where packets must come from and go to, once known.
    peer: Option<SocketAddr>,
    /// Set by `SetPeer`, not learnt: a later packet cannot move it.
    pinned: bool,
    /// A `SetPeer` with an unspecified IP (`0.0.0.0:port`, Asterisk bound to
    /// a wildcard): the port is pinned, the IP is learnt from the first packet.
    port_only: Option<u16>,
    latched: bool,
}

impl PeerFilter {
    /// Pins the peer: from now on only `addr` is accepted.
    pub(crate) fn set(&mut self, addr: SocketAddr) {
        self.pinned = true;
        if addr.ip().is_unspecified() {
            self.port_only = Some(addr.port());
            self.peer = self.peer.filter(|p| p.port() == addr.port());
        } else {
            self.port_only = None;
            self.peer = Some(addr);
        }
    }

    /// Where to send, if known.
    pub(crate) fn destination(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Judges a datagram from `from`, latching onto it if nothing is known.
    pub(crate) fn check(&mut self, from: SocketAddr) -> Verdict {
        match self.peer {
            Some(peer) if peer == from => {}
            Some(_) => return Verdict::Foreign,
            None if self.port_only.is_some_and(|p| p != from.port()) => return Verdict::Foreign,
            None if self.pinned && self.port_only.is_none() => return Verdict::Foreign,
            None => self.peer = Some(from),
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

    #[test]
    fn latches_onto_the_first_source_and_refuses_others() {
        let mut f = PeerFilter::default();
        assert_eq!(f.check(addr("10.0.0.1:4000")), Verdict::FirstFromPeer);
        assert_eq!(f.check(addr("10.0.0.1:4000")), Verdict::Accept);
        assert_eq!(f.check(addr("10.0.0.1:4001")), Verdict::Foreign);
        assert_eq!(f.check(addr("10.0.0.2:4000")), Verdict::Foreign);
        assert_eq!(f.destination(), Some(addr("10.0.0.1:4000")));
    }

    #[test]
    fn a_set_peer_wins_over_a_latched_one() {
        let mut f = PeerFilter::default();
        f.check(addr("10.0.0.9:9"));
        f.set(addr("10.0.0.1:4000"));
        assert_eq!(f.check(addr("10.0.0.9:9")), Verdict::Foreign);
        assert_eq!(f.check(addr("10.0.0.1:4000")), Verdict::Accept);
    }

    #[test]
    fn a_set_peer_refuses_everyone_else_from_the_start() {
        let mut f = PeerFilter::default();
        f.set(addr("10.0.0.1:4000"));
        assert_eq!(f.check(addr("10.0.0.2:4000")), Verdict::Foreign);
        assert_eq!(f.check(addr("10.0.0.1:4000")), Verdict::FirstFromPeer);
    }

    #[test]
    fn a_wildcard_peer_pins_the_port_and_learns_the_ip() {
        let mut f = PeerFilter::default();
        f.set(addr("0.0.0.0:4000"));
        assert_eq!(f.destination(), None);
        assert_eq!(f.check(addr("10.0.0.1:4001")), Verdict::Foreign);
        assert_eq!(f.check(addr("10.0.0.1:4000")), Verdict::FirstFromPeer);
        assert_eq!(f.check(addr("10.0.0.2:4000")), Verdict::Foreign);
        assert_eq!(f.destination(), Some(addr("10.0.0.1:4000")));
    }
}
