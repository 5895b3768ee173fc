//! Turning a plan into the output object: which documents each role gets
//! and under which key.

use super::arn::Role;
use super::document::{self, MANAGED_POLICY_LIMIT, RolePolicy, size};
use super::network::Network;
use super::plan::{Group, Plan};
use super::{Error, Kind, Options};
use serde_json::{Map, Value, json};

/// What every role's documents share.
pub(super) struct Writer<'a> {
    pub options: &'a Options,
    pub network: &'a Network,
    pub source_identity: bool,
    /// `studio.minting_role_arn`, the broker role's minting role.
    pub minting: Option<Role>,
}

impl Writer<'_> {
    pub fn top_level(
        &self,
        plan: &Plan,
        json: &mut Map<String, Value>,
        notes: &mut Vec<String>,
    ) -> Result<(), Error> {
        let accounts = plan.accounts.values();
        let roles: Vec<String> = accounts.map(|group| group.role.to_string()).collect();
        let extra = match roles.is_empty() {
            true => Vec::new(),
            false => vec![document::assume_statement(roles)],
        };
        let minting = self.minting.as_ref();
        let docs = self.role_documents(&plan.broker, minting, extra, "", notes)?;
        docs.insert_into(json, self.options);
        Ok(())
    }

    pub fn accounts(
        &self,
        plan: &Plan,
        json: &mut Map<String, Value>,
        notes: &mut Vec<String>,
    ) -> Result<(), Error> {
        let wanted = [Kind::BrokerRole, Kind::DenyOthers]
            .into_iter()
            .any(|kind| self.options.wants(kind));
        if plan.accounts.is_empty() || !wanted {
            return Ok(());
        }
        let mut accounts = Map::new();
        for (account, group) in &plan.accounts {
            let prefix = format!("accounts.{account}.");
            let docs = self.role_documents(group, None, Vec::new(), &prefix, notes)?;
            let shared = *account == plan.broker.role.account;
            if shared && self.options.wants(Kind::DenyOthers) {
                notes.push(shared_account_note(account));
            }
            let mut entry = Map::new();
            entry.insert("role".into(), group.role.to_string().into());
            if self.options.wants(Kind::BrokerRole) {
                let trust = document::domain_role_trust(&plan.broker.role);
                entry.insert("trust".into(), trust);
            }
            docs.insert_into(&mut entry, self.options);
            accounts.insert(account.clone(), Value::Object(entry));
        }
        json.insert("accounts".into(), Value::Object(accounts));
        Ok(())
    }

    /// The documents of one role that calls SageMaker, with its minting
    /// role when configured; `prefix` places it in notes (`""` or
    /// `accounts.<id>.`).
    fn role_documents(
        &self,
        group: &Group,
        configured: Option<&Role>,
        mut extra: Vec<Value>,
        prefix: &str,
        notes: &mut Vec<String>,
    ) -> Result<RoleDocuments, Error> {
        let minting = self.minting_role(&group.role, configured)?;
        if let Some(minting) = &minting {
            extra.push(document::assume_minting_statement(minting));
        }
        // With a minting role, the role itself must not mint: it could
        // then open Studio without naming the person as source identity.
        let own = RolePolicy {
            resources: &group.resources,
            network: self.network,
            mints: minting.is_none(),
            checks: true,
            extra,
        };
        let what = format!("{prefix}broker-role");
        let policy = own.fit(&what, notes);
        let mut allowed = vec![group.role.to_string()];

        let minting = minting.map(|minting| {
            allowed.push(minting.to_string());
            let policy = RolePolicy {
                checks: false,
                mints: true,
                extra: Vec::new(),
                ..own
            };
            let what = format!("{prefix}minting-role.policy");
            json!({
                "policy": policy.fit(&what, notes),
                "trust": document::minting_trust(&group.role),
            })
        });
        Ok(RoleDocuments {
            policy,
            minting,
            deny_others: document::deny_others(allowed),
        })
    }

    /// The configured minting role, else the one named by convention.
    fn minting_role(&self, role: &Role, configured: Option<&Role>) -> Result<Option<Role>, Error> {
        if !self.source_identity {
            return Ok(None);
        }
        if let Some(configured) = configured {
            return Ok(Some(configured.clone()));
        }
        let minting = role.minting().ok_or_else(|| Error::MintingRoleName {
            role: role.to_string(),
            max: Role::max_name_with_minting(),
        })?;
        Ok(Some(minting))
    }
}

/// Two service control policies on one account would each deny the
/// other's role.
fn shared_account_note(account: &str) -> String {
    format!(
        "accounts.{account}: this is also the broker role's account; attach \
         only one deny-others there, with the roles of both documents in \
         its aws:PrincipalArn list"
    )
}

/// One role's documents, before the kinds asked for are picked.
struct RoleDocuments {
    policy: Value,
    minting: Option<Value>,
    deny_others: Value,
}

impl RoleDocuments {
    fn insert_into(self, json: &mut Map<String, Value>, options: &Options) {
        if options.wants(Kind::BrokerRole) {
            json.insert(Kind::BrokerRole.name().into(), self.policy);
            if let Some(minting) = self.minting {
                json.insert("minting-role".into(), minting);
            }
        }
        if options.wants(Kind::DenyOthers) {
            json.insert(Kind::DenyOthers.name().into(), self.deny_others);
        }
    }
}

/// Each IAM user's Deny policy. A Deny cannot fall back to patterns
/// without letting the user mint for others, so an oversized one is
/// only noted.
pub(super) fn per_user(plan: &Plan, notes: &mut Vec<String>) -> Value {
    if plan.users.is_empty() {
        notes.push("per-user: no table row has iam_user".into());
    }
    let mut users = Map::new();
    for (user, own) in &plan.users {
        let document = document::per_user(own.iter().cloned().collect());
        let size = size(&document);
        if size > MANAGED_POLICY_LIMIT {
            notes.push(format!(
                "per-user.{user}: {size} characters, over IAM's \
                 {MANAGED_POLICY_LIMIT} for a managed policy"
            ));
        }
        users.insert(user.clone(), document);
    }
    Value::Object(users)
}
