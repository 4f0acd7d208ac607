//! A simulator of Asterisk 20.20.1 as seen through ARI 8.0.0, for tests and load generation.
//!
//! It owns an HTTP + WebSocket server (REST under `/ari`, events at `/ari/events`, chan_websocket
//! media at `/media/{id}`), the channels, bridges and playbacks behind it, and real media sockets
//! (UnicastRTP over UDP, AudioSocket over TCP, media WebSocket). Its behaviour follows the
//! recordings in `tests/fixtures/ari-fixtures/`, quirks included (see that README); where it simplifies,
//! the item says so.
//!
//! Start it with [`Simulator::start`]; drive calls and faults through the returned [`SimHandle`].

// The simulator is Asterisk and a load generator: it keeps real time.
#![allow(clippy::disallowed_methods)]

mod config;
mod handle;
mod http;
mod media;
mod sim;
mod util;

pub use config::{Outcome, SimConfig};
pub use handle::{CallMedia, OriginateRecord, Pacing, SimCallId, SimHandle, Simulator};
pub use media::g711;
pub use media::record::{MediaFormat, RxPacket};
pub use media::stats::{Histogram, HistogramSnapshot};
pub use sim::faults::RestFault;
