//! The AMI client: one TCP connection, logged in with events off, actions
//! sent one at a time and matched to their response by `ActionID`.

use super::protocol::{self, InvalidValue, Packet, PacketReader, ProtocolError};
use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};
use tokio::{
    io::AsyncWriteExt,
    net::TcpStream,
    sync::Mutex,
    time::{Instant, sleep_until, timeout_at},
};

/// Where and as whom to log in.
#[derive(Clone)]
pub struct AmiConfig {
    /// `host:port` of the manager.
    pub address: String,
    /// The manager user (`manager.conf`).
    pub username: String,
    /// Its secret. Never printed.
    pub secret: String,
    /// Deadline of one action, connecting and logging in included.
    pub timeout: Duration,
}

impl std::fmt::Debug for AmiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmiConfig")
            .field("address", &self.address)
            .field("username", &self.username)
            .field("secret", &"<redacted>")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl AmiConfig {
    /// From `tcp://host[:port]` (port 5038 when absent).
    pub fn from_url(
        url: &str,
        username: &str,
        secret: &str,
        timeout: Duration,
    ) -> Result<Self, String> {
        Ok(Self {
            address: address_of(url)?,
            username: username.to_owned(),
            secret: secret.to_owned(),
            timeout,
        })
    }
}

/// `host:port` of a `tcp://host[:port]` URL, or why it is not one.
pub fn address_of(url: &str) -> Result<String, String> {
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| format!("{url:?}: {e}"))?;
    if parsed.scheme() != "tcp" {
        return Err(format!("{url:?} is not a tcp:// URL"));
    }
    let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) else {
        return Err(format!("{url:?} has no host"));
    };
    if !parsed.username().is_empty()
        || parsed.password().is_some()
        || !matches!(parsed.path(), "" | "/")
        || parsed.query().is_some()
    {
        return Err(format!(
            "{url:?}: only tcp://HOST[:PORT] (credentials go in ami.username and ami.secret)"
        ));
    }
    Ok(format!("{host}:{}", parsed.port().unwrap_or(5038)))
}

/// Why an action failed.
#[derive(Debug, thiserror::Error)]
pub enum AmiError {
    /// Refused before anything was sent.
    #[error("AMI {action}: invalid value: {source}")]
    Invalid {
        /// Which action.
        action: &'static str,
        /// The value.
        #[source]
        source: InvalidValue,
    },
    /// Could not connect (after retries within the deadline).
    #[error("AMI: cannot connect to {address}: {source}")]
    Connect {
        /// Where.
        address: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The manager refused the credentials.
    #[error("AMI login refused: {0}")]
    LoginFailed(String),
    /// The manager answered `Response: Error`.
    #[error("AMI {action} refused: {message}")]
    Refused {
        /// Which action.
        action: &'static str,
        /// The manager's `Message`.
        message: String,
    },
    /// The connection broke after the action was sent: it may or may not have
    /// been carried out.
    #[error("AMI {action}: the connection broke before the response")]
    Disconnected {
        /// Which action.
        action: &'static str,
    },
    /// The server broke the protocol.
    #[error("AMI: {0}")]
    Protocol(#[from] ProtocolError),
    /// No response within the deadline.
    #[error("AMI {action}: no response within the timeout")]
    Timeout {
        /// Which action.
        action: &'static str,
    },
}

impl AmiError {
    /// Whether the target channel does not exist (any more).
    pub fn is_no_such_channel(&self) -> bool {
        matches!(self, Self::Refused { message, .. } if message.to_ascii_lowercase().contains("no such channel"))
    }

    /// Whether the target bridge does not exist (any more).
    pub fn is_no_such_bridge(&self) -> bool {
        matches!(self, Self::Refused { message, .. } if message.to_ascii_lowercase().contains("not found") && message.to_ascii_lowercase().contains("bridge"))
    }
}

/// What an Originate places.
#[derive(Debug, Clone, Default)]
pub struct AmiOriginate {
    /// The dial string (`PJSIP/+1555@trunk`).
    pub channel: String,
    /// The new channel's unique id.
    pub channel_id: Option<String>,
    /// Where the answered channel goes: an application and its data...
    pub application: Option<(String, String)>,
    /// ...or a dialplan location (context, extension, priority).
    pub dialplan: Option<(String, String, u32)>,
    /// Caller id.
    pub caller_id: Option<String>,
    /// Ring timeout.
    pub timeout: Duration,
    /// Channel variables.
    pub variables: BTreeMap<String, String>,
}

/// The reconnect delays after a failed connect or login.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
const READ_CHUNK: usize = 4096;

struct Conn {
    stream: TcpStream,
    reader: PacketReader,
}

#[derive(Default)]
struct State {
    conn: Option<Conn>,
    failures: u32,
    retry_at: Option<Instant>,
}

/// An AMI client. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct AmiClient {
    config: Arc<AmiConfig>,
    state: Arc<Mutex<State>>,
    next_id: Arc<AtomicU64>,
}

impl std::fmt::Debug for AmiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmiClient")
            .field("config", &self.config)
            .finish()
    }
}

