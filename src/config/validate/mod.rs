//! Whether the values of a configuration file, and their combination, are
//! legal. Every problem is collected before failing, each starting with the
//! key it is about and saying what would be valid, and never a secret's
//! value.

mod aws;
pub mod names;

use super::{Config, Domain, Limits, Oidc, Secret, Server, Session, Studio};
use super::{TableSource, raw};
use aws::{domains, source_identity, studio};
use base64::Engine;
use ipnet::IpNet;
use jsonwebtoken::Algorithm;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use url::Url;

/// Where `*_env` keys are looked up; tests pass their own.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// Session cookie keys must carry at least this much key material: the
/// cookie crate derives its encryption key from 64 bytes.
const MIN_COOKIE_KEY_BYTES: usize = 64;

/// How to make a cookie key, told with every refused one.
const COOKIE_KEY_HINT: &str = "must be standard base64 of at least 64 \
    bytes (generate one with `head -c 64 /dev/urandom | base64 -w0`)";

/// Where a secret may come from: the `_env` and `_file` keys as written.
type Sources<'a> = (Option<&'a str>, Option<&'a str>);

/// A secret as read, with the key and source that named it, so messages
/// about the value can say where it came from without showing it.
struct Named {
    source: String,
    value: String,
}

struct Checker<'a> {
    dir: PathBuf,
    env: &'a dyn Env,
    secrets: Secrets,
    problems: Vec<String>,
}

/// Secrets are short; a "secret file" past this size is a mistake (a
/// device such as `/dev/zero`, a log), not a key.
const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// Reads a regular file of at most [`MAX_SECRET_FILE_BYTES`]: never a
/// device, a pipe or a folder, which could block or never end.
fn read_small_file(path: &Path) -> std::io::Result<String> {
    use std::io::{Error, Read};
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(Error::other("not a regular file"));
    }
    let mut text = String::new();
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(Error::other(format!(
            "larger than {MAX_SECRET_FILE_BYTES} bytes"
        )));
    }
    Ok(text)
}

/// Whether secrets are read while validating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// Read and check every secret: what `serve` and `check` need.
    Read,
    /// Check only that each secret has one source, and stand a placeholder
    /// in for its value: for commands that never use a secret (`policy`),
    /// so they run where the secrets are not present.
    Skip,
}

/// What stands in for a secret that is not read: valid base64 of 64 zero
/// bytes, so it passes the cookie-key checks and seals nothing anyone
/// would trust.
const PLACEHOLDER: &str =
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";

impl Checker<'_> {
    fn problem(&mut self, message: String) {
        self.problems.push(message);
    }

    fn path(&self, value: &str) -> PathBuf {
        self.dir.join(value)
    }

    /// Reads a secret named by exactly one of `{key}_env` / `{key}_file`.
    fn secret(&mut self, key: &str, sources: Sources) -> Option<Named> {
        let (env, file) = sources;
        match (env, file) {
            (Some(_), Some(_)) => {
                self.problem(format!(
                    "{key}_env and {key}_file: both are set; set only one"
                ));
                None
            }
            (None, None) => {
                self.problem(format!(
                    "{key}_env or {key}_file: one is required (secrets \
                     are never values in this file)"
                ));
                None
            }
            _ if self.secrets == Secrets::Skip => Some(Named {
                source: format!("{key} (not read)"),
                value: PLACEHOLDER.to_owned(),
            }),
            (Some(name), None) => self.secret_from_env(key, name),
            (None, Some(file)) => self.secret_from_file(key, file),
        }
    }

    /// Values are trimmed: a variable filled from a file often ends with
    /// a newline that is not part of the secret.
    fn secret_from_env(&mut self, key: &str, name: &str) -> Option<Named> {
        let source = format!("{key}_env = \"{name}\"");
        match self.env.var(name) {
            Some(value) if !value.trim().is_empty() => Some(Named {
                source,
                value: value.trim().to_owned(),
            }),
            _ => {
                self.problem(format!(
                    "{source}: the environment variable {name} is not set \
                     or is empty"
                ));
                None
            }
        }
    }

    fn secret_from_file(&mut self, key: &str, file: &str) -> Option<Named> {
        let source = format!("{key}_file = \"{file}\"");
        let path = self.path(file);
        match read_small_file(&path) {
            Ok(value) if !value.trim().is_empty() => Some(Named {
                source,
                value: value.trim().to_owned(),
            }),
            Ok(_) => {
                self.problem(format!("{source}: {} is empty", path.display()));
                None
            }
            Err(e) => {
                self.problem(format!("{source}: cannot read {}: {e}", path.display()));
                None
            }
        }
    }

    fn range<T>(&mut self, key: &str, value: T, min: T, max: T) -> T
    where
        T: PartialOrd + std::fmt::Display + Copy,
    {
        if value < min || value > max {
            self.problem(format!("{key} = {value}: must be {min}..={max}"));
        }
        value
    }

    fn required<'v>(
        &mut self,
        key: &str,
        value: Option<&'v str>,
        example: &str,
    ) -> Option<&'v str> {
        match value {
            Some(v) if !v.is_empty() => Some(v),
            _ => {
                self.problem(format!("{key}: required, such as {example}"));
                None
            }
        }
    }
}

