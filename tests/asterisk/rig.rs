//! One real Asterisk and one gateway on it, for one test at a time.

use crate::{
    gateway::{Gateway, GatewayConfig},
    proxy::Relay,
};
use std::{
    sync::{Mutex, MutexGuard},
    time::Duration,
};
use vg_testkit::{AsteriskOptions, AsteriskServer, wait_until};

/// Tests take turns: each carries real-time audio, and two cores shared by
/// two calls' worth of Asterisk, gateway and recordings would time neither.
static TURN: Mutex<()> = Mutex::new(());

pub(crate) struct Rig {
    // Fields drop in order: the gateway stops before Asterisk does.
    pub(crate) gw: Gateway,
    /// Between the gateway and Asterisk's HTTP port, when the test asked.
    pub(crate) relay: Option<Relay>,
    pub(crate) ast: AsteriskServer,
    _turn: MutexGuard<'static, ()>,
}

/// What a test needs beyond the defaults.
#[derive(Debug, Clone, Default)]
pub(crate) struct Setup {
    /// Dialplan appended to the harness's (contexts for transfers, callees).
    pub(crate) extensions: String,
    pub(crate) gateway: GatewayConfig,
    /// Put a [`Relay`] between the gateway and ARI (to cut its connections).
    pub(crate) relay: bool,
    /// Enable Asterisk's manager on loopback and give it to the gateway as
    /// its `[ami]` fallback.
    pub(crate) ami: bool,
}

/// Which externalMedia transport the gateway asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Media {
    /// UnicastRTP, µ-law (the default).
    Rtp,
    /// AudioSocket over TCP, slin16.
    AudioSocket,
    /// chan_websocket's media WebSocket, slin16.
    WebSocket,
}

impl Media {
    /// The technology of Asterisk's externalMedia channel for it.
    pub(crate) fn channel_prefix(self) -> &'static str {
        match self {
            Media::Rtp => "UnicastRTP/",
            Media::AudioSocket => "AudioSocket/",
            Media::WebSocket => "WebSocket/",
        }
    }
}

impl Setup {
    /// The same, with the gateway on `media`.
    pub(crate) fn over(mut self, media: Media) -> Setup {
        let transport = match media {
            Media::Rtp => None,
            Media::AudioSocket => Some("audiosocket"),
            Media::WebSocket => Some("websocket"),
        };
        if let Some(transport) = transport {
            let env = [("TRANSPORT", transport), ("FORMAT", "slin16")];
            self.gateway.env.extend(
                env.iter()
                    .map(|(k, v)| (format!("VOICEGW__MEDIA__{k}"), (*v).to_owned())),
            );
        }
        self
    }
}

impl Rig {
    /// Asserts the call's externalMedia channel is of `media`'s technology.
    pub(crate) fn assert_media_channel(&self, media: Media) {
        let names = || -> Vec<String> {
            self.ast
                .ari_get("/channels")
                .ok()
                .and_then(|c| c.as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|c| c["name"].as_str().map(str::to_owned))
                .collect()
        };
        let mut seen = Vec::new();
        let found = wait_until(Duration::from_secs(10), || {
            seen = names();
            seen.iter().any(|n| n.starts_with(media.channel_prefix()))
        });
        assert!(found, "no {media:?} channel on Asterisk: {seen:?}");
    }

    pub(crate) fn start() -> Rig {
        Self::start_with(Setup::default())
    }

    pub(crate) fn start_with(setup: Setup) -> Rig {
        // A test that failed while holding the turn poisons it; the next may go on.
        let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        let ast = AsteriskServer::start_with(AsteriskOptions {
            extensions: setup.extensions.clone(),
            ami: setup.ami,
            ..AsteriskOptions::default()
        })
        .expect("a real Asterisk starts (../shared/asterisk/build.sh)");
        let mut gateway = setup.gateway.clone();
        let relay = setup.relay.then(|| {
            let relay = Relay::start(([127, 0, 0, 1], ast.http_port()).into());
            gateway.env.push(("VOICEGW__ARI__URL".into(), relay.url()));
            relay
        });
        if let Some(port) = ast.ami_port() {
            gateway.env.extend([
                (
                    "VOICEGW__AMI__URL".into(),
                    format!("tcp://127.0.0.1:{port}"),
                ),
                ("VOICEGW__AMI__USERNAME".into(), ast.ari_user().to_owned()),
                ("VOICEGW__AMI__SECRET".into(), ast.ari_password().to_owned()),
            ]);
        }
        let gw = Gateway::start(&ast, &gateway);
        Rig {
            gw,
            relay,
            ast,
            _turn: turn,
        }
    }

    /// Asterisk holds no channel and no bridge any more (the gateway cleaned up).
    pub(crate) fn assert_asterisk_empty(&self) {
        let mut last = (Vec::new(), Vec::new());
        let empty = wait_until(Duration::from_secs(10), || {
            last = (
                self.ast.channels().unwrap_or_default(),
                self.ast.bridges().unwrap_or_default(),
            );
            last.0.is_empty() && last.1.is_empty()
        });
        assert!(
            empty,
            "left on Asterisk: channels {:?}, bridges {:?}",
            last.0, last.1
        );
    }

    /// The end of every test: Asterisk is empty and the log is clean.
    pub(crate) fn finish(self) {
        self.assert_asterisk_empty();
        self.gw.assert_clean_log();
    }
}
