//! Taking an inbound call: route, conversation, media, answer, bridge, greeting.

use super::{
    SessionCommand,
    machine::{Input, StartFailure},
    run::{Held, Session, read_clock},
};
use crate::{
    application::{
        own_ids::{OwnChannel, bridge_id},
        ports::{
            media::{MediaCommand, MediaRequest},
            orchestrator::CreateConversation,
        },
    },
    domain::{
        call::{CallInput, Direction, EndReason},
        events::EventData,
    },
};
use tokio::time::Instant;

impl Session {
    /// Sets the call up. Returns false when the call ended during setup (the
    /// reason is in `self.ending`).
    pub(super) async fn setup(&mut self) -> bool {
        self.res.caller = Some(self.inbound.caller.clone());
        let outbound = self.inbound.outbound.is_some();
        let looked_up = match self.core.route() {
            // Outbound: the API request chose tenant and agent.
            Some(route) => Ok(Some(route.clone())),
            None => self.deps.directory.lookup(&self.inbound.did).await,
        };
        let route = match looked_up {
            Ok(Some(route)) => route,
            Ok(None) => {
                self.unrouted().await;
                return false;
            }
            Err(e) => {
                tracing::error!(error = %e, "tenant directory failed");
                self.end(EndReason::Error(e.to_string()), true);
                return false;
            }
        };
        let (stt_names, tts_names) = self.choose_speech(&route);
        self.trace_tenant(&route.tenant);
        self.core.routed(route.clone(), stt_names, tts_names);
        if !self.claim_share(&route.tenant, route.max_live_calls).await {
            return false;
        }
        // An outbound call was started, and answered, by the router.
        if !outbound {
            self.transition(CallInput::InboundArrived, self.started_data());
        }

        // The agent and the media path are independent: set them up together.
        let orchestrator = self.deps.orchestrator.clone();
        let conversation = orchestrator.create_conversation(CreateConversation {
            call_id: self.call_id.clone(),
            tenant_id: route.tenant.clone(),
            agent_id: route.agent.clone(),
            direction: if outbound {
                Direction::Outbound
            } else {
                Direction::Inbound
            },
            caller: None,
            callee: Some(self.inbound.did.clone()),
            language: route.language.clone(),
            metadata: Default::default(),
        });
        let (conversation, media) = tokio::join!(conversation, self.setup_media());
        if let Err(e) = media {
            self.end(EndReason::Error(e), true);
            return false;
        }
        let greeting = match conversation {
            Ok(c) => {
                self.look_up_agent(&c.conversation_id);
                self.core.conversation_opened(c.conversation_id.as_str());
                self.conversation = Some(c.conversation_id);
                route.greeting.clone().or(c.greeting)
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot create the conversation");
                self.now = read_clock();
                self.core
                    .at(self.now)
                    .cannot_start(StartFailure::Agent(e.to_string()));
                return !self.core.is_ended();
            }
        };
        self.now = read_clock();
        if let Err(e) = self.open_stt().await {
            self.now = read_clock();
            self.core
                .at(self.now)
                .cannot_start(StartFailure::Recogniser(e));
            return !self.core.is_ended();
        }
        self.now = read_clock();
        let screening = self
            .inbound
            .outbound
            .as_ref()
            .and_then(|o| o.detect_machine.clone());
        match screening {
            Some(on_machine) => self.screen(on_machine, greeting).await,
            None => self.core.at(self.now).converse(greeting),
        }
        !self.core.is_ended()
    }

    /// Counts the call against its tenant's share of live calls; past it
    /// the call is refused (see `over_share`) and this is false.
    pub(super) async fn claim_share(
        &mut self,
        tenant: &crate::domain::TenantId,
        limit: Option<u32>,
    ) -> bool {
        match self
            .permit
            .as_mut()
            .map(|p| p.claim_tenant_within(tenant, limit))
        {
            Some(Err(e)) => {
                self.over_share(e).await;
                false
            }
            Some(Ok(())) | None => true,
        }
    }

    /// Answer, media leg, bridge, externalMedia. Errors name the step.
    async fn setup_media(&mut self) -> Result<(), String> {
        let cfg = self.deps.config.clone();
        let (transport, format) = self
            .core
            .route()
            .map_or((cfg.transport, cfg.wire_format), |r| {
                r.media(cfg.transport, cfg.wire_format)
            });
        let leg = self
            .deps
            .media
            .open(MediaRequest {
                call: self.call_id.clone(),
                transport,
                format,
                stt_rate: cfg.stt_rate,
            })
            .await
            .map_err(|e| format!("media: {e}"))?;
        let attach = leg.attach.clone();
        self.leg_events = Some(leg.events);
        self.res.leg = Some(leg.commands);

        let t = self.deps.telephony.clone();
        // An answered outbound call is `Up` and already `Answered`.
        if self.inbound.outbound.is_none() {
            t.answer(&self.inbound.caller)
                .await
                .map_err(|e| format!("answer: {e}"))?;
            let data = self.core.answered_data(transport.as_str());
            self.transition(CallInput::Answered, data);
        }

        // Ids chosen here, so events that beat the HTTP responses still match.
        let bridge = bridge_id(&self.call_id);
        t.create_bridge(&bridge)
            .await
            .map_err(|e| format!("bridge: {e}"))?;
        self.res.bridge = Some(bridge.clone());
        let media_channel = OwnChannel::Media(self.call_id.clone()).id();
        self.res.media_channel = Some(media_channel.clone());
        let created = t
            .external_media(&media_channel, &attach, format)
            .await
            .map_err(|e| format!("externalMedia: {e}"))?;
        if let Some(command) = created.leg_command() {
            self.leg_send(command);
        }
        t.add_to_bridge(&bridge, &self.inbound.caller)
            .await
            .map_err(|e| format!("bridge caller: {e}"))?;
        self.wait_media_channel(&media_channel).await?;
        t.add_to_bridge(&bridge, &media_channel)
            .await
            .map_err(|e| format!("bridge media: {e}"))?;
        if created.asterisk_rtp.is_none() {
            // Asterisk sends nothing before the bridge: the latch window opens now.
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

    pub(super) fn started_data(&self) -> EventData {
        self.core.started_data()
    }

    /// A setup step's transition; its writes go out at once.
    pub(super) fn transition(
        &mut self,
        input: CallInput,
        data: impl Into<Option<EventData>>,
    ) -> bool {
        self.now = read_clock();
        let done = self.core.at(self.now).transition(input, data);
        self.submit_writes();
        done
    }
}
