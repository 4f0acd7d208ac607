//! One TCP connection to a Wyoming server, framed by the codec.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::codec::{Decoder, Event, FrameError, Limits, encode};

/// What can go wrong on a connection; adapters map it to their port's error.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// Connecting failed or took too long.
    #[error("cannot connect to {address}: {reason}")]
    Connect {
        /// `host:port`.
        address: String,
        /// Why.
        reason: String,
    },
    /// Reading or writing failed.
    #[error("wyoming connection failed: {0}")]
    Io(#[from] std::io::Error),
    /// The peer sent bytes that are not Wyoming.
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// A connected, framed Wyoming stream.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    decoder: Decoder,
    out: Vec<u8>,
}

/// `tcp://host:port` (as configured) or `host:port` → `host:port`.
pub fn socket_address(address: &str) -> &str {
    address.strip_prefix("tcp://").unwrap_or(address)
}

impl Connection {
    /// Connects within `timeout`.
    pub async fn connect(address: &str, timeout: Duration) -> Result<Self, ConnectionError> {
        let address = socket_address(address);
        let failed = |reason: String| ConnectionError::Connect {
            address: address.to_owned(),
            reason,
        };
        let stream = tokio::time::timeout(timeout, TcpStream::connect(address))
            .await
            .map_err(|_| failed(format!("no answer within {timeout:?}")))?
            .map_err(|e| failed(e.to_string()))?;
        Self::new(stream)
    }

    /// Wraps a connected (or accepted) stream.
    pub fn new(stream: TcpStream) -> Result<Self, ConnectionError> {
        // Audio chunks are small and latency-bound.
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            decoder: Decoder::new(Limits::default()),
            out: Vec::new(),
        })
    }

    /// Writes one event. Not cancel-safe: call it outside `select!` branches.
    pub async fn send(&mut self, event: &Event) -> Result<(), ConnectionError> {
        self.out.clear();
        encode(event, &mut self.out);
        self.stream.write_all(&self.out).await?;
        Ok(())
    }

    /// The next event, `None` at end of stream. Cancel-safe: bytes read stay
    /// in the decoder.
    pub async fn recv(&mut self) -> Result<Option<Event>, ConnectionError> {
        let mut buf = [0u8; 8192];
        loop {
            if let Some(event) = self.decoder.next_event()? {
                return Ok(Some(event));
            }
            let n = self.stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(None);
            }
            self.decoder.feed(&buf[..n]);
        }
    }
}
