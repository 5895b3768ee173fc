//! Token verification: the signature by `jsonwebtoken`, the claims by the
//! rules of [OpenID Connect Core §3.1.3.7] and of this broker's contract.
//!
//! [OpenID Connect Core §3.1.3.7]:
//!     https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation

use super::keys::KeySet;
use super::{Caller, Groups};
use crate::table::{self, IdentityKind};
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// Why a token was refused. The variant names the rule; none carries the
/// token or any claim value that could be a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("algorithm {0} is not allowed")]
    Algorithm(String),
    #[error("no key of the provider's key set matches the token")]
    UnknownKey,
    #[error("the signature does not verify")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet (nbf)")]
    NotYetValid,
    #[error("iss is not the configured issuer")]
    Issuer,
    #[error("aud does not name an accepted audience")]
    Audience,
    #[error("azp is not an accepted client")]
    AuthorizedParty,
    #[error("claim {0} is missing or malformed")]
    Claim(&'static str),
    #[error("iat is in the future")]
    IssuedInFuture,
    #[error("nonce does not match the one sent")]
    Nonce,
    #[error("the identity claim {0} is missing or not a string")]
    Identity(String),
    #[error("no signing keys are loaded yet")]
    NoKeys,
}

/// What a verified token must satisfy beyond its signature.
pub struct Rules<'a> {
    pub issuer: &'a str,
    pub audiences: &'a [String],
    pub algorithms: &'a [Algorithm],
    pub skew_seconds: u64,
    pub kind: Kind<'a>,
    pub identity_claim: &'a str,
    pub groups_claim: &'a str,
}

/// Bearer tokens and the broker's own sign-in ID tokens differ in their
/// `azp` and `nonce` rules.
pub enum Kind<'a> {
    /// A token presented to the API: `azp` (or `client_id`) must be one of
    /// `allowed_clients` when that list is set.
    Bearer { allowed_clients: &'a [String] },
    /// An ID token from this broker's own sign-in: `aud` holds the client
    /// id, `azp` equals it when present (and is required with several
    /// audiences), and `nonce` equals the one sent.
    SignIn { client_id: &'a str, nonce: &'a str },
}

/// A token that passed every rule.
#[derive(Debug, Clone)]
pub struct Verified {
    pub caller: Caller,
    /// `auth_time`, else `iat`, in seconds.
    pub auth_time: i64,
    /// The `sub` claim as sent, for comparing with UserInfo.
    pub subject: String,
}

/// Verifies `token` against `keys` and `rules`.
///
/// # Errors
/// The first rule the token breaks.
pub fn verify(token: &str, keys: &KeySet, rules: &Rules<'_>) -> Result<Verified, Rejected> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| Rejected::Malformed)?;
    // The algorithm is taken from the header only to pick keys; it must be
    // on the allow-list and among the algorithms the key itself permits,
    // which is how `none` and HMAC (never on either) stay out.
    if !rules.algorithms.contains(&header.alg) {
        return Err(Rejected::Algorithm(format!("{:?}", header.alg)));
    }
    let validation = validation(rules, header.alg);
    let mut result = Err(Rejected::UnknownKey);
    for key in keys.candidates(header.kid.as_deref(), header.alg) {
        result = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
            .map_err(rejection);
        if !matches!(result, Err(Rejected::Signature)) {
            break;
        }
    }
    let claims = result?.claims;
    check_claims(&claims, rules)?;
    caller(&claims, rules)
}

fn validation(rules: &Rules<'_>, alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    v.leeway = rules.skew_seconds;
    v.validate_nbf = true;
    v.set_issuer(&[rules.issuer]);
    v.set_audience(rules.audiences);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v
}

fn rejection(e: jsonwebtoken::errors::Error) -> Rejected {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::InvalidSignature => Rejected::Signature,
        K::ExpiredSignature => Rejected::Expired,
        K::ImmatureSignature => Rejected::NotYetValid,
        K::InvalidIssuer => Rejected::Issuer,
        K::InvalidAudience => Rejected::Audience,
        K::MissingRequiredClaim(c) if c == "aud" => Rejected::Audience,
        K::MissingRequiredClaim(c) if c == "iss" => Rejected::Issuer,
        K::MissingRequiredClaim(c) if c == "sub" => Rejected::Claim("sub"),
        K::MissingRequiredClaim(_) => Rejected::Claim("exp"),
        K::InvalidClaimFormat(c) if c == "nbf" => Rejected::Claim("nbf"),
        K::InvalidClaimFormat(c) if c == "iss" => Rejected::Issuer,
        K::InvalidClaimFormat(c) if c == "sub" => Rejected::Claim("sub"),
        K::InvalidClaimFormat(_) => Rejected::Claim("exp"),
        K::InvalidAlgorithm => Rejected::Algorithm("mismatch".into()),
        _ => Rejected::Malformed,
    }
}

