//! The edge's one error type. Every known cause maps to a status, a fixed
//! `error` code and a short message for the client; the detail for the
//! operator travels in a response extension and is logged once, by the
//! `context` middleware, which also renders the HTML page for browsers.

use crate::access::Denial;
use crate::identity::verify::Rejected;
use crate::login::{Refusal, token};
use crate::studio::{MintError, Missing};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::time::Duration;

/// A target as portals and the chooser show it.
#[derive(Debug, Clone, Serialize)]
pub struct TargetView {
    pub domain: String,
    pub space: Option<String>,
    pub profile: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    #[error("request body too large")]
    BodyTooLarge,
    #[error("unsupported content type")]
    UnsupportedMediaType,
    #[error("request headers too large")]
    HeadersTooLarge,
    #[error("no credentials")]
    MissingToken,
    #[error("token refused: {0}")]
    InvalidToken(Rejected),
    #[error("no signing keys loaded yet")]
    NotReady,
    #[error("denied: {}", .0.reason())]
    Denied(Denial, Option<String>),
    #[error("several targets")]
    Ambiguous(Vec<TargetView>),
    #[error("rate limited")]
    RateLimited(Duration),
    #[error(transparent)]
    Mint(#[from] MintError),
    #[error("no such route")]
    NotFound,
    #[error("sign-in is unavailable: the provider is not discovered yet")]
    SignInUnavailable,
    #[error("sign-in refused: {0}")]
    SignIn(Refusal),
}

/// What the `context` middleware needs to log the failure and render it
/// as a page.
#[derive(Debug, Clone)]
pub struct FailureView {
    pub status: StatusCode,
    pub message: String,
    /// For the operator's log; never a token or a URL.
    pub detail: String,
    /// The signed-in identity, shown on denial pages.
    pub identity: Option<String>,
    /// Offer a link that starts over.
    pub try_again: bool,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    targets: &'a [TargetView],
}

impl Failure {
    fn status_code(&self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            Self::InvalidRequest(_) => (S::BAD_REQUEST, "invalid_request"),
            Self::BodyTooLarge => (S::PAYLOAD_TOO_LARGE, "invalid_request"),
            Self::UnsupportedMediaType => (S::UNSUPPORTED_MEDIA_TYPE, "invalid_request"),
            Self::HeadersTooLarge => (S::REQUEST_HEADER_FIELDS_TOO_LARGE, "invalid_request"),
            Self::MissingToken | Self::InvalidToken(Rejected::NoKeys) => {
                (S::UNAUTHORIZED, "invalid_token")
            }
            Self::InvalidToken(_) => (S::UNAUTHORIZED, "invalid_token"),
            Self::NotFound => (S::NOT_FOUND, "not_found"),
            Self::SignInUnavailable => (S::SERVICE_UNAVAILABLE, "not_ready"),
            Self::SignIn(refusal) => sign_in_status(refusal),
            Self::NotReady => (S::SERVICE_UNAVAILABLE, "not_ready"),
            Self::Denied(Denial::UnknownDomain, _) => (S::NOT_FOUND, "unknown_domain"),
            Self::Denied(..) => (S::FORBIDDEN, "not_granted"),
            Self::Ambiguous(_) => (S::CONFLICT, "ambiguous_target"),
            Self::RateLimited(_) => (S::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Mint(e) => mint_status(e),
        }
    }

    fn message(&self) -> String {
        match self {
            Self::InvalidRequest(why) => (*why).to_owned(),
            Self::BodyTooLarge => "The request body is too large.".into(),
            Self::UnsupportedMediaType => "A request body must be sent as application/json.".into(),
            Self::HeadersTooLarge => "The request headers are too large.".into(),
            Self::MissingToken => "A bearer token is required.".into(),
            Self::InvalidToken(_) => "The bearer token is not valid.".into(),
            Self::NotReady => "The broker is starting and cannot verify sign-ins yet; \
                 try again shortly."
                .into(),
            Self::Denied(denial, _) => denial_message(*denial).into(),
            Self::NotFound => "There is nothing here.".into(),
            Self::SignInUnavailable => {
                "Sign-in is unavailable right now; try again in a minute.".into()
            }
            Self::SignIn(refusal) => sign_in_message(refusal),
            Self::Ambiguous(_) => "Several targets are granted; name a domain (and space).".into(),
            Self::RateLimited(wait) => format!(
                "Too many requests; try again in {} seconds.",
                retry_after(*wait)
            ),
            Self::Mint(e) => mint_message(e).into(),
        }
    }

