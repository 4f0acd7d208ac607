//! `[session]` keys of transfers and unrouted calls, and their checks.

use crate::application::{ports::calls::TransferMode, session::BargeInMode};
use serde::{Deserialize, Serialize};

/// How the agent's `transfer` actions are carried out (`session.transfer_mode`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum TransferModeSetting {
    /// The caller leaves for the dialplan or a SIP endpoint at once.
    #[default]
    Blind,
    /// The person is reached first, then connected; back to the agent if nobody answers.
    Attended,
}

impl From<TransferModeSetting> for TransferMode {
    fn from(m: TransferModeSetting) -> Self {
        match m {
            TransferModeSetting::Blind => Self::Blind,
            TransferModeSetting::Attended => Self::Attended,
        }
    }
}

/// What caller sound over the agent does (`session.barge_in_mode`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum BargeInModeSetting {
    /// Pause the agent, then resume (noise, backchannel) or cancel (speech).
    Pause,
    /// Cancel the agent's reply at once.
    #[default]
    Cancel,
}

impl From<BargeInModeSetting> for BargeInMode {
    fn from(m: BargeInModeSetting) -> Self {
        match m {
            BargeInModeSetting::Pause => Self::Pause,
            BargeInModeSetting::Cancel => Self::Cancel,
        }
    }
}

/// Checks the pause-mode barge-in keys: the thresholds in order, and
/// backchannels as single lowercase words.
fn validate_barge_in(s: &super::SessionSection) -> Result<(), (&'static str, String)> {
    let (noise, speech, decide) = (
        s.barge_in_noise_max.0,
        s.barge_in_speech_min.0,
        s.barge_in_decide_timeout.0,
    );
    if noise.is_zero() || noise >= speech {
        return Err((
            "session.barge_in_noise_max",
            format!("{noise:?} must be above 0 and below session.barge_in_speech_min ({speech:?})"),
        ));
    }
    if decide < speech || decide > std::time::Duration::from_secs(10) {
        return Err((
            "session.barge_in_decide_timeout",
            format!(
                "{decide:?} must be at least session.barge_in_speech_min ({speech:?}) and at most 10s"
            ),
        ));
    }
    for word in &s.barge_in_backchannels {
        let ok = !word.is_empty()
            && word.len() <= 32
            && word
                .chars()
                .all(|c| c.is_lowercase() || c.is_ascii_digit() || c == '-' || c == '\'')
            && !word.starts_with(['-', '\''])
            && !word.ends_with(['-', '\'']);
        if !ok {
            return Err((
                "session.barge_in_backchannels",
                format!(
                    "{word:?} is not one lowercase word (letters, digits, inner - or ', \
                     up to 32 bytes), as transcripts are compared word by word"
                ),
            ));
        }
    }
    Ok(())
}

/// Media schemes ARI `play` takes that make sense for a fixed message.
const MEDIA_SCHEMES: [&str; 3] = ["sound:", "recording:", "tone:"];

