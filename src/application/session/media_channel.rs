//! The call's media path on Asterisk, as setup builds it and a takeover
//! builds it again: the media leg here, the externalMedia channel toward
//! it, and that channel in the call's bridge.

use super::{
    SessionCommand,
    machine::Input,
    run::{Held, Session, read_clock},
};
use crate::application::ports::{
    media::{MediaCommand, MediaRequest, Transport},
    speech::SttSampleRate,
    telephony::{AudioTransport, TelephonyError, WireFormat},
};
use ari::{BridgeId, ChannelId};
use tokio::time::Instant;

impl Session {
    /// Opens the media leg with the route's transport and format (else the
    /// instance's); its events and commands become the session's. Returns
    /// the transport, the format and where Asterisk must send.
    pub(super) async fn open_leg(
        &mut self,
    ) -> Result<(Transport, WireFormat, AudioTransport), String> {
        let cfg = self.deps.config.clone();
        let (transport, format) = self
            .core
            .route()
            .map_or((cfg.transport, cfg.wire_format), |r| {
                r.media(cfg.transport, cfg.wire_format)
            });
        // The recogniser hears the wire's rate unless it asks for another.
        let stt_rate = self
            .stt_provider
            .sample_rate(SttSampleRate::of(format.rate()));
        let leg = self
            .deps
            .media
            .open(MediaRequest {
                call: self.call_id.clone(),
                transport,
                format,
                stt_rate: stt_rate.hz(),
            })
            .await
            .map_err(|e| format!("media: {e}"))?;
        self.leg_events = Some(leg.events);
        self.wire_format = Some(format);
        self.stt_rate = stt_rate;
        self.res.leg = Some(leg.commands);
        self.listen();
        Ok((transport, format, leg.attach))
    }

    /// Creates the externalMedia `channel` toward the leg. Returns whether
    /// the leg must latch onto Asterisk's first packet (Asterisk did not say
    /// where it sends from).
    ///
    /// A request Asterisk did not answer in time is not one it refused: a
    /// loaded Asterisk creates the channel all the same, late (seen at load
    /// average 41, while a standby re-attached 50 calls: every such call
    /// ended). So that is not an error here: the channel's `StasisStart`,
    /// which [`Session::bridge_media`] waits for next, says whether it came,
    /// and as its address went with the lost answer, the leg latches onto
    /// its first packet. A WebSocket channel's connection id went too: that
    /// transport cannot go on.
    pub(super) async fn create_media_channel(
        &mut self,
        channel: &ChannelId,
        attach: &AudioTransport,
        format: WireFormat,
    ) -> Result<bool, String> {
        self.res.media_channel = Some(channel.clone());
        let asked = self
            .deps
            .telephony
            .external_media(channel, attach, format)
            .await;
        let created = match asked {
            Ok(created) => created,
            Err(TelephonyError::Unavailable(e)) if !matches!(attach, AudioTransport::WebSocket) => {
                tracing::warn!(
                    %channel, error = %e,
                    "externalMedia unanswered in time: waiting for the channel to enter Stasis"
                );
                return Ok(true);
            }
            Err(e) => return Err(format!("externalMedia: {e}")),
        };
        if let Some(command) = created.leg_command() {
            self.leg_send(command);
        }
        Ok(created.asterisk_rtp.is_none())
    }

    /// Puts the media `channel` into `bridge` once it is in Stasis; with
    /// `latch`, the latch window opens then (Asterisk sends nothing before).
    pub(super) async fn bridge_media(
        &mut self,
        bridge: &BridgeId,
        channel: &ChannelId,
        latch: bool,
    ) -> Result<(), String> {
        self.wait_media_channel(channel).await?;
        self.deps
            .telephony
            .add_to_bridge(bridge, channel)
            .await
            .map_err(|e| format!("bridge media: {e}"))?;
        if latch {
            self.leg_send(MediaCommand::Latch);
        }
        Ok(())
    }

    /// Waits for the externalMedia channel's `StasisStart`. Asterisk answers
    /// `POST /channels/externalMedia` first and puts the channel into Stasis a
    /// moment later; bridging it before then is refused (422 "Channel not in
    /// Stasis application"). Commands that arrive meanwhile are kept for the
    /// loop; a caller who hangs up ends the wait.
    pub(super) async fn wait_media_channel(
        &mut self,
        channel: &ari::ChannelId,
    ) -> Result<(), String> {
        let limit = self.deps.config.media_channel_timeout;
        let deadline = Instant::from_std(read_clock().at) + limit;
        loop {
            let command = match tokio::time::timeout_at(deadline, self.commands.recv()).await {
                Ok(Some(c)) => c,
                Ok(None) => return Err("the call's command channel closed".into()),
                Err(_) => {
                    return Err(format!(
                        "externalMedia channel {channel} did not enter Stasis within {} ms",
                        limit.as_millis()
                    ));
                }
            };
            match command {
                SessionCommand::MediaChannelReady => return Ok(()),
                SessionCommand::CallerGone
                | SessionCommand::ChannelLost
                | SessionCommand::Hangup(_) => {
                    self.now = read_clock();
                    self.feed(Input::Command(command));
                    return Err("the call ended during setup".into());
                }
                other => self.held.push_back(Held::Command(other)),
            }
        }
    }
}
