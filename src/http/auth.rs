//! Who the caller is, in the contract's order: a bearer token alone
//! decides when present; else a session cookie; else nobody.

use super::context::Context;
use super::error::Failure;
use super::state::State;
use crate::identity::Caller;
use crate::identity::verify::Rejected;
use axum::http::{HeaderMap, header};

/// Tokens longer than this are refused before any parsing; real ID and
/// access tokens are a few kilobytes.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The caller, or `None` when the request carries no credentials.
///
/// # Errors
/// A malformed `Authorization` header (400), a refused token (401), keys
/// not loaded yet (503), or too many unauthenticated requests from this
/// address (429).
pub async fn caller(
    state: &State,
    ctx: &Context,
    headers: &HeaderMap,
) -> Result<Option<Caller>, Failure> {
    let result = match bearer(headers)? {
        Some(token) => verify(state, token).await.map(Some),
        None => Ok(None),
    };
    // Everything that did not prove an identity counts against the
    // address, so guessing tokens is as limited as anonymous traffic.
    if matches!(result, Ok(None) | Err(Failure::InvalidToken(_))) {
        state
            .limits
            .unauthenticated(ctx.client_addr)
            .map_err(Failure::RateLimited)?;
    }
    result
}

async fn verify(state: &State, token: &str) -> Result<Caller, Failure> {
    match state.provider.verify_bearer(token).await {
        Ok(caller) => Ok(caller),
        Err(Rejected::NoKeys) => Err(Failure::NotReady),
        Err(rejected) => {
            tracing::info!(reason = %rejected, "bearer token refused");
            Err(Failure::InvalidToken(rejected))
        }
    }
}

/// The token of an `Authorization: Bearer` header (RFC 6750 §2.1).
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, Failure> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(malformed)?;
    let token = token.trim();
    let token68 = |c: char| c.is_ascii_alphanumeric() || "-._~+/=".contains(c);
    if !scheme.eq_ignore_ascii_case("bearer")
        || token.is_empty()
        || token.len() > MAX_TOKEN_BYTES
        || !token.chars().all(token68)
    {
        return Err(malformed());
    }
    Ok(Some(token))
}

fn malformed() -> Failure {
    Failure::InvalidRequest("The Authorization header must be \"Bearer <token>\".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn bearer_header_shapes() {
        assert_eq!(bearer(&HeaderMap::new()).unwrap(), None);
        assert_eq!(bearer(&with("Bearer a.b.c")).unwrap(), Some("a.b.c"));
        assert_eq!(bearer(&with("bearer a.b.c")).unwrap(), Some("a.b.c"));
        for bad in [
            "Basic dXNlcjpwYXNz",
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a<b",
        ] {
            assert!(
                matches!(bearer(&with(bad)), Err(Failure::InvalidRequest(_))),
                "{bad}"
            );
        }
    }
}
