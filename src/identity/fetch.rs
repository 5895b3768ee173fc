//! The HTTP client the broker uses to reach its identity provider.
//!
//! It honours `HTTPS_PROXY` / `NO_PROXY` (reqwest reads them), trusts the
//! system roots plus `oidc.ca_file`, bounds every call in time and every
//! answer in size, and never follows a URL taken from a token.

use std::path::Path;
use std::time::Duration;

/// Answers larger than this are refused: discovery documents and key sets
/// are a few kilobytes.
const MAX_BODY_BYTES: usize = 1 << 20;

const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// With its causes, so a refused certificate or a refused connection
    /// is named in the log.
    #[error("{}", causes(.0))]
    Request(#[from] reqwest::Error),
    #[error("HTTP status {0}")]
    Status(reqwest::StatusCode),
    #[error("answer larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("cannot use oidc.ca_file {path}: {reason}")]
    CaFile { path: String, reason: String },
}

fn causes(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// A fetched body with the freshness the provider gave it.
pub struct Body {
    pub bytes: Vec<u8>,
    pub max_age: Option<Duration>,
}

#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
}

impl Http {
    /// # Errors
    /// The CA file cannot be read or parsed, or the client cannot be built.
    pub fn new(ca_file: Option<&Path>) -> Result<Self, Error> {
        let mut builder = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("studio-broker/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = ca_file {
            for cert in read_certificates(path)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        Ok(Self {
            client: builder.build()?,
        })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// GETs `url` and returns its body.
    ///
    /// # Errors
    /// Transport failures, a non-2xx status, or a body over 1 MiB.
    pub async fn get(&self, url: &str) -> Result<Body, Error> {
        let mut response = self.client.get(url).send().await?;
        if !response.status().is_success() {
            return Err(Error::Status(response.status()));
        }
        let max_age = max_age(response.headers());
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(Error::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Body { bytes, max_age })
    }
}

fn read_certificates(path: &Path) -> Result<Vec<reqwest::Certificate>, Error> {
    let fail = |reason: String| Error::CaFile {
        path: path.display().to_string(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| fail(e.to_string()))?;
    if certs.is_empty() {
        return Err(fail("no certificate found".into()));
    }
    Ok(certs)
}

/// `Cache-Control: max-age=N`, unless `no-store` / `no-cache` say otherwise.
fn max_age(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::CACHE_CONTROL)?.to_str().ok()?;
    value
        .split(',')
        .filter_map(|d| d.trim().strip_prefix("max-age="))
        .find_map(|n| n.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}
