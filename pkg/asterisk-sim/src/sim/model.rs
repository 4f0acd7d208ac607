//! The resources Asterisk keeps (channels, bridges, playbacks, Stasis apps) and their ARI JSON.
//!
//! JSON is built by hand with the exact keys the fixtures show; there are deliberately no shared
//! types with `pkg/ari`, so that the fidelity tests compare two independent readings of Asterisk.

use std::collections::{HashMap, VecDeque};

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::handle::SimCallId;
use crate::media::record::MediaFormat;

/// `dialplan` of a channel.
#[derive(Clone, Debug)]
pub(crate) struct Dialplan {
    pub(crate) context: String,
    pub(crate) exten: String,
    pub(crate) priority: i64,
    pub(crate) app_name: String,
    pub(crate) app_data: String,
}

impl Dialplan {
    /// What an ARI-originated (or externalMedia) channel shows before it enters Stasis.
    pub(crate) fn outgoing(context: &str, exten: &str) -> Self {
        Self {
            context: context.into(),
            exten: exten.into(),
            priority: 1,
            app_name: "AppDial2".into(),
            app_data: "(Outgoing Line)".into(),
        }
    }
}

/// How the channel came to be: decides whether its app still hears about it after StasisEnd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Entered Stasis from the dialplan (an inbound call): unsubscribed at StasisEnd, so no
    /// `ChannelDestroyed` ever reaches the app (fixtures 01, 09, 13).
    Dialplan,
    /// Created over ARI (originate, externalMedia): events continue until `ChannelDestroyed`.
    Ari,
}

/// The media side of an externalMedia channel.
#[derive(Clone, Debug)]
pub(crate) enum MediaKind {
    /// UnicastRTP over UDP.
    Rtp,
    /// AudioSocket over TCP; the writer half lives in the media engine.
    AudioSocket {
        dtmf: mpsc::UnboundedSender<Vec<u8>>,
    },
    /// chan_websocket in server mode; `conn` is the `MEDIA_WEBSOCKET_CONNECTION_ID`.
    WebSocket { conn: String },
}

/// What kind of channel this is, for the event sequences that differ per technology.
#[derive(Clone, Debug)]
pub(crate) enum ChanKind {
    /// `;1` half of an ARI-originated Local channel; `peer` is the `;2` half.
    Local1 { peer: String },
    /// `;2` half (the far end running the dialplan of the destination).
    Local2,
    /// The Stasis channel of a simulated inbound call (a Local `;2` or a SIP channel).
    Inbound { sip: bool },
    /// A single channel to a trunk (PJSIP/SIP originate).
    Trunk,
    /// externalMedia.
    Media {
        kind: MediaKind,
        format: MediaFormat,
    },
    /// A channel outside Stasis (like the CLI `channel originate ... application Wait` of 05).
    Outside,
}

/// One channel.
#[derive(Clone, Debug)]
pub(crate) struct Channel {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) state: &'static str,
    pub(crate) protocol_id: String,
    pub(crate) caller: (String, String),
    pub(crate) connected: (String, String),
    pub(crate) dialplan: Dialplan,
    pub(crate) creationtime: String,
    pub(crate) vars: HashMap<String, String>,
    /// Shown only in the externalMedia POST response (`channelvars`).
    pub(crate) channelvars: Option<Value>,
    /// The app that receives this channel's events, if any.
    pub(crate) app: Option<String>,
    pub(crate) in_stasis: bool,
    pub(crate) origin: Origin,
    pub(crate) kind: ChanKind,
    pub(crate) bridge: Option<String>,
    pub(crate) call: Option<SimCallId>,
    /// TALK_DETECT silence threshold in ms, once `TALK_DETECT(set)` was written.
    pub(crate) talk_detect: Option<u64>,
    /// Playback ids on this channel: the front one is playing, the rest are queued.
    pub(crate) playbacks: VecDeque<String>,
    /// Args given to Stasis (StasisStart `args`).
    pub(crate) args: Vec<String>,
}

