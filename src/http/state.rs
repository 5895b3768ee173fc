//! What every handler shares: configuration, the provider, the table in
//! force, the SageMaker clients, the limiters and the drain flag.

use crate::config::Config;
use crate::identity::Provider;
use crate::login::SignIn;
use crate::studio::Studio;
use crate::table;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::limits::Limits;

pub struct State {
    pub config: Arc<Config>,
    pub provider: Arc<Provider>,
    pub table: Arc<table::Live>,
    pub studio: Arc<Studio>,
    pub sign_in: SignIn,
    pub limits: Limits,
    /// Configured domain aliases, in configuration order.
    pub domains: Vec<String>,
    /// Renders `/metrics`; `None` when no recorder is installed (tests).
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    draining: AtomicBool,
}

impl State {
    pub fn new(
        config: Arc<Config>,
        provider: Arc<Provider>,
        table: Arc<table::Live>,
        studio: Arc<Studio>,
        sign_in: SignIn,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    ) -> Arc<Self> {
        let domains = config.domains.iter().map(|d| d.alias.clone()).collect();
        Arc::new(Self {
            limits: Limits::new(&config.limits),
            config,
            provider,
            table,
            studio,
            sign_in,
            domains,
            metrics,
            draining: AtomicBool::new(false),
        })
    }

    /// From now on `/readyz` answers 503, so load balancers stop sending.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
        metrics::gauge!("studio_broker_draining").set(1.0);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// The caller-wide access rules from the configuration.
    pub fn access_rules(&self) -> crate::access::Rules<'_> {
        crate::access::Rules {
            require_verified_email: self.config.oidc.identity_claim == "email",
            allowed_groups: &self.config.oidc.allowed_groups,
            domains: &self.domains,
        }
    }
}
