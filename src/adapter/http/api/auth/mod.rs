//! Bearer-token authentication: who is calling (tenant) and what they may do
//! (scopes). HS256 with the shared secret, RS256/ES256 with keys from a JWKS
//! URL; every other algorithm, `alg: none` included, is refused.

mod claims;
mod jwks;

pub(crate) use jwks::JwksCache;
#[cfg(test)]
pub(crate) use jwks::MIN_REFETCH;

use super::{ApiState, Clock, config::AuthConfig, problem::ApiError};
use crate::domain::TenantId;
use axum::{extract::FromRequestParts, http::header, http::request::Parts};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, errors::ErrorKind};
use std::sync::Arc;

/// Scope for reading calls.
pub(crate) const READ: &str = "calls:read";
/// Scope for placing and controlling calls.
pub(crate) const WRITE: &str = "calls:write";

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Principal {
    pub(crate) tenant: TenantId,
    pub(crate) scopes: Vec<String>,
}

/// Verifies tokens against the configured keys.
pub(crate) struct Authenticator {
    cfg: AuthConfig,
    hmac: Option<DecodingKey>,
    jwks: Option<JwksCache>,
    clock: Clock,
}

fn bad(detail: impl Into<String>) -> ApiError {
    ApiError::InvalidToken(detail.into())
}

impl Authenticator {
    /// `jwks` is built by the caller so tests can point it anywhere.
    pub(crate) fn new(cfg: AuthConfig, jwks: Option<JwksCache>, clock: Clock) -> Self {
        let hmac = cfg
            .jwt_secret
            .as_deref()
            .map(|s| DecodingKey::from_secret(s.as_bytes()));
        Self {
            cfg,
            hmac,
            jwks,
            clock,
        }
    }

    /// Checks signature, algorithm, `exp`, `nbf`, `iss`, `aud`, tenant and scopes.
    pub(crate) async fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        // `alg: none` (and any name jsonwebtoken does not know) fails here.
        let header = decode_header(token).map_err(|_| bad("the token is not a well-formed JWT"))?;
        // The key is chosen by the algorithm class the server allows, never by
        // what the token claims alone: an HS256 token is checked only against
        // the shared secret, so a public key cannot be used as an HMAC secret.
        let key = match header.alg {
            Algorithm::HS256 => self
                .hmac
                .clone()
                .ok_or_else(|| bad("HS256 tokens are not accepted"))?,
            Algorithm::RS256 | Algorithm::ES256 => {
                let jwks = self
                    .jwks
                    .as_ref()
                    .ok_or_else(|| bad(format!("{:?} tokens are not accepted", header.alg)))?;
                let kid = header
                    .kid
                    .as_deref()
                    .ok_or_else(|| bad("the token names no key (kid)"))?;
                jwks.key_for(kid, header.alg).await?
            }
            other => return Err(bad(format!("{other:?} tokens are not accepted"))),
        };
        let mut v = Validation::new(header.alg);
        // exp/nbf are checked in `claims` against the injected clock.
        v.validate_exp = false;
        v.validate_nbf = false;
        v.required_spec_claims.clear();
        v.leeway = 0;
        // A configured iss/aud is required, not only compared when present.
        if let Some(iss) = &self.cfg.issuer {
            v.set_issuer(&[iss]);
            v.required_spec_claims.insert("iss".into());
        }
        match &self.cfg.audience {
            Some(aud) => {
                v.set_audience(&[aud]);
                v.required_spec_claims.insert("aud".into());
            }
            None => v.validate_aud = false,
        }
        let data =
            decode::<serde_json::Map<String, serde_json::Value>>(token, &key, &v).map_err(|e| {
                bad(match e.kind() {
                    ErrorKind::InvalidSignature => "the token's signature does not verify",
                    ErrorKind::InvalidIssuer => "the token's issuer is not accepted",
                    ErrorKind::InvalidAudience => "the token's audience is not accepted",
                    ErrorKind::MissingRequiredClaim(c) if c == "iss" => "the token has no issuer",
                    ErrorKind::MissingRequiredClaim(c) if c == "aud" => "the token has no audience",
                    ErrorKind::InvalidAlgorithm => "the token's algorithm does not match its key",
                    _ => "the token could not be verified",
                })
            })?;
        claims::check(&data.claims, &self.cfg, (self.clock)())
    }
}

/// The caller of a request with an `Authorization: Bearer` header, verified.
pub(crate) async fn bearer(
    headers: &axum::http::HeaderMap,
    auth: &Authenticator,
) -> Result<Principal, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| bad("no bearer token"))?
        .to_str()
        .map_err(|_| bad("the Authorization header is not text"))?;
    let token = match value.split_once(' ') {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => {
            t.trim()
        }
        _ => return Err(bad("the Authorization header is not `Bearer <token>`")),
    };
    auth.verify(token).await
}

async fn principal(
    parts: &Parts,
    state: &Arc<ApiState>,
    scope: &'static str,
) -> Result<Principal, ApiError> {
    let p = bearer(&parts.headers, &state.auth).await?;
    if !p.scopes.iter().any(|s| s == scope) {
        return Err(ApiError::InsufficientScope(scope));
    }
    Ok(p)
}

/// A caller holding `calls:read`.
#[derive(Debug)]
pub(crate) struct Reader(pub(crate) Principal);

/// A caller holding `calls:write`.
#[derive(Debug)]
pub(crate) struct Writer(pub(crate) Principal);

impl FromRequestParts<Arc<ApiState>> for Reader {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, s: &Arc<ApiState>) -> Result<Self, ApiError> {
        principal(parts, s, READ).await.map(Self)
    }
}

impl FromRequestParts<Arc<ApiState>> for Writer {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, s: &Arc<ApiState>) -> Result<Self, ApiError> {
        principal(parts, s, WRITE).await.map(Self)
    }
}