fn check_claims(claims: &Map<String, Value>, rules: &Rules<'_>) -> Result<(), Rejected> {
    // The crate accepts `iss` given as an array; an issuer is one string.
    if claims.get("iss").and_then(Value::as_str) != Some(rules.issuer) {
        return Err(Rejected::Issuer);
    }
    let sub = claims.get("sub").and_then(Value::as_str);
    if sub.is_none_or(str::is_empty) {
        return Err(Rejected::Claim("sub"));
    }
    let iat = number(claims, "iat").ok_or(Rejected::Claim("iat"))?;
    if iat > now() + rules.skew_seconds as f64 {
        return Err(Rejected::IssuedInFuture);
    }
    match rules.kind {
        Kind::Bearer { allowed_clients } => bearer_party(claims, allowed_clients),
        Kind::SignIn { client_id, nonce } => sign_in(claims, client_id, nonce),
    }
}

fn bearer_party(claims: &Map<String, Value>, allowed: &[String]) -> Result<(), Rejected> {
    if allowed.is_empty() {
        return Ok(());
    }
    let party = claims
        .get("azp")
        .or_else(|| claims.get("client_id"))
        .and_then(Value::as_str);
    match party {
        Some(p) if allowed.iter().any(|a| a == p) => Ok(()),
        _ => Err(Rejected::AuthorizedParty),
    }
}

fn sign_in(claims: &Map<String, Value>, client_id: &str, nonce: &str) -> Result<(), Rejected> {
    let audiences = strings(claims.get("aud"));
    if !audiences.iter().any(|a| a == client_id) {
        return Err(Rejected::Audience);
    }
    let azp = claims.get("azp").and_then(Value::as_str);
    match azp {
        Some(azp) if azp != client_id => return Err(Rejected::AuthorizedParty),
        None if audiences.len() > 1 => return Err(Rejected::AuthorizedParty),
        _ => {}
    }
    let sent = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
    // Constant time: the nonce binds this token to the login cookie.
    let equal: bool = subtle::ConstantTimeEq::ct_eq(sent.as_bytes(), nonce.as_bytes()).into();
    if sent.is_empty() || !equal {
        return Err(Rejected::Nonce);
    }
    Ok(())
}

fn caller(claims: &Map<String, Value>, rules: &Rules<'_>) -> Result<Verified, Rejected> {
    let raw = claims
        .get(rules.identity_claim)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Rejected::Identity(rules.identity_claim.to_owned()))?;
    let kind = IdentityKind::for_claim(rules.identity_claim);
    let auth_time = number(claims, "auth_time")
        .or_else(|| number(claims, "iat"))
        .unwrap_or_else(now) as i64;
    let caller = Caller {
        issuer: rules.issuer.to_owned(),
        identity: table::normalize(kind, raw).into_owned(),
        email_verified: email_verified(claims.get("email_verified")),
        groups: groups(claims, rules.groups_claim),
    };
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(Verified {
        caller,
        auth_time,
        subject,
    })
}

/// `email_verified` as providers send it: a boolean, or (Cognito) the
/// string `"true"`.
fn email_verified(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

/// The groups claim as an array or a single string. Entra ID replaces a
/// long list with `_claim_names` / `hasgroups` ("overage"); then the
/// membership is unknown, and no URL from the token is ever fetched.
fn groups(claims: &Map<String, Value>, claim: &str) -> Groups {
    let overage = claims.get("hasgroups").is_some()
        || claims
            .get("_claim_names")
            .and_then(Value::as_object)
            .is_some_and(|names| names.contains_key(claim));
    match claims.get(claim) {
        Some(value) => Groups::Listed(strings(Some(value))),
        None if overage => Groups::Unknown,
        None => Groups::Listed(Vec::new()),
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// A NumericDate, written as an integer or a float.
fn number(claims: &Map<String, Value>, name: &str) -> Option<f64> {
    claims
        .get(name)
        .and_then(Value::as_f64)
        .filter(|n| n.is_finite())
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
