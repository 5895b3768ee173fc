//! Opening a target for a verified caller: decide, limit, mint, and write
//! the one audit event, for the API and the browser routes alike.

use super::context::Context;
use super::error::{Failure, TargetView};
use super::state::State;
use crate::access::{self, Decision, Denial};
use crate::audit::{self, Outcome, Subject};
use crate::identity::Caller;
use crate::studio::{MintError, Presigned, Target};
use crate::table::Row;

/// What the caller gets.
pub enum Opened {
    /// A fresh presigned URL for one target.
    Url(TargetView, Presigned),
    /// Several targets to choose from; nothing was minted.
    Choose(Vec<TargetView>),
}

pub fn view(row: &Row) -> TargetView {
    TargetView {
        domain: row.domain().to_owned(),
        space: row.space().map(str::to_owned),
        profile: row.profile().to_owned(),
    }
}

/// Decides what `caller` may open for `request`, and mints it when it is
/// one target.
///
/// # Errors
/// A denial, the rate limit, or a SageMaker failure; each is audited.
pub async fn open(
    state: &State,
    ctx: &Context,
    caller: &Caller,
    request: access::Request<'_>,
) -> Result<Opened, Failure> {
    let audit = audit_context(ctx, caller);
    // An owned handle, not the short-lived guard: the row is borrowed
    // across the SageMaker call, and arc-swap guards are meant to be
    // dropped quickly.
    let table = std::sync::Arc::clone(&state.table.current());
    let rules = state.access_rules();
    let row = match access::decide(&table, caller, &rules, request) {
        Ok(Decision::One(row)) => row,
        Ok(Decision::Several(rows)) => {
            return Ok(Opened::Choose(rows.into_iter().map(view).collect()));
        }
        Err(denial) => return Err(deny(ctx, caller, request, denial)),
    };
    let subject = Subject {
        domain: Some(row.domain()),
        profile: Some(row.profile()),
        space: row.space(),
    };
    if let Err(wait) = state.limits.mint(&caller.identity) {
        audit::record(&audit, subject, Outcome::Denied, "rate_limited");
        return Err(Failure::RateLimited(wait));
    }
    let target = Target {
        domain: row.domain(),
        profile: row.profile(),
        space: row.space(),
        landing_uri: row.landing_uri(),
        session_seconds: row.session_seconds(),
    };
    match state.studio.mint(&target, &caller.identity).await {
        Ok(presigned) => {
            audit::record(&audit, subject, Outcome::Granted, "granted");
            Ok(Opened::Url(view(row), presigned))
        }
        Err(e) => {
            let (outcome, reason) = mint_outcome(&e);
            audit::record(&audit, subject, outcome, reason);
            Err(Failure::Mint(e))
        }
    }
}

/// Audits a denial and turns it into the edge's failure.
pub fn deny(
    ctx: &Context,
    caller: &Caller,
    request: access::Request<'_>,
    denial: Denial,
) -> Failure {
    let subject = Subject {
        domain: request.domain,
        profile: None,
        space: request.space,
    };
    audit::record(
        &audit_context(ctx, caller),
        subject,
        Outcome::Denied,
        denial.reason(),
    );
    Failure::Denied(denial, Some(caller.identity.clone()))
}

fn audit_context<'a>(ctx: &'a Context, caller: &'a Caller) -> audit::Context<'a> {
    audit::Context {
        identity: &caller.identity,
        issuer: &caller.issuer,
        client_addr: ctx.client_addr,
        user_agent: &ctx.user_agent,
        request_id: &ctx.request_id,
    }
}

fn mint_outcome(e: &MintError) -> (Outcome, &'static str) {
    match e {
        MintError::NotFound(..) => {
            // The table names a profile SageMaker does not have: the
            // person cannot fix this, an operator must.
            tracing::error!(error = %e, "table row names a missing profile or space");
            (Outcome::Denied, "profile_missing")
        }
        MintError::Refused { .. } | MintError::Failed(_) => {
            tracing::error!(error = %e, "SageMaker refused to mint");
            (Outcome::Failed, "upstream_error")
        }
        MintError::UnknownDomain(_) => (Outcome::Denied, "unknown_domain"),
        MintError::Throttled => (Outcome::Failed, "upstream_throttled"),
        MintError::Timeout => (Outcome::Failed, "upstream_timeout"),
    }
}
