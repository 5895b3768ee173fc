//! ARNs: the IAM roles the documents name and the SageMaker resources they
//! cover.
//!
//! ARN formats follow the Service Authorization Reference for Amazon
//! SageMaker AI ("Resource types defined by Amazon SageMaker AI") and the
//! IAM identifiers page for roles.

use std::fmt;

/// The partitions a role may live in.
const PARTITIONS: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];

/// IAM's limit on a role name.
const MAX_ROLE_NAME: usize = 64;

/// IAM's limit on a role path, slashes included.
const MAX_ROLE_PATH: usize = 512;

/// The suffix that turns a role's name into its minting role's name.
const MINTING_SUFFIX: &str = "-mint";

/// An IAM role ARN, taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Role {
    pub partition: String,
    pub account: String,
    /// `/` or `/a/b/`, as IAM writes paths.
    pub path: String,
    pub name: String,
}

impl Role {
    /// Parses `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`; `None` when
    /// `value` is anything else, an assumed-role session ARN included.
    pub fn parse(value: &str) -> Option<Role> {
        let fields: Vec<&str> = value.splitn(6, ':').collect();
        let ["arn", partition, "iam", "", account, resource] = fields[..] else {
            return None;
        };
        let rest = resource.strip_prefix("role/")?;
        let (path, name) = match rest.rsplit_once('/') {
            Some((path, name)) => (format!("/{path}/"), name),
            None => ("/".to_owned(), rest),
        };

        let mut segments = path.trim_matches('/').split('/');
        let path_ok = path.len() <= MAX_ROLE_PATH && (path == "/" || segments.all(is_role_word));
        let ok = PARTITIONS.contains(&partition)
            && is_account(account)
            && path_ok
            && name.len() <= MAX_ROLE_NAME
            && is_role_word(name);
        ok.then(|| Role {
            partition: partition.to_owned(),
            account: account.to_owned(),
            path,
            name: name.to_owned(),
        })
    }

    /// The role that mints when `studio.source_identity` is on: the same
    /// path and account, named `<name>-mint`; `None` when that name would
    /// exceed IAM's limit.
    pub fn minting(&self) -> Option<Role> {
        let name = format!("{}{MINTING_SUFFIX}", self.name);
        (name.len() <= MAX_ROLE_NAME).then(|| Role {
            name,
            ..self.clone()
        })
    }

    /// The longest role name that still leaves room for the minting
    /// suffix.
    pub fn max_name_with_minting() -> usize {
        MAX_ROLE_NAME - MINTING_SUFFIX.len()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Role {
            partition,
            account,
            path,
            name,
        } = self;
        write!(f, "arn:{partition}:iam::{account}:role{path}{name}")
    }
}

/// IAM role names and path segments: letters, digits and `+=,.@_-`.
fn is_role_word(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+=,.@_-".contains(&c))
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|c| c.is_ascii_digit())
}

/// The partition a region belongs to. Regions of other partitions (such
/// as the isolated ones) are not distinguished: they fall to `aws`.
pub(super) fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The SageMaker resources of one domain.
pub(super) struct Domain<'a> {
    partition: &'static str,
    region: &'a str,
    account: &'a str,
    id: &'a str,
}

impl<'a> Domain<'a> {
    pub fn new(domain: &'a crate::config::Domain) -> Domain<'a> {
        Domain {
            partition: partition(&domain.region),
            region: &domain.region,
            account: &domain.account_id,
            id: &domain.id,
        }
    }

    fn prefix(&self) -> String {
        let Domain {
            partition,
            region,
            account,
            ..
        } = self;
        format!("arn:{partition}:sagemaker:{region}:{account}")
    }

    /// `arn:...:domain/DOMAIN_ID`
    pub fn arn(&self) -> String {
        format!("{}:domain/{}", self.prefix(), self.id)
    }

    /// The ARNs that may name a profile: see [`spellings`].
    pub fn profiles(&self, profile: &str) -> Vec<String> {
        let prefix = format!("{}:user-profile/{}/", self.prefix(), self.id);
        spellings(profile).map(|s| format!("{prefix}{s}")).collect()
    }

    /// The ARNs that may name a space: see [`spellings`].
    pub fn spaces(&self, space: &str) -> Vec<String> {
        let prefix = format!("{}:space/{}/", self.prefix(), self.id);
        spellings(space).map(|s| format!("{prefix}{s}")).collect()
    }

    /// `arn:...:user-profile/DOMAIN_ID/*`
    pub fn profile_pattern(&self) -> String {
        format!("{}:user-profile/{}/*", self.prefix(), self.id)
    }

    /// `arn:...:space/DOMAIN_ID/*`
    pub fn space_pattern(&self) -> String {
        format!("{}:space/{}/*", self.prefix(), self.id)
    }
}

/// A name as the table spells it and, when that differs, lower-cased.
///
/// SageMaker compares profile and space names without case, but IAM
/// compares resource ARNs with it, and SageMaker has been seen to authorize
/// against a lower-cased ARN for a mixed-case name. Both spellings name the
/// same resource, so listing both grants nothing more.
fn spellings(name: &str) -> impl Iterator<Item = String> {
    let lower = name.to_ascii_lowercase();
    let extra = (lower != name).then_some(lower);
    std::iter::once(name.to_owned()).chain(extra)
}
