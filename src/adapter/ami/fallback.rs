//! The telephony port over ARI, with AMI behind it for the operations that
//! must not be lost when ARI's HTTP side is down: hanging up and destroying
//! bridges (the end of every call goes through them), continuing in the
//! dialplan, and originating.
//!
//! The application does not know: this is the same port, composed in wiring.

use super::{AmiClient, AmiError, AmiOriginate};
use crate::adapter::ari::{
    AriClient, AriError,
    telephony::{map, originate_of, reason},
};
use crate::application::ports::{
    Cause,
    orchestrator::BoxFuture,
    telephony::{
        AudioTransport, HangupCause, MediaChannel, OriginateRequest, Telephony, TelephonyError,
        WireFormat,
    },
};
use ari::{BridgeId, ChannelId};
use prometheus_client::metrics::{counter::Counter, family::Family};
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// `action` and `outcome` (`ok`, `failed`).
type Labels = [(&'static str, String); 2];

/// How often AMI stood in for ARI. Cloning shares the counters.
#[derive(Debug, Clone, Default)]
pub struct AmiMetrics {
    fallbacks: Family<Labels, Counter>,
}

impl AmiMetrics {
    /// Registered as `ami_fallback_total` (the gateway's registry adds its prefix).
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "ami_fallback",
            "Telephony actions sent over AMI because ARI's HTTP side failed, by action and outcome",
            m.fallbacks.clone(),
        );
        m
    }

    fn record(&self, action: &'static str, ok: bool) {
        let outcome = if ok { "ok" } else { "failed" };
        self.fallbacks
            .get_or_create(&[
                ("action", action.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
    }

    /// The count for one action and outcome (for tests).
    pub fn count(&self, action: &'static str, ok: bool) -> u64 {
        let outcome = if ok { "ok" } else { "failed" };
        self.fallbacks
            .get_or_create(&[
                ("action", action.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .get()
    }
}

/// ARI first; AMI when ARI could not be reached or failed on its side.
#[derive(Debug, Clone)]
pub struct AriWithAmi {
    ari: Arc<AriClient>,
    ami: AmiClient,
    metrics: AmiMetrics,
}

/// Whether ARI failed in a way AMI might not: no connection, a broken one, no
/// answer in time, or Asterisk's HTTP side answering 5xx. A 4xx is Asterisk's
/// verdict on the request itself and stands.
fn ari_unreachable(e: &AriError) -> bool {
    match e {
        AriError::Timeout { .. } | AriError::Transport { .. } => true,
        other => other.status().is_some_and(|s| s >= 500),
    }
}

/// For an originate, only a failure that proves the request never reached
/// Asterisk: after a timeout or a 5xx the call may be dialling already, and
/// dialling it again over AMI would ring the callee twice.
fn originate_never_sent(e: &AriError) -> bool {
    matches!(e, AriError::Transport { source, .. } if source.is_connect())
}

/// Q.850 cause numbers, as ARI's reasons map them.
fn q850(cause: HangupCause) -> u8 {
    match cause {
        HangupCause::Normal => 16,
        HangupCause::Busy => 17,
        HangupCause::NoAnswer => 19,
        HangupCause::Congestion => 34,
        HangupCause::Failure => 38,
    }
}

fn ami_error(channel: &str, e: AmiError) -> TelephonyError {
    match e {
        e if e.is_no_such_channel() || e.is_no_such_bridge() => {
            TelephonyError::Gone(channel.to_owned())
        }
        AmiError::Refused { action, message } => TelephonyError::Refused {
            operation: format!("AMI {action}"),
            message,
        },
        AmiError::Invalid { action, source } => TelephonyError::Refused {
            operation: format!("AMI {action}"),
            message: source.to_string(),
        },
        e => TelephonyError::Unavailable(Cause::new(e)),
    }
}

impl AriWithAmi {
    /// ARI with `ami` behind it.
    pub fn new(ari: Arc<AriClient>, ami: AmiClient, metrics: AmiMetrics) -> Self {
        Self { ari, ami, metrics }
    }

    async fn fall_back<F>(
        &self,
        action: &'static str,
        target: &str,
        ari_error: AriError,
        ami: F,
    ) -> Result<(), TelephonyError>
    where
        F: Future<Output = Result<(), AmiError>>,
    {
        tracing::warn!(%target, error = %ari_error, "ARI failed: {action} over AMI");
        let result = ami.await;
        self.metrics.record(action, result.is_ok());
        match result {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::warn!(%target, error = %e, "AMI {action} failed too");
                Err(ami_error(target, e))
            }
        }
    }
}

impl Telephony for AriWithAmi {
    fn answer<'a>(&'a self, channel: &'a ChannelId) -> BoxFuture<'a, Result<(), TelephonyError>> {
        Telephony::answer(self.ari.as_ref(), channel)
    }

    fn hangup<'a>(
        &'a self,
        channel: &'a ChannelId,
        cause: HangupCause,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        Box::pin(async move {
            match self.ari.hangup(channel, Some(reason(cause))).await {
                Err(e) if ari_unreachable(&e) => {
                    let ami = self.ami.hangup(channel.as_str(), q850(cause));
                    self.fall_back("hangup", channel.as_str(), e, ami).await
                }
                other => other.map_err(map),
            }
        })
    }

    fn create_bridge<'a>(
        &'a self,
        bridge: &'a BridgeId,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        Telephony::create_bridge(self.ari.as_ref(), bridge)
    }

    fn destroy_bridge<'a>(
        &'a self,
        bridge: &'a BridgeId,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        Box::pin(async move {
            match self.ari.destroy_bridge(bridge).await {
                Err(e) if ari_unreachable(&e) => {
                    let ami = self.ami.bridge_destroy(bridge.as_str());
                    self.fall_back("bridge_destroy", bridge.as_str(), e, ami)
                        .await
                }
                other => other.map_err(map),
            }
        })
    }

    fn add_to_bridge<'a>(
        &'a self,
        bridge: &'a BridgeId,
        channel: &'a ChannelId,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        Telephony::add_to_bridge(self.ari.as_ref(), bridge, channel)
    }

    fn external_media<'a>(
        &'a self,
        channel: &'a ChannelId,
        transport: &'a AudioTransport,
        format: WireFormat,
    ) -> BoxFuture<'a, Result<MediaChannel, TelephonyError>> {
        Telephony::external_media(self.ari.as_ref(), channel, transport, format)
    }

    fn play<'a>(
        &'a self,
        channel: &'a ChannelId,
        media: &'a str,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        Telephony::play(self.ari.as_ref(), channel, media)
    }

    fn redirect<'a>(
        &'a self,
        channel: &'a ChannelId,
        endpoint: &'a str,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        Telephony::redirect(self.ari.as_ref(), channel, endpoint)
    }

    fn continue_in_dialplan<'a>(
        &'a self,
        channel: &'a ChannelId,
        context: &'a str,
        extension: &'a str,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        Box::pin(async move {
            let target = crate::adapter::ari::DialplanTarget {
                context: Some(context.to_owned()),
                extension: Some(extension.to_owned()),
                priority: Some(1),
                label: None,
            };
            match self.ari.continue_in_dialplan(channel, &target).await {
                Err(e) if ari_unreachable(&e) => {
                    let ami = self.ami.redirect(channel.as_str(), context, extension, 1);
                    self.fall_back("redirect", channel.as_str(), e, ami).await
                }
                other => other.map_err(map),
            }
        })
    }

    fn originate<'a>(
        &'a self,
        request: &'a OriginateRequest,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        Box::pin(async move {
            match self.ari.originate(&originate_of(request)).await {
                Err(e) if originate_never_sent(&e) => {
                    // Stasis reads its data as a comma-separated list (the ARI
                    // client refuses such arguments too, before sending).
                    if request.app_args.iter().any(|a| a.contains(',')) {
                        return Err(TelephonyError::Refused {
                            operation: "AMI Originate".into(),
                            message: "a Stasis argument holds a comma".into(),
                        });
                    }
                    let mut data = self.ari.app().to_owned();
                    for arg in &request.app_args {
                        data.push(',');
                        data.push_str(arg);
                    }
                    let o = AmiOriginate {
                        channel: request.endpoint.clone(),
                        channel_id: Some(request.channel_id.as_str().to_owned()),
                        application: Some(("Stasis".into(), data)),
                        dialplan: None,
                        caller_id: request.caller_id.clone(),
                        timeout: request.timeout,
                        variables: request.variables.clone(),
                    };
                    let ami = self.ami.originate(&o);
                    self.fall_back("originate", request.channel_id.as_str(), e, ami)
                        .await
                }
                other => other.map(drop).map_err(map),
            }
        })
    }

    fn send_dtmf<'a>(
        &'a self,
        channel: &'a ChannelId,
        digits: &'a str,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        Telephony::send_dtmf(self.ari.as_ref(), channel, digits)
    }
}
