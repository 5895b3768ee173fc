//! One audit event per decision about an authenticated caller, on the
//! target `studio_broker::audit`, with the fields operators search by.
//! Presigned URLs and tokens are never fields.

use std::net::IpAddr;

/// The target audit events are written to.
pub const TARGET: &str = "studio_broker::audit";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Granted,
    Denied,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Granted => "granted",
            Self::Denied => "denied",
            Self::Failed => "failed",
        }
    }
}

/// Who asked, from where.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub identity: &'a str,
    pub issuer: &'a str,
    pub client_addr: IpAddr,
    pub user_agent: &'a str,
    pub request_id: &'a str,
}

/// What they asked for, as far as it was resolved.
#[derive(Debug, Clone, Copy, Default)]
pub struct Subject<'a> {
    pub domain: Option<&'a str>,
    pub profile: Option<&'a str>,
    pub space: Option<&'a str>,
}

/// Writes one audit event and counts it.
pub fn record(ctx: &Context<'_>, subject: Subject<'_>, outcome: Outcome, reason: &'static str) {
    tracing::info!(
        target: TARGET,
        identity = ctx.identity,
        issuer = ctx.issuer,
        domain = subject.domain.unwrap_or(""),
        profile = subject.profile.unwrap_or(""),
        space = subject.space.unwrap_or(""),
        client_addr = %ctx.client_addr,
        user_agent = ctx.user_agent,
        request_id = ctx.request_id,
        outcome = outcome.as_str(),
        reason,
        "decision"
    );
    metrics::counter!(
        "studio_broker_decisions_total",
        "outcome" => outcome.as_str(),
        "reason" => reason
    )
    .increment(1);
}
