//! ARI events: one enum, [`Event`], tagged by the JSON `type` field, and its decoder.
//!
//! Decoding is two-step ([`decode_event`]): the text is parsed into a JSON value, its
//! `type` is read, and only then is a known type deserialised into its struct. So:
//! - a type this crate does not know becomes [`Event::Unknown`] with the raw JSON,
//!   and the stream goes on (Asterisk adds event types between releases);
//! - a known type with malformed fields becomes a [`DecodeError::Malformed`] value
//!   naming the type and the JSON path that failed, never a panic.
//!
//! [`Event`] serialises back to the same shape Asterisk sends (with `type`), so the
//! simulator can emit these types.

mod app;
mod bridge;
mod channel;
mod dial;
mod media;

pub use app::*;
pub use bridge::*;
pub use channel::*;
pub use dial::*;
pub use media::*;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Bridge, Channel, ChannelId};

/// Fields every ARI event carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCommon {
    /// The Stasis app the event was delivered to.
    pub application: String,
    /// When Asterisk raised it, as Asterisk prints it (`2026-11-21T06:03:28.135+0000`).
    pub timestamp: String,
    /// The Asterisk's entity id; tells which Asterisk sent it when one gateway serves
    /// several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asterisk_id: Option<String>,
}

/// Why an events-socket message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The message is not JSON at all.
    #[error("event is not valid JSON: {0}")]
    NotJson(String),
    /// The JSON is not an object with a string `type`.
    #[error("event has no string `type` field")]
    MissingType,
    /// A known event type whose fields do not match the model.
    #[error("malformed {event_type} event at `{path}`: {message}")]
    Malformed {
        /// The event's `type`.
        event_type: String,
        /// JSON path of the offending field (`channel.state`, `.` for the root).
        path: String,
        /// What serde said.
        message: String,
    },
}

macro_rules! events {
    ($($variant:ident,)+) => {
        /// An event received on the ARI events socket.
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant)] // events are decoded once and moved, not copied around
        pub enum Event {
            $(
                #[doc = concat!("`", stringify!($variant), "`; see [`", stringify!($variant), "`].")]
                $variant($variant),
            )+
            /// An event type this crate does not model, kept verbatim.
            Unknown {
                /// Its `type`.
                event_type: String,
                /// The whole event as received.
                raw: Value,
            },
        }

        /// Every event type [`decode_event`] decodes into a typed variant.
        pub const KNOWN_EVENT_TYPES: &[&str] = &[$(stringify!($variant),)+];

        impl Event {
            /// The event's `type`.
            pub fn type_name(&self) -> &str {
                match self {
                    $(Self::$variant(_) => stringify!($variant),)+
                    Self::Unknown { event_type, .. } => event_type,
                }
            }

            /// The common fields (`None` for unknown events).
            pub fn common(&self) -> Option<&EventCommon> {
                match self {
                    $(Self::$variant(e) => Some(&e.common),)+
                    Self::Unknown { .. } => None,
                }
            }

            /// Decodes a known type; hands the value back untouched for an unknown one
            /// so it can be kept without a copy.
            fn decode_known(event_type: &str, value: Value) -> Result<Result<Self, DecodeError>, Value> {
                match event_type {
                    $(stringify!($variant) => Ok(typed(event_type, value).map(Self::$variant)),)+
                    _ => Err(value),
                }
            }

            /// The event as Asterisk would send it, with `type`.
            pub fn to_json(&self) -> Value {
                let inner = match self {
                    $(Self::$variant(e) => serde_json::to_value(e),)+
                    Self::Unknown { raw, .. } => return raw.clone(),
                };
                // Our models serialise to objects with string keys only; the fallback
                // keeps this total rather than panicking.
                let mut value = inner.unwrap_or(Value::Null);
                if let Value::Object(map) = &mut value {
                    map.insert("type".to_owned(), Value::String(self.type_name().to_owned()));
                }
                value
            }
        }
    };
}

