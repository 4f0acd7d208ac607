//! How an [`ApiError`] goes on the wire: problem+json body, plus the
//! `WWW-Authenticate` (RFC 6750) and `Retry-After` headers it calls for.

use super::problem::ApiError;
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Relayed(answer) = self {
            return answer.into_response();
        }
        let problem = self.problem();
        if let Self::Unavailable(cause) = &self {
            // The cause stays in the log: it may name internal hosts.
            tracing::warn!(%cause, "call API: telephony unavailable");
        }
        let mut res = (
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            serde_json::to_string(&problem).unwrap_or_default(),
        )
            .into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            Self::InvalidToken(d) => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    bearer_challenge("invalid_token", d),
                );
            }
            Self::InsufficientScope(s) => {
                let d = format!("this operation needs the {s} scope");
                let mut v = bearer_challenge("insufficient_scope", &d);
                if let Ok(with_scope) =
                    HeaderValue::from_str(&format!("{}, scope=\"{s}\"", v.to_str().unwrap_or("")))
                {
                    v = with_scope;
                }
                h.insert(header::WWW_AUTHENTICATE, v);
            }
            Self::TooManyCalls { retry_after, .. } | Self::RateLimited { retry_after } => {
                h.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            Self::AtCapacity(_) => {
                h.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(super::problem::CAPACITY_RETRY_AFTER),
                );
            }
            _ => {}
        }
        res
    }
}

/// `Bearer error="…", error_description="…"` (RFC 6750 §3) with the
/// description reduced to characters a quoted-string may hold.
fn bearer_challenge(error: &str, description: &str) -> HeaderValue {
    let clean: String = description
        .chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            c if c.is_ascii_graphic() || c == ' ' => c,
            _ => '?',
        })
        .collect();
    HeaderValue::from_str(&format!(
        "Bearer error=\"{error}\", error_description=\"{clean}\""
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("Bearer error=\"invalid_token\""))
}
