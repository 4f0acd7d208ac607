use super::*;
use serde_json::json;
use std::time::{Duration, UNIX_EPOCH};

fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + ms)
}

fn ev(call: &str, tenant: &str, kind: EventType, ms: u64, data: Value) -> CallEvent {
    CallEvent::new(
        kind,
        CallId::parse(call).unwrap(),
        TenantId::parse(tenant).unwrap(),
        at(ms),
        data,
    )
}

fn conversation(hub: &ConsoleHub, call: &str, tenant: &str) {
    let d = json!({"direction": "inbound", "did": "+15557654321", "caller_number": "+15551234567"});
    hub.observe(&ev(call, tenant, EventType::CallStarted, 0, d));
    let answered = json!({"transport": "rtp", "stt_providers": ["wyoming", "fake"], "tts_providers": ["fake"]});
    hub.observe(&ev(call, tenant, EventType::CallAnswered, 10, answered));
    hub.observe(&ev(
        call,
        tenant,
        EventType::AgentResponded,
        20,
        json!({"text": "Hello", "latency_ms": 5.0}),
    ));
    hub.observe(&ev(
        call,
        tenant,
        EventType::TtsGenerated,
        900,
        json!({"text": "Hello there.", "audio_ms": 800, "latency": {"agent_ms": 5.0, "total_ms": 40.0}}),
    ));
    hub.observe(&ev(
        call,
        tenant,
        EventType::SttTranscribed,
        2000,
        json!({"text": "my card is ****", "turn": 1}),
    ));
    hub.observe(&ev(
        call,
        tenant,
        EventType::AgentResponded,
        2100,
        json!({"text": "Sure.", "latency_ms": 40.0}),
    ));
    hub.observe(&ev(
        call,
        tenant,
        EventType::CallBargein,
        2500,
        json!({"heard_text": "Sure", "heard_ms": 300, "dropped_ms": 10, "delay_ms": 120.5, "latency": {"stt_ms": 3.0, "total_ms": 99.0}}),
    ));
    hub.observe(&ev(
        call,
        tenant,
        EventType::CallDtmf,
        2600,
        json!({"masked": true}),
    ));
}

#[test]
fn a_call_is_live_with_masked_numbers_until_its_end_then_kept_with_its_figures() {
    let hub = ConsoleHub::default();
    let mut updates = hub.subscribe();
    conversation(&hub, "c1", "acme");
    let live = hub.live(&Visibility::All);
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].state, "active");
    assert_eq!(live[0].turn, 1);
    assert_eq!(live[0].from.as_deref(), Some("+1******4567"));
    // The transport and the providers, live from `call.answered`.
    assert_eq!(live[0].transport.as_deref(), Some("rtp"));
    assert_eq!(live[0].stt_providers, ["wyoming", "fake"]);
    assert_eq!(live[0].tts_providers, ["fake"]);
    assert_eq!(updates.try_recv().unwrap().state, "ringing");

    let figures = json!([{"agent_ms": 5.0, "total_ms": 40.0}, {"stt_ms": 3.0, "total_ms": 99.0},
                         {"stt_ms": 7.0, "total_ms": 70.0}]);
    let ended = json!({"reason": "caller_hangup", "duration_ms": 2600, "turns": 1, "latency": figures,
                       "stt_providers": ["fake"], "tts_providers": ["fake"]});
    hub.observe(&ev("c1", "acme", EventType::CallEnded, 2700, ended));
    assert!(hub.live(&Visibility::All).is_empty());
    let d = hub
        .call(&Visibility::All, &CallId::parse("c1").unwrap())
        .unwrap();
    assert_eq!(d.row.end_reason.as_deref(), Some("caller_hangup"));
    assert_eq!(d.exchanges.len(), 3, "{:?}", d.exchanges);
    assert_eq!(d.exchanges[0].agent.as_deref(), Some("Hello there."));
    assert_eq!(d.exchanges[0].latency, Some(figures[0].clone()));
    assert_eq!(d.exchanges[1].caller.as_deref(), Some("my card is ****"));
    assert_eq!(
        d.exchanges[1].barge_in.as_ref().unwrap().delay_ms,
        Some(120.5)
    );
    assert_eq!(d.exchanges[1].latency, Some(figures[1].clone()));
    assert_eq!(
        d.exchanges[2].latency,
        Some(figures[2].clone()),
        "a reply the end cut short gets call.ended's last entry"
    );
    assert_eq!(d.notes[0].text, "key pressed (masked)");
    let l = hub.latency(&Visibility::All, at(3000), 5);
    assert_eq!(l[0].stages[0].count, 3);
    assert_eq!(l[0].stages[0].p90, Some(99.0));
}

