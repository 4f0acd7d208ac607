//! The built-in agent's behaviours, each through the port.

use futures_util::StreamExt;

use super::*;
use crate::domain::call::Direction;
use crate::domain::{AgentId, CallId, TenantId};

fn agent() -> BuiltinAgent {
    BuiltinAgent::new(&OrchestratorConfig::default()).unwrap()
}

fn conv() -> ConversationId {
    ConversationId::parse("builtin-c1").unwrap()
}

fn said(text: &str) -> Turn {
    Turn {
        text: text.to_owned(),
        ..Turn::default()
    }
}

/// The reply's text chunks (how many, and joined) and its actions; asserts
/// it ends with exactly one `Done` and holds no error.
async fn reply(agent: &BuiltinAgent, turn: Turn) -> (usize, String, Vec<Action>) {
    let parts: Vec<_> = agent.send_turn(&conv(), turn).collect().await;
    let (mut chunks, mut text, mut actions) = (0, String::new(), Vec::new());
    assert_eq!(parts.last(), Some(&Ok(ReplyPart::Done)));
    for p in &parts[..parts.len() - 1] {
        match p.clone().unwrap() {
            ReplyPart::Text(t) => {
                chunks += 1;
                text.push_str(&t);
            }
            ReplyPart::Action(a) => actions.push(a),
            ReplyPart::Done => panic!("two Done parts"),
        }
    }
    (chunks, text, actions)
}

#[tokio::test]
async fn greets_with_the_stock_or_configured_greeting() {
    let request = CreateConversation {
        call_id: CallId::parse("c1").unwrap(),
        tenant_id: TenantId::parse("t").unwrap(),
        agent_id: AgentId::parse("builtin").unwrap(),
        direction: Direction::Inbound,
        caller: None,
        callee: None,
        language: "en-US".into(),
        metadata: Default::default(),
    };
    let c = agent().create_conversation(request.clone()).await.unwrap();
    assert_eq!(c.conversation_id.as_str(), "builtin-c1");
    assert_eq!(c.greeting.as_deref(), Some(DEFAULT_GREETING));
    let custom = BuiltinAgent::new(&OrchestratorConfig {
        greeting: Some("Welcome to Acme.".into()),
        ..OrchestratorConfig::default()
    })
    .unwrap();
    let c = custom.create_conversation(request).await.unwrap();
    assert_eq!(c.greeting.as_deref(), Some("Welcome to Acme."));
}

#[tokio::test]
async fn repeats_back_what_it_heard_in_several_chunks() {
    let (chunks, text, actions) = reply(&agent(), said("I would like a pizza")).await;
    assert_eq!(text, "You said: I would like a pizza.");
    assert!(chunks >= 5, "{chunks} chunks");
    assert!(actions.is_empty());
    let (_, text, _) = reply(&agent(), said(" What time is it? ")).await;
    assert_eq!(text, "You said: What time is it?");
}

#[tokio::test]
async fn transfers_when_asked_for_a_person_or_billing() {
    let configured = BuiltinAgent::new(&OrchestratorConfig {
        transfer_target: "support".into(),
        ..OrchestratorConfig::default()
    })
    .unwrap();
    for (agent, words, target) in [
        (agent(), "Can I talk to a human please", "agents"),
        (agent(), "Operator!", "agents"),
        (agent(), "I have a question about Billing", "agents"),
        (agent(), "let me speak with one of your agents", "agents"),
        (configured, "a real person", "support"),
    ] {
        let (_, text, actions) = reply(&agent, said(words)).await;
        assert!(text.contains("transfer you"), "{words}: {text}");
        assert_eq!(
            actions,
            [Action::Transfer {
                target: TransferTarget::parse(target).unwrap()
            }],
            "{words}"
        );
    }
    assert!(
        BuiltinAgent::new(&OrchestratorConfig {
            transfer_target: "PJSIP/x,1".into(),
            ..OrchestratorConfig::default()
        })
        .is_err()
    );
}

#[tokio::test]
async fn says_goodbye_then_hangs_up() {
    for words in ["Goodbye.", "ok thanks, bye", "good bye then"] {
        let (_, text, actions) = reply(&agent(), said(words)).await;
        assert_eq!(text, "Goodbye!", "{words}");
        assert_eq!(actions, [Action::Hangup], "{words}");
    }
    // "by" is not "bye".
    let (_, _, actions) = reply(&agent(), said("stand by, maybe")).await;
    assert!(actions.is_empty());
}

#[tokio::test]
async fn reads_back_dtmf() {
    let turn = Turn {
        dtmf: Some("1".into()),
        ..Turn::default()
    };
    let (_, text, actions) = reply(&agent(), turn).await;
    assert_eq!(text, "You pressed 1.");
    assert!(actions.is_empty());
}

#[tokio::test]
async fn acknowledges_an_interruption_briefly() {
    let interrupted = |text: &str| Turn {
        text: text.to_owned(),
        interrupted: Some(true),
        heard_text: Some("Hello, this is".into()),
        ..Turn::default()
    };
    let (_, text, _) = reply(&agent(), interrupted("")).await;
    assert_eq!(text, "Sorry, go ahead.");
    let (_, text, _) = reply(&agent(), interrupted("wait a second")).await;
    assert_eq!(text, "Sorry, go ahead. You said: wait a second.");
    let (_, _, actions) = reply(&agent(), interrupted("bye")).await;
    assert_eq!(actions, [Action::Hangup]);
}

#[tokio::test]
async fn asks_again_on_an_empty_turn_and_accepts_transfer_notices() {
    let (_, text, _) = reply(&agent(), said("  ")).await;
    assert_eq!(text, "I didn't catch that. Could you say it again?");
    let target = TransferTarget::parse("agents").unwrap();
    agent().transfer(&conv(), &target).await.unwrap();
}

#[test]
fn chunks_keep_spaces_and_join_back() {
    assert_eq!(chunks("You said: hi."), ["You", " said:", " hi."]);
    assert_eq!(chunks("a  b").concat(), "a  b");
    assert!(chunks("").is_empty());
}
