//! The calls this instance holds, keyed by the caller's channel, and what each
//! ARI event means for them.
//!
//! The registry decides; the caller of [`LiveCalls::on_event`] acts (spawns the
//! session, sends it the command), so the decisions are tested without I/O.
//!
//! Events raised while the events socket was down are lost for good (fixture
//! 10), so the snapshot taken after a reconnect is the only way to learn that a
//! call ended meanwhile: a held call whose channel Asterisk no longer has gets
//! [`SessionCommand::ChannelLost`]. A call whose channel is still there goes on
//! untouched, media included.

use super::{
    own_ids::{OwnChannel, is_own_channel},
    session::{InboundCall, SessionCommand, SessionHandle},
};
use crate::domain::{CallId, Did};
use ari::{ChannelId, Event};
use std::collections::{HashMap, HashSet};

/// What an event asks of the caller of [`LiveCalls::on_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A new inbound call: admit it and start its session.
    Start(Box<InboundCall>),
    /// A call that cannot be taken (bad DID argument).
    Refuse {
        /// The caller's channel.
        channel: ChannelId,
        /// Why.
        reason: String,
    },
    /// Tell a running session.
    Forward {
        /// The caller's channel.
        channel: ChannelId,
        /// What to tell it.
        command: SessionCommand,
    },
}

/// Running sessions by caller channel.
#[derive(Debug, Default)]
pub struct LiveCalls {
    calls: HashMap<ChannelId, SessionHandle>,
    /// Caller channel by call id: the gateway's own channels (`vg-m-{call id}`)
    /// name the call, not the caller.
    by_call: HashMap<CallId, ChannelId>,
}

impl LiveCalls {
    /// Number of calls held.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The session of a caller channel.
    pub fn get(&self, channel: &ChannelId) -> Option<&SessionHandle> {
        self.calls.get(channel)
    }

    /// Records a started session.
    pub fn insert(&mut self, channel: ChannelId, handle: SessionHandle) {
        self.by_call.insert(handle.call_id.clone(), channel.clone());
        self.calls.insert(channel, handle);
    }

    /// Forgets a session that has ended.
    pub fn remove(&mut self, channel: &ChannelId) -> Option<SessionHandle> {
        let handle = self.calls.remove(channel)?;
        self.by_call.remove(&handle.call_id);
        Some(handle)
    }

    /// Every held session (for shutdown).
    pub fn handles(&self) -> impl Iterator<Item = &SessionHandle> {
        self.calls.values()
    }

    /// What one ARI event means.
    pub fn on_event(&self, event: &Event) -> Option<Decision> {
        let held = |c: &ChannelId| self.calls.contains_key(c);
        let forward = |channel: &ChannelId, command| {
            held(channel).then(|| Decision::Forward {
                channel: channel.clone(),
                command,
            })
        };
        match event {
            Event::StasisStart(e) => {
                let channel = e.channel.id.clone();
                // The call's externalMedia channel: Asterisk raises its
                // `StasisStart` after answering the request that created it
                // (mostly), and only then may it join the bridge.
                if let Some(OwnChannel::Media(call)) = OwnChannel::parse(&channel) {
                    let caller = self.by_call.get(&call)?;
                    return forward(caller, SessionCommand::MediaChannelReady);
                }
                if held(&channel) || is_own_channel(&channel) {
                    return None;
                }
                // Inbound calls carry the dialled number as the first argument
                // (`Stasis(app,${EXTEN})`).
                Some(match e.args.first().map(|a| Did::parse(a)) {
                    Some(Ok(did)) => Decision::Start(Box::new(InboundCall {
                        caller: channel,
                        channel_name: e.channel.name.clone(),
                        did,
                        caller_number: e.channel.caller.number.clone(),
                        outbound: None,
                    })),
                    Some(Err(err)) => Decision::Refuse {
                        channel,
                        reason: err.to_string(),
                    },
                    None => Decision::Refuse {
                        channel,
                        reason: "StasisStart without a DID argument".into(),
                    },
                })
            }
            Event::ChannelDtmfReceived(e) => {
                let digit = e.digit.chars().next()?;
                forward(&e.channel.id, SessionCommand::Dtmf(digit))
            }
            // A dialplan-entered channel sends nothing after StasisEnd, so it is the end.
            Event::StasisEnd(e) => forward(&e.channel.id, SessionCommand::CallerGone),
            Event::ChannelDestroyed(e) => forward(&e.channel.id, SessionCommand::CallerGone),
            // The only playback on a caller's channel is the unknown-DID message.
            Event::PlaybackFinished(e) => {
                let channel = e.playback.target_uri.strip_prefix("channel:")?;
                forward(&ChannelId::new(channel), SessionCommand::PlaybackFinished)
            }
            _ => None,
        }
    }

