//! One gateway on Redis, Kafka and PostgreSQL, driven through the simulator:
//! a DID added in PostgreSQL while it runs routes the next call; that call
//! leaves its live record in Redis (then a TTL), its events on the topic
//! (valid against the schemas) and its call record in PostgreSQL; with Redis
//! killed the next call still goes through and is written back afterwards.

use crate::support::{
    Engines, assert_started_to_ended, connect, consume, readyz, speech, types_of, until,
};
use crate::{metrics::metric, schemas::Schemas};
use redis::AsyncCommands;
use std::time::Duration;
use vg_asterisk_sim::{Outcome, SimConfig, Simulator};
use vg_testkit::RedisServer;
use voice_gateway::{
    adapter::config::load_from_str,
    application::ports::calls::{CallControl, OriginateCall},
    domain::{AgentId, E164, TenantId},
    server::Gateway,
};

const DID: &str = "+15551234567";
const CALLER: &str = "+15557654321";

fn rms(pcm: &[i16]) -> f64 {
    (pcm.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / pcm.len().max(1) as f64).sqrt()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_leaves_its_state_in_redis_events_in_kafka_and_its_record_in_postgres() {
    let mut engines = Engines::start().await;
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (user, pass) = sim.credentials();
    let spool = tempfile::tempdir().unwrap();
    let text = format!(
        "[http]\nlisten = \"127.0.0.1:0\"\n[ari]\nurl = \"{}\"\nusername = \"{user}\"\npassword = \"{pass}\"\n\
         [lifecycle]\ndrain_deadline = \"2s\"\n[speech]\nstt = \"fake\"\ntts = \"fake\"\n\
         [media]\nrtp_port_range = \"31200-31299\"\n\
         [dialing.tenants.acme]\ncaller_ids = [\"+1555000\"]\n{}",
        sim.base_url(),
        engines.toml(spool.path()),
    );
    let gw = Gateway::bind(load_from_str(&text, Vec::new()).unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", gw.local_addr());
    let admission = gw.state().admission.clone();
    let control = gw.control();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(gw.run(async {
        let _ = stopped.await;
    }));
    until("ready with redis and postgres up", 20, async || {
        let r = readyz(&base).await;
        r["status"] == "ready"
            && r["dependencies"]["redis"]["state"] == "up"
            && r["dependencies"]["postgres"]["state"] == "up"
            && r["dependencies"]["kafka"].is_object()
    })
    .await;

    // The gateway migrated the empty database; no DID routes yet.
    let sql = connect(&engines.pg.url("gw")).await;
    sim.place_inbound_call(DID, CALLER);
    until("the unrouted call to end", 20, async || {
        metric(&base, "voicegw_calls_ended_total{reason=\"unknown_did\"}").await == 1.0
    })
    .await;

    sql.batch_execute(&format!(
        "INSERT INTO tenants (id) VALUES ('acme');
         INSERT INTO dids (did_pattern, tenant_id, agent_id) VALUES ('{DID}', 'acme', 'builtin')"
    ))
    .await
    .unwrap();
    // The insert's NOTIFY reaches the gateway within moments; calls placed
    // before it lands are refused like the first one.
    let mut refused = 0;
    let call = loop {
        let call = sim.place_inbound_call(DID, CALLER);
        until("the call to be routed or refused", 20, async || {
            sim.call_ended(call) || rms(&sim.heard_pcm(call)) > 500.0
        })
        .await;
        if !sim.call_ended(call) {
            break call;
        }
        refused += 1;
        assert!(refused < 50, "the new DID never routed");
    };
    eprintln!("new DID routed after {refused} refused call(s), without a restart");

    // The live record, and the indexes per tenant and per instance.
    let mut r = redis::Client::open(engines.redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let live: Vec<String> = r.zrange("vg:acme:live", 0, -1).await.unwrap();
    assert_eq!(live.len(), 1, "one live call of acme: {live:?}");
    let call_id = live[0].clone();
    let key = format!("vg:acme:call:{call_id}");
    let gw_live: Vec<String> = r.zrange("vg:gw:gw-test:live", 0, -1).await.unwrap();
    assert_eq!(gw_live, [format!("acme:{call_id}")]);
    let state: String = r.hget(&key, "state").await.unwrap();
    assert!(["answered", "active"].contains(&state.as_str()), "{state}");
    let pttl: i64 = r.pttl(&key).await.unwrap();
    assert_eq!(pttl, -1, "no TTL while the call is live");

    // One turn, then the caller hangs up.
    let heard = sim.heard_pcm(call).len();
    assert!(sim.caller_say(call, &speech()));
    until("the reply to be heard", 30, async || {
        sim.heard_pcm(call).len() > heard + 8000
    })
    .await;
    sim.caller_hangup(call);
    until("the call to end", 20, async || admission.live_calls() == 0).await;

    // Redis: ended, out of the live indexes, expiring.
    let state: String = r.hget(&key, "state").await.unwrap();
    assert_eq!(state, "ended");
    let pttl: i64 = r.pttl(&key).await.unwrap();
    assert!(pttl > 0 && pttl <= 600_000, "TTL after the end: {pttl} ms");
    let live: Vec<String> = r.zrange("vg:acme:live", 0, -1).await.unwrap();
    assert!(live.is_empty(), "{live:?}");

    // PostgreSQL: the record, with the transcript of the turn and its figures.
    // Written from a queue after the end: wait for it.
    until("the call record", 20, async || {
        sql.query_opt("SELECT 1 FROM call_records WHERE call_id = $1", &[&call_id])
            .await
            .unwrap()
            .is_some()
    })
    .await;
    let row = sql
        .query_one(
            "SELECT tenant_id, direction, from_number, to_number, outcome,
                    answered_at IS NOT NULL AND ended_at >= answered_at, turns
             FROM call_records WHERE call_id = $1",
            &[&call_id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "acme");
    assert_eq!(row.get::<_, String>(1), "inbound");
    assert_eq!(row.get::<_, Option<String>>(2).as_deref(), Some(CALLER));
    assert_eq!(row.get::<_, Option<String>>(3).as_deref(), Some(DID));
    assert_eq!(row.get::<_, String>(4), "caller_hangup");
    assert!(row.get::<_, bool>(5));
    let turns: serde_json::Value = row.get(6);
    assert_eq!(turns[1]["caller"], "utterance 1", "{turns}");
    assert!(
        turns[1]["agent"].as_str().unwrap().contains("utterance 1"),
        "{turns}"
    );
    assert!(
        turns[1]["latency"]["total_ms"].as_f64().unwrap() > 0.0,
        "{turns}"
    );
    let unrouted: i64 = sql
        .query_one(
            "SELECT count(*) FROM call_records WHERE outcome = 'unknown_did'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(unrouted, 1 + refused);

    // An outbound call that is never answered has its record too.
    sim.set_outcome("+15550000001", Outcome::Busy);
    let busy = control
        .originate(OriginateCall {
            tenant: TenantId::parse("acme").unwrap(),
            to: E164::parse("+15550000001").unwrap(),
            from: Some(E164::parse("+15550001111").unwrap()),
            agent: Some(AgentId::parse("builtin").unwrap()),
            ring_timeout: Duration::from_secs(30),
            metadata: Default::default(),
            detect_machine: None,
        })
        .await
        .unwrap();
    let busy_id = busy.call_id.as_str().to_owned();
    until("the busy call's record", 20, async || {
        sql.query_opt(
            "SELECT 1 FROM call_records WHERE call_id = $1 AND outcome = 'busy'
               AND direction = 'outbound' AND answered_at IS NULL
               AND from_number = '+15550001111' AND to_number = '+15550000001'",
            &[&busy_id],
        )
        .await
        .unwrap()
        .is_some()
    })
    .await;

    // Kafka: every event of the call, in order, each valid against its schema.
    let (bootstrap, topic, id) = (
        engines.broker.bootstrap(),
        engines.topic.clone(),
        call_id.clone(),
    );
    let records = tokio::task::spawn_blocking(move || {
        consume(&bootstrap, &topic, Duration::from_secs(60), |rs| {
            types_of(rs, &id).last().is_some_and(|t| t == "call.ended")
        })
    })
    .await
    .unwrap();
    let schemas = Schemas::load();
    for rec in &records {
        schemas.check(&rec.value).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rec.value["subject"], rec.key.as_str(), "key = call id");
    }
    let types = types_of(&records, &call_id);
    assert_started_to_ended(&types);
    assert!(types.iter().any(|t| t == "stt.transcribed"), "{types:?}");
    let ended = &records
        .iter()
        .rev()
        .find(|r| r.key == call_id)
        .unwrap()
        .value;
    assert_eq!(ended["data"]["tenant_id"], "acme");
    assert_eq!(readyz(&base).await["dependencies"]["kafka"]["state"], "up");

    // Redis killed: the next call still goes through, on memory, and its
    // record is written back once Redis is there again.
    let port = engines.redis.port();
    engines.redis.kill().unwrap();
    let call = sim.place_inbound_call(DID, CALLER);
    until("the greeting without redis", 30, async || {
        rms(&sim.heard_pcm(call)) > 500.0
    })
    .await;
    until("redis degraded", 20, async || {
        let r = readyz(&base).await;
        r["status"] == "ready" && r["dependencies"]["redis"]["state"] == "degraded"
    })
    .await;
    sim.caller_hangup(call);
    until("the call to end", 20, async || admission.live_calls() == 0).await;
    engines.redis = RedisServer::start_on(port).unwrap();
    let mut r = redis::Client::open(engines.redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    until("the record to be written back", 30, async || {
        let keys: Vec<String> = r.keys("vg:acme:call:*").await.unwrap_or_default();
        keys.len() == 1
    })
    .await;
    until("redis up again", 20, async || {
        readyz(&base).await["dependencies"]["redis"]["state"] == "up"
    })
    .await;

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
