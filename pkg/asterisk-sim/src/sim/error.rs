//! Asterisk's REST error answers: a status and a body, usually `{"message": …}`.

use serde_json::{Value, json};

/// An error response exactly as Asterisk words it (fixture 05).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) body: Value,
}

impl ApiError {
    pub(crate) fn new(status: u16, message: &str) -> Self {
        Self {
            status,
            body: json!({ "message": message }),
        }
    }

    /// The one error whose key is `error` (channel allocation failures, fixture 04).
    pub(crate) fn allocation_failed() -> Self {
        Self {
            status: 500,
            body: json!({ "error": "Allocation failed" }),
        }
    }

    pub(crate) fn internal() -> Self {
        Self::new(
            500,
            "An internal error prevented this request from being handled",
        )
    }

    pub(crate) fn channel_not_found() -> Self {
        Self::new(404, "Channel not found")
    }

    pub(crate) fn not_in_stasis() -> Self {
        Self::new(409, "Channel not in Stasis application")
    }

    pub(crate) fn bridge_not_found() -> Self {
        Self::new(404, "Bridge not found")
    }

    pub(crate) fn playback_not_found() -> Self {
        Self::new(404, "Playback not found")
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;