impl AmiClient {
    /// A client; it connects on its first action.
    pub fn new(config: AmiConfig) -> Self {
        Self {
            config: Arc::new(config),
            state: Arc::default(),
            next_id: Arc::new(AtomicU64::new(1)),
        }
    }

    /// Logs in (if not yet) and pings: a check of the address and the
    /// credentials before an outage needs them.
    pub async fn ping(&self) -> Result<(), AmiError> {
        self.action("Ping", &[]).await.map(drop)
    }

    /// Hangs up a channel (by name or unique id) with a Q.850 cause.
    pub async fn hangup(&self, channel: &str, cause: u8) -> Result<(), AmiError> {
        // The manager reads `/…/` as a regular expression and hangs up every
        // channel whose name matches it.
        if channel.starts_with('/') {
            return Err(AmiError::Invalid {
                action: "Hangup",
                source: InvalidValue {
                    field: "Channel",
                    reason: "starts with `/` (the manager would read a pattern)",
                },
            });
        }
        let cause = cause.to_string();
        self.action("Hangup", &[("Channel", channel), ("Cause", &cause)])
            .await
            .map(drop)
    }

    /// Destroys a bridge (its channels leave it, and stay up).
    pub async fn bridge_destroy(&self, bridge: &str) -> Result<(), AmiError> {
        self.action("BridgeDestroy", &[("BridgeUniqueid", bridge)])
            .await
            .map(drop)
    }

    /// Sends a channel to a dialplan location.
    pub async fn redirect(
        &self,
        channel: &str,
        context: &str,
        exten: &str,
        priority: u32,
    ) -> Result<(), AmiError> {
        let priority = priority.to_string();
        self.action(
            "Redirect",
            &[
                ("Channel", channel),
                ("Context", context),
                ("Exten", exten),
                ("Priority", &priority),
            ],
        )
        .await
        .map(drop)
    }