    /// Sessions whose caller channel is not among `present` (the channel ids
    /// Asterisk listed after a reconnect): each should get `ChannelLost`.
    pub fn vanished<'a>(&self, present: impl IntoIterator<Item = &'a ChannelId>) -> Vec<ChannelId> {
        let present: HashSet<&ChannelId> = present.into_iter().collect();
        self.calls
            .keys()
            .filter(|c| !present.contains(c))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CallId;
    use ari::decode_event;
    use tokio::sync::mpsc;

    fn channel_json(id: &str) -> serde_json::Value {
        serde_json::json!({"id": id, "name": "PJSIP/trunk-1", "state": "Ring", "protocol_id": "",
            "caller": {"name": "", "number": "+15557654321"}, "connected": {"name": "", "number": ""},
            "accountcode": "", "dialplan": {"context": "from-trunk", "exten": "+15551234567", "priority": 2,
            "app_name": "Stasis", "app_data": ""}, "creationtime": "2026-11-21T06:03:28.100+0000", "language": "en"})
    }

    fn event(t: &str, channel: &str, extra: serde_json::Value) -> Event {
        let mut v = serde_json::json!({"type": t, "application": "voice-gateway",
            "timestamp": "2026-11-21T06:03:28.135+0000", "channel": channel_json(channel)});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        decode_event(&v.to_string()).unwrap()
    }

    fn handle() -> SessionHandle {
        SessionHandle {
            call_id: CallId::parse("c1").unwrap(),
            commands: mpsc::channel(1).0,
        }
    }

    fn id(s: &str) -> ChannelId {
        ChannelId::new(s)
    }

    #[test]
    fn stasis_start_with_a_did_starts_a_call_once() {
        let mut calls = LiveCalls::default();
        let start = event(
            "StasisStart",
            "c1",
            serde_json::json!({"args": ["+15551234567"]}),
        );
        match calls.on_event(&start) {
            Some(Decision::Start(call)) => {
                assert_eq!(call.did.as_str(), "+15551234567");
                assert_eq!(call.caller_number, "+15557654321");
                assert_eq!(call.channel_name, "PJSIP/trunk-1");
            }
            other => panic!("{other:?}"),
        }
        calls.insert(id("c1"), handle());
        assert_eq!(
            calls.on_event(&start),
            None,
            "no second session for the same channel"
        );
    }

    #[test]
    fn own_channels_and_bad_arguments_are_not_calls() {
        let calls = LiveCalls::default();
        let own = event("StasisStart", "vg-m-c1", serde_json::json!({"args": []}));
        assert_eq!(calls.on_event(&own), None);
        let bad = event(
            "StasisStart",
            "c2",
            serde_json::json!({"args": ["+1555;x"]}),
        );
        assert!(
            matches!(calls.on_event(&bad), Some(Decision::Refuse { reason, .. }) if reason.contains("';'"))
        );
        let none = event("StasisStart", "c3", serde_json::json!({"args": []}));
        assert!(matches!(
            calls.on_event(&none),
            Some(Decision::Refuse { .. })
        ));
    }

    #[test]
    fn a_media_channel_entering_stasis_goes_to_its_call() {
        let mut calls = LiveCalls::default();
        calls.insert(id("c1"), handle());
        let ready = event("StasisStart", "vg-m-c1", serde_json::json!({"args": []}));
        assert_eq!(
            calls.on_event(&ready),
            Some(Decision::Forward {
                channel: id("c1"),
                command: SessionCommand::MediaChannelReady
            })
        );
        let unknown = event("StasisStart", "vg-m-c9", serde_json::json!({"args": []}));
        assert_eq!(calls.on_event(&unknown), None);
        calls.remove(&id("c1"));
        assert_eq!(
            calls.on_event(&ready),
            None,
            "a call that ended is forgotten"
        );
    }

    #[test]
    fn dtmf_and_hangups_go_to_the_held_session_only() {
        let mut calls = LiveCalls::default();
        calls.insert(id("c1"), handle());
        let dtmf = event(
            "ChannelDtmfReceived",
            "c1",
            serde_json::json!({"digit": "5", "duration_ms": 100}),
        );
        assert_eq!(
            calls.on_event(&dtmf),
            Some(Decision::Forward {
                channel: id("c1"),
                command: SessionCommand::Dtmf('5')
            })
        );
        let end = event("StasisEnd", "c1", serde_json::json!({}));
        assert_eq!(
            calls.on_event(&end),
            Some(Decision::Forward {
                channel: id("c1"),
                command: SessionCommand::CallerGone
            })
        );
        let other = event("StasisEnd", "zz", serde_json::json!({}));
        assert_eq!(calls.on_event(&other), None);
    }

    #[test]
    fn a_finished_playback_goes_to_the_session_of_its_channel() {
        let mut calls = LiveCalls::default();
        calls.insert(id("c1"), handle());
        let finished = |target: &str| {
            decode_event(
                &serde_json::json!({"type": "PlaybackFinished", "application": "voice-gateway",
                    "timestamp": "2026-11-21T06:03:28.135+0000",
                    "playback": {"id": "p1", "media_uri": "sound:ss-noservice",
                        "target_uri": target, "language": "en", "state": "done"}})
                .to_string(),
            )
            .unwrap()
        };
        assert_eq!(
            calls.on_event(&finished("channel:c1")),
            Some(Decision::Forward {
                channel: id("c1"),
                command: SessionCommand::PlaybackFinished
            })
        );
        assert_eq!(calls.on_event(&finished("bridge:b1")), None);
        assert_eq!(calls.on_event(&finished("channel:zz")), None);
    }

    #[test]
    fn vanished_lists_only_calls_whose_channel_is_gone() {
        let mut calls = LiveCalls::default();
        for c in ["a", "b", "c"] {
            calls.insert(id(c), handle());
        }
        let present = [id("b"), id("zzz")];
        let mut gone = calls.vanished(&present);
        gone.sort();
        assert_eq!(gone, [id("a"), id("c")]);
    }
}
