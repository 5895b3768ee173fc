//! Building one SageMaker client per configured domain.

use super::{Domain, Minting};
use crate::config;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sagemaker::config::retry::RetryConfig;
use aws_sdk_sagemaker::config::timeout::TimeoutConfig;
use aws_sdk_sagemaker::config::{SharedCredentialsProvider, StalledStreamProtectionConfig};
use std::sync::Arc;

/// The session name the broker's assumed-role sessions carry in
/// CloudTrail.
const SESSION_NAME: &str = "studio-broker";

/// Loads the default AWS configuration (environment, profile, container or
/// pod identity) once.
pub async fn load_shared() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// One client per domain, each in its region, with its endpoint and,
/// when set, its role in another account; with `studio.source_identity`,
/// one minting role shared by all.
pub async fn build_clients(shared: &SdkConfig, config: &config::Config) -> Vec<Domain> {
    let minting = Minting::new(shared, config).map(Arc::new);
    let mut domains = Vec::with_capacity(config.domains.len());
    for domain in &config.domains {
        let mut built = build(shared, domain, &config.studio).await;
        built.minting = minting.clone();
        domains.push(built);
    }
    domains
}

async fn build(shared: &SdkConfig, domain: &config::Domain, studio: &config::Studio) -> Domain {
    let region = Region::new(domain.region.clone());
    // The operation timeout bounds all attempts together; the standard
    // retry mode retries throttling and transient errors with backoff.
    // Stalled-stream protection watches the throughput of streamed bodies;
    // the broker's calls send and receive small JSON documents (a few
    // hundred bytes for a mint, a page of names for `check --remote`), the
    // operation timeout already bounds them, and the watch cost about 1%
    // of a mint's instructions (`scripts/profile-floor`).
    let timeouts = TimeoutConfig::builder()
        .operation_timeout(studio.timeout)
        .build();
    let mut builder = aws_sdk_sagemaker::config::Builder::from(shared)
        .region(region.clone())
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard())
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
    if let Some(url) = &domain.endpoint_url {
        builder = builder.endpoint_url(url.as_str().trim_end_matches('/'));
    }
    if let Some(role) = &domain.assume_role_arn {
        let provider = aws_config::sts::AssumeRoleProvider::builder(role)
            .session_name(SESSION_NAME)
            .region(region)
            .configure(shared)
            .build()
            .await;
        builder = builder.credentials_provider(SharedCredentialsProvider::new(provider));
    }
    Domain {
        alias: domain.alias.clone(),
        id: domain.id.clone(),
        region: domain.region.clone(),
        account_id: domain.account_id.clone(),
        client: aws_sdk_sagemaker::Client::from_conf(builder.build()),
        minting: None,
    }
}
