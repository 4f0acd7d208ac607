//! Per-route speech providers and the failure prompt against the simulator,
//! and the start refusing routes that name providers it cannot use.

use crate::{
    rig::{Rig, rms},
    support::events_path,
};
use serde_json::json;
use vg_asterisk_sim::SimConfig;
use voice_gateway::{adapter::config::load_from_str, server::Gateway};

fn prompt_path() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/prompts/technical-difficulties.wav"
    )
    .into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_with_a_dead_voice_plays_the_prompt_and_others_speak() {
    // `+1555111…` chooses Wyoming at an address that refuses at once; the
    // rest of `+1555…` keeps the instance's fake voice.
    let rig = Rig::start_with_env(
        SimConfig::default(),
        "[speech.wyoming]\ntts = \"tcp://127.0.0.1:1\"\n\
         [[routes]]\ndid = \"+1555111*\"\ntenant = \"acme\"\nagent = \"builtin\"\ntts = \"wyoming\"\n\
         [[routes]]\ndid = \"+1555*\"\ntenant = \"acme\"\nagent = \"builtin\"\n",
        vec![("VOICEGW__SPEECH__TTS_FAILURE_PROMPT".into(), prompt_path())],
    )
    .await;
    let dead = rig.sim.place_inbound_call("+15551110000", "+15557654321");
    rig.until_count("tts.generated", 1).await;
    assert_eq!(rig.count("error.tts_failed"), 1, "{:?}", rig.types());
    assert_eq!(rig.data("error.tts_failed", 0)["prompt"], true);
    // The caller heard the whole 4.6 s prompt, and it is speech.
    rig.until("the prompt heard", |r| {
        r.sim.heard_pcm(dead).len() >= 4_500 * 8
    })
    .await;
    let heard = rig.sim.heard_pcm(dead);
    assert!(heard.len() <= 4_800 * 8, "{} samples", heard.len());
    assert!(rms(&heard) > 1000.0, "rms {}", rms(&heard));
    let audio_ms = rig.data("tts.generated", 0)["audio_ms"].as_u64().unwrap();
    assert!((4_500..4_700).contains(&audio_ms), "{audio_ms}");

    let fine = rig.sim.place_inbound_call("+15552220000", "+15557654321");
    rig.greeting_heard(fine).await;
    assert_eq!(rig.count("error.tts_failed"), 1, "{:?}", rig.types());
    for call in [dead, fine] {
        rig.sim.caller_hangup(call);
    }
    rig.all_released().await;
    let mut used: Vec<_> = (0..2)
        .map(|n| rig.data("call.ended", n)["tts_providers"].clone())
        .collect();
    used.sort_by_key(|v| v.to_string());
    assert_eq!(used, [json!(["fake"]), json!(["wyoming"])]);
    rig.stop().await;
}

/// `Gateway::bind`'s error for a configuration with `extra` appended.
async fn start_error(speech: &str, extra: &str) -> String {
    let text = format!(
        "[http]\nlisten = \"127.0.0.1:0\"\n[ari]\nurl = \"http://127.0.0.1:1\"\n\
         [events]\npath = \"{}\"\n[speech]\nstt = \"fake\"\ntts = \"fake\"\n{speech}\n{extra}",
        events_path()
    );
    let cfg = load_from_str(&text, Vec::new()).unwrap();
    match Gateway::bind(cfg).await {
        Ok(_) => panic!("the gateway started with {speech:?} {extra:?}"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn routes_naming_unusable_providers_stop_the_start() {
    assert!(
        std::env::var_os("ELEVENLABS_API_KEY").is_none(),
        "this test needs ELEVENLABS_API_KEY unset"
    );
    let e = start_error(
        "",
        "[[routes]]\ndid = \"100\"\ntenant = \"t\"\nagent = \"a\"\n\
         [[routes]]\ndid = \"+1555*\"\ntenant = \"t\"\nagent = \"a\"\ntts = \"fake\"\ntts_fallback = [\"elevenlabs\"]\n",
    )
    .await;
    assert_eq!(
        e,
        "routes[1] (did \"+1555*\").tts: elevenlabs is not configured: \
         speech.elevenlabs.api_key is not set (nor ELEVENLABS_API_KEY)"
    );
    // Fallbacks alone follow the default primary: repeating it is an error.
    let e = start_error(
        "",
        "[[routes]]\ndid = \"*\"\ntenant = \"t\"\nagent = \"a\"\nstt_fallback = [\"fake\"]\n",
    )
    .await;
    assert_eq!(
        e,
        "routes[0] (did \"*\").stt_fallback: fake is listed twice"
    );
}

#[tokio::test]
async fn a_bad_failure_prompt_stops_the_start() {
    let e = start_error("tts_failure_prompt = \"assets/prompts/nope.wav\"", "").await;
    assert!(
        e.starts_with("speech.tts_failure_prompt: assets/prompts/nope.wav: ")
            && e.contains("No such file"),
        "{e}"
    );
    let e = start_error("tts_failure_prompt = \"Cargo.toml\"", "").await;
    assert!(
        e.starts_with("speech.tts_failure_prompt: Cargo.toml: wav:"),
        "{e}"
    );
}
