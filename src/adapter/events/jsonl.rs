//! The embedded default publisher: CloudEvents envelopes as JSON lines in a file.
//!
//! One writer task owns the file, so lines never interleave and each call's
//! events keep the order they were published in. `publish` only queues: a slow
//! disk back-pressures callers through the bounded queue instead of growing
//! memory. Each batch is flushed before the writer waits again, and `close`
//! drains and syncs the file at shutdown.

use super::envelope;
use crate::application::ports::{
    events::{CallEvent, EventPublisher, PublishError},
    orchestrator::BoxFuture,
};
use std::path::{Path, PathBuf};
use tokio::{
    fs::OpenOptions,
    io::{AsyncWriteExt, BufWriter},
    sync::{mpsc, oneshot},
};

enum Cmd {
    Event(Box<CallEvent>),
    Close(oneshot::Sender<()>),
}

/// Appends events to a JSON-lines file.
#[derive(Debug, Clone)]
pub struct JsonlFile {
    tx: mpsc::Sender<Cmd>,
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cmd")
    }
}

impl JsonlFile {
    /// Opens (creating it and its folder) `path` for appending and starts the writer.
    pub async fn open(path: &Path, source: String) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir).await?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await?;
        let (tx, rx) = mpsc::channel(16 * 1024);
        tokio::spawn(write_loop(
            BufWriter::new(file),
            rx,
            source,
            path.to_path_buf(),
        ));
        Ok(Self { tx })
    }

    /// Writes everything queued so far and syncs the file.
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Cmd::Close(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

impl EventPublisher for JsonlFile {
    fn publish(&self, event: CallEvent) -> BoxFuture<'_, Result<(), PublishError>> {
        Box::pin(async move {
            self.tx
                .send(Cmd::Event(Box::new(event)))
                .await
                .map_err(|_| PublishError::Stopped)
        })
    }
}

async fn write_loop(
    mut out: BufWriter<tokio::fs::File>,
    mut rx: mpsc::Receiver<Cmd>,
    source: String,
    path: PathBuf,
) {
    let mut line = Vec::with_capacity(1024);
    while let Some(cmd) = rx.recv().await {
        let mut next = Some(cmd);
        // Take whatever else is queued before flushing: one write per batch.
        while let Some(cmd) = next.take() {
            match cmd {
                Cmd::Event(ev) => {
                    line.clear();
                    // Serialising a `Value` cannot fail.
                    let _ = serde_json::to_writer(&mut line, &envelope(&ev, &source));
                    line.push(b'\n');
                    if let Err(e) = out.write_all(&line).await {
                        tracing::error!(path = %path.display(), error = %e, "cannot write call event");
                    }
                }
                Cmd::Close(done) => {
                    let _ = out.flush().await;
                    let _ = out.get_ref().sync_all().await;
                    let _ = done.send(());
                }
            }
            next = rx.try_recv().ok();
        }
        if let Err(e) = out.flush().await {
            tracing::error!(path = %path.display(), error = %e, "cannot flush call events");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CallId, TenantId, events::EventType};
    use serde_json::json;

    #[tokio::test]
    async fn appends_one_envelope_per_line_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/events.jsonl");
        let publisher = JsonlFile::open(&path, "gw-test".into()).await.unwrap();
        let (call, tenant) = (CallId::parse("c1").unwrap(), TenantId::parse("t1").unwrap());
        let now = std::time::SystemTime::now();
        for (i, t) in EventType::ALL.iter().enumerate() {
            publisher
                .publish(CallEvent::new(
                    *t,
                    call.clone(),
                    tenant.clone(),
                    now,
                    json!({"n": i}),
                ))
                .await
                .unwrap();
        }
        publisher.close().await;
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), EventType::ALL.len());
        for (i, (l, t)) in lines.iter().zip(EventType::ALL).enumerate() {
            assert_eq!(l["type"], t.as_str());
            assert_eq!(l["data"]["n"], i);
            assert_eq!(l["source"], "gw-test");
        }

        // Re-opening appends rather than truncating.
        let again = JsonlFile::open(&path, "gw-test".into()).await.unwrap();
        again
            .publish(CallEvent::new(
                EventType::CallEnded,
                call,
                tenant,
                now,
                json!({}),
            ))
            .await
            .unwrap();
        again.close().await;
        assert_eq!(
            std::fs::read_to_string(&path).unwrap().lines().count(),
            EventType::ALL.len() + 1
        );
    }

    #[tokio::test]
    async fn an_unwritable_path_is_an_error_at_open() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("file"), "x").unwrap();
        let err = JsonlFile::open(&dir.path().join("file/events.jsonl"), "s".into())
            .await
            .unwrap_err();
        assert!(!err.to_string().is_empty());
    }
}