impl Channel {
    pub(crate) fn json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "protocol_id": self.protocol_id,
            "caller": {"name": self.caller.0, "number": self.caller.1},
            "connected": {"name": self.connected.0, "number": self.connected.1},
            "accountcode": "",
            "dialplan": {
                "context": self.dialplan.context,
                "exten": self.dialplan.exten,
                "priority": self.dialplan.priority,
                "app_name": self.dialplan.app_name,
                "app_data": self.dialplan.app_data,
            },
            "creationtime": self.creationtime,
            "language": "en",
        })
    }

    /// The JSON of the externalMedia POST response: the channel plus `channelvars`.
    pub(crate) fn json_with_vars(&self) -> Value {
        let mut v = self.json();
        if let (Some(cv), Some(obj)) = (&self.channelvars, v.as_object_mut()) {
            obj.insert("channelvars".into(), cv.clone());
        }
        v
    }
}

/// One bridge.
#[derive(Clone, Debug)]
pub(crate) struct Bridge {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) bridge_type: String,
    pub(crate) channels: Vec<String>,
    pub(crate) creationtime: String,
    pub(crate) app: Option<String>,
    pub(crate) playbacks: VecDeque<String>,
    /// Counter for the hidden `Announcer/ARI-…` channel a bridge playback creates.
    pub(crate) announcer: Option<String>,
}

impl Bridge {
    /// Two members mix with `simple_bridge`, three or more with `softmix` (fixture 08).
    pub(crate) fn technology(&self) -> &'static str {
        if self.channels.len() >= 3 {
            "softmix"
        } else {
            "simple_bridge"
        }
    }

    pub(crate) fn json(&self) -> Value {
        json!({
            "id": self.id,
            "technology": self.technology(),
            "bridge_type": self.bridge_type,
            "bridge_class": "stasis",
            "creator": "Stasis",
            "name": self.name,
            "channels": self.channels,
            "creationtime": self.creationtime,
            "video_mode": "talker",
        })
    }
}

/// Playback states as ARI names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PbState {
    Queued,
    Playing,
    Paused,
    Continuing,
    Done,
    Failed,
}

impl PbState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Playing => "playing",
            Self::Paused => "paused",
            Self::Continuing => "continuing",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

/// One playback (possibly a media list).
#[derive(Clone, Debug)]
pub(crate) struct Playback {
    pub(crate) id: String,
    pub(crate) media: Vec<String>,
    pub(crate) index: usize,
    pub(crate) target_uri: String,
    pub(crate) language: String,
    pub(crate) state: PbState,
    pub(crate) app: Option<String>,
    /// Bumped on every timer-affecting change so stale timers do nothing.
    pub(crate) generation: u64,
    /// Time left of the current item when paused.
    pub(crate) remaining: std::time::Duration,
    pub(crate) item_started: tokio::time::Instant,
}

impl Playback {
    pub(crate) fn json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "media_uri": self.media.get(self.index).cloned().unwrap_or_default(),
            "target_uri": self.target_uri,
            "language": self.language,
            "state": self.state.as_str(),
        });
        if let (Some(next), Some(obj)) = (self.media.get(self.index + 1), v.as_object_mut()) {
            obj.insert("next_media_uri".into(), Value::String(next.clone()));
        }
        v
    }
}

/// A message for one events-socket task.
#[derive(Debug)]
pub(crate) enum WsOut {
    /// A serialized event.
    Text(String),
    /// Close the TCP connection without a close frame (client sees 1006).
    Abort,
}

/// A Stasis application registration.
#[derive(Debug, Default)]
pub(crate) struct App {
    /// The socket that currently owns the app; others were replaced and stay silent.
    pub(crate) active: Option<(u64, mpsc::UnboundedSender<WsOut>)>,
    /// Replaced sockets, still open (so `restart` can drop them too).
    pub(crate) replaced: Vec<(u64, mpsc::UnboundedSender<WsOut>)>,
    pub(crate) subscribe_all: bool,
}