/// The legal configuration in `file`, or every problem found in it.
pub(super) fn validate(
    path: &Path,
    file: raw::File,
    env: &dyn Env,
    secrets: Secrets,
) -> Result<Config, Vec<String>> {
    let dir = path.parent().map(Path::to_owned).unwrap_or_default();
    let mut c = Checker {
        dir,
        env,
        secrets,
        problems: Vec::new(),
    };
    let server = server(&mut c, file.server);
    let oidc = oidc(&mut c, file.oidc);
    let session = session(&mut c, file.session);
    let studio = studio(&mut c, file.studio);
    let limits = Limits {
        mints_per_minute: file.limits.mints_per_minute,
        unauthenticated_per_minute: file.limits.unauthenticated_per_minute,
    };
    let domains = domains(&mut c, file.domains);
    source_identity(&mut c, &studio, &domains);
    let table = TableSource {
        path: c.path(&file.table.path),
    };
    match (c.problems.is_empty(), server, oidc) {
        (true, Some(server), Some(oidc)) => Ok(Config {
            path: path.to_owned(),
            server,
            oidc,
            session,
            studio,
            limits,
            domains,
            table,
        }),
        _ => Err(c.problems),
    }
}

fn server(c: &mut Checker, raw: raw::Server) -> Option<Server> {
    let public_url = public_url(c, raw.public_url.as_deref());
    let trusted_proxies = (raw.trusted_proxies.iter().enumerate())
        .filter_map(|(i, cidr)| proxy_net(c, i, cidr))
        .collect();
    let cors_origins = (raw.cors_origins.iter().enumerate())
        .filter_map(|(i, origin)| cors_origin(c, i, origin))
        .collect();
    if raw.metrics_listen == Some(raw.listen) {
        c.problem(format!(
            "server.metrics_listen = \"{}\": must differ from server.listen \
             (leave it unset to serve /metrics there)",
            raw.listen
        ));
    }
    let seconds = [
        ("request_timeout", raw.request_timeout_seconds, 1),
        ("shutdown_timeout", raw.shutdown_timeout_seconds, 0),
        ("drain_delay", raw.drain_delay_seconds, 0),
    ];
    for (name, value, min) in seconds {
        c.range(&format!("server.{name}_seconds"), value, min, 3600);
    }
    c.range(
        "server.max_header_bytes",
        raw.max_header_bytes,
        1024,
        1 << 20,
    );
    Some(Server {
        listen: raw.listen,
        public_url: public_url?,
        trusted_proxies,
        metrics_listen: raw.metrics_listen,
        drain_delay: Duration::from_secs(raw.drain_delay_seconds),
        shutdown_timeout: Duration::from_secs(raw.shutdown_timeout_seconds),
        request_timeout: Duration::from_secs(raw.request_timeout_seconds),
        max_header_bytes: raw.max_header_bytes,
        cors_origins,
    })
}

/// An http or https URL with a host and nothing after it but `/`.
fn is_origin(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
}

