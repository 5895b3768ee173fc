//! Who the caller is: provider discovery, the cached key set, and token
//! verification, turning a token into a [`Caller`].
//!
//! The key set is fetched once discovery has succeeded, refreshed every
//! `oidc.jwks_refresh_seconds` (or the provider's longer `max-age`), and
//! refetched on an unknown `kid` at most once per
//! `oidc.jwks_min_refetch_seconds`. Requests read it without locking.

mod discovery;
pub mod fetch;
pub mod keys;
pub mod verify;

use crate::config;
use arc_swap::ArcSwapOption;
use jsonwebtoken::Algorithm;
use keys::KeySet;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use verify::{Kind, Rejected, Rules, Verified};

pub use discovery::{Error as DiscoveryError, Metadata};

/// A verified caller: the identity as the table knows it, with the issuer
/// that vouched for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub issuer: String,
    pub identity: String,
    pub email_verified: bool,
    pub groups: Groups,
}

/// Group membership as the token states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Groups {
    Listed(Vec<String>),
    /// The provider left the list out (Entra ID's "groups overage").
    Unknown,
}

/// The broker's view of its identity provider.
pub struct Provider {
    config: config::Oidc,
    http: fetch::Http,
    metadata: ArcSwapOption<Metadata>,
    state: ArcSwapOption<Loaded>,
    /// When the key set was last fetched, to bound unknown-`kid` refetches;
    /// the async lock also makes concurrent refetches wait for one fetch.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

/// Keys together with the algorithms they were filtered for.
struct Loaded {
    keys: KeySet,
    algorithms: Vec<Algorithm>,
}

impl Provider {
    /// # Errors
    /// `oidc.ca_file` cannot be used.
    pub fn new(config: config::Oidc) -> Result<Arc<Self>, fetch::Error> {
        let http = fetch::Http::new(config.ca_file.as_deref())?;
        Ok(Arc::new(Self {
            config,
            http,
            metadata: ArcSwapOption::empty(),
            state: ArcSwapOption::empty(),
            last_fetch: tokio::sync::Mutex::new(None),
        }))
    }

    pub fn config(&self) -> &config::Oidc {
        &self.config
    }

    pub fn http(&self) -> &fetch::Http {
        &self.http
    }

    /// The discovered metadata, once discovery has succeeded.
    pub fn metadata(&self) -> Option<Arc<Metadata>> {
        self.metadata.load_full()
    }

    /// True once a usable key set is cached.
    pub fn is_ready(&self) -> bool {
        self.state.load().is_some()
    }

    /// Runs discovery and the first key-set fetch.
    ///
    /// # Errors
    /// Discovery or the key-set fetch failed; an issuer mismatch is
    /// reported as such so the caller can exit with 78.
    pub async fn start(&self) -> Result<(), StartError> {
        let metadata = discovery::discover(&self.http, &self.config.issuer).await?;
        self.metadata.store(Some(Arc::new(metadata)));
        self.refresh().await.map_err(StartError::Keys)?;
        Ok(())
    }

    /// Fetches the key set now and swaps it in; a failure keeps the old
    /// set.
    ///
    /// # Errors
    /// The fetch failed or the document does not parse.
    pub async fn refresh(&self) -> Result<Option<Duration>, KeysError> {
        let mut last = self.last_fetch.lock().await;
        self.fetch_counted(&mut last).await
    }

    /// Fetches while holding the fetch lock, so that concurrent callers
    /// wait for one fetch instead of starting their own.
    async fn fetch_counted(
        &self,
        last: &mut Option<Instant>,
    ) -> Result<Option<Duration>, KeysError> {
        *last = Some(Instant::now());
        let result = self.fetch_keys().await;
        let label = if result.is_ok() { "ok" } else { "error" };
        metrics::counter!("studio_broker_jwks_refresh_total", "result" => label).increment(1);
        result
    }

    async fn fetch_keys(&self) -> Result<Option<Duration>, KeysError> {
        let metadata = self.metadata().ok_or(KeysError::NoMetadata)?;
        let body = self.http.get(&metadata.jwks_uri).await?;
        let algorithms = self.algorithms(&metadata);
        let keys = KeySet::parse(&body.bytes, &algorithms)?;
        if keys.keys.is_empty() {
            return Err(KeysError::NoUsableKey(keys.skipped));
        }
        tracing::debug!(
            keys = keys.keys.len(),
            skipped = keys.skipped,
            "key set loaded"
        );
        self.state
            .store(Some(Arc::new(Loaded { keys, algorithms })));
        Ok(body.max_age)
    }

