//! The HTTP client against a scripted local orchestrator.

mod server;

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;

use self::server::{Script, spawn};
use super::{HttpOrchestrator, OrchestratorConfig};
use crate::adapter::config::Secret;
use crate::application::ports::orchestrator::{
    Action, AgentOrchestrator, ConversationId, CreateConversation, DtmfSequence, OrchestratorError,
    ReplyPart, TransferTarget, Turn,
};
use crate::domain::call::Direction;
use crate::domain::{AgentId, CallId, Did, TenantId};

fn config() -> OrchestratorConfig {
    OrchestratorConfig {
        token: Some(Secret::new("sekrit-token")),
        retry_backoff: Duration::ZERO,
        ..OrchestratorConfig::default()
    }
}

async fn client_with(config: OrchestratorConfig) -> (HttpOrchestrator, Script) {
    let script = Script::default();
    let base = spawn(script.clone()).await;
    (HttpOrchestrator::new(&base, config).unwrap(), script)
}

fn id() -> ConversationId {
    ConversationId::parse("c/1 x?").unwrap()
}

fn turn(text: &str) -> Turn {
    Turn {
        text: text.to_owned(),
        ..Turn::default()
    }
}

/// Every item of the reply to `text`.
async fn items(client: &HttpOrchestrator, text: &str) -> Vec<Result<ReplyPart, OrchestratorError>> {
    client.send_turn(&id(), turn(text)).collect().await
}

/// `items`, failing (not hanging) if the client's own deadline never fires.
async fn items_within_5s(
    client: &HttpOrchestrator,
    text: &str,
) -> Vec<Result<ReplyPart, OrchestratorError>> {
    tokio::time::timeout(Duration::from_secs(5), items(client, text))
        .await
        .expect("the client's deadline fires well before 5 s")
}

fn ok_text(s: &str) -> Result<ReplyPart, OrchestratorError> {
    Ok(ReplyPart::Text(s.to_owned()))
}

#[tokio::test]
async fn creates_a_conversation_with_token_and_fields_then_posts_turns_under_its_encoded_id() {
    let (client, script) = client_with(config()).await;
    let request = CreateConversation {
        call_id: CallId::parse("call-1").unwrap(),
        tenant_id: TenantId::parse("acme").unwrap(),
        agent_id: AgentId::parse("sales.v2").unwrap(),
        direction: Direction::Inbound,
        caller: Some(Did::parse("+15551234567").unwrap()),
        callee: Some(Did::parse("100").unwrap()),
        language: "en-US".into(),
        metadata: BTreeMap::from([("trunk".into(), "t1".into())]),
    };
    let c = client.create_conversation(request).await.unwrap();
    assert_eq!(c.conversation_id, id());
    assert_eq!(c.greeting.as_deref(), Some("Hi, I am Ada."));

    let parts = items(&client, "json").await;
    assert_eq!(
        parts,
        [
            ok_text("Hello there. How are you?"),
            Ok(ReplyPart::Action(Action::Transfer {
                target: TransferTarget::parse("agents").unwrap()
            })),
            Ok(ReplyPart::Done)
        ]
    );
    let target = TransferTarget::parse("billing").unwrap();
    client.transfer(&c.conversation_id, &target).await.unwrap();

    let seen = script.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].uri, "/api/v1/conversations");
    assert_eq!(
        seen[0].body,
        serde_json::json!({
            "call_id": "call-1", "tenant_id": "acme", "agent_id": "sales.v2",
            "direction": "inbound", "caller": "+15551234567", "callee": "100",
            "language": "en-US", "metadata": {"trunk": "t1"}
        })
    );
    assert_eq!(seen[1].uri, "/api/v1/conversations/c%2F1%20x%3F/turns");
    assert_eq!(seen[1].id.as_deref(), Some("c/1 x?"));
    assert_eq!(seen[1].body, serde_json::json!({"text": "json"}));
    assert_eq!(seen[2].uri, "/api/v1/conversations/c%2F1%20x%3F/transfer");
    assert_eq!(seen[2].body, serde_json::json!({"target": "billing"}));
    for s in &seen {
        assert_eq!(s.auth.as_deref(), Some("Bearer sekrit-token"));
    }
    assert!(!format!("{client:?}").contains("sekrit"));
}

#[tokio::test]
async fn turn_fields_are_sent_only_when_set() {
    let (client, script) = client_with(config()).await;
    let t = Turn {
        text: "json".into(),
        interrupted: Some(true),
        heard_text: Some("Hello th".into()),
        dtmf: Some("5".into()),
        superseded: Some(true),
        resumed_after_takeover: Some(true),
        answered_by: Some(crate::domain::screening::AnsweredBy::Machine),
    };
    let _: Vec<_> = client.send_turn(&id(), t).collect().await;
    let body = script.seen.lock().unwrap()[0].body.clone();
    assert_eq!(
        body,
        serde_json::json!({"text": "json", "interrupted": true, "heard_text": "Hello th", "dtmf": "5", "superseded": true, "resumed_after_takeover": true, "answered_by": "machine"})
    );
}

