//! The simulated far parties: inbound callers entering Stasis from the dialplan (fixtures 01,
//! 13) and what any party can do once connected: talk, press digits, hang up.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::channels::HangupBy;
use super::model::{ChanKind, Channel, Dialplan, MediaKind, Origin};
use super::originate::parse_caller_id;
use super::{CallInfo, Sim, State};
use crate::handle::SimCallId;
use crate::util::timestamp;

impl State {
    /// A call arriving from outside: the dialplan runs `Stasis(app, DID)` on an unanswered
    /// channel (state `Ring`, `args: [DID]`). `sip` picks a chan_sip caller (fixture 13) over the
    /// Local channel of fixture 01.
    pub(crate) fn place_inbound(
        &mut self,
        app: &str,
        did: &str,
        caller_id: &str,
        sip: bool,
    ) -> SimCallId {
        let call = SimCallId(self.next_call);
        self.next_call += 1;
        let id = self.new_channel_id();
        let seq = self.next_name_seq();
        let (name, number) = parse_caller_id(caller_id);
        let (chan_name, context, priority, protocol_id) = if sip {
            (
                format!(
                    "SIP/{}-{seq}",
                    if number.is_empty() { "caller" } else { &number }
                ),
                "to-stasis",
                2,
                format!("{}@127.0.0.1", crate::util::uuid4()),
            )
        } else {
            (
                format!("Local/{did}@fx-in-{seq};2"),
                "fx-in",
                3,
                String::new(),
            )
        };
        let ch = Channel {
            id: id.clone(),
            name: chan_name,
            state: "Ring",
            protocol_id,
            caller: (name, number),
            connected: Default::default(),
            dialplan: Dialplan {
                context: context.into(),
                exten: did.into(),
                priority,
                app_name: "Stasis".into(),
                app_data: format!("{app},{did}"),
            },
            creationtime: timestamp(),
            vars: HashMap::new(),
            channelvars: None,
            app: None,
            in_stasis: false,
            origin: Origin::Dialplan,
            kind: ChanKind::Inbound { sip },
            bridge: None,
            call: Some(call),
            talk_detect: None,
            playbacks: Default::default(),
            args: vec![],
        };
        let registered = self.app_registered(app);
        self.calls.insert(
            call,
            CallInfo {
                channel: id.clone(),
                media_channels: vec![],
                ended: !registered,
            },
        );
        if registered {
            self.channels.insert(id.clone(), ch);
            self.stasis_start(&id, app, vec![did.to_string()]);
        }
        // Otherwise "Stasis app … doesn't exist": STASISSTATUS=FAILED, no ARI event anywhere.
        call
    }

    fn call_channel(&self, call: SimCallId) -> Option<String> {
        let c = self.calls.get(&call)?;
        (!c.ended && self.channels.contains_key(&c.channel)).then(|| c.channel.clone())
    }

    /// The party hangs up by itself (fixture 09): Local far end or SIP BYE.
    pub(crate) fn caller_hangup(&mut self, sim: &Arc<Sim>, call: SimCallId) -> bool {
        let Some(id) = self.call_channel(call) else {
            return false;
        };
        let by = match self.channels.get(&id).map(|c| &c.kind) {
            Some(ChanKind::Inbound { sip: true }) => HangupBy::SipBye,
            _ => HangupBy::LocalFarEnd,
        };
        self.hangup(sim, &id, by);
        true
    }

    /// Media channels sharing the party's bridge: where its voice goes.
    fn listeners(&self, id: &str) -> Vec<(String, ChanKind)> {
        let Some(b) = self
            .channels
            .get(id)
            .and_then(|c| c.bridge.as_ref())
            .and_then(|b| self.bridges.get(b))
        else {
            return vec![];
        };
        b.channels
            .iter()
            .filter(|m| *m != id)
            .filter_map(|m| self.channels.get(m).map(|c| (m.clone(), c.kind.clone())))
            .filter(|(_, k)| matches!(k, ChanKind::Media { .. }))
            .collect()
    }
}

impl Sim {
    /// Caller audio (8 kHz PCM): queued on every media channel in the caller's bridge, sent
    /// 20 ms at a time; TALK_DETECT events if it was enabled on the caller's channel.
    pub(crate) fn caller_say(self: &Arc<Self>, call: SimCallId, pcm: &[i16]) -> bool {
        let mut st = self.lock();
        let Some(id) = st.call_channel(call) else {
            return false;
        };
        for (m, _) in st.listeners(&id) {
            self.media.push_audio(&m, pcm);
        }
        let Some(threshold) = st.channels.get(&id).and_then(|c| c.talk_detect) else {
            return true;
        };
        st.chan_event(&id, "ChannelTalkingStarted", json!({}));
        if self.cfg.caller_sends_silence {
            // Finished needs frames to keep coming (fixture 07); our caller keeps sending
            // silence, so it fires once the threshold of silence has passed.
            let talk_ms = (pcm.len() as u64) / 8;
            self.after(Duration::from_millis(talk_ms + threshold), move |_, st| {
                st.chan_event(
                    &id,
                    "ChannelTalkingFinished",
                    json!({ "duration": talk_ms }),
                );
            });
        }
        true
    }

    /// Digits pressed by the party: `ChannelDtmfReceived` every 100 ms + `gap` (fixture 02),
    /// and `0x03` frames / `DTMF_END` to AudioSocket / WebSocket listeners, never to RTP.
    pub(crate) fn caller_dtmf(
        self: &Arc<Self>,
        call: SimCallId,
        digits: &str,
        gap: Duration,
    ) -> bool {
        let Some(id) = self.lock().call_channel(call) else {
            return false;
        };
        for (i, d) in digits.chars().enumerate() {
            let at = Duration::from_millis(100) + (Duration::from_millis(100) + gap) * i as u32;
            let id = id.clone();
            self.after(at, move |sim, st| {
                if !st.channels.contains_key(&id) {
                    return;
                }
                st.chan_event(
                    &id,
                    "ChannelDtmfReceived",
                    json!({ "digit": d.to_string(), "duration_ms": 100 }),
                );
                for (m, k) in st.listeners(&id) {
                    send_dtmf_to_media(sim, &m, &k, d);
                }
            });
        }
        true
    }
}

/// DTMF toward a media peer: AudioSocket and WebSocket get it, RTP does not (fixture 02, 12).
pub(crate) fn send_dtmf_to_media(sim: &Sim, id: &str, kind: &ChanKind, d: char) {
    match kind {
        ChanKind::Media {
            kind: MediaKind::AudioSocket { dtmf },
            ..
        } => {
            let _ = dtmf.send(crate::media::audiosocket::frame(0x03, &[d as u8]));
        }
        ChanKind::Media {
            kind: MediaKind::WebSocket { .. },
            ..
        } => {
            sim.media.send_ws_text(id, &format!("DTMF_END digit:{d}"));
        }
        _ => {}
    }
}