    /// Places a call (`Async: true`: the response says it was queued, the
    /// outcome comes as the channel's own life).
    pub async fn originate(&self, o: &AmiOriginate) -> Result<(), AmiError> {
        let timeout = o.timeout.as_millis().to_string();
        let mut headers: Vec<(&'static str, &str)> = vec![
            ("Channel", &o.channel),
            ("Timeout", &timeout),
            ("Async", "true"),
        ];
        if let Some(id) = &o.channel_id {
            headers.push(("ChannelId", id));
        }
        let priority;
        match (&o.application, &o.dialplan) {
            (Some((app, data)), None) => {
                headers.push(("Application", app));
                headers.push(("Data", data));
            }
            (None, Some((context, exten, p))) => {
                priority = p.to_string();
                headers.push(("Context", context));
                headers.push(("Exten", exten));
                headers.push(("Priority", &priority));
            }
            _ => {
                return Err(AmiError::Invalid {
                    action: "Originate",
                    source: InvalidValue {
                        field: "Application",
                        reason: "exactly one of an application or a dialplan location is needed",
                    },
                });
            }
        }
        if let Some(c) = &o.caller_id {
            headers.push(("CallerID", c));
        }
        let variables: Vec<String> = o
            .variables
            .iter()
            .map(|(k, v)| {
                // The manager splits a `Variable` header at commas: `A=1,B=2`
                // sets two, so a comma would let a value set another variable.
                if k.is_empty() || k.contains(['=', ',']) || v.contains(',') {
                    Err(AmiError::Invalid {
                        action: "Originate",
                        source: InvalidValue {
                            field: "Variable",
                            reason: "a variable name is empty or holds `=` or `,`, or a value holds `,`",
                        },
                    })
                } else {
                    Ok(format!("{k}={v}"))
                }
            })
            .collect::<Result<_, _>>()?;
        for v in &variables {
            headers.push(("Variable", v));
        }
        self.action("Originate", &headers).await.map(drop)
    }

