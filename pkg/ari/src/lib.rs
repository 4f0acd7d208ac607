//! Typed models for the Asterisk REST Interface (ARI 8.0.0 as served by Asterisk 20.20.1).
//!
//! No I/O and no tokio: the REST client and the event stream live in the gateway's
//! `adapter::ari`, and the simulator in its own crate. Both use these types, so what
//! the simulator sends is what the gateway decodes.
//!
//! - Resources: [`Channel`], [`Bridge`], [`Playback`], [`LiveRecording`],
//!   [`Application`], [`Endpoint`], [`AsteriskInfo`], [`AsteriskPing`], [`Variable`],
//!   [`ErrorBody`].
//! - Events: [`Event`] and [`decode_event`].
//!
//! Fields Asterisk may omit are `Option` (or default to empty where Asterisk sends
//! empty strings anyway); string enums keep unknown values in an `Other` variant.
#![warn(missing_docs)]

#[macro_use]
mod macros;

mod application;
mod asterisk;
mod bridge;
mod cause;
mod channel;
mod endpoint;
mod error_body;
pub mod events;
mod ids;
mod playback;
mod recording;

pub use application::Application;
pub use asterisk::{
    AsteriskInfo, AsteriskPing, BuildInfo, ConfigInfo, SetId, StatusInfo, SystemInfo, Variable,
    Variables,
};
pub use bridge::{Bridge, BridgeType};
pub use cause::HangupCause;
pub use channel::{CallerId, Channel, ChannelState, DialplanCep, RtpStat};
pub use endpoint::{DeviceState, Endpoint, EndpointState, FormatLangPair, Sound};
pub use error_body::ErrorBody;
pub use events::{DecodeError, Event, EventCommon, decode_event, decode_event_value};
pub use ids::{BridgeId, ChannelId, PlaybackId, RecordingName};
pub use playback::{Playback, PlaybackState, PlaybackTarget};
pub use recording::{LiveRecording, RecordingState, StoredRecording};
