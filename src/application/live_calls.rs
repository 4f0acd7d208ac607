//! The calls this instance holds, kept in step with Asterisk's events and
//! reconciled against what Asterisk reports after every events-socket connect.
//!
//! Events raised while the socket was down are lost for good (fixture 10), so
//! the snapshot taken after a reconnect is the only way to learn that a call
//! ended meanwhile: a held call whose channel Asterisk no longer has is ended
//! with [`EndReason::ChannelLost`]. A call whose channel is still there goes on
//! untouched, media included. The per-call session of the conversation work
//! will hang off each entry; until then an entry is the call's lifecycle and
//! its admission permit, so a drain waits for these calls.

use super::admission::{AdmissionError, CallAdmission, CallPermit};
use crate::domain::{
    Did,
    call::{Call, CallInput, Direction, EndReason},
    events::EventType,
};
use ari::{ChannelId, Event};
use std::{collections::HashMap, time::SystemTime};

/// A call held by this instance.
#[derive(Debug)]
pub struct LiveCall {
    /// Its lifecycle.
    pub call: Call,
    /// The DID it came in on.
    pub did: Option<Did>,
    _permit: CallPermit,
}

/// What a fed event or a reconcile did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A call was taken on.
    Started {
        /// The caller's channel.
        channel: ChannelId,
        /// Catalog events to publish.
        events: Vec<EventType>,
    },
    /// A call was refused (draining) or not understood.
    Refused {
        /// The caller's channel.
        channel: ChannelId,
        /// Why.
        reason: String,
    },
    /// A call ended and was released.
    Ended {
        /// The caller's channel.
        channel: ChannelId,
        /// Why it ended.
        reason: EndReason,
        /// Catalog events to publish.
        events: Vec<EventType>,
    },
}

/// The registry of live calls, keyed by the caller's channel.
#[derive(Debug, Default)]
pub struct LiveCalls {
    calls: HashMap<ChannelId, LiveCall>,
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

    /// The call on a channel, if held.
    pub fn get(&self, channel: &ChannelId) -> Option<&LiveCall> {
        self.calls.get(channel)
    }

    /// Feeds one ARI event. Returns what changed, if anything.
    pub fn on_event(
        &mut self,
        event: &Event,
        admission: &CallAdmission,
        now: SystemTime,
    ) -> Option<Change> {
        match event {
            Event::StasisStart(e) => {
                let channel = e.channel.id.clone();
                if self.calls.contains_key(&channel) {
                    return None; // a re-entry after a transfer back into Stasis
                }
                // Inbound calls carry the dialled number as the first argument
                // (`Stasis(app,${EXTEN})`); anything else is not a call we take here.
                let did = match e.args.first().map(|a| Did::parse(a)) {
                    Some(Ok(did)) => did,
                    Some(Err(err)) => {
                        return Some(Change::Refused {
                            channel,
                            reason: err.to_string(),
                        });
                    }
                    None => {
                        return Some(Change::Refused {
                            channel,
                            reason: "StasisStart without a DID argument".into(),
                        });
                    }
                };
                let permit = match admission.try_admit() {
                    Ok(p) => p,
                    Err(AdmissionError::Draining) => {
                        return Some(Change::Refused {
                            channel,
                            reason: AdmissionError::Draining.to_string(),
                        });
                    }
                };
                let mut call = Call::new(Direction::Inbound, now);
                let events = call
                    .apply(CallInput::InboundArrived, now)
                    .expect("Created accepts InboundArrived");
                self.calls.insert(
                    channel.clone(),
                    LiveCall {
                        call,
                        did: Some(did),
                        _permit: permit,
                    },
                );
                Some(Change::Started { channel, events })
            }
            // A dialplan-entered channel sends nothing after StasisEnd, so it is the end.
            Event::StasisEnd(e) => self.end(&e.channel.id, EndReason::CallerHangup, now),
            Event::ChannelDestroyed(e) => self.end(&e.channel.id, EndReason::CallerHangup, now),
            _ => None,
        }
    }

