//! The session cookie's contents: who signed in, with which issuer, the
//! groups that matter to `oidc.allowed_groups`, and when. Never the
//! provider's tokens. Small whatever the provider sends.

use crate::config::Config;
use crate::identity::{Caller, Groups};
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub const SESSION_COOKIE: &str = "sb_session";

/// Groups kept in a session at most; with more allowed groups than this, a
/// person in many of them keeps the first ones, which is enough to pass.
const MAX_GROUPS: usize = 16;

/// A signed-in person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    #[serde(rename = "iss")]
    issuer: String,
    #[serde(rename = "id")]
    identity: String,
    #[serde(rename = "ev")]
    email_verified: bool,
    /// `None`: the provider did not say (groups overage).
    #[serde(rename = "g")]
    groups: Option<Vec<String>>,
    #[serde(rename = "at")]
    auth_time: u64,
    #[serde(rename = "exp")]
    expires: u64,
}

pub(super) struct Rules {
    allowed_groups: Vec<String>,
    ttl: Duration,
}

impl Rules {
    pub fn new(config: &Config) -> Self {
        Self {
            allowed_groups: config.oidc.allowed_groups.clone(),
            ttl: config.session.ttl,
        }
    }

    /// A session for `caller`, lasting `session.ttl_seconds` from
    /// `auth_time` (the ID token's own, shorter `exp` does not end it).
    pub fn start(&self, caller: Caller, auth_time: i64) -> Session {
        let auth_time = u64::try_from(auth_time).unwrap_or(0);
        let groups = match caller.groups {
            Groups::Unknown => None,
            Groups::Listed(groups) => Some(
                groups
                    .into_iter()
                    .filter(|g| self.allowed_groups.contains(g))
                    .take(MAX_GROUPS)
                    .collect(),
            ),
        };
        Session {
            issuer: caller.issuer,
            identity: caller.identity,
            email_verified: caller.email_verified,
            groups,
            auth_time,
            expires: auth_time + self.ttl.as_secs(),
        }
    }
}

impl Session {
    pub fn caller(&self) -> Caller {
        Caller {
            issuer: self.issuer.clone(),
            identity: self.identity.clone(),
            email_verified: self.email_verified,
            groups: match &self.groups {
                Some(groups) => Groups::Listed(groups.clone()),
                None => Groups::Unknown,
            },
        }
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(json: &str) -> Option<Self> {
        serde_json::from_str(json).ok()
    }

    /// Vouched for by the configured issuer, and not expired.
    pub fn is_current(&self, issuer: &str, now: u64) -> bool {
        self.issuer == issuer && now < self.expires
    }

    pub fn remaining(&self, now: u64) -> Duration {
        Duration::from_secs(self.expires.saturating_sub(now))
    }
}
