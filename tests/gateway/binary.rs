//! The real binary: check-config exit codes, serve, health endpoints, SIGTERM.

use crate::support::{get_json, wait_for};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_voice-gateway");

fn check_config(env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("check-config")
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_config_prints_masked_configuration() {
    let (code, out, _) = check_config(&[("VOICEGW__ARI__PASSWORD", "topsecret")], &[]);
    assert_eq!(code, 0);
    assert!(
        out.contains("[ari]") && out.contains("password = \"********\""),
        "{out}"
    );
    assert!(!out.contains("topsecret"));
    assert!(
        out.contains("ari.password overridden by VOICEGW__ARI__PASSWORD"),
        "{out}"
    );
}

#[test]
fn check_config_prints_engine_urls_with_their_passwords_masked() {
    let (code, out, err) = check_config(
        &[
            ("VOICEGW__REDIS__URL", "redis://:r3dis-pw@10.1.2.3:6379/0"),
            ("VOICEGW__POSTGRES__URL", "postgres://vg:pg-pw@db:5432/vg"),
            ("VOICEGW__KAFKA__BROKERS", "k1:9092,k2:9092"),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("r3dis-pw") && !out.contains("pg-pw"), "{out}");
    assert!(
        out.contains("url = \"redis://:********@10.1.2.3:6379/0\""),
        "{out}"
    );
    assert!(
        out.contains("url = \"postgres://vg:********@db:5432/vg\""),
        "{out}"
    );
    assert!(out.contains("brokers = \"k1:9092,k2:9092\""), "{out}");

    let (code, _, err) = check_config(&[("VOICEGW__KAFKA__BROKERS", "k1")], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("`kafka.brokers`") && err.contains("VOICEGW__KAFKA__BROKERS"),
        "{err}"
    );
}

#[test]
fn check_config_names_the_bad_key_and_exits_2() {
    let (code, _, err) = check_config(&[("VOICEGW__HTTP__LISTEN", "not-an-address")], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("`http.listen`") && err.contains("VOICEGW__HTTP__LISTEN"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[log]\nformat = \"xml\"\n").unwrap();
    let (code, _, err) = check_config(&[], &["--config", file.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("`log.format`") && err.contains("json or pretty"),
        "{err}"
    );

    let (code, _, err) = check_config(&[], &["--config", "/nonexistent.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read configuration file"), "{err}");

    // Found only by building the speech providers, as `serve` would.
    let (code, _, err) = check_config(
        &[(
            "VOICEGW__SPEECH__TTS_FAILURE_PROMPT",
            "/nonexistent/prompt.wav",
        )],
        &[],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("speech.tts_failure_prompt: /nonexistent/prompt.wav"),
        "{err}"
    );
    let routes = dir.path().join("routes.toml");
    std::fs::write(
        &routes,
        "[[routes]]\ndid = \"*\"\ntenant = \"t\"\nagent = \"a\"\ntts = \"elevenlabs\"\n",
    )
    .unwrap();
    let (code, _, err) = check_config(
        &[("ELEVENLABS_API_KEY", "")],
        &["--config", routes.to_str().unwrap()],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("routes[0] (did \"*\").tts: elevenlabs is not configured"),
        "{err}"
    );
}

#[test]
fn check_config_names_the_missing_openai_key_of_a_route_that_listens_with_openai() {
    let dir = tempfile::tempdir().unwrap();
    let routes = dir.path().join("routes.toml");
    std::fs::write(
        &routes,
        "[[routes]]\ndid = \"*\"\ntenant = \"t\"\nagent = \"a\"\nstt = \"openai\"\n",
    )
    .unwrap();
    let config = ["--config", routes.to_str().unwrap()];
    let (code, _, err) = check_config(&[("OPENAI_API_KEY", "")], &config);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("routes[0] (did \"*\").stt: openai is not configured")
            && err.contains("speech.openai.api_key")
            && err.contains("OPENAI_API_KEY"),
        "{err}"
    );
    // With the key it is valid, and the key is not printed.
    let (code, out, err) = check_config(&[("OPENAI_API_KEY", "sk-check-config")], &config);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("sk-check-config") && !err.contains("sk-check-config"));
}

#[test]
fn version_flag() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with(concat!("voice-gateway ", env!("CARGO_PKG_VERSION")))
    );
}

