//! The client against small fake managers on loopback.

use super::protocol::{Packet, PacketReader};
use super::*;
use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

enum Reply {
    Send(String),
    Close,
}

struct Fake {
    address: String,
    seen: Arc<Mutex<Vec<Packet>>>,
    conns: Arc<AtomicUsize>,
}

fn respond(p: &Packet, response: &str, message: &str) -> Reply {
    Reply::Send(format!(
        "Response: {response}\r\nActionID: {}\r\nMessage: {message}\r\n\r\n",
        p.get("ActionID").unwrap_or_default()
    ))
}

/// A manager that greets, then answers each packet as `handler` says
/// (`handler` gets the connection's number, from 0, and the packet).
async fn fake<F>(handler: F) -> Fake
where
    F: Fn(usize, &Packet) -> Reply + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let conns = Arc::new(AtomicUsize::new(0));
    let handler = Arc::new(handler);
    let (s, c) = (seen.clone(), conns.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let n = c.fetch_add(1, Ordering::SeqCst);
            let (seen, handler) = (s.clone(), handler.clone());
            tokio::spawn(async move {
                stream
                    .write_all(b"Asterisk Call Manager/9.0.0\r\n")
                    .await
                    .unwrap();
                let mut reader = PacketReader::default();
                let mut buf = [0u8; 1024];
                loop {
                    let Ok(read) = stream.read(&mut buf).await else {
                        return;
                    };
                    if read == 0 {
                        return;
                    }
                    reader.feed(&buf[..read]);
                    while let Ok(Some(p)) = reader.next_packet() {
                        seen.lock().unwrap().push(p.clone());
                        match handler(n, &p) {
                            Reply::Send(text) => {
                                if stream.write_all(text.as_bytes()).await.is_err() {
                                    return;
                                }
                            }
                            Reply::Close => return,
                        }
                    }
                }
            });
        }
    });
    Fake {
        address,
        seen,
        conns,
    }
}

fn client(address: &str) -> AmiClient {
    AmiClient::new(AmiConfig {
        address: address.to_owned(),
        username: "gw".into(),
        secret: "s3cret".into(),
        timeout: Duration::from_secs(3),
    })
}

fn is_login(p: &Packet) -> bool {
    p.get("Action") == Some("Login")
}

