//! The instance role's credentials from the EC2 instance metadata service,
//! IMDSv2: a session token (`PUT /latest/api/token`), the role's name
//! (`GET /latest/meta-data/iam/security-credentials/`), then its temporary
//! credentials (`GET …/security-credentials/{role}`, JSON). The last link of
//! the chain in [`super::credentials`]; the AWS SDK's variables name the
//! endpoint (`AWS_EC2_METADATA_SERVICE_ENDPOINT`) and turn it off
//! (`AWS_EC2_METADATA_DISABLED=true`).

use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::credentials::{Credentials, Env};
use crate::adapter::speech::deepgram::ApiKey;

/// The metadata service's address on every EC2 instance.
pub const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
const TOKEN_PATH: &str = "/latest/api/token";
const ROLES_PATH: &str = "/latest/meta-data/iam/security-credentials/";

/// Credentials that expire (`None`: they do not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiring {
    /// The key pair and session token.
    pub credentials: Credentials,
    /// `Expiration` of the instance role's set.
    pub expires: Option<SystemTime>,
}

/// Why the instance role gave no credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("instance role from the metadata service at {endpoint}: {why}")]
pub struct ImdsError {
    /// The endpoint asked.
    pub endpoint: String,
    /// What went wrong.
    pub why: String,
}

/// A client of the metadata service.
#[derive(Debug, Clone)]
pub struct Imds {
    /// `http://169.254.169.254`, without a trailing `/`.
    pub endpoint: String,
    client: reqwest::Client,
    attempts: u32,
}

impl Imds {
    /// A client of `endpoint`: 1 s to connect, 2 s a request, 2 attempts
    /// (a host off EC2 falls through in at most a few seconds).
    pub fn new(endpoint: &str) -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(2))
            .no_proxy()
            .build()
            .expect("a client without TLS settings builds");
        Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            client,
            attempts: 2,
        }
    }

    /// The client the environment asks for: `None` when
    /// `AWS_EC2_METADATA_DISABLED` is `true`.
    pub fn from_env(env: &dyn Env) -> Option<Self> {
        if disabled(env) {
            return None;
        }
        let endpoint = env
            .var("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            .unwrap_or_else(|| DEFAULT_ENDPOINT.into());
        Some(Self::new(&endpoint))
    }

    /// The instance role's current credentials.
    pub async fn fetch(&self) -> Result<Expiring, ImdsError> {
        let fail = |why: String| ImdsError {
            endpoint: self.endpoint.clone(),
            why,
        };
        let token = self.token().await.map_err(fail)?;
        let roles = self.get(ROLES_PATH, &token).await.map_err(fail)?;
        let role = roles
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .ok_or_else(|| fail("no IAM role is attached to the instance".into()))?
            .to_owned();
        let path = format!("{ROLES_PATH}{role}");
        let body = self.get(&path, &token).await.map_err(fail)?;
        parse_role_credentials(&body).map_err(|e| fail(format!("role {role:?}: {e}")))
    }

    async fn token(&self) -> Result<String, String> {
        let send = || {
            self.client
                .put(format!("{}{TOKEN_PATH}", self.endpoint))
                .header("x-aws-ec2-metadata-token-ttl-seconds", "21600")
                .send()
        };
        let token = self.text("PUT", TOKEN_PATH, send).await?;
        if token.trim().is_empty() {
            return Err(format!("PUT {TOKEN_PATH}: empty token"));
        }
        Ok(token.trim().to_owned())
    }

    async fn get(&self, path: &str, token: &str) -> Result<String, String> {
        let send = || {
            self.client
                .get(format!("{}{path}", self.endpoint))
                .header("x-aws-ec2-metadata-token", token)
                .send()
        };
        self.text("GET", path, send).await
    }

    /// The body of a 200, retried on transport errors and 5xx.
    async fn text<F, Fut>(&self, method: &str, path: &str, send: F) -> Result<String, String>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
    {
        let mut last = String::new();
        for _ in 0..self.attempts {
            match send().await {
                Ok(r) if r.status().is_success() => {
                    return r.text().await.map_err(|e| format!("{method} {path}: {e}"));
                }
                Ok(r) if r.status().is_server_error() => {
                    last = format!("{method} {path}: HTTP {}", r.status().as_u16());
                }
                Ok(r) => return Err(format!("{method} {path}: HTTP {}", r.status().as_u16())),
                Err(e) => last = format!("{method} {path}: {}", describe(&e)),
            }
        }
        Err(last)
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_connect() {
        format!("cannot connect ({e})")
    } else if e.is_timeout() {
        "timed out".into()
    } else {
        e.to_string()
    }
}

/// Whether `AWS_EC2_METADATA_DISABLED` turns the service off.
pub fn disabled(env: &dyn Env) -> bool {
    env.var("AWS_EC2_METADATA_DISABLED")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Whether the chain may end with the instance role without asking the
/// service: it is not disabled, and either its endpoint is named or the
/// machine says it is an EC2 instance (its DMI vendor, or a Xen `ec2` UUID).
pub fn applies(env: &dyn Env) -> bool {
    !disabled(env) && (env.var("AWS_EC2_METADATA_SERVICE_ENDPOINT").is_some() || on_ec2())
}

fn on_ec2() -> bool {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    read("/sys/devices/virtual/dmi/id/sys_vendor").contains("Amazon EC2")
        || read("/sys/devices/virtual/dmi/id/board_vendor").contains("Amazon EC2")
        || read("/sys/hypervisor/uuid")
            .to_ascii_lowercase()
            .starts_with("ec2")
}

/// The role's JSON, strictly: `Code` must be `Success`, and `AccessKeyId`,
/// `SecretAccessKey`, `Token` and `Expiration` (RFC 3339) present strings.
pub fn parse_role_credentials(body: &str) -> Result<Expiring, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    let field = |name: &str| -> Result<String, String> {
        match v.get(name) {
            None => Err(format!("no {name} in the answer")),
            Some(Value::String(s)) if s.trim().is_empty() => Err(format!("{name} is empty")),
            Some(Value::String(s)) => Ok(s.trim().to_owned()),
            Some(_) => Err(format!("{name} is not a string")),
        }
    };
    if !v.is_object() {
        return Err("the answer is not a JSON object".into());
    }
    let code = field("Code")?;
    if code != "Success" {
        return Err(format!("Code is {code:?}, not \"Success\""));
    }
    let expiration = field("Expiration")?;
    let expires = humantime::parse_rfc3339(&expiration)
        .map_err(|e| format!("Expiration {expiration:?} is not an RFC 3339 UTC time: {e}"))?;
    Ok(Expiring {
        credentials: Credentials {
            access_key_id: field("AccessKeyId")?,
            secret: ApiKey::new(field("SecretAccessKey")?),
            session_token: Some(ApiKey::new(field("Token")?)),
        },
        expires: Some(expires),
    })
}