fn public_url(c: &mut Checker, value: Option<&str>) -> Option<Url> {
    const EXAMPLE: &str = "\"https://studio.example.com\"";
    let value = c.required("server.public_url", value, EXAMPLE)?;
    match Url::parse(value) {
        Ok(url) if is_origin(&url) => Some(url),
        _ => {
            c.problem(format!(
                "server.public_url = \"{value}\": must be an http or https \
                 origin such as {EXAMPLE} (no path, query or user)"
            ));
            None
        }
    }
}

fn proxy_net(c: &mut Checker, i: usize, value: &str) -> Option<IpNet> {
    let parsed =
        IpNet::from_str(value).or_else(|_| value.parse::<std::net::IpAddr>().map(IpNet::from));
    match parsed {
        Ok(net) => Some(net),
        Err(_) => {
            c.problem(format!(
                "server.trusted_proxies[{i}] = \"{value}\": must be a CIDR \
                 such as \"10.0.0.0/8\" or a single address"
            ));
            None
        }
    }
}

fn cors_origin(c: &mut Checker, i: usize, value: &str) -> Option<String> {
    match Url::parse(value) {
        Ok(url) if is_origin(&url) => Some(url.origin().ascii_serialization()),
        _ => {
            c.problem(format!(
                "server.cors_origins[{i}] = \"{value}\": must be an http or \
                 https origin such as \"https://portal.example.com\" \
                 (no path)"
            ));
            None
        }
    }
}

fn oidc(c: &mut Checker, raw: raw::Oidc) -> Option<Oidc> {
    let issuer = issuer(c, raw.issuer.as_deref());
    let client_id = c
        .required("oidc.client_id", raw.client_id.as_deref(), "\"studio\"")
        .map(str::to_owned);
    let sources = (
        raw.client_secret_env.as_deref(),
        raw.client_secret_file.as_deref(),
    );
    let secret = c.secret("oidc.client_secret", sources);
    if !raw.scopes.iter().any(|s| s == "openid") {
        c.problem(format!(
            "oidc.scopes = {:?}: must include \"openid\"",
            raw.scopes
        ));
    }
    claims(c, &raw);
    let algorithms = raw.algorithms.as_deref().map(|names| algorithms(c, names));
    oidc_timing(c, &raw);
    let ca_file = raw.ca_file.as_deref().and_then(|f| ca_file(c, f));
    let audiences = audiences(c, raw.audiences, client_id.as_deref());
    Some(Oidc {
        issuer: issuer?,
        client_id: client_id?,
        client_secret: Secret::new(secret?.value),
        scopes: raw.scopes,
        audiences,
        allowed_clients: raw.allowed_clients,
        identity_claim: raw.identity_claim,
        groups_claim: raw.groups_claim,
        allowed_groups: raw.allowed_groups,
        algorithms,
        clock_skew: Duration::from_secs(raw.clock_skew_seconds),
        jwks_refresh: Duration::from_secs(raw.jwks_refresh_seconds),
        jwks_min_refetch: Duration::from_secs(raw.jwks_min_refetch_seconds),
        userinfo: raw.userinfo,
        ca_file,
    })
}

fn claims(c: &mut Checker, raw: &raw::Oidc) {
    for (key, value) in [
        ("oidc.identity_claim", &raw.identity_claim),
        ("oidc.groups_claim", &raw.groups_claim),
    ] {
        if value.is_empty() {
            c.problem(format!(
                "{key}: must not be empty (a claim name such as \"sub\")"
            ));
        }
    }
}

fn oidc_timing(c: &mut Checker, raw: &raw::Oidc) {
    c.range("oidc.clock_skew_seconds", raw.clock_skew_seconds, 0, 600);
    c.range(
        "oidc.jwks_refresh_seconds",
        raw.jwks_refresh_seconds,
        10,
        86400,
    );
    let refetch = raw.jwks_min_refetch_seconds;
    c.range("oidc.jwks_min_refetch_seconds", refetch, 1, 3600);
}

fn ca_file(c: &mut Checker, value: &str) -> Option<PathBuf> {
    let path = c.path(value);
    if !path.is_file() {
        c.problem(format!(
            "oidc.ca_file = \"{value}\": {} is not a readable file",
            path.display()
        ));
        return None;
    }
    Some(path)
}

