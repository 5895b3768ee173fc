//! Minting as the person (`studio.source_identity`): the broker assumes
//! the minting role with the person's identity as source identity and as
//! a session tag, and signs `CreatePresignedDomainUrl` with that session,
//! so that CloudTrail names the person for every URL.
//!
//! Sessions last an hour, the most role chaining allows, and are kept per
//! person until five minutes before they expire (see `sessions`). The
//! STS client is built once: in the broker's region (`AWS_REGION`, else
//! the first domain's), at `studio.sts_endpoint_url` when set.
//!
//! See [AssumeRole] and [source identity].
//!
//! [AssumeRole]: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
//! [source identity]: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html

use super::MintError;
use super::sessions::{Clock, Sessions};
use super::source;
use crate::config;
use aws_config::{Region, SdkConfig};
use aws_sdk_sagemaker::config::{Credentials, IdentityCache};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_sdk_sts::types::Tag;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The session length asked for: role chaining allows at most an hour.
const SESSION_SECONDS: i32 = 3600;

/// Sessions are renewed this long before they expire, so that none runs
/// out between signing and SageMaker's check.
const RENEW_MARGIN: Duration = Duration::from_secs(300);

/// People whose sessions are kept at once.
const MAX_PEOPLE: usize = 10_000;

/// What the STS failures are reported as.
const OPERATION: &str = "STS AssumeRole";

/// The minting role, its STS client, and the sessions kept per person.
pub struct Minting {
    sts: aws_sdk_sts::Client,
    role_arn: String,
    sessions: Sessions<Credentials>,
}

impl Minting {
    /// The minting set-up when `studio.source_identity` is on, else
    /// `None`.
    pub fn new(shared: &SdkConfig, config: &config::Config) -> Option<Minting> {
        let studio = &config.studio;
        let role_arn = studio.minting_role_arn.clone();
        let role_arn = role_arn.filter(|_| studio.source_identity)?;
        let clock: Clock = Arc::new(SystemTime::now);
        Some(Minting {
            sts: sts_client(shared, config),
            role_arn,
            sessions: Sessions::new(MAX_PEOPLE, RENEW_MARGIN, clock),
        })
    }

    /// The per-call configuration that signs with `identity`'s session.
    ///
    /// # Errors
    /// STS refused, throttled, failed or did not answer.
    pub async fn config_for(
        &self,
        identity: &str,
    ) -> Result<aws_sdk_sagemaker::config::Builder, MintError> {
        let fetch = || self.assume(identity);
        let credentials = self.sessions.get(identity, fetch).await?;
        // Without a cache of its own, each call's provider would leave an
        // entry in the client's identity cache, which is never pruned.
        Ok(aws_sdk_sagemaker::config::Builder::default()
            .credentials_provider(credentials)
            .identity_cache(IdentityCache::no_cache()))
    }

    async fn assume(&self, identity: &str) -> Result<(Credentials, SystemTime), MintError> {
        let tag = Tag::builder()
            .key(source::TAG_KEY)
            .value(source::tag_value(identity))
            .build()
            .map_err(|e| MintError::Failed(format!("{OPERATION}: {e}")))?;
        let source_identity = source::source_identity(identity);
        let output = (self.sts.assume_role())
            .role_arn(&self.role_arn)
            .role_session_name(source::session_name(identity))
            .source_identity(&source_identity)
            .duration_seconds(SESSION_SECONDS)
            .tags(tag)
            .send()
            .await
            .map_err(|e| classify(e, &self.role_arn))?;
        let issued = output.credentials.ok_or_else(|| {
            MintError::Failed(format!("{OPERATION}: the answer holds no credentials"))
        })?;
        tracing::debug!(identity, source_identity, "assumed the minting role");
        credentials(issued)
    }
}

/// The session as the SDK's credentials, with the time it expires.
fn credentials(
    issued: aws_sdk_sts::types::Credentials,
) -> Result<(Credentials, SystemTime), MintError> {
    let expires = SystemTime::try_from(issued.expiration)
        .map_err(|e| MintError::Failed(format!("{OPERATION}: expiration: {e}")))?;
    let credentials = Credentials::new(
        issued.access_key_id,
        issued.secret_access_key,
        Some(issued.session_token),
        Some(expires),
        "studio-broker-minting-role",
    );
    Ok((credentials, expires))
}

fn sts_client(shared: &SdkConfig, config: &config::Config) -> aws_sdk_sts::Client {
    let studio = &config.studio;
    let first = config
        .domains
        .first()
        .map(|d| Region::new(d.region.clone()));
    let region = shared.region().cloned().or(first);
    // As for SageMaker: one bound on all attempts, standard retries.
    let timeouts = aws_sdk_sts::config::timeout::TimeoutConfig::builder()
        .operation_timeout(studio.timeout)
        .build();
    let mut builder = aws_sdk_sts::config::Builder::from(shared)
        .region(region)
        .timeout_config(timeouts)
        .retry_config(aws_sdk_sts::config::retry::RetryConfig::standard());
    if let Some(url) = &studio.sts_endpoint_url {
        builder = builder.endpoint_url(url.as_str().trim_end_matches('/'));
    }
    aws_sdk_sts::Client::from_conf(builder.build())
}

/// Sorts an STS failure into the kinds the edge answers differently.
fn classify(error: SdkError<AssumeRoleError>, role_arn: &str) -> MintError {
    let error = match error {
        SdkError::TimeoutError(_) => return MintError::Timeout,
        SdkError::ServiceError(e) => e.into_err(),
        other => {
            let shown = aws_smithy_types::error::display::DisplayErrorContext(other);
            return MintError::Failed(format!("{OPERATION}: {shown}"));
        }
    };
    let code = error.code().unwrap_or("Unknown").to_owned();
    let message = error.message().unwrap_or("").to_owned();
    match code.as_str() {
        "Throttling" | "ThrottlingException" => MintError::Throttled,
        "AccessDenied"
        | "ValidationError"
        | "RegionDisabledException"
        | "ExpiredTokenException"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "IncompleteSignature"
        | "MissingAuthenticationToken"
        | "MalformedPolicyDocument"
        | "PackedPolicyTooLarge" => MintError::Refused {
            operation: OPERATION,
            arn: role_arn.to_owned(),
            code,
            message,
        },
        _ => MintError::Failed(format!("{OPERATION}: {code}: {message}")),
    }
}
