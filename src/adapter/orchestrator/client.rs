//! The HTTP client for the external agent orchestrator.

use std::sync::Arc;

use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Response, StatusCode, Url};
use serde::Serialize;
use tokio::time::{Instant, timeout_at};

use crate::adapter::telemetry::propagate;

use super::config::OrchestratorConfig;
use super::decode::{Format, Limits};
use super::reply;
use super::wire::{CreateBody, Created, TransferBody, TurnBody, body_message, parse_agent};
use crate::application::ports::orchestrator::{
    AgentInfo, AgentOrchestrator, BoxFuture, Conversation, ConversationId, CreateConversation,
    OrchestratorError, ReplyStream, TransferTarget, Turn,
};

/// Largest error body or conversation-creation body read.
const MAX_SMALL_BODY: usize = 16 * 1024;

/// What a turn request tells the orchestrator it can take, best first.
const ACCEPT_REPLY: &str = "text/event-stream, application/x-ndjson;q=0.9, application/json;q=0.8";

/// Why an orchestrator adapter could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    /// A setting of the built-in agent is unusable (its transfer target).
    #[error("orchestrator configuration: {0}")]
    Config(String),
    /// The configured URL is not an absolute http(s) URL.
    #[error("orchestrator url `{url}` is not an http(s) base URL: {why}")]
    Url {
        /// The configured value.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// The HTTP stack refused the settings (TLS roots, for example).
    #[error("orchestrator HTTP client: {0}")]
    Http(String),
}

/// [`AgentOrchestrator`] over HTTP. Cheap to clone: one connection pool.
#[derive(Debug, Clone)]
pub struct HttpOrchestrator {
    pub(super) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(super) struct Inner {
    http: reqwest::Client,
    base: Url,
    pub(super) config: OrchestratorConfig,
    pub(super) limits: Limits,
}

impl HttpOrchestrator {
    /// Builds a client for `url` (the `url` in `config` is ignored).
    pub fn new(url: &str, config: OrchestratorConfig) -> Result<Self, ClientBuildError> {
        let bad = |why: String| ClientBuildError::Url {
            url: url.to_owned(),
            why,
        };
        let base = Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(bad("expected http:// or https://".to_owned()));
        }
        // No overall timeout: a streamed reply may rightly last longer than
        // any bound on its first byte. Deadlines are ours, per phase.
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| ClientBuildError::Http(e.to_string()))?;
        let limits = Limits::for_text(config.max_reply_bytes);
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                config,
                limits,
            }),
        })
    }
}

impl Inner {
    /// `{base}/api/v1/conversations[/{id}[/{tail}]]`, the id percent-encoded
    /// as one path segment (a `/` in it cannot reach another route).
    pub(super) fn url(&self, id: Option<&ConversationId>, tail: Option<&str>) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v1", "conversations"]);
            path.extend(id.map(ConversationId::as_str));
            path.extend(tail);
        }
        url
    }

    /// POSTs `body` and returns a success response whose body is still unread.
    /// Retries once, and only when nothing can have been processed: the
    /// connection failed, or the orchestrator answered 503.
    pub(super) async fn post(
        &self,
        url: Url,
        body: &impl Serialize,
        accept: &str,
    ) -> Result<Response, OrchestratorError> {
        let mut retried = false;
        loop {
            let req = self
                .http
                .post(url.clone())
                .header(ACCEPT, accept)
                .json(body);
            let sent = propagate::send("orchestrator", operation(&url), self.authorised(req)).await;
            let retryable = match &sent {
                Err(e) => e.is_connect(),
                Ok(r) => r.status() == StatusCode::SERVICE_UNAVAILABLE,
            };
            if retryable && !retried {
                retried = true;
                tracing::warn!(
                    path = url.path(),
                    "agent orchestrator unavailable; retrying once"
                );
                tokio::time::sleep(self.config.retry_backoff).await;
                continue;
            }
            let resp = sent.map_err(transport)?;
            return check_status(resp).await;
        }
    }
}

/// The span name's operation: `conversations`, `turns` or `transfer` (the
/// path's last segment, never a conversation id).
fn operation(url: &Url) -> &str {
    url.path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("request")
}

fn transport(e: reqwest::Error) -> OrchestratorError {
    // Without the URL: it is in our config, and the message stays short.
    OrchestratorError::Transport(crate::application::ports::Cause::new(e.without_url()))
}

/// Maps a non-success status to its error, reading a bounded error body.
async fn check_status(resp: Response) -> Result<Response, OrchestratorError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(std::time::Duration::from_secs);
        return Err(OrchestratorError::RateLimited { retry_after });
    }
    let body = read_small(resp).await.unwrap_or_default();
    let message = match body_message(&body) {
        m if m.is_empty() => status.canonical_reason().unwrap_or("").to_owned(),
        m => m,
    };
    Err(OrchestratorError::Status {
        status: status.as_u16(),
        message,
    })
}