#[test]
fn a_tenant_sees_only_its_own_calls_and_figures() {
    let hub = ConsoleHub::default();
    conversation(&hub, "a1", "acme");
    conversation(&hub, "g1", "globex");
    let acme = Visibility::Tenant(TenantId::parse("acme").unwrap());
    let rows = hub.live(&acme);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].call_id.as_str(), "a1");
    assert!(hub.call(&acme, &CallId::parse("g1").unwrap()).is_none());
    assert_eq!(hub.live(&Visibility::All).len(), 2);
    let end = json!({"reason": "caller_hangup", "duration_ms": 1, "turns": 0, "latency": [{"total_ms": 5.0}]});
    hub.observe(&ev("g1", "globex", EventType::CallEnded, 3000, end));
    assert!(hub.recent(&acme, 10).is_empty());
    let tenants = |l: Vec<TenantLatency>| -> Vec<String> {
        l.into_iter().map(|t| t.tenant_id.to_string()).collect()
    };
    assert_eq!(tenants(hub.latency(&acme, at(3000), 60)), ["acme"]);
    assert_eq!(
        tenants(hub.latency(&Visibility::All, at(3000), 60)),
        ["acme", "globex"]
    );
}

#[test]
fn a_reply_counts_in_the_charts_as_it_plays_and_once_only() {
    let hub = ConsoleHub::default();
    conversation(&hub, "c1", "acme");
    // Still live: the greeting's and the cut reply's figures are in.
    let l = hub.latency(&Visibility::All, at(3000), 5);
    assert_eq!(l[0].stages[0].count, 2, "{l:?}");
    assert_eq!(l[0].stages[0].p90, Some(99.0));
    let figures = json!([{"agent_ms": 5.0, "total_ms": 40.0}, {"stt_ms": 3.0, "total_ms": 99.0},
                         {"stt_ms": 7.0, "total_ms": 70.0}]);
    let ended = json!({"reason": "caller_hangup", "latency": figures});
    hub.observe(&ev("c1", "acme", EventType::CallEnded, 2700, ended));
    let l = hub.latency(&Visibility::All, at(3000), 5);
    assert_eq!(
        l[0].stages[0].count, 3,
        "the end adds the cut-short reply only"
    );
}

#[test]
fn ended_calls_kept_are_bounded() {
    let hub = ConsoleHub::default();
    for i in 0..ENDED_KEPT + 3 {
        let id = format!("c{i}");
        hub.observe(&ev(
            &id,
            "acme",
            EventType::CallEnded,
            i as u64,
            json!({"reason": "x"}),
        ));
    }
    let recent = hub.recent(&Visibility::All, usize::MAX);
    assert_eq!(recent.len(), ENDED_KEPT);
    assert_eq!(recent[0].call_id.as_str(), format!("c{}", ENDED_KEPT + 2));
}

#[test]
fn a_late_event_of_an_ended_call_does_not_bring_it_back() {
    let hub = ConsoleHub::default();
    conversation(&hub, "c1", "acme");
    hub.observe(&ev(
        "c1",
        "acme",
        EventType::CallEnded,
        3000,
        json!({"reason": "caller_hangup"}),
    ));
    hub.observe(&ev(
        "c1",
        "acme",
        EventType::SttTranscribed,
        3001,
        json!({"text": "late", "turn": 2}),
    ));
    assert!(hub.live(&Visibility::All).is_empty());
    let d = hub
        .call(&Visibility::All, &CallId::parse("c1").unwrap())
        .unwrap();
    assert_eq!(d.exchanges.last().unwrap().caller.as_deref(), Some("late"));
}

mod from_the_history {
    use super::*;
    use crate::{
        application::ports::history::{BargeInRecord, CallRecord, TurnRecord},
        domain::{call::Direction, call::EndReason, events::TurnLatency},
    };

    fn turn(caller: Option<&str>, agent: Option<&str>, latency: TurnLatency) -> TurnRecord {
        TurnRecord {
            caller: caller.map(Into::into),
            agent: agent.map(Into::into),
            interrupted: false,
            barge_in: None,
            latency,
        }
    }

