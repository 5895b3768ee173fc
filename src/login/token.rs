//! Redeeming an authorization code at the provider's token endpoint with
//! the `oauth2` crate (PKCE verifier, `client_secret_basic` or, when that
//! is all the provider offers, `client_secret_post`), and the optional
//! UserInfo call.

use crate::config::Secret;
use crate::identity::Metadata;
use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse,
    TokenUrl,
};
use serde::{Deserialize, Serialize};

/// The `id_token` an OpenID provider adds to the token response. The
/// `oauth2` crate asks for `Debug`; it never shows the token.
#[derive(Clone, Deserialize, Serialize)]
pub struct IdTokenField {
    pub id_token: Option<String>,
}

impl std::fmt::Debug for IdTokenField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = self.id_token.as_ref().map(|_| "[redacted]");
        f.debug_struct("IdTokenField")
            .field("id_token", &shown)
            .finish()
    }
}

impl ExtraTokenFields for IdTokenField {}

type Response = StandardTokenResponse<IdTokenField, BasicTokenType>;

type Client = oauth2::Client<
    BasicErrorResponse,
    Response,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// Why the code could not be redeemed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The provider refused the code: used already, expired, or not ours.
    #[error("the provider refused the code: {0}")]
    Refused(String),
    #[error("the provider's token endpoint is unavailable: {0}")]
    Unavailable(String),
    #[error("the provider's token response holds no ID token")]
    NoIdToken,
    #[error("the provider's metadata has no usable {0}")]
    Metadata(&'static str),
}

/// The tokens the broker uses from a token response. Neither is stored or
/// logged: the ID token is verified and dropped, the access token only
/// reaches UserInfo.
pub struct Tokens {
    pub id_token: String,
    pub access_token: String,
}

/// What the authorization request needs, built fresh per sign-in.
pub struct Authorization {
    pub url: url::Url,
    pub state: String,
    pub verifier: String,
}

fn client(
    metadata: &Metadata,
    client_id: &str,
    secret: &Secret,
    redirect_uri: &str,
) -> Result<Client, Error> {
    let auth = AuthUrl::new(metadata.authorization_endpoint.clone())
        .map_err(|_| Error::Metadata("authorization_endpoint"))?;
    let token = metadata
        .token_endpoint
        .clone()
        .and_then(|t| TokenUrl::new(t).ok())
        .ok_or(Error::Metadata("token_endpoint"))?;
    let redirect =
        RedirectUrl::new(redirect_uri.to_owned()).map_err(|_| Error::Metadata("redirect_uri"))?;
    Ok(oauth2::Client::new(ClientId::new(client_id.to_owned()))
        .set_client_secret(ClientSecret::new(secret.expose().to_owned()))
        .set_auth_uri(auth)
        .set_token_uri(token)
        .set_redirect_uri(redirect)
        .set_auth_type(auth_type(metadata)))
}

/// `client_secret_basic` is the default of OpenID Connect; a provider that
/// lists only `client_secret_post` gets the secret in the body instead.
fn auth_type(metadata: &Metadata) -> AuthType {
    let methods = &metadata.token_endpoint_auth_methods_supported;
    let post_only = methods.iter().any(|m| m == "client_secret_post")
        && !methods.iter().any(|m| m == "client_secret_basic");
    if post_only {
        AuthType::RequestBody
    } else {
        AuthType::BasicAuth
    }
}

/// The provider's authorization URL with a fresh state and PKCE (S256)
/// challenge, the scopes, the nonce and, when given, a login hint.
///
/// # Errors
/// The metadata lacks a usable endpoint.
pub fn authorization(
    metadata: &Metadata,
    client_id: &str,
    secret: &Secret,
    redirect_uri: &str,
    scopes: &[String],
    nonce: &str,
    login_hint: Option<&str>,
) -> Result<Authorization, Error> {
    let client = client(metadata, client_id, secret, redirect_uri)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(scopes.iter().map(|s| Scope::new(s.clone())))
        .set_pkce_challenge(challenge)
        .add_extra_param("nonce", nonce.to_owned());
    if let Some(hint) = login_hint {
        request = request.add_extra_param("login_hint", hint.to_owned());
    }
    let (url, state) = request.url();
    Ok(Authorization {
        url,
        state: state.secret().clone(),
        verifier: verifier.secret().clone(),
    })
}

/// Redeems `code` with the PKCE `verifier`.
///
/// # Errors
/// See [`Error`].
pub async fn redeem(
    http: &reqwest::Client,
    metadata: &Metadata,
    client_id: &str,
    secret: &Secret,
    redirect_uri: &str,
    code: &str,
    verifier: &str,
) -> Result<Tokens, Error> {
    let client = client(metadata, client_id, secret, redirect_uri)?;
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
        .request_async(http)
        .await
        .map_err(classify)?;
    let id_token = response
        .extra_fields()
        .id_token
        .clone()
        .ok_or(Error::NoIdToken)?;
    Ok(Tokens {
        id_token,
        access_token: response.access_token().secret().clone(),
    })
}

/// Only the error code and description reach the message: the raw answer
/// could hold tokens.
fn classify<RE: std::error::Error>(e: RequestTokenError<RE, BasicErrorResponse>) -> Error {
    match e {
        RequestTokenError::ServerResponse(response) => match response.error() {
            // RFC 6749 §4.1.2.1 names these two for a provider that cannot
            // answer now; the person should try again, not start over.
            BasicErrorResponseType::Extension(code)
                if code == "server_error" || code == "temporarily_unavailable" =>
            {
                Error::Unavailable(code.clone())
            }
            other => Error::Refused(other.to_string()),
        },
        RequestTokenError::Request(e) => Error::Unavailable(e.to_string()),
        RequestTokenError::Parse(..) => {
            Error::Unavailable("the token response does not parse".into())
        }
        RequestTokenError::Other(e) => Error::Unavailable(e),
    }
}

#[derive(Deserialize)]
struct UserInfo {
    sub: Option<String>,
}

/// The `sub` the UserInfo endpoint reports for `access_token`.
///
/// # Errors
/// No endpoint, a failed call, or an answer without `sub`.
pub async fn userinfo_sub(
    http: &reqwest::Client,
    metadata: &Metadata,
    access_token: &str,
) -> Result<String, Error> {
    let endpoint = metadata
        .userinfo_endpoint
        .as_deref()
        .ok_or(Error::Metadata("userinfo_endpoint"))?;
    let response = http
        .get(endpoint)
        .bearer_auth(access_token)
        .send()
        .await
        .map_err(|e| Error::Unavailable(e.to_string()))?;
    if !response.status().is_success() {
        return Err(Error::Unavailable(format!(
            "UserInfo answered {}",
            response.status().as_u16()
        )));
    }
    let info: UserInfo = response
        .json()
        .await
        .map_err(|_| Error::Unavailable("UserInfo does not parse".into()))?;
    info.sub
        .ok_or(Error::Unavailable("UserInfo has no sub".into()))
}
