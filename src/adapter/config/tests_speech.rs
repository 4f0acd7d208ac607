//! `[[routes]]` speech choices and `[speech] tts_failure_prompt`.

use super::*;

const ROUTE: &str = "[[routes]]\ndid = \"100\"\ntenant = \"acme\"\nagent = \"a\"\n";

#[test]
fn a_route_names_its_providers_and_fallbacks() {
    let text = format!(
        "{ROUTE}stt = \"deepgram\"\nstt_fallback = [\"wyoming\"]\n\
         tts = \"elevenlabs\"\ntts_fallback = [\"openai\", \"wyoming\"]\n\
         [speech]\ntts_failure_prompt = \"assets/prompts/technical-difficulties.wav\"\n"
    );
    let c = load_from_str(&text, Vec::new()).unwrap();
    let r = &c.routes[0];
    assert_eq!(r.stt.as_deref(), Some("deepgram"));
    assert_eq!(r.stt_fallback, ["wyoming"]);
    assert_eq!(r.tts.as_deref(), Some("elevenlabs"));
    assert_eq!(r.tts_fallback, ["openai", "wyoming"]);
    assert_eq!(
        c.speech.tts_failure_prompt,
        "assets/prompts/technical-difficulties.wav"
    );
    // Absent: the instance default, and no prompt.
    let c = load_from_str(ROUTE, Vec::new()).unwrap();
    assert!(c.routes[0].stt_fallback.is_empty() && c.routes[0].tts.is_none());
    assert!(c.speech.tts_failure_prompt.is_empty());
}

#[test]
fn bad_route_speech_choices_name_the_route_and_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "stt = \"whisper\"\n",
            "routes[0].stt",
            "\"whisper\" is not a speech provider",
        ),
        (
            "tts = \"\"\n",
            "routes[0].tts",
            "\"\" is not a speech provider",
        ),
        (
            "stt = \"elevenlabs\"\n",
            "routes[0].stt",
            "elevenlabs offers no speech-to-text",
        ),
        (
            "stt_fallback = [\"openai\"]\n",
            "routes[0].stt_fallback",
            "openai offers no speech-to-text",
        ),
        (
            "tts = \"wyoming\"\ntts_fallback = [\"wyoming\"]\n",
            "routes[0].tts_fallback",
            "wyoming is listed twice",
        ),
        (
            "tts_fallback = [\"fake\", \"deepgrm\"]\n",
            "routes[0].tts_fallback",
            "\"deepgrm\" is not a speech provider",
        ),
        ("stt_fallback = \"wyoming\"\n", "", "invalid type"),
    ];
    for (extra, key, problem) in cases {
        let e = load_from_str(&format!("{ROUTE}{extra}"), Vec::new())
            .expect_err(&format!("{extra:?} should be rejected"));
        let shown = e.to_string();
        if !key.is_empty() {
            assert_eq!(e.key(), Some(*key), "{extra:?}: {shown}");
        }
        assert!(shown.contains(problem), "{extra:?}: {shown}");
    }
}

#[test]
fn google_is_a_provider_of_both_directions_with_its_section() {
    let text = format!(
        "{ROUTE}stt = \"google\"\ntts = \"google\"\nstt_fallback = [\"deepgram\"]\n\
         [speech]\nstt = \"google\"\ntts_fallback = [\"google\"]\n\
         [speech.google]\ncredentials_file = \"/etc/sa.json\"\nproject = \"my-proj\"\n\
         location = \"eu\"\nmodel = \"telephony\"\nlanguage = \"de-DE\"\nvoice = \"de-DE-Neural2-B\"\n\
         stt_encoding = \"mulaw\"\nstt_endpoint = \"https://eu-speech.googleapis.com\"\n\
         tts_endpoint = \"http://127.0.0.1:9\"\n"
    );
    let c = load_from_str(&text, Vec::new()).unwrap();
    assert_eq!(c.speech.stt, SpeechProvider::Google);
    let g = &c.speech.google;
    assert_eq!(g.credentials_file.as_deref(), Some("/etc/sa.json"));
    assert_eq!(g.stt_encoding, Some(speech::GoogleSttEncoding::Mulaw));
    assert_eq!(g.location.as_deref(), Some("eu"));
    // The key is never printed.
    let c = load_from_str("[speech.google]\napi_key = \"AIza-secret\"\n", Vec::new()).unwrap();
    assert!(!toml::to_string(&c).unwrap().contains("AIza-secret"));
}

#[test]
fn bad_google_settings_name_their_key() {
    let cases: &[(&str, &str)] = &[
        (
            "stt_endpoint = \"speech.googleapis.com:443\"\n",
            "speech.google.stt_endpoint",
        ),
        ("tts_endpoint = \"ftp://x\"\n", "speech.google.tts_endpoint"),
        ("project = \"my project\"\n", "speech.google.project"),
        ("location = \"\"\n", "speech.google.location"),
        (
            "credentials_file = \"\"\n",
            "speech.google.credentials_file",
        ),
        ("stt_encoding = \"opus\"\n", ""),
        ("apikey = \"x\"\n", ""),
    ];
    for (extra, key) in cases {
        let e = load_from_str(&format!("[speech.google]\n{extra}"), Vec::new())
            .expect_err(&format!("{extra:?} should be rejected"));
        if !key.is_empty() {
            assert_eq!(e.key(), Some(*key), "{extra:?}: {e}");
        }
    }
}