    fn identity(&self) -> Option<String> {
        match self {
            Self::Denied(_, identity) => identity.clone(),
            _ => None,
        }
    }
}

fn denial_message(denial: Denial) -> &'static str {
    match denial {
        Denial::NotInTable => "No SageMaker Studio profile is assigned to you.",
        Denial::DomainNotGranted => {
            "No SageMaker Studio profile in this domain is assigned to you."
        }
        Denial::SpaceNotGranted => "This space is not assigned to you.",
        Denial::UnknownDomain => "There is no such domain.",
        Denial::EmailUnverified => "Your identity provider has not verified your email address.",
        Denial::GroupNotAllowed => "You are not in a group that may open SageMaker Studio.",
        Denial::GroupsUnknown => {
            "Your identity provider did not send your group membership, \
             so access cannot be granted; ask an administrator."
        }
    }
}

fn sign_in_status(refusal: &Refusal) -> (StatusCode, &'static str) {
    use StatusCode as S;
    match refusal {
        Refusal::NotReady
        | Refusal::Redeem(token::Error::Unavailable(_))
        | Refusal::UserInfo(token::Error::Unavailable(_)) => (S::SERVICE_UNAVAILABLE, "not_ready"),
        _ => (S::BAD_REQUEST, "invalid_request"),
    }
}

fn sign_in_message(refusal: &Refusal) -> String {
    match refusal {
        Refusal::ProviderError(code) => {
            format!("Your identity provider did not sign you in ({code}).")
        }
        Refusal::NoLogin => "This sign-in has expired or was already used.".into(),
        Refusal::NotReady
        | Refusal::Redeem(token::Error::Unavailable(_))
        | Refusal::UserInfo(token::Error::Unavailable(_)) => {
            "Your identity provider is unavailable right now; try again in a minute.".into()
        }
        _ => "Sign-in could not be completed.".into(),
    }
}

fn mint_status(e: &MintError) -> (StatusCode, &'static str) {
    use StatusCode as S;
    match e {
        MintError::NotFound(..) => (S::FORBIDDEN, "not_granted"),
        MintError::Refused { .. } | MintError::Failed(_) => (S::BAD_GATEWAY, "upstream_error"),
        MintError::UnknownDomain(_) => (S::NOT_FOUND, "unknown_domain"),
        MintError::Throttled => (S::SERVICE_UNAVAILABLE, "upstream_throttled"),
        MintError::Timeout => (S::GATEWAY_TIMEOUT, "upstream_timeout"),
    }
}

fn mint_message(e: &MintError) -> &'static str {
    match e {
        MintError::NotFound(Missing::Profile, _) => {
            "Your SageMaker Studio user profile does not exist; \
             ask an administrator to create it."
        }
        MintError::NotFound(Missing::Space, _) => {
            "This SageMaker Studio space does not exist; \
             ask an administrator to create it."
        }
        MintError::Refused { .. } | MintError::Failed(_) => {
            "SageMaker refused the request; an administrator has been told."
        }
        MintError::UnknownDomain(_) => "There is no such domain.",
        MintError::Throttled => "SageMaker is busy; try again in a few seconds.",
        MintError::Timeout => "SageMaker did not answer in time; try again.",
    }
}

/// Seconds for `Retry-After`, rounded up and never 0.
pub fn retry_after(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

/// How long a throttled caller should wait before trying again.
const THROTTLED_RETRY: Duration = Duration::from_secs(5);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, code) = self.status_code();
        let message = self.message();
        let targets = match &self {
            Self::Ambiguous(targets) => targets.clone(),
            _ => Vec::new(),
        };
        let body = Body {
            error: code,
            message: &message,
            targets: &targets,
        };
        let mut response = (status, Json(&body)).into_response();
        let headers = response.headers_mut();
        match &self {
            Self::MissingToken => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"studio-broker\""),
                );
            }
            Self::InvalidToken(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        "Bearer realm=\"studio-broker\", error=\"invalid_token\"",
                    ),
                );
            }
            Self::RateLimited(wait) => {
                headers.insert(header::RETRY_AFTER, retry_after(*wait).into());
            }
            Self::Mint(MintError::Throttled) | Self::NotReady => {
                headers.insert(header::RETRY_AFTER, retry_after(THROTTLED_RETRY).into());
            }
            _ => {}
        }
        response.extensions_mut().insert(FailureView {
            status,
            message,
            detail: self.to_string(),
            identity: self.identity(),
            try_again: matches!(self, Self::SignIn(_) | Self::SignInUnavailable),
        });
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        assert_eq!(retry_after(Duration::ZERO), 1);
        assert_eq!(retry_after(Duration::from_millis(1)), 1);
        assert_eq!(retry_after(Duration::from_millis(5999)), 6);
        assert_eq!(retry_after(Duration::from_secs(6)), 6);
    }
}