#[tokio::test]
async fn serve_answers_health_and_exits_0_on_sigterm() {
    let mut child = Command::new(BIN)
        .env("VOICEGW__HTTP__LISTEN", "127.0.0.1:0")
        .env("VOICEGW__ARI__URL", "http://127.0.0.1:1")
        .env("VOICEGW__ARI__RECONNECT_MAX_DELAY", "50ms")
        .env("VOICEGW__LOG__FORMAT", "json")
        .env("VOICEGW__EVENTS__PATH", crate::support::events_path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (addr, lines) = crate::process::started_at(&mut child);
    let drain_logs = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let base = format!("http://{addr}");

    assert_eq!(get_json(&base, "/healthz").await.0, 200);
    assert!(
        thread_names(child.id())
            .iter()
            .any(|n| n == "jemalloc_bg_thd"),
        "jemalloc's background purge thread runs (memory of a load goes back \
         to the system while idle): {:?}",
        thread_names(child.id())
    );
    let body = wait_for(&base, "/readyz", |c, b| {
        c == 503 && b["dependencies"]["ari"]["state"] == "down"
    })
    .await;
    assert!(
        body["dependencies"]["ari"]["detail"]
            .as_str()
            .unwrap()
            .contains("connect"),
        "{body}"
    );
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("voicegw_build_info{"), "{metrics}");
    assert!(
        metrics.contains("process_resident_memory_bytes"),
        "{metrics}"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exit.code(), Some(0), "SIGTERM with no live calls exits 0");
    let logs = drain_logs.join().unwrap().join("\n");
    assert!(
        logs.contains("draining") && logs.contains("all calls ended"),
        "{logs}"
    );
}

#[test]
fn check_config_names_missing_azure_credentials_and_never_prints_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let routes = dir.path().join("azure.toml");
    std::fs::write(
        &routes,
        "[[routes]]\ndid = \"*\"\ntenant = \"t\"\nagent = \"a\"\nstt = \"azure\"\ntts = \"azure\"\n",
    )
    .unwrap();
    let file = ["--config", routes.to_str().unwrap()];
    let (code, _, err) = check_config(&[("AZURE_SPEECH_KEY", "")], &file);
    assert_eq!(code, 2);
    assert!(
        err.contains("routes[0] (did \"*\").stt: azure is not configured")
            && err.contains("speech.azure.api_key is not set (nor AZURE_SPEECH_KEY)"),
        "{err}"
    );
    let (code, _, err) = check_config(
        &[
            ("AZURE_SPEECH_KEY", "az-secret"),
            ("AZURE_SPEECH_REGION", ""),
        ],
        &file,
    );
    assert_eq!(code, 2);
    assert!(err.contains("speech.azure.region is not set"), "{err}");
    let (code, out, err) = check_config(
        &[
            ("AZURE_SPEECH_KEY", ""),
            ("VOICEGW__SPEECH__AZURE__API_KEY", "az-secret"),
            ("AZURE_SPEECH_REGION", "westeurope"),
        ],
        &file,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains("az-secret") && !err.contains("az-secret"),
        "{out}"
    );
}

/// `[speech.azure] token` (or `AZURE_SPEECH_TOKEN`) stands in for the key;
/// check-config accepts it, never prints it, and refuses an empty one.
#[test]
fn check_config_accepts_an_azure_token_instead_of_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let routes = dir.path().join("azure.toml");
    std::fs::write(
        &routes,
        "[[routes]]\ndid = \"*\"\ntenant = \"t\"\nagent = \"a\"\nstt = \"azure\"\ntts = \"azure\"\n",
    )
    .unwrap();
    let file = ["--config", routes.to_str().unwrap()];
    let (code, out, err) = check_config(
        &[
            ("AZURE_SPEECH_KEY", ""),
            ("AZURE_SPEECH_TOKEN", "az-token-secret"),
            ("AZURE_SPEECH_REGION", "westeurope"),
        ],
        &file,
    );
    assert_eq!(code, 0, "{err}");
    let (code, out2, err2) = check_config(
        &[
            ("AZURE_SPEECH_KEY", ""),
            ("VOICEGW__SPEECH__AZURE__TOKEN", "az-token-secret"),
            ("AZURE_SPEECH_REGION", "westeurope"),
        ],
        &file,
    );
    assert_eq!(code, 0, "{err2}");
    for shown in [out, err, out2, err2] {
        assert!(!shown.contains("az-token-secret"), "{shown}");
    }
    let (code, _, err) = check_config(
        &[
            ("AZURE_SPEECH_KEY", ""),
            ("VOICEGW__SPEECH__AZURE__TOKEN", " "),
            ("AZURE_SPEECH_REGION", "westeurope"),
        ],
        &file,
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("speech.azure.token") && err.contains("is empty"),
        "{err}"
    );
}

