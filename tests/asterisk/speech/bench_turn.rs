//! `make bench-turn`: voice-to-voice latency as a caller feels it, on the real
//! Asterisk with the embedded default's local engines (Whisper tiny.en, Piper)
//! and the built-in agent.
//!
//! Each caller asks recorded questions (Piper's voice, made once per run) and
//! keeps sending audio while it listens. From the caller's own two recordings
//! (what it said, what it heard; MixMonitor keeps them aligned) each turn's
//! latency is the end of the question to the first sound of the answer. The
//! first question of every call is asked over the greeting: the time from its
//! onset to the end of the greeting in the caller's ear is the barge-in stop
//! delay. The gateway's own stage figures for the same turns come from each
//! call's `call.ended` (`latency`), and the word error rate from its
//! `stt.transcribed` events. Writes `<VG_BENCH_OUT>/<date>-turn.{json,md}`.

use super::support::{resample, synthesize, words};
use crate::{
    calls::{DID, T},
    gateway::{GatewayConfig, ROUTES},
    rig::{Rig, Setup},
};
use serde_json::{Value, json};
use std::{fmt::Write as _, time::Duration};
use vg_testkit::{Caller, SttServer, WyomingOptions, WyomingServers, wav};

/// Questions a caller might ask; none asks for a person or says goodbye, so
/// the built-in agent answers each by repeating it.
const QUESTIONS: [&str; 25] = [
    "What time do you open tomorrow?",
    "Can I change my delivery address?",
    "How much does the basic plan cost?",
    "Is my order on its way?",
    "Do you ship to Canada?",
    "When will my refund arrive?",
    "Can I pay by bank transfer?",
    "What is the status of my ticket?",
    "How do I reset my password?",
    "Are you open on Sunday?",
    "Can I add a second line?",
    "Why was my card declined?",
    "How long does shipping take?",
    "Can I cancel my subscription?",
    "Where is your nearest store?",
    "Do you have this in blue?",
    "What is the warranty period?",
    "Can I upgrade my plan today?",
    "How do I update my email?",
    "Is there a student discount?",
    "Can you send me a receipt?",
    "What is my account balance?",
    "Do you price match?",
    "How do I return a gift?",
    "Can I book an appointment?",
];
/// Questions per call: the first over the greeting (a barge-in), the rest
/// each after the previous answer.
const PER_CALL: usize = 5;
/// When the first question starts: well inside the greeting.
const OVER_GREETING: Duration = Duration::from_millis(2500);
/// Silence after each question: room for the answer ("You said …") to end
/// even on a busy machine (an answer still playing when the next question
/// starts is cut by it: that turn is then reported as overlapped).
const GAP: Duration = Duration::from_secs(10);
/// The caller stays this long after its last question, then hangs up.
const LINGER: Duration = Duration::from_secs(8);
/// Sound at or above this level counts (as the other real-Asterisk tests).
const SOUND_DBFS: f64 = -45.0;

/// One turn as measured.
struct Turn {
    question: &'static str,
    heard_as: String,
    voice_to_voice_ms: Option<u64>,
}

#[test]
#[ignore = "a benchmark of several minutes: make bench-turn"]
fn bench_turn() {
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let stt_server = match std::env::var("VG_BENCH_STT") {
        Ok(name) => SttServer::from_name(&name)
            .unwrap_or_else(|| panic!("VG_BENCH_STT={name}: expected windowed or faster-whisper")),
        Err(_) => SttServer::default(),
    };
    let servers = WyomingServers::start_with(WyomingOptions {
        initial_prompt: None,
        stt_server,
    })
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let spoken: Vec<Vec<i16>> = QUESTIONS
        .iter()
        .map(|q| {
            let s = runtime.block_on(synthesize(&servers.tts_uri(), q));
            resample(&s.pcm, s.rate, wav::RATE)
        })
        .collect();
    let rig = Rig::start_with(Setup {
        gateway: GatewayConfig {
            toml: ROUTES.into(),
            env: vec![
                ("VOICEGW__SPEECH__STT".into(), "wyoming".into()),
                ("VOICEGW__SPEECH__TTS".into(), "wyoming".into()),
                ("VOICEGW__SPEECH__WYOMING__STT".into(), servers.stt_uri()),
                ("VOICEGW__SPEECH__WYOMING__TTS".into(), servers.tts_uri()),
            ],
        },
        ..Setup::default()
    });
    let (mut turns, mut barge_ins, mut stages) = (Vec::new(), Vec::new(), Vec::new());
    for (n, questions) in spoken.chunks(PER_CALL).enumerate() {
        let asked = &QUESTIONS[n * PER_CALL..(n + 1) * PER_CALL];
        let call = one_call(&rig, n, questions, asked);
        turns.extend(call.turns);
        barge_ins.push(call.barge_in_ms);
        stages.extend(call.stages);
    }
    // The gateway's own account of every turn, for when a figure needs one.
    if let Some(dir) = std::env::var_os("VG_BENCH_OUT") {
        let log = rig.gw.log().join("\n");
        std::fs::write(std::path::Path::new(&dir).join("gateway.log"), log).unwrap();
    }
    rig.finish();
    let report = Report {
        stt_server,
        turns,
        barge_ins,
        stages,
        load_before,
        load_after: std::fs::read_to_string("/proc/loadavg").unwrap_or_default(),
    };
    eprintln!("{}", report.markdown());
    if let Some(dir) = std::env::var_os("VG_BENCH_OUT") {
        report.write(std::path::Path::new(&dir));
    }
    assert!(
        report.voice_to_voice().len() >= 20,
        "at least 20 turns measured"
    );
}

