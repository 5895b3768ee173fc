//! Browser sign-in: the OpenID Connect authorization-code flow with PKCE,
//! state and nonce, and the session cookie it ends in. No framework types
//! here; the HTTP edge turns requests into these calls and their results
//! into responses.
//!
//! Nothing about a login or a session lives in process memory: state,
//! nonce, PKCE verifier and return path travel in a short-lived sealed
//! login cookie, one per login (named by a hash of its state, so parallel
//! tabs do not overwrite each other); the session is a sealed cookie of
//! its own. Any replica sharing the config and keys can finish a login or
//! serve a session.

pub mod return_path;
mod seal;
mod session;
pub mod token;

use crate::config::{Config, Secret};
use crate::identity::{Metadata, Provider, verify::Rejected};
use cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use url::Url;

pub use seal::{KeyError, Sealer};
pub use session::{SESSION_COOKIE, Session};

/// Login cookies are named this plus 16 hex digits of SHA-256(state).
const LOGIN_PREFIX: &str = "sb_login_";

/// A login must come back from the provider within this time.
const LOGIN_TTL: Duration = Duration::from_secs(600);

/// At most this many logins may be pending in one browser; starting one
/// more drops the oldest.
const MAX_LOGINS: usize = 4;

/// What a pending login remembers, sealed in its cookie.
#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    return_to: String,
    expires: u64,
}

/// The relying party: this broker as a client of its provider.
pub struct SignIn {
    client_id: String,
    secret: Secret,
    scopes: Vec<String>,
    redirect_uri: String,
    public: Url,
    secure: bool,
    sealer: Sealer,
    session: session::Rules,
    userinfo: bool,
}

/// A started login: where to send the browser, and the cookies to set.
pub struct Started {
    pub location: Url,
    pub cookies: Vec<String>,
}

/// A finished login.
pub struct Finished {
    pub session: Session,
    pub return_to: String,
    pub cookies: Vec<String>,
}

/// What came back on the redirect URI. `Debug` shows only whether the
/// code and state are present: either could be replayed.
#[derive(Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let present = |v: &Option<String>| if v.is_some() { "[present]" } else { "[absent]" };
        f.debug_struct("Callback")
            .field("code", &present(&self.code))
            .field("state", &present(&self.state))
            .field("iss", &self.iss)
            .field("error", &self.error)
            .finish()
    }
}

/// Why a login did not finish. None of these carries a code or a token.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("the provider has not been discovered yet")]
    NotReady,
    #[error("iss in the authorization response is not the issuer")]
    IssuerMismatch,
    #[error("iss is missing from the authorization response")]
    IssuerMissing,
    #[error("the provider answered with error {0}")]
    ProviderError(String),
    #[error("no pending login matches this response, or it expired")]
    NoLogin,
    #[error("state does not match the pending login")]
    StateMismatch,
    #[error("the authorization response has no code")]
    NoCode,
    #[error("redeeming the code failed: {0}")]
    Redeem(token::Error),
    #[error("the ID token was refused: {0}")]
    Token(Rejected),
    #[error("UserInfo failed: {0}")]
    UserInfo(token::Error),
    #[error("UserInfo's sub differs from the ID token's")]
    UserInfoMismatch,
    #[error("cannot start a login: {0}")]
    Start(token::Error),
}

impl SignIn {
    /// # Errors
    /// The session keys cannot be used.
    pub fn new(config: &Config) -> Result<Self, KeyError> {
        let public = config.server.public_url.clone();
        let redirect_uri = format!("{}/oauth2/callback", public.as_str().trim_end_matches('/'));
        Ok(Self {
            client_id: config.oidc.client_id.clone(),
            secret: config.oidc.client_secret.clone(),
            scopes: config.oidc.scopes.clone(),
            redirect_uri,
            secure: config.server.secure_cookies(),
            public,
            sealer: Sealer::new(&config.session.keys)?,
            session: session::Rules::new(config),
            userinfo: config.oidc.userinfo,
        })
    }

