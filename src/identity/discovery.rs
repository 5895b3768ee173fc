//! OpenID Provider discovery ([OpenID Connect Discovery 1.0 §4]).
//!
//! [OpenID Connect Discovery 1.0 §4]:
//!     https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig

use serde::Deserialize;

/// The parts of the provider's metadata the broker uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: Option<String>,
    pub jwks_uri: String,
    pub userinfo_endpoint: Option<String>,
    pub end_session_endpoint: Option<String>,
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// RFC 9207: the provider puts `iss` in every authorization response.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

/// Why discovery did not produce usable metadata.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot fetch {url}: {source}")]
    Fetch {
        url: String,
        #[source]
        source: super::fetch::Error,
    },
    #[error("{url}: not a valid discovery document: {source}")]
    Parse {
        url: String,
        #[source]
        source: serde_json::Error,
    },
    /// The document names another issuer. This is a configuration error
    /// (exit 78), not a passing fault: tokens from that provider would
    /// never verify.
    #[error(
        "the provider's discovery document says issuer = \"{discovered}\", \
         but oidc.issuer is \"{configured}\"; they must be equal byte for byte"
    )]
    IssuerMismatch {
        configured: String,
        discovered: String,
    },
}

impl Error {
    pub fn is_config_error(&self) -> bool {
        matches!(self, Self::IssuerMismatch { .. })
    }
}

/// The discovery URL of an issuer whose trailing `/` is already removed.
pub fn url(issuer: &str) -> String {
    format!("{issuer}/.well-known/openid-configuration")
}

/// Fetches and checks the metadata of `issuer`.
///
/// # Errors
/// The fetch failed, the document does not parse, or its `issuer` differs.
pub async fn discover(http: &super::fetch::Http, issuer: &str) -> Result<Metadata, Error> {
    let url = url(issuer);
    let body = http.get(&url).await.map_err(|source| Error::Fetch {
        url: url.clone(),
        source,
    })?;
    let metadata: Metadata =
        serde_json::from_slice(&body.bytes).map_err(|source| Error::Parse {
            url: url.clone(),
            source,
        })?;
    // OpenID Connect Discovery §4.3: the issuer must be identical to the
    // one the configuration was retrieved for.
    if metadata.issuer != issuer {
        return Err(Error::IssuerMismatch {
            configured: issuer.to_owned(),
            discovered: metadata.issuer,
        });
    }
    Ok(metadata)
}
