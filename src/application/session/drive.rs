//! The driver's effects on the providers and on Asterisk. An effect with a
//! result feeds it back to the core before the next effect is taken.

use super::{
    machine::{Effect, Input},
    run::{Session, read_clock},
};
use crate::application::ports::{
    speech::{SttConfig, TtsConfig, TtsOutput},
    telephony::{HangupCause, WireFormat},
};

/// What the synthesiser is asked for: linear PCM at the leg's wire rate,
/// so the provider resamples (every provider adapter maps it to a format
/// it offers) rather than the leg, fifty times a second per call (24 kHz
/// down to 8 kHz was 6 % of the gateway's CPU at 2,000 calls). Before the
/// leg is open, the voice's own.
fn tts_output(wire: Option<WireFormat>) -> TtsOutput {
    match wire {
        Some(f) => TtsOutput::Linear16 {
            sample_rate: f.rate(),
        },
        None => TtsOutput::Native,
    }
}

impl Session {
    pub(super) async fn execute_speech(&mut self, effect: Effect) {
        match effect {
            Effect::OpenStt => {
                let opened = self.open_stt().await;
                // The opening took time (a provider's handshake, a busy
                // machine): what follows is timed from now, not from the
                // input that asked for it.
                self.now = read_clock();
                match opened {
                    Ok(()) => self.feed(Input::SttOpened),
                    Err(e) => self.feed(Input::SttOpenFailed(e)),
                }
            }
            Effect::FinishStt => {
                if self.stt.as_mut().is_none_or(|s| s.finish().is_err()) {
                    self.feed(Input::SttFinishFailed);
                }
            }
            Effect::CloseStt => {
                if let Some(mut s) = self.stt.take() {
                    s.cancel();
                    self.listen();
                }
            }
            Effect::OpenTts { language } => {
                let cfg = TtsConfig {
                    voice: None,
                    language,
                    output: tts_output(self.wire_format),
                };
                let tts = self.tts_provider.clone();
                let opened = tts.open(cfg).await;
                // The first-byte deadline of the text sent next counts from
                // now: an opening that took seconds must not have spent it.
                self.now = read_clock();
                match opened {
                    Ok(s) => {
                        self.tts = Some(s);
                        self.feed(Input::TtsOpened);
                    }
                    Err(e) => self.feed(Input::TtsFailed(e.to_string())),
                }
            }
            Effect::SpeakText(text) => {
                let sent = match &mut self.tts {
                    Some(tts) => tts.send_text(text).map(|_| ()).map_err(|e| e.to_string()),
                    None => Err("no synthesis open".to_owned()),
                };
                if let Err(e) = sent {
                    self.feed(Input::TtsFailed(e));
                }
            }
            Effect::FinishTts => {
                if let Some(tts) = &mut self.tts {
                    let _ = tts.finish();
                }
            }
            Effect::CloseTts => {
                if let Some(mut tts) = self.tts.take() {
                    tts.cancel();
                }
            }
            Effect::SendTurn(turn) => {
                self.reply = self
                    .conversation
                    .as_ref()
                    .map(|c| self.deps.orchestrator.send_turn(c, turn));
            }
            Effect::DropReply => self.reply = None,
            other => unreachable!("not a speech effect: {other:?}"),
        }
    }

    pub(super) async fn execute_telephony(&mut self, effect: Effect) {
        let telephony = self.deps.telephony.clone();
        match effect {
            // Told beside the loop: an orchestrator slow to answer (up to its
            // timeout) must not hold up the call's audio and events.
            Effect::TellTransfer(target) => {
                if let Some(conv) = self.conversation.clone() {
                    let orchestrator = self.deps.orchestrator.clone();
                    let back = self.own_commands.clone();
                    let telling = async move {
                        match orchestrator.transfer(&conv, &target).await {
                            // The orchestrator may hand the call to another agent.
                            Ok(()) => super::agent::look_up(orchestrator, conv, back).await,
                            Err(e) => {
                                tracing::warn!(error = %e, "orchestrator not told of the transfer")
                            }
                        }
                    };
                    // In the call's span: its request is in the call's trace.
                    tokio::spawn(tracing::Instrument::in_current_span(telling));
                }
            }
            Effect::SendDtmf(digits) => {
                if let Err(e) = telephony.send_dtmf(&self.inbound.caller, &digits).await {
                    tracing::warn!(error = %e, "sending DTMF failed");
                }
            }
            Effect::Continue(target) => {
                let context = &self.deps.config.transfer_context;
                let result = telephony
                    .continue_in_dialplan(&self.inbound.caller, context, target.as_str())
                    .await;
                self.feed(Input::Continued(result.map_err(|e| e.to_string())));
            }
            Effect::Originate(request) => {
                self.res.human = Some(request.channel_id.clone());
                if let Err(e) = telephony.originate(&request).await {
                    self.res.human = None;
                    self.feed(Input::OriginateFailed(e.to_string()));
                }
            }
            Effect::HangUpPerson => {
                if let Some(ch) = self.res.human.take() {
                    let _ = telephony.hangup(&ch, HangupCause::Normal).await;
                }
            }
            Effect::JoinPerson => {
                let joined = match (&self.res.bridge, &self.res.human) {
                    (Some(bridge), Some(human)) => telephony
                        .add_to_bridge(bridge, human)
                        .await
                        .map_err(|e| e.to_string()),
                    _ => Err("no bridge or person leg".to_owned()),
                };
                self.feed(Input::PersonJoined(joined));
            }
            Effect::LeaveMedia => {
                self.leave_media();
                if let Some(m) = self.res.media_channel.take()
                    && let Err(e) = telephony.hangup(&m, HangupCause::Normal).await
                {
                    tracing::debug!(error = %e, "media channel already gone at the handover");
                }
            }
            Effect::ForgetCaller => self.res.caller = None,
            Effect::ForgetPerson => self.res.human = None,
            Effect::LeaveBridged => self.res.leave_bridged(),
            Effect::Release { hang_up_caller } => {
                self.res.release(telephony.as_ref(), hang_up_caller).await
            }
            other => unreachable!("not a telephony effect: {other:?}"),
        }
    }

    /// Opens (or reopens) the recogniser; the error says why it cannot.
    pub(super) async fn open_stt(&mut self) -> Result<(), String> {
        let language = self
            .core
            .route()
            .map_or("en-US".to_owned(), |r| r.language.clone());
        let stt = self.stt_provider.clone();
        let session = stt
            .open(SttConfig::new(language, self.stt_rate))
            .await
            .map_err(|e| e.to_string())?;
        self.stt = Some(session);
        self.listen();
        Ok(())
    }
}
