//! The instance role's credentials against a loopback fake of the EC2
//! instance metadata service (IMDSv2: a token first, 401 without it), and
//! the shared set both adapters sign with, refreshed before `Expiration`
//! (time driven by the tests, not slept).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, put};

use super::credentials::Credentials;
use super::fake::{FakePolly, FakeTranscribe, Reply, accept_credentials};
use super::imds::{Imds, parse_role_credentials};
use super::provider::{REFRESH_BEFORE, RETRY_AFTER, SharedCredentials};
use super::*;
use crate::adapter::speech::deepgram::ApiKey;
use crate::application::ports::speech::{
    SpeechToText, SttConfig, SttError, SttEvent, SttSampleRate, TextToSpeech, TtsConfig, TtsEvent,
    TtsOutput,
};

const ROLE: &str = "voice-gateway-role";
const ROLES: &str = "/latest/meta-data/iam/security-credentials/";

/// What the role's path answers.
#[derive(Clone)]
enum Answer {
    /// A new set each time, expiring at this time.
    Valid(SystemTime),
    /// This body as it is.
    Raw(String),
}

struct Fake {
    /// What the listing names (`None`: 404).
    listed: Option<&'static str>,
    /// The role whose credentials path answers.
    role: &'static str,
    answer: Answer,
    tokens: Vec<String>,
    refused: usize,
    /// Answers of the role's path.
    answered: usize,
}

#[derive(Clone)]
struct Imdsd {
    state: Arc<Mutex<Fake>>,
    issued: Arc<AtomicUsize>,
}

static SERIAL: AtomicUsize = AtomicUsize::new(0);

impl Imdsd {
    async fn start(answer: Answer) -> (Self, String) {
        let fake = Self {
            state: Arc::new(Mutex::new(Fake {
                listed: Some(ROLE),
                role: ROLE,
                answer,
                tokens: Vec::new(),
                refused: 0,
                answered: 0,
            })),
            issued: Arc::default(),
        };
        let app = Router::new()
            .route("/latest/api/token", put(token))
            .route(ROLES, get(roles))
            .route(&format!("{ROLES}{{role}}"), get(role))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (fake, url)
    }

    fn set(&self, f: impl FnOnce(&mut Fake)) {
        f(&mut self.state.lock().unwrap());
    }

    fn refused(&self) -> usize {
        self.state.lock().unwrap().refused
    }
}

async fn token(State(s): State<Imdsd>, headers: HeaderMap) -> Result<String, StatusCode> {
    let ttl = headers.get("x-aws-ec2-metadata-token-ttl-seconds");
    if ttl.and_then(|v| v.to_str().ok()) != Some("21600") {
        return Err(StatusCode::BAD_REQUEST);
    }
    let t = format!("AQAEAFAKE-{}", SERIAL.fetch_add(1, Ordering::Relaxed));
    s.state.lock().unwrap().tokens.push(t.clone());
    Ok(t)
}

/// IMDSv2 only: a request without a token it issued gets 401.
fn authorized(s: &Imdsd, headers: &HeaderMap) -> Result<(), StatusCode> {
    let mut st = s.state.lock().unwrap();
    let given = headers
        .get("x-aws-ec2-metadata-token")
        .and_then(|v| v.to_str().ok());
    if given.is_some_and(|t| st.tokens.iter().any(|k| k == t)) {
        return Ok(());
    }
    st.refused += 1;
    Err(StatusCode::UNAUTHORIZED)
}

async fn roles(State(s): State<Imdsd>, headers: HeaderMap) -> Result<String, StatusCode> {
    authorized(&s, &headers)?;
    let listed = s.state.lock().unwrap().listed;
    listed
        .map(|r| format!("{r}\n"))
        .ok_or(StatusCode::NOT_FOUND)
}

