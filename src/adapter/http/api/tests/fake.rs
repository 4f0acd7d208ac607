//! A `CallControl` that records every call and keeps the calls it placed.

use super::T0;
use crate::{
    application::ports::{
        calls::{
            CallControl, CallSummary, ControlError, ListFilter, OriginateCall, Page, TransferMode,
        },
        orchestrator::BoxFuture,
    },
    domain::{AgentId, CallId, DtmfDigits, SayText, TenantId, TransferTarget, call::Direction},
};
use std::{
    sync::Mutex,
    time::{Duration, UNIX_EPOCH},
};

/// Records every port call and keeps the calls it placed.
#[derive(Default)]
pub(crate) struct FakeControl {
    pub(crate) calls: Mutex<Vec<CallSummary>>,
    pub(crate) log: Mutex<Vec<String>>,
    /// The next originate fails with this (as the router would refuse it).
    pub(crate) refuse_next: Mutex<Option<ControlError>>,
    /// Each originate waits for this before it is placed.
    pub(crate) originate_gate: Mutex<Option<std::sync::Arc<tokio::sync::Notify>>>,
}

impl FakeControl {
    pub(crate) fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
    fn record(&self, s: String) {
        self.log.lock().unwrap().push(s);
    }
    fn find(&self, tenant: &TenantId, id: &CallId) -> Result<CallSummary, ControlError> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .find(|c| &c.tenant_id == tenant && &c.call_id == id)
            .cloned()
            .ok_or(ControlError::NotFound)
    }
    /// Moves a call to `state` (e.g. `ended`), as the call router would.
    pub(crate) fn set_state(&self, id: &str, state: &str) {
        for c in self.calls.lock().unwrap().iter_mut() {
            if c.call_id.as_str() == id {
                c.state = state.into();
            }
        }
    }
    /// Adds a call of `tenant` directly (e.g. another tenant's).
    pub(crate) fn insert(&self, tenant: &str, id: &str) {
        self.calls.lock().unwrap().push(summary(
            TenantId::parse(tenant).unwrap(),
            CallId::parse(id).unwrap(),
            "active",
            Default::default(),
        ));
    }
}

fn summary(
    tenant: TenantId,
    id: CallId,
    state: &str,
    metadata: std::collections::BTreeMap<String, String>,
) -> CallSummary {
    CallSummary {
        call_id: id,
        tenant_id: tenant,
        direction: Direction::Outbound,
        state: state.into(),
        from: None,
        to: Some("+15551234567".into()),
        agent_id: Some(AgentId::parse("sales").unwrap()),
        agent_version: None,
        created_at: UNIX_EPOCH + Duration::from_secs(T0),
        answered_at: None,
        ended_at: None,
        end_reason: None,
        metadata,
        answered_by: None,
        resume: None,
    }
}

impl CallControl for FakeControl {
    fn originate(&self, r: OriginateCall) -> BoxFuture<'_, Result<CallSummary, ControlError>> {
        Box::pin(async move {
            let mut line = format!(
                "originate {} {} {} {}s",
                r.tenant,
                r.to,
                r.agent.as_ref().map_or("-", |a| a.as_str()),
                r.ring_timeout.as_secs()
            );
            if let Some(m) = &r.detect_machine {
                line += &format!(" detect_machine={}", m.as_str());
                if let crate::domain::screening::OnMachine::Message(text) = m {
                    line += &format!(" {:?}", text.as_str());
                }
            }
            self.record(line);
            if let Some(e) = self.refuse_next.lock().unwrap().take() {
                return Err(e);
            }
            let gate = self.originate_gate.lock().unwrap().clone();
            if let Some(gate) = gate {
                gate.notified().await;
            }
            let n = self.calls.lock().unwrap().len();
            let mut c = summary(
                r.tenant,
                CallId::parse(format!("call-{n}")).unwrap(),
                "originating",
                r.metadata,
            );
            c.to = Some(r.to.to_string());
            c.from = r.from.map(|f| f.to_string());
            c.agent_id = r.agent;
            self.calls.lock().unwrap().push(c.clone());
            Ok(c)
        })
    }
    fn get<'a>(
        &'a self,
        t: &'a TenantId,
        id: &'a CallId,
    ) -> BoxFuture<'a, Result<CallSummary, ControlError>> {
        Box::pin(async move {
            self.record(format!("get {t} {id}"));
            self.find(t, id)
        })
    }
    fn list<'a>(
        &'a self,
        t: &'a TenantId,
        f: ListFilter,
    ) -> BoxFuture<'a, Result<Page, ControlError>> {
        Box::pin(async move {
            self.record(format!("list {t} {:?} {} {:?}", f.state, f.limit, f.cursor));
            let calls: Vec<_> = self
                .calls
                .lock()
                .unwrap()
                .iter()
                .filter(|c| &c.tenant_id == t)
                .cloned()
                .collect();
            Ok(Page {
                calls,
                next_cursor: None,
            })
        })
    }
    fn hangup<'a>(
        &'a self,
        t: &'a TenantId,
        id: &'a CallId,
    ) -> BoxFuture<'a, Result<(), ControlError>> {
        Box::pin(async move {
            self.record(format!("hangup {t} {id}"));
            self.find(t, id).map(drop)
        })
    }
    fn transfer<'a>(
        &'a self,
        t: &'a TenantId,
        id: &'a CallId,
        target: TransferTarget,
        mode: TransferMode,
    ) -> BoxFuture<'a, Result<(), ControlError>> {
        Box::pin(async move {
            self.record(format!("transfer {t} {id} {target} {mode:?}"));
            self.find(t, id).map(drop)
        })
    }
    fn say<'a>(
        &'a self,
        t: &'a TenantId,
        id: &'a CallId,
        text: SayText,
        interrupt: bool,
    ) -> BoxFuture<'a, Result<(), ControlError>> {
        Box::pin(async move {
            self.record(format!("say {t} {id} {text} {interrupt}"));
            self.find(t, id).map(drop)
        })
    }
    fn dtmf<'a>(
        &'a self,
        t: &'a TenantId,
        id: &'a CallId,
        digits: DtmfDigits,
    ) -> BoxFuture<'a, Result<(), ControlError>> {
        Box::pin(async move {
            self.record(format!("dtmf {t} {id} {digits}"));
            self.find(t, id).map(drop)
        })
    }
}
