//! Which use case each ARI event is for, decided once, without I/O.
//!
//! [`classify`] reads the event and what the router holds (through
//! [`Holdings`]) and names one [`Route`]; the router then acts on it. The
//! order of the checks is the order of precedence: a party of a handed-over
//! call, an outbound call still ringing out, a transfer leg, then the calls a
//! session runs (and new inbound calls).

use crate::{
    application::{
        own_ids::{OwnChannel, is_far_half, is_own_channel},
        session::{InboundCall, SessionCommand, TransferLegEvent},
    },
    domain::{CallId, Did},
};
use ari::{ChannelId, Event, events::DialStatus};

/// What the router holds, as far as classifying an event needs to know.
pub(super) trait Holdings {
    /// Whether a session runs for this caller channel.
    fn holds(&self, caller: &ChannelId) -> bool;
    /// The caller channel of a call a session runs.
    fn caller_of(&self, call: &CallId) -> Option<&ChannelId>;
    /// Whether this (base) channel is an outbound call not answered yet.
    fn ringing_out(&self, channel: &ChannelId) -> bool;
    /// Whether this channel is a party of a handed-over call being watched.
    fn handed_over(&self, channel: &ChannelId) -> bool;
}

/// The use case an ARI event is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Route {
    /// Nothing to do: not about anything held, or not an event that matters.
    Ignore,
    /// A new inbound call: admit it and start its session.
    Start(Box<InboundCall>),
    /// A call that cannot be taken (bad or missing DID argument): hang it up.
    Refuse {
        /// The caller's channel.
        channel: ChannelId,
        /// Why.
        reason: String,
    },
    /// Tell a running session (its caller, its media channel or its transfer leg spoke).
    Forward {
        /// The session's caller channel.
        channel: ChannelId,
        /// What to tell it.
        command: SessionCommand,
    },
    /// An outbound call not answered yet moved on.
    Outbound {
        /// The call's channel (`vg-o-{call id}`, never the `;2` half).
        channel: ChannelId,
        /// How.
        progress: Progress,
    },
    /// A party of a call handed to a person by an earlier run left: end the call.
    HandedOverLeft(ChannelId),
}

/// How an outbound call not answered yet moved on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Progress {
    /// A `Dial` status of its channel (either half).
    Dial(DialStatus),
    /// Its channel went to state `Ringing`.
    Ringing,
    /// It answered: the channel entered Stasis.
    Answered {
        /// The channel's name, for the session.
        channel_name: String,
    },
    /// Its channel is gone, with the `ChannelDestroyed` cause.
    Gone {
        /// Q.850 cause.
        cause: i32,
    },
    /// Asterisk refused the originate request itself (not an event: the
    /// originate's HTTP answer).
    OriginateRefused {
        /// What Asterisk said.
        error: String,
    },
}

/// The use case `event` is for, given what the router holds.
pub(super) fn classify(event: &Event, held: &impl Holdings) -> Route {
    let own = event
        .channel_id()
        .and_then(|id| Some((id, OwnChannel::parse(id)?)));
    if let Some(channel) = handed_over_party_left(event, held) {
        return Route::HandedOverLeft(channel);
    }
    match own {
        Some((id, OwnChannel::Outbound(call))) => {
            let base = OwnChannel::Outbound(call).id();
            if held.ringing_out(&base) {
                return outbound(event, id, base);
            }
        }
        Some((id, OwnChannel::TransferLeg(call))) => return transfer_leg(event, id, &call, held),
        _ => {}
    }
    session_event(event, held)
}

/// A watched party of a handed-over call left (its Stasis or its channel ended).
fn handed_over_party_left(event: &Event, held: &impl Holdings) -> Option<ChannelId> {
    let channel = match event {
        Event::StasisEnd(_) | Event::ChannelDestroyed(_) => event.channel_id()?,
        _ => return None,
    };
    held.handed_over(channel).then(|| channel.clone())
}

/// An event of an outbound call still ringing out; `base` is its channel,
/// `id` the event's (possibly the `;2` half).
fn outbound(event: &Event, id: &ChannelId, base: ChannelId) -> Route {
    let progress = match event {
        Event::Dial(d) => Progress::Dial(d.dialstatus.clone()),
        Event::ChannelStateChange(c) if c.channel.state.as_str() == "Ringing" && base == *id => {
            Progress::Ringing
        }
        Event::StasisStart(s) if base == *id => Progress::Answered {
            channel_name: s.channel.name.clone(),
        },
        Event::ChannelDestroyed(d) if base == *id => Progress::Gone { cause: d.cause.0 },
        _ => return Route::Ignore,
    };
    Route::Outbound {
        channel: base,
        progress,
    }
}

