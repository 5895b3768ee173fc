//! `CreatePresignedDomainUrl`: validates the request as SageMaker does,
//! checks that the domain, user profile and space exist, and hands out a
//! single-use sign-in URL whose token the emulator remembers.
//!
//! See <https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreatePresignedDomainUrl.html>.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::App;
use crate::error::ApiError;
use crate::state::{Grant, Profile, Store};
use crate::validate::{self, Checks};

/// AWS's default lifetime of the URL, in seconds.
const DEFAULT_EXPIRES: i64 = 300;
/// AWS's default lifetime of the Studio session, in seconds.
const DEFAULT_SESSION: i64 = 43_200;

/// The request body, in the API's own field names.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    domain_id: Option<String>,
    user_profile_name: Option<String>,
    space_name: Option<String>,
    landing_uri: Option<String>,
    expires_in_seconds: Option<i64>,
    session_expiration_duration_in_seconds: Option<i64>,
}

/// Mints one sign-in URL.
///
/// # Errors
///
/// `ValidationException` for broken constraints, `ResourceNotFound` for an
/// unknown domain, user profile or space.
pub fn create(app: &App, store: &mut Store, input: Input) -> Result<Value, ApiError> {
    check(&input)?;
    let domain_id = input.domain_id.unwrap_or_default();
    let profile_name = input.user_profile_name.unwrap_or_default();
    profile(store, &domain_id, &profile_name)?;
    // Known gap: any profile may open any space of its domain here; the
    // emulator does not model private spaces refusing other profiles.
    if let Some(space) = &input.space_name {
        let known = store.domain(&domain_id)?.spaces.contains_key(space);
        if !known {
            let message = format!("Space {space} does not exist");
            return Err(ApiError::ResourceNotFound(message));
        }
    }

    let expires = input.expires_in_seconds.unwrap_or(DEFAULT_EXPIRES);
    let lifetime = Duration::from_secs(expires.unsigned_abs());
    let token = fresh_token();
    let url = app.authorized_url(&domain_id, &token);
    let grant = Grant {
        domain_id,
        profile: profile_name,
        space: input.space_name,
        landing_uri: input.landing_uri,
        session_seconds: input
            .session_expiration_duration_in_seconds
            .unwrap_or(DEFAULT_SESSION),
        expires_at: Instant::now() + lifetime,
    };
    forget_expired(store);
    store.grant_order.push_back(token.clone());
    store.grants.insert(token, grant);
    Ok(json!({ "AuthorizedUrl": url }))
}

fn check(input: &Input) -> Result<(), ApiError> {
    let mut checks = Checks::default();
    let domain_id = input.domain_id.as_deref();
    checks.required("domainId", domain_id);
    checks.pattern(
        "domainId",
        domain_id,
        validate::is_domain_id,
        validate::DOMAIN_ID,
    );
    let profile = input.user_profile_name.as_deref();
    checks.required("userProfileName", profile);
    checks.pattern(
        "userProfileName",
        profile,
        validate::is_name,
        validate::NAME,
    );
    let space = input.space_name.as_deref();
    checks.pattern("spaceName", space, validate::is_name, validate::NAME);

    checks.range("expiresInSeconds", input.expires_in_seconds, 5, 300);
    let session = input.session_expiration_duration_in_seconds;
    checks.range("sessionExpirationDurationInSeconds", session, 1800, 43_200);
    let uri = input.landing_uri.as_deref();
    if let Some(uri) = uri.filter(|u| !is_good_landing_uri(u)) {
        checks.other(format!(
            "Value '{uri}' at 'landingUri' failed to satisfy constraint: \
             Member must start with 'studio::' or 'app:<AppType>:'"
        ));
    }
    checks.finish()
}

fn is_good_landing_uri(uri: &str) -> bool {
    uri.len() <= 1023 && validate::is_landing_uri(uri)
}

/// The user profile `name` of `domain_id`, matched exactly.
///
/// # Errors
///
/// `ResourceNotFound` naming the domain or the profile.
pub fn profile<'a>(store: &'a Store, domain_id: &str, name: &str) -> Result<&'a Profile, ApiError> {
    let domain = store.domain(domain_id)?;
    domain.profiles.get(name).ok_or_else(|| {
        ApiError::ResourceNotFound(format!(
            "User profile {name} does not exist in domain {domain_id}"
        ))
    })
}

/// Takes the grant of a token; a token works once, and not after expiry.
pub fn redeem(store: &mut Store, token: &str) -> Option<Grant> {
    let grant = store.grants.remove(token)?;
    (grant.expires_at > Instant::now()).then_some(grant)
}

/// A fresh 32-byte secret, hex encoded.
fn fresh_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex(&bytes)
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let digit = |n: u8| char::from(b"0123456789abcdef"[usize::from(n & 15)]);
    bytes
        .iter()
        .flat_map(|b| [digit(b >> 4), digit(*b)])
        .collect()
}

/// Keeps memory bounded when tests mint many URLs and open few. Grants
/// are looked at oldest first, only until one is still alive, so a mint
/// costs the same however many grants are alive. A short-lived grant
/// behind a longer-lived one waits for it: memory stays bounded by the
/// longest lifetime, 300 seconds.
fn forget_expired(store: &mut Store) {
    let now = Instant::now();
    while let Some(oldest) = store.grant_order.front() {
        let alive = store.grants.get(oldest).is_some_and(|g| g.expires_at > now);
        if alive {
            break;
        }
        if let Some(oldest) = store.grant_order.pop_front() {
            store.grants.remove(&oldest);
        }
    }
}

/// One entry of the call log, read leniently from the raw body so that
/// rejected requests are logged too. The token is never part of it.
pub fn call_record(body: &[u8], outcome: &Result<Value, ApiError>) -> Value {
    let input: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let field = |name: &str| input.get(name).cloned().unwrap_or(Value::Null);
    let outcome = match outcome {
        Ok(_) => "ok",
        Err(error) => error.code(),
    };
    json!({
        "domain_id": field("DomainId"),
        "user_profile_name": field("UserProfileName"),
        "space_name": field("SpaceName"),
        "landing_uri": field("LandingUri"),
        "expires_in_seconds": field("ExpiresInSeconds"),
        "session_expiration_duration_in_seconds":
            field("SessionExpirationDurationInSeconds"),
        "outcome": outcome,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hand_out(store: &mut Store, token: &str, expires_at: Instant) {
        let grant = Grant {
            domain_id: "d-1".into(),
            profile: "alice".into(),
            space: None,
            landing_uri: None,
            session_seconds: DEFAULT_SESSION,
            expires_at,
        };
        store.grant_order.push_back(token.into());
        store.grants.insert(token.into(), grant);
    }

    #[test]
    fn expired_grants_are_forgotten_oldest_first_until_one_lives() {
        let mut store = Store::default();
        let expired = Instant::now();
        let alive = expired + Duration::from_secs(60);
        hand_out(&mut store, "a", expired);
        hand_out(&mut store, "b", alive);
        store.grants.remove("b"); // used
        hand_out(&mut store, "c", alive);
        hand_out(&mut store, "d", expired);

        forget_expired(&mut store);

        let order: Vec<&str> = store.grant_order.iter().map(String::as_str).collect();
        assert_eq!(order, ["c", "d"], "d waits behind c");
        let mut held: Vec<&str> = store.grants.keys().map(String::as_str).collect();
        held.sort_unstable();
        assert_eq!(held, ["c", "d"]);
    }
}
