//! Barge-in: the caller speaks over the agent. The leg flushes what it has
//! not played, and reports how much was heard; the barge-in is complete then.

use super::{
    CallCore, Effect,
    conversation::{BargingIn, Conversation, Piece},
    timers::Timer,
};
use crate::{
    application::ports::media::FlushReport,
    domain::{
        call::CallInput,
        events::{BargeIn, EventData},
        pii,
    },
};
use std::time::{Duration, Instant};

/// How long a barge-in waits for the leg's flush report.
const FLUSH_WAIT: Duration = Duration::from_secs(1);

impl CallCore {
    /// The caller spoke over the agent: stop the audio now and cancel the
    /// rest. The barge-in is complete once the leg reports what it cut.
    pub(super) fn barge_in(&mut self, onset: Instant) {
        // A farewell after a failure is not interrupted: nothing can follow.
        if matches!(&self.conv, Conversation::Responding(s)
            if matches!(s.after, super::conversation::AfterSpeech::Hangup(crate::domain::call::EndReason::Error(_))))
        {
            return;
        }
        let Some(speech) = self.take_speech() else {
            return;
        };
        // Audio not yet in the pacer is cut too: the flush starts a new
        // generation and the leg drops the older one unread.
        self.emit(Effect::Flush);
        self.close_speech(&speech);
        self.timers.clear(Timer::TtsFirstByte);
        self.timers.set(Timer::Flush, self.now.at + FLUSH_WAIT);
        self.conv = Conversation::BargingIn(BargingIn {
            onset,
            pieces: speech.pieces,
        });
    }

    /// The leg reported the barge-in's flush (`None`: it could not): report
    /// the barge-in with what the caller heard, and listen to the caller.
    pub(super) fn barge_in_reported(&mut self, report: Option<FlushReport>) {
        if !matches!(self.conv, Conversation::BargingIn(_)) {
            return;
        }
        let Conversation::BargingIn(b) = std::mem::take(&mut self.conv) else {
            unreachable!("matched above");
        };
        self.timers.clear(Timer::Flush);
        let sent = report.map_or(Duration::ZERO, |r| r.sent);
        let heard = heard_text(&b.pieces, sent);
        let delay_ms = report
            .and_then(|r| r.last_packet_at)
            .map(|last| last.saturating_duration_since(b.onset).as_secs_f64() * 1000.0);
        self.log.barge_ins += 1;
        if let Some(d) = delay_ms {
            self.log.barge_in_delays_ms.push(d);
        }
        let data = EventData::CallBargein(BargeIn {
            heard_text: pii::mask(&heard),
            heard_ms: sent.as_millis() as u64,
            dropped_ms: report.map_or(0, |r| r.dropped.as_millis() as u64),
            delay_ms,
        });
        self.transition(CallInput::BargeIn, data);
        self.history_agent(heard.clone(), true);
        self.close_turn_marks();
        self.interrupted = Some(heard);
        self.listen();
        self.timers.clear(Timer::Silence);
        self.timers.set(Timer::MaxTurn, b.onset + self.cfg.max_turn);
    }
}

/// The part of the spoken pieces that fits in `sent` of audio: whole pieces,
/// then the leading share of words of the piece that was cut.
pub(super) fn heard_text(pieces: &[Piece], sent: Duration) -> String {
    let mut left = sent;
    let mut out: Vec<String> = Vec::new();
    for p in pieces {
        if p.audio.is_zero() {
            break;
        }
        if left >= p.audio {
            out.push(p.text.clone());
            left -= p.audio;
            continue;
        }
        let words: Vec<&str> = p.text.split_whitespace().collect();
        let n = (words.len() as f64 * left.as_secs_f64() / p.audio.as_secs_f64()).floor() as usize;
        if n > 0 {
            out.push(words[..n].join(" "));
        }
        break;
    }
    out.join(" ")
}
