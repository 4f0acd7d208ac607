//! The operator console in a real browser (headless Chromium over
//! WebDriver) against a gateway taking calls on the simulator: a call shows
//! in the live table within 1 s and leaves it within 1 s of its end; a
//! tenant's token never shows another tenant's call; the call page shows
//! each reply's stage figures exactly as `call.ended` reported them; the
//! pages are screenshotted under the test's scratch folder.

use crate::{
    browser::Browser,
    support::{events_path, wait_for},
};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::{
    path::Path,
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tokio::time::Instant;
use vg_asterisk_sim::{SimCallId, SimConfig, SimHandle, Simulator};
use voice_gateway::{adapter::config::load_from_str, server::Gateway};

pub(crate) const SECRET: &str = "console-test-secret-of-at-least-32-bytes";
pub(crate) const ACME_DID: &str = "+15557770000";
pub(crate) const GLOBEX_DID: &str = "+15558880000";
/// What the acceptance asks: a change is on screen within a second.
const LIVE: Duration = Duration::from_secs(1);
pub(crate) const SLOW: Duration = Duration::from_secs(20);

pub(crate) fn token(tenant: &str, scope: &str) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let claims = json!({"sub": "ops", "tenant_id": tenant, "scope": scope, "exp": exp});
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn events(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let whole = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    whole
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Waits for the `n`th event of `kind` of a call (`None`: of any call of `tenant`).
pub(crate) async fn event(
    path: &str,
    kind: &str,
    call: Option<&str>,
    tenant: &str,
    n: usize,
) -> Value {
    let deadline = Instant::now() + SLOW;
    loop {
        let found: Vec<Value> = events(path)
            .into_iter()
            .filter(|e| e["type"] == kind && e["data"]["tenant_id"] == tenant)
            .filter(|e| call.is_none_or(|c| e["subject"] == c))
            .collect();
        if found.len() >= n {
            return found[n - 1].clone();
        }
        assert!(
            Instant::now() < deadline,
            "no {kind} #{n} for {call:?}/{tenant}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A loud 1.2 s tone: the fake recogniser hears "utterance N".
pub(crate) fn speech() -> Vec<i16> {
    (0..9600)
        .map(|i| (9000.0 * (2.0 * std::f64::consts::PI * 300.0 * i as f64 / 8000.0).sin()) as i16)
        .collect()
}

async fn gateway(sim: &SimHandle, events_file: &str) -> String {
    let (user, pass) = sim.credentials();
    let cfg = load_from_str(
        &format!(
            "[http]\nlisten = \"127.0.0.1:0\"\n[ari]\nurl = \"{}\"\nusername = \"{user}\"\npassword = \"{pass}\"\n\
             [events]\npath = \"{events_file}\"\n[speech]\nstt = \"fake\"\ntts = \"fake\"\n\
             [media]\nrtp_port_range = \"34600-34699\"\n[auth]\njwt_secret = \"{SECRET}\"\n\
             [[routes]]\ndid = \"{ACME_DID}\"\ntenant = \"acme\"\nagent = \"builtin\"\n\
             [[routes]]\ndid = \"{GLOBEX_DID}\"\ntenant = \"globex\"\nagent = \"builtin\"\n",
            sim.base_url()
        ),
        Vec::new(),
    )
    .unwrap();
    let gw = Gateway::bind(cfg).await.unwrap();
    let base = format!("http://{}", gw.local_addr());
    // The gateway runs until the test's runtime stops.
    tokio::spawn(gw.run(std::future::pending()));
    wait_for(&base, "/readyz", |c, _| c == 200).await;
    base
}

/// Places a call and returns its gateway call id, read from the live table
/// (`tenant`'s rows, the new one), with the time it took to show.
async fn place(
    b: &Browser,
    sim: &SimHandle,
    did: &str,
    tenant: &str,
) -> (SimCallId, String, Duration) {
    let before: Vec<String> = ids(b, tenant).await;
    let start = Instant::now();
    let call = sim.place_inbound_call(did, "+15552220000");
    loop {
        if let Some(id) = ids(b, tenant)
            .await
            .into_iter()
            .find(|i| !before.contains(i))
        {
            return (call, id, start.elapsed());
        }
        assert!(start.elapsed() < SLOW, "the {tenant} call never showed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn ids(b: &Browser, tenant: &str) -> Vec<String> {
    let css = format!("#live tr[data-tenant='{tenant}']");
    b.attrs(&css, "data-call")
        .await
        .into_iter()
        .flatten()
        .collect()
}

pub(crate) async fn text(b: &Browser, css: &str) -> String {
    let found = b.texts(css).await;
    assert!(!found.is_empty(), "nothing matches {css}");
    found[0].clone()
}

/// Each reply's stage bars carry the figures they are drawn from; they must
/// be exactly `call.ended`'s, in order.
pub(crate) async fn assert_figures_match(b: &Browser, ended: &Value) {
    let latency = ended["data"]["latency"].as_array().unwrap();
    assert!(!latency.is_empty(), "the call had replies: {ended}");
    let css = "#turns svg.stages";
    let deadline = Instant::now() + SLOW;
    while b.all(css).await.len() < latency.len() {
        assert!(
            Instant::now() < deadline,
            "the call page never showed its stage bars"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        b.all(css).await.len(),
        latency.len(),
        "one bar per reply that played"
    );
    for stage in ["stt_ms", "agent_ms", "tts_ms", "media_ms", "total_ms"] {
        let shown = b
            .attrs(css, &format!("data-{}", stage.replace('_', "-")))
            .await;
        for (shown, figures) in shown.into_iter().zip(latency) {
            let shown = shown
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<f64>().unwrap());
            assert_eq!(shown, figures[stage].as_f64(), "{stage} of {figures}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_shows_live_calls_per_tenant_and_each_calls_figures() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let events_file = events_path();
    let base = gateway(&sim, &events_file).await;
    let scratch =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("console-{}", uuid::Uuid::new_v4()));
    let b = Browser::start(&scratch).await;

    // Signed in by the URL fragment, which the page then drops from the address.
    b.client
        .goto(&format!(
            "{base}/console#token={}",
            token("acme", "calls:read")
        ))
        .await
        .unwrap();
    b.until_present("#ready-state", SLOW).await;
    let url = b.client.current_url().await.unwrap();
    assert!(!url.as_str().contains("token"), "{url}");
    assert_eq!(text(&b, "#live-calls").await, "0 live calls");

    // Another tenant's call first: had acme's stream carried it, it would show
    // before acme's own.
    let globex = sim.place_inbound_call(GLOBEX_DID, "+15553330000");
    event(&events_file, "call.started", None, "globex", 1).await;
    let (a1, id, shown_in) = place(&b, &sim, ACME_DID, "acme").await;
    assert!(shown_in < LIVE, "the new call showed after {shown_in:?}");
    assert!(
        b.all("#live tr[data-tenant='globex']").await.is_empty(),
        "acme sees a globex call"
    );
    assert_eq!(b.all("#live tbody tr[data-call]").await.len(), 1);

    // A turn: greeting, the caller speaks, the agent answers.
    // The caller talks over the greeting once a second of it has arrived
    // (a barge-in), the agent answers; then a key is pressed.
    let deadline = Instant::now() + SLOW;
    while sim.received(a1).len() < 50 {
        assert!(Instant::now() < deadline, "the greeting never played");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(sim.caller_say(a1, &speech()));
    let barge = event(&events_file, "call.bargein", Some(&id), "acme", 1).await;
    let reply = event(&events_file, "tts.generated", Some(&id), "acme", 1).await;
    assert!(sim.caller_dtmf(a1, "5"));
    event(&events_file, "call.dtmf", Some(&id), "acme", 1).await;
    b.until_present(&format!("#live tr[data-call='{id}'] .state.active"), LIVE)
        .await;
    b.until_present(
        &format!("#live tr[data-call='{id}'] td.turn-no[data-turn='1']"),
        LIVE,
    )
    .await;
    // The transport and the providers, from `call.answered`, while live.
    let cells = b.texts(&format!("#live tr[data-call='{id}'] td")).await;
    assert!(cells.iter().any(|c| c == "rtp"), "{cells:?}");
    assert!(cells.iter().any(|c| c.contains(" / ")), "{cells:?}");

    // While the call is up, its page shows the reply's stage bars on the
    // caller's turn, from the figures the reply's event carried.
    b.client
        .goto(&format!("{base}/console#/call/{id}"))
        .await
        .unwrap();
    let css = "#turns li.turn:has(.caller) svg.stages";
    b.until_present(css, SLOW).await;
    let live_total = b.attrs(css, "data-total-ms").await[0].clone().unwrap();
    assert_eq!(
        live_total.parse::<f64>().ok(),
        reply["data"]["latency"]["total_ms"].as_f64()
    );
    b.client.goto(&format!("{base}/console#/")).await.unwrap();

    let start = Instant::now();
    sim.caller_hangup(a1);
    b.until_absent(&format!("#live tr[data-call='{id}']"), LIVE)
        .await;
    let gone_in = start.elapsed();
    assert!(gone_in < LIVE, "the ended call left after {gone_in:?}");
    eprintln!("console: the call showed in {shown_in:?} and left {gone_in:?} after its hangup");
    let ended = event(&events_file, "call.ended", Some(&id), "acme", 1).await;

    // Its page: the turn, the answer, the figures of call.ended, the end.
    b.client
        .goto(&format!("{base}/console#/call/{id}"))
        .await
        .unwrap();
    assert_figures_match(&b, &ended).await;
    assert!(
        ended["data"]["latency"]
            .as_array()
            .unwrap()
            .contains(&reply["data"]["latency"]),
        "the reply's event carried call.ended's entry"
    );
    // Figures with an STT stage come from the caller's turns: those bars sit
    // on the exchanges that have the caller's words.
    let caller_turns = ended["data"]["latency"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| !l["stt_ms"].is_null())
        .count();
    assert_eq!(
        b.all("#turns li.turn:has(.caller) svg.stages").await.len(),
        caller_turns
    );
    assert!(text(&b, "#turns .caller").await.contains("utterance 1"));
    assert!(!text(&b, "#turns .agent").await.is_empty());
    assert_eq!(text(&b, "[data-fact='End reason']").await, "caller_hangup");
    let delay = b.attrs("#turns .barge", "data-delay-ms").await;
    assert_eq!(delay.len(), 1, "the barge-in is shown");
    assert_eq!(
        delay[0].as_deref().and_then(|d| d.parse::<f64>().ok()),
        barge["data"]["delay_ms"].as_f64()
    );
    let notes = b.texts("#notes li[data-kind='call.dtmf']").await;
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].ends_with("call.dtmf: key pressed (masked)"),
        "the key is masked: {}",
        notes[0]
    );
    assert_eq!(text(&b, "[data-fact='Tenant']").await, "acme");
    let call_png = b.screenshot("call-page").await;

    // The other tenant's call page is not found for acme.
    b.client
        .goto(&format!(
            "{base}/console#/call/{}",
            ids_of(&events_file, "globex")
        ))
        .await
        .unwrap();
    b.until_present("#call-id", SLOW).await;
    let deadline = Instant::now() + SLOW;
    while !text(&b, "#call-id").await.contains("not found") {
        assert!(
            Instant::now() < deadline,
            "acme was shown a globex call page"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // An operator with console:read sees every tenant, the charts and health.
    b.client.goto("about:blank").await.unwrap();
    b.client
        .goto(&format!(
            "{base}/console#token={}",
            token("ops", "console:read")
        ))
        .await
        .unwrap();
    b.until_present("#live tr[data-tenant='globex']", SLOW)
        .await;
    let (a2, _, shown_in) = place(&b, &sim, ACME_DID, "acme").await;
    assert!(shown_in < LIVE, "{shown_in:?}");
    b.until_present(".chart[data-tenant='acme'][data-minutes='5'] rect", SLOW)
        .await;
    b.until_present("[data-dep='ari']", SLOW).await;
    b.until_present("#recent tr[data-call]", SLOW).await;
    let live_png = b.screenshot("live-table").await;

    // `VG_CONSOLE_SCREENSHOTS=docs make test` refreshes the README's pictures.
    if let Ok(dir) = std::env::var("VG_CONSOLE_SCREENSHOTS") {
        for p in [&call_png, &live_png] {
            std::fs::copy(
                p,
                Path::new(&dir).join(format!(
                    "console-{}",
                    p.file_name().unwrap().to_str().unwrap()
                )),
            )
            .unwrap();
        }
    }
    sim.caller_hangup(a2);
    sim.caller_hangup(globex);
    b.until_absent("#live tr[data-call]", SLOW).await;
    b.stop().await;
}

fn ids_of(events_file: &str, tenant: &str) -> String {
    events(events_file)
        .into_iter()
        .find(|e| e["type"] == "call.started" && e["data"]["tenant_id"] == tenant)
        .map(|e| e["subject"].as_str().unwrap().to_owned())
        .unwrap()
}
