//! The policy documents themselves, in the IAM JSON policy language
//! (Version 2012-10-17), and the size limit they must fit.

use super::arn::Role;
use super::network::Network;
use super::plan::Resources;
use serde_json::{Value, json};

/// IAM's limit on a managed policy, in characters, whitespace not counted
/// (IAM and STS quotas, "Managed policy size").
pub const MANAGED_POLICY_LIMIT: usize = 6144;

const VERSION: &str = "2012-10-17";
const PRESIGN: &str = "sagemaker:CreatePresignedDomainUrl";

/// How a list of ARNs is written: each one, or one pattern per domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Precision {
    Exact,
    Pattern,
}

/// The precision of the describe and the mint resources in one attempt.
#[derive(Clone, Copy, Debug)]
struct Step {
    describe: Precision,
    mint: Precision,
}

/// The permissions policy of a role that calls SageMaker.
pub(super) struct RolePolicy<'a> {
    pub resources: &'a Resources,
    pub network: &'a Network,
    /// Whether the role calls `CreatePresignedDomainUrl` itself.
    pub mints: bool,
    /// Whether the role reads domains, profiles and spaces for `check
    /// --remote`.
    pub checks: bool,
    /// Further statements, such as those that assume other roles.
    pub extra: Vec<Value>,
}

impl RolePolicy<'_> {
    /// The document with exact ARNs when it fits the managed-policy limit,
    /// otherwise with one pattern per domain: first for the describe
    /// actions, then for minting too. Each fallback adds a note naming
    /// `what`.
    pub fn fit(&self, what: &str, notes: &mut Vec<String>) -> Value {
        let exact = Step {
            describe: Precision::Exact,
            mint: Precision::Exact,
        };
        let mut steps = vec![exact];
        if self.checks {
            steps.push(Step {
                describe: Precision::Pattern,
                ..exact
            });
        }
        if self.mints {
            steps.push(Step {
                describe: Precision::Pattern,
                mint: Precision::Pattern,
            });
        }

        let Some((last, earlier)) = steps.split_last() else {
            return self.build(exact);
        };
        for step in earlier {
            let document = self.build(*step);
            if size(&document) <= MANAGED_POLICY_LIMIT {
                note_fallback(what, *step, notes);
                return document;
            }
        }
        let document = self.build(*last);
        note_fallback(what, *last, notes);
        let size = size(&document);
        if size > MANAGED_POLICY_LIMIT {
            notes.push(too_large(what, size));
        }
        document
    }

    fn build(&self, step: Step) -> Value {
        let mut statements = Vec::new();
        if self.mints {
            let arns = pick(
                step.mint,
                &self.resources.profiles,
                &self.resources.profile_patterns,
            );
            statements.extend(mint_statements(arns, self.network));
        }
        if self.checks {
            statements.extend(self.describe(step.describe));
            statements.push(list_statement());
        }
        statements.extend(self.extra.iter().cloned());
        policy(statements)
    }

    /// One statement for the three describe actions: each action matches
    /// only its own resource type, so the shared list grants no more than
    /// three statements would, in fewer characters.
    fn describe(&self, precision: Precision) -> Option<Value> {
        let r = self.resources;
        let mut arns: Vec<String> = r.domains.iter().cloned().collect();
        arns.extend(pick(precision, &r.profiles, &r.profile_patterns));
        arns.extend(pick(precision, &r.spaces, &r.space_patterns));
        let actions = [
            "sagemaker:DescribeDomain",
            "sagemaker:DescribeUserProfile",
            "sagemaker:DescribeSpace",
        ];
        let statement = json!({
            "Sid": "DescribeForCheck",
            "Effect": "Allow",
            "Action": actions,
            "Resource": arns,
        });
        (!arns.is_empty()).then_some(statement)
    }
}

fn pick<'a>(
    precision: Precision,
    exact: &'a std::collections::BTreeSet<String>,
    patterns: &'a std::collections::BTreeSet<String>,
) -> Vec<String> {
    let chosen = match precision {
        Precision::Exact => exact,
        Precision::Pattern => patterns,
    };
    chosen.iter().cloned().collect()
}

/// The Allow statements for minting; none when there is nothing to mint,
/// since IAM refuses an empty `Resource`.
fn mint_statements(arns: Vec<String>, network: &Network) -> Vec<Value> {
    if arns.is_empty() {
        return Vec::new();
    }
    let statement = |sid: &str, condition: Option<Value>| {
        let mut s = json!({
            "Sid": sid,
            "Effect": "Allow",
            "Action": [PRESIGN],
            "Resource": arns,
        });
        if let Some(condition) = condition {
            s["Condition"] = condition;
        }
        s
    };
    let variants = network.mint_variants();
    variants
        .into_iter()
        .map(|(sid, c)| statement(sid, c))
        .collect()
}