    fn record(turns: Vec<TurnRecord>) -> CallRecord {
        CallRecord {
            call_id: CallId::parse("old").unwrap(),
            tenant: TenantId::parse("acme").unwrap(),
            direction: Direction::Inbound,
            from: Some("+15551234567".into()),
            to: Some("+15557654321".into()),
            started_at: at(0),
            answered_at: Some(at(500)),
            ended_at: at(10_500),
            reason: EndReason::CallerHangup,
            turns,
        }
    }

    const REPLY: TurnLatency = TurnLatency {
        stt_ms: Some(120.0),
        agent_ms: Some(300.0),
        tts_ms: Some(80.0),
        media_ms: Some(2.5),
        total_ms: Some(502.5),
    };

    #[test]
    fn a_record_becomes_the_page_with_its_figures_and_what_it_lacks() {
        let greeting = TurnLatency {
            agent_ms: Some(5.0),
            total_ms: Some(40.0),
            ..TurnLatency::default()
        };
        let mut cut = turn(Some("my card is **** 1111"), Some("Sure"), REPLY);
        cut.interrupted = true;
        cut.barge_in = Some(BargeInRecord {
            heard_ms: 300,
            delay_ms: Some(42.5),
        });
        let r = record(vec![
            turn(None, Some("Hello there."), greeting),
            cut,
            turn(Some("[DTMF 5]"), None, TurnLatency::default()),
            turn(Some("bye"), Some("Goodbye."), REPLY),
        ]);
        let page = CallDetail::from_record(&r);
        let json = serde_json::to_value(&page).unwrap();
        assert_eq!(json["source"], "history");
        assert_eq!(json["state"], "ended");
        assert_eq!(json["end_reason"], "caller_hangup");
        assert_eq!(json["from"], "+1******4567", "numbers masked like the logs");
        assert_eq!(
            json["duration_ms"], 10_000,
            "from the answer, as call.ended"
        );
        assert_eq!(json["turn"], 2, "the keys are no spoken turn");
        let latency = serde_json::to_value([greeting, REPLY, REPLY]).unwrap();
        assert_eq!(json["latency"], latency, "call.ended's list, in order");
        let ex = &json["exchanges"];
        assert_eq!(ex[0]["caller"], Value::Null);
        assert_eq!(ex[1]["turn"], 1);
        assert_eq!(ex[1]["barge_in"]["delay_ms"], 42.5);
        assert_eq!(ex[1]["barge_in"]["heard_text"], "Sure");
        assert_eq!(ex[1]["barge_in"]["heard_ms"], 300);
        assert_eq!(ex[2]["caller"], "[keys pressed, masked]", "no key shown");
        assert_eq!(ex[2]["latency"], Value::Null);
        assert_eq!(ex[3]["turn"], 2);
        assert_eq!(ex[3]["agent_ms"], 300.0);
        assert_eq!(
            json["not_recorded"],
            json!(["agent_id", "transport_and_providers", "notes"])
        );
    }

    #[test]
    fn without_transcripts_the_turns_keep_their_figures_and_say_so() {
        let mut old = turn(None, None, REPLY);
        // A barge-in stored before its figures were kept.
        old.interrupted = true;
        let page = CallDetail::from_record(&record(vec![old]).without_transcripts());
        let json = serde_json::to_value(&page).unwrap();
        assert_eq!(json["exchanges"][0]["caller"], "", "a turn with no text");
        assert_eq!(json["exchanges"][0]["turn"], 1);
        assert_eq!(json["exchanges"][0]["barge_in"]["delay_ms"], Value::Null);
        let missing = json["not_recorded"].as_array().unwrap();
        assert!(missing.contains(&json!("transcripts")), "{missing:?}");
        assert!(missing.contains(&json!("barge_in_figures")), "{missing:?}");
    }
}

/// The map of live calls grown for a load's peak gives its room back once
/// the calls have ended.
#[test]
fn the_live_calls_map_shrinks_after_a_peak() {
    let hub = ConsoleHub::default();
    for i in 0..2_000u64 {
        hub.observe(&ev(
            &format!("c{i}"),
            "acme",
            EventType::CallStarted,
            i,
            json!({}),
        ));
    }
    let peak = hub.lock().live.capacity();
    for i in 0..2_000u64 {
        hub.observe(&ev(
            &format!("c{i}"),
            "acme",
            EventType::CallEnded,
            2_000 + i,
            json!({"reason": "x"}),
        ));
    }
    let state = hub.lock();
    assert!(state.live.is_empty());
    assert!(
        peak >= 2_000 && state.live.capacity() <= 128,
        "{peak} -> {}",
        state.live.capacity()
    );
}
