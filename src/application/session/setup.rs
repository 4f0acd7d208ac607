//! Taking an inbound call: route, conversation, media, answer, bridge, greeting.

use super::{
    machine::StartFailure,
    run::{Session, read_clock},
};
use crate::{
    application::{
        own_ids::{OwnChannel, bridge_id},
        ports::orchestrator::CreateConversation,
    },
    domain::{
        call::{CallInput, Direction, EndReason},
        events::EventData,
    },
};

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
        if !self.take_route(&route).await {
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

    /// The call follows `route`: its speech providers, its tenant in traces,
    /// its share of the tenant's live calls. False when past that share (the
    /// call is refused).
    pub(super) async fn take_route(
        &mut self,
        route: &crate::application::ports::directory::Route,
    ) -> bool {
        let (stt_names, tts_names) = self.choose_speech(route);
        self.trace_tenant(&route.tenant);
        self.core.routed(route.clone(), stt_names, tts_names);
        self.claim_share(&route.tenant, route.max_live_calls).await
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
        let (transport, format, attach) = self.open_leg().await?;
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
        let latch = self
            .create_media_channel(&media_channel, &attach, format)
            .await?;
        t.add_to_bridge(&bridge, &self.inbound.caller)
            .await
            .map_err(|e| format!("bridge caller: {e}"))?;
        self.bridge_media(&bridge, &media_channel, latch).await
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
