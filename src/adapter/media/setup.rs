//! Pipeline settings for one leg, from its wire format and STT rate.

use crate::application::ports::{media::Transport, telephony::WireFormat};
use ::media::jitter::{JitterConfig, Release};
use ::media::pacer::{PacerConfig, SlotGrid};
use ::media::pipeline::{InboundConfig, OutboundConfig, TelephoneCodec};
use std::{sync::LazyLock, time::Duration, time::Instant};

/// Telephone-event payload type Asterisk uses (RFC 4733).
const TELEPHONE_EVENT_PT: u8 = 101;

/// The spacing of the grid UnicastRTP talkspurts start on ([`SlotGrid`]):
/// the pacing thread then wakes at most ten times per 20 ms whatever the
/// number of calls, and a reply's first packet waits at most this long.
pub(crate) const SLOT_STEP: Duration = Duration::from_millis(2);

/// The grid's origin, common to every leg of the process.
static SLOT_EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Caller audio in `format` → PCM at `stt_rate`. Every encoding Asterisk may
/// send at the format's clock rate is taken (G.711 both laws, L16), so a
/// format switch on Asterisk's side is not heard as garbage. Over RTP each
/// talkspurt plays `4 ×` the measured jitter late, within `(min, max)`.
pub(crate) fn inbound(
    transport: Transport,
    format: WireFormat,
    stt_rate: u32,
    (min, max): (Duration, Duration),
) -> InboundConfig {
    if let Some(codec) = framed(transport, format) {
        // No RTP: audio comes in order over TCP, straight to the resampler.
        return InboundConfig {
            clock_rate: format.rate(),
            l16_payload_type: None,
            telephone_event_payload_type: None,
            output_rate: stt_rate,
            framed: Some(codec),
            ..InboundConfig::default()
        };
    }
    let l16 = match format {
        // Asterisk's `slin16` over UnicastRTP: PT 118, big-endian (fixture 14).
        WireFormat::Slin16 => 118,
        _ => ::media::codec::L16::SLIN_PT,
    };
    InboundConfig {
        clock_rate: format.rate(),
        l16_payload_type: Some(l16),
        telephone_event_payload_type: Some(TELEPHONE_EVENT_PT),
        output_rate: stt_rate,
        jitter: JitterConfig {
            target_delay: min,
            max_delay: max,
            // The frames feed the VAD and the recogniser: a frame that is here
            // goes on at once; the delay only bounds the wait for a missing one.
            release: Release::InOrder,
            ..JitterConfig::default()
        },
        ..InboundConfig::default()
    }
}

/// Agent audio → RTP in `format`, numbered from random starting points
/// (RFC 3550 §5.1: SSRC, sequence and timestamp should not be guessable).
/// The pacer holds at most `max_queued`.
pub(crate) fn outbound(
    transport: Transport,
    format: WireFormat,
    max_queued: std::time::Duration,
) -> OutboundConfig {
    let codec = match format {
        _ if let Some(codec) = framed(transport, format) => codec,
        WireFormat::Ulaw => TelephoneCodec::Pcmu,
        WireFormat::Alaw => TelephoneCodec::Pcma,
        WireFormat::Slin => TelephoneCodec::SLIN,
        // Asterisk drops PT 118 from us (fixture 14); the leg still sends it
        // so that the format stays what was negotiated, and `open` warns.
        WireFormat::Slin16 => TelephoneCodec::L16 {
            payload_type: 118,
            rate: 16_000,
        },
    };
    let r = uuid::Uuid::new_v4().as_u128();
    OutboundConfig {
        codec,
        pacer: PacerConfig {
            ssrc: r as u32,
            initial_sequence: (r >> 32) as u16,
            initial_timestamp: (r >> 48) as u32,
            max_queued,
            // Over TCP the leg's own task sends, one leg per timer: no
            // wake-ups to share.
            slot_grid: (transport == Transport::Rtp).then(|| SlotGrid {
                epoch: *SLOT_EPOCH,
                step: SLOT_STEP,
            }),
            ..PacerConfig::default()
        },
        telephone_event_payload_type: TELEPHONE_EVENT_PT,
        ..OutboundConfig::default()
    }
}

/// The codec of a transport that carries bare frames, not RTP.
fn framed(transport: Transport, format: WireFormat) -> Option<TelephoneCodec> {
    match (transport, format) {
        (Transport::Rtp, _) => None,
        (_, WireFormat::Slin | WireFormat::Slin16) => Some(TelephoneCodec::SlinLe {
            rate: format.rate(),
        }),
        (_, WireFormat::Ulaw) => Some(TelephoneCodec::Pcmu),
        (_, WireFormat::Alaw) => Some(TelephoneCodec::Pcma),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtp_legs_take_the_configured_jitter_delays_and_framed_legs_have_none() {
        let (min, max) = (Duration::ZERO, Duration::from_millis(150));
        let rtp = inbound(Transport::Rtp, WireFormat::Ulaw, 16_000, (min, max));
        assert_eq!((rtp.jitter.target_delay, rtp.jitter.max_delay), (min, max));
        let framed = inbound(
            Transport::Audiosocket,
            WireFormat::Slin16,
            16_000,
            (min, max),
        );
        assert!(framed.framed.is_some(), "no RTP, no jitter buffer");
    }

    #[test]
    fn the_default_jitter_floor_is_zero() {
        let media = crate::adapter::config::MediaConfig::default();
        let udp = super::super::config::UdpMediaConfig::from_media_config(&media);
        assert_eq!(
            udp.jitter_delay,
            (Duration::ZERO, Duration::from_millis(200))
        );
    }
}
