//! Framing edge cases of the three reply formats.

use super::*;
use crate::application::ports::orchestrator::{Action, DtmfSequence, TransferTarget};

fn text(s: &str) -> ReplyPart {
    ReplyPart::Text(s.to_owned())
}

fn transfer(t: &str) -> ReplyPart {
    ReplyPart::Action(Action::Transfer {
        target: TransferTarget::parse(t).unwrap(),
    })
}

/// Decodes `chunks` in order, then the end of the body; returns the parts and
/// whether the terminator was seen, or the first error.
fn decode(format: Format, chunks: &[&[u8]]) -> Result<(Vec<ReplyPart>, bool), OrchestratorError> {
    decode_with(format, Limits::for_text(64 * 1024), chunks)
}

fn decode_with(
    format: Format,
    limits: Limits,
    chunks: &[&[u8]],
) -> Result<(Vec<ReplyPart>, bool), OrchestratorError> {
    let mut d = ReplyDecoder::new(format, limits);
    for c in chunks {
        d.feed(c)?;
    }
    d.finish()?;
    Ok((std::iter::from_fn(|| d.pop()).collect(), d.is_done()))
}

/// Every way to cut `body` in two gives the same result as the whole.
fn same_for_every_split(format: Format, body: &[u8]) -> (Vec<ReplyPart>, bool) {
    let whole = decode(format, &[body]).unwrap();
    for i in 0..=body.len() {
        assert_eq!(
            decode(format, &[&body[..i], &body[i..]]).unwrap(),
            whole,
            "split at {i}"
        );
    }
    whole
}

#[test]
fn content_types() {
    assert_eq!(
        Format::from_content_type(Some("application/json; charset=utf-8")).unwrap(),
        Format::Json
    );
    assert_eq!(
        Format::from_content_type(Some("Text/Event-Stream")).unwrap(),
        Format::Sse
    );
    assert_eq!(
        Format::from_content_type(Some("application/x-ndjson")).unwrap(),
        Format::Ndjson
    );
    assert!(matches!(
        Format::from_content_type(Some("text/html")),
        Err(OrchestratorError::Malformed(m)) if m.contains("text/html")
    ));
    assert!(Format::from_content_type(None).is_err());
}

#[test]
fn json_reply_is_text_then_actions_then_done() {
    let body = br#"{"text":"Hi there.","actions":[{"type":"send_dtmf","digits":"12#"},{"type":"hangup"}],"extra":1}"#;
    let (parts, done) = same_for_every_split(Format::Json, body);
    assert!(done);
    assert_eq!(
        parts,
        [
            text("Hi there."),
            ReplyPart::Action(Action::SendDtmf {
                digits: DtmfSequence::parse("12#").unwrap()
            }),
            ReplyPart::Action(Action::Hangup),
            ReplyPart::Done
        ]
    );
}

#[test]
fn sse_deltas_actions_comments_events_and_done() {
    let body = b": ping\r\n\r\nevent: ping\ndata: {}\n\ndata: {\"text\":\"Hel\"}\n\ndata:{\"text\":\"lo. \"}\r\r\
        data: {\"action\":\r\ndata: {\"type\":\"transfer\",\"target\":\"billing\"}}\n\n\
        event: future\ndata: whatever\n\ndata: [DONE]\n\ndata: {\"text\":\"ignored\"}\n\n";
    let (parts, done) = same_for_every_split(Format::Sse, body);
    assert!(done);
    assert_eq!(
        parts,
        [
            text("Hel"),
            text("lo. "),
            transfer("billing"),
            ReplyPart::Done
        ]
    );
}

#[test]
fn sse_done_event_and_done_object_are_terminators() {
    let (p, done) = decode(Format::Sse, &[b"data: {\"text\":\"a\",\"done\":true}\n\n"]).unwrap();
    assert!(done);
    assert_eq!(p, [text("a"), ReplyPart::Done]);
    let (p, done) = decode(Format::Sse, &[b"event: done\ndata: {}\n\n"]).unwrap();
    assert!(done);
    assert_eq!(p, [ReplyPart::Done]);
    // No blank line after the last event: still taken.
    let (_, done) = decode(Format::Sse, &[b"data: [DONE]"]).unwrap();
    assert!(done);
}