    /// The public origin, for return-path checks.
    pub fn public_url(&self) -> &Url {
        &self.public
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Starts a login that returns to `return_to` (validated here).
    ///
    /// # Errors
    /// The provider's metadata lacks a usable endpoint.
    pub fn start(
        &self,
        metadata: &Metadata,
        return_to: &str,
        login_hint: Option<&str>,
        cookies: &[(String, String)],
    ) -> Result<Started, Refusal> {
        let nonce = oauth2::CsrfToken::new_random().secret().clone();
        let auth = token::authorization(
            metadata,
            &self.client_id,
            &self.secret,
            &self.redirect_uri,
            &self.scopes,
            &nonce,
            login_hint,
        )
        .map_err(Refusal::Start)?;
        let pending = Pending {
            state: auth.state.clone(),
            nonce,
            verifier: auth.verifier,
            return_to: return_path::validate(return_to, &self.public),
            expires: now() + LOGIN_TTL.as_secs(),
        };
        let mut out = self.drop_oldest_logins(cookies);
        out.push(self.login_cookie(&pending));
        Ok(Started {
            location: auth.url,
            cookies: out,
        })
    }

    fn login_cookie(&self, pending: &Pending) -> String {
        let name = login_name(&pending.state);
        let json = serde_json::to_string(pending).unwrap_or_default();
        let value = self.sealer.seal(&name, &json);
        self.cookie(name, value, "/oauth2", LOGIN_TTL)
    }

    /// Clears all but the newest `MAX_LOGINS - 1` pending logins, so the
    /// browser's cookie jar stays bounded.
    fn drop_oldest_logins(&self, cookies: &[(String, String)]) -> Vec<String> {
        let mut pending: Vec<(u64, &str)> = cookies
            .iter()
            .filter(|(name, _)| name.starts_with(LOGIN_PREFIX))
            .map(|(name, value)| {
                (
                    self.open_pending(name, value).map_or(0, |p| p.expires),
                    name.as_str(),
                )
            })
            .collect();
        pending.sort_unstable();
        let excess = (pending.len() + 1).saturating_sub(MAX_LOGINS);
        pending[..excess]
            .iter()
            .map(|(_, name)| self.removal((*name).to_owned(), "/oauth2"))
            .collect()
    }

    fn open_pending(&self, name: &str, value: &str) -> Option<Pending> {
        let opened = self.sealer.open(name, value)?;
        serde_json::from_str(&opened.value).ok()
    }

    /// Finishes a login, in the order that refuses before redeeming:
    /// RFC 9207 `iss`, a provider error, the pending login and its state;
    /// then the code, the ID token with its nonce, and UserInfo.
    ///
    /// # Errors
    /// The first check that fails, with the cookies to clear.
    pub async fn finish(
        &self,
        provider: &Provider,
        callback: &Callback,
        cookies: &[(String, String)],
    ) -> Result<Finished, (Refusal, Vec<String>)> {
        let metadata = provider.metadata().ok_or((Refusal::NotReady, Vec::new()))?;
        check_issuer(
            &metadata,
            callback.iss.as_deref(),
            &provider.config().issuer,
        )
        .map_err(|r| (r, Vec::new()))?;
        let (pending, name) = self.pending(callback, cookies)?;
        let clear = vec![self.removal(name, "/oauth2")];
        let fail = |r: Refusal| (r, clear.clone());
        if let Some(error) = &callback.error {
            return Err(fail(Refusal::ProviderError(error_code(error))));
        }
        let code = callback
            .code
            .as_deref()
            .ok_or_else(|| fail(Refusal::NoCode))?;
        let session = self
            .redeem(provider, &metadata, code, &pending)
            .await
            .map_err(fail)?;
        let mut cookies = clear.clone();
        cookies.push(self.session_cookie(&session));
        metrics::counter!("studio_broker_sessions_started_total").increment(1);
        Ok(Finished {
            session,
            return_to: pending.return_to,
            cookies,
        })
    }

    /// The pending login this response belongs to, found by its state and
    /// compared in constant time.
    fn pending(
        &self,
        callback: &Callback,
        cookies: &[(String, String)],
    ) -> Result<(Pending, String), (Refusal, Vec<String>)> {
        let state = callback.state.as_deref().unwrap_or("");
        let name = login_name(state);
        let value = cookies
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .ok_or((Refusal::NoLogin, Vec::new()))?;
        let clear = vec![self.removal(name.clone(), "/oauth2")];
        let pending = self
            .open_pending(&name, value)
            .filter(|p| p.expires > now())
            .ok_or_else(|| (Refusal::NoLogin, clear.clone()))?;
        let equal: bool =
            subtle::ConstantTimeEq::ct_eq(pending.state.as_bytes(), state.as_bytes()).into();
        if !equal {
            return Err((Refusal::StateMismatch, clear));
        }
        Ok((pending, name))
    }

    async fn redeem(
        &self,
        provider: &Provider,
        metadata: &Metadata,
        code: &str,
        pending: &Pending,
    ) -> Result<Session, Refusal> {
        let http = provider.http().client();
        let tokens = token::redeem(
            http,
            metadata,
            &self.client_id,
            &self.secret,
            &self.redirect_uri,
            code,
            &pending.verifier,
        )
        .await
        .map_err(Refusal::Redeem)?;
        let verified = provider
            .verify_id_token(&tokens.id_token, &pending.nonce)
            .await
            .map_err(Refusal::Token)?;
        if self.userinfo {
            let sub = token::userinfo_sub(http, metadata, &tokens.access_token)
                .await
                .map_err(Refusal::UserInfo)?;
            if sub != verified.subject {
                return Err(Refusal::UserInfoMismatch);
            }
        }
        Ok(self.session.start(verified.caller, verified.auth_time))
    }

    fn session_cookie(&self, session: &Session) -> String {
        let value = self.sealer.seal(SESSION_COOKIE, &session.to_json());
        let remaining = session.remaining(now());
        self.cookie(SESSION_COOKIE.to_owned(), value, "/", remaining)
    }

    /// The session of this browser, if its cookie opens and is current.
    /// A session sealed under an older key comes with a fresh cookie.
    pub fn session(&self, cookies: &[(String, String)], issuer: &str) -> SessionState {
        let Some((_, value)) = cookies.iter().find(|(n, _)| n == SESSION_COOKIE) else {
            return SessionState::None;
        };
        let opened = self.sealer.open(SESSION_COOKIE, value);
        let session = opened
            .as_ref()
            .and_then(|o| Session::from_json(&o.value))
            .filter(|s| s.is_current(issuer, now()));
        match (session, opened) {
            (Some(session), Some(opened)) => {
                let reissue = opened.stale_key.then(|| self.session_cookie(&session));
                SessionState::Valid { session, reissue }
            }
            _ => SessionState::Invalid {
                clear: self.removal(SESSION_COOKIE.to_owned(), "/"),
            },
        }
    }

    /// The cookie that ends this browser's session.
    pub fn sign_out(&self) -> String {
        self.removal(SESSION_COOKIE.to_owned(), "/")
    }

    fn cookie(&self, name: String, value: String, path: &str, max_age: Duration) -> String {
        let max_age =
            cookie::time::Duration::seconds(i64::try_from(max_age.as_secs()).unwrap_or(0));
        Cookie::build((name, value))
            .path(path.to_owned())
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .max_age(max_age)
            .build()
            .to_string()
    }

    fn removal(&self, name: String, path: &str) -> String {
        self.cookie(name, String::new(), path, Duration::ZERO)
    }
}

/// A browser's session, as its cookie says.
pub enum SessionState {
    None,
    Valid {
        session: Session,
        reissue: Option<String>,
    },
    /// Tampered, foreign, expired or from another issuer: ignored, and
    /// cleared.
    Invalid {
        clear: String,
    },
}

/// RFC 9207: a response's `iss` must be the issuer, and must be present
/// when the provider says it always sends it. This stops a mix-up where
/// another provider's response is replayed here.
fn check_issuer(metadata: &Metadata, iss: Option<&str>, issuer: &str) -> Result<(), Refusal> {
    match iss {
        Some(iss) if iss == issuer => Ok(()),
        Some(_) => Err(Refusal::IssuerMismatch),
        None if metadata.authorization_response_iss_parameter_supported => {
            Err(Refusal::IssuerMissing)
        }
        None => Ok(()),
    }
}

/// A provider's error code, kept only if it is a plain token, so nothing
/// the provider sends is echoed verbatim.
fn error_code(error: &str) -> String {
    let plain = error.len() <= 64 && error.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if plain {
        error.to_owned()
    } else {
        "invalid_error".to_owned()
    }
}

fn login_name(state: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, state.as_bytes());
    let hex: String = digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{LOGIN_PREFIX}{hex}")
}

/// Cookies of a request's `Cookie` headers, as name and value.
pub fn parse_cookies<'a>(headers: impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
    headers
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .map(|c| (c.name().to_owned(), c.value().to_owned()))
        .collect()
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests;
