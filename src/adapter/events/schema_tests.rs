//! Every variant of [`EventData`], in the envelope the publishers send, against
//! `schemas/events/<type>.json`; and one schema per catalog type, no more.

use super::envelope;
use crate::{
    application::ports::events::CallEvent,
    domain::{
        AgentId, CallId, Did, E164, TenantId, TransferMode, TransferTarget,
        call::{Direction, EndReason},
        events::*,
        screening::AnsweredBy,
    },
};
use serde_json::Value;
use std::{collections::BTreeSet, path::PathBuf, time::SystemTime};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas/events")
}

fn compile(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(dir().join(name))
        .unwrap_or_else(|e| panic!("schemas/events/{name}: {e}"));
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("schemas/events/{name} does not compile: {e}"))
}

fn targets() -> [TransferTarget; 3] {
    ["+15551234567", "100", "agents"].map(|t| TransferTarget::parse(t).unwrap())
}

/// Representative and edge values of each type's data (optional fields
/// absent and present). The match makes a new type need samples here.
fn samples(t: EventType) -> Vec<EventData> {
    let ended = |reason, conversation, providers: Option<Providers>| {
        EventData::CallEnded(Ended {
            reason,
            duration_ms: 0,
            answered: false,
            turns: 0,
            conversation,
            // A call that chose its providers also carries a trace id here.
            trace_id: providers
                .as_ref()
                .map(|_| "4bf92f3577b34da6a3ce929d0e0e4736".to_owned()),
            providers,
        })
    };
    let providers = || Providers {
        stt_providers: vec!["deepgram".into(), "wyoming".into()],
        tts_providers: vec!["openai".into()],
    };
    let escalated = |status: Escalation| {
        targets().into_iter().flat_map(move |target| {
            let status = status.clone();
            [TransferMode::Blind, TransferMode::Attended].map(|mode| {
                EventData::CallEscalated(Escalated {
                    target: target.clone(),
                    mode,
                    status: status.clone(),
                })
            })
        })
    };
    match t {
        EventType::CallStarted => vec![
            EventData::CallStarted(Started::Inbound {
                did: Did::parse("+15557654321").unwrap(),
                caller_number: "+15551234567".into(),
            }),
            EventData::CallStarted(Started::Inbound {
                did: Did::parse("100").unwrap(),
                caller_number: String::new(),
            }),
            EventData::CallStarted(Started::Outbound {
                to: E164::parse("+15551234567").unwrap(),
                from: Some(E164::parse("+15557654321").unwrap()),
                metadata: [("crm".to_owned(), "42".to_owned())].into(),
            }),
            EventData::CallStarted(Started::Outbound {
                to: E164::parse("+15551234567").unwrap(),
                from: None,
                metadata: Default::default(),
            }),
        ],
        EventType::CallRinging => vec![EventData::CallRinging {}],
        EventType::CallAnswered => vec![
            EventData::CallAnswered(Answered::default()),
            EventData::CallAnswered(Answered {
                transport: Some("audiosocket"),
                stt_providers: vec!["deepgram".into(), "wyoming".into()],
                tts_providers: vec!["polly".into()],
            }),
        ],
        EventType::CallEnded => vec![
            ended(EndReason::NoAnswer, None, None),
            ended(
                EndReason::CallerHangup,
                Some(Conversation {
                    barge_ins: 2,
                    latency: vec![
                        TurnLatency::default(),
                        TurnLatency {
                            stt_ms: Some(120.0),
                            agent_ms: Some(401.2),
                            tts_ms: Some(180.0),
                            media_ms: Some(0.4),
                            total_ms: Some(830.5),
                        },
                    ],
                }),
                Some(providers()),
            ),
            ended(
                EndReason::Error("stt: refused".into()),
                Some(Conversation {
                    barge_ins: 0,
                    latency: vec![],
                }),
                None,
            ),
        ],
        EventType::SttTranscribed => vec![
            EventData::SttTranscribed(Transcribed {
                text: "I'd like to check my order".into(),
                confidence: Some(0.93),
                turn: 1,
            }),
            EventData::SttTranscribed(Transcribed {
                text: "[redacted]".into(),
                confidence: None,
                turn: 12,
            }),
        ],
        EventType::AgentResponded => vec![
            EventData::AgentResponded(Responded::Reply {
                text: "Sure, what is the order number?".into(),
                latency_ms: Some(412.5),
            }),
            EventData::AgentResponded(Responded::Reply {
                text: "Sure.".into(),
                latency_ms: None,
            }),
            EventData::AgentResponded(Responded::NothingToSay),
            EventData::AgentResponded(Responded::Prompt),
        ],
        EventType::TtsGenerated => vec![
            EventData::TtsGenerated(Generated {
                text: "Hello, how can I help?".into(),
                audio_ms: 1_840,
                latency: Some(crate::domain::events::TurnLatency {
                    stt_ms: Some(210.5),
                    agent_ms: None,
                    tts_ms: Some(80.0),
                    media_ms: Some(1.5),
                    total_ms: Some(640.25),
                }),
            }),
            EventData::TtsGenerated(Generated {
                text: String::new(),
                audio_ms: 0,
                latency: None,
            }),
        ],
        EventType::CallBargein => vec![
            EventData::CallBargein(BargeIn {
                heard_text: "Your order".into(),
                heard_ms: 600,
                dropped_ms: 1_400,
                delay_ms: Some(41.5),
                caller_text: None,
                latency: Some(crate::domain::events::TurnLatency::default()),
            }),
            EventData::CallBargein(BargeIn {
                heard_text: "Let me".into(),
                heard_ms: 400,
                dropped_ms: 900,
                delay_ms: Some(12.0),
                caller_text: Some("wait, I meant Tuesday".into()),
                latency: None,
            }),
            EventData::CallBargein(BargeIn {
                heard_text: String::new(),
                heard_ms: 0,
                dropped_ms: 0,
                delay_ms: None,
                caller_text: None,
                latency: None,
            }),
        ],
        EventType::CallScreened => [
            (AnsweredBy::Human, "short_greeting", "converse"),
            (AnsweredBy::Machine, "beep", "message"),
            (AnsweredBy::Machine, "long_greeting", "hangup"),
            (AnsweredBy::Machine, "many_utterances", "continue"),
            (AnsweredBy::Unknown, "silence", "converse"),
            (AnsweredBy::Unknown, "timeout", "converse"),
        ]
        .map(|(answered_by, reason, action)| {
            EventData::CallScreened(Screened {
                answered_by,
                reason,
                decision_ms: 1800,
                action,
            })
        })
        .into(),
        EventType::CallDtmf => "0123456789ABCD*#"
            .chars()
            .map(|digit| {
                EventData::CallDtmf(Dtmf {
                    digit: Some(digit),
                    masked: false,
                })
            })
            .chain([EventData::CallDtmf(Dtmf {
                digit: None,
                masked: true,
            })])
            .collect(),
        EventType::CallTransferred => targets()
            .into_iter()
            .flat_map(|target| {
                [TransferMode::Blind, TransferMode::Attended].map(|mode| {
                    EventData::CallTransferred(Transferred {
                        target: target.clone(),
                        mode,
                    })
                })
            })
            .collect(),
        EventType::CallEscalated => escalated(Escalation::Started)
            .chain(escalated(Escalation::Failed {
                outcome: TransferFailure::Failed,
                error: Some("ari: 404 channel not found".into()),
            }))
            .chain(escalated(Escalation::Failed {
                outcome: TransferFailure::Busy,
                error: None,
            }))
            .chain(escalated(Escalation::Failed {
                outcome: TransferFailure::NoAnswer,
                error: None,
            }))
            .collect(),
        EventType::SttFailed => vec![
            EventData::SttFailed(SttFailed {
                error: "stream reset".into(),
                attempt: Some(1),
                providers: vec!["deepgram".into()],
            }),
            EventData::SttFailed(SttFailed {
                error: "connection refused".into(),
                attempt: None,
                providers: vec![],
            }),
        ],
        EventType::LlmTimeout => vec![EventData::LlmTimeout(LlmTimeout {
            error: "timed out after 8s".into(),
        })],
        EventType::TtsFailed => vec![
            EventData::TtsFailed(TtsFailed {
                error: "429 too many requests".into(),
                prompt: true,
                providers: vec!["openai".into(), "elevenlabs".into()],
            }),
            EventData::TtsFailed(TtsFailed {
                error: "closed".into(),
                prompt: false,
                providers: vec![],
            }),
        ],
    }
}