/// An event of an attended transfer's leg (`vg-h-{call id}`), for its call's
/// session. The far half of a Local channel (`;2`): its `Dial` events count,
/// its own start and end do not.
fn transfer_leg(event: &Event, id: &ChannelId, call: &CallId, held: &impl Holdings) -> Route {
    let far_half = is_far_half(id);
    let leg = match event {
        Event::Dial(d) => TransferLegEvent::Dial(d.dialstatus.clone()),
        Event::StasisStart(_) if !far_half => TransferLegEvent::Answered,
        Event::ChannelDestroyed(d) if !far_half => TransferLegEvent::Gone { cause: d.cause.0 },
        _ => return Route::Ignore,
    };
    match held.caller_of(call) {
        Some(caller) => Route::Forward {
            channel: caller.clone(),
            command: SessionCommand::TransferLeg(leg),
        },
        // The call ended before its leg did.
        None => Route::Ignore,
    }
}

/// New inbound calls, and the events of the caller and media channels of the
/// calls a session runs.
fn session_event(event: &Event, held: &impl Holdings) -> Route {
    let forward = |channel: &ChannelId, command| {
        if held.holds(channel) {
            Route::Forward {
                channel: channel.clone(),
                command,
            }
        } else {
            Route::Ignore
        }
    };
    match event {
        Event::StasisStart(e) => {
            let channel = &e.channel.id;
            // The call's externalMedia channel: Asterisk raises its
            // `StasisStart` after answering the request that created it
            // (mostly), and only then may it join the bridge.
            if let Some(OwnChannel::Media(call)) = OwnChannel::parse(channel) {
                return match held.caller_of(&call) {
                    Some(caller) => forward(caller, SessionCommand::MediaChannelReady),
                    None => Route::Ignore,
                };
            }
            if held.holds(channel) || is_own_channel(channel) {
                return Route::Ignore;
            }
            // Inbound calls carry the dialled number as the first argument
            // (`Stasis(app,${EXTEN})`).
            let channel = channel.clone();
            match e.args.first().map(|a| Did::parse(a)) {
                Some(Ok(did)) => Route::Start(Box::new(InboundCall {
                    caller: channel,
                    channel_name: e.channel.name.clone(),
                    did,
                    caller_number: e.channel.caller.number.clone(),
                    outbound: None,
                })),
                Some(Err(err)) => Route::Refuse {
                    channel,
                    reason: err.to_string(),
                },
                None => Route::Refuse {
                    channel,
                    reason: "StasisStart without a DID argument".into(),
                },
            }
        }
        Event::ChannelDtmfReceived(e) => match e.digit.chars().next() {
            Some(digit) => forward(&e.channel.id, SessionCommand::Dtmf(digit)),
            None => Route::Ignore,
        },
        // A dialplan-entered channel sends nothing after StasisEnd, so it is the end.
        Event::StasisEnd(e) => forward(&e.channel.id, SessionCommand::CallerGone),
        Event::ChannelDestroyed(e) => forward(&e.channel.id, SessionCommand::CallerGone),
        // The only playback on a caller's channel is the unknown-DID message.
        Event::PlaybackFinished(e) => match e.playback.target_uri.strip_prefix("channel:") {
            Some(channel) => forward(&ChannelId::new(channel), SessionCommand::PlaybackFinished),
            None => Route::Ignore,
        },
        _ => Route::Ignore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ari::decode_event;
    use serde_json::{Value, json};
    use std::collections::{HashMap, HashSet};

    /// What a router holds, without sessions.
    #[derive(Default)]
    struct Held {
        callers: HashMap<CallId, ChannelId>,
        ringing_out: HashSet<ChannelId>,
        handed_over: HashSet<ChannelId>,
    }

    impl Holdings for Held {
        fn holds(&self, caller: &ChannelId) -> bool {
            self.callers.values().any(|c| c == caller)
        }
        fn caller_of(&self, call: &CallId) -> Option<&ChannelId> {
            self.callers.get(call)
        }
        fn ringing_out(&self, channel: &ChannelId) -> bool {
            self.ringing_out.contains(channel)
        }
        fn handed_over(&self, channel: &ChannelId) -> bool {
            self.handed_over.contains(channel)
        }
    }

    fn id(s: &str) -> ChannelId {
        ChannelId::new(s)
    }

    fn call(s: &str) -> CallId {
        CallId::parse(s).unwrap()
    }

    /// Nothing held.
    fn empty() -> Held {
        Held::default()
    }

    /// An inbound call (`c1`, call `call-1`) and an answered outbound call
    /// (`vg-o-call-2`) with sessions.
    fn talking() -> Held {
        let mut h = Held::default();
        h.callers.insert(call("call-1"), id("c1"));
        h.callers.insert(call("call-2"), id("vg-o-call-2"));
        h
    }

    /// An outbound call ringing out (`vg-o-call-3`).
    fn ringing_out() -> Held {
        let mut h = Held::default();
        h.ringing_out.insert(id("vg-o-call-3"));
        h
    }

    /// A call handed over by an earlier run: caller `c7`, person `vg-h-call-7`.
    fn handed_over() -> Held {
        let mut h = Held::default();
        h.handed_over.insert(id("c7"));
        h.handed_over.insert(id("vg-h-call-7"));
        h
    }

    fn channel_json(id: &str, state: &str) -> Value {
        json!({"id": id, "name": "PJSIP/trunk-1", "state": state, "protocol_id": "",
            "caller": {"name": "", "number": "+15557654321"}, "connected": {"name": "", "number": ""},
            "accountcode": "", "dialplan": {"context": "from-trunk", "exten": "+15551234567", "priority": 2,
            "app_name": "Stasis", "app_data": ""}, "creationtime": "2026-11-21T06:03:28.100+0000", "language": "en"})
    }

    fn decode(mut v: Value, extra: Value) -> Event {
        let common =
            json!({"application": "voice-gateway", "timestamp": "2026-11-21T06:03:28.135+0000"});
        let o = v.as_object_mut().unwrap();
        o.extend(common.as_object().unwrap().clone());
        o.extend(extra.as_object().unwrap().clone());
        decode_event(&v.to_string()).unwrap()
    }

    fn on_channel(t: &str, channel: &str, extra: Value) -> Event {
        decode(
            json!({"type": t, "channel": channel_json(channel, "Up")}),
            extra,
        )
    }

    fn stasis_start(channel: &str, args: &[&str]) -> Event {
        on_channel("StasisStart", channel, json!({"args": args}))
    }

    fn stasis_end(channel: &str) -> Event {
        on_channel("StasisEnd", channel, json!({}))
    }

    fn destroyed(channel: &str, cause: i32) -> Event {
        on_channel(
            "ChannelDestroyed",
            channel,
            json!({"cause": cause, "cause_txt": "Normal Clearing"}),
        )
    }

    fn dtmf(channel: &str, digit: &str) -> Event {
        on_channel(
            "ChannelDtmfReceived",
            channel,
            json!({"digit": digit, "duration_ms": 100}),
        )
    }

    fn state_change(channel: &str, state: &str) -> Event {
        decode(
            json!({"type": "ChannelStateChange", "channel": channel_json(channel, state)}),
            json!({}),
        )
    }

    fn dial(peer: &str, status: &str) -> Event {
        decode(
            json!({"type": "Dial", "peer": channel_json(peer, "Down"), "dialstatus": status,
                "dialstring": "trunk/+15557654321"}),
            json!({}),
        )
    }

    fn playback_finished(target: &str) -> Event {
        decode(
            json!({"type": "PlaybackFinished", "playback": {"id": "p1",
                "media_uri": "sound:ss-noservice", "target_uri": target, "language": "en",
                "state": "done"}}),
            json!({}),
        )
    }

    fn forward(channel: &str, command: SessionCommand) -> Route {
        Route::Forward {
            channel: id(channel),
            command,
        }
    }

    fn outbound(progress: Progress) -> Route {
        Route::Outbound {
            channel: id("vg-o-call-3"),
            progress,
        }
    }

    fn leg(event: TransferLegEvent) -> Route {
        forward("c1", SessionCommand::TransferLeg(event))
    }

    #[test]
    fn every_event_kind_goes_to_its_use_case() {
        use SessionCommand as C;
        let start = Route::Start(Box::new(InboundCall {
            caller: id("c9"),
            channel_name: "PJSIP/trunk-1".into(),
            did: Did::parse("+15551234567").unwrap(),
            caller_number: "+15557654321".into(),
            outbound: None,
        }));
        let answered = Progress::Answered {
            channel_name: "PJSIP/trunk-1".into(),
        };
        #[rustfmt::skip]
        let table: Vec<(&str, Held, Event, Route)> = vec![
            // New inbound calls.
            ("a DID starts a call", empty(), stasis_start("c9", &["+15551234567"]), start),
            ("a held channel does not start twice", talking(), stasis_start("c1", &["+15551234567"]), Route::Ignore),
            ("a bad DID is refused", empty(), stasis_start("c9", &["+1555;x"]),
                Route::Refuse { channel: id("c9"), reason: Did::parse("+1555;x").unwrap_err().to_string() }),
            ("no DID is refused", empty(), stasis_start("c9", &[]),
                Route::Refuse { channel: id("c9"), reason: "StasisStart without a DID argument".into() }),
            ("our own channels are never calls", empty(), stasis_start("vg-x-call-1", &["+15551234567"]), Route::Ignore),
            // The media channel.
            ("a media channel goes to its call", talking(), stasis_start("vg-m-call-1", &[]), forward("c1", C::MediaChannelReady)),
            ("a media channel of no call", empty(), stasis_start("vg-m-call-1", &[]), Route::Ignore),
            // Caller channels of running sessions.
            ("a digit", talking(), dtmf("c1", "5"), forward("c1", C::Dtmf('5'))),
            ("a digit of nobody held", empty(), dtmf("c1", "5"), Route::Ignore),
            ("an empty digit", talking(), dtmf("c1", ""), Route::Ignore),
            ("the caller's Stasis ends", talking(), stasis_end("c1"), forward("c1", C::CallerGone)),
            ("the caller's channel is gone", talking(), destroyed("c1", 16), forward("c1", C::CallerGone)),
            ("a hangup of nobody held", talking(), stasis_end("zz"), Route::Ignore),
            ("an answered outbound call's digit", talking(), dtmf("vg-o-call-2", "1"), forward("vg-o-call-2", C::Dtmf('1'))),
            ("an answered outbound call hangs up", talking(), destroyed("vg-o-call-2", 16), forward("vg-o-call-2", C::CallerGone)),
            ("an answered outbound call's start again", talking(), stasis_start("vg-o-call-2", &[]), Route::Ignore),
            ("a playback on a caller", talking(), playback_finished("channel:c1"), forward("c1", C::PlaybackFinished)),
            ("a playback on a bridge", talking(), playback_finished("bridge:b1"), Route::Ignore),
            ("a playback on nobody held", talking(), playback_finished("channel:zz"), Route::Ignore),
            ("an event nobody routes", talking(), state_change("c1", "Up"), Route::Ignore),
            // Outbound calls ringing out.
            ("a dial status", ringing_out(), dial("vg-o-call-3", "RINGING"), outbound(Progress::Dial(DialStatus::Ringing))),
            ("a dial status of the far half", ringing_out(), dial("vg-o-call-3;2", "BUSY"), outbound(Progress::Dial(DialStatus::Busy))),
            ("its channel rings", ringing_out(), state_change("vg-o-call-3", "Ringing"), outbound(Progress::Ringing)),
            ("the far half rings", ringing_out(), state_change("vg-o-call-3;2", "Ringing"), Route::Ignore),
            ("another state", ringing_out(), state_change("vg-o-call-3", "Up"), Route::Ignore),
            ("it answers", ringing_out(), stasis_start("vg-o-call-3", &["outbound", "call-3"]), outbound(answered)),
            ("the far half enters Stasis", ringing_out(), stasis_start("vg-o-call-3;2", &[]), Route::Ignore),
            ("it is gone", ringing_out(), destroyed("vg-o-call-3", 17), outbound(Progress::Gone { cause: 17 })),
            ("the far half is gone", ringing_out(), destroyed("vg-o-call-3;2", 16), Route::Ignore),
            ("a digit while ringing out", ringing_out(), dtmf("vg-o-call-3", "1"), Route::Ignore),
            ("an outbound call not placed here", empty(), destroyed("vg-o-call-3", 17), Route::Ignore),
            // Transfer legs.
            ("a leg's dial status", talking(), dial("vg-h-call-1;2", "RINGING"), leg(TransferLegEvent::Dial(DialStatus::Ringing))),
            ("the person answers", talking(), stasis_start("vg-h-call-1", &[]), leg(TransferLegEvent::Answered)),
            ("the far half of the leg enters Stasis", talking(), stasis_start("vg-h-call-1;2", &[]), Route::Ignore),
            ("the leg is gone", talking(), destroyed("vg-h-call-1", 21), leg(TransferLegEvent::Gone { cause: 21 })),
            ("the far half of the leg is gone", talking(), destroyed("vg-h-call-1;2", 16), Route::Ignore),
            ("a leg's digit", talking(), dtmf("vg-h-call-1", "1"), Route::Ignore),
            ("a leg whose call ended", empty(), stasis_start("vg-h-call-1", &[]), Route::Ignore),
            // Calls handed over by an earlier run.
            ("a handed-over caller leaves", handed_over(), stasis_end("c7"), Route::HandedOverLeft(id("c7"))),
            ("a handed-over person is gone", handed_over(), destroyed("vg-h-call-7", 16), Route::HandedOverLeft(id("vg-h-call-7"))),
            ("a handed-over caller's digit", handed_over(), dtmf("c7", "1"), Route::Ignore),
            ("a handed-over person's start", handed_over(), stasis_start("vg-h-call-7", &[]), Route::Ignore),
        ];
        for (name, held, event, want) in table {
            assert_eq!(classify(&event, &held), want, "{name}");
        }
    }
}
