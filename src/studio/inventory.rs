//! What SageMaker holds for one domain: its auth mode, its user profiles
//! and its spaces, read for `check --remote` to compare with the table.
//!
//! Each call goes through the domain's own client, so it is signed,
//! routed and bounded (`studio.timeout_seconds`, retries included) exactly
//! as a mint would be. See [DescribeDomain], [ListUserProfiles] and
//! [ListSpaces].
//!
//! [DescribeDomain]:
//!     https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeDomain.html
//! [ListUserProfiles]:
//!     https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ListUserProfiles.html
//! [ListSpaces]:
//!     https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ListSpaces.html

use super::Domain;
use aws_sdk_sagemaker::error::{ProvideErrorMetadata, SdkError};
use std::time::Duration;

/// The largest page `ListUserProfiles` and `ListSpaces` accept; fewer
/// pages means fewer calls, each under its own timeout.
const PAGE_SIZE: i32 = 100;

/// One domain as SageMaker describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    /// `AuthMode` (`IAM`, `SSO`, or a newer mode), when SageMaker says.
    pub auth_mode: Option<String>,
    /// User profile names as SageMaker spells them, sorted.
    pub profiles: Vec<String>,
    /// Spaces, sorted by name.
    pub spaces: Vec<Space>,
}

/// One space of a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Space {
    /// `SpaceName`, as SageMaker spells it.
    pub name: String,
    /// The profile that owns a private space, when SageMaker says.
    pub owner: Option<String>,
}

/// Why a domain could not be read: which call failed, and the reason.
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {reason}")]
pub struct FetchError {
    /// The SageMaker operation that failed, e.g. `DescribeDomain`.
    pub operation: &'static str,
    pub reason: Reason,
}

/// The reason a SageMaker call failed, worded for an operator. Service
/// messages are kept; they name resources, never credentials.
#[derive(Debug, thiserror::Error)]
pub enum Reason {
    #[error("access denied ({code}): {message}")]
    AccessDenied { code: String, message: String },
    #[error("credentials rejected ({code}): {message}")]
    Credentials { code: String, message: String },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("throttled, even after retries")]
    Throttled,
    #[error("no answer within {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    #[error("refused ({code}): {message}")]
    Refused { code: String, message: String },
    /// No answer at all: no credentials, no connection, a bad reply; the
    /// text is the chain of causes.
    #[error("{0}")]
    Failed(String),
}

/// Reads the auth mode, every user profile and every space of `domain`.
///
/// `timeout` is the bound the domain's client already applies to each
/// call (`studio.timeout_seconds`); it is only used to word a timeout.
///
/// # Errors
/// The first call that failed, with the reason.
pub async fn fetch(domain: &Domain, timeout: Duration) -> Result<Inventory, FetchError> {
    // DescribeDomain first: the list calls answer an empty list, not an
    // error, for a domain that does not exist.
    let auth_mode = describe(domain, timeout).await?;
    let profiles = profiles(domain, timeout);
    let spaces = spaces(domain, timeout);
    let (profiles, spaces) = tokio::join!(profiles, spaces);
    Ok(Inventory {
        auth_mode,
        profiles: profiles?,
        spaces: spaces?,
    })
}

async fn describe(domain: &Domain, timeout: Duration) -> Result<Option<String>, FetchError> {
    let output = domain
        .client
        .describe_domain()
        .domain_id(&domain.id)
        .send()
        .await
        .map_err(|e| failed("DescribeDomain", e, timeout))?;
    Ok(output.auth_mode().map(|mode| mode.as_str().to_owned()))
}

async fn profiles(domain: &Domain, timeout: Duration) -> Result<Vec<String>, FetchError> {
    let mut items = domain
        .client
        .list_user_profiles()
        .domain_id_equals(&domain.id)
        .into_paginator()
        .page_size(PAGE_SIZE)
        .items()
        .send();

    let mut names = Vec::new();
    while let Some(item) = items.next().await {
        let item = item.map_err(|e| failed("ListUserProfiles", e, timeout))?;
        names.extend(item.user_profile_name().map(str::to_owned));
    }
    names.sort_unstable();
    Ok(names)
}

async fn spaces(domain: &Domain, timeout: Duration) -> Result<Vec<Space>, FetchError> {
    let mut items = domain
        .client
        .list_spaces()
        .domain_id_equals(&domain.id)
        .into_paginator()
        .page_size(PAGE_SIZE)
        .items()
        .send();

    let mut spaces = Vec::new();
    while let Some(item) = items.next().await {
        let item = item.map_err(|e| failed("ListSpaces", e, timeout))?;
        let Some(name) = item.space_name() else {
            continue;
        };
        let owner = item.ownership_settings_summary();
        let owner = owner.and_then(|o| o.owner_user_profile_name());
        spaces.push(Space {
            name: name.to_owned(),
            owner: owner.map(str::to_owned),
        });
    }
    spaces.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    Ok(spaces)
}

/// Sorts an SDK failure into a [`Reason`].
fn failed<E, R>(operation: &'static str, error: SdkError<E, R>, timeout: Duration) -> FetchError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let reason = match &error {
        SdkError::TimeoutError(_) => Reason::Timeout(timeout),
        SdkError::DispatchFailure(f) if f.is_timeout() => Reason::Timeout(timeout),
        SdkError::ServiceError(_) => by_code(
            error.code().unwrap_or("Unknown"),
            error.message().unwrap_or(""),
        ),
        _ => Reason::Failed(causes(&error)),
    };
    FetchError { operation, reason }
}

/// `dispatch failure: ...: no providers in chain provided credentials`:
/// each cause once, without the debug dump `DisplayErrorContext` adds.
fn causes(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(cause) = next {
        let text = cause.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        next = cause.source();
    }
    parts.join(": ")
}

fn by_code(code: &str, message: &str) -> Reason {
    let (code, message) = (code.to_owned(), message.to_owned());
    match code.as_str() {
        "AccessDeniedException" | "AccessDenied" => Reason::AccessDenied { code, message },
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "IncompleteSignatureException"
        | "MissingAuthenticationTokenException"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "ExpiredTokenException" => Reason::Credentials { code, message },
        "ResourceNotFound" | "ResourceNotFoundException" => Reason::NotFound(message),
        "ThrottlingException" | "Throttling" | "TooManyRequestsException" => Reason::Throttled,
        _ => Reason::Refused { code, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_codes_read_as_reasons() {
        let cases = [
            (
                "AccessDeniedException",
                "no",
                "access denied (AccessDeniedException): no",
            ),
            (
                "InvalidSignatureException",
                "bad signature",
                "credentials rejected (InvalidSignatureException): bad signature",
            ),
            (
                "ResourceNotFound",
                "Domain d-x does not exist",
                "not found: Domain d-x does not exist",
            ),
            (
                "ThrottlingException",
                "Rate exceeded",
                "throttled, even after retries",
            ),
            (
                "ValidationException",
                "bad id",
                "refused (ValidationException): bad id",
            ),
        ];
        for (code, message, expected) in cases {
            assert_eq!(by_code(code, message).to_string(), expected, "{code}");
        }
    }

    #[test]
    fn a_timeout_names_the_bound() {
        let reason = Reason::Timeout(Duration::from_secs(10));
        assert_eq!(reason.to_string(), "no answer within 10s");
    }
}
