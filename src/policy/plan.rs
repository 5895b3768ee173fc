//! Which role mints for which domain, and the resources each role and
//! each IAM user is given, gathered from the config and the table.

use super::Error;
use super::arn::{self, Role};
use crate::config::{Config, Domain};
use crate::table::Table;
use std::collections::{BTreeMap, BTreeSet};

/// The SageMaker resources of one role's domains, sorted and without
/// duplicates.
#[derive(Debug, Default)]
pub(super) struct Resources {
    pub domains: BTreeSet<String>,
    pub profiles: BTreeSet<String>,
    pub spaces: BTreeSet<String>,
    /// One pattern per domain with profiles in the table.
    pub profile_patterns: BTreeSet<String>,
    /// One pattern per domain with spaces in the table.
    pub space_patterns: BTreeSet<String>,
}

/// A role that calls SageMaker, and the domains it serves.
#[derive(Debug)]
pub(super) struct Group {
    pub role: Role,
    /// Aliases of the domains served, in configuration order.
    pub aliases: Vec<String>,
    pub resources: Resources,
}

impl Group {
    fn new(role: Role) -> Group {
        Group {
            role,
            aliases: Vec::new(),
            resources: Resources::default(),
        }
    }
}

/// Everything the documents are written from.
#[derive(Debug)]
pub(super) struct Plan {
    /// The domains without `assume_role_arn`, served by the broker role.
    pub broker: Group,
    /// The other domains, by account id, each served by its account's role.
    pub accounts: BTreeMap<String, Group>,
    /// Each IAM user's profile ARNs.
    pub users: BTreeMap<String, BTreeSet<String>>,
}

/// Gathers the plan.
///
/// # Errors
/// A domain whose role cannot serve it: an unusable `assume_role_arn`, a
/// role in another account or partition than the domain, two roles for
/// one account, or a domain outside the broker's account without a role.
pub(super) fn plan(config: &Config, table: &Table, broker: &Role) -> Result<Plan, Error> {
    let mut plan = Plan {
        broker: Group::new(broker.clone()),
        accounts: BTreeMap::new(),
        users: BTreeMap::new(),
    };
    for (index, domain) in config.domains.iter().enumerate() {
        let key = Key { config, index };
        let group = group_for(&mut plan, key, domain)?;
        group.aliases.push(domain.alias.clone());
        group
            .resources
            .domains
            .insert(arn::Domain::new(domain).arn());
    }
    for row in table.rows() {
        let Some(domain) = config.domain(row.domain()) else {
            continue;
        };
        add_row(&mut plan, domain, row);
    }
    Ok(plan)
}

/// Names a domain's keys in messages: the file and `domains[i]`.
#[derive(Clone, Copy)]
struct Key<'a> {
    config: &'a Config,
    index: usize,
}

impl Key<'_> {
    fn name(&self, field: &str) -> String {
        let file = self.config.path.display();
        format!("{file}: domains[{}].{field}", self.index)
    }
}

fn group_for<'p>(
    plan: &'p mut Plan,
    key: Key<'_>,
    domain: &Domain,
) -> Result<&'p mut Group, Error> {
    match &domain.assume_role_arn {
        None => broker_group(plan, key, domain),
        Some(value) => account_group(plan, key, domain, value),
    }
}

/// The broker's own credentials reach only its own account.
fn broker_group<'p>(
    plan: &'p mut Plan,
    key: Key<'_>,
    domain: &Domain,
) -> Result<&'p mut Group, Error> {
    let role = &plan.broker.role;
    check_partition(role, key, domain)?;
    if role.account != domain.account_id {
        return Err(Error::ForeignAccount {
            key: key.name("account_id"),
            account: domain.account_id.clone(),
            role: role.to_string(),
        });
    }
    Ok(&mut plan.broker)
}

/// A domain's role must be in the domain's account, and one account has
/// one role.
fn account_group<'p>(
    plan: &'p mut Plan,
    key: Key<'_>,
    domain: &Domain,
    value: &str,
) -> Result<&'p mut Group, Error> {
    let role = Role::parse(value).ok_or_else(|| Error::DomainRoleArn {
        key: key.name("assume_role_arn"),
        value: value.to_owned(),
    })?;
    check_partition(&role, key, domain)?;
    if role.account != domain.account_id {
        return Err(Error::RoleAccount {
            key: key.name("assume_role_arn"),
            account: domain.account_id.clone(),
            role: role.to_string(),
        });
    }

    let group = plan
        .accounts
        .entry(domain.account_id.clone())
        .or_insert_with(|| Group::new(role.clone()));
    if group.role != role {
        return Err(Error::ConflictingRoles {
            key: key.name("assume_role_arn"),
            account: domain.account_id.clone(),
            role: role.to_string(),
            other: group.role.to_string(),
            other_domain: group.aliases.join(", "),
        });
    }
    Ok(group)
}

/// A role can call SageMaker only in its own partition.
fn check_partition(role: &Role, key: Key<'_>, domain: &Domain) -> Result<(), Error> {
    let partition = arn::partition(&domain.region);
    if role.partition == partition {
        return Ok(());
    }
    Err(Error::Partition {
        key: key.name("region"),
        region: domain.region.clone(),
        partition: partition.to_owned(),
        role: role.to_string(),
    })
}

fn add_row(plan: &mut Plan, domain: &Domain, row: &crate::table::Row) {
    let arns = arn::Domain::new(domain);
    let profiles = arns.profiles(row.profile());
    let group = match domain.assume_role_arn {
        Some(_) => plan.accounts.get_mut(&domain.account_id),
        None => Some(&mut plan.broker),
    };
    if let Some(group) = group {
        let resources = &mut group.resources;
        resources.profiles.extend(profiles.iter().cloned());
        resources.profile_patterns.insert(arns.profile_pattern());
        if let Some(space) = row.space() {
            resources.spaces.extend(arns.spaces(space));
            resources.space_patterns.insert(arns.space_pattern());
        }
    }
    if let Some(user) = row.iam_user() {
        let own = plan.users.entry(user.to_owned()).or_default();
        own.extend(profiles);
    }
}
