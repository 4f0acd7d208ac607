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
            "stt_fallback = [\"elevenlabs\"]\n",
            "routes[0].stt_fallback",
            "elevenlabs offers no speech-to-text",
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
fn azure_is_a_provider_for_both_directions_with_its_section() {
    let text = format!(
        "{ROUTE}stt = \"azure\"\nstt_fallback = [\"deepgram\"]\ntts = \"azure\"\n\
         [speech]\nstt = \"fake\"\nstt_fallback = [\"azure\"]\n\
         [speech.azure]\napi_key = \"az-secret\"\nregion = \"westeurope\"\n\
         base_url = \"http://127.0.0.1:9\"\nlanguage = \"de-DE\"\nvoice = \"de-DE-KatjaNeural\"\n\
         output_format = \"raw-16khz-16bit-mono-pcm\"\n"
    );
    let c = load_from_str(&text, Vec::new()).unwrap();
    assert_eq!(c.routes[0].stt.as_deref(), Some("azure"));
    assert_eq!(c.speech.stt_fallback, [SpeechProvider::Azure]);
    let a = &c.speech.azure;
    assert_eq!(a.region.as_deref(), Some("westeurope"));
    assert_eq!(a.output_format.as_deref(), Some("raw-16khz-16bit-mono-pcm"));
    assert_eq!(a.api_key.as_ref().map(|k| k.expose()), Some("az-secret"));
    let shown = format!("{:?}", c.speech.azure);
    assert!(!shown.contains("az-secret"), "{shown}");
}

#[test]
fn bad_azure_settings_name_the_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "region = \"West Europe\"",
            "speech.azure.region",
            "not a region",
        ),
        (
            "output_format = \"riff-8khz-8bit-mono-mulaw\"",
            "speech.azure.output_format",
            "is not one of",
        ),
        (
            "base_url = \"127.0.0.1:9\"",
            "speech.azure.base_url",
            "is not an http(s)://",
        ),
        ("voice = \" \"", "speech.azure.voice", "is empty"),
        ("token = \"\"", "speech.azure.token", "is empty"),
        ("key = \"x\"", "", "unknown field"),
    ];
    for (extra, key, problem) in cases {
        let e = load_from_str(&format!("[speech.azure]\n{extra}\n"), Vec::new())
            .expect_err(&format!("{extra:?} should be rejected"));
        let shown = e.to_string();
        if !key.is_empty() {
            assert_eq!(e.key(), Some(*key), "{extra:?}: {shown}");
        }
        assert!(shown.contains(problem), "{extra:?}: {shown}");
    }
}

#[test]
fn openai_recognition_keys_are_read_and_the_key_never_printed() {
    let text = format!(
        "{ROUTE}stt = \"openai\"\nstt_fallback = [\"wyoming\"]\n\
         [speech]\nstt = \"openai\"\nstt_fallback = [\"fake\"]\n\
         [speech.openai]\napi_key = \"sk-very-secret\"\nbase_url = \"http://127.0.0.1:9\"\n\
         language = \"de-DE\"\nstt_model = \"gpt-4o-mini-transcribe\"\nstt_mode = \"rest\"\n\
         realtime_url = \"ws://127.0.0.1:9/rt\"\n"
    );
    let c = load_from_str(&text, Vec::new()).unwrap();
    let o = &c.speech.openai;
    assert_eq!(o.stt_model.as_deref(), Some("gpt-4o-mini-transcribe"));
    assert_eq!(
        o.stt_mode,
        Some(crate::adapter::speech::openai::SttMode::Rest)
    );
    assert_eq!(o.realtime_url.as_deref(), Some("ws://127.0.0.1:9/rt"));
    assert_eq!(o.language.as_deref(), Some("de-DE"));
    let shown = toml::to_string(&c).unwrap();
    assert!(!shown.contains("sk-very-secret"), "{shown}");
    assert!(shown.contains("stt_mode = \"rest\""), "{shown}");
}

#[test]
fn bad_openai_recognition_keys_are_named() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "realtime_url = \"https://api.openai.com/v1/realtime\"\n",
            "speech.openai.realtime_url",
            "is not a ws(s):// URL",
        ),
        (
            "stt_model = \"gpt 4o\"\n",
            "speech.openai.stt_model",
            "is not a model name",
        ),
        (
            "language = \"english\"\n",
            "speech.openai.language",
            "is not a language like en or en-US",
        ),
        ("stt_mode = \"batch\"\n", "", "unknown variant `batch`"),
        ("stt_voice = \"x\"\n", "", "unknown field `stt_voice`"),
    ];
    for (extra, key, problem) in cases {
        let e = load_from_str(&format!("[speech.openai]\n{extra}"), Vec::new())
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

#[test]
fn provider_names_are_the_configuration_names_of_every_provider() {
    let listed = SpeechProvider::names();
    let names: Vec<&str> = listed.split(", ").collect();
    assert_eq!(names.len(), SpeechProvider::ALL.len(), "{listed}");
    for (p, listed) in SpeechProvider::ALL.into_iter().zip(&names) {
        // The name in messages is the one serde reads and writes.
        let toml_name = serde_json::to_value(p).unwrap();
        assert_eq!(toml_name, *listed);
        assert_eq!(SpeechProvider::from_name(listed), Some(p));
    }
    for name in ["google", "azure", "aws", "polly", "openai"] {
        assert!(names.contains(&name), "{listed}");
    }
}