/// What one call gave.
struct CallResult {
    turns: Vec<Turn>,
    barge_in_ms: Option<u64>,
    stages: Vec<Value>,
}

fn one_call(rig: &Rig, n: usize, questions: &[Vec<i16>], asked: &[&'static str]) -> CallResult {
    let mut pcm = wav::silence(OVER_GREETING, wav::RATE);
    for q in questions {
        pcm.extend_from_slice(q);
        pcm.extend(wav::silence(GAP, wav::RATE));
    }
    let path = rig.ast.sounds_dir().join(format!("questions-{n}.wav"));
    wav::write(&path, wav::RATE, &pcm).unwrap();
    let length = Duration::from_secs_f64(pcm.len() as f64 / f64::from(wav::RATE));
    // The caller asks, listens, and hangs up by itself after LINGER.
    let call = rig
        .ast
        .call(Caller::play(DID, &path).max_duration(length + LINGER))
        .unwrap();
    let id = rig.gw.nth_call(n, T);
    let ended = rig
        .gw
        .until_type("call.ended", Some(&id), length + LINGER + T);
    let transcripts: Vec<String> = rig
        .gw
        .events()
        .iter()
        .filter(|e| e["type"] == "stt.transcribed" && e["data"]["call_id"] == id.as_str())
        .map(|e| e["data"]["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    let said = call.said(T).unwrap();
    let heard = call.heard(T).unwrap();
    let asked_spans = said.spans(SOUND_DBFS, Duration::from_millis(1500));
    assert_eq!(
        asked_spans.len(),
        questions.len(),
        "each question is one span of the caller's recording: {asked_spans:?}"
    );
    let answers = heard.spans(SOUND_DBFS, Duration::from_millis(300));
    let turns = asked
        .iter()
        .zip(&asked_spans)
        .enumerate()
        .map(|(i, (question, (_, end)))| {
            // The answer must start before the caller's next question.
            let next = asked_spans.get(i + 1).map_or(Duration::MAX, |s| s.0);
            Turn {
                question,
                heard_as: transcripts.get(i).cloned().unwrap_or_default(),
                voice_to_voice_ms: answers
                    .iter()
                    .find(|(start, _)| start > end && *start < next)
                    .map(|(start, _)| (*start - *end).as_millis() as u64),
            }
        })
        .collect();
    // The greeting's sound that covers the first question's onset, and where it stops.
    let onset = asked_spans[0].0;
    let barge_in_ms = answers
        .iter()
        .find(|(start, end)| *start <= onset && *end > onset)
        .map(|(_, end)| (*end - onset).as_millis() as u64);
    let stages = ended["data"]["latency"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    CallResult {
        turns,
        barge_in_ms,
        stages,
    }
}

/// The whole run.
struct Report {
    stt_server: SttServer,
    turns: Vec<Turn>,
    barge_ins: Vec<Option<u64>>,
    stages: Vec<Value>,
    load_before: String,
    load_after: String,
}

/// Nearest-rank percentile of `values` (sorted here), `None` when empty.
fn percentile(values: &[u64], p: f64) -> Option<u64> {
    let mut v = values.to_vec();
    v.sort_unstable();
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v.get(rank.saturating_sub(1)).copied()
}

/// Word error rate of `heard` against `reference`: word-level edit distance
/// over the reference's length.
fn word_errors(reference: &[String], heard: &[String]) -> usize {
    let mut row: Vec<usize> = (0..=heard.len()).collect();
    for (i, r) in reference.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, h) in heard.iter().enumerate() {
            let next = (diag + usize::from(r != h))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[heard.len()]
}

impl Report {
    fn voice_to_voice(&self) -> Vec<u64> {
        self.turns
            .iter()
            .filter_map(|t| t.voice_to_voice_ms)
            .collect()
    }

    fn stage(&self, name: &str) -> Vec<u64> {
        self.stages
            .iter()
            .filter_map(|s| s[name].as_f64())
            .map(|ms| ms.round() as u64)
            .collect()
    }

    fn wer(&self) -> f64 {
        let (mut errors, mut total) = (0, 0);
        for t in &self.turns {
            let reference = words(t.question);
            errors += word_errors(&reference, &words(&t.heard_as));
            total += reference.len();
        }
        errors as f64 / total.max(1) as f64
    }

    fn rows(&self) -> Vec<(&'static str, Vec<u64>)> {
        let mut rows = vec![("voice to voice (caller's ears)", self.voice_to_voice())];
        for stage in ["stt_ms", "agent_ms", "tts_ms", "media_ms", "total_ms"] {
            rows.push((stage, self.stage(stage)));
        }
        let barge: Vec<u64> = self.barge_ins.iter().flatten().copied().collect();
        rows.push(("barge-in stop (caller's ears)", barge));
        rows
    }

    fn json(&self) -> Value {
        let figures: Vec<Value> = self
            .rows()
            .into_iter()
            .map(|(name, v)| {
                json!({"name": name, "n": v.len(), "p50_ms": percentile(&v, 50.0),
                       "p90_ms": percentile(&v, 90.0), "p99_ms": percentile(&v, 99.0)})
            })
            .collect();
        let turns: Vec<Value> = self
            .turns
            .iter()
            .map(|t| {
                json!({"question": t.question, "transcript": t.heard_as,
                            "voice_to_voice_ms": t.voice_to_voice_ms})
            })
            .collect();
        json!({
            "machine": {"cpus": std::thread::available_parallelism().map_or(0, usize::from),
                        "loadavg_before": self.load_before.trim(), "loadavg_after": self.load_after.trim()},
            "engines": self.engines(),
            "figures": figures,
            "word_error_rate": self.wer(),
            "barge_ins_ms": self.barge_ins,
            "turns": turns,
            "stages": self.stages,
        })
    }

    fn markdown(&self) -> String {
        let mut md =
            String::from("| figure | n | p50 ms | p90 ms | p99 ms |\n|---|---:|---:|---:|---:|\n");
        let show = |v: Option<u64>| v.map_or("–".to_owned(), |v| v.to_string());
        for (name, v) in self.rows() {
            let _ = writeln!(
                md,
                "| {name} | {} | {} | {} | {} |",
                v.len(),
                show(percentile(&v, 50.0)),
                show(percentile(&v, 90.0)),
                show(percentile(&v, 99.0))
            );
        }
        let _ = writeln!(
            md,
            "\n{} of {} turns had no answer before the caller's next question.\n\
             Word error rate of the transcripts: {:.1} % over {} questions.\n\
             Load average before: {}; after: {}.",
            self.turns.len() - self.voice_to_voice().len(),
            self.turns.len(),
            self.wer() * 100.0,
            self.turns.len(),
            self.load_before.trim(),
            self.load_after.trim()
        );
        md.push_str("\n| question | transcript | voice to voice ms |\n|---|---|---:|\n");
        for t in &self.turns {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                t.question,
                t.heard_as,
                show(t.voice_to_voice_ms)
            );
        }
        md
    }

    fn engines(&self) -> String {
        let server = match self.stt_server {
            SttServer::Windowed => "scripts/whisper-server.py, window sized to the utterance",
            SttServer::FasterWhisper => "wyoming-faster-whisper, 30 s window",
        };
        format!("Whisper tiny.en ({server}) + Piper en_US-joe-medium, built-in agent")
    }

    fn write(&self, dir: &std::path::Path) {
        let date = vg_testkit::faults::today();
        let base = match self.stt_server {
            SttServer::Windowed => dir.join(format!("{date}-turn")),
            other => dir.join(format!("{date}-turn-{}", other.name())),
        };
        let md = format!(
            "# Voice-to-voice latency on the real Asterisk, {date}\n\n\
             `make bench-turn`: {} calls, {} turns, {}.\n\n{}",
            self.turns.len() / PER_CALL,
            self.turns.len(),
            self.engines(),
            self.markdown()
        );
        std::fs::write(base.with_extension("json"), format!("{:#}\n", self.json())).unwrap();
        std::fs::write(base.with_extension("md"), md).unwrap();
    }
}

#[test]
fn percentiles_and_word_errors() {
    assert_eq!(percentile(&[30, 10, 20], 50.0), Some(20));
    assert_eq!(percentile(&[], 50.0), None);
    let w = |s: &str| words(s);
    assert_eq!(word_errors(&w("a b c"), &w("a b c")), 0);
    assert_eq!(word_errors(&w("a b c"), &w("a x c d")), 2);
    assert_eq!(word_errors(&w("a b c"), &w("")), 3);
}
