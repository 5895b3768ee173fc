//! The emulator's memory: domains with their user profiles and spaces, the
//! sign-in tokens handed out, the STS sessions issued, the injected faults
//! and the call logs.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::error::ApiError;
use crate::sts::Session;
use crate::validate::{self, Checks};

/// Everything the emulator remembers, behind one lock.
#[derive(Default)]
pub struct Store {
    pub domains: BTreeMap<String, Domain>,
    /// Sign-in tokens not yet used, by token.
    pub grants: HashMap<String, Grant>,
    /// The same tokens in the order they were handed out, oldest first,
    /// so that expired grants are forgotten without scanning them all.
    pub grant_order: VecDeque<String>,
    pub faults: Faults,
    /// One entry per `CreatePresignedDomainUrl` that passed the signature
    /// check, in order; the latest [`CALL_LOG`].
    pub calls: VecDeque<serde_json::Value>,
    /// Sessions issued by `AssumeRole`, by access key id.
    pub sessions: HashMap<String, Session>,
    /// One entry per STS request that passed the signature check; the
    /// latest [`CALL_LOG`].
    pub sts_calls: VecDeque<serde_json::Value>,
}

/// How many calls each log keeps: far more than any test makes, and a
/// bound on memory when a benchmark makes millions.
pub const CALL_LOG: usize = 10_000;

/// Appends `record` to a call log, forgetting the oldest past [`CALL_LOG`].
pub fn log_call(log: &mut VecDeque<serde_json::Value>, record: serde_json::Value) {
    if log.len() == CALL_LOG {
        log.pop_front();
    }
    log.push_back(record);
}

/// A SageMaker domain.
pub struct Domain {
    pub name: String,
    pub auth_mode: String,
    pub created: f64,
    /// User profiles by their exact name.
    pub profiles: BTreeMap<String, Profile>,
    pub spaces: BTreeMap<String, Space>,
}

/// A user profile of a domain.
pub struct Profile {
    pub created: f64,
}

/// A space of a domain.
pub struct Space {
    pub owner: Option<String>,
    pub sharing: Option<String>,
    pub created: f64,
}

/// What one sign-in token opens, until it is used or expires.
pub struct Grant {
    pub domain_id: String,
    pub profile: String,
    pub space: Option<String>,
    pub landing_uri: Option<String>,
    pub session_seconds: i64,
    pub expires_at: Instant,
}

/// Failures and delays injected by the tests.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Faults {
    pub throttle_next: u32,
    pub fail_next: u32,
    pub latency_ms: u64,
    /// `AssumeRole` requests to answer with `AccessDenied`.
    pub sts_deny_next: u32,
}

/// State to create at start or on demand, with ids chosen by the tests.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    pub domains: Vec<SeedDomain>,
}

/// One seeded domain; an existing domain keeps its settings and gains the
/// profiles and spaces listed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedDomain {
    pub id: String,
    #[serde(default = "default_name")]
    pub name: String,
    #[serde(default = "default_auth_mode")]
    pub auth_mode: String,
    #[serde(default)]
    pub profiles: Vec<String>,
    #[serde(default)]
    pub spaces: Vec<SeedSpace>,
}

/// One seeded space.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSpace {
    pub name: String,
    pub owner: Option<String>,
}

fn default_name() -> String {
    "studio".to_owned()
}

fn default_auth_mode() -> String {
    "IAM".to_owned()
}

/// Seconds since the epoch, the way AWS JSON writes timestamps.
pub fn now_epoch() -> f64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH);
    since.map_or(0.0, |d| d.as_secs_f64())
}

impl Store {
    /// The domain with this id.
    ///
    /// # Errors
    ///
    /// `ResourceNotFound` naming the domain.
    pub fn domain(&self, id: &str) -> Result<&Domain, ApiError> {
        self.domains.get(id).ok_or_else(|| missing_domain(id))
    }

    /// Adds an empty domain.
    ///
    /// # Errors
    ///
    /// `ResourceInUse` if the id is taken.
    pub fn add_domain(&mut self, id: &str, name: &str, auth_mode: &str) -> Result<(), ApiError> {
        if self.domains.contains_key(id) {
            let message = format!("Domain {id} already exists");
            return Err(ApiError::ResourceInUse(message));
        }
        let domain = Domain {
            name: name.to_owned(),
            auth_mode: auth_mode.to_owned(),
            created: now_epoch(),
            profiles: BTreeMap::new(),
            spaces: BTreeMap::new(),
        };
        self.domains.insert(id.to_owned(), domain);
        Ok(())
    }

