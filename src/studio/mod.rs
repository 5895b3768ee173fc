//! Minting presigned Studio URLs through `aws-sdk-sagemaker`: one client
//! per configured domain, built once at start, a bound on calls in flight,
//! and the failure kinds the HTTP edge answers with. With
//! `studio.source_identity`, each call is signed with the person's own
//! session of the minting role (`minting`).
//!
//! See [CreatePresignedDomainUrl] for the request's fields and ranges.
//!
//! [CreatePresignedDomainUrl]:
//!     https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreatePresignedDomainUrl.html

mod clients;
pub mod inventory;
mod minting;
mod sessions;
pub mod source;

use aws_sdk_sagemaker::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sagemaker::operation::create_presigned_domain_url::CreatePresignedDomainUrlError as ApiError;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::Semaphore;

pub use clients::{build_clients, load_shared};
pub use minting::Minting;

/// One SageMaker domain and the client that reaches it.
pub struct Domain {
    pub alias: String,
    pub id: String,
    pub region: String,
    pub account_id: String,
    pub client: aws_sdk_sagemaker::Client,
    /// The minting role, shared by every domain, when mints carry the
    /// person's identity.
    pub minting: Option<Arc<Minting>>,
}

impl Domain {
    /// `arn:aws:sagemaker:REGION:ACCOUNT:user-profile/DOMAIN/PROFILE`
    pub fn profile_arn(&self, profile: &str) -> String {
        format!(
            "arn:aws:sagemaker:{}:{}:user-profile/{}/{profile}",
            self.region, self.account_id, self.id
        )
    }
}

/// What to open: a row of the table, resolved to its domain.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub domain: &'a str,
    pub profile: &'a str,
    pub space: Option<&'a str>,
    pub landing_uri: Option<&'a str>,
    pub session_seconds: Option<u32>,
}

/// A presigned URL. It opens a person's Studio to whoever holds it, so
/// it is never logged: `Debug` hides it.
pub struct Presigned {
    pub url: String,
    pub expires_at: SystemTime,
}

impl fmt::Debug for Presigned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Presigned")
            .field("url", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Which part of a target SageMaker does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Profile,
    Space,
}

/// Why no URL was minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error("SageMaker has no such {0:?} ({arn})", arn = .1)]
    NotFound(Missing, String),
    /// Validation or access denied: the configuration is wrong, not the
    /// caller. `operation` is the call refused and `arn` what it was for
    /// (the profile, or the minting role).
    #[error("{operation} refused for {arn}: {code}: {message}")]
    Refused {
        operation: &'static str,
        arn: String,
        code: String,
        message: String,
    },
    #[error("AWS throttled the call after retries")]
    Throttled,
    #[error("AWS did not answer within studio.timeout_seconds")]
    Timeout,
    #[error("AWS call failed: {0}")]
    Failed(String),
    #[error("domain {0} is not configured")]
    UnknownDomain(String),
}

impl MintError {
    /// The `kind` label of `studio_broker_sagemaker_errors_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFound(..) => "not_found",
            Self::Refused { .. } => "refused",
            Self::Throttled => "throttled",
            Self::Timeout => "timeout",
            Self::Failed(_) => "failed",
            Self::UnknownDomain(_) => "unknown_domain",
        }
    }
}

/// Every configured domain's client, and the shared settings of a mint.
pub struct Studio {
    domains: HashMap<String, Domain>,
    expires_in_seconds: i32,
    session_seconds: i32,
    timeout: Duration,
    in_flight: Semaphore,
}

impl Studio {
    pub fn new(domains: Vec<Domain>, config: &crate::config::Studio) -> Self {
        Self {
            domains: domains.into_iter().map(|d| (d.alias.clone(), d)).collect(),
            expires_in_seconds: config.expires_in_seconds,
            session_seconds: config.session_seconds,
            timeout: config.timeout,
            in_flight: Semaphore::new(config.max_concurrent_calls),
        }
    }

    pub fn domain(&self, alias: &str) -> Option<&Domain> {
        self.domains.get(alias)
    }

    pub fn domains(&self) -> impl Iterator<Item = &Domain> {
        self.domains.values()
    }

