//! Call control from the API: requests travel to the router's task, so the
//! router stays the only owner of the calls; reads go to the call store.

use super::CallRouter;
use crate::application::ports::Cause;
use crate::{
    application::{
        ports::{
            calls::{
                CallControl, CallSummary, ControlError, ListFilter, OriginateCall, Page,
                TransferMode,
            },
            history::{CallHistory, CallRecord},
            orchestrator::BoxFuture,
            store::CallStore,
            telephony::HangupCause,
        },
        session::SessionCommand,
    },
    domain::{CallId, DtmfDigits, SayText, TenantId, TransferTarget, call::EndReason},
};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

type Reply<T> = oneshot::Sender<Result<T, ControlError>>;

/// A request for the router's task.
#[derive(Debug)]
pub enum ControlRequest {
    /// Place a call.
    Originate(OriginateCall, Reply<CallSummary>),
    /// Tell a call's session something.
    Command {
        /// Whose call.
        tenant: TenantId,
        /// Which.
        call: CallId,
        /// What.
        command: SessionCommand,
        /// Done or why not.
        reply: Reply<()>,
    },
}

impl ControlRequest {
    /// Answers the request with `error` without acting on it.
    pub fn refuse(self, error: ControlError) {
        // The asker may have given up: nobody to tell then.
        match self {
            Self::Originate(_, reply) => drop(reply.send(Err(error))),
            Self::Command { reply, .. } => drop(reply.send(Err(error))),
        }
    }
}

/// The longest an API request waits for the router.
const ROUTER_ANSWER: std::time::Duration = std::time::Duration::from_secs(10);

/// The API's way in: implements [`CallControl`].
#[derive(Clone)]
pub struct RouterHandle {
    tx: mpsc::Sender<ControlRequest>,
    store: Arc<dyn CallStore>,
    history: Arc<dyn CallHistory>,
}

impl std::fmt::Debug for RouterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RouterHandle")
    }
}

impl RouterHandle {
    /// A handle and the receiver the router's task must drain into
    /// [`CallRouter::on_control`]. A call the store no longer holds is
    /// looked up in `history`.
    pub fn new(
        store: Arc<dyn CallStore>,
        history: Arc<dyn CallHistory>,
    ) -> (Self, mpsc::Receiver<ControlRequest>) {
        let (tx, rx) = mpsc::channel(256);
        (Self { tx, store, history }, rx)
    }

    /// The ended call's summary from its stored record, if `tenant`'s.
    async fn recorded(
        &self,
        tenant: &TenantId,
        call: &CallId,
    ) -> Result<CallSummary, ControlError> {
        let record = self
            .history
            .find(call)
            .await
            .map_err(|e| ControlError::Unavailable(Cause::new(e)))?;
        // Another tenant's call is as absent as one that never was.
        record
            .filter(|r| &r.tenant == tenant)
            .map(summary)
            .ok_or(ControlError::NotFound)
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> ControlRequest,
    ) -> Result<T, ControlError> {
        let (reply, rx) = oneshot::channel();
        let asked = async {
            self.tx
                .send(make(reply))
                .await
                .map_err(|_| ControlError::Draining)?;
            rx.await
                .map_err(|_| ControlError::Unavailable(Cause::msg("the call router stopped")))?
        };
        // A router that cannot answer must not hold API clients forever.
        tokio::time::timeout(ROUTER_ANSWER, asked)
            .await
            .unwrap_or_else(|_| {
                Err(ControlError::Unavailable(Cause::msg(format!(
                    "the call router did not answer within {ROUTER_ANSWER:?}"
                ))))
            })
    }

    async fn command(
        &self,
        tenant: &TenantId,
        call: &CallId,
        command: SessionCommand,
    ) -> Result<(), ControlError> {
        let (tenant, call) = (tenant.clone(), call.clone());
        self.ask(|reply| ControlRequest::Command {
            tenant,
            call,
            command,
            reply,
        })
        .await
    }
}