    /// `oidc.algorithms`, else what the provider advertises for ID tokens
    /// (RS256 when it says nothing), never `none` or HMAC.
    fn algorithms(&self, metadata: &Metadata) -> Vec<Algorithm> {
        let advertised = || {
            let algs: Vec<Algorithm> = metadata
                .id_token_signing_alg_values_supported
                .iter()
                .filter_map(|name| Algorithm::from_str(name).ok())
                .collect();
            if algs.is_empty() {
                vec![Algorithm::RS256]
            } else {
                algs
            }
        };
        self.config
            .algorithms
            .clone()
            .unwrap_or_else(advertised)
            .into_iter()
            .filter(|alg| config::is_asymmetric(*alg))
            .collect()
    }

    /// Refreshes the key set forever, on the configured period or the
    /// provider's longer `max-age`.
    pub async fn refresh_periodically(self: Arc<Self>) {
        let period = self.config.jwks_refresh;
        let mut wait = period;
        loop {
            tokio::time::sleep(wait).await;
            wait = match self.refresh().await {
                Ok(Some(max_age)) if max_age > period => max_age,
                Ok(_) => period,
                Err(e) => {
                    tracing::warn!(error = %e, "key set refresh failed; keeping the cached keys");
                    period
                }
            };
        }
    }

    /// Verifies a bearer token presented to the API.
    ///
    /// # Errors
    /// The rule the token breaks.
    pub async fn verify_bearer(&self, token: &str) -> Result<Caller, Rejected> {
        let kind = Kind::Bearer {
            allowed_clients: &self.config.allowed_clients,
        };
        self.verify(token, kind).await.map(|v| v.caller)
    }

    /// Verifies an ID token from the broker's own sign-in.
    ///
    /// # Errors
    /// The rule the token breaks.
    pub async fn verify_id_token(&self, token: &str, nonce: &str) -> Result<Verified, Rejected> {
        let kind = Kind::SignIn {
            client_id: &self.config.client_id,
            nonce,
        };
        self.verify(token, kind).await
    }

    async fn verify(&self, token: &str, kind: Kind<'_>) -> Result<Verified, Rejected> {
        let audiences: &[String] = match kind {
            Kind::Bearer { .. } => &self.config.audiences,
            Kind::SignIn { .. } => std::slice::from_ref(&self.config.client_id),
        };
        let loaded = self.keys_for(token).await?;
        let rules = Rules {
            issuer: &self.config.issuer,
            audiences,
            algorithms: &loaded.algorithms,
            skew_seconds: self.config.clock_skew.as_secs(),
            kind,
            identity_claim: &self.config.identity_claim,
            groups_claim: &self.config.groups_claim,
        };
        verify::verify(token, &loaded.keys, &rules)
    }

    /// The cached keys, refetched first when the token names a `kid` the
    /// cache does not hold and the last fetch is old enough.
    async fn keys_for(&self, token: &str) -> Result<Arc<Loaded>, Rejected> {
        let loaded = self.state.load_full().ok_or(Rejected::NoKeys)?;
        let kid = jsonwebtoken::decode_header(token)
            .map_err(|_| Rejected::Malformed)?
            .kid;
        match kid {
            Some(kid) if !loaded.keys.has_kid(&kid) => {
                self.refetch_for_unknown_kid().await;
                self.state.load_full().ok_or(Rejected::NoKeys)
            }
            _ => Ok(loaded),
        }
    }

    async fn refetch_for_unknown_kid(&self) {
        let mut last = self.last_fetch.lock().await;
        let min = self.config.jwks_min_refetch;
        if last.is_some_and(|t| t.elapsed() < min) {
            return;
        }
        if let Err(e) = self.fetch_counted(&mut last).await {
            tracing::warn!(error = %e, "key set refetch for an unknown kid failed");
        }
    }
}

/// Why the provider could not be used at start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    #[error("key set: {0}")]
    Keys(KeysError),
}

impl StartError {
    /// An issuer mismatch is a configuration error, not a passing fault.
    pub fn is_config_error(&self) -> bool {
        matches!(self, Self::Discovery(e) if e.is_config_error())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("discovery has not succeeded yet")]
    NoMetadata,
    #[error("cannot fetch the key set: {0}")]
    Fetch(#[from] fetch::Error),
    #[error("the key set is not a JWK Set: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("the key set holds no usable signing key ({0} skipped)")]
    NoUsableKey(usize),
}
