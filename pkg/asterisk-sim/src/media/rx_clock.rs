//! When an RTP packet (or an AudioSocket frame) reached the simulator's socket, as the kernel
//! saw it.
//!
//! The load generator shares the machine with the gateway. Timing a packet when its receive
//! task happens to be polled counts the load generator's own wake-up delays as the gateway's
//! pacing jitter; the kernel's receive stamp (`SO_TIMESTAMPNS`, taken when loopback queues
//! the packet) does not. Where no stamp comes (not Linux, the option refused) the time of the
//! read stands in, so the simulator works everywhere.

use std::io;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::net::{TcpStream, UdpSocket};

/// Puts kernel stamps (CLOCK_REALTIME) on the engine's monotonic clock: the wall-clock time
/// of the engine's base instant.
///
/// Good enough for a benchmark run: NTP slews CLOCK_MONOTONIC and CLOCK_REALTIME alike, so the
/// two only part when the wall clock is stepped. A step during a run shifts the stamps after
/// it by the step; the jitter figures are differences within one talkspurt, so only the
/// spurts spanning the step would show it (and arrival is never put after the read). The
/// pairing itself is the tightest of a few back-to-back readings, well under a microsecond
/// off on an idle core and far below the 10 µs histogram bins otherwise.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WallBase {
    /// The base instant as time since the UNIX epoch.
    base_wall: Duration,
}

impl WallBase {
    pub(crate) fn new(base: Instant) -> Self {
        let mut best = (Duration::MAX, Duration::ZERO);
        for _ in 0..5 {
            let before = Instant::now();
            let wall = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let after = Instant::now();
            let window = after - before;
            // The wall clock was read somewhere in [before, after]: take the middle.
            let mid = before + window / 2;
            let base_wall = match mid.checked_duration_since(base) {
                Some(since) => wall.saturating_sub(since),
                None => wall + base.duration_since(mid),
            };
            if window < best.0 {
                best = (window, base_wall);
            }
        }
        Self { base_wall: best.1 }
    }

    /// A kernel stamp (time since the epoch) in ms since the base; negative before it.
    pub(crate) fn ms_since_base(&self, stamp: Duration) -> f64 {
        // Subtract as Durations: epoch seconds in an f64 would keep only ~0.5 µs.
        match stamp.checked_sub(self.base_wall) {
            Some(d) => d.as_secs_f64() * 1000.0,
            None => -(self.base_wall - stamp).as_secs_f64() * 1000.0,
        }
    }
}

/// Reads datagrams with their kernel receive stamp. Its buffers are allocated once, so a read
/// costs one `recvmsg` and no allocation.
pub(crate) struct StampedReader {
    buf: Vec<u8>,
    #[cfg(target_os = "linux")]
    cmsg: Vec<u8>,
}

