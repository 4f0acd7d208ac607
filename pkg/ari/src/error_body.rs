//! The JSON body Asterisk sends with an error status.

use serde::{Deserialize, Serialize};

/// An ARI error body.
///
/// Almost always `{"message": "..."}`, but an originate that fails to allocate a
/// channel (unknown technology or peer) answers 500 `{"error": "Allocation failed"}`
/// (fixture 04), so both keys are optional.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The usual error text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The error text of allocation failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ErrorBody {
    /// The text Asterisk sent, whichever key carried it.
    pub fn text(&self) -> Option<&str> {
        self.message.as_deref().or(self.error.as_deref())
    }
}
