//! The adapters against small fake Wyoming servers on real loopback TCP.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::timeout;

use super::codec::Event;
use super::connection::Connection;
use super::*;
use crate::application::ports::speech::*;

const GUARD: Duration = Duration::from_secs(10);

/// Serves each connection with `serve`; what it reports comes out of the
/// receiver.
async fn server<F, Fut>(serve: F) -> (String, mpsc::UnboundedReceiver<String>)
where
    F: Fn(Connection, mpsc::UnboundedSender<String>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("tcp://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(Connection::new(stream).unwrap(), tx.clone()));
        }
    });
    (address, rx)
}

/// Like `wyoming-faster-whisper`: one utterance per connection, transcript
/// "heard N ms", or an error if the language is `xx`.
async fn whisper(mut conn: Connection, log: mpsc::UnboundedSender<String>) {
    let mut bytes = 0;
    while let Ok(Some(event)) = conn.recv().await {
        let _ = log.send(format!(
            "{} {}",
            event.kind,
            Value::Object(event.data.clone())
        ));
        match event.kind.as_str() {
            "transcribe" if event.data["language"] == "xx" => {
                let error = Event::new("error").with("text", "no such language");
                conn.send(&error.with("code", "lang")).await.unwrap();
                return;
            }
            "audio-chunk" => bytes += event.payload.len(),
            "audio-stop" => {
                let text = format!(" heard {} ms", bytes / 32);
                let reply = Event::new("transcript").with("text", text);
                conn.send(&reply).await.unwrap();
                return;
            }
            _ => {}
        }
    }
}

fn stt_config(language: &str) -> SttConfig {
    SttConfig::new(language, SttSampleRate::Hz16000)
}

async fn next_stt(session: &mut SttSession) -> SttEvent {
    timeout(GUARD, session.recv())
        .await
        .expect("in time")
        .expect("open")
}