#[tokio::test]
async fn streams_server_sent_events() {
    let (client, _) = client_with(config()).await;
    assert_eq!(
        items(&client, "sse").await,
        [
            ok_text("Hel"),
            ok_text("lo. "),
            Ok(ReplyPart::Action(Action::Hangup)),
            Ok(ReplyPart::Done)
        ]
    );
}

#[tokio::test]
async fn streams_ndjson_with_lines_split_across_chunks() {
    let (client, _) = client_with(config()).await;
    assert_eq!(
        items(&client, "ndjson").await,
        [
            ok_text("One. "),
            ok_text("Two."),
            Ok(ReplyPart::Action(Action::SendDtmf {
                digits: DtmfSequence::parse("42").unwrap()
            })),
            Ok(ReplyPart::Done)
        ]
    );
}

#[tokio::test]
async fn no_first_byte_within_the_reply_timeout_is_a_timeout() {
    let (client, _) = client_with(OrchestratorConfig {
        reply_timeout: Duration::from_millis(200),
        ..config()
    })
    .await;
    let want = [Err(OrchestratorError::Timeout {
        waited: Duration::from_millis(200),
        waiting_for: "the reply",
    })];
    assert_eq!(items_within_5s(&client, "slow").await, want);
    // Keep-alive comments do not stand in for a reply.
    assert_eq!(items_within_5s(&client, "keepalive").await, want);
}

#[tokio::test]
async fn silence_after_the_first_part_is_an_idle_timeout() {
    let (client, _) = client_with(OrchestratorConfig {
        idle_timeout: Duration::from_millis(200),
        ..config()
    })
    .await;
    assert_eq!(
        items_within_5s(&client, "stall").await,
        [
            ok_text("Hmm"),
            Err(OrchestratorError::Timeout {
                waited: Duration::from_millis(200),
                waiting_for: "the next chunk",
            })
        ]
    );
}

#[tokio::test]
async fn dropping_the_reply_closes_the_request() {
    let (client, script) = client_with(config()).await;
    let dropped = script.on_body_dropped();
    let mut reply = client.send_turn(&id(), turn("stall"));
    assert_eq!(reply.next().await, Some(ok_text("Hmm")));
    drop(reply); // barge-in
    tokio::time::timeout(Duration::from_secs(5), dropped)
        .await
        .expect("the server noticed the client went away")
        .unwrap();
}

#[tokio::test]
async fn rate_limit_carries_retry_after_and_is_not_retried() {
    let (client, script) = client_with(config()).await;
    assert_eq!(
        items(&client, "429").await,
        [Err(OrchestratorError::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        })]
    );
    assert_eq!(script.count("429"), 1);
}

#[tokio::test]
async fn server_error_carries_its_message_and_is_not_retried() {
    let (client, script) = client_with(config()).await;
    assert_eq!(
        items(&client, "500").await,
        [Err(OrchestratorError::Status {
            status: 500,
            message: "model exploded".into()
        })]
    );
    assert_eq!(script.count("500"), 1);
}

#[tokio::test]
async fn a_503_is_retried_once_before_anything_was_received() {
    let (client, script) = client_with(config()).await;
    assert_eq!(
        items(&client, "flaky").await,
        [ok_text("Back again."), Ok(ReplyPart::Done)]
    );
    assert_eq!(script.count("flaky"), 2);
    assert_eq!(
        items(&client, "down").await,
        [Err(OrchestratorError::Status {
            status: 503,
            message: "maintenance".into()
        })]
    );
    assert_eq!(script.count("down"), 2, "one retry, not more");
}

#[tokio::test]
async fn a_stream_cut_midway_is_an_error_after_what_arrived_and_is_not_retried() {
    let (client, script) = client_with(config()).await;
    let mut reply = client.send_turn(&id(), turn("cut"));
    assert_eq!(reply.next().await, Some(ok_text("Half a ")));
    script.cut_now();
    let rest: Vec<_> = reply.collect().await;
    assert!(
        matches!(rest[..], [Err(OrchestratorError::Transport(_))]),
        "{rest:?}"
    );
    assert_eq!(script.count("cut"), 1);
    // A clean end without the terminator is a cut too.
    assert_eq!(
        items(&client, "eof").await,
        [ok_text("Half"), Err(OrchestratorError::Truncated)]
    );
}

#[tokio::test]
async fn oversize_and_unknown_replies_are_typed_errors() {
    let (client, _) = client_with(OrchestratorConfig {
        max_reply_bytes: 1024,
        ..config()
    })
    .await;
    let parts = items(&client, "big").await;
    assert_eq!(
        parts.last(),
        Some(&Err(OrchestratorError::TooLarge {
            limit: 1024,
            what: "reply text"
        }))
    );
    assert!(matches!(
        &items(&client, "html").await[..],
        [Err(OrchestratorError::Malformed(m))] if m.contains("text/html")
    ));
}

