//! chan_websocket's media WebSocket (Asterisk 20.16+), sans-IO: the text
//! control events Asterisk sends and the commands we send.
//!
//! What Asterisk 20.20.1 does (`channels/chan_websocket.c`, ari-fixtures/12):
//! - Binary messages carry audio in the channel's format, both ways; ours are
//!   queued by Asterisk and re-timed (`QUEUE_LENGTH_MAX` 1,000 frames,
//!   `MEDIA_XOFF` at 900, `MEDIA_XON` below 800).
//! - Text messages are control events, here in the plain format (no
//!   `transport_data=f(json)`): a name, then `key:value` pairs separated by
//!   spaces, e.g. `MEDIA_START connection_id:… format:slin16
//!   optimal_frame_size:640 ptime:20` or `DTMF_END digit:7 channel_id:…`.
//!   `MEDIA_START` is sent first, but nothing here depends on its order.
//! - Commands from us are a name and an optional argument, at most 128 bytes
//!   (`MAX_TEXT_MESSAGE_LEN`); unknown ones are ignored by Asterisk.

/// Largest WebSocket message we send or accept (Asterisk's own limit is
/// `AST_WEBSOCKET_MAX_RX_PAYLOAD_SIZE`, 65,535 with its header).
pub const MAX_MESSAGE: usize = 65_500;
/// Longest control event taken; Asterisk's `MEDIA_START` is about 180 bytes.
pub const MAX_EVENT: usize = 4096;

/// Drops every frame Asterisk queued from us (barge-in).
pub const FLUSH_MEDIA: &str = "FLUSH_MEDIA";
/// Stops Asterisk playing our queued frames (they stay queued).
pub const PAUSE_MEDIA: &str = "PAUSE_MEDIA";
/// Resumes after [`PAUSE_MEDIA`].
pub const CONTINUE_MEDIA: &str = "CONTINUE_MEDIA";
/// Hangs the channel up.
pub const HANGUP: &str = "HANGUP";

/// One control event from Asterisk, borrowing from the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// The media session started.
    MediaStart {
        /// `format:` (`ulaw`, `slin16`, …).
        format: Option<&'a str>,
        /// `optimal_frame_size:` in bytes.
        optimal_frame_size: Option<usize>,
    },
    /// Asterisk's queue of our frames is nearly full: stop sending.
    Xoff,
    /// The queue drained below the low mark: send again.
    Xon,
    /// A key press ended.
    DtmfEnd(char),
    /// Every queued frame was played (after `REPORT_QUEUE_DRAINED`).
    QueueDrained,
    /// A `MARK_MEDIA` was reached.
    MarkProcessed(&'a str),
    /// An answer to `GET_STATUS`.
    Status,
    /// Asterisk refused a command.
    Error(&'a str),
    /// Any other event (newer Asterisk versions add some).
    Other(&'a str),
}

/// Why a text message is not a control event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Longer than [`MAX_EVENT`].
    #[error("control event of {0} bytes (at most {MAX_EVENT})")]
    TooLong(usize),
    /// No event name.
    #[error("empty control event")]
    Empty,
    /// A `DTMF_END` without a valid `digit:`.
    #[error("DTMF_END without a digit")]
    BadDigit,
}

/// The value of `key:` among the event's parameters.
fn param<'a>(params: &'a str, key: &str) -> Option<&'a str> {
    params
        .split(' ')
        .find_map(|p| p.strip_prefix(key).and_then(|rest| rest.strip_prefix(':')))
}

/// Parses one text message from Asterisk.
pub fn parse_event(text: &str) -> Result<Event<'_>, EventError> {
    if text.len() > MAX_EVENT {
        return Err(EventError::TooLong(text.len()));
    }
    let text = text.trim_end_matches(['\r', '\n', '\0']);
    let (name, params) = text.split_once(' ').unwrap_or((text, ""));
    Ok(match name {
        "" => return Err(EventError::Empty),
        "MEDIA_START" => Event::MediaStart {
            format: param(params, "format"),
            optimal_frame_size: param(params, "optimal_frame_size").and_then(|v| v.parse().ok()),
        },
        "MEDIA_XOFF" => Event::Xoff,
        "MEDIA_XON" => Event::Xon,
        "DTMF_END" => {
            let digit = param(params, "digit").ok_or(EventError::BadDigit)?;
            let mut chars = digit.chars();
            match (chars.next(), chars.next()) {
                (Some(d @ ('0'..='9' | '*' | '#' | 'A'..='D')), None) => Event::DtmfEnd(d),
                _ => return Err(EventError::BadDigit),
            }
        }
        "QUEUE_DRAINED" => Event::QueueDrained,
        "MEDIA_MARK_PROCESSED" => Event::MarkProcessed(params),
        "STATUS" => Event::Status,
        "ERROR" => Event::Error(params),
        other => Event::Other(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_what_asterisk_sent_in_fixture_12() {
        let start = "MEDIA_START connection_id:22970be6-b3c0-4aff-a235-ae64c805d03a \
                     channel:WebSocket/INCOMING/0x7f451c001020 channel_id:1795241331.35 \
                     format:ulaw optimal_frame_size:160 ptime:20";
        assert_eq!(
            parse_event(start),
            Ok(Event::MediaStart {
                format: Some("ulaw"),
                optimal_frame_size: Some(160)
            })
        );
        assert_eq!(parse_event("MEDIA_XOFF"), Ok(Event::Xoff));
        assert_eq!(parse_event("MEDIA_XON"), Ok(Event::Xon));
        assert_eq!(parse_event("QUEUE_DRAINED"), Ok(Event::QueueDrained));
        assert_eq!(
            parse_event("MEDIA_MARK_PROCESSED m1"),
            Ok(Event::MarkProcessed("m1"))
        );
        assert_eq!(
            parse_event("DTMF_END digit:7 channel_id:1795241331.35"),
            Ok(Event::DtmfEnd('7'))
        );
        assert_eq!(
            parse_event(
                "STATUS channel_id:1795241331.35 queue_length:0 xon_level:800 xoff_level:900"
            ),
            Ok(Event::Status)
        );
    }

    #[test]
    fn refuses_what_is_not_an_event() {
        assert_eq!(parse_event(""), Err(EventError::Empty));
        assert_eq!(parse_event("DTMF_END"), Err(EventError::BadDigit));
        assert_eq!(parse_event("DTMF_END digit:77"), Err(EventError::BadDigit));
        assert_eq!(parse_event("DTMF_END digit:x"), Err(EventError::BadDigit));
        let long = "X".repeat(MAX_EVENT + 1);
        assert_eq!(parse_event(&long), Err(EventError::TooLong(MAX_EVENT + 1)));
        assert_eq!(parse_event("NEW_THING a:b"), Ok(Event::Other("NEW_THING")));
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in ".{0,300}") {
            let _ = parse_event(&text);
        }
    }
}