impl StampedReader {
    /// Asks the kernel to stamp what `sock` receives. Refused, every read is unstamped.
    pub(crate) fn new(sock: &UdpSocket, max_datagram: usize) -> Self {
        #[cfg(target_os = "linux")]
        {
            use nix::sys::socket::{setsockopt, sockopt::ReceiveTimestampns};
            let _ = setsockopt(sock, ReceiveTimestampns, &true);
            Self {
                buf: vec![0; max_datagram],
                cmsg: nix::cmsg_space!(nix::sys::time::TimeSpec),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = sock;
            Self {
                buf: vec![0; max_datagram],
            }
        }
    }

    /// The next datagram and, if the kernel gave one, when it arrived (since the epoch).
    #[cfg(target_os = "linux")]
    pub(crate) async fn recv(&mut self, sock: &UdpSocket) -> io::Result<(&[u8], Option<Duration>)> {
        use tokio::io::Interest;
        loop {
            sock.readable().await?;
            let (buf, cmsg) = (&mut self.buf, &mut self.cmsg);
            match sock.try_io(Interest::READABLE, || recvmsg_stamped(sock, buf, cmsg)) {
                Ok((n, stamp)) => return Ok((&self.buf[..n], stamp)),
                // Readiness was stale (another reader, or a spurious wake): wait again.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The next datagram; no kernel stamp off Linux.
    #[cfg(not(target_os = "linux"))]
    pub(crate) async fn recv(&mut self, sock: &UdpSocket) -> io::Result<(&[u8], Option<Duration>)> {
        let (n, _from) = sock.recv_from(&mut self.buf).await?;
        Ok((&self.buf[..n], None))
    }
}

/// One `recvmsg` into `buf`: the bytes read and the kernel's receive stamp, if it gave one.
/// On a TCP socket the stamp is that of the newest segment the read took bytes from.
#[cfg(target_os = "linux")]
#[allow(
    clippy::ptr_arg,
    reason = "nix's recvmsg takes the control buffer as a Vec"
)]
fn recvmsg_stamped(
    fd: &impl std::os::fd::AsRawFd,
    buf: &mut [u8],
    cmsg: &mut Vec<u8>,
) -> io::Result<(usize, Option<Duration>)> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    let mut iov = [io::IoSliceMut::new(buf)];
    let msg = recvmsg::<()>(fd.as_raw_fd(), &mut iov, Some(cmsg), MsgFlags::empty())
        .map_err(io::Error::from)?;
    let stamp = msg.cmsgs().ok().and_then(|mut all| {
        all.find_map(|c| match c {
            ControlMessageOwned::ScmTimestampns(ts) => Some(Duration::new(
                u64::try_from(ts.tv_sec()).ok()?,
                u32::try_from(ts.tv_nsec()).ok()?,
            )),
            _ => None,
        })
    });
    Ok((msg.bytes, stamp))
}

/// Reads a TCP stream (AudioSocket) in exact lengths with the kernel's receive stamp of the
/// first bytes of each.
///
/// Linux stamps TCP reads too (`SO_TIMESTAMPNS`): a read reports the newest segment it took
/// bytes from. Reading one frame's header on its own thus gives that frame's arrival while
/// the reader keeps up. When the reader falls a whole frame behind on a connection, the kernel
/// may merge the waiting segments into one (carrying the newest stamp): the older frame then
/// looks as late as the newer one's arrival. So the stamp may overstate a frame's lateness,
/// never understate it, and is never later than the read. Off Linux, or refused, every read
/// is unstamped.
pub(crate) struct StampedStream {
    #[cfg(target_os = "linux")]
    cmsg: Vec<u8>,
}

impl StampedStream {
    /// Asks the kernel to stamp what `sock` receives.
    pub(crate) fn new(sock: &TcpStream) -> Self {
        #[cfg(target_os = "linux")]
        {
            use nix::sys::socket::{setsockopt, sockopt::ReceiveTimestampns};
            let _ = setsockopt(sock, ReceiveTimestampns, &true);
            Self {
                cmsg: nix::cmsg_space!(nix::sys::time::TimeSpec),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = sock;
            Self {}
        }
    }

    /// Fills `buf` from `sock`; the kernel's stamp of the read that brought its first bytes.
    /// The end of the stream before `buf` is full is an `UnexpectedEof` error.
    pub(crate) async fn read_exact(
        &mut self,
        sock: &TcpStream,
        buf: &mut [u8],
    ) -> io::Result<Option<Duration>> {
        let mut filled = 0;
        let mut first = None;
        while filled < buf.len() {
            sock.readable().await?;
            match self.try_read(sock, &mut buf[filled..]) {
                Ok((0, _)) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok((n, stamp)) => {
                    if filled == 0 {
                        first = stamp;
                    }
                    filled += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(first)
    }

    #[cfg(target_os = "linux")]
    fn try_read(
        &mut self,
        sock: &TcpStream,
        buf: &mut [u8],
    ) -> io::Result<(usize, Option<Duration>)> {
        let cmsg = &mut self.cmsg;
        sock.try_io(tokio::io::Interest::READABLE, || {
            recvmsg_stamped(sock, buf, cmsg)
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn try_read(
        &mut self,
        sock: &TcpStream,
        buf: &mut [u8],
    ) -> io::Result<(usize, Option<Duration>)> {
        sock.try_read(buf).map(|n| (n, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wall_base_maps_now_to_the_elapsed_time() {
        let base = Instant::now();
        let wall = WallBase::new(base);
        let elapsed_ms = base.elapsed().as_secs_f64() * 1000.0;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let mapped = wall.ms_since_base(now);
        // Both clocks read "now"; only a wall-clock step in between could part them by more.
        assert!(
            (mapped - elapsed_ms).abs() < 50.0,
            "{mapped} vs {elapsed_ms}"
        );
        assert!(wall.ms_since_base(now - Duration::from_secs(10)) < -9_000.0);
    }
}
