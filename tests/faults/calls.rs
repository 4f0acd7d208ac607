//! Fault scenarios of the call path (see main.rs), against the Asterisk
//! simulator with the events counted on Kafka (tansu).
//!
//! Each scenario first runs one fault-free control call of the script, which
//! must publish exactly the events the expectation counts per call; the
//! expectation is then the script's, never what was read back.

#![allow(clippy::disallowed_methods)] // tests read the clock to wait

#[path = "support_calls.rs"]
mod support;

use support::{
    EVENTS_PER_CALL, EVENTS_PER_TURN, Orchestrator, Reply, Stage, Wyoming, metric, metric_sum,
};
use vg_testkit::faults::Scale;

/// Cuts the events socket and waits for the gateway to connect again.
async fn cut(stage: &Stage) {
    let connects = metric(&stage.base, "voicegw_ari_connects_total").await;
    stage.sim.drop_events_socket("voice-gateway");
    stage
        .until("the events socket back", 20, async |s| {
            metric(&s.base, "voicegw_ari_connects_total").await > connects
        })
        .await;
}

/// The ARI events socket cut 100 times (small: 5) while calls are up: before
/// their turn, while it is heard and answered, and at last together with the
/// callers' hangups, whose events Asterisk then sends to no one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_socket_cut_100x() {
    let scale = Scale::from_env();
    let (n, cuts) = (scale.pick(4, 100), scale.pick(5, 100));
    let stage = Stage::start(Orchestrator::start(|_, _| Reply::Echo).await, "").await;
    let control = stage.control_call().await;
    let calls = stage.place(n).await;
    let half = cuts / 2;
    for _ in 0..half {
        cut(&stage).await;
    }
    for c in &calls {
        stage.sim.caller_say(*c, &support::speech());
    }
    for _ in half..cuts - 1 {
        cut(&stage).await;
    }
    let answers = 1 + n;
    stage
        .until("every answer", 90, async |s| {
            s.topic.count("tts.generated") >= 2 * answers
        })
        .await;
    assert_eq!(stage.admission.live_calls(), n, "every call kept");
    // The last cut with the hangups: their events go nowhere, only the
    // resync after the reconnect can end the calls.
    stage.sim.drop_events_socket("voice-gateway");
    stage.hang_up(&calls).await;
    let expected = n as u64 * EVENTS_PER_CALL;
    stage.delivered(expected + EVENTS_PER_CALL, n + 1).await;
    let ends = stage.topic.reasons(std::slice::from_ref(&control));
    stage
        .topic
        .tally_without(&[control])
        .outcome("events-socket-cut-100x", n as u64, expected)
        .note(format!(
            "{n} calls kept through {cuts} cuts of the ARI events socket, each turn answered; \
             the last cut came with every hangup (ended: {ends})"
        ))
        .check();
    stage.stop().await;
}

/// Asterisk restarted while calls are up: some after their turn, some still
/// before it. Every channel is gone; the gateway hears nothing of it (its
/// socket dropped just before), reconnects once Asterisk is booted, and the
/// resync ends every call with `call.ended`. A call placed after the restart goes
/// through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asterisk_restarted() {
    let scale = Scale::from_env();
    let (talked, greeted) = (scale.pick(3, 60), scale.pick(2, 40));
    let stage = Stage::start(Orchestrator::start(|_, _| Reply::Echo).await, "").await;
    let control = stage.control_call().await;
    let first = stage.place(talked).await;
    stage.speak(&first).await;
    let _greeted_only = stage.place(greeted).await;
    assert_eq!(stage.admission.live_calls(), talked + greeted);
    // The socket is lost first, so the restart's hangups reach no one: only
    // the resync after the reconnect can tell which calls died.
    stage.sim.drop_events_socket("voice-gateway");
    stage.sim.restart(std::time::Duration::from_millis(500));
    stage.settled().await;
    stage
        .until("ready again", 30, async |s| s.ready().await)
        .await;
    // After the restart, a whole call again.
    let after = stage.place(1).await;
    stage.speak(&after).await;
    stage.hang_up(&after).await;
    // A greeted call that never spoke: started, answered, the greeting, ended.
    let expected = (talked as u64 + 1) * EVENTS_PER_CALL + greeted as u64 * 4;
    stage
        .delivered(expected + EVENTS_PER_CALL, talked + greeted + 2)
        .await;
    let ends = stage.topic.reasons(std::slice::from_ref(&control));
    let n = (talked + greeted + 1) as u64;
    stage
        .topic
        .tally_without(&[control])
        .outcome("asterisk-restarted", n, expected)
        .note(format!(
            "the simulator restarted (500 ms boot, its hangups unheard) with {} calls up ({talked} after their turn, \
             {greeted} before it), then one more call went through (ended: {ends})",
            talked + greeted
        ))
        .check();
    stage.stop().await;
}

