//! Legs over real UDP on 127.0.0.1, in real time; every wait has a generous
//! deadline and nothing synchronises by sleeping.

mod against_sim;
mod audiosocket;
mod inbound;
mod lifecycle;
mod load;
mod outbound;
pub(super) mod support;
mod websocket;
