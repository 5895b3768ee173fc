//! What a verified caller may open: the table's rows for their identity,
//! narrowed by what they asked for, after the caller-wide rules
//! (`email_verified`, `allowed_groups`).
//!
//! This is the only place that decides; the HTTP edge only renders the
//! decision.

use crate::identity::{Caller, Groups};
use crate::table::{Row, Table};

/// Why a caller gets nothing. Each names an audit `reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    NotInTable,
    DomainNotGranted,
    SpaceNotGranted,
    UnknownDomain,
    EmailUnverified,
    GroupNotAllowed,
    /// The provider left out the group list (Entra ID's overage), so
    /// membership in `allowed_groups` cannot be known.
    GroupsUnknown,
}

impl Denial {
    /// The audit `reason`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::NotInTable => "not_in_table",
            Self::DomainNotGranted => "domain_not_granted",
            Self::SpaceNotGranted => "space_not_granted",
            Self::UnknownDomain => "unknown_domain",
            Self::EmailUnverified => "email_unverified",
            Self::GroupNotAllowed | Self::GroupsUnknown => "group_not_allowed",
        }
    }
}

/// The caller-wide rules, from the `oidc` section.
pub struct Rules<'a> {
    /// With `email` as the identity claim, the provider must have verified
    /// the address: anyone can type an unverified one.
    pub require_verified_email: bool,
    pub allowed_groups: &'a [String],
    /// Configured domain aliases.
    pub domains: &'a [String],
}

/// What the caller asked to open; both parts optional.
#[derive(Debug, Default, Clone, Copy)]
pub struct Request<'a> {
    pub domain: Option<&'a str>,
    pub space: Option<&'a str>,
}

/// The answer: one row to mint, or several for the caller to choose from.
#[derive(Debug)]
pub enum Decision<'t> {
    One(&'t Row),
    Several(Vec<&'t Row>),
}

/// Checks the caller-wide rules.
///
/// # Errors
/// The rule the caller fails.
pub fn admit(caller: &Caller, rules: &Rules<'_>) -> Result<(), Denial> {
    if rules.require_verified_email && !caller.email_verified {
        return Err(Denial::EmailUnverified);
    }
    if rules.allowed_groups.is_empty() {
        return Ok(());
    }
    match &caller.groups {
        Groups::Unknown => Err(Denial::GroupsUnknown),
        Groups::Listed(groups) if groups.iter().any(|g| rules.allowed_groups.contains(g)) => Ok(()),
        Groups::Listed(_) => Err(Denial::GroupNotAllowed),
    }
}

/// The caller's rows in configured domains.
pub fn granted<'t>(table: &'t Table, caller: &Caller, rules: &Rules<'_>) -> Vec<&'t Row> {
    table
        .rows_for(&caller.identity)
        .iter()
        .filter(|row| rules.domains.iter().any(|d| d == row.domain()))
        .collect()
}

/// Resolves `request` against the caller's rows.
///
/// # Errors
/// Why nothing may be opened.
pub fn decide<'t>(
    table: &'t Table,
    caller: &Caller,
    rules: &Rules<'_>,
    request: Request<'_>,
) -> Result<Decision<'t>, Denial> {
    admit(caller, rules)?;
    let rows = granted(table, caller, rules);
    // An unknown alias is only revealed to a caller who is signed in, and
    // only after the caller-wide rules passed.
    if let Some(domain) = request.domain
        && !rules.domains.iter().any(|d| d == domain)
    {
        return Err(Denial::UnknownDomain);
    }
    if rows.is_empty() {
        return Err(Denial::NotInTable);
    }
    let Some(domain) = request.domain else {
        return Ok(one_or_several(rows));
    };
    let in_domain: Vec<&Row> = rows.into_iter().filter(|r| r.domain() == domain).collect();
    if in_domain.is_empty() {
        return Err(Denial::DomainNotGranted);
    }
    let Some(space) = request.space else {
        return Ok(one_or_several(in_domain));
    };
    in_domain
        .into_iter()
        .find(|r| r.space() == Some(space))
        .map(Decision::One)
        .ok_or(Denial::SpaceNotGranted)
}

fn one_or_several(mut rows: Vec<&Row>) -> Decision<'_> {
    if rows.len() == 1 {
        Decision::One(rows.remove(0))
    } else {
        Decision::Several(rows)
    }
}

#[cfg(test)]
mod tests;
