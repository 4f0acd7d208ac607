//! AWS credentials from the standard chain, in its order: the configuration
//! file's `[speech.aws]` keys, then `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, then the shared credentials
//! file (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`) under
//! profile `AWS_PROFILE` (else `default`); these resolve at once. The last
//! link, the EC2 instance role, is fetched when first used: see
//! [`super::imds`] and [`super::provider`]. SSO and `credential_process` are
//! not supported.

use std::path::{Path, PathBuf};

use crate::adapter::speech::deepgram::ApiKey;

/// A key pair and optional session token; `Debug` hides the secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `AKIA…` / `ASIA…`: not a secret, it names the key.
    pub access_key_id: String,
    /// The secret access key.
    pub secret: ApiKey,
    /// Temporary credentials' token (`x-amz-security-token`).
    pub session_token: Option<ApiKey>,
}

/// Where the chain looked: one per source, for the error message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "speech.aws.{missing} is not set (nor AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, nor profile {profile:?} in {file})"
)]
pub struct NoCredentials {
    /// `access_key_id` or `secret_access_key`.
    pub missing: &'static str,
    /// The profile looked up.
    pub profile: String,
    /// The shared credentials file looked in.
    pub file: String,
}

/// What the configuration file gave (any of them may be absent).
#[derive(Debug, Clone, Default)]
pub struct Explicit {
    /// `speech.aws.access_key_id`.
    pub access_key_id: Option<String>,
    /// `speech.aws.secret_access_key`.
    pub secret_access_key: Option<String>,
    /// `speech.aws.session_token`.
    pub session_token: Option<String>,
}

/// The environment the chain reads; a seam so tests need not set variables.
pub trait Env {
    /// The variable, if set and not empty.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

/// Resolves credentials from the chain.
pub fn resolve(explicit: &Explicit, env: &dyn Env) -> Result<Credentials, NoCredentials> {
    let pair = |id: Option<String>, secret: Option<String>, token: Option<String>| {
        Some(Credentials {
            access_key_id: id?,
            secret: ApiKey::new(secret?),
            session_token: token.map(ApiKey::new),
        })
    };
    let e = explicit.clone();
    if let Some(c) = pair(e.access_key_id, e.secret_access_key, e.session_token) {
        return Ok(c);
    }
    let from_env = pair(
        env.var("AWS_ACCESS_KEY_ID"),
        env.var("AWS_SECRET_ACCESS_KEY"),
        env.var("AWS_SESSION_TOKEN"),
    );
    if let Some(c) = from_env {
        return Ok(c);
    }
    let profile = env.var("AWS_PROFILE").unwrap_or_else(|| "default".into());
    let file = credentials_file(env);
    let text = file
        .as_deref()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .unwrap_or_default();
    if let Some(c) = from_profile(&text, &profile) {
        return Ok(c);
    }
    let missing = if explicit.access_key_id.is_some() {
        "secret_access_key"
    } else {
        "access_key_id"
    };
    Err(NoCredentials {
        missing,
        profile,
        file: file.map_or("~/.aws/credentials".into(), |f| f.display().to_string()),
    })
}

fn credentials_file(env: &dyn Env) -> Option<PathBuf> {
    if let Some(f) = env.var("AWS_SHARED_CREDENTIALS_FILE") {
        return Some(PathBuf::from(f));
    }
    env.var("HOME")
        .map(|h| Path::new(&h).join(".aws").join("credentials"))
}

/// The keys of `[profile]` in a shared credentials file (INI: `[name]`
/// sections, `key = value` lines, `#`/`;` comments).
pub fn from_profile(text: &str, profile: &str) -> Option<Credentials> {
    let mut inside = false;
    let (mut id, mut secret, mut token) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == profile;
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if !inside {
            continue;
        }
        let v = v.trim().to_owned();
        match k.trim() {
            "aws_access_key_id" => id = Some(v),
            "aws_secret_access_key" => secret = Some(v),
            "aws_session_token" => token = Some(ApiKey::new(v)),
            _ => {}
        }
    }
    Some(Credentials {
        access_key_id: id.filter(|v| !v.is_empty())?,
        secret: ApiKey::new(secret.filter(|v| !v.is_empty())?),
        session_token: token,
    })
}