#[tokio::test]
async fn login_carries_the_credentials_with_events_off_then_actions_share_the_connection() {
    let f = fake(|_, p| respond(p, "Success", "ok")).await;
    let c = client(&f.address);
    c.ping().await.unwrap();
    c.hangup("PJSIP/a-0001", 16).await.unwrap();
    c.redirect("1700000000.1", "vg-transfer", "+15550001", 1)
        .await
        .unwrap();
    let mut seen = f.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(is_login(&seen[0]));
    assert_eq!(seen.remove(1).get("Action"), Some("Ping"));
    assert_eq!(seen[0].get("Username"), Some("gw"));
    assert_eq!(seen[0].get("Secret"), Some("s3cret"));
    assert_eq!(seen[0].get("Events"), Some("off"));
    assert_eq!(seen[1].get("Action"), Some("Hangup"));
    assert_eq!(seen[1].get("Channel"), Some("PJSIP/a-0001"));
    assert_eq!(seen[1].get("Cause"), Some("16"));
    assert_eq!(seen[2].get("Action"), Some("Redirect"));
    assert_eq!(seen[2].get("Context"), Some("vg-transfer"));
    assert_eq!(seen[2].get("Exten"), Some("+15550001"));
    assert_eq!(seen[2].get("Priority"), Some("1"));
    assert_ne!(seen[1].get("ActionID"), seen[2].get("ActionID"));
    assert_eq!(f.conns.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refused_login_is_reported_and_not_retried_within_the_action() {
    let f = fake(|_, p| respond(p, "Error", "Authentication failed")).await;
    let e = client(&f.address).hangup("x", 16).await.unwrap_err();
    assert!(
        matches!(&e, AmiError::LoginFailed(m) if m == "Authentication failed"),
        "{e}"
    );
    assert_eq!(f.conns.load(Ordering::SeqCst), 1);
    assert!(!format!("{e} {:?}", client(&f.address)).contains("s3cret"));
}

#[tokio::test]
async fn error_responses_carry_the_managers_message() {
    let f = fake(|_, p| {
        if is_login(p) {
            respond(p, "Success", "Authentication accepted")
        } else {
            respond(p, "Error", "No such channel")
        }
    })
    .await;
    let e = client(&f.address).hangup("gone", 16).await.unwrap_err();
    assert!(e.is_no_such_channel(), "{e}");
    assert!(
        matches!(&e, AmiError::Refused { action: "Hangup", message } if message == "No such channel")
    );
}

#[tokio::test]
async fn events_and_other_responses_are_skipped_until_the_actions_own() {
    let f = fake(|_, p| {
        if is_login(p) {
            return respond(p, "Success", "ok");
        }
        Reply::Send(format!(
            "Event: FullyBooted\r\nStatus: up\r\n\r\n\
             Response: Error\r\nActionID: someone-else\r\nMessage: no\r\n\r\n\
             Response: Success\r\nActionID: {}\r\nMessage: queued\r\n\r\n",
            p.get("ActionID").unwrap()
        ))
    })
    .await;
    let c = client(&f.address);
    let r = c
        .action("Hangup", &[("Channel", "a")])
        .await
        .expect("its own response");
    assert_eq!(r.get("Message"), Some("queued"));
}

#[tokio::test]
async fn a_disconnect_mid_action_is_reported_and_the_next_action_reconnects() {
    let f = fake(|conn, p| {
        if is_login(p) {
            respond(p, "Success", "ok")
        } else if conn == 0 {
            Reply::Close
        } else {
            respond(p, "Success", "ok")
        }
    })
    .await;
    let c = client(&f.address);
    let e = c.hangup("a", 16).await.unwrap_err();
    assert!(
        matches!(e, AmiError::Disconnected { action: "Hangup" }),
        "{e}"
    );
    c.hangup("a", 16).await.unwrap();
    assert_eq!(f.conns.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_header_injection_is_refused_before_anything_is_sent() {
    let f = fake(|_, p| respond(p, "Success", "ok")).await;
    let c = client(&f.address);
    let e = c
        .hangup("PJSIP/a\r\nAction: Originate\r\nChannel: PJSIP/999", 16)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            AmiError::Invalid {
                action: "Hangup",
                ..
            }
        ),
        "{e}"
    );
    let e = c.hangup("/.*/", 16).await.unwrap_err();
    assert!(
        matches!(
            e,
            AmiError::Invalid {
                action: "Hangup",
                ..
            }
        ),
        "{e}"
    );
    let e = c
        .redirect("a", "ctx\nEvents: on", "100", 1)
        .await
        .unwrap_err();
    assert!(matches!(e, AmiError::Invalid { .. }), "{e}");
    let mut vars = std::collections::BTreeMap::new();
    vars.insert("X".to_owned(), "1\r\nAction: Hangup".to_owned());
    let e = c
        .originate(&AmiOriginate {
            channel: "PJSIP/1".into(),
            application: Some(("Stasis".into(), "app".into())),
            variables: vars,
            ..AmiOriginate::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(e, AmiError::Invalid { .. }), "{e}");
    let mut vars = std::collections::BTreeMap::new();
    vars.insert("X".to_owned(), "1,CDR(userfield)=owned".to_owned());
    let e = c
        .originate(&AmiOriginate {
            channel: "PJSIP/1".into(),
            application: Some(("Stasis".into(), "app".into())),
            variables: vars,
            ..AmiOriginate::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(e, AmiError::Invalid { .. }), "{e}");
    assert_eq!(f.conns.load(Ordering::SeqCst), 0, "nothing was sent");
}

#[tokio::test]
async fn originate_sends_every_field() {
    let f = fake(|_, p| respond(p, "Success", "Originate successfully queued")).await;
    let mut variables = std::collections::BTreeMap::new();
    variables.insert("VG_CALL".to_owned(), "c-1".to_owned());
    variables.insert("B".to_owned(), "two".to_owned());
    client(&f.address)
        .originate(&AmiOriginate {
            channel: "PJSIP/+15550001@trunk".into(),
            channel_id: Some("vg-out-1".into()),
            application: Some(("Stasis".into(), "voice-gateway,outbound".into())),
            dialplan: None,
            caller_id: Some("\"Gw\" <+15550000>".into()),
            timeout: Duration::from_secs(30),
            variables,
        })
        .await
        .unwrap();
    let seen = f.seen.lock().unwrap().clone();
    let o = &seen[1];
    assert_eq!(o.get("Action"), Some("Originate"));
    assert_eq!(o.get("Channel"), Some("PJSIP/+15550001@trunk"));
    assert_eq!(o.get("ChannelId"), Some("vg-out-1"));
    assert_eq!(o.get("Application"), Some("Stasis"));
    assert_eq!(o.get("Data"), Some("voice-gateway,outbound"));
    assert_eq!(o.get("CallerID"), Some("\"Gw\" <+15550000>"));
    assert_eq!(o.get("Timeout"), Some("30000"));
    assert_eq!(o.get("Async"), Some("true"));
    let vars: Vec<_> = o
        .headers
        .iter()
        .filter(|(k, _)| k == "Variable")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(vars, ["B=two", "VG_CALL=c-1"]);
}

#[tokio::test]
async fn connecting_is_retried_with_backoff_within_the_deadline() {
    // Two connections are closed at once (a manager restarting), the third works.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let a = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            if a.fetch_add(1, Ordering::SeqCst) < 2 {
                drop(s);
                continue;
            }
            tokio::spawn(async move {
                s.write_all(b"Asterisk Call Manager/9.0.0\r\n")
                    .await
                    .unwrap();
                let mut reader = PacketReader::default();
                let mut buf = [0u8; 1024];
                loop {
                    let n = s.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    reader.feed(&buf[..n]);
                    while let Ok(Some(p)) = reader.next_packet() {
                        let Reply::Send(r) = respond(&p, "Success", "ok") else {
                            return;
                        };
                        s.write_all(r.as_bytes()).await.unwrap();
                    }
                }
            });
        }
    });
    client(&address).hangup("a", 16).await.unwrap();
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_server_that_never_ends_a_line_is_a_protocol_error_not_a_hang() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let junk = vec![b'A'; 64 * 1024];
        while s.write_all(&junk).await.is_ok() {}
    });
    let e = client(&address).hangup("a", 16).await.unwrap_err();
    assert!(
        matches!(e, AmiError::Protocol(protocol::ProtocolError::LineTooLong)),
        "{e}"
    );
}