    /// Ends every held call whose channel is not among `present` (the channel ids
    /// Asterisk listed after a reconnect).
    pub fn reconcile<'a>(
        &mut self,
        present: impl IntoIterator<Item = &'a ChannelId>,
        now: SystemTime,
    ) -> Vec<Change> {
        let present: std::collections::HashSet<&ChannelId> = present.into_iter().collect();
        let vanished: Vec<ChannelId> = self
            .calls
            .keys()
            .filter(|c| !present.contains(c))
            .cloned()
            .collect();
        vanished
            .into_iter()
            .filter_map(|c| self.end(&c, EndReason::ChannelLost, now))
            .collect()
    }

    fn end(&mut self, channel: &ChannelId, reason: EndReason, now: SystemTime) -> Option<Change> {
        let mut live = self.calls.remove(channel)?;
        let events = live
            .call
            .apply(CallInput::End(reason.clone()), now)
            .unwrap_or_default();
        Some(Change::Ended {
            channel: channel.clone(),
            reason,
            events,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ari::decode_event;

    fn stasis_start(channel: &str, args: &str) -> Event {
        decode_event(&format!(
            r#"{{"type":"StasisStart","application":"voice-gateway","timestamp":"2026-11-21T06:03:28.135+0000",
            "args":{args},"channel":{{"id":"{channel}","name":"PJSIP/trunk-1","state":"Ring","protocol_id":"",
            "caller":{{"name":"","number":"+15557654321"}},"connected":{{"name":"","number":""}},"accountcode":"",
            "dialplan":{{"context":"from-trunk","exten":"+15551234567","priority":2,"app_name":"Stasis","app_data":""}},
            "creationtime":"2026-11-21T06:03:28.100+0000","language":"en"}}}}"#
        ))
        .unwrap()
    }

    fn stasis_end(channel: &str) -> Event {
        let Event::StasisStart(s) = stasis_start(channel, "[]") else {
            unreachable!()
        };
        decode_event(
            &serde_json::json!({"type":"StasisEnd","application":"voice-gateway",
                "timestamp":"2026-11-21T06:03:29.000+0000","channel": s.channel})
            .to_string(),
        )
        .unwrap()
    }

    fn id(s: &str) -> ChannelId {
        ChannelId::new(s)
    }

    #[test]
    fn tracks_calls_from_stasis_start_to_end_and_holds_a_permit() {
        let (mut calls, adm, now) = (
            LiveCalls::default(),
            CallAdmission::default(),
            SystemTime::UNIX_EPOCH,
        );
        let change = calls
            .on_event(&stasis_start("c1", r#"["+15551234567"]"#), &adm, now)
            .unwrap();
        assert_eq!(
            change,
            Change::Started {
                channel: id("c1"),
                events: vec![EventType::CallStarted]
            }
        );
        assert_eq!(
            calls.get(&id("c1")).unwrap().did.as_ref().unwrap().as_str(),
            "+15551234567"
        );
        assert_eq!(adm.live_calls(), 1);
        assert_eq!(
            calls.on_event(&stasis_start("c1", r#"["+15551234567"]"#), &adm, now),
            None,
            "no double entry"
        );

        let change = calls.on_event(&stasis_end("c1"), &adm, now).unwrap();
        assert!(matches!(
            change,
            Change::Ended {
                reason: EndReason::CallerHangup,
                ..
            }
        ));
        assert_eq!(adm.live_calls(), 0, "permit released with the call");
        assert_eq!(
            calls.on_event(&stasis_end("c1"), &adm, now),
            None,
            "ends once"
        );
    }

    #[test]
    fn refuses_bad_dids_and_calls_while_draining() {
        let (mut calls, adm, now) = (
            LiveCalls::default(),
            CallAdmission::default(),
            SystemTime::UNIX_EPOCH,
        );
        let c = calls
            .on_event(&stasis_start("c1", r#"["+1555;x"]"#), &adm, now)
            .unwrap();
        assert!(
            matches!(c, Change::Refused { ref reason, .. } if reason.contains("';'")),
            "{c:?}"
        );
        let c = calls
            .on_event(&stasis_start("c2", "[]"), &adm, now)
            .unwrap();
        assert!(matches!(c, Change::Refused { .. }));
        adm.begin_drain();
        let c = calls
            .on_event(&stasis_start("c3", r#"["100"]"#), &adm, now)
            .unwrap();
        assert!(matches!(c, Change::Refused { ref reason, .. } if reason.contains("draining")));
        assert!(calls.is_empty());
    }

    #[test]
    fn reconcile_ends_only_calls_whose_channel_vanished() {
        let (mut calls, adm, now) = (
            LiveCalls::default(),
            CallAdmission::default(),
            SystemTime::UNIX_EPOCH,
        );
        for c in ["a", "b", "c"] {
            calls.on_event(&stasis_start(c, r#"["100"]"#), &adm, now);
        }
        let present = [id("b"), id("zzz")];
        let mut ended: Vec<_> = calls
            .reconcile(&present, now)
            .into_iter()
            .map(|c| match c {
                Change::Ended {
                    channel,
                    reason: EndReason::ChannelLost,
                    events,
                } => {
                    assert_eq!(events, [EventType::CallEnded]);
                    channel
                }
                other => panic!("{other:?}"),
            })
            .collect();
        ended.sort();
        assert_eq!(ended, [id("a"), id("c")]);
        assert_eq!(calls.len(), 1);
        assert!(calls.get(&id("b")).is_some());
        assert_eq!(adm.live_calls(), 1);
    }
}
