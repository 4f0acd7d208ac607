//! Asterisk's error statuses become typed errors with Asterisk's own message;
//! reads are retried a bounded number of times, writes never.

use std::time::Duration;

use ari::ChannelId;
use serde_json::json;

use super::mock::{MockAri, Reply, fixture_reply};
use crate::adapter::ari::AriError;

const F04: &str = "04-originate-failures.json";
const F05: &str = "05-rest-errors.json";

/// A scripted reply, the variant it must produce, and the message it must carry.
type Case = (Reply, fn(&AriError) -> bool, &'static str);

fn status_of(e: &AriError) -> u16 {
    e.status().unwrap_or_else(|| panic!("no status: {e}"))
}

#[tokio::test]
async fn every_error_status_is_typed_and_keeps_the_message() {
    let ari = MockAri::start().await;
    // Recorded bodies where Asterisk produced them; 412 and 503 never showed up in
    // the captures, so their bodies follow Asterisk's usual `{"message": ...}`.
    let cases: Vec<Case> = vec![
        (
            fixture_reply(F05, "POST", "/dtmf", 400),
            |e| matches!(e, AriError::BadRequest { .. }),
            "DTMF is required",
        ),
        (
            fixture_reply(F05, "GET", "/asterisk/info", 401),
            |e| matches!(e, AriError::Unauthorized { .. }),
            "Authentication required",
        ),
        (
            fixture_reply(F05, "POST", "/answer", 404),
            |e| matches!(e, AriError::NotFound { .. }),
            "Channel not found",
        ),
        (
            fixture_reply(F05, "POST", "/answer", 409),
            |e| matches!(e, AriError::Conflict { .. }),
            "Channel not in Stasis application",
        ),
        (
            Reply::Json(412, json!({"message": "Channel in invalid state"})),
            |e| matches!(e, AriError::PreconditionFailed { .. }),
            "Channel in invalid state",
        ),
        (
            fixture_reply(F05, "POST", "/addChannel", 422),
            |e| matches!(e, AriError::Unprocessable { .. }),
            "Channel not in Stasis application",
        ),
        (
            fixture_reply(F04, "POST", "/ari/channels", 500),
            |e| matches!(e, AriError::Internal { .. }),
            "Allocation failed",
        ),
        (
            fixture_reply(F05, "POST", "/externalMedia", 501),
            |e| matches!(e, AriError::UnexpectedStatus { status: 501, .. }),
            "The encapsulation and/or transport is not supported",
        ),
        (
            Reply::Json(503, json!({"message": "Asterisk not booted"})),
            |e| matches!(e, AriError::Unavailable { .. }),
            "Asterisk not booted",
        ),
    ];
    let client = ari.client();
    let ch = ChannelId::new("no-such-channel-id");
    for (reply, is_expected, message) in cases {
        let expected_status = match &reply {
            Reply::Json(s, _) | Reply::Empty(s) => *s,
            Reply::Hang => unreachable!(),
        };
        ari.reply(reply);
        // A POST, so nothing is retried and each case is exactly one request.
        let err = client.answer(&ch).await.unwrap_err();
        assert!(is_expected(&err), "{expected_status}: got {err:?}");
        assert_eq!(status_of(&err), expected_status);
        assert_eq!(err.asterisk_message(), Some(message));
        assert!(err.to_string().contains(message), "{err}");
    }
    assert_eq!(ari.seen().len(), 9);
}

#[tokio::test]
async fn reads_are_retried_on_503_until_success() {
    let ari = MockAri::start().await;
    ari.reply(Reply::Json(503, json!({"message": "Asterisk not booted"})))
        .reply(Reply::Json(503, json!({"message": "Asterisk not booted"})))
        .reply(fixture_reply(F05, "GET", "/asterisk/ping", 200));
    let ping = ari.client().ping().await.unwrap();
    assert_eq!(ping.ping, "pong");
    assert_eq!(ari.seen().len(), 3);
}

#[tokio::test]
async fn read_retries_are_bounded() {
    let ari = MockAri::start().await;
    for _ in 0..4 {
        ari.reply(Reply::Json(503, json!({"message": "Asterisk not booted"})));
    }
    let err = ari.client().ping().await.unwrap_err();
    assert!(matches!(err, AriError::Unavailable { .. }), "{err}");
    assert_eq!(ari.seen().len(), 3, "max_attempts is 3");
    assert_eq!(ari.unused_replies(), 1);
}

#[tokio::test]
async fn reads_are_not_retried_on_definite_answers() {
    let ari = MockAri::start().await;
    ari.reply(fixture_reply(F05, "GET", "/ari/channels/", 404));
    let err = ari
        .client()
        .get_channel(&ChannelId::new("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, AriError::NotFound { .. }), "{err}");
    assert_eq!(ari.seen().len(), 1);
}

#[tokio::test]
async fn writes_are_never_retried() {
    let ari = MockAri::start().await;
    ari.reply(Reply::Json(503, json!({"message": "Asterisk not booted"})))
        .reply(Reply::Empty(204));
    let err = ari
        .client()
        .hangup(&ChannelId::new("x"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, AriError::Unavailable { .. }), "{err}");
    assert_eq!(ari.seen().len(), 1);
}

#[tokio::test]
async fn a_silent_asterisk_gives_a_timeout_per_attempt() {
    let ari = MockAri::start().await;
    for _ in 0..3 {
        ari.reply(Reply::Hang);
    }
    let client = ari.client_with_timeout(Duration::from_millis(200));
    let err = client.ping().await.unwrap_err();
    assert!(
        matches!(
            err,
            AriError::Timeout {
                operation: "asterisk.ping"
            }
        ),
        "{err:?}"
    );
    assert_eq!(ari.seen().len(), 3, "each attempt timed out");

    ari.reply(Reply::Hang);
    let err = client.answer(&ChannelId::new("x")).await.unwrap_err();
    assert!(matches!(err, AriError::Timeout { .. }), "{err:?}");
    assert_eq!(ari.seen().len(), 4, "a write is tried once");
}

#[tokio::test]
async fn an_unexpected_success_body_is_a_decode_error() {
    let ari = MockAri::start().await;
    ari.reply(Reply::Json(200, json!({"id": 5})));
    let err = ari
        .client()
        .get_channel(&ChannelId::new("x"))
        .await
        .unwrap_err();
    match err {
        AriError::Decode {
            operation, path, ..
        } => {
            assert_eq!(operation, "channels.get");
            assert_eq!(path, "id");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error_after_retries() {
    // Bind then drop, so the port is (very likely) closed.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let client = crate::adapter::ari::AriClient::new(crate::adapter::ari::AriClientConfig {
        base_url: format!("http://{addr}/ari"),
        username: "u".into(),
        password: "p".into(),
        app: "a".into(),
        request_timeout: Duration::from_secs(2),
    })
    .unwrap()
    .with_retry_policy(crate::adapter::ari::RetryPolicy {
        max_attempts: 2,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(1),
    });
    let err = client.ping().await.unwrap_err();
    assert!(matches!(err, AriError::Transport { .. }), "{err:?}");
}
