//! What the simulator must copy, checked on the real Asterisk: each behaviour
//! the real thing showed and the simulator had wrong (issue 13) has a test
//! here and its twin against the simulator (`pkg/asterisk-sim/tests`).

use futures_util::StreamExt;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use vg_testkit::{AsteriskOptions, AsteriskServer};

/// `POST /channels/externalMedia` answers before the channel is in Stasis:
/// the response shows it `Down`, its `StasisStart` (state `Up`) comes after,
/// and `addChannel` in between is refused with 422. The simulator's twin:
/// `scenarios::an_external_media_channel_enters_stasis_after_the_response`.
#[test]
fn an_external_media_channel_enters_stasis_after_the_response() {
    let ast = AsteriskServer::start_with(AsteriskOptions::default()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = format!(
        "{}&api_key={}:{}",
        ast.ari_ws_url("fidelity"),
        ast.ari_user(),
        ast.ari_password()
    );
    let (mut ws, _) = runtime
        .block_on(tokio_tungstenite::connect_async(url))
        .unwrap();
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let host = sock.local_addr().unwrap().to_string();
    let (mut refused, rounds) = (0, 20);
    for n in 0..rounds {
        let (bridge, channel) = (format!("fx-b-{n}"), format!("fx-em-{n}"));
        ast.ari_post("/bridges", &[("type", "mixing"), ("bridgeId", &bridge)])
            .unwrap();
        let created = ast
            .ari_post(
                "/channels/externalMedia",
                &[
                    ("app", "fidelity"),
                    ("external_host", &host),
                    ("format", "ulaw"),
                    ("channelId", &channel),
                ],
            )
            .unwrap();
        let (status, body) = ast
            .ari()
            .request(
                "POST",
                &format!("/bridges/{bridge}/addChannel"),
                &[("channel", &channel)],
                None,
            )
            .unwrap();
        assert_eq!(created["state"], "Down", "{created}");
        match status {
            422 => {
                assert_eq!(body["message"], "Channel not in Stasis application");
                refused += 1;
            }
            204 => {}
            other => panic!("addChannel answered {other} {body}"),
        }
        let start = runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(5), async {
                while let Some(Ok(m)) = ws.next().await {
                    if let Message::Text(t) = m {
                        let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                        if v["type"] == "StasisStart" {
                            return v;
                        }
                    }
                }
                panic!("events socket closed")
            })
            .await
            .expect("the externalMedia channel's StasisStart")
        });
        assert_eq!(start["channel"]["id"], channel.as_str());
        assert_eq!(start["channel"]["state"], "Up");
        ast.ari_delete(&format!("/channels/{channel}")).unwrap();
        ast.ari_delete(&format!("/bridges/{bridge}")).unwrap();
    }
    eprintln!(
        "real Asterisk: addChannel right after externalMedia refused {refused} of {rounds} times"
    );
}
