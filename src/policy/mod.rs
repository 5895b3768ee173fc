//! IAM policy documents that leave the broker as the only principal able
//! to call `sagemaker:CreatePresignedDomainUrl`, written from the broker's
//! own config and table (`studio-broker policy`).
//!
//! # Output
//! One JSON object; the keys of kinds not asked for are left out.
//!
//! - `broker-role`: a permissions policy for the broker's role.
//! - `minting-role`: `{"policy", "trust"}` for the broker's minting role
//!   (below), only with `studio.source_identity`.
//! - `deny-others`: a service control policy for the organization unit or
//!   account that holds the domains.
//! - `per-user`: `{IAM user name: policy}` for each IAM user named in the
//!   table.
//! - `accounts`: `{account id: {...}}` for domains with `assume_role_arn`
//!   (below).
//!
//! `broker-role` is always a plain policy document. It allows minting on
//! exactly the profiles the table maps, reading the domains, profiles and
//! spaces for `check --remote`, and assuming the roles of other accounts.
//!
//! With `studio.source_identity` the broker role does not mint itself: it
//! assumes a minting role with the person's identity as the source identity
//! and mints with that session, so every URL names a person in CloudTrail.
//! The minting role is `studio.minting_role_arn` when set (the broker
//! requires it with `source_identity`), else, by convention, the role
//! named `<broker role name>-mint` with the broker role's path and
//! account; its `policy` allows minting and its `trust` lets only the
//! broker role assume it, and only with a source identity. Minting is then
//! allowed to the minting role alone.
//!
//! A domain with `assume_role_arn` is served by that role, in the domain's
//! account; each such account gets, under `accounts.<account id>`: `role`
//! (the role's ARN), `broker-role` (that role's permissions policy),
//! `trust` (its trust policy, letting the broker role assume it),
//! `minting-role` (as above, named after that role) and `deny-others` (the
//! service control policy for that account, excepting that role). One
//! account has one such role: two domains of one account that name
//! different roles are an error, since one account's documents could not
//! serve both. `per-user` stays one flat object over all accounts.
//!
//! A role's policy that would exceed IAM's 6,144 characters falls back to
//! one pattern per domain, and the notes say so; notes are for stderr.

mod arn;
mod document;
mod error;
mod network;
mod plan;
mod write;

#[cfg(test)]
mod tests;

use crate::config::Config;
use crate::table::Table;
use arn::Role;
use network::Network;
use serde_json::{Map, Value};
use std::str::FromStr;
use write::Writer;

pub use document::{MANAGED_POLICY_LIMIT, size};
pub use error::Error;

/// A kind of document, by its command-line name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `broker-role`: the broker role's permissions (and minting role's).
    BrokerRole,
    /// `deny-others`: a service control policy against everyone else.
    DenyOthers,
    /// `per-user`: one Deny policy per IAM user in the table.
    PerUser,
}

impl Kind {
    /// Every kind, in output order.
    pub const ALL: [Kind; 3] = [Kind::BrokerRole, Kind::DenyOthers, Kind::PerUser];

    /// The command-line name, which is also the output key.
    pub fn name(self) -> &'static str {
        match self {
            Kind::BrokerRole => "broker-role",
            Kind::DenyOthers => "deny-others",
            Kind::PerUser => "per-user",
        }
    }
}

impl FromStr for Kind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Kind, Error> {
        let kind = Kind::ALL.into_iter().find(|k| k.name() == s);
        kind.ok_or_else(|| Error::UnknownKind(s.to_owned()))
    }
}

/// What the command line asked for.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The ARN of the role the broker runs as.
    pub broker_role_arn: String,
    /// The kinds to print; empty prints all.
    pub kinds: Vec<Kind>,
    /// VPC endpoint ids the broker's minting calls may come through.
    pub source_vpce: Vec<String>,
    /// Addresses or CIDRs the broker's minting calls may come from.
    pub source_ip: Vec<String>,
}

impl Options {
    fn wants(&self, kind: Kind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }
}

/// The documents, and notes for the operator (fallbacks, rewritten
/// values) to print on stderr.
#[derive(Clone, Debug)]
pub struct Output {
    pub json: Value,
    pub notes: Vec<String>,
}

/// `studio.minting_role_arn`, taken apart.
fn configured_minting(config: &Config) -> Result<Option<Role>, Error> {
    let Some(arn) = &config.studio.minting_role_arn else {
        return Ok(None);
    };
    let role = Role::parse(arn).ok_or_else(|| Error::DomainRoleArn {
        key: "studio.minting_role_arn".into(),
        value: arn.clone(),
    })?;
    Ok(Some(role))
}

/// Writes the documents asked for in `options`.
///
/// # Errors
/// A broker role ARN, VPC endpoint id, address or kind that is not valid,
/// or a domain that no role can serve (see [`Error`]).
pub fn documents(config: &Config, table: &Table, options: &Options) -> Result<Output, Error> {
    let arn = &options.broker_role_arn;
    let broker = Role::parse(arn).ok_or_else(|| Error::BrokerRoleArn(arn.clone()))?;
    let mut notes = Vec::new();
    let (vpce, ip) = (&options.source_vpce, &options.source_ip);
    let network = Network::parse(vpce, ip, &mut notes)?;
    let plan = plan::plan(config, table, &broker)?;
    let writer = Writer {
        options,
        network: &network,
        source_identity: config.studio.source_identity,
        minting: configured_minting(config)?,
    };

    let mut json = Map::new();
    writer.top_level(&plan, &mut json, &mut notes)?;
    writer.accounts(&plan, &mut json, &mut notes)?;
    if options.wants(Kind::PerUser) {
        let users = write::per_user(&plan, &mut notes);
        json.insert(Kind::PerUser.name().into(), users);
    }
    Ok(Output {
        json: Value::Object(json),
        notes,
    })
}
