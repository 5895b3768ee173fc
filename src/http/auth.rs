//! Who the caller is, in the contract's order: a bearer token alone
//! decides when present; else a session cookie; else nobody.

use super::context::Context;
use super::error::Failure;
use super::state::State;
use crate::identity::Caller;
use crate::identity::verify::Rejected;
use crate::login::{self, SessionState};
use axum::http::{HeaderMap, header};

/// Tokens longer than this are refused before any parsing; real ID and
/// access tokens are a few kilobytes.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Who the credentials of a request name, and the cookies to send back
/// (a session re-sealed under the current key, or a bad one cleared).
pub struct Credentials {
    pub caller: Option<Caller>,
    pub cookies: Vec<String>,
    /// The request's cookies, for starting a sign-in.
    pub jar: Vec<(String, String)>,
}

/// The caller, or `None` when the request carries no usable credentials.
///
/// # Errors
/// A malformed `Authorization` header (400), a refused token (401), keys
/// not loaded yet (503), or too many unauthenticated requests from this
/// address (429).
pub async fn caller(
    state: &State,
    ctx: &Context,
    headers: &HeaderMap,
) -> Result<Credentials, Failure> {
    let jar = login::parse_cookies(
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    );
    let result = match bearer(headers)? {
        Some(token) => verify(state, token).await.map(|caller| Credentials {
            caller: Some(caller),
            cookies: Vec::new(),
            jar: Vec::new(),
        }),
        None => Ok(from_session(state, jar)),
    };
    // Everything that did not prove an identity counts against the
    // address, so guessing tokens is as limited as anonymous traffic.
    let anonymous = match &result {
        Ok(credentials) => credentials.caller.is_none(),
        Err(failure) => matches!(failure, Failure::InvalidToken(_)),
    };
    if anonymous {
        state
            .limits
            .unauthenticated(ctx.client_addr)
            .map_err(Failure::RateLimited)?;
    }
    result
}

/// Refuses a request whose bearer token is present and invalid; routes
/// that do not need a caller still answer 401 to a bad token.
///
/// # Errors
/// As [`caller`], for the `Authorization` header only.
pub async fn refuse_bad_bearer(state: &State, headers: &HeaderMap) -> Result<(), Failure> {
    match bearer(headers)? {
        Some(token) => verify(state, token).await.map(|_| ()),
        None => Ok(()),
    }
}

fn from_session(state: &State, jar: Vec<(String, String)>) -> Credentials {
    let issuer = &state.config.oidc.issuer;
    match state.sign_in.session(&jar, issuer) {
        SessionState::Valid { session, reissue } => Credentials {
            caller: Some(session.caller()),
            cookies: reissue.into_iter().collect(),
            jar,
        },
        SessionState::Invalid { clear } => Credentials {
            caller: None,
            cookies: vec![clear],
            jar,
        },
        SessionState::None => Credentials {
            caller: None,
            cookies: Vec::new(),
            jar,
        },
    }
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
