//! The application's [`Telephony`] port over the ARI client.

use super::{
    AriClient, AriError, DialplanTarget, DtmfTiming, ExternalMedia, ExternalMediaInfo,
    ExternalMediaTransport, HangupReason, MediaFormat, Originate, WebSocketConnection,
};
use crate::application::ports::{
    orchestrator::BoxFuture,
    telephony::{
        AudioTransport, HangupCause, MediaChannel, OriginateRequest, Telephony, TelephonyError,
        WireFormat,
    },
};
use ari::{BridgeId, ChannelId};

/// The port's error for an ARI error.
pub(crate) fn map(e: AriError) -> TelephonyError {
    match e.status() {
        Some(404) => TelephonyError::Gone(e.asterisk_message().unwrap_or("resource").to_owned()),
        // 400 "Channel not found" from addChannel: the caller is gone.
        Some(400)
            if e.asterisk_message()
                .is_some_and(|m| m.contains("not found")) =>
        {
            TelephonyError::Gone(e.asterisk_message().unwrap_or_default().to_owned())
        }
        Some(_) => TelephonyError::Refused {
            operation: e.to_string(),
            message: e.asterisk_message().unwrap_or_default().to_owned(),
        },
        None => TelephonyError::Unavailable(crate::application::ports::Cause::new(e)),
    }
}

/// The ARI hangup reason of a port cause.
pub(crate) fn reason(cause: HangupCause) -> HangupReason {
    match cause {
        HangupCause::Normal => HangupReason::Normal,
        HangupCause::Busy => HangupReason::Busy,
        HangupCause::NoAnswer => HangupReason::NoAnswer,
        HangupCause::Failure => HangupReason::Failure,
        HangupCause::Congestion => HangupReason::Congestion,
    }
}

/// The ARI originate of a port request.
pub(crate) fn originate_of(request: &OriginateRequest) -> Originate {
    Originate {
        endpoint: request.endpoint.clone(),
        channel_id: Some(request.channel_id.clone()),
        other_channel_id: None,
        app_args: request.app_args.clone(),
        caller_id: request.caller_id.clone(),
        timeout: Some(request.timeout),
        variables: request.variables.clone(),
    }
}

fn format(f: WireFormat) -> MediaFormat {
    match f {
        WireFormat::Ulaw => MediaFormat::Ulaw,
        WireFormat::Alaw => MediaFormat::Alaw,
        WireFormat::Slin => MediaFormat::Slin,
        WireFormat::Slin16 => MediaFormat::Slin16,
    }
}

impl Telephony for AriClient {
    fn answer<'a>(&'a self, channel: &'a ChannelId) -> BoxFuture<'a, Result<(), TelephonyError>> {
        Box::pin(async move { AriClient::answer(self, channel).await.map_err(map) })
    }

    fn hangup<'a>(
        &'a self,
        channel: &'a ChannelId,
        cause: HangupCause,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        let reason = reason(cause);
        Box::pin(async move {
            AriClient::hangup(self, channel, Some(reason))
                .await
                .map_err(map)
        })
    }

    fn create_bridge<'a>(
        &'a self,
        bridge: &'a BridgeId,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        Box::pin(async move {
            AriClient::create_bridge(self, Some(bridge), None)
                .await
                .map(drop)
                .map_err(map)
        })
    }

    fn destroy_bridge<'a>(
        &'a self,
        bridge: &'a BridgeId,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        Box::pin(async move { AriClient::destroy_bridge(self, bridge).await.map_err(map) })
    }

    fn add_to_bridge<'a>(
        &'a self,
        bridge: &'a BridgeId,
        channel: &'a ChannelId,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        Box::pin(async move {
            AriClient::add_channel(self, bridge, channel)
                .await
                .map_err(map)
        })
    }

    fn external_media<'a>(
        &'a self,
        channel: &'a ChannelId,
        transport: &'a AudioTransport,
        wire: WireFormat,
    ) -> BoxFuture<'a, Result<MediaChannel, TelephonyError>> {
        Box::pin(async move {
            let transport = match transport {
                AudioTransport::Rtp { external_host } => ExternalMediaTransport::UnicastRtp {
                    external_host: *external_host,
                },
                AudioTransport::AudioSocket {
                    external_host,
                    uuid,
                } => ExternalMediaTransport::AudioSocket {
                    external_host: *external_host,
                    uuid: uuid.clone(),
                },
                AudioTransport::WebSocket => ExternalMediaTransport::WebSocket {
                    connection: WebSocketConnection::Server,
                    transport_data: None,
                },
            };
            let request = ExternalMedia {
                transport,
                format: format(wire),
                channel_id: Some(channel.clone()),
                variables: Default::default(),
            };
            let created = self.external_media(&request).await.map_err(map)?;
            let info = ExternalMediaInfo::from_channel(&created);
            let asterisk_rtp = match info {
                Some(ExternalMediaInfo::Rtp { asterisk_rtp }) => Some(asterisk_rtp),
                _ => None,
            };
            let websocket = matches!(request.transport, ExternalMediaTransport::WebSocket { .. });
            let media_websocket = match (info, websocket) {
                (Some(ExternalMediaInfo::WebSocket { connection_id, .. }), _) => Some(
                    self.media_websocket_url(&connection_id)
                        .map_err(map)?
                        .to_string(),
                ),
                (_, true) => {
                    return Err(TelephonyError::Refused {
                        operation: "externalMedia".into(),
                        message: "answer without MEDIA_WEBSOCKET_CONNECTION_ID".into(),
                    });
                }
                _ => None,
            };
            Ok(MediaChannel {
                channel: created.id,
                asterisk_rtp,
                media_websocket,
            })
        })
    }

    fn play<'a>(
        &'a self,
        channel: &'a ChannelId,
        media: &'a str,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        Box::pin(async move {
            AriClient::play(self, channel, &[media], None)
                .await
                .map(drop)
                .map_err(map)
        })
    }

    fn redirect<'a>(
        &'a self,
        channel: &'a ChannelId,
        endpoint: &'a str,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        Box::pin(async move {
            AriClient::redirect(self, channel, endpoint)
                .await
                .map_err(map)
        })
    }

    fn continue_in_dialplan<'a>(
        &'a self,
        channel: &'a ChannelId,
        context: &'a str,
        extension: &'a str,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        Box::pin(async move {
            let target = DialplanTarget {
                context: Some(context.to_owned()),
                extension: Some(extension.to_owned()),
                priority: Some(1),
                label: None,
            };
            AriClient::continue_in_dialplan(self, channel, &target)
                .await
                .map_err(map)
        })
    }

    fn originate<'a>(
        &'a self,
        request: &'a OriginateRequest,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        Box::pin(async move {
            AriClient::originate(self, &originate_of(request))
                .await
                .map(drop)
                .map_err(map)
        })
    }

    fn send_dtmf<'a>(
        &'a self,
        channel: &'a ChannelId,
        digits: &'a str,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        Box::pin(async move {
            AriClient::send_dtmf(self, channel, digits, DtmfTiming::default())
                .await
                .map_err(map)
        })
    }
}
