//! Fencing: what the lease's role allows, shared with the adapters that act
//! on Asterisk and on the call records.

use crate::application::ports::{
    orchestrator::BoxFuture,
    telephony::{
        AudioTransport, HangupCause, MediaChannel, OriginateRequest, Telephony, TelephonyError,
        WireFormat,
    },
};
use ari::{BridgeId, ChannelId};
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

/// Whether this instance may act now, and the fencing token its writes carry.
///
/// Active means "until a deadline", not a flag: the lease task sets the
/// deadline (half a ttl after its last confirmed renewal was sent) and every
/// check reads the clock. A lease task that is late (a starved process)
/// cannot leave a stale "active" behind: the fence closes on time anyway.
#[derive(Debug)]
pub struct Fence {
    /// What `until` counts from.
    base: Instant,
    /// Nanoseconds after `base` until which this instance may act (0: not active).
    until: AtomicU64,
    /// The last token held (kept while standby: records written then are
    /// refused by the store once a newer holder wrote).
    token: AtomicU64,
}

impl Default for Fence {
    fn default() -> Self {
        Self {
            base: read_clock(),
            until: AtomicU64::new(0),
            token: AtomicU64::new(0),
        }
    }
}

impl Fence {
    /// Active under `token` until `until`.
    pub fn activate(&self, token: u64, until: Instant) {
        let nanos = until.saturating_duration_since(self.base).as_nanos();
        self.token.store(token, Ordering::SeqCst);
        self.until.store(
            u64::try_from(nanos).unwrap_or(u64::MAX).max(1),
            Ordering::SeqCst,
        );
    }

    /// No longer active.
    pub fn deactivate(&self) {
        self.until.store(0, Ordering::SeqCst);
    }

    /// Whether Asterisk may be acted on now.
    pub fn is_active(&self) -> bool {
        let until = self.until.load(Ordering::SeqCst);
        until != 0
            && read_clock().saturating_duration_since(self.base).as_nanos() < u128::from(until)
    }

    /// The fencing token for records (0: never held).
    pub fn token(&self) -> u64 {
        self.token.load(Ordering::SeqCst)
    }
}

/// The fence is checked against the clock, like a driver.
#[allow(clippy::disallowed_methods)]
fn read_clock() -> Instant {
    Instant::now()
}

/// Call control that refuses every request while this instance is not
/// active: a holder that lost its lease never touches a call the new holder
/// may be driving.
pub struct FencedTelephony {
    inner: Arc<dyn Telephony>,
    fence: Arc<Fence>,
}

impl FencedTelephony {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Telephony>, fence: Arc<Fence>) -> Self {
        Self { inner, fence }
    }

    fn check(&self, operation: &str) -> Result<(), TelephonyError> {
        if self.fence.is_active() {
            return Ok(());
        }
        Err(TelephonyError::Refused {
            operation: operation.to_owned(),
            message: "this gateway does not hold the Asterisk's lease (standby or fenced)".into(),
        })
    }
}

/// Runs `$call` on the inner port once the fence allows it.
macro_rules! fenced {
    ($self:ident, $op:literal, $call:expr) => {
        Box::pin(async move {
            $self.check($op)?;
            $call.await
        })
    };
}

impl Telephony for FencedTelephony {
    fn answer<'a>(&'a self, channel: &'a ChannelId) -> BoxFuture<'a, Result<(), TelephonyError>> {
        fenced!(self, "answer", self.inner.answer(channel))
    }
    fn hangup<'a>(
        &'a self,
        channel: &'a ChannelId,
        cause: HangupCause,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        fenced!(self, "hangup", self.inner.hangup(channel, cause))
    }
    fn create_bridge<'a>(
        &'a self,
        bridge: &'a BridgeId,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        fenced!(self, "create_bridge", self.inner.create_bridge(bridge))
    }
    fn destroy_bridge<'a>(
        &'a self,
        bridge: &'a BridgeId,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        fenced!(self, "destroy_bridge", self.inner.destroy_bridge(bridge))
    }
    fn add_to_bridge<'a>(
        &'a self,
        bridge: &'a BridgeId,
        channel: &'a ChannelId,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        fenced!(
            self,
            "add_to_bridge",
            self.inner.add_to_bridge(bridge, channel)
        )
    }
    fn external_media<'a>(
        &'a self,
        channel: &'a ChannelId,
        transport: &'a AudioTransport,
        format: WireFormat,
    ) -> BoxFuture<'a, Result<MediaChannel, TelephonyError>> {
        fenced!(
            self,
            "external_media",
            self.inner.external_media(channel, transport, format)
        )
    }
    fn play<'a>(
        &'a self,
        channel: &'a ChannelId,
        media: &'a str,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        fenced!(self, "play", self.inner.play(channel, media))
    }
    fn redirect<'a>(
        &'a self,
        channel: &'a ChannelId,
        endpoint: &'a str,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        fenced!(self, "redirect", self.inner.redirect(channel, endpoint))
    }
    fn continue_in_dialplan<'a>(
        &'a self,
        channel: &'a ChannelId,
        context: &'a str,
        extension: &'a str,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        fenced!(
            self,
            "continue_in_dialplan",
            self.inner.continue_in_dialplan(channel, context, extension)
        )
    }
    fn originate<'a>(
        &'a self,
        request: &'a OriginateRequest,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        fenced!(self, "originate", self.inner.originate(request))
    }
    fn send_dtmf<'a>(
        &'a self,
        channel: &'a ChannelId,
        digits: &'a str,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        fenced!(self, "send_dtmf", self.inner.send_dtmf(channel, digits))
    }
}