    /// Asks SageMaker for a presigned URL to `target`, on behalf of
    /// `identity` (the caller's table identity, which names the session
    /// with `studio.source_identity`).
    ///
    /// The whole call, waiting for a free slot, assuming the minting role
    /// and the SDK's retries included, is bounded by
    /// `studio.timeout_seconds`.
    ///
    /// # Errors
    /// See [`MintError`].
    pub async fn mint(&self, target: &Target<'_>, identity: &str) -> Result<Presigned, MintError> {
        let domain = self
            .domain(target.domain)
            .ok_or_else(|| MintError::UnknownDomain(target.domain.to_owned()))?;
        let started = Instant::now();
        let call = self.call(domain, target, identity);
        let result = match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(MintError::Timeout),
        };
        metrics::histogram!("studio_broker_sagemaker_call_seconds")
            .record(started.elapsed().as_secs_f64());
        if let Err(e) = &result {
            metrics::counter!("studio_broker_sagemaker_errors_total", "kind" => e.kind())
                .increment(1);
        }
        result
    }

    async fn call(
        &self,
        domain: &Domain,
        target: &Target<'_>,
        identity: &str,
    ) -> Result<Presigned, MintError> {
        let _slot = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| MintError::Failed("shutting down".into()))?;
        let session = target
            .session_seconds
            .and_then(|s| i32::try_from(s).ok())
            .unwrap_or(self.session_seconds);
        let request = domain
            .client
            .create_presigned_domain_url()
            .domain_id(&domain.id)
            .user_profile_name(target.profile)
            .expires_in_seconds(self.expires_in_seconds)
            .session_expiration_duration_in_seconds(session)
            .set_space_name(target.space.map(str::to_owned))
            .set_landing_uri(target.landing_uri.map(str::to_owned));
        // The person's session signs through a per-call override, so no
        // client is built per person or per request.
        let issued = SystemTime::now();
        let sent = match &domain.minting {
            Some(minting) => {
                let config = minting.config_for(identity).await?;
                request.customize().config_override(config).send().await
            }
            None => request.send().await,
        };
        let output = sent.map_err(|e| classify(e, domain, target))?;
        let url = output
            .authorized_url
            .ok_or_else(|| MintError::Failed("the answer holds no URL".into()))?;
        let lifetime = u64::try_from(self.expires_in_seconds).unwrap_or(0);
        Ok(Presigned {
            url,
            expires_at: issued + Duration::from_secs(lifetime),
        })
    }
}

/// Sorts an SDK failure into the kinds the edge answers differently.
fn classify(error: SdkError<ApiError>, domain: &Domain, target: &Target<'_>) -> MintError {
    let arn = domain.profile_arn(target.profile);
    match error {
        SdkError::TimeoutError(_) => MintError::Timeout,
        SdkError::ServiceError(e) => {
            let e = e.into_err();
            let code = e.code().unwrap_or("Unknown").to_owned();
            let message = e.message().unwrap_or("").to_owned();
            service_error(e.is_resource_not_found(), code, message, arn, target)
        }
        other => MintError::Failed(
            aws_smithy_types::error::display::DisplayErrorContext(other).to_string(),
        ),
    }
}

fn service_error(
    not_found: bool,
    code: String,
    message: String,
    arn: String,
    target: &Target<'_>,
) -> MintError {
    if not_found {
        // SageMaker's message names what it could not find; a space row
        // whose message speaks of a space lacks the space, else the
        // profile is gone.
        let space = target.space.is_some() && message.to_ascii_lowercase().contains("space");
        let missing = if space {
            Missing::Space
        } else {
            Missing::Profile
        };
        return MintError::NotFound(missing, arn);
    }
    match code.as_str() {
        "ThrottlingException" | "Throttling" | "TooManyRequestsException" => MintError::Throttled,
        "ValidationException"
        | "AccessDeniedException"
        | "AccessDenied"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "ResourceLimitExceeded" => MintError::Refused {
            operation: "SageMaker CreatePresignedDomainUrl",
            arn,
            code,
            message,
        },
        _ => MintError::Failed(format!("{code}: {message}")),
    }
}