fn audiences(c: &mut Checker, raw: Option<Vec<String>>, client_id: Option<&str>) -> Vec<String> {
    let default = || client_id.map(str::to_owned).into_iter().collect();
    let audiences = raw.unwrap_or_else(default);
    if audiences.is_empty() && client_id.is_some() {
        c.problem(
            "oidc.audiences: must not be empty (omit it to accept \
             [client_id])"
                .into(),
        );
    }
    audiences
}

fn issuer(c: &mut Checker, value: Option<&str>) -> Option<String> {
    const EXAMPLE: &str = "\"https://login.example.com\"";
    let value = c.required("oidc.issuer", value, EXAMPLE)?;
    let trimmed = value.strip_suffix('/').unwrap_or(value);
    match Url::parse(trimmed) {
        Ok(url)
            if matches!(url.scheme(), "http" | "https")
                && url.host().is_some()
                && url.username().is_empty()
                && url.password().is_none()
                && url.query().is_none()
                && url.fragment().is_none() =>
        {
            Some(trimmed.to_owned())
        }
        _ => {
            c.problem(format!(
                "oidc.issuer = \"{value}\": must be an http or https URL \
                 such as {EXAMPLE} (no query, fragment or user)"
            ));
            None
        }
    }
}

/// Only asymmetric algorithms: `none` has no signature, and an HMAC key
/// would be the client secret, which this broker shares with the provider.
fn algorithms(c: &mut Checker, names: &[String]) -> Vec<Algorithm> {
    if names.is_empty() {
        c.problem(
            "oidc.algorithms: must not be empty (omit it to accept what \
             the provider advertises)"
                .into(),
        );
    }
    let parse = |name: &str| Algorithm::from_str(name).ok().filter(|a| is_asymmetric(*a));
    let mut accepted = Vec::new();
    for (i, name) in names.iter().enumerate() {
        match parse(name) {
            Some(alg) => accepted.push(alg),
            None => c.problem(format!(
                "oidc.algorithms[{i}] = \"{name}\": must be one of RS256, \
                 RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA \
                 (none and HMAC are never allowed)"
            )),
        }
    }
    accepted
}

/// Whether `alg` is verified with a public key (HMAC is not).
pub fn is_asymmetric(alg: Algorithm) -> bool {
    !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

fn session(c: &mut Checker, raw: raw::Session) -> Session {
    let sources = (
        raw.cookie_key_env.as_deref(),
        raw.cookie_key_file.as_deref(),
    );
    let current = c.secret("session.cookie_key", sources);
    let sources = (
        raw.previous_keys_env.as_deref(),
        raw.previous_keys_file.as_deref(),
    );
    let previous = match sources {
        (None, None) => None,
        _ => c.secret("session.previous_keys", sources),
    };
    let ttl = raw.ttl_seconds;
    c.range("session.ttl_seconds", ttl, 60, 7 * 86400);
    let mut keys = Vec::new();
    if let Some(current) = current {
        keys.extend(cookie_key(c, &current.source, &current.value));
    }
    if let Some(previous) = previous {
        keys.extend(previous_keys(c, &previous));
    }
    Session {
        keys,
        ttl: Duration::from_secs(ttl),
    }
}

fn previous_keys(c: &mut Checker, previous: &Named) -> Vec<Secret> {
    let values: Vec<&str> = (previous.value.split(','))
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .collect();
    let count = values.len();
    let mut keys = Vec::new();
    for (i, value) in values.into_iter().enumerate() {
        let source = format!("{}: key {} of {count}", previous.source, i + 1);
        keys.extend(cookie_key(c, &source, value));
    }
    keys
}

/// `source` names where the key came from; the key itself is never shown.
fn cookie_key(c: &mut Checker, source: &str, value: &str) -> Option<Secret> {
    let engine = base64::engine::general_purpose::STANDARD;
    match engine.decode(value) {
        Ok(bytes) if bytes.len() >= MIN_COOKIE_KEY_BYTES => Some(Secret::new(value)),
        Ok(bytes) => {
            let n = bytes.len();
            c.problem(format!("{source}: decodes to {n} bytes: {COOKIE_KEY_HINT}"));
            None
        }
        Err(_) => {
            c.problem(format!("{source}: not valid base64: {COOKIE_KEY_HINT}"));
            None
        }
    }
}
