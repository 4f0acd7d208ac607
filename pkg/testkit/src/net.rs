//! Ports and readiness polling.

use std::{
    net::TcpListener,
    time::{Duration, Instant},
};

/// A loopback TCP port that was free a moment ago. Another process may take it
/// before the server binds it; callers retry the start on a bind failure.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Polls `ready` every 20 ms until it returns true or `timeout` passes. This
/// waits for a condition (a server answering), it does not time the test.
#[allow(clippy::disallowed_methods)] // a blocking poll in a test harness, not a timing assumption
pub fn wait_until(timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if ready() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