#[test]
fn sse_error_event_is_an_agent_error() {
    let e = decode(
        Format::Sse,
        &[b"data: {\"text\":\"a\"}\n\nevent: error\ndata: {\"error\":{\"message\":\"model down\"}}\n\n"],
    )
    .unwrap_err();
    assert_eq!(e, OrchestratorError::Agent("model down".into()));
    let e = decode(Format::Ndjson, &[b"{\"error\":\"boom\"}\n"]).unwrap_err();
    assert_eq!(e, OrchestratorError::Agent("boom".into()));
}

#[test]
fn ndjson_lines_across_chunks() {
    let body = "{\"text\":\"Bon\"}\n\n{\"text\":\"jour… \"}\r\n{\"action\":{\"type\":\"hangup\"}}\n{\"done\":true}";
    let (parts, done) = same_for_every_split(Format::Ndjson, body.as_bytes());
    assert!(done);
    assert_eq!(
        parts,
        [
            text("Bon"),
            text("jour… "),
            ReplyPart::Action(Action::Hangup),
            ReplyPart::Done
        ]
    );
}

#[test]
fn a_body_without_terminator_is_not_done() {
    let (parts, done) = decode(Format::Ndjson, &[b"{\"text\":\"cut\"}\n"]).unwrap();
    assert_eq!(parts, [text("cut")]);
    assert!(!done);
    let (_, done) = decode(Format::Sse, &[b"data: {\"text\":\"cut\"}\n\n"]).unwrap();
    assert!(!done);
}

#[test]
fn malformed_data_is_a_typed_error_naming_the_field() {
    for (format, body, want) in [
        (Format::Sse, &b"data: {\"text\":\n\n"[..], "EOF"),
        (Format::Sse, b"data: not json\n\n", "expected"),
        (Format::Ndjson, b"{\"text\":42}\n", "at `text`"),
        (Format::Ndjson, b"[1,2]\n", "expected a JSON object"),
        (
            Format::Ndjson,
            b"{\"action\":{\"type\":\"launch\"}}\n",
            "unknown variant",
        ),
        (Format::Json, b"{\"text\":\"a\"", "EOF"),
        (Format::Json, b"", "EOF"),
        (
            Format::Json,
            b"{\"actions\":[{\"type\":\"transfer\",\"target\":\"PJSIP/x,1\"}]}",
            "transfer target",
        ),
        (
            Format::Ndjson,
            b"{\"action\":{\"type\":\"send_dtmf\",\"digits\":\"1;x\"}}\n",
            "dtmf",
        ),
        (Format::Ndjson, b"{\"text\":\"\xff\"}\n", "UTF-8"),
    ] {
        match decode(format, &[body]) {
            Err(OrchestratorError::Malformed(m)) => assert!(m.contains(want), "{body:?}: {m}"),
            other => panic!("{body:?}: {other:?}"),
        }
    }
}

#[test]
fn oversize_reply_text_line_and_body_are_refused() {
    let limits = Limits {
        text: 10,
        line: 64,
        body: 200,
    };
    let e = decode_with(
        Format::Ndjson,
        limits,
        &[b"{\"text\":\"123456\"}\n", b"{\"text\":\"78901\"}\n"],
    )
    .unwrap_err();
    assert_eq!(
        e,
        OrchestratorError::TooLarge {
            limit: 10,
            what: "reply text"
        }
    );
    let long_line = format!("data: {}", "x".repeat(80));
    let e = decode_with(Format::Sse, limits, &[long_line.as_bytes()]).unwrap_err();
    assert!(matches!(e, OrchestratorError::TooLarge { limit: 64, .. }));
    // Keep-alives alone can fill the body bound.
    let pings = ": ping\n".repeat(40);
    let e = decode_with(Format::Sse, limits, &[pings.as_bytes()]).unwrap_err();
    assert!(matches!(e, OrchestratorError::TooLarge { limit: 200, .. }));
    let e = decode_with(Format::Json, limits, &[&[b' '; 201]]).unwrap_err();
    assert!(matches!(e, OrchestratorError::TooLarge { limit: 200, .. }));
}
