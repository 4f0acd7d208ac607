//! AWS Signature Version 4 (AWS General Reference, "Signature Version 4
//! signing process"): the request signature in the `Authorization` header,
//! and the chain of event signatures Transcribe streaming requires for each
//! audio event (`AWS4-HMAC-SHA256-PAYLOAD`, each seeded by the previous one).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::credentials::Credentials;
use super::eventstream::{Message, Value, encode_headers};

/// `x-amz-content-sha256` of a request whose body is a signed event stream.
pub const STREAMING_EVENTS: &str = "STREAMING-AWS4-HMAC-SHA256-EVENTS";

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `Hex(SHA256(bytes))`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The two timestamps SigV4 uses: `20150830T123600Z` and `20150830`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// `x-amz-date`.
    pub datetime: String,
    /// The credential scope's date.
    pub date: String,
    /// Whole seconds since the epoch (event `:date` headers carry these, in ms).
    pub secs: i64,
}

impl Stamp {
    /// The stamp of `at`, truncated to the second.
    pub fn of(at: SystemTime) -> Self {
        let secs = at
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs() as i64;
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let t = secs.rem_euclid(86_400);
        let date = format!("{y:04}{m:02}{d:02}");
        let datetime = format!("{date}T{:02}{:02}{:02}Z", t / 3600, t / 60 % 60, t % 60);
        Self {
            datetime,
            date,
            secs,
        }
    }
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian
/// (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Signs requests and events for one service in one region.
#[derive(Debug, Clone)]
pub struct Signer {
    /// Who signs.
    pub credentials: Credentials,
    /// `us-east-1`.
    pub region: String,
    /// `transcribe` or `polly`.
    pub service: String,
}

/// A request to sign: its method, path (already URI-encoded) and headers
/// (`host` among them); the signature headers are added to `headers`.
#[derive(Debug, Clone)]
pub struct Request {
    /// `POST`.
    pub method: &'static str,
    /// `/v1/speech`.
    pub path: String,
    /// Name and value pairs; names in any case.
    pub headers: Vec<(String, String)>,
    /// `Hex(SHA256(body))`, or [`STREAMING_EVENTS`].
    pub payload_hash: String,
}

impl Signer {
    fn scope(&self, stamp: &Stamp) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            stamp.date, self.region, self.service
        )
    }

    fn key(&self, stamp: &Stamp) -> [u8; 32] {
        let secret = format!("AWS4{}", self.credentials.secret.expose());
        let k = hmac(secret.as_bytes(), stamp.date.as_bytes());
        let k = hmac(&k, self.region.as_bytes());
        let k = hmac(&k, self.service.as_bytes());
        hmac(&k, b"aws4_request")
    }

    /// Adds `x-amz-date`, the session token if any, `x-amz-content-sha256`
    /// and `authorization` to the request; returns the signature (the seed
    /// of an event stream's chain).
    pub fn sign(&self, request: &mut Request, at: SystemTime) -> String {
        let stamp = Stamp::of(at);
        let h = &mut request.headers;
        h.push(("x-amz-date".into(), stamp.datetime.clone()));
        h.push(("x-amz-content-sha256".into(), request.payload_hash.clone()));
        if let Some(token) = &self.credentials.session_token {
            h.push(("x-amz-security-token".into(), token.expose().to_owned()));
        }
        let (signature, signed) = self.request_signature(request, &stamp);
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={signed}, Signature={signature}",
            self.credentials.access_key_id,
            self.scope(&stamp)
        );
        request
            .headers
            .push(("authorization".into(), authorization));
        signature
    }

    /// The signature of a request as it stands (every header but
    /// `authorization` is signed), and its `SignedHeaders`.
    pub fn request_signature(&self, request: &Request, stamp: &Stamp) -> (String, String) {
        let (canonical, signed) = canonical_request(request);
        let hash = sha256_hex(canonical.as_bytes());
        (self.signature(stamp, "AWS4-HMAC-SHA256", &[&hash]), signed)
    }

    fn signature(&self, stamp: &Stamp, algorithm: &str, tail: &[&str]) -> String {
        let mut sts = format!("{algorithm}\n{}\n{}", stamp.datetime, self.scope(stamp));
        for line in tail {
            sts.push('\n');
            sts.push_str(line);
        }
        hex(&hmac(&self.key(stamp), sts.as_bytes()))
    }

    /// Wraps `inner` (an encoded message, or nothing for the end of the
    /// stream) in a signed message: headers `:date` and `:chunk-signature`.
    /// Returns it and its signature, the seed of the next one.
    pub fn sign_event(&self, prior: &str, inner: Vec<u8>, at: SystemTime) -> (Message, String) {
        let stamp = Stamp::of(at);
        let date = vec![(":date".to_owned(), Value::Timestamp(stamp.secs * 1000))];
        let signature = self.signature(
            &stamp,
            "AWS4-HMAC-SHA256-PAYLOAD",
            &[
                prior,
                &sha256_hex(&encode_headers(&date)),
                &sha256_hex(&inner),
            ],
        );
        let bytes = (0..signature.len() / 2)
            .map(|i| u8::from_str_radix(&signature[2 * i..2 * i + 2], 16).expect("hex"))
            .collect();
        let mut headers = vec![(":chunk-signature".to_owned(), Value::Bytes(bytes))];
        headers.extend(date);
        let message = Message {
            headers,
            payload: inner,
        };
        (message, signature)
    }
}

/// The canonical request and its `SignedHeaders` (every header is signed).
pub fn canonical_request(r: &Request) -> (String, String) {
    let mut headers: Vec<(String, String)> = r
        .headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("authorization"))
        .map(|(n, v)| (n.to_ascii_lowercase(), collapse(v)))
        .collect();
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let signed = headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical = format!(
        "{}\n{}\n\n{canonical_headers}\n{signed}\n{}",
        r.method, r.path, r.payload_hash
    );
    (canonical, signed)
}

/// Trims and collapses runs of spaces, as the canonical form asks.
fn collapse(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header, for the fakes
/// and for diagnostics: access key, scope, signed headers, signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// `AKIDEXAMPLE`.
    pub access_key_id: String,
    /// `20150830/us-east-1/service/aws4_request`.
    pub scope: String,
    /// `host;x-amz-date`.
    pub signed_headers: String,
    /// 64 lowercase hex digits.
    pub signature: String,
}

impl Authorization {
    /// Parses the header; `None` when it is not a well-formed SigV4 header.
    pub fn parse(header: &str) -> Option<Self> {
        let rest = header.strip_prefix("AWS4-HMAC-SHA256 ")?;
        let mut credential = None;
        let mut signed = None;
        let mut signature = None;
        for part in rest.split(',') {
            let (k, v) = part.trim().split_once('=')?;
            match k {
                "Credential" => credential = Some(v),
                "SignedHeaders" => signed = Some(v),
                "Signature" => signature = Some(v),
                _ => return None,
            }
        }
        let (key, scope) = credential?.split_once('/')?;
        let (signature, signed) = (signature?, signed?);
        let well_formed = signature.len() == 64
            && signature
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && scope.split('/').count() == 4
            && scope.ends_with("/aws4_request");
        well_formed.then(|| Self {
            access_key_id: key.to_owned(),
            scope: scope.to_owned(),
            signed_headers: signed.to_owned(),
            signature: signature.to_owned(),
        })
    }
}