/// The orchestrator fails every turn: half its conversations answer 500,
/// the other half hang past the 5 s reply timeout. Every caller hears the
/// fallback sentence (`error.llm_timeout`); once the breaker is open, turns
/// are not even asked (none of the second wave's). Then every caller hangs up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orchestrator_500s_and_hanging() {
    let scale = Scale::from_env();
    let n = scale.pick(12, 120);
    let orch = Orchestrator::start(|conv, _| match conv {
        0 => Reply::Echo,
        c if c % 2 == 0 => Reply::Status(500),
        _ => Reply::Hang,
    })
    .await;
    let stage = Stage::start(orch, "").await;
    let control = stage.control_call().await;
    let calls = stage.place(n).await;
    let (first, second) = calls.split_at(n / 2);
    stage.speak(first).await;
    stage.speak(second).await;
    // Once five turns in a row failed, the breaker stops asking (bar one
    // probe per 30 s cool-down).
    let skipped = 1 + n - stage.orch.turns_asked();
    assert!(skipped >= second.len(), "{skipped} turns not asked");
    stage.hang_up(&calls).await;
    // The turn's agent.responded is the fallback's, and error.llm_timeout
    // says why: at least that. On a starved machine a synthesis may also
    // miss its first-byte timeout (error.tts_failed, one more event, not a
    // loss), so what must arrive is what the gateway says it published.
    let scripted = n as u64 * (EVENTS_PER_CALL + 1);
    let expected = stage.published().await - EVENTS_PER_CALL;
    assert!(
        expected >= scripted,
        "{expected} events published, {scripted} scripted"
    );
    stage.delivered(expected + EVENTS_PER_CALL, n + 1).await;
    let extra = stage.topic.unscripted(&control);
    stage
        .topic
        .tally_without(&[control])
        .outcome("orchestrator-500s-and-hanging", n as u64, expected)
        .note(format!(
            "every turn of {n} calls failed (500, or no answer within the 5 s reply timeout): each \
             caller heard the fallback sentence; with the breaker open, {skipped} turns were \
             answered without asking the orchestrator; {} events beyond the script's {scripted} \
             (by type: {})",
            expected - scripted,
            extra
        ))
        .check();
    stage.stop().await;
}

/// Another process takes the Stasis app over while calls are up: `/readyz`
/// turns red, and every call ends with `call.ended` (the instance can no
/// longer hear their hangups), nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_replaced() {
    let scale = Scale::from_env();
    let n = scale.pick(4, 100);
    let stage = Stage::start(Orchestrator::start(|_, _| Reply::Echo).await, "").await;
    let control = stage.control_call().await;
    let calls = stage.place(n).await;
    stage.speak(&calls).await;
    let (user, pass) = stage.sim.credentials();
    let url = format!(
        "{}?app=voice-gateway&api_key={user}:{pass}",
        stage.sim.ws_url()
    );
    let _thief = tokio_tungstenite::connect_async(url)
        .await
        .expect("a second events socket");
    stage
        .until("/readyz red", 20, async |s| !s.ready().await)
        .await;
    // Their hangups go to the other connection: each call ends once its
    // channel is found gone.
    stage.hang_up(&calls).await;
    assert!(!stage.ready().await, "/readyz stays red");
    let expected = n as u64 * EVENTS_PER_CALL;
    stage.delivered(expected + EVENTS_PER_CALL, n + 1).await;
    let ends = stage.topic.reasons(std::slice::from_ref(&control));
    stage
        .topic
        .tally_without(&[control])
        .outcome("application-replaced", n as u64, expected)
        .note(format!(
            "a second events socket took the Stasis app with {n} calls up: /readyz red, the \
             callers' hangups unheard, each call ended once its channel was found gone (ended: \
             {ends})"
        ))
        .check();
    stage.stop().await;
}