/// `check --remote` lists each domain's profiles and spaces; the list
/// actions take no resource narrower than `*`.
fn list_statement() -> Value {
    json!({
        "Sid": "ListForCheck",
        "Effect": "Allow",
        "Action": ["sagemaker:ListUserProfiles", "sagemaker:ListSpaces"],
        "Resource": ["*"],
    })
}

/// Lets the broker assume `roles` (a domain's role in another account).
pub(super) fn assume_statement(roles: Vec<String>) -> Value {
    json!({
        "Sid": "AssumeDomainRoles",
        "Effect": "Allow",
        "Action": ["sts:AssumeRole"],
        "Resource": roles,
    })
}

/// Lets a role assume its minting role, naming the person as the source
/// identity and passing session tags.
pub(super) fn assume_minting_statement(minting: &Role) -> Value {
    json!({
        "Sid": "AssumeMintingRole",
        "Effect": "Allow",
        "Action": SESSION_ACTIONS,
        "Resource": [minting.to_string()],
    })
}

const SESSION_ACTIONS: [&str; 3] = ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"];

/// The trust policy of a minting role: only `caller` may assume it, and
/// only with a source identity, so that every URL it mints names a person
/// in CloudTrail.
pub(super) fn minting_trust(caller: &Role) -> Value {
    policy(vec![json!({
        "Sid": "TrustBroker",
        "Effect": "Allow",
        "Principal": { "AWS": caller.to_string() },
        "Action": SESSION_ACTIONS,
        "Condition": { "Null": { "sts:SourceIdentity": "false" } },
    })])
}

/// The trust policy of a domain's role in another account: the broker
/// role may assume it.
pub(super) fn domain_role_trust(broker: &Role) -> Value {
    policy(vec![json!({
        "Sid": "TrustBroker",
        "Effect": "Allow",
        "Principal": { "AWS": broker.to_string() },
        "Action": ["sts:AssumeRole"],
    })])
}

/// A service control policy that denies minting to every principal but
/// `allowed`.
///
/// `aws:PrincipalArn` of a role session is the role's ARN, so the roles
/// are named as such. No network condition is added here: a Deny that
/// applies only on some networks would let every other principal mint
/// from everywhere else.
pub(super) fn deny_others(allowed: Vec<String>) -> Value {
    policy(vec![json!({
        "Sid": "DenyPresignExceptBroker",
        "Effect": "Deny",
        "Action": [PRESIGN],
        "Resource": ["*"],
        "Condition": { "ArnNotLike": { "aws:PrincipalArn": allowed } },
    })])
}

/// The classic policy for an IAM user beside a broad SageMaker grant: deny
/// minting for every profile but the user's own.
pub(super) fn per_user(own: Vec<String>) -> Value {
    policy(vec![json!({
        "Sid": "DenyOtherProfiles",
        "Effect": "Deny",
        "Action": [PRESIGN],
        "NotResource": own,
    })])
}

fn policy(statements: Vec<Value>) -> Value {
    json!({ "Version": VERSION, "Statement": statements })
}

/// A document's size as IAM counts it: compact JSON, whitespace not
/// counted.
pub fn size(document: &Value) -> usize {
    let text = document.to_string();
    text.chars().filter(|c| !c.is_whitespace()).count()
}

fn note_fallback(what: &str, step: Step, notes: &mut Vec<String>) {
    let mut replaced = Vec::new();
    if step.describe == Precision::Pattern {
        replaced.push("DescribeUserProfile and DescribeSpace");
    }
    if step.mint == Precision::Pattern {
        replaced.push("CreatePresignedDomainUrl");
    }
    if replaced.is_empty() {
        return;
    }
    notes.push(format!(
        "{what}: the exact ARN list exceeds IAM's {MANAGED_POLICY_LIMIT} \
         characters for a managed policy; {} now name one pattern per \
         domain (.../DOMAIN_ID/*), which covers every profile or space in \
         those domains",
        replaced.join(" and ")
    ));
}

fn too_large(what: &str, size: usize) -> String {
    format!(
        "{what}: {size} characters, over IAM's {MANAGED_POLICY_LIMIT} for a \
         managed policy even with one pattern per domain; split it by hand"
    )
}