impl CallControl for RouterHandle {
    fn originate(
        &self,
        request: OriginateCall,
    ) -> BoxFuture<'_, Result<CallSummary, ControlError>> {
        Box::pin(self.ask(|reply| ControlRequest::Originate(request, reply)))
    }

    fn get<'a>(
        &'a self,
        tenant: &'a TenantId,
        call: &'a CallId,
    ) -> BoxFuture<'a, Result<CallSummary, ControlError>> {
        Box::pin(async move {
            let held = self
                .store
                .get(tenant, call)
                .await
                .map_err(|e| ControlError::Unavailable(Cause::new(e)))?;
            match held {
                Some(c) => Ok(c),
                None => self.recorded(tenant, call).await,
            }
        })
    }

    fn list<'a>(
        &'a self,
        tenant: &'a TenantId,
        filter: ListFilter,
    ) -> BoxFuture<'a, Result<Page, ControlError>> {
        Box::pin(async move {
            self.store
                .list(tenant, &filter)
                .await
                .map_err(|e| ControlError::Unavailable(Cause::new(e)))
        })
    }

    fn hangup<'a>(
        &'a self,
        tenant: &'a TenantId,
        call: &'a CallId,
    ) -> BoxFuture<'a, Result<(), ControlError>> {
        Box::pin(self.command(tenant, call, SessionCommand::Hangup(EndReason::AgentHangup)))
    }

    fn transfer<'a>(
        &'a self,
        tenant: &'a TenantId,
        call: &'a CallId,
        target: TransferTarget,
        mode: TransferMode,
    ) -> BoxFuture<'a, Result<(), ControlError>> {
        Box::pin(self.command(tenant, call, SessionCommand::Transfer { target, mode }))
    }

    fn say<'a>(
        &'a self,
        tenant: &'a TenantId,
        call: &'a CallId,
        text: SayText,
        _interrupt: bool,
    ) -> BoxFuture<'a, Result<(), ControlError>> {
        Box::pin(self.command(tenant, call, SessionCommand::Say(text)))
    }

    fn dtmf<'a>(
        &'a self,
        tenant: &'a TenantId,
        call: &'a CallId,
        digits: DtmfDigits,
    ) -> BoxFuture<'a, Result<(), ControlError>> {
        Box::pin(self.command(tenant, call, SessionCommand::SendDtmf(digits)))
    }
}

/// What a call record tells of a call: no agent, metadata or machine
/// detection (the record does not keep them).
fn summary(r: CallRecord) -> CallSummary {
    CallSummary {
        end_reason: Some(r.outcome()),
        call_id: r.call_id,
        tenant_id: r.tenant,
        direction: r.direction,
        state: "ended".into(),
        from: r.from,
        to: r.to,
        agent_id: None,
        agent_version: None,
        created_at: r.started_at,
        answered_at: r.answered_at,
        ended_at: Some(r.ended_at),
        metadata: Default::default(),
        answered_by: None,
        resume: None,
    }
}

impl CallRouter {
    /// Handles one API request.
    pub async fn on_control(&mut self, request: ControlRequest) {
        match request {
            ControlRequest::Originate(req, reply) => {
                let _ = reply.send(self.originate(req).await);
            }
            ControlRequest::Command {
                tenant,
                call,
                command,
                reply,
            } => {
                let _ = reply.send(self.command(&tenant, &call, command).await);
            }
        }
    }

    async fn command(
        &mut self,
        tenant: &TenantId,
        call: &CallId,
        command: SessionCommand,
    ) -> Result<(), ControlError> {
        // The record proves the tenant owns the call; another tenant's call is "not found".
        let record = self
            .deps
            .store
            .get(tenant, call)
            .await
            .map_err(|e| ControlError::Unavailable(Cause::new(e)))?;
        let record = record.ok_or(ControlError::NotFound)?;
        self.check_transfer(tenant, &command)?;
        if record.state == "transferring" && matches!(command, SessionCommand::Transfer { .. }) {
            return Err(ControlError::Conflict(
                "a transfer of this call is already in progress".into(),
            ));
        }
        if record.ended_at.is_some() {
            return Err(ControlError::Conflict("the call has ended".into()));
        }
        if let Some(h) = self.calls.handles().find(|h| &h.call_id == call) {
            return h
                .commands
                .try_send(command)
                .map_err(|e| ControlError::Unavailable(Cause::msg(e.to_string())));
        }
        // Still ringing out: only a hangup makes sense.
        let pending = self
            .pending
            .iter()
            .find(|(_, p)| p.call_id() == call)
            .map(|(c, _)| c.clone());
        match (pending, command) {
            (Some(channel), SessionCommand::Hangup(_)) => {
                let t = self.deps.telephony.clone();
                tokio::spawn(async move {
                    let _ = t.hangup(&channel, HangupCause::Normal).await;
                });
                Ok(())
            }
            (Some(_), _) => Err(ControlError::Conflict(
                "the call has not been answered yet".into(),
            )),
            (None, _) => Err(ControlError::NotFound),
        }
    }
}