/// Reads a body of at most [`MAX_SMALL_BODY`] bytes.
async fn read_small(mut resp: Response) -> Result<Vec<u8>, OrchestratorError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_SMALL_BODY {
            return Err(OrchestratorError::TooLarge {
                limit: MAX_SMALL_BODY,
                what: "response body",
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl HttpOrchestrator {
    async fn create(&self, request: CreateConversation) -> Result<Conversation, OrchestratorError> {
        let inner = &self.inner;
        let work = async {
            let resp = inner
                .post(
                    inner.url(None, None),
                    &CreateBody::from(&request),
                    "application/json",
                )
                .await?;
            let ct = resp
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            if Format::from_content_type(ct)? != Format::Json {
                return Err(OrchestratorError::Malformed(format!(
                    "conversation reply is {ct:?}, expected application/json"
                )));
            }
            let body = read_small(resp).await?;
            let created: Created = serde_json::from_slice(&body)
                .map_err(|e| OrchestratorError::Malformed(format!("conversation reply: {e}")))?;
            let conversation_id = ConversationId::parse(created.conversation_id)
                .map_err(|e| OrchestratorError::Malformed(e.to_string()))?;
            Ok(Conversation {
                conversation_id,
                greeting: created.greeting.filter(|g| !g.trim().is_empty()),
            })
        };
        inner.bounded("a response", work).await
    }

    /// `GET …/conversations/{id}/agent`: 404 is "not said".
    async fn fetch_agent(
        &self,
        conversation: &ConversationId,
    ) -> Result<Option<AgentInfo>, OrchestratorError> {
        let inner = &self.inner;
        let url = inner.url(Some(conversation), Some("agent"));
        inner
            .bounded("a response", async {
                let request = inner
                    .authorised(inner.http.get(url.clone()))
                    .header(ACCEPT, "application/json");
                let resp = propagate::send("orchestrator", operation(&url), request)
                    .await
                    .map_err(transport)?;
                if resp.status() == StatusCode::NOT_FOUND {
                    return Ok(None);
                }
                let body = read_small(check_status(resp).await?).await?;
                parse_agent(&body)
                    .map(Some)
                    .map_err(OrchestratorError::Malformed)
            })
            .await
    }

    async fn notify_transfer(
        &self,
        conversation: &ConversationId,
        target: &TransferTarget,
    ) -> Result<(), OrchestratorError> {
        let inner = &self.inner;
        let url = inner.url(Some(conversation), Some("transfer"));
        let body = TransferBody {
            target: target.as_str(),
        };
        inner
            .bounded("a response", async {
                let resp = inner.post(url, &body, "application/json").await?;
                // The body carries nothing we use; read it so the connection is reused.
                read_small(resp).await.map(drop)
            })
            .await
    }
}

impl Inner {
    /// The headers every request carries (the bearer token): the one place
    /// to add more (a trace context).
    pub(super) fn authorised(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.config.token {
            // reqwest marks the header sensitive: it is never printed.
            Some(token) => req.bearer_auth(token.expose()),
            None => req,
        }
    }

    /// Runs `work` within the reply timeout.
    async fn bounded<T>(
        &self,
        waiting_for: &'static str,
        work: impl Future<Output = Result<T, OrchestratorError>>,
    ) -> Result<T, OrchestratorError> {
        let waited = self.config.reply_timeout;
        timeout_at(Instant::now() + waited, work)
            .await
            .map_err(|_| OrchestratorError::Timeout {
                waited,
                waiting_for,
            })?
    }
}

impl AgentOrchestrator for HttpOrchestrator {
    fn create_conversation(
        &self,
        request: CreateConversation,
    ) -> BoxFuture<'_, Result<Conversation, OrchestratorError>> {
        Box::pin(self.create(request))
    }

    fn send_turn(&self, conversation: &ConversationId, turn: Turn) -> ReplyStream {
        let url = self.inner.url(Some(conversation), Some("turns"));
        reply::stream(self.inner.clone(), url, TurnBody::from(turn), ACCEPT_REPLY)
    }

    fn transfer<'a>(
        &'a self,
        conversation: &'a ConversationId,
        target: &'a TransferTarget,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(self.notify_transfer(conversation, target))
    }

    fn agent<'a>(
        &'a self,
        conversation: &'a ConversationId,
    ) -> BoxFuture<'a, Result<Option<AgentInfo>, OrchestratorError>> {
        Box::pin(self.fetch_agent(conversation))
    }
}
