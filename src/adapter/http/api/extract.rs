//! Extractors whose rejections are problem documents: a JSON body (content
//! type, size, shape, field at fault), the call id in the path, the list query.

use super::{dto::ListQuery, problem::ApiError};
use crate::domain::CallId;
use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Path, Query, Request},
    http::{StatusCode, header, request::Parts},
};
use serde::de::DeserializeOwned;

/// A JSON body of type `T`; unknown fields, wrong types and trailing bytes
/// are rejected with the field at fault.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub(crate) T);

fn is_json(ct: &str) -> bool {
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The name in serde's "unknown field `x`, expected …" message.
fn unknown_field(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("unknown field `")?;
    Some(rest.split('`').next()?.to_owned())
}

/// The name in serde's "missing field `x`" message.
fn missing_field(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json(ct) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::MalformedJson {
                    field: None,
                    detail: "the body could not be read".into(),
                }
            }
        })?;
        parse(&bytes).map(Self)
    }
}

/// Deserializes `bytes`, mapping serde's failure to the field it names.
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(classify)?;
    // Bytes after the value (`{} {}`) are a syntax error, not a second request.
    de.end().map_err(|e| ApiError::MalformedJson {
        field: None,
        detail: format!("the body is not valid JSON: {e}"),
    })?;
    Ok(value)
}

fn classify(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.to_string();
        let detail = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
        match inner.classify() {
            // The path already ends with an unknown field's name.
            serde_json::error::Category::Data => match unknown_field(&detail) {
                Some(f) => ApiError::Invalid {
                    kind: "unknown-field",
                    field: Some(if path == "." { f } else { path }),
                    detail,
                },
                None => {
                    let name = missing_field(&detail);
                    let field = match (path.as_str(), name) {
                        (".", n) => n,
                        (p, Some(n)) => Some(format!("{p}.{n}")),
                        (p, None) => Some(p.to_owned()),
                    };
                    ApiError::Invalid {
                        kind: "invalid-field",
                        field,
                        detail,
                    }
                }
            },
            _ => ApiError::MalformedJson {
                field: None,
                detail: format!("the body is not valid JSON: {detail}"),
            },
        }
    }
}

/// The `{id}` path segment as a [`CallId`].
#[derive(Debug)]
pub(crate) struct CallIdPath(pub(crate) CallId);

impl<S: Send + Sync> FromRequestParts<S> for CallIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::invalid("invalid-call-id", "id", e.body_text()))?;
        CallId::parse(raw)
            .map(Self)
            .map_err(|e| ApiError::invalid("invalid-call-id", "id", e.to_string()))
    }
}

/// The query of `GET /v1/calls`; unknown parameters are rejected.
#[derive(Debug)]
pub(crate) struct ListParams(pub(crate) ListQuery);

impl<S: Send + Sync> FromRequestParts<S> for ListParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(q) = Query::<ListQuery>::from_request_parts(parts, state)
            .await
            .map_err(|e| {
                let text = e.body_text();
                let detail = text
                    .trim_start_matches("Failed to deserialize query string: ")
                    .to_owned();
                // axum reports `path: message`; the path is the parameter at fault.
                let field = detail
                    .split_once(": ")
                    .filter(|(p, _)| !p.is_empty() && !p.contains(' '))
                    .map(|(p, _)| p.to_owned());
                ApiError::Invalid {
                    kind: "invalid-query",
                    field,
                    detail,
                }
            })?;
        Ok(Self(q))
    }
}
