//! The streamed reply to one turn: request, deadlines and decoding, as a
//! lazy stream that cancels the request when dropped.
//!
//! Deadlines: from the first poll until the first reply part, the reply
//! timeout (keep-alives do not extend it: the caller is waiting in silence);
//! after that, the idle timeout between two chunks of the body.

use std::sync::Arc;

use futures_util::stream;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Response, Url};
use tokio::time::{Instant, timeout_at};

use super::client::Inner;
use super::decode::{Format, ReplyDecoder};
use super::wire::TurnBody;
use crate::application::ports::orchestrator::{OrchestratorError, ReplyPart, ReplyStream};

/// One turn's reply in progress.
struct Reply {
    inner: Arc<Inner>,
    url: Url,
    body: TurnBody,
    accept: &'static str,
    /// Set at the first poll: the reply timeout counts from then.
    first_deadline: Option<Instant>,
    body_stream: Option<(Response, ReplyDecoder)>,
    seen_part: bool,
    eof: bool,
    finished: bool,
}

/// The reply stream of a turn posted to `url`.
pub(super) fn stream(
    inner: Arc<Inner>,
    url: Url,
    body: TurnBody,
    accept: &'static str,
) -> ReplyStream {
    let reply = Reply {
        inner,
        url,
        body,
        accept,
        first_deadline: None,
        body_stream: None,
        seen_part: false,
        eof: false,
        finished: false,
    };
    Box::pin(stream::unfold(reply, |mut r| async move {
        let item = r.next().await?;
        Some((item, r))
    }))
}

impl Reply {
    /// The next item; `None` once `Done` or an error was yielded.
    async fn next(&mut self) -> Option<Result<ReplyPart, OrchestratorError>> {
        if self.finished {
            return None;
        }
        let item = self.step().await;
        self.finished = matches!(item, Ok(ReplyPart::Done) | Err(_));
        if let Err(e) = &item {
            tracing::debug!(error = %e, seen_part = self.seen_part, "agent reply failed");
        }
        Some(item)
    }

    async fn step(&mut self) -> Result<ReplyPart, OrchestratorError> {
        let config = &self.inner.config;
        let first_deadline = *self
            .first_deadline
            .get_or_insert_with(|| Instant::now() + config.reply_timeout);
        let timeout = |waited, waiting_for| OrchestratorError::Timeout {
            waited,
            waiting_for,
        };
        let opened = match self.body_stream.take() {
            Some(open) => open,
            None => {
                let resp = timeout_at(
                    first_deadline,
                    self.inner.post(self.url.clone(), &self.body, self.accept),
                )
                .await
                .map_err(|_| timeout(config.reply_timeout, "the reply"))??;
                let ct = resp
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok());
                let format = Format::from_content_type(ct)?;
                (resp, ReplyDecoder::new(format, self.inner.limits))
            }
        };
        let (resp, decoder) = self.body_stream.insert(opened);
        loop {
            if let Some(part) = decoder.pop() {
                self.seen_part = true;
                return Ok(part);
            }
            if self.eof {
                return Err(OrchestratorError::Truncated);
            }
            let (deadline, waited, waiting_for) = if self.seen_part {
                let idle = config.idle_timeout;
                (Instant::now() + idle, idle, "the next chunk")
            } else {
                (first_deadline, config.reply_timeout, "the reply")
            };
            match timeout_at(deadline, resp.chunk()).await {
                Err(_) => return Err(timeout(waited, waiting_for)),
                Ok(Err(e)) => {
                    return Err(OrchestratorError::Transport(
                        crate::application::ports::Cause::new(e.without_url()),
                    ));
                }
                Ok(Ok(Some(bytes))) => decoder.feed(&bytes)?,
                Ok(Ok(None)) => {
                    decoder.finish()?;
                    self.eof = true;
                }
            }
        }
    }
}
