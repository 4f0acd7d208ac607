//! The one error type of the call API, rendered as RFC 9457
//! `application/problem+json` with a stable `type` URI per kind.

use crate::application::ports::calls::ControlError;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

/// Prefix of every problem `type`; clients match on the full URI.
const TYPE_BASE: &str = "https://voice-gateway.dev/problems/";

/// The problem document (RFC 9457) every error response carries.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Stable URI naming the kind of error.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What went wrong with this request, for a human.
    pub detail: String,
    /// The request field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Every way a call-API request can fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No usable bearer token (missing, malformed, bad signature, expired…).
    #[error("{0}")]
    InvalidToken(String),
    /// The token lacks the scope the operation needs.
    #[error("this operation needs the {0} scope")]
    InsufficientScope(&'static str),
    /// A field failed validation; `kind` is the problem slug.
    #[error("{detail}")]
    Invalid {
        /// Problem slug, e.g. `invalid-number`.
        kind: &'static str,
        /// The field at fault.
        field: Option<String>,
        /// Human message.
        detail: String,
    },
    /// The body is not JSON of the expected shape.
    #[error("{detail}")]
    MalformedJson {
        /// The field at fault, when serde named one.
        field: Option<String>,
        /// Human message.
        detail: String,
    },
    /// The body is not `application/json`.
    #[error("the body must be application/json")]
    UnsupportedMediaType,
    /// The body is larger than allowed.
    #[error("the body is larger than this API accepts")]
    PayloadTooLarge,
    /// No such call for this tenant (or no such thing at all).
    #[error("{0}")]
    NotFound(String),
    /// The call cannot do that in its current state.
    #[error("{0}")]
    Conflict(String),
    /// The path exists but not with this method.
    #[error("this method is not allowed on this path")]
    MethodNotAllowed,
    /// Same `Idempotency-Key` with a different request.
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyMismatch,
    /// Same `Idempotency-Key` while the first request is still running.
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyInProgress,
    /// Too many live calls for the tenant.
    #[error("the tenant already has {limit} live calls")]
    TooManyCalls {
        /// The limit.
        limit: u32,
        /// Seconds to wait before retrying.
        retry_after: u64,
    },
    /// Originate rate exceeded.
    #[error("originate rate exceeded for this tenant")]
    RateLimited {
        /// Seconds to wait before retrying.
        retry_after: u64,
    },
    /// The gateway is draining.
    #[error("the gateway is shutting down and takes no new calls")]
    Draining,
    /// This instance cannot follow calls now (it lost the Stasis app).
    #[error("{0}")]
    NotListening(String),
    /// The gateway (or the tenant's share of it) holds as many live calls as it may.
    #[error("{0}")]
    AtCapacity(String),
    /// The dialing policy refuses the request; the message names the rule.
    #[error("{0}")]
    NotAllowed(String),
    /// Telephony or another dependency failed.
    #[error("telephony is unavailable")]
    Unavailable(String),
    /// The call history could not be read (the cause is logged, not sent:
    /// it may name internal hosts).
    #[error("the call history is unavailable")]
    HistoryUnavailable,
    /// The request is for another instance (`[ha]`), which could not be
    /// found or reached; the message says which and why.
    #[error("{0}")]
    Unreachable(String),
    /// Another instance's answer to a forwarded request, passed on as it is.
    #[error("answered by another instance: {}", .0.status)]
    Relayed(Box<super::forward::Answer>),
}

/// Seconds a client waits before retrying an originate refused at capacity.
pub(crate) const CAPACITY_RETRY_AFTER: u64 = 5;

impl ApiError {
    /// A validation failure on one field.
    pub(crate) fn invalid(kind: &'static str, field: &str, detail: impl Into<String>) -> Self {
        Self::Invalid {
            kind,
            field: Some(field.to_owned()),
            detail: detail.into(),
        }
    }

    pub(crate) fn parts(&self) -> (StatusCode, &'static str, &'static str, Option<String>) {
        use StatusCode as S;
        match self {
            Self::InvalidToken(_) => (S::UNAUTHORIZED, "invalid-token", "Invalid token", None),
            Self::InsufficientScope(_) => (
                S::FORBIDDEN,
                "insufficient-scope",
                "Insufficient scope",
                None,
            ),
            Self::Invalid { kind, field, .. } => (
                S::UNPROCESSABLE_ENTITY,
                kind,
                "Invalid request",
                field.clone(),
            ),
            Self::MalformedJson { field, .. } => (
                S::BAD_REQUEST,
                "malformed-json",
                "Malformed JSON",
                field.clone(),
            ),
            Self::UnsupportedMediaType => (
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                None,
            ),
            Self::PayloadTooLarge => (
                S::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
                None,
            ),
            Self::NotFound(_) => (S::NOT_FOUND, "not-found", "Not found", None),
            Self::Conflict(_) => (S::CONFLICT, "conflict", "Conflict", None),
            Self::MethodNotAllowed => (
                S::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                None,
            ),
            Self::IdempotencyMismatch => (
                S::UNPROCESSABLE_ENTITY,
                "idempotency-key-mismatch",
                "Idempotency key reused",
                Some("Idempotency-Key".into()),
            ),
            Self::IdempotencyInProgress => (
                S::CONFLICT,
                "idempotency-in-progress",
                "Request in progress",
                Some("Idempotency-Key".into()),
            ),
            Self::TooManyCalls { .. } => (
                S::TOO_MANY_REQUESTS,
                "too-many-calls",
                "Too many live calls",
                None,
            ),
            Self::RateLimited { .. } => {
                (S::TOO_MANY_REQUESTS, "rate-limited", "Rate limited", None)
            }
            Self::Draining => (S::SERVICE_UNAVAILABLE, "draining", "Draining", None),
            Self::AtCapacity(_) => (S::SERVICE_UNAVAILABLE, "at-capacity", "At capacity", None),
            Self::NotListening(_) => (
                S::SERVICE_UNAVAILABLE,
                "not-listening",
                "Not receiving Asterisk's events",
                None,
            ),
            Self::NotAllowed(_) => (S::FORBIDDEN, "not-allowed", "Not allowed", None),
            Self::Unavailable(_) => (S::BAD_GATEWAY, "unavailable", "Telephony unavailable", None),
            Self::HistoryUnavailable => (
                S::SERVICE_UNAVAILABLE,
                "history-unavailable",
                "Call history unavailable",
                None,
            ),
            Self::Unreachable(_) => (
                S::SERVICE_UNAVAILABLE,
                "owner-unreachable",
                "The instance that can answer is unreachable",
                None,
            ),
            // Only for the log: the response is the other instance's own.
            Self::Relayed(a) => (a.status, "relayed", "Answered by another instance", None),
        }
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let (status, slug, title, field) = self.parts();
        Problem {
            kind: format!("{TYPE_BASE}{slug}"),
            title: title.into(),
            status: status.as_u16(),
            detail: self.to_string(),
            field,
        }
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        match e {
            ControlError::NotFound => Self::NotFound("no such call".into()),
            ControlError::Conflict(m) => Self::Conflict(m),
            ControlError::Draining => Self::Draining,
            ControlError::AtCapacity(m) => Self::AtCapacity(m),
            ControlError::NotListening(m) => Self::NotListening(m),
            ControlError::NotAllowed(m) => Self::NotAllowed(m),
            ControlError::Invalid(m) => Self::Invalid {
                kind: "invalid-request",
                field: None,
                detail: m,
            },
            ControlError::Unavailable(cause) => Self::Unavailable(cause.to_string()),
        }
    }
}
