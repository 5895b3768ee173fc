//! What can be configured, parsed completely into plain data before
//! anything binds a socket.
//!
//! `raw` holds the file as written, with its defaults; `validate` decides
//! whether the values and their combination are legal and collects every
//! problem in one run; this module holds the result that the rest of the
//! broker reads.

mod raw;
mod secret;
mod validate;

use ipnet::IpNet;
use jsonwebtoken::Algorithm;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

pub use secret::Secret;

/// The environment variable that names the config file when `--config`
/// is not given.
pub const CONFIG_ENV: &str = "STUDIO_BROKER_CONFIG";

/// The config file used when neither `--config` nor the variable is set.
pub const DEFAULT_PATH: &str = "config/broker.toml";

/// A complete, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub server: Server,
    pub oidc: Oidc,
    pub session: Session,
    pub studio: Studio,
    pub limits: Limits,
    pub domains: Vec<Domain>,
    pub table: TableSource,
}

#[derive(Debug, Clone)]
pub struct Server {
    pub listen: SocketAddr,
    /// The external origin, without a trailing slash.
    pub public_url: Url,
    pub trusted_proxies: Vec<IpNet>,
    pub metrics_listen: Option<SocketAddr>,
    pub drain_delay: Duration,
    pub shutdown_timeout: Duration,
    pub request_timeout: Duration,
    pub max_header_bytes: usize,
    pub cors_origins: Vec<String>,
}

impl Server {
    /// Cookies carry `Secure` whenever people reach the broker over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

#[derive(Debug, Clone)]
pub struct Oidc {
    /// The issuer exactly as tokens must carry it (trailing `/` removed).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    pub allowed_clients: Vec<String>,
    pub identity_claim: String,
    pub groups_claim: String,
    pub allowed_groups: Vec<String>,
    /// `None` means "what the provider advertises", filtered to asymmetric
    /// algorithms once discovery has run.
    pub algorithms: Option<Vec<Algorithm>>,
    pub clock_skew: Duration,
    pub jwks_refresh: Duration,
    pub jwks_min_refetch: Duration,
    pub userinfo: bool,
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Session {
    /// The key that seals new cookies, then older keys still accepted for
    /// reading, each at least 64 bytes.
    pub keys: Vec<Secret>,
    pub ttl: Duration,
}

#[derive(Debug, Clone)]
pub struct Studio {
    pub expires_in_seconds: i32,
    pub session_seconds: i32,
    pub timeout: Duration,
    pub max_concurrent_calls: usize,
    /// Mint through `minting_role_arn`, assumed with the person's
    /// identity as source identity.
    pub source_identity: bool,
    /// Set whenever `source_identity` is on.
    pub minting_role_arn: Option<String>,
    /// The STS endpoint for the minting role (a VPC endpoint, or a test
    /// stand-in); unset uses the SDK's regional endpoint.
    pub sts_endpoint_url: Option<Url>,
}

#[derive(Debug, Clone)]
pub struct Limits {
    /// Per identity and replica; 0 turns the limit off.
    pub mints_per_minute: u32,
    /// Per client address and replica; 0 turns the limit off.
    pub unauthenticated_per_minute: u32,
}

#[derive(Debug, Clone)]
pub struct Domain {
    pub alias: String,
    pub id: String,
    pub region: String,
    pub account_id: String,
    pub endpoint_url: Option<Url>,
    pub assume_role_arn: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TableSource {
    pub path: PathBuf,
}

/// Why a configuration cannot be used; every problem found, one per line.
#[derive(Debug, thiserror::Error)]
#[error("{}", render(.path, .problems))]
pub struct Error {
    pub path: PathBuf,
    pub problems: Vec<String>,
}

fn render(path: &Path, problems: &[String]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {p}", path.display()))
        .collect();
    lines.join("\n")
}

impl Config {
    /// Reads and validates the file at `path`, resolving relative paths
    /// inside it against the file's folder.
    ///
    /// # Errors
    /// Every problem found: unreadable file, syntax, unknown keys, invalid
    /// values, secrets that cannot be read.
    pub fn load(path: &Path) -> Result<Self, Error> {
        Self::load_with(path, Secrets::Read)
    }

    /// As [`Config::load`], reading secrets or only checking that each has
    /// a source.
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn load_with(path: &Path, secrets: Secrets) -> Result<Self, Error> {
        let fail = |problem: String| Error {
            path: path.to_owned(),
            problems: vec![problem],
        };
        let read = std::fs::read_to_string(path);
        let text = read.map_err(|e| fail(format!("cannot read: {e}")))?;
        Self::parse_with(path, &text, &validate::ProcessEnv, secrets)
    }

    /// Parses `text` as if read from `path`, taking environment variables
    /// from `env`.
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn parse(path: &Path, text: &str, env: &dyn Env) -> Result<Self, Error> {
        Self::parse_with(path, text, env, Secrets::Read)
    }

    /// As [`Config::parse`], reading secrets or not.
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn parse_with(
        path: &Path,
        text: &str,
        env: &dyn Env,
        secrets: Secrets,
    ) -> Result<Self, Error> {
        let file: raw::File = toml::from_str(text).map_err(|e| Error {
            path: path.to_owned(),
            problems: vec![toml_problem(text, &e)],
        })?;
        validate::validate(path, file, env, secrets).map_err(|problems| Error {
            path: path.to_owned(),
            problems,
        })
    }

    /// The path given on the command line, else `$STUDIO_BROKER_CONFIG`,
    /// else `config/broker.toml`.
    pub fn resolve_path(arg: Option<PathBuf>) -> PathBuf {
        arg.or_else(|| std::env::var_os(CONFIG_ENV).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_PATH))
    }

    pub fn domain(&self, alias: &str) -> Option<&Domain> {
        self.domains.iter().find(|d| d.alias == alias)
    }
}

pub use validate::{Env, ProcessEnv, Secrets, is_asymmetric, names};

/// TOML's own message on one line with the line it points at, without the
/// source excerpt (which could echo a value).
fn toml_problem(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', " ");
    match error.span() {
        Some(span) => {
            let before = &text.as_bytes()[..span.start.min(text.len())];
            let line = before.iter().filter(|b| **b == b'\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests;