#[tokio::test]
async fn stt_transcribes_each_utterance_on_its_own_connection() {
    let (address, mut log) = server(whisper).await;
    let stt = WyomingStt::new(WyomingSttConfig::new(address));
    let mut session = stt.open(stt_config("en-US")).await.unwrap();
    for (frames, start, end) in [(25, 0, 500), (10, 500, 700)] {
        for _ in 0..frames {
            session.push_audio(vec![1000i16; 320]).unwrap();
        }
        session.finish().unwrap();
        let expected = SttEvent::Final {
            text: format!("heard {} ms", frames * 20),
            start: Duration::from_millis(start),
            end: Duration::from_millis(end),
            confidence: None,
        };
        assert_eq!(next_stt(&mut session).await, expected);
    }
    let mut seen = Vec::new();
    while let Ok(line) = log.try_recv() {
        seen.push(line);
    }
    assert_eq!(seen.len(), 2 * 3 + 35, "{seen:?}");
    assert_eq!(seen[0], r#"transcribe {"language":"en"}"#);
    assert_eq!(
        seen[1],
        r#"audio-start {"channels":1,"rate":16000,"timestamp":0,"width":2}"#
    );
    assert!(seen[2].starts_with(r#"audio-chunk {"channels":1,"rate":16000,"timestamp":0,"#));
    assert_eq!(seen[27], r#"audio-stop {"timestamp":500}"#);
    assert_eq!(
        seen[29],
        r#"audio-start {"channels":1,"rate":16000,"timestamp":500,"width":2}"#
    );
}

/// Whisper is not given the silence before an utterance (decode time, and
/// the repeated sentences it makes of long silence): only the last 300 ms of
/// it, so the first syllable is whole.
#[tokio::test]
async fn stt_leaves_out_the_silence_before_an_utterance_but_its_pre_roll() {
    let (address, mut log) = server(whisper).await;
    let stt = WyomingStt::new(WyomingSttConfig::new(address));
    let mut session = stt.open(stt_config("en-US")).await.unwrap();
    // 1 s of a quiet line (about -60 dBFS), then 200 ms of voice.
    for _ in 0..50 {
        session.push_audio(vec![30i16; 320]).unwrap();
        tokio::task::yield_now().await;
    }
    for _ in 0..10 {
        session.push_audio(vec![1000i16; 320]).unwrap();
        tokio::task::yield_now().await;
    }
    session.finish().unwrap();
    let expected = SttEvent::Final {
        text: "heard 500 ms".into(),
        start: Duration::from_millis(700),
        end: Duration::from_millis(1200),
        confidence: None,
    };
    assert_eq!(next_stt(&mut session).await, expected);
    let seen: Vec<String> = std::iter::from_fn(|| log.try_recv().ok()).collect();
    assert_eq!(
        seen[1],
        r#"audio-start {"channels":1,"rate":16000,"timestamp":700,"width":2}"#
    );
    // Only silence since: the next finish answers at once, without the server.
    for _ in 0..100 {
        session.push_audio(vec![0i16; 320]).unwrap();
        tokio::task::yield_now().await;
    }
    session.finish().unwrap();
    assert!(
        matches!(next_stt(&mut session).await, SttEvent::Final { text, .. } if text.is_empty())
    );
    assert!(log.try_recv().is_err(), "no connection for silence");
}

#[tokio::test]
async fn stt_finish_without_audio_answers_at_once() {
    let (address, _log) = server(whisper).await;
    let stt = WyomingStt::new(WyomingSttConfig::new(address));
    let mut session = stt.open(stt_config("en")).await.unwrap();
    session.finish().unwrap();
    let SttEvent::Final { text, .. } = next_stt(&mut session).await else {
        panic!()
    };
    assert_eq!(text, "");
}

#[tokio::test]
async fn stt_server_errors_and_silence_become_typed_errors() {
    let (address, _log) = server(whisper).await;
    let stt = WyomingStt::new(WyomingSttConfig::new(address));
    let mut session = stt.open(stt_config("xx")).await.unwrap();
    session.push_audio(vec![1000i16; 320]).unwrap();
    let expected = SttError::Provider("no such language (lang)".into());
    assert_eq!(next_stt(&mut session).await, SttEvent::Error(expected));
    assert_eq!(session.recv().await, None);

    // A server that reads but never answers.
    let (mute, _log) =
        server(
            |mut conn: Connection, _| async move { while let Ok(Some(_)) = conn.recv().await {} },
        )
        .await;
    let mut config = WyomingSttConfig::new(mute);
    config.transcript_timeout = Duration::from_millis(200);
    let mut session = WyomingStt::new(config)
        .open(stt_config("en"))
        .await
        .unwrap();
    session.push_audio(vec![1000i16; 320]).unwrap();
    session.finish().unwrap();
    let event = next_stt(&mut session).await;
    assert!(
        matches!(event, SttEvent::Error(SttError::Timeout { .. })),
        "{event:?}"
    );
}

#[tokio::test]
async fn unreachable_servers_fail_at_open() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    let stt = WyomingStt::new(WyomingSttConfig::new(address.clone()));
    assert!(matches!(
        stt.open(stt_config("en")).await,
        Err(SttError::Connect(_))
    ));
    let tts = WyomingTts::new(WyomingTtsConfig::new(address));
    assert!(matches!(
        tts.open(tts_config()).await,
        Err(TtsError::Connect(_))
    ));
}

/// Like `wyoming-piper`: 22050 Hz, one 100-sample chunk per character;
/// `fail` answers an error, `hang` stops after one chunk and reports when the
/// client goes away.
async fn piper(mut conn: Connection, log: mpsc::UnboundedSender<String>) {
    let Ok(Some(event)) = conn.recv().await else {
        return;
    };
    let _ = log.send(Value::Object(event.data.clone()).to_string());
    let text = event.data["text"].as_str().unwrap_or_default().to_owned();
    if text == "fail" {
        let error = Event::new("error").with("text", "voice not found");
        return conn.send(&error).await.unwrap();
    }
    let format = |kind| {
        Event::new(kind)
            .with("rate", 22050)
            .with("width", 2)
            .with("channels", 1)
    };
    conn.send(&format("audio-start")).await.unwrap();
    for (i, _) in text.chars().enumerate() {
        let pcm: Vec<u8> = (0..100i16).flat_map(|s| (s * 100).to_le_bytes()).collect();
        let chunk = Event {
            payload: pcm,
            ..format("audio-chunk")
        };
        conn.send(&chunk).await.unwrap();
        if text == "hang" && i == 0 {
            while let Ok(Some(_)) = conn.recv().await {}
            let _ = log.send("closed".into());
            return;
        }
    }
    conn.send(&Event::new("audio-stop")).await.unwrap();
}

fn tts_config() -> TtsConfig {
    TtsConfig {
        voice: Some("en_US-joe-medium".into()),
        language: "en-US".into(),
        output: TtsOutput::Mulaw8k,
    }
}

async fn next_tts(session: &mut TtsSession) -> Option<TtsEvent> {
    timeout(GUARD, session.recv()).await.expect("in time")
}

#[tokio::test]
async fn tts_speaks_pieces_in_order_then_done() {
    let (address, mut log) = server(piper).await;
    let tts = WyomingTts::new(WyomingTtsConfig::new(address));
    let mut session = tts.open(tts_config()).await.unwrap();
    session.send_text("Hi.").unwrap();
    session.send_text("Bye now.").unwrap();
    session.finish().unwrap();
    let mut pieces = Vec::new();
    while let Some(TtsEvent::Audio(chunk)) = next_tts(&mut session).await {
        assert_eq!((chunk.sample_rate, chunk.samples()), (22050, 100));
        assert!(matches!(&chunk.audio, TtsAudio::Linear16(s) if s[1] == 100));
        pieces.push(chunk.piece);
    }
    assert_eq!(pieces, [vec![0; 3], vec![1; 8]].concat());
    assert!(!session.is_active(), "ended with Done");
    let first: Value = serde_json::from_str(&log.recv().await.unwrap()).unwrap();
    assert_eq!(
        first,
        json!({"text": "Hi.", "voice": {"name": "en_US-joe-medium"}})
    );
}

#[tokio::test]
async fn tts_errors_and_cancel() {
    let (address, mut log) = server(piper).await;
    let tts = WyomingTts::new(WyomingTtsConfig::new(address));
    let mut failing = tts.open(tts_config()).await.unwrap();
    failing.send_text("fail").unwrap();
    let expected = TtsError::Provider("voice not found".into());
    assert_eq!(
        next_tts(&mut failing).await,
        Some(TtsEvent::Error(expected))
    );

    let mut hanging = tts.open(tts_config()).await.unwrap();
    hanging.send_text("hang").unwrap();
    assert!(matches!(
        next_tts(&mut hanging).await,
        Some(TtsEvent::Audio(_))
    ));
    hanging.cancel();
    assert_eq!(hanging.recv().await, None);
    let mut lines = Vec::new();
    while lines.last().map(String::as_str) != Some("closed") {
        lines.push(
            timeout(GUARD, log.recv())
                .await
                .expect("server saw the close")
                .unwrap(),
        );
    }
}