#[tokio::test]
async fn not_a_manager_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").await;
        let _ = s.read(&mut [0u8; 16]).await;
    });
    let e = client(&address).hangup("a", 16).await.unwrap_err();
    assert!(
        matches!(
            e,
            AmiError::Protocol(protocol::ProtocolError::NotAManager(_))
        ),
        "{e}"
    );
}

#[tokio::test]
async fn concurrent_actions_each_get_their_own_response() {
    let f = fake(|_, p| {
        if is_login(p) {
            return respond(p, "Success", "ok");
        }
        // Echo the channel back so a mix-up would show.
        respond(p, "Success", p.get("Channel").unwrap_or_default())
    })
    .await;
    let c = client(&f.address);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move {
                let channel = format!("ch-{i}");
                let r = c.action("Hangup", &[("Channel", &channel)]).await.unwrap();
                assert_eq!(r.get("Message"), Some(channel.as_str()));
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(f.conns.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_manager_that_never_answers_times_out_and_the_next_action_starts_afresh() {
    let f = fake(|conn, p| {
        if is_login(p) || conn > 0 {
            respond(p, "Success", "ok")
        } else {
            // Answered, but too late and to nobody: only a blank line.
            Reply::Send("\r\n".into())
        }
    })
    .await;
    let c = AmiClient::new(AmiConfig {
        timeout: Duration::from_millis(300),
        ..AmiConfig::from_url(&format!("tcp://{}", f.address), "gw", "s", Duration::ZERO).unwrap()
    });
    let e = c.hangup("a", 16).await.unwrap_err();
    assert!(matches!(e, AmiError::Timeout { action: "Hangup" }), "{e}");
    c.hangup("a", 16).await.unwrap();
    assert_eq!(
        f.conns.load(Ordering::SeqCst),
        2,
        "the timed-out connection was dropped"
    );
}

#[test]
fn urls_are_tcp_host_port() {
    assert_eq!(
        address_of("tcp://127.0.0.1:5038").unwrap(),
        "127.0.0.1:5038"
    );
    assert_eq!(address_of("tcp://pbx.example").unwrap(), "pbx.example:5038");
    for bad in [
        "http://127.0.0.1:5038",
        "tcp://",
        "tcp://u:p@pbx:5038",
        "tcp://pbx:5038/x",
        "pbx:5038",
    ] {
        assert!(address_of(bad).is_err(), "{bad}");
    }
}

mod fallback {
    use super::*;
    use crate::adapter::ari::{AriClient, AriClientConfig};
    use crate::application::ports::telephony::{HangupCause, Telephony, TelephonyError};

    /// An ARI that answers every request with `status` and `body`.
    async fn ari_answering(status: u16, body: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/ari", listener.local_addr().unwrap());
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = s.write_all(reply.as_bytes()).await;
                });
            }
        });
        url
    }

    /// A loopback port nobody listens on.
    async fn closed_port() -> String {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/ari", l.local_addr().unwrap());
        drop(l);
        url
    }

    fn telephony(ari_url: String, ami: &Fake) -> (AriWithAmi, AmiMetrics) {
        let ari = AriClient::new(AriClientConfig {
            base_url: ari_url,
            username: "u".into(),
            password: "p".into(),
            app: "voice-gateway".into(),
            request_timeout: Duration::from_secs(2),
        })
        .unwrap();
        let metrics = AmiMetrics::default();
        let t = AriWithAmi::new(Arc::new(ari), client(&ami.address), metrics.clone());
        (t, metrics)
    }

    fn actions(f: &Fake) -> Vec<Packet> {
        f.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|p| !is_login(p))
            .cloned()
            .collect()
    }

    #[tokio::test]
    async fn a_hangup_ari_cannot_reach_goes_over_ami_and_is_counted() {
        let ami = fake(|_, p| respond(p, "Success", "Channel Hungup")).await;
        let (t, metrics) = telephony(closed_port().await, &ami);
        let ch = ari::ChannelId::new("1700000000.7");
        t.hangup(&ch, HangupCause::Busy).await.unwrap();
        let sent = actions(&ami);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].get("Action"), Some("Hangup"));
        assert_eq!(sent[0].get("Channel"), Some("1700000000.7"));
        assert_eq!(sent[0].get("Cause"), Some("17"));
        assert_eq!(metrics.count("hangup", true), 1);
    }

    #[tokio::test]
    async fn a_redirect_after_an_ari_500_goes_over_ami() {
        let ami = fake(|_, p| respond(p, "Success", "Redirect successful")).await;
        let (t, metrics) = telephony(ari_answering(500, r#"{"message":"oops"}"#).await, &ami);
        let ch = ari::ChannelId::new("c1");
        t.continue_in_dialplan(&ch, "vg-transfer", "+15550001")
            .await
            .unwrap();
        let sent = actions(&ami);
        assert_eq!(sent[0].get("Action"), Some("Redirect"));
        assert_eq!(sent[0].get("Exten"), Some("+15550001"));
        assert_eq!(metrics.count("redirect", true), 1);
    }

    #[tokio::test]
    async fn asterisks_4xx_verdict_stands_and_ami_is_not_asked() {
        let ami = fake(|_, p| respond(p, "Success", "ok")).await;
        let (t, metrics) = telephony(
            ari_answering(404, r#"{"message":"Channel not found"}"#).await,
            &ami,
        );
        let e = t
            .hangup(&ari::ChannelId::new("gone"), HangupCause::Normal)
            .await
            .unwrap_err();
        assert!(matches!(e, TelephonyError::Gone(_)), "{e}");
        assert_eq!(ami.conns.load(Ordering::SeqCst), 0);
        assert_eq!(metrics.count("hangup", true), 0);
    }

    #[tokio::test]
    async fn when_ami_fails_too_the_error_says_so_and_is_counted() {
        let ami = fake(|_, p| {
            if is_login(p) {
                respond(p, "Success", "ok")
            } else {
                respond(p, "Error", "No such channel")
            }
        })
        .await;
        let (t, metrics) = telephony(closed_port().await, &ami);
        let e = t
            .hangup(&ari::ChannelId::new("gone"), HangupCause::Normal)
            .await
            .unwrap_err();
        assert!(matches!(e, TelephonyError::Gone(_)), "{e}");
        assert_eq!(metrics.count("hangup", false), 1);
    }

    #[tokio::test]
    async fn an_originate_ari_never_got_goes_over_ami_into_the_stasis_app() {
        use crate::application::ports::telephony::OriginateRequest;
        let ami = fake(|_, p| respond(p, "Success", "Originate successfully queued")).await;
        let (t, metrics) = telephony(closed_port().await, &ami);
        let request = OriginateRequest {
            channel_id: ari::ChannelId::new("vg-out-1"),
            endpoint: "PJSIP/+15550001@trunk".into(),
            caller_id: Some("+15550000".into()),
            timeout: Duration::from_secs(20),
            app_args: vec!["outbound".into(), "c-1".into()],
            variables: Default::default(),
        };
        t.originate(&request).await.unwrap();
        let sent = actions(&ami);
        assert_eq!(sent[0].get("Application"), Some("Stasis"));
        assert_eq!(sent[0].get("Data"), Some("voice-gateway,outbound,c-1"));
        assert_eq!(sent[0].get("ChannelId"), Some("vg-out-1"));
        assert_eq!(metrics.count("originate", true), 1);
    }

    #[tokio::test]
    async fn an_originate_that_may_have_reached_ari_is_not_placed_twice() {
        let ami = fake(|_, p| respond(p, "Success", "ok")).await;
        let (t, _) = telephony(
            ari_answering(500, r#"{"error":"Allocation failed"}"#).await,
            &ami,
        );
        let request = crate::application::ports::telephony::OriginateRequest {
            channel_id: ari::ChannelId::new("vg-out-2"),
            endpoint: "PJSIP/+15550001@trunk".into(),
            caller_id: None,
            timeout: Duration::from_secs(20),
            app_args: vec![],
            variables: Default::default(),
        };
        assert!(t.originate(&request).await.is_err());
        assert_eq!(ami.conns.load(Ordering::SeqCst), 0);
    }
}