    /// Adds a user profile, stored exactly as named.
    ///
    /// # Errors
    ///
    /// `ResourceNotFound` for an unknown domain; `ResourceInUse` if a
    /// profile of that name exists, compared without case as SageMaker
    /// does when it creates one.
    pub fn add_profile(&mut self, domain_id: &str, name: &str) -> Result<(), ApiError> {
        let domain = self.domains.get_mut(domain_id);
        let domain = domain.ok_or_else(|| missing_domain(domain_id))?;
        let profiles = &mut domain.profiles;
        if profiles.keys().any(|p| p.eq_ignore_ascii_case(name)) {
            return Err(ApiError::ResourceInUse(format!(
                "User profile {name} already exists in domain {domain_id}"
            )));
        }
        profiles.insert(
            name.to_owned(),
            Profile {
                created: now_epoch(),
            },
        );
        Ok(())
    }

    /// Adds a space, owned by an existing profile when `owner` is given.
    ///
    /// # Errors
    ///
    /// `ResourceNotFound` for an unknown domain or owner; `ResourceInUse`
    /// for a taken name.
    pub fn add_space(
        &mut self,
        domain_id: &str,
        name: &str,
        owner: Option<&str>,
        sharing: Option<&str>,
    ) -> Result<(), ApiError> {
        let domain = self.domains.get_mut(domain_id);
        let domain = domain.ok_or_else(|| missing_domain(domain_id))?;
        if let Some(owner) = owner.filter(|o| !domain.profiles.contains_key(*o)) {
            return Err(ApiError::ResourceNotFound(format!(
                "User profile {owner} does not exist in domain {domain_id}"
            )));
        }
        if domain.spaces.contains_key(name) {
            let message = format!("Space {name} already exists");
            return Err(ApiError::ResourceInUse(message));
        }

        let space = Space {
            owner: owner.map(str::to_owned),
            sharing: sharing.map(str::to_owned),
            created: now_epoch(),
        };
        domain.spaces.insert(name.to_owned(), space);
        Ok(())
    }

    /// Creates the seeded state; profiles and spaces already present under
    /// the same exact name are left as they are.
    ///
    /// # Errors
    ///
    /// A message for the first invalid or conflicting entry.
    pub fn apply_seed(&mut self, seed: &Seed) -> Result<(), ApiError> {
        for domain in &seed.domains {
            check_seed_domain(domain)?;
            if !self.domains.contains_key(&domain.id) {
                self.add_domain(&domain.id, &domain.name, &domain.auth_mode)?;
            }
            self.seed_members(domain)?;
        }
        Ok(())
    }

    fn seed_members(&mut self, seed: &SeedDomain) -> Result<(), ApiError> {
        let id = seed.id.as_str();
        for profile in &seed.profiles {
            if !self.domain(id)?.profiles.contains_key(profile) {
                self.add_profile(id, profile)?;
            }
        }
        for space in &seed.spaces {
            if !self.domain(id)?.spaces.contains_key(&space.name) {
                let owner = space.owner.as_deref();
                self.add_space(id, &space.name, owner, None)?;
            }
        }
        Ok(())
    }
}

fn missing_domain(id: &str) -> ApiError {
    ApiError::ResourceNotFound(format!("Domain {id} does not exist"))
}

fn check_seed_domain(seed: &SeedDomain) -> Result<(), ApiError> {
    let mut checks = Checks::default();
    let id = Some(seed.id.as_str());
    checks.pattern("id", id, validate::is_domain_id, validate::DOMAIN_ID);
    let name = Some(seed.name.as_str());
    checks.pattern("name", name, validate::is_name, validate::NAME);
    if !["IAM", "SSO"].contains(&seed.auth_mode.as_str()) {
        checks.other(format!("auth_mode {} is not IAM or SSO", seed.auth_mode));
    }
    for profile in &seed.profiles {
        let profile = Some(profile.as_str());
        checks.pattern("profiles", profile, validate::is_name, validate::NAME);
    }
    for space in &seed.spaces {
        let name = Some(space.name.as_str());
        checks.pattern("spaces", name, validate::is_name, validate::NAME);
    }
    checks.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_log_keeps_the_latest_calls() {
        let mut log = VecDeque::new();
        for n in 0..CALL_LOG + 5 {
            log_call(&mut log, serde_json::json!(n));
        }
        assert_eq!(log.len(), CALL_LOG);
        assert_eq!(log.front(), Some(&serde_json::json!(5)));
        assert_eq!(log.back(), Some(&serde_json::json!(CALL_LOG + 4)));
    }
}
