//! Errors of the ARI REST client.

/// What went wrong with an ARI request.
///
/// Status variants carry the text Asterisk sent (`message`, or `error` for the 500
/// `Allocation failed` of an originate, or the raw body when it was not JSON).
/// Note what a success does *not* mean: an originate answers 200 even when the far
/// end is busy or the app has no socket; the outcome arrives as events.
#[derive(Debug, thiserror::Error)]
pub enum AriError {
    /// 400: a parameter is missing or invalid (also "Channel not found" for
    /// `addChannel`/`removeChannel` with an unknown channel).
    #[error("{operation}: bad request (400): {message}")]
    BadRequest {
        /// Which operation.
        operation: &'static str,
        /// What Asterisk said.
        message: String,
    },
    /// 401: wrong or missing credentials.
    #[error("{operation}: unauthorized (401): {message}")]
    Unauthorized {
        /// Which operation.
        operation: &'static str,
        /// What Asterisk said.
        message: String,
    },
    /// 404: the channel, bridge, playback, recording or app does not exist (any more).
    #[error("{operation}: not found (404): {message}")]
    NotFound {
        /// Which operation.
        operation: &'static str,
        /// What Asterisk said.
        message: String,
    },
    /// 409: conflict: the channel is not in Stasis, or the id already exists.
    #[error("{operation}: conflict (409): {message}")]
    Conflict {
        /// Which operation.
        operation: &'static str,
        /// What Asterisk said.
        message: String,
    },
    /// 412: precondition failed (e.g. the channel is not in a state that allows it).
    #[error("{operation}: precondition failed (412): {message}")]
    PreconditionFailed {
        /// Which operation.
        operation: &'static str,
        /// What Asterisk said.
        message: String,
    },
    /// 422: unprocessable: e.g. `addChannel` of a channel not in Stasis, a redirect
    /// endpoint of the wrong technology.
    #[error("{operation}: unprocessable (422): {message}")]
    Unprocessable {
        /// Which operation.
        operation: &'static str,
        /// What Asterisk said.
        message: String,
    },
    /// 500: Asterisk failed (allocation failure, unknown format, no media to play).
    #[error("{operation}: Asterisk internal error (500): {message}")]
    Internal {
        /// Which operation.
        operation: &'static str,
        /// What Asterisk said.
        message: String,
    },
    /// 503: Asterisk is not ready (`Asterisk not booted` during startup). Retried for
    /// reads.
    #[error("{operation}: Asterisk unavailable (503): {message}")]
    Unavailable {
        /// Which operation.
        operation: &'static str,
        /// What Asterisk said.
        message: String,
    },
    /// Any other status (405, 501 for an unsupported externalMedia encapsulation, ...).
    #[error("{operation}: unexpected status {status}: {message}")]
    UnexpectedStatus {
        /// Which operation.
        operation: &'static str,
        /// HTTP status.
        status: u16,
        /// What Asterisk said.
        message: String,
    },
    /// No response within the configured request timeout.
    #[error("{operation}: no response from Asterisk within the timeout")]
    Timeout {
        /// Which operation.
        operation: &'static str,
    },
    /// Could not connect, or the connection broke.
    #[error("{operation}: transport error: {source}")]
    Transport {
        /// Which operation.
        operation: &'static str,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// A success response whose body is not the expected model.
    #[error("{operation}: unexpected response body at `{path}`: {message}")]
    Decode {
        /// Which operation.
        operation: &'static str,
        /// JSON path of the mismatch.
        path: String,
        /// What serde said.
        message: String,
    },
    /// The request was refused before sending: a value that would change its
    /// meaning (a comma in an argument list, an empty id) or an undeclared parameter.
    #[error("{operation}: invalid request: {reason}")]
    InvalidRequest {
        /// Which operation.
        operation: &'static str,
        /// Why.
        reason: String,
    },
    /// The client could not be built (bad base URL, TLS setup).
    #[error("ARI client configuration: {0}")]
    Config(String),
}

impl AriError {
    /// Maps an error status and the text Asterisk sent to a variant.
    pub(crate) fn from_status(operation: &'static str, status: u16, message: String) -> Self {
        match status {
            400 => Self::BadRequest { operation, message },
            401 => Self::Unauthorized { operation, message },
            404 => Self::NotFound { operation, message },
            409 => Self::Conflict { operation, message },
            412 => Self::PreconditionFailed { operation, message },
            422 => Self::Unprocessable { operation, message },
            500 => Self::Internal { operation, message },
            503 => Self::Unavailable { operation, message },
            _ => Self::UnexpectedStatus {
                operation,
                status,
                message,
            },
        }
    }

    /// The HTTP status Asterisk answered, for status errors.
    pub fn status(&self) -> Option<u16> {
        Some(match self {
            Self::BadRequest { .. } => 400,
            Self::Unauthorized { .. } => 401,
            Self::NotFound { .. } => 404,
            Self::Conflict { .. } => 409,
            Self::PreconditionFailed { .. } => 412,
            Self::Unprocessable { .. } => 422,
            Self::Internal { .. } => 500,
            Self::Unavailable { .. } => 503,
            Self::UnexpectedStatus { status, .. } => *status,
            _ => return None,
        })
    }

    /// The text Asterisk sent, for status errors.
    pub fn asterisk_message(&self) -> Option<&str> {
        match self {
            Self::BadRequest { message, .. }
            | Self::Unauthorized { message, .. }
            | Self::NotFound { message, .. }
            | Self::Conflict { message, .. }
            | Self::PreconditionFailed { message, .. }
            | Self::Unprocessable { message, .. }
            | Self::Internal { message, .. }
            | Self::Unavailable { message, .. }
            | Self::UnexpectedStatus { message, .. } => Some(message),
            _ => None,
        }
    }

    /// Whether repeating a read might succeed: timeouts, connection failures and 503.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Self::Timeout { .. } | Self::Unavailable { .. } => true,
            Self::Transport { source, .. } => source.is_connect() || source.is_request(),
            _ => false,
        }
    }
}