/// `stt = "aws"` and `tts = "polly"` need `[speech.aws]` credentials and a
/// region; without them check-config names the section and the key.
#[test]
fn check_config_names_speech_aws_and_its_missing_key() {
    let dir = tempfile::tempdir().unwrap();
    let routes = dir.path().join("aws.toml");
    std::fs::write(
        &routes,
        "[[routes]]\ndid = \"*\"\ntenant = \"t\"\nagent = \"a\"\nstt = \"aws\"\ntts = \"polly\"\n",
    )
    .unwrap();
    let config = ["--config", routes.to_str().unwrap()];
    let nowhere = dir.path().join("no-credentials").display().to_string();
    let no_chain = [
        ("AWS_ACCESS_KEY_ID", ""),
        ("AWS_SECRET_ACCESS_KEY", ""),
        ("AWS_SESSION_TOKEN", ""),
        ("AWS_PROFILE", ""),
        ("AWS_SHARED_CREDENTIALS_FILE", nowhere.as_str()),
        ("AWS_REGION", ""),
        ("AWS_DEFAULT_REGION", ""),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", ""),
        ("AWS_EC2_METADATA_DISABLED", ""),
    ];
    let (code, _, err) = check_config(&no_chain, &config);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "routes[0] (did \"*\").stt: aws is not configured: speech.aws.access_key_id is not set"
        ) && err.contains("not an EC2 instance, so no instance role"),
        "{err}"
    );
    // A named metadata service makes the instance role the chain's last
    // link: accepted without contacting it (nothing listens there).
    let mut env = no_chain.to_vec();
    env.extend([
        ("AWS_REGION", "eu-west-1"),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1"),
    ]);
    let (code, _, err) = check_config(&env, &config);
    assert_eq!(code, 0, "{err}");
    env.push(("AWS_EC2_METADATA_DISABLED", "true"));
    let (code, _, err) = check_config(&env, &config);
    assert_eq!(code, 2);
    assert!(
        err.contains("the instance role is off (AWS_EC2_METADATA_DISABLED)"),
        "{err}"
    );
    // Keys from the environment, but no region.
    let mut env = no_chain.to_vec();
    env.extend([
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "env-secret-value"),
    ]);
    let (code, _, err) = check_config(&env, &config);
    assert_eq!(code, 2);
    assert!(err.contains("speech.aws.region is not set"), "{err}");
    // Keys and region in the file: valid, and the secret never printed.
    std::fs::write(
        &routes,
        "[speech.aws]\nregion = \"eu-west-1\"\naccess_key_id = \"AKIDEXAMPLE\"\n\
         secret_access_key = \"file-secret-value\"\nvoice = \"Amy\"\n\n\
         [[routes]]\ndid = \"*\"\ntenant = \"t\"\nagent = \"a\"\nstt = \"aws\"\ntts = \"polly\"\n",
    )
    .unwrap();
    let (code, out, err) = check_config(&no_chain, &config);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("[speech.aws]") && out.contains("voice = \"Amy\""),
        "{out}"
    );
    assert!(!out.contains("file-secret-value"), "{out}");
    // Polly recognises nothing, Transcribe speaks nothing.
    for (key, value, problem) in [
        (
            "VOICEGW__SPEECH__STT",
            "polly",
            "polly offers no speech-to-text",
        ),
        (
            "VOICEGW__SPEECH__TTS",
            "aws",
            "aws offers no text-to-speech",
        ),
        (
            "VOICEGW__SPEECH__AWS__SAMPLE_RATE",
            "22050",
            "22050 is not 8000 or 16000",
        ),
    ] {
        let mut env = no_chain.to_vec();
        env.push((key, value));
        let (code, _, err) = check_config(&env, &config);
        assert_eq!(code, 2, "{key}={value}");
        assert!(err.contains(problem), "{key}={value}: {err}");
    }
}

/// `check-config` with `[speech]` text in a file, Google's variables unset.
fn check_google(speech: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("google.toml");
    std::fs::write(&file, speech).unwrap();
    let out = Command::new(BIN)
        .args(["check-config", "--config", file.to_str().unwrap()])
        .env_remove("GOOGLE_API_KEY")
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .env_remove("GOOGLE_CLOUD_PROJECT")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_config_names_googles_missing_credentials_and_masks_its_key() {
    let (code, _, err) = check_google("[speech]\nstt = \"google\"\ntts = \"fake\"\n");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("speech.google.api_key or speech.google.credentials_file is not set"),
        "{err}"
    );
    let (code, _, err) = check_google(
        "[speech]\ntts = \"fake\"\n[speech.google]\napi_key = \"AIza-secret\"\n\
         [[routes]]\ndid = \"*\"\ntenant = \"t\"\nagent = \"a\"\nstt = \"fake\"\nstt_fallback = [\"google\"]\n",
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("speech.google.project is not set"), "{err}");
    let (code, out, err) = check_google(
        "[speech]\nstt = \"google\"\ntts = \"google\"\n\
         [speech.google]\napi_key = \"AIza-secret\"\nproject = \"p1\"\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("[speech.google]") && !out.contains("AIza-secret"),
        "{out}"
    );
}

/// The names of a process's threads (`/proc/PID/task/*/comm`).
fn thread_names(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim_end().to_owned())
        .collect()
}
