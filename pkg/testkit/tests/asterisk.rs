//! The real-Asterisk harness against the real Asterisk: it starts, listens on
//! loopback only, stops on drop, runs side by side, and its test callers
//! place calls whose recordings hold what was heard and said.

// Tests read the clock to make their inputs and to measure.
#![allow(clippy::disallowed_methods)]

use std::time::Duration;
use vg_testkit::{AsteriskServer, Caller, is_loopback, open_sockets, wait_until, wav};

#[test]
fn starts_answers_ari_listens_on_loopback_only_and_stops_on_drop() {
    let ast = AsteriskServer::start().unwrap();
    assert_eq!(ast.ari().status("/asterisk/ping").unwrap(), 200);
    let info = ast.ari_get("/asterisk/info").unwrap();
    assert_eq!(info["system"]["version"], "20.20.1", "{info}");

    let socks = open_sockets(ast.pid()).unwrap();
    assert!(
        socks
            .iter()
            .any(|s| s.proto == "tcp" && s.local.port() == ast.http_port()),
        "{socks:?}"
    );
    assert!(
        socks
            .iter()
            .any(|s| s.proto == "udp" && s.local.port() == ast.sip_port()),
        "{socks:?}"
    );
    let public: Vec<_> = socks.iter().filter(|s| !is_loopback(&s.local)).collect();
    assert!(public.is_empty(), "bound beyond loopback: {public:?}");

    let modules = ast.cli("module show like ari").unwrap();
    assert!(modules.contains("res_ari_channels.so"), "{modules}");
    let log = ast.log_text();
    assert!(!log.contains("ERROR"), "errors in the log:\n{log}");

    let pid = ast.pid();
    drop(ast);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

#[test]
fn two_instances_run_at_once_on_different_ports() {
    let a = AsteriskServer::start().unwrap();
    let b = AsteriskServer::start().unwrap();
    assert_ne!(a.http_port(), b.http_port());
    assert_ne!(a.sip_port(), b.sip_port());
    let (ra, rb) = (a.rtp_range(), b.rtp_range());
    assert!(ra.1 < rb.0 || rb.1 < ra.0, "{ra:?} overlaps {rb:?}");
    assert_eq!(a.ari().status("/asterisk/ping").unwrap(), 200);
    assert_eq!(b.ari().status("/asterisk/ping").unwrap(), 200);
}

/// Sound louder than this is "something"; Asterisk's silence is digital zero.
const SOUND_DBFS: f64 = -45.0;

#[test]
fn listening_caller_hears_what_the_answering_side_plays() {
    let ast = AsteriskServer::start().unwrap();
    // vg-test-play answers and plays hello-world (about 1.4 s), then silence.
    let call = ast
        .call(
            Caller::listen("+15551234567")
                .into_context("vg-test-play")
                .max_duration(Duration::from_secs(3)),
        )
        .unwrap();
    let heard = call.heard(Duration::from_secs(10)).unwrap();
    let said = call.said(Duration::from_secs(10)).unwrap();
    let spans = heard.spans(SOUND_DBFS, Duration::from_millis(300));
    eprintln!(
        "heard {:?} {spans:?}; said {:?} {:?}",
        heard.duration(),
        said.duration(),
        said.spans(SOUND_DBFS, Duration::ZERO)
    );
    assert!(!spans.is_empty(), "nothing heard: {spans:?}");
    assert!(spans[0].0 < Duration::from_millis(500), "{spans:?}");
    assert!(
        said.spans(SOUND_DBFS, Duration::ZERO).is_empty(),
        "the listener said something"
    );
}

#[test]
fn playing_caller_is_echoed_back() {
    let ast = AsteriskServer::start().unwrap();
    let path = ast.sounds_dir().join("tone.wav");
    let mut samples = wav::silence(Duration::from_millis(500), wav::RATE);
    samples.extend(wav::tone(440.0, Duration::from_secs(1), wav::RATE, -12.0));
    wav::write(&path, wav::RATE, &samples).unwrap();
    let call = ast
        .call(
            Caller::play("+15551234567", &path)
                .into_context("vg-test-echo")
                .max_duration(Duration::from_secs(3)),
        )
        .unwrap();
    let said = call.said(Duration::from_secs(10)).unwrap();
    let heard = call.heard(Duration::from_secs(10)).unwrap();
    let said_spans = said.spans(SOUND_DBFS, Duration::from_millis(100));
    let heard_spans = heard.spans(SOUND_DBFS, Duration::from_millis(100));
    eprintln!(
        "said {:?} {said_spans:?}; heard {:?} {heard_spans:?}",
        said.duration(),
        heard.duration()
    );
    assert_eq!(said_spans.len(), 1, "{said_spans:?}");
    assert_eq!(heard_spans.len(), 1, "{heard_spans:?}");
}

#[test]
fn dtmf_caller_digits_reach_the_answering_side() {
    let ast = AsteriskServer::start().unwrap();
    let call = ast
        .call(
            Caller::dtmf("+15551234567", "123#", Duration::from_millis(500))
                .into_context("vg-test-dtmf")
                .max_duration(Duration::from_secs(5)),
        )
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || ast
            .log_text()
            .contains("VG-DTMF 123")),
        "{}",
        ast.log_text()
    );
    call.hangup().unwrap();
    call.wait_ended(Duration::from_secs(5)).unwrap();
}

