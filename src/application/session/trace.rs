//! The call's trace: its span's attributes, its trace id in the logs and in
//! `call.ended`, and each turn's stages as child spans once the turn's
//! figures are known.

use super::run::Session;

impl Session {
    /// Makes `span` the call's: records its trace id (in every log line of
    /// the call, and for `call.ended`) and, for an outbound call, its tenant.
    pub(super) fn trace(&mut self, span: tracing::Span) {
        let trace_id = self.deps.traces.trace_id(&span);
        if let Some(id) = &trace_id {
            span.record("trace_id", id.as_str());
        }
        if let Some(o) = &self.inbound.outbound {
            span.record("tenant.id", o.route.tenant.as_str());
        }
        self.core.set_trace_id(trace_id);
        self.span = span;
    }

    /// The route is known: the call's tenant.
    pub(super) fn trace_tenant(&self, tenant: &crate::domain::TenantId) {
        self.span.record("tenant.id", tenant.as_str());
    }

    /// Hands the stages of the turns the core closed to the trace. Off, the
    /// marks are only dropped.
    pub(super) fn trace_turns(&mut self) {
        while let Some((turn, marks)) = self.core.poll_turn_marks() {
            if !self.deps.traces.enabled() {
                continue;
            }
            for stage in marks.stages(turn, self.now.at, self.now.wall) {
                self.deps.traces.stage(&self.span, stage);
            }
        }
    }
}
