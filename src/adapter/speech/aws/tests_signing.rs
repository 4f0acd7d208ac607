//! SigV4 against AWS's published examples, the event-stream encoding against
//! the hashes in the AWS SDK's event-signing test, and the credential chain.

use std::time::{Duration, UNIX_EPOCH};

use super::credentials::{Env, Explicit, from_profile, resolve};
use super::eventstream::{Decoder, Message, Value, encode_headers};
use super::fake::test_credentials;
use super::sigv4::{Authorization, Request, Signer, Stamp, sha256_hex};

fn example_signer() -> Signer {
    Signer {
        credentials: test_credentials(),
        region: "us-east-1".into(),
        service: "service".into(),
    }
}

fn vanilla(method: &'static str) -> Request {
    Request {
        method,
        path: "/".into(),
        headers: vec![
            ("Host".into(), "example.amazonaws.com".into()),
            ("X-Amz-Date".into(), "20150830T123600Z".into()),
        ],
        payload_hash: sha256_hex(b""),
    }
}

#[test]
fn stamps_are_utc_basic_format() {
    let at = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
    let s = Stamp::of(at);
    assert_eq!(
        (s.datetime.as_str(), s.date.as_str()),
        ("20150830T123600Z", "20150830")
    );
    let s = Stamp::of(UNIX_EPOCH + Duration::new(123_456_789, 1234));
    assert_eq!(s.datetime, "19731129T213309Z");
    // A leap day.
    assert_eq!(
        Stamp::of(UNIX_EPOCH + Duration::from_secs(951_782_400)).date,
        "20000229"
    );
}

#[test]
fn request_signatures_match_the_aws_test_suite() {
    let stamp = Stamp::of(UNIX_EPOCH + Duration::from_secs(1_440_938_160));
    let signer = example_signer();
    for (method, expected) in [
        (
            "GET",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        ),
        (
            "POST",
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        ),
    ] {
        let (signature, signed) = signer.request_signature(&vanilla(method), &stamp);
        assert_eq!(signed, "host;x-amz-date");
        assert_eq!(signature, expected, "{method}-vanilla");
    }
}

#[test]
fn a_signed_request_carries_a_well_formed_authorization() {
    let mut r = vanilla("POST");
    r.headers.truncate(1);
    let mut signer = example_signer();
    signer.credentials.session_token = Some(crate::adapter::speech::deepgram::ApiKey::new("tok"));
    let at = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
    let signature = signer.sign(&mut r, at);
    let auth = &r
        .headers
        .iter()
        .find(|(n, _)| n == "authorization")
        .unwrap()
        .1;
    let parsed = Authorization::parse(auth).expect("well formed");
    assert_eq!(parsed.signature, signature);
    assert_eq!(parsed.scope, "20150830/us-east-1/service/aws4_request");
    assert_eq!(
        parsed.signed_headers,
        "host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
    );
    assert!(Authorization::parse("AWS4-HMAC-SHA256 Credential=x, Signature=zz").is_none());
}

#[test]
fn event_encoding_matches_the_sdk_signing_test_vectors() {
    // aws-sigv4's event_stream `string_to_sign` test: these two hashes are
    // lines of its expected string to sign.
    let date = vec![(":date".to_owned(), Value::Timestamp(123_456_789_000))];
    assert_eq!(
        sha256_hex(&encode_headers(&date)),
        "0c0e3b3bf66b59b976181bd7d401927bbd624107303c713fd1e5f3d3c8dd1b1e"
    );
    let message = Message {
        headers: vec![("some-header".into(), Value::String("value".into()))],
        payload: b"test payload".to_vec(),
    };
    assert_eq!(
        sha256_hex(&message.encode()),
        "f2eba0f2e95967ee9fbc6db5e678d2fd599229c0d04b11e4fc8e0f2a02a806c6"
    );
}

#[test]
fn signed_events_chain_and_decode() {
    let signer = example_signer();
    let at = UNIX_EPOCH + Duration::new(123_456_789, 999);
    let (first, sig1) = signer.sign_event("seed", vec![1, 2, 3], at);
    let (_, sig2) = signer.sign_event(&sig1, vec![1, 2, 3], at);
    let (_, again) = signer.sign_event("seed", vec![1, 2, 3], at);
    assert_eq!(sig1, again, "deterministic");
    assert_ne!(sig1, sig2, "each signature depends on the one before");
    let mut d = Decoder::default();
    let bytes = first.encode();
    // Byte by byte: nothing until the whole message is there.
    for b in &bytes[..bytes.len() - 1] {
        d.push(&[*b]);
        assert_eq!(d.next_message(), Ok(None));
    }
    d.push(&bytes[bytes.len() - 1..]);
    let got = d.next_message().unwrap().unwrap();
    assert_eq!(got, first);
    assert_eq!(
        got.headers[1],
        (":date".into(), Value::Timestamp(123_456_789_000))
    );
    assert_eq!(d.pending(), 0);
}

struct FakeEnv(Vec<(&'static str, String)>);

impl Env for FakeEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }
}

#[test]
fn the_chain_prefers_the_file_then_the_environment_then_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(
        &file,
        "# comment\n[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n\n[work]\naws_access_key_id=AKIDWORK\naws_secret_access_key= s2 \naws_session_token = t2\n",
    )
    .unwrap();
    let path = file.display().to_string();
    let explicit = Explicit {
        access_key_id: Some("AKIDCONF".into()),
        secret_access_key: Some("s0".into()),
        session_token: None,
    };
    let env = FakeEnv(vec![
        ("AWS_ACCESS_KEY_ID", "AKIDENV".into()),
        ("AWS_SECRET_ACCESS_KEY", "s3".into()),
        ("AWS_SHARED_CREDENTIALS_FILE", path.clone()),
    ]);
    assert_eq!(resolve(&explicit, &env).unwrap().access_key_id, "AKIDCONF");
    let none = Explicit::default();
    assert_eq!(resolve(&none, &env).unwrap().access_key_id, "AKIDENV");
    let env = FakeEnv(vec![
        ("AWS_SHARED_CREDENTIALS_FILE", path.clone()),
        ("AWS_PROFILE", "work".into()),
    ]);
    let c = resolve(&none, &env).unwrap();
    assert_eq!(c.access_key_id, "AKIDWORK");
    assert_eq!(c.secret.expose(), "s2");
    assert_eq!(c.session_token.unwrap().expose(), "t2");
    let env = FakeEnv(vec![
        ("AWS_SHARED_CREDENTIALS_FILE", path),
        ("AWS_PROFILE", "absent".into()),
    ]);
    let e = resolve(&none, &env).unwrap_err().to_string();
    assert!(e.starts_with("speech.aws.access_key_id is not set"), "{e}");
    assert!(e.contains("\"absent\""), "{e}");
    // A secret never prints.
    let c = from_profile(
        "[default]\naws_access_key_id=A\naws_secret_access_key=hush",
        "default",
    );
    assert!(!format!("{c:?}").contains("hush"));
}