    /// Sends one action and waits for its response, connecting (with backoff)
    /// first if needed, all within the configured timeout.
    pub async fn action(
        &self,
        action: &'static str,
        headers: &[(&'static str, &str)],
    ) -> Result<Packet, AmiError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        let mut all = Vec::with_capacity(headers.len() + 1);
        all.push(("ActionID", id.as_str()));
        all.extend_from_slice(headers);
        let wire = protocol::encode(action, &all)
            .map_err(|source| AmiError::Invalid { action, source })?;
        let deadline = Instant::now() + self.config.timeout;
        match timeout_at(deadline, self.send(action, &id, wire.as_bytes(), deadline)).await {
            Ok(result) => result,
            Err(_) => Err(AmiError::Timeout { action }),
        }
    }

    async fn send(
        &self,
        action: &'static str,
        id: &str,
        wire: &[u8],
        deadline: Instant,
    ) -> Result<Packet, AmiError> {
        let mut state = self.state.lock().await;
        let mut conn = match state.conn.take().filter(Conn::alive) {
            Some(conn) => conn,
            None => self.connect(&mut state, deadline).await?,
        };
        if conn.stream.write_all(wire).await.is_err() {
            return Err(AmiError::Disconnected { action });
        }
        let response = loop {
            let packet = conn.read_packet().await.map_err(|e| match e {
                ReadError::Closed => AmiError::Disconnected { action },
                ReadError::Protocol(p) => AmiError::Protocol(p),
            })?;
            // Events are off; anything else unrelated (a stray event, a late
            // response to an action that timed out) is skipped.
            if packet.get("ActionID") == Some(id) && packet.get("Response").is_some() {
                break packet;
            }
        };
        state.conn = Some(conn);
        match response.get("Response") {
            Some(r) if r.eq_ignore_ascii_case("Success") => Ok(response),
            _ => Err(AmiError::Refused {
                action,
                message: response.get("Message").unwrap_or_default().to_owned(),
            }),
        }
    }

    /// Connects and logs in, retrying with growing delays until one works or
    /// the deadline passes. A refused login is not retried: the credentials
    /// will not get better.
    async fn connect(&self, state: &mut State, deadline: Instant) -> Result<Conn, AmiError> {
        loop {
            if let Some(at) = state.retry_at
                && at > Instant::now()
            {
                if at >= deadline {
                    return Err(AmiError::Timeout { action: "Login" });
                }
                sleep_until(at).await;
            }
            match self.login().await {
                Ok(conn) => {
                    if state.failures > 0 {
                        tracing::info!(address = %self.config.address, "AMI connected again");
                    }
                    state.failures = 0;
                    state.retry_at = None;
                    return Ok(conn);
                }
                Err(e) => {
                    let delay = BACKOFF_MIN
                        .saturating_mul(1 << state.failures.min(6))
                        .min(BACKOFF_MAX);
                    state.failures = state.failures.saturating_add(1);
                    state.retry_at = Some(Instant::now() + delay);
                    tracing::warn!(address = %self.config.address, error = %e, ?delay, "AMI connect failed");
                    if matches!(e, AmiError::LoginFailed(_) | AmiError::Protocol(_)) {
                        return Err(e);
                    }
                    if Instant::now() + delay >= deadline {
                        return Err(e);
                    }
                }
            }
        }
    }

    async fn login(&self) -> Result<Conn, AmiError> {
        let address = &self.config.address;
        let stream = TcpStream::connect(address)
            .await
            .map_err(|source| AmiError::Connect {
                address: address.clone(),
                source,
            })?;
        let _ = stream.set_nodelay(true);
        let mut conn = Conn {
            stream,
            reader: PacketReader::default(),
        };
        let banner = conn.read_line().await.map_err(|e| match e {
            ReadError::Closed => AmiError::Connect {
                address: address.clone(),
                source: std::io::ErrorKind::UnexpectedEof.into(),
            },
            ReadError::Protocol(p) => AmiError::Protocol(p),
        })?;
        protocol::check_banner(&banner)?;
        let id = format!("login-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
        let wire = protocol::encode(
            "Login",
            &[
                ("ActionID", &id),
                ("Username", &self.config.username),
                ("Secret", &self.config.secret),
                ("Events", "off"),
            ],
        )
        .map_err(|source| AmiError::Invalid {
            action: "Login",
            source,
        })?;
        let broke = |_| AmiError::Connect {
            address: address.clone(),
            source: std::io::ErrorKind::ConnectionAborted.into(),
        };
        conn.stream
            .write_all(wire.as_bytes())
            .await
            .map_err(broke)?;
        loop {
            let packet = conn.read_packet().await.map_err(|e| match e {
                ReadError::Closed => AmiError::Connect {
                    address: address.clone(),
                    source: std::io::ErrorKind::ConnectionAborted.into(),
                },
                ReadError::Protocol(p) => AmiError::Protocol(p),
            })?;
            if packet.get("ActionID") != Some(id.as_str()) {
                continue;
            }
            return match packet.get("Response") {
                Some(r) if r.eq_ignore_ascii_case("Success") => Ok(conn),
                _ => Err(AmiError::LoginFailed(
                    packet.get("Message").unwrap_or_default().to_owned(),
                )),
            };
        }
    }
}

enum ReadError {
    Closed,
    Protocol(ProtocolError),
}

impl Conn {
    /// Whether the idle connection is still open: a closed one reads EOF at
    /// once, and an action sent on it would be reported as "outcome unknown"
    /// although it never left.
    fn alive(&self) -> bool {
        let mut probe = [0u8; 1];
        match self.stream.try_read(&mut probe) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
            // Unsolicited bytes on an idle connection: nothing to match them
            // with; start afresh rather than resynchronise.
            _ => false,
        }
    }

    async fn fill(&mut self) -> Result<(), ReadError> {
        let mut chunk = [0u8; READ_CHUNK];
        self.stream
            .readable()
            .await
            .map_err(|_| ReadError::Closed)?;
        match self.stream.try_read(&mut chunk) {
            Ok(0) => Err(ReadError::Closed),
            Ok(n) => {
                self.reader.feed(&chunk[..n]);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(()),
            Err(_) => Err(ReadError::Closed),
        }
    }

    async fn read_line(&mut self) -> Result<String, ReadError> {
        loop {
            if let Some(line) = self.reader.next_line().map_err(ReadError::Protocol)? {
                return Ok(line);
            }
            self.fill().await?;
        }
    }

    async fn read_packet(&mut self) -> Result<Packet, ReadError> {
        loop {
            if let Some(p) = self.reader.next_packet().map_err(ReadError::Protocol)? {
                return Ok(p);
            }
            self.fill().await?;
        }
    }
}
