//! The real binary with no AWS keys in its file, environment or profile:
//! its credentials come from the instance role, served by a loopback
//! IMDSv2 fake named by `AWS_EC2_METADATA_SERVICE_ENDPOINT`; Polly and
//! Transcribe fakes accept only requests signed with the role's temporary
//! set and its session token. A call through the simulator hears the
//! greeting Polly spoke and is transcribed by Transcribe.

use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use vg_asterisk_sim::{SimConfig, Simulator};

use crate::aws_fake::{Polly, Transcribe, aws_endpoints, fake_imds, fake_polly, fake_transcribe};
use crate::rig::speech;
use crate::support::events_path;

const BIN: &str = env!("CARGO_BIN_EXE_voice-gateway");

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    tokio::time::timeout(Duration::from_secs(20), async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_signs_with_the_instance_role_from_imds() {
    let (imds, issued) = fake_imds().await;
    let (polly, texts) = fake_polly(Polly::Speaks).await;
    let (transcribe, streams) = fake_transcribe(Transcribe::Hears).await;
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (user, pass) = sim.credentials();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.toml");
    let toml = format!(
        "[http]\nlisten = \"127.0.0.1:0\"\n[ari]\nurl = \"{}\"\nusername = \"{user}\"\n\
         password = \"{pass}\"\n[events]\npath = \"{}\"\n[log]\nformat = \"json\"\n\
         [speech]\nstt = \"aws\"\ntts = \"polly\"\n[media]\nrtp_port_range = \"43100-43149\"\n{}",
        sim.base_url(),
        events_path(),
        aws_endpoints(&transcribe, &polly)
    );
    std::fs::write(&file, toml).unwrap();
    let nowhere = dir.path().join("no-credentials");
    let mut child = Command::new(BIN)
        .args(["--config", file.to_str().unwrap(), "serve"])
        .env("AWS_ACCESS_KEY_ID", "")
        .env("AWS_SECRET_ACCESS_KEY", "")
        .env("AWS_SESSION_TOKEN", "")
        .env("AWS_PROFILE", "")
        .env("AWS_SHARED_CREDENTIALS_FILE", &nowhere)
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (_addr, lines) = crate::process::started_at(&mut child);
    let logs = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    assert_eq!(
        issued.load(Ordering::SeqCst),
        0,
        "nothing fetched before the first use"
    );
    // A call placed before the gateway holds the Stasis app finds no app.
    until("the gateway's events socket", || {
        sim.app_connected("voice-gateway")
    })
    .await;
    let call = sim.place_inbound_call("+15551234567", "+15557654321");
    let greeted = tokio::time::timeout(Duration::from_secs(20), async {
        while !sim.heard_pcm(call).iter().any(|s| s.unsigned_abs() > 4000) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    if greeted.is_err() {
        let _ = child.kill();
        let logs = logs.join().unwrap().join("\n");
        panic!("timed out waiting for the greeting Polly spoke: {logs}");
    }
    assert!(sim.caller_say(call, &speech(1200)));
    until("a Transcribe stream", || {
        streams.load(Ordering::SeqCst) >= 1
    })
    .await;
    until("the answer to the caller", || {
        texts.lock().unwrap().len() >= 2
    })
    .await;
    assert_eq!(
        issued.load(Ordering::SeqCst),
        1,
        "one set served both adapters"
    );
    sim.caller_hangup(call);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    let logs = logs.join().unwrap().join("\n");
    assert_eq!(exit.code(), Some(0), "{logs}");
    assert!(
        !logs.contains("error.tts_failed") && !status_403(&logs),
        "{logs}"
    );
}

/// Whether `logs` hold a 403 status: "403" standing alone, not inside a
/// longer number (CI once had a channel id, 1796640398.1, fail the check).
fn status_403(logs: &str) -> bool {
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    logs.match_indices("403")
        .any(|(i, _)| !digit(logs[..i].chars().next_back()) && !digit(logs[i + 3..].chars().next()))
}

#[test]
fn a_403_inside_a_longer_number_is_no_403_status() {
    assert!(!status_403(r#"{"channel":"1796640398.1"}"#));
    assert!(status_403("polly: HTTP 403 InvalidSignatureException"));
    assert!(status_403("transcribe: 403"));
}