/// Speech recognition and synthesis on a Wyoming server (with the in-process
/// fakes as their fallbacks) that starts dropping every connection in the
/// middle of the calls' second turn: utterances being streamed and
/// syntheses asked for are cut. Each call's turn is still heard and answered,
/// without an error event, and the calls end normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stt_tts_failing_mid_call() {
    let scale = Scale::from_env();
    let n = scale.pick(4, 100);
    let wyoming = Wyoming::start().await;
    let speech = format!(
        "[speech]\nstt = \"wyoming\"\ntts = \"wyoming\"\nstt_fallback = [\"fake\"]\n\
         tts_fallback = [\"fake\"]\n[speech.wyoming]\nstt = \"{0}\"\ntts = \"{0}\"\n{1}",
        wyoming.address,
        support::FAKE_STT_PATIENCE
    );
    let orch = Orchestrator::start(|_, _| Reply::Echo).await;
    let stage = Stage::start_speaking(orch, &speech, "", Vec::new()).await;
    let control = stage.control_call().await;
    let calls = stage.place(n).await;
    stage.speak(&calls).await;
    let before = stage.topic.count("tts.generated");
    for c in &calls {
        stage.sim.caller_say(*c, &support::speech());
    }
    wyoming.fail();
    stage
        .until("every second answer", 90, async |s| {
            s.topic.count("tts.generated") >= before + n
        })
        .await;
    let fallbacks = |dir: &'static str| {
        let base = stage.base.clone();
        async move {
            metric_sum(
                &base,
                &format!("voicegw_speech_fallbacks_total{{direction=\"{dir}\""),
            )
            .await
        }
    };
    let (stt, tts) = (fallbacks("stt").await, fallbacks("tts").await);
    assert!(stt > 0.0 && tts > 0.0, "fallbacks: stt {stt}, tts {tts}");
    stage.hang_up(&calls).await;
    let expected = n as u64 * (EVENTS_PER_CALL + EVENTS_PER_TURN);
    stage.delivered(expected + EVENTS_PER_CALL, n + 1).await;
    let ends = stage.topic.reasons(std::slice::from_ref(&control));
    stage
        .topic
        .tally_without(&[control])
        .outcome("stt-tts-failing-mid-call", n as u64, expected)
        .note(format!(
            "{n} calls of two turns on a Wyoming STT and TTS that began dropping every \
             connection during the second turn: {stt} STT and {tts} TTS switches to the \
             fallback, every turn answered (ended: {ends})"
        ))
        .check();
    stage.stop().await;
}

/// The app taken over as in `application_replaced`, on an instance set to
/// take it back (`ari.reclaim_after = "1s"`): a second later it is listening
/// again (`/readyz` green), the calls that went on hear their callers' hangups
/// again, and a new call goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_replaced_then_reclaimed() {
    let scale = Scale::from_env();
    let n = scale.pick(4, 100);
    let speech = format!(
        "[speech]\nstt = \"fake\"\ntts = \"fake\"\n{}",
        support::FAKE_STT_PATIENCE
    );
    let env = vec![("VOICEGW__ARI__RECLAIM_AFTER".to_owned(), "1s".to_owned())];
    let orch = Orchestrator::start(|_, _| Reply::Echo).await;
    let stage = Stage::start_speaking(orch, &speech, "", env).await;
    let control = stage.control_call().await;
    let calls = stage.place(n).await;
    stage.speak(&calls).await;
    let connects = metric(&stage.base, "voicegw_ari_connects_total").await;
    let (user, pass) = stage.sim.credentials();
    let url = format!(
        "{}?app=voice-gateway&api_key={user}:{pass}",
        stage.sim.ws_url()
    );
    let _thief = tokio_tungstenite::connect_async(url)
        .await
        .expect("a second events socket");
    stage
        .until("/readyz red", 20, async |s| !s.ready().await)
        .await;
    stage
        .until("the app taken back", 20, async |s| {
            s.ready().await && metric(&s.base, "voicegw_ari_connects_total").await > connects
        })
        .await;
    assert_eq!(stage.admission.live_calls(), n, "the calls went on");
    stage.hang_up(&calls).await;
    let after = stage.place(1).await;
    stage.speak(&after).await;
    stage.hang_up(&after).await;
    let expected = (n as u64 + 1) * EVENTS_PER_CALL;
    stage.delivered(expected + EVENTS_PER_CALL, n + 2).await;
    let ends = stage.topic.reasons(std::slice::from_ref(&control));
    stage
        .topic
        .tally_without(&[control])
        .outcome("application-replaced-reclaimed", n as u64 + 1, expected)
        .note(format!(
            "a second events socket took the app with {n} calls up; with ari.reclaim_after = 1s \
             the instance took it back, the calls went on and ended on their callers' hangups; \
             one more call went through (ended: {ends})"
        ))
        .check();
    stage.stop().await;
}