async fn role(
    State(s): State<Imdsd>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<String, StatusCode> {
    authorized(&s, &headers)?;
    let answer = {
        let mut st = s.state.lock().unwrap();
        if st.role != name {
            return Err(StatusCode::NOT_FOUND);
        }
        st.answered += 1;
        st.answer.clone()
    };
    Ok(match answer {
        Answer::Raw(body) => body,
        Answer::Valid(expires) => issue(&s, expires),
    })
}

/// A new temporary set, which the Transcribe and Polly fakes then accept.
fn issue(s: &Imdsd, expires: SystemTime) -> String {
    let n = s.issued.fetch_add(1, Ordering::Relaxed);
    let id = format!("ASIAFAKE{}X{n}", SERIAL.fetch_add(1, Ordering::Relaxed));
    let c = Credentials {
        access_key_id: id.clone(),
        secret: ApiKey::new(format!("secret-{id}")),
        session_token: Some(ApiKey::new(format!("token-{id}"))),
    };
    accept_credentials(c);
    serde_json::json!({
        "Code": "Success",
        "LastUpdated": "2026-12-06T14:00:00Z",
        "Type": "AWS-HMAC",
        "AccessKeyId": id,
        "SecretAccessKey": format!("secret-{id}"),
        "Token": format!("token-{id}"),
        "Expiration": humantime::format_rfc3339_seconds(expires).to_string(),
    })
    .to_string()
}

/// A time a whole number of seconds from the epoch (what `Expiration` carries).
fn whole(t: SystemTime) -> SystemTime {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

#[tokio::test]
async fn fetches_the_role_s_credentials_with_a_token() {
    let expires = whole(SystemTime::now() + Duration::from_secs(3600));
    let (fake, url) = Imdsd::start(Answer::Valid(expires)).await;
    let got = Imds::new(&url).fetch().await.unwrap();
    assert!(got.credentials.access_key_id.starts_with("ASIAFAKE"));
    let token = got.credentials.session_token.as_ref().unwrap().expose();
    assert_eq!(token, format!("token-{}", got.credentials.access_key_id));
    assert_eq!(got.expires, Some(expires));
    assert_eq!(fake.refused(), 0);
    // The fake is IMDSv2: without the token, 401.
    let bare = reqwest::get(format!("{url}{ROLES}")).await.unwrap();
    assert_eq!(bare.status().as_u16(), 401);
    assert_eq!(fake.refused(), 1);
}

#[tokio::test]
async fn no_role_a_404_for_the_role_and_the_service_down_are_named() {
    let (fake, url) = Imdsd::start(Answer::Valid(SystemTime::now())).await;
    let imds = Imds::new(&url);
    fake.set(|f| f.listed = None);
    let e = imds.fetch().await.unwrap_err().to_string();
    assert!(
        e.contains(&url) && e.contains(&format!("GET {ROLES}: HTTP 404")),
        "{e}"
    );
    fake.set(|f| f.listed = Some("ghost-role"));
    let e = imds.fetch().await.unwrap_err().to_string();
    assert!(
        e.contains(&format!("GET {ROLES}ghost-role: HTTP 404")),
        "{e}"
    );
    fake.set(|f| (f.listed, f.answer) = (Some(ROLE), Answer::Raw("{oops".into())));
    let e = imds.fetch().await.unwrap_err().to_string();
    assert!(e.contains(&format!("role {ROLE:?}: not JSON")), "{e}");
    // Nothing listening: the chain's last link fails with the reason.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let e = Imds::new(&down).fetch().await.unwrap_err().to_string();
    assert!(
        e.contains(&down) && e.contains("PUT /latest/api/token: cannot connect"),
        "{e}"
    );
}

#[test]
fn the_role_s_json_is_checked_strictly() {
    let good = serde_json::json!({
        "Code": "Success", "AccessKeyId": "ASIA1", "SecretAccessKey": "s",
        "Token": "t", "Expiration": "2026-12-06T20:00:00Z",
    });
    let got = parse_role_credentials(&good.to_string()).unwrap();
    assert_eq!(got.credentials.access_key_id, "ASIA1");
    assert_eq!(
        got.expires,
        Some(humantime::parse_rfc3339("2026-12-06T20:00:00Z").unwrap())
    );
    let with = |k: &str, v: serde_json::Value| {
        let mut j = good.clone();
        j[k] = v;
        parse_role_credentials(&j.to_string()).unwrap_err()
    };
    let without = |k: &str| {
        let mut j = good.clone();
        j.as_object_mut().unwrap().remove(k);
        parse_role_credentials(&j.to_string()).unwrap_err()
    };
    assert_eq!(
        with("Code", "AssumeRoleUnauthorizedAccess".into()),
        "Code is \"AssumeRoleUnauthorizedAccess\", not \"Success\""
    );
    assert_eq!(without("Token"), "no Token in the answer");
    assert_eq!(without("Code"), "no Code in the answer");
    assert_eq!(with("AccessKeyId", 7.into()), "AccessKeyId is not a string");
    assert_eq!(
        with("SecretAccessKey", "".into()),
        "SecretAccessKey is empty"
    );
    let e = with("Expiration", "tomorrow".into());
    assert!(
        e.starts_with("Expiration \"tomorrow\" is not an RFC 3339"),
        "{e}"
    );
    let e = parse_role_credentials("{\"Code\": \"Success\"").unwrap_err();
    assert!(e.starts_with("not JSON: "), "{e}");
    assert_eq!(
        parse_role_credentials("[1]").unwrap_err(),
        "the answer is not a JSON object"
    );
}

#[tokio::test]
async fn the_shared_set_is_refreshed_near_its_expiration() {
    let t0 = whole(SystemTime::now());
    let hour = Duration::from_secs(3600);
    let (fake, url) = Imdsd::start(Answer::Valid(t0 + hour)).await;
    let shared = SharedCredentials::instance_role(Imds::new(&url));
    assert_eq!(
        shared.current(),
        None,
        "nothing is fetched before the first use"
    );
    let first = shared.fresh(t0).await.unwrap();
    assert_eq!(fake.issued.load(Ordering::Relaxed), 1);
    // Used again before the refresh window: the same set, no request.
    let later = t0 + hour - REFRESH_BEFORE - Duration::from_secs(1);
    assert_eq!(shared.fresh(later).await.unwrap(), first);
    assert_eq!(fake.issued.load(Ordering::Relaxed), 1);
    // Within five minutes of `Expiration`: a new set.
    fake.set(|f| f.answer = Answer::Valid(t0 + 2 * hour));
    let near = t0 + hour - REFRESH_BEFORE + Duration::from_secs(1);
    let second = shared.fresh(near).await.unwrap();
    assert_ne!(second.access_key_id, first.access_key_id);
    assert_eq!(shared.current(), Some(second.clone()));
    assert_eq!(fake.issued.load(Ordering::Relaxed), 2);
    // The service failing: a set not yet expired is kept; an expired one is an error.
    fake.set(|f| f.answer = Answer::Raw("{}".into()));
    let near = t0 + 2 * hour - Duration::from_secs(120);
    let asked = |f: &Imdsd| f.state.lock().unwrap().answered;
    assert_eq!(shared.fresh(near).await.unwrap(), second);
    assert_eq!(asked(&fake), 3);
    // Not asked again until RETRY_AFTER has passed since that failure.
    let soon = near + RETRY_AFTER - Duration::from_secs(1);
    assert_eq!(shared.fresh(soon).await.unwrap(), second);
    assert_eq!(asked(&fake), 3);
    assert_eq!(shared.fresh(near + RETRY_AFTER).await.unwrap(), second);
    assert_eq!(asked(&fake), 4);
    let e = shared.fresh(t0 + 3 * hour).await.unwrap_err();
    assert!(
        e.contains("speech.aws: no credentials:") && e.contains("no Code"),
        "{e}"
    );
}

#[tokio::test]
async fn transcribe_and_polly_sign_with_the_role_s_set_and_its_token() {
    let expires = whole(SystemTime::now() + Duration::from_secs(3600));
    let (fake, url) = Imdsd::start(Answer::Valid(expires)).await;
    let shared = SharedCredentials::instance_role(Imds::new(&url));
    let mut transcribe = FakeTranscribe::start().await;
    let (polly, polly_url) = FakePolly::start(vec![Reply::Pcm(vec![vec![1, 0, 2, 0]])]).await;
    let mut c = AwsConfig::new(shared.clone(), "us-east-1");
    c.transcribe_endpoint = Some(transcribe.url.clone());
    c.polly_endpoint = Some(polly_url);
    let stt = TranscribeStt::new(c.clone());
    let session = stt
        .open(SttConfig::new("en-US", SttSampleRate::Hz16000))
        .await
        .unwrap();
    let call = transcribe.call().await;
    let set = shared.current().unwrap();
    let h = |n: &str| call.headers.get(n).unwrap().to_str().unwrap().to_owned();
    assert_eq!(
        h("x-amz-security-token"),
        set.session_token.as_ref().unwrap().expose()
    );
    assert!(h("authorization").contains(&format!("Credential={}/", set.access_key_id)));
    drop(session);
    let tts = PollyTts::new(c).unwrap();
    let mut session = tts
        .open(TtsConfig {
            voice: None,
            language: "en-US".into(),
            output: TtsOutput::Native,
        })
        .await
        .unwrap();
    session.send_text("Hello.").unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), session.recv()).await;
    assert!(matches!(event, Ok(Some(TtsEvent::Audio(_)))), "{event:?}");
    assert_eq!(polly.requests.lock().unwrap().len(), 1);
    // One fetch served both adapters.
    assert_eq!(fake.issued.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn a_temporary_set_with_the_wrong_token_is_refused() {
    let fake = FakeTranscribe::start().await;
    let set = Credentials {
        access_key_id: "ASIAWRONGTOKEN1".into(),
        secret: ApiKey::new("s"),
        session_token: Some(ApiKey::new("right-token")),
    };
    accept_credentials(set.clone());
    let mut c = AwsConfig::new(
        Credentials {
            session_token: Some(ApiKey::new("wrong-token")),
            ..set
        },
        "us-east-1",
    );
    c.transcribe_endpoint = Some(fake.url.clone());
    let mut session = TranscribeStt::new(c)
        .open(SttConfig::new("en-US", SttSampleRate::Hz16000))
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), session.recv()).await;
    match event {
        Ok(Some(SttEvent::Error(SttError::Rejected(m)))) => {
            assert!(m.contains("403") && m.contains("security token"), "{m}")
        }
        other => panic!("unexpected {other:?}"),
    }
}