events! {
    ApplicationRegistered,
    ApplicationReplaced,
    ApplicationUnregistered,
    BridgeCreated,
    BridgeDestroyed,
    BridgeMerged,
    ChannelCallerId,
    ChannelConnectedLine,
    ChannelCreated,
    ChannelDestroyed,
    ChannelDialplan,
    ChannelDtmfReceived,
    ChannelEnteredBridge,
    ChannelHangupRequest,
    ChannelHold,
    ChannelLeftBridge,
    ChannelStateChange,
    ChannelTalkingFinished,
    ChannelTalkingStarted,
    ChannelUnhold,
    ChannelUserevent,
    ChannelVarset,
    DeviceStateChanged,
    Dial,
    EndpointStateChange,
    PlaybackContinuing,
    PlaybackFinished,
    PlaybackStarted,
    RecordingFailed,
    RecordingFinished,
    RecordingStarted,
    StasisEnd,
    StasisStart,
}

fn typed<T: serde::de::DeserializeOwned>(event_type: &str, value: Value) -> Result<T, DecodeError> {
    serde_path_to_error::deserialize(value).map_err(|e| DecodeError::Malformed {
        event_type: event_type.to_owned(),
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

/// Decodes one events-socket text message.
pub fn decode_event(text: &str) -> Result<Event, DecodeError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| DecodeError::NotJson(e.to_string()))?;
    decode_event_value(value)
}

/// Decodes an event already parsed into JSON.
pub fn decode_event_value(value: Value) -> Result<Event, DecodeError> {
    let event_type = value
        .get("type")
        .and_then(Value::as_str)
        .ok_or(DecodeError::MissingType)?
        .to_owned();
    match Event::decode_known(&event_type, value) {
        Ok(result) => result,
        Err(raw) => Ok(Event::Unknown { event_type, raw }),
    }
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        decode_event_value(value).map_err(serde::de::Error::custom)
    }
}

impl Event {
    /// The channel the event is about, for per-channel ordering: `peer` for `Dial`;
    /// `None` for bridge-only, playback, recording, app and device events.
    pub fn channel(&self) -> Option<&Channel> {
        match self {
            Self::StasisStart(e) => Some(&e.channel),
            Self::StasisEnd(e) => Some(&e.channel),
            Self::ChannelCreated(e) => Some(&e.channel),
            Self::ChannelDestroyed(e) => Some(&e.channel),
            Self::ChannelHangupRequest(e) => Some(&e.channel),
            Self::ChannelStateChange(e) => Some(&e.channel),
            Self::ChannelDialplan(e) => Some(&e.channel),
            Self::ChannelCallerId(e) => Some(&e.channel),
            Self::ChannelConnectedLine(e) => Some(&e.channel),
            Self::ChannelVarset(e) => e.channel.as_ref(),
            Self::ChannelHold(e) => Some(&e.channel),
            Self::ChannelUnhold(e) => Some(&e.channel),
            Self::ChannelUserevent(e) => e.channel.as_ref(),
            Self::ChannelEnteredBridge(e) => e.channel.as_ref(),
            Self::ChannelLeftBridge(e) => Some(&e.channel),
            Self::ChannelDtmfReceived(e) => Some(&e.channel),
            Self::ChannelTalkingStarted(e) => Some(&e.channel),
            Self::ChannelTalkingFinished(e) => Some(&e.channel),
            Self::Dial(e) => Some(&e.peer),
            _ => None,
        }
    }

    /// The id of [`Event::channel`].
    pub fn channel_id(&self) -> Option<&ChannelId> {
        self.channel().map(|c| &c.id)
    }

    /// The bridge the event is about, if any.
    pub fn bridge(&self) -> Option<&Bridge> {
        match self {
            Self::BridgeCreated(e) => Some(&e.bridge),
            Self::BridgeDestroyed(e) => Some(&e.bridge),
            Self::BridgeMerged(e) => Some(&e.bridge),
            Self::ChannelEnteredBridge(e) => Some(&e.bridge),
            Self::ChannelLeftBridge(e) => Some(&e.bridge),
            Self::ChannelUserevent(e) => e.bridge.as_ref(),
            _ => None,
        }
    }
}
