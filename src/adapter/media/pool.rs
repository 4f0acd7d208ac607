//! The RTP port pool: which ports of the configured range are free.
//!
//! A leg's port is drawn at random from the free ones, so no one can tell
//! which port the next call gets and spray it before Asterisk's first packet.
//! A released port waits in `cooling` until every other free port has been
//! handed out: stray packets still addressed to a closed leg then most likely
//! find no socket rather than the next call's.

use super::config::PortRange;
use std::{
    io,
    net::{IpAddr, SocketAddr, UdpSocket},
    sync::{Arc, Mutex, MutexGuard},
};

/// Ports of one range, each either free or leased to exactly one leg.
#[derive(Debug)]
pub(crate) struct PortPool {
    range: PortRange,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Free ports to draw from, in no order.
    free: Vec<u16>,
    /// Released (or found taken) since `free` was last refilled.
    cooling: Vec<u16>,
    /// Indexed by `port - range.start`: a double release is caught here.
    leased: Vec<bool>,
}

impl PortPool {
    /// Every port of `range`, or only its even ones.
    pub(crate) fn new(range: PortRange, even_only: bool) -> Arc<Self> {
        let free = (range.start..=range.end)
            .filter(|p| !even_only || p % 2 == 0)
            .collect::<Vec<_>>();
        Arc::new(Self {
            range,
            state: Mutex::new(State {
                free,
                cooling: Vec::new(),
                leased: vec![false; range.len()],
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The lock guards plain data updated in one step: a panic elsewhere
        // cannot leave it half-written.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ports free now.
    pub(crate) fn free(&self) -> usize {
        let s = self.state();
        s.free.len() + s.cooling.len()
    }

    /// Binds a UDP socket on `ip` at a random free port that binds. A port
    /// taken by another process goes to `cooling` and another is drawn; at
    /// most as many tries as there are free ports.
    pub(crate) fn bind(self: &Arc<Self>, ip: IpAddr) -> Result<(UdpSocket, PortLease), BindError> {
        let tries = self.free();
        for _ in 0..tries {
            let Some(lease) = self.take() else { break };
            match UdpSocket::bind(SocketAddr::new(ip, lease.port)) {
                Ok(socket) => return Ok((socket, lease)),
                // Dropping the lease returns the port to the back of the queue.
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
                Err(e) => return Err(BindError::Io(e)),
            }
        }
        Err(BindError::Exhausted)
    }

    fn take(self: &Arc<Self>) -> Option<PortLease> {
        let mut state = self.state();
        if state.free.is_empty() {
            let cooled = std::mem::take(&mut state.cooling);
            state.free = cooled;
        }
        if state.free.is_empty() {
            return None;
        }
        // One draw per leg opened, not per packet: uuid's v4 is the
        // operating system's randomness, already a dependency.
        let i = (uuid::Uuid::new_v4().as_u128() % state.free.len() as u128) as usize;
        let port = state.free.swap_remove(i);
        state.leased[usize::from(port - self.range.start)] = true;
        Some(PortLease {
            pool: Arc::clone(self),
            port,
        })
    }

    fn release(&self, port: u16) {
        let mut state = self.state();
        let slot = &mut state.leased[usize::from(port - self.range.start)];
        if std::mem::replace(slot, false) {
            state.cooling.push(port);
        } else {
            tracing::error!(port, "media port released twice; ignored");
        }
    }
}

/// Why no socket could be bound.
#[derive(Debug)]
pub(crate) enum BindError {
    /// Every port is leased or taken by another process.
    Exhausted,
    /// Binding failed for another reason than a taken port (e.g. an address
    /// this host does not have): retrying other ports would not help.
    Io(io::Error),
}

/// One leased port; dropping it returns the port to its pool, exactly once.
#[derive(Debug)]
pub(crate) struct PortLease {
    pool: Arc<PortPool>,
    port: u16,
}

impl PortLease {
    /// The leased port.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for PortLease {
    fn drop(&mut self) {
        self.pool.release(self.port);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::media::tests::support::{LOCAL, free_range};

    #[test]
    fn leases_each_port_once_and_reuses_released_ones_last() {
        let range = free_range(3);
        let pool = PortPool::new(range, false);
        let (_a, la) = pool.bind(LOCAL).unwrap();
        let (b, lb) = pool.bind(LOCAL).unwrap();
        assert_ne!(la.port(), lb.port());
        let released = lb.port();
        drop((b, lb));
        let (_c, lc) = pool.bind(LOCAL).unwrap();
        assert!(
            lc.port() != la.port() && lc.port() != released,
            "the never-used port comes before a released one"
        );
        assert_eq!(pool.free(), 1);
        let (_d, ld) = pool.bind(LOCAL).unwrap();
        assert_eq!(ld.port(), released, "then the released one");
    }

    #[test]
    fn ports_are_drawn_at_random_not_in_order() {
        // Any fixed order (first, last, lowest...) gives two fresh pools the
        // same sequence; random draws give each its own.
        let range = free_range(64);
        let draws = || {
            let pool = PortPool::new(range, false);
            (0..8)
                .map(|_| pool.bind(LOCAL).unwrap().1.port())
                .collect::<Vec<_>>()
        };
        let (a, b) = (draws(), draws());
        assert_ne!(a, b, "the same ports in the same order twice");
    }

    #[test]
    fn skips_a_port_taken_by_someone_else() {
        let range = free_range(2);
        let squatter = UdpSocket::bind(SocketAddr::new(LOCAL, range.start)).unwrap();
        let pool = PortPool::new(range, false);
        let (_s, lease) = pool.bind(LOCAL).unwrap();
        assert_eq!(lease.port(), range.end);
        assert!(matches!(pool.bind(LOCAL), Err(BindError::Exhausted)));
        drop(squatter);
        let (_s2, again) = pool.bind(LOCAL).unwrap();
        assert_eq!(
            again.port(),
            range.start,
            "the skipped port was kept in the pool"
        );
    }

    #[test]
    fn even_only_hands_out_even_ports() {
        let range = PortRange {
            start: 41_001,
            end: 41_006,
        };
        let pool = PortPool::new(range, true);
        assert_eq!(pool.free(), 3);
    }
}
