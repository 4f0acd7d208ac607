//! The error underneath a port's error.
//!
//! A port error says what failed in the port's words (`Asterisk unavailable`);
//! the adapter's error that made it (a refused connection, a Redis timeout)
//! is kept as its [`source`](std::error::Error::source), so a report that
//! walks the chain sees both, and the cause's own chain stays reachable.
//! Port errors are cloned and compared (tests, retries), so the cause is
//! shared, and two causes are equal when they say the same thing.

use std::{error::Error, fmt, sync::Arc};

/// An error's cause: another error, or a sentence when there is none.
#[derive(Clone)]
pub struct Cause(Arc<dyn Error + Send + Sync + 'static>);

impl Cause {
    /// Keeps `error`, its message and its own causes.
    pub fn new(error: impl Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(error))
    }

    /// A cause that is only a sentence (no error underneath).
    pub fn msg(text: impl Into<String>) -> Self {
        Self(Arc::new(Message(text.into())))
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// The cause stands in for the error it holds: its source is that error's.
impl Error for Cause {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for Cause {}

#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Message {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::ports::telephony::TelephonyError;

    #[test]
    fn a_port_error_keeps_the_adapter_error_as_its_source() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let e = TelephonyError::Unavailable(Cause::new(io));
        assert_eq!(e.to_string(), "Asterisk unavailable: connection refused");
        let source = e.source().expect("a source");
        assert_eq!(source.to_string(), "connection refused");
        assert_eq!(e.clone(), e);
        assert_eq!(
            TelephonyError::Unavailable(Cause::msg("connection refused")),
            e,
            "equal when they say the same"
        );
    }
}