/// Checks `session.unknown_did_sound` and `session.transfer_endpoints`, and
/// that the built-in agent's transfer target reaches someone when transfers
/// are attended.
pub(super) fn validate(c: &super::Config) -> Result<(), (&'static str, String)> {
    validate_barge_in(&c.session)?;
    let (unknown_did_sound, endpoints) =
        (&c.session.unknown_did_sound, &c.session.transfer_endpoints);
    let sound = unknown_did_sound;
    let sound_ok = sound.is_empty()
        || MEDIA_SCHEMES.iter().any(|s| {
            sound.strip_prefix(s).is_some_and(|rest| {
                !rest.is_empty()
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"/_-.".contains(&b))
            })
        });
    if !sound_ok {
        return Err((
            "session.unknown_did_sound",
            format!("{sound:?} is not empty nor a sound:, recording: or tone: media URI"),
        ));
    }
    for (name, endpoint) in endpoints {
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b));
        let endpoint_ok = endpoint.split_once('/').is_some_and(|(tech, rest)| {
            !tech.is_empty()
                && tech.bytes().all(|b| b.is_ascii_alphanumeric())
                && !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/@.-_+".contains(&b))
        });
        if !name_ok || !endpoint_ok {
            return Err((
                "session.transfer_endpoints",
                format!(
                    "{name:?} = {endpoint:?} is not a target name (A-Z a-z 0-9 - _ . +) \
                     mapped to a dial endpoint without dial-string characters"
                ),
            ));
        }
    }
    let builtin = c
        .orchestrator
        .url
        .as_deref()
        .is_none_or(|u| u.trim().is_empty());
    let target = &c.orchestrator.transfer_target;
    if c.session.transfer_mode == TransferModeSetting::Attended
        && builtin
        && crate::domain::E164::parse(target).is_err()
        && !endpoints.contains_key(target)
    {
        return Err((
            "orchestrator.transfer_target",
            format!(
                "{target:?} reaches nobody in an attended transfer: make it an E.164 number \
                 or add it to [session.transfer_endpoints]"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::adapter::config::load_from_str;

    fn problem(text: &str) -> String {
        load_from_str(text, Vec::new())
            .expect_err("rejected")
            .to_string()
    }

    #[test]
    fn transfer_keys_load_and_bad_values_name_the_key() {
        let c = load_from_str(
            "[session]\ntransfer_mode = \"attended\"\ntransfer_ring_timeout = \"20s\"\n\
             unknown_did_sound = \"\"\n[session.transfer_endpoints]\nagents = \"PJSIP/agents\"\n",
            Vec::new(),
        )
        .unwrap();
        assert_eq!(
            c.session.transfer_mode,
            super::TransferModeSetting::Attended
        );
        assert_eq!(c.session.transfer_endpoints["agents"], "PJSIP/agents");
        assert_eq!(c.session.unknown_did_sound, "");

        let e = problem("[session]\ntransfer_mode = \"warm\"\n");
        assert!(e.contains("session.transfer_mode"), "{e}");
        let e = problem("[session]\nunknown_did_sound = \"ss-noservice\"\n");
        assert!(e.contains("session.unknown_did_sound"), "{e}");
        let e = problem("[session]\nunknown_did_sound = \"sound:x,sound:y\"\n");
        assert!(e.contains("session.unknown_did_sound"), "{e}");
        let e = problem("[session.transfer_endpoints]\nagents = \"PJSIP/6001&PJSIP/6002\"\n");
        assert!(e.contains("session.transfer_endpoints"), "{e}");
        let e = problem("[session.transfer_endpoints]\nagents = \"6001\"\n");
        assert!(e.contains("not a target name"), "{e}");
        let e = problem("[session]\ntransfer_mode = \"attended\"\n");
        assert!(e.contains("orchestrator.transfer_target"), "{e}");
        assert!(e.contains("[session.transfer_endpoints]"), "{e}");
        let e = problem("[session]\ntransfer_ring_timeout = \"0s\"\n");
        assert!(e.contains("session.transfer_ring_timeout"), "{e}");
    }

    #[test]
    fn barge_in_keys_load_and_bad_values_name_the_key() {
        let c = load_from_str("", Vec::new()).unwrap();
        assert_eq!(c.session.barge_in_mode, super::BargeInModeSetting::Pause);
        assert!(!c.session.barge_in_echo_guard);
        assert!(c.session.barge_in_resume_early);
        let c = load_from_str(
            "[session]\nbarge_in_mode = \"cancel\"\nbarge_in_noise_max = \"250ms\"\n\
             barge_in_speech_min = \"1s\"\nbarge_in_decide_timeout = \"2s\"\n\
             barge_in_backchannels = [\"mm-hmm\", \"d'accord\"]\nbarge_in_echo_guard = true\n\
             barge_in_resume_early = false\n",
            Vec::new(),
        )
        .unwrap();
        let s = &c.session;
        assert_eq!(s.barge_in_mode, super::BargeInModeSetting::Cancel);
        assert_eq!(s.barge_in_noise_max.0.as_millis(), 250);
        assert_eq!(s.barge_in_backchannels, ["mm-hmm", "d'accord"]);
        assert!(s.barge_in_echo_guard);
        assert!(!s.barge_in_resume_early);

        for (toml, key) in [
            ("barge_in_mode = \"hold\"", "barge_in_mode"),
            ("barge_in_noise_max = \"0ms\"", "session.barge_in_noise_max"),
            ("barge_in_noise_max = \"1s\"", "session.barge_in_noise_max"),
            (
                "barge_in_decide_timeout = \"500ms\"",
                "session.barge_in_decide_timeout",
            ),
            (
                "barge_in_decide_timeout = \"11s\"",
                "session.barge_in_decide_timeout",
            ),
            (
                "barge_in_backchannels = [\"Yeah\"]",
                "session.barge_in_backchannels",
            ),
            (
                "barge_in_backchannels = [\"all right\"]",
                "session.barge_in_backchannels",
            ),
            (
                "barge_in_backchannels = [\"\"]",
                "session.barge_in_backchannels",
            ),
            (
                "barge_in_backchannels = [\"-mm\"]",
                "session.barge_in_backchannels",
            ),
        ] {
            let e = problem(&format!("[session]\n{toml}\n"));
            assert!(e.contains(key), "{toml}: {e}");
        }
    }
}

#[cfg(test)]
mod machine_detection_tests {
    use super::super::load_from_str;
    use std::time::Duration;

    fn problem(text: &str) -> String {
        load_from_str(text, Vec::new())
            .expect_err("rejected")
            .to_string()
    }

    #[test]
    fn machine_detection_keys_load_and_bad_values_name_the_key() {
        let c = load_from_str(
            "[outbound.machine_detection]\ngreeting_max = \"2s\"\nafter_greeting_silence = \"600ms\"\n\
             max_utterances = 3\ndecision_timeout = \"4s\"\nbeep_timeout = \"0s\"\n",
            Vec::new(),
        )
        .unwrap();
        let s = c.outbound.machine_detection.screen_config();
        assert_eq!(s.greeting_max, Duration::from_secs(2));
        assert_eq!(s.after_greeting_silence, Duration::from_millis(600));
        assert_eq!((s.max_utterances, s.beep_timeout), (3, Duration::ZERO));
        assert_eq!(s.initial_silence, Duration::from_millis(2500));
        for (text, key) in [
            ("decision_timeout = \"500ms\"", "decision_timeout"),
            ("decision_timeout = \"31s\"", "decision_timeout"),
            ("greeting_max = \"6s\"", "greeting_max"),
            ("initial_silence = \"100ms\"", "initial_silence"),
            ("after_greeting_silence = \"0s\"", "after_greeting_silence"),
            ("beep_timeout = \"2m\"", "beep_timeout"),
            ("max_utterances = 0", "max_utterances"),
            ("greeting_max = \"soon\"", "greeting_max"),
            ("beep = true", "beep"),
        ] {
            let e = problem(&format!("[outbound.machine_detection]\n{text}\n"));
            assert!(
                e.contains(&format!("outbound.machine_detection.{key}")) || e.contains(key),
                "{text}: {e}"
            );
        }
    }
}