/// The common fields as the session (inbound, routed or not; outbound) and
/// the router (outbound, before its session) set them.
fn contexts() -> [CallContext; 4] {
    let agent = Some(AgentId::parse("sales.v2").unwrap());
    [
        CallContext {
            direction: Direction::Inbound,
            channel_id: Some("1795241008.163".into()),
            agent_id: agent.clone(),
        },
        CallContext {
            direction: Direction::Inbound,
            channel_id: Some("1795241008.164".into()),
            agent_id: None,
        },
        CallContext {
            direction: Direction::Outbound,
            channel_id: Some("vg-o-5f0c".into()),
            agent_id: agent.clone(),
        },
        CallContext {
            direction: Direction::Outbound,
            channel_id: None,
            agent_id: agent,
        },
    ]
}

#[test]
fn every_schema_is_a_catalog_type_and_every_type_has_one() {
    let files: BTreeSet<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "envelope.json")
        .collect();
    let types: BTreeSet<String> = EventType::ALL
        .iter()
        .map(|t| format!("{}.json", t.as_str()))
        .collect();
    assert_eq!(
        files, types,
        "schemas/events/ and EventType::ALL differ (a schema without a type, or a type without a schema)"
    );
}

#[test]
fn every_event_data_variant_validates_against_its_schema() {
    let envelope_schema = compile("envelope.json");
    let (call, tenant) = (
        CallId::parse("c-42").unwrap(),
        TenantId::parse("acme").unwrap(),
    );
    let mut failures = Vec::new();
    let mut checked = 0;
    for t in EventType::ALL {
        let schema = compile(&format!("{}.json", t.as_str()));
        let samples = samples(t);
        assert!(!samples.is_empty(), "no sample of {t}");
        for data in samples {
            assert_eq!(data.event_type(), t, "{data:?} sampled as {t}");
            for context in contexts() {
                let ev = CallEvent::of(
                    call.clone(),
                    tenant.clone(),
                    SystemTime::now(),
                    &context,
                    &data,
                )
                .numbered(checked as u64 + 1);
                let env = envelope(&ev, "gw-1");
                assert!(env["data"].is_object(), "{env}");
                let errors = envelope_schema
                    .iter_errors(&env)
                    .chain(schema.iter_errors(&env["data"]))
                    .map(|e| format!("{e} at {}", e.instance_path()))
                    .collect::<Vec<_>>();
                if !errors.is_empty() {
                    failures.push(format!("{t} {}: {}", env["data"], errors.join("; ")));
                }
                checked += 1;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > EventType::ALL.len() * contexts().len());
}
