//! The AWS side of a configuration: the `[studio]` section, source
//! identity and the `[[domains]]`.

use super::names;
use super::{Checker, Domain, Studio};
use crate::config::raw;
use std::time::Duration;
use url::Url;

pub(super) fn studio(c: &mut Checker, raw: raw::Studio) -> Studio {
    let expires = raw.expires_in_seconds;
    c.range("studio.expires_in_seconds", expires, 5, 300);
    let session = raw.session_seconds;
    c.range("studio.session_seconds", session, 1800, 43200);
    c.range("studio.timeout_seconds", raw.timeout_seconds, 1, 300);
    let calls = raw.max_concurrent_calls;
    c.range("studio.max_concurrent_calls", calls, 1, 10000);
    minting_role(c, &raw);
    let sts_endpoint_url = (raw.sts_endpoint_url.as_deref())
        .and_then(|value| endpoint_url(c, "studio.sts_endpoint_url", value, STS_EXAMPLE));
    Studio {
        // Out-of-range values were reported above and fail the load, so
        // these fallbacks are never served.
        expires_in_seconds: i32::try_from(expires).unwrap_or(30),
        session_seconds: i32::try_from(session).unwrap_or(43200),
        timeout: Duration::from_secs(raw.timeout_seconds),
        max_concurrent_calls: raw.max_concurrent_calls,
        source_identity: raw.source_identity,
        minting_role_arn: raw.minting_role_arn,
        sts_endpoint_url,
    }
}

/// An example minting role, for messages.
const MINTING_EXAMPLE: &str = "\"arn:aws:iam::123456789012:role/studio-broker-mint\"";

/// An example STS endpoint, for messages.
const STS_EXAMPLE: &str = "\"https://sts.eu-west-1.amazonaws.com\"";

/// An example SageMaker endpoint, for messages.
const SAGEMAKER_EXAMPLE: &str = "\"https://api.sagemaker.eu-west-1.amazonaws.com\"";

fn minting_role(c: &mut Checker, raw: &raw::Studio) {
    match (&raw.minting_role_arn, raw.source_identity) {
        (Some(arn), _) if !names::is_role_arn(arn) => c.problem(format!(
            "studio.minting_role_arn = \"{arn}\": must be an IAM role ARN \
             such as {MINTING_EXAMPLE}"
        )),
        (None, true) => c.problem(format!(
            "studio.minting_role_arn: required with studio.source_identity \
             = true, such as {MINTING_EXAMPLE}"
        )),
        _ => {}
    }
}

/// With a source identity, every mint goes through the minting role,
/// which is assumed with the broker's own credentials: it can only open
/// profiles in its own account, and a domain role of another account
/// would need a second hop that is not written yet.
pub(super) fn source_identity(c: &mut Checker, studio: &Studio, domains: &[Domain]) {
    if !studio.source_identity {
        return;
    }
    let arn = studio.minting_role_arn.as_deref().unwrap_or_default();
    let account = arn.split(':').nth(4).filter(|a| names::is_account(a));
    for (i, domain) in domains.iter().enumerate() {
        if domain.assume_role_arn.is_some() {
            c.problem(format!(
                "domains[{i}].assume_role_arn: not supported yet with \
                 studio.source_identity = true; serve this domain without \
                 it, or turn studio.source_identity off"
            ));
        } else if let Some(account) = account
            && domain.account_id != account
        {
            c.problem(format!(
                "domains[{i}].account_id = \"{}\": with \
                 studio.source_identity every domain must be in the minting \
                 role's account {account}",
                domain.account_id
            ));
        }
    }
}

pub(super) fn domains(c: &mut Checker, raw: Vec<raw::Domain>) -> Vec<Domain> {
    if raw.is_empty() {
        c.problem("domains: at least one [[domains]] table is required".into());
    }
    let mut seen = std::collections::HashMap::new();
    let mut domains = Vec::new();
    for (i, d) in raw.into_iter().enumerate() {
        let first = *seen.entry(d.alias.clone()).or_insert(i);
        if first != i {
            c.problem(format!(
                "domains[{i}].alias = \"{}\": already used by \
                 domains[{first}]; each alias must be unique",
                d.alias
            ));
        }
        domains.push(domain(c, i, d));
    }
    domains
}

/// A field of a domain, its value, the test it must pass, and the rule
/// that test enforces, for the message.
type NameCheck<'a> = (&'static str, &'a str, fn(&str) -> bool, &'static str);

fn domain(c: &mut Checker, i: usize, raw: raw::Domain) -> Domain {
    use names::*;
    let key = |field: &str| format!("domains[{i}].{field}");
    let checks: [NameCheck; 4] = [
        ("alias", &raw.alias, is_alias, ALIAS_RULE),
        ("id", &raw.id, is_domain_id, DOMAIN_ID_RULE),
        ("region", &raw.region, is_region, REGION_RULE),
        ("account_id", &raw.account_id, is_account, ACCOUNT_RULE),
    ];
    for (field, value, valid, rule) in checks {
        if !valid(value) {
            c.problem(format!("{} = \"{value}\": must {rule}", key(field)));
        }
    }

    let endpoint_url = (raw.endpoint_url.as_deref())
        .and_then(|value| endpoint_url(c, &key("endpoint_url"), value, SAGEMAKER_EXAMPLE));
    if let Some(arn) = &raw.assume_role_arn
        && !is_role_arn(arn)
    {
        c.problem(format!(
            "{} = \"{arn}\": must be an IAM role ARN such as \
             \"arn:aws:iam::123456789012:role/studio-broker\"",
            key("assume_role_arn")
        ));
    }
    Domain {
        alias: raw.alias,
        id: raw.id,
        region: raw.region,
        account_id: raw.account_id,
        endpoint_url,
        assume_role_arn: raw.assume_role_arn,
    }
}

fn endpoint_url(c: &mut Checker, key: &str, value: &str, example: &str) -> Option<Url> {
    let parsed = Url::parse(value)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if parsed.is_none() {
        c.problem(format!(
            "{key} = \"{value}\": must be an http or https URL such as \
             {example}"
        ));
    }
    parsed
}
