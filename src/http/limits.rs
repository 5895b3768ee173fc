//! Per-replica rate limits: mints per identity, and unauthenticated
//! requests per client address. Each replica counts on its own, so the
//! effective limit across N replicas is up to N times the configured one.

use crate::config;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

pub struct Limits {
    mints: Option<DefaultKeyedRateLimiter<String>>,
    unauthenticated: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
}

impl Limits {
    pub fn new(config: &config::Limits) -> Self {
        Self {
            mints: limiter(config.mints_per_minute),
            unauthenticated: limiter(config.unauthenticated_per_minute),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one mint for `identity`.
    ///
    /// # Errors
    /// Over the limit: how long until the next one is allowed.
    pub fn mint(&self, identity: &str) -> Result<(), Duration> {
        let Some(limiter) = &self.mints else {
            return Ok(());
        };
        limiter
            .check_key(&identity.to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Takes one unauthenticated request for `addr`.
    ///
    /// # Errors
    /// Over the limit: how long until the next one is allowed.
    pub fn unauthenticated(&self, addr: IpAddr) -> Result<(), Duration> {
        let Some(limiter) = &self.unauthenticated else {
            return Ok(());
        };
        limiter
            .check_key(&addr)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets idle keys; called periodically so memory stays bounded.
    pub fn shrink(&self) {
        if let Some(l) = &self.mints {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.unauthenticated {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

fn limiter<K>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>>
where
    K: std::hash::Hash + Eq + Clone,
{
    let n = NonZeroU32::new(per_minute)?;
    Some(governor::RateLimiter::keyed(Quota::per_minute(n)))
}
