//! The configuration file as written: every key, its default, and nothing
//! else. Whether a combination of values is legal is decided in
//! `validate`, not here.

use serde::Deserialize;
use std::net::SocketAddr;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    #[serde(default)]
    pub server: Server,
    #[serde(default)]
    pub oidc: Oidc,
    #[serde(default)]
    pub session: Session,
    #[serde(default)]
    pub studio: Studio,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub domains: Vec<Domain>,
    #[serde(default)]
    pub table: Table,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    pub listen: SocketAddr,
    pub public_url: Option<String>,
    pub trusted_proxies: Vec<String>,
    pub metrics_listen: Option<SocketAddr>,
    pub drain_delay_seconds: u64,
    pub shutdown_timeout_seconds: u64,
    pub request_timeout_seconds: u64,
    pub max_header_bytes: usize,
    pub cors_origins: Vec<String>,
}

impl Default for Server {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            trusted_proxies: Vec::new(),
            metrics_listen: None,
            drain_delay_seconds: 5,
            shutdown_timeout_seconds: 20,
            request_timeout_seconds: 15,
            max_header_bytes: 16384,
            cors_origins: Vec::new(),
        }
    }
}

/// Required keys are options here so that `validate` can report each
/// missing one with the others, rather than stopping at the first.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Oidc {
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret_env: Option<String>,
    pub client_secret_file: Option<String>,
    pub scopes: Vec<String>,
    pub audiences: Option<Vec<String>>,
    pub allowed_clients: Vec<String>,
    pub identity_claim: String,
    pub groups_claim: String,
    pub allowed_groups: Vec<String>,
    pub algorithms: Option<Vec<String>>,
    pub clock_skew_seconds: u64,
    pub jwks_refresh_seconds: u64,
    pub jwks_min_refetch_seconds: u64,
    pub userinfo: bool,
    pub ca_file: Option<String>,
}

impl Default for Oidc {
    fn default() -> Self {
        Self {
            issuer: None,
            client_id: None,
            client_secret_env: None,
            client_secret_file: None,
            scopes: ["openid", "email", "profile"].map(String::from).to_vec(),
            audiences: None,
            allowed_clients: Vec::new(),
            identity_claim: "sub".into(),
            groups_claim: "groups".into(),
            allowed_groups: Vec::new(),
            algorithms: None,
            clock_skew_seconds: 60,
            jwks_refresh_seconds: 300,
            jwks_min_refetch_seconds: 30,
            userinfo: false,
            ca_file: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Session {
    pub cookie_key_env: Option<String>,
    pub cookie_key_file: Option<String>,
    pub previous_keys_env: Option<String>,
    pub previous_keys_file: Option<String>,
    pub ttl_seconds: u64,
}

impl Default for Session {
    fn default() -> Self {
        Self {
            cookie_key_env: None,
            cookie_key_file: None,
            previous_keys_env: None,
            previous_keys_file: None,
            ttl_seconds: 28800,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Studio {
    pub expires_in_seconds: i64,
    pub session_seconds: i64,
    pub timeout_seconds: u64,
    pub max_concurrent_calls: usize,
    pub source_identity: bool,
    pub minting_role_arn: Option<String>,
    pub sts_endpoint_url: Option<String>,
}

impl Default for Studio {
    fn default() -> Self {
        Self {
            expires_in_seconds: 30,
            session_seconds: 43200,
            timeout_seconds: 10,
            max_concurrent_calls: 64,
            source_identity: false,
            minting_role_arn: None,
            sts_endpoint_url: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub mints_per_minute: u32,
    pub unauthenticated_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            mints_per_minute: 10,
            unauthenticated_per_minute: 120,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Domain {
    pub alias: String,
    pub id: String,
    pub region: String,
    pub account_id: String,
    pub endpoint_url: Option<String>,
    pub assume_role_arn: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Table {
    pub path: String,
}

impl Default for Table {
    fn default() -> Self {
        Self {
            path: "users.toml".into(),
        }
    }
}
