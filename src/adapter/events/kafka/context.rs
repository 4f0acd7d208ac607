//! The producer's librdkafka context: remembers the last client-level error
//! (a TLS handshake refused, SASL authentication failed, a broker down), so
//! the readiness detail says why sends fail, not only "Message timed out".

use rdkafka::{
    ClientContext,
    config::RDKafkaLogLevel,
    error::{KafkaError, RDKafkaErrorCode},
};
use std::sync::{Arc, Mutex};

/// Shared by the producer (which reports) and the driver (which reads).
#[derive(Clone, Default)]
pub(crate) struct Context {
    last: Arc<Mutex<Option<String>>>,
}

impl Context {
    /// The last error reported since the broker last acknowledged a send.
    pub(crate) fn last(&self) -> Option<String> {
        self.lock().clone()
    }

    /// The broker acknowledged a send: earlier errors are over.
    pub(crate) fn clear(&self) {
        self.lock().take();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.last.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ClientContext for Context {
    /// librdkafka's log, into tracing; a connection's failure (`FAIL`:
    /// refused, TLS handshake failed or timed out, authentication failed)
    /// is kept as the reason, since librdkafka does not always repeat it
    /// as an error.
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => tracing::error!(fac, "librdkafka: {message}"),
            RDKafkaLogLevel::Warning => tracing::warn!(fac, "librdkafka: {message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(fac, "librdkafka: {message}")
            }
            RDKafkaLogLevel::Debug => tracing::debug!(fac, "librdkafka: {message}"),
        }
        if fac == "FAIL" {
            *self.lock() = Some(message.to_owned());
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!(%error, reason, "librdkafka error");
        let mut last = self.lock();
        // "1/1 brokers are down" follows every connection failure and would
        // hide its reason (e.g. "SSL handshake failed: … connecting to a
        // PLAINTEXT broker listener?").
        let all_down = error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown);
        if !(all_down && last.is_some()) {
            *last = Some(reason.to_owned());
        }
    }
}