/// A bare ARI events WebSocket: enough to register the Stasis app and see
/// which events arrive (server frames are unmasked, so their JSON is plain).
struct Events {
    sock: std::net::TcpStream,
    seen: String,
}

impl Events {
    fn open(ast: &AsteriskServer, app: &str) -> Events {
        use std::io::{Read, Write};
        let mut sock = std::net::TcpStream::connect(("127.0.0.1", ast.http_port())).unwrap();
        write!(
            sock,
            "GET /ari/events?app={app}&api_key={}:{} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            ast.ari_user(),
            ast.ari_password()
        )
        .unwrap();
        let mut head = [0u8; 12];
        sock.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"HTTP/1.1 101", "{}", String::from_utf8_lossy(&head));
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        Events {
            sock,
            seen: String::new(),
        }
    }

    /// Waits until everything received so far contains `text`.
    fn wait_for(&mut self, text: &str) -> bool {
        use std::io::Read;
        wait_until(Duration::from_secs(10), || {
            let mut buf = [0u8; 8192];
            if let Ok(n) = self.sock.read(&mut buf) {
                self.seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
            self.seen.contains(text)
        })
    }
}

#[test]
fn caller_enters_the_stasis_app_like_an_inbound_call() {
    let ast = AsteriskServer::start().unwrap();
    let mut events = Events::open(&ast, ast.stasis_app());
    let path = ast.sounds_dir().join("tone.wav");
    wav::write(
        &path,
        wav::RATE,
        &wav::tone(440.0, Duration::from_millis(800), wav::RATE, -12.0),
    )
    .unwrap();
    let call = ast
        .call(
            Caller::play("+15551234567", &path)
                .caller_number("+15550001111")
                .max_duration(Duration::from_secs(3)),
        )
        .unwrap();
    assert!(events.wait_for("StasisStart"), "{}", events.seen);
    let inbound = call.inbound_id().replace(';', "%3B");
    let ch = ast.ari_get(&format!("/channels/{inbound}")).unwrap();
    assert_eq!(ch["state"], "Ring", "{ch}");
    assert_eq!(ch["caller"]["number"], "+15550001111", "{ch}");
    assert_eq!(ch["dialplan"]["exten"], "+15551234567", "{ch}");
    assert!(
        events.seen.contains(r#""args":["+15551234567"]"#),
        "{}",
        events.seen
    );
    // The app answers and plays a prompt; the caller then plays its tone.
    ast.ari_post(&format!("/channels/{inbound}/answer"), &[])
        .unwrap();
    ast.ari_post(
        &format!("/channels/{inbound}/play"),
        &[("media", "sound:hello-world")],
    )
    .unwrap();
    let heard = call.heard(Duration::from_secs(10)).unwrap();
    let said = call.said(Duration::from_secs(10)).unwrap();
    assert!(!heard.spans(SOUND_DBFS, Duration::ZERO).is_empty());
    let said_spans = said.spans(SOUND_DBFS, Duration::from_millis(100));
    assert_eq!(said_spans.len(), 1, "{said_spans:?}");
    assert!(events.wait_for("StasisEnd"), "{}", events.seen);
}

#[test]
fn hangup_mid_caller_hangs_up_during_its_file() {
    let ast = AsteriskServer::start().unwrap();
    let path = ast.sounds_dir().join("long.wav");
    wav::write(
        &path,
        wav::RATE,
        &wav::tone(440.0, Duration::from_secs(5), wav::RATE, -12.0),
    )
    .unwrap();
    let call = ast
        .call(
            Caller::hangup_mid("+15551234567", &path, Duration::from_millis(1500))
                .into_context("vg-test-echo"),
        )
        .unwrap();
    let said = call.said(Duration::from_secs(10)).unwrap();
    let spans = said.spans(SOUND_DBFS, Duration::from_millis(100));
    assert_eq!(spans.len(), 1, "{spans:?}");
    let played = spans[0].1 - spans[0].0;
    assert!(
        played > Duration::from_millis(1200) && played < Duration::from_millis(2000),
        "{spans:?}"
    );
}

#[test]
fn restart_comes_back_on_the_same_ports() {
    let mut ast = AsteriskServer::start().unwrap();
    let (pid, port) = (ast.pid(), ast.http_port());
    ast.restart().unwrap();
    assert_eq!(ast.pid(), pid);
    assert_eq!(ast.http_port(), port);
    assert_eq!(ast.ari().status("/asterisk/ping").unwrap(), 200);
    assert!(
        ast.cli("core show uptime")
            .unwrap()
            .contains("System uptime")
    );
}

#[test]
fn sip_phone_calls_through_chan_sip_and_hears_the_echo() {
    let ast = AsteriskServer::start().unwrap();
    let mic = ast.sounds_dir().join("mic.wav");
    // The phone hangs up when its file ends: 3.5 s of call.
    let mut samples = wav::silence(Duration::from_millis(500), wav::RATE);
    samples.extend(wav::tone(440.0, Duration::from_secs(1), wav::RATE, -12.0));
    samples.extend(wav::silence(Duration::from_secs(2), wav::RATE));
    wav::write(&mic, wav::RATE, &samples).unwrap();
    let phone = vg_testkit::SipPhone::start(&ast, &mic).unwrap();
    phone.dial("echo").unwrap();
    assert!(
        phone.wait_for_log("Call established", Duration::from_secs(10)),
        "{}",
        phone.log_text()
    );
    assert!(
        ast.cli("core show channels")
            .unwrap()
            .contains("SIP/caller")
    );
    assert!(
        phone.wait_for_log("terminated", Duration::from_secs(10)),
        "{}",
        phone.log_text()
    );
    let heard = phone.heard(Duration::from_secs(10)).unwrap();
    let spans = heard.spans(SOUND_DBFS, Duration::from_millis(100));
    assert_eq!(spans.len(), 1, "{spans:?}");
    let echoed = spans[0].1 - spans[0].0;
    assert!(
        echoed > Duration::from_millis(900) && echoed < Duration::from_millis(1200),
        "{spans:?}"
    );
}

#[test]
fn sip_phone_call_to_a_did_enters_the_stasis_app() {
    let ast = AsteriskServer::start().unwrap();
    let mut events = Events::open(&ast, ast.stasis_app());
    let mic = ast.sounds_dir().join("mic.wav");
    wav::write(
        &mic,
        wav::RATE,
        &wav::silence(Duration::from_secs(3), wav::RATE),
    )
    .unwrap();
    let phone = vg_testkit::SipPhone::start(&ast, &mic).unwrap();
    phone.dial("+15551234567").unwrap();
    assert!(events.wait_for("StasisStart"), "{}", phone.log_text());
    assert!(
        events.seen.contains(r#""args":["+15551234567"]"#),
        "{}",
        events.seen
    );
    assert!(events.seen.contains("SIP/caller-"), "{}", events.seen);
    phone.hangup().unwrap();
    assert!(events.wait_for("StasisEnd"), "{}", events.seen);
}