#[tokio::test]
async fn an_unreachable_orchestrator_is_a_transport_error_after_one_retry() {
    // Bind then drop a listener: its port now refuses connections.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = HttpOrchestrator::new(&format!("http://{addr}"), config()).unwrap();
    let parts: Vec<_> = client.send_turn(&id(), turn("json")).collect().await;
    assert!(
        matches!(&parts[..], [Err(OrchestratorError::Transport(_))]),
        "{parts:?}"
    );
}

#[test]
fn urls_keep_the_base_path_and_encode_the_id() {
    let client = HttpOrchestrator::new("https://orch.example/base/", config()).unwrap();
    let url = client.inner.url(Some(&id()), Some("turns"));
    assert_eq!(
        url.as_str(),
        "https://orch.example/base/api/v1/conversations/c%2F1%20x%3F/turns"
    );
    assert!(HttpOrchestrator::new("ftp://x/", config()).is_err());
    assert!(HttpOrchestrator::new("not a url", config()).is_err());
}

#[test]
fn config_picks_http_or_the_builtin_agent() {
    assert!(super::from_config(&OrchestratorConfig::default()).is_ok());
    let blank = OrchestratorConfig {
        url: Some("  ".into()),
        ..config()
    };
    assert!(super::from_config(&blank).is_ok());
    let bad_target = OrchestratorConfig {
        transfer_target: "a b".into(),
        ..config()
    };
    assert!(matches!(
        super::from_config(&bad_target),
        Err(super::ClientBuildError::Config(_))
    ));
    let http = OrchestratorConfig {
        url: Some("http://127.0.0.1:9/".into()),
        ..config()
    };
    assert!(super::from_config(&http).is_ok());
    assert!(!format!("{http:?}").contains("sekrit"));
}

#[tokio::test]
async fn the_breaker_stops_asking_a_failing_orchestrator_then_tries_again() {
    use crate::adapter::speech::fallback::BreakerConfig;
    let (client, script) = client_with(config()).await;
    let cool_down = Duration::from_millis(300);
    let guarded = super::breaker::Guarded::new(
        std::sync::Arc::new(client),
        BreakerConfig {
            failures: 3,
            cool_down,
        },
    );
    let first = |text: &'static str| {
        let stream = guarded.send_turn(&id(), turn(text));
        async move { stream.collect::<Vec<_>>().await.remove(0) }
    };
    for _ in 0..3 {
        assert!(matches!(
            first("down").await,
            Err(OrchestratorError::Status { status: 503, .. })
        ));
    }
    // Open: answered at once, nothing sent (each failed turn was tried twice).
    let sent = script.count("down");
    for text in ["down", "json"] {
        let e = first(text).await.unwrap_err();
        assert!(
            matches!(e, OrchestratorError::CircuitOpen { failures: 3, .. }),
            "{e}"
        );
    }
    assert_eq!((script.count("down"), script.count("json")), (sent, 0));
    // After the cool-down one request goes through; it succeeds and closes it.
    tokio::time::sleep(cool_down).await;
    assert!(first("json").await.is_ok());
    assert!(first("json").await.is_ok());
    assert_eq!(script.count("json"), 2);
    // A bad reply (not the orchestrator's health) does not count.
    let (client, _) = client_with(config()).await;
    let guarded = super::breaker::Guarded::new(
        std::sync::Arc::new(client),
        BreakerConfig {
            failures: 1,
            cool_down,
        },
    );
    let e = guarded
        .send_turn(&id(), turn("html"))
        .collect::<Vec<_>>()
        .await
        .remove(0);
    assert!(e.is_err());
    let again = guarded
        .send_turn(&id(), turn("json"))
        .collect::<Vec<_>>()
        .await
        .remove(0);
    assert!(again.is_ok(), "{again:?}");
}

#[tokio::test]
async fn the_agent_of_a_conversation_is_read_and_checked() {
    let (client, script) = client_with(OrchestratorConfig {
        reply_timeout: Duration::from_millis(300),
        ..config()
    })
    .await;
    let agent = async |id: &str| client.agent(&ConversationId::parse(id).unwrap()).await;
    let known = agent("known").await.unwrap().unwrap();
    assert_eq!(known.agent_id.as_str(), "sales");
    assert_eq!(known.version.as_deref(), Some("2026-12-01.3"));
    let unversioned = agent("unversioned").await.unwrap().unwrap();
    assert_eq!(
        (unversioned.agent_id.as_str(), unversioned.version),
        ("support", None)
    );
    assert_eq!(agent("none").await.unwrap(), None, "404: not said");
    assert!(
        matches!(agent("bad").await, Err(OrchestratorError::Malformed(m)) if m.contains("agent_id"))
    );
    assert!(matches!(
        agent("garbage").await,
        Err(OrchestratorError::Malformed(_))
    ));
    assert!(matches!(
        agent("slow").await,
        Err(OrchestratorError::Timeout { .. })
    ));
    let seen = script.seen.lock().unwrap().clone();
    assert_eq!(seen[0].uri, "/api/v1/conversations/known/agent");
    assert!(
        seen.iter()
            .all(|s| s.auth.as_deref() == Some("Bearer sekrit-token"))
    );
}
