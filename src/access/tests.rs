use super::*;
use crate::table::{IdentityKind, Schema};

const TABLE: &str = r#"
[[users]]
identity = "alice"
domain = "ml"
profile = "alice"

[[users]]
identity = "carol"
domain = "ml"
profile = "carol"

[[users]]
identity = "carol"
domain = "ml"
profile = "carol"
space = "team"

[[users]]
identity = "carol"
domain = "research"
profile = "carol-r"
"#;

fn table() -> Table {
    let schema = Schema {
        domains: vec!["ml".into(), "research".into(), "empty".into()],
        identity: IdentityKind::Opaque,
    };
    Table::parse("users.toml", TABLE, &schema).unwrap()
}

fn caller(identity: &str) -> Caller {
    Caller {
        issuer: "https://idp.example".into(),
        identity: identity.into(),
        email_verified: false,
        groups: Groups::Listed(vec!["staff".into()]),
    }
}

const DOMAINS: &[&str] = &["ml", "research", "empty"];

fn rules<'a>(domains: &'a [String], groups: &'a [String]) -> Rules<'a> {
    Rules {
        require_verified_email: false,
        allowed_groups: groups,
        domains,
    }
}

fn decide_for(
    identity: &str,
    domain: Option<&str>,
    space: Option<&str>,
) -> Result<Vec<String>, Denial> {
    let table = table();
    let domains: Vec<String> = DOMAINS.iter().map(|d| d.to_string()).collect();
    let rules = rules(&domains, &[]);
    let request = Request { domain, space };
    let describe = |r: &Row| {
        format!(
            "{}/{}/{}",
            r.domain(),
            r.profile(),
            r.space().unwrap_or("-")
        )
    };
    decide(&table, &caller(identity), &rules, request).map(|d| match d {
        Decision::One(row) => vec![describe(row)],
        Decision::Several(rows) => rows.into_iter().map(describe).collect(),
    })
}

#[test]
fn decisions() {
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        Result<Vec<&'a str>, Denial>,
    );
    let cases: &[Case] = &[
        ("alice", None, None, Ok(vec!["ml/alice/-"])),
        ("alice", Some("ml"), None, Ok(vec!["ml/alice/-"])),
        (
            "alice",
            Some("research"),
            None,
            Err(Denial::DomainNotGranted),
        ),
        ("alice", Some("nope"), None, Err(Denial::UnknownDomain)),
        (
            "alice",
            Some("ml"),
            Some("team"),
            Err(Denial::SpaceNotGranted),
        ),
        ("dave", None, None, Err(Denial::NotInTable)),
        ("dave", Some("nope"), None, Err(Denial::UnknownDomain)),
        (
            "carol",
            None,
            None,
            Ok(vec!["ml/carol/-", "ml/carol/team", "research/carol-r/-"]),
        ),
        (
            "carol",
            Some("ml"),
            None,
            Ok(vec!["ml/carol/-", "ml/carol/team"]),
        ),
        ("carol", Some("ml"), Some("team"), Ok(vec!["ml/carol/team"])),
        (
            "carol",
            Some("research"),
            None,
            Ok(vec!["research/carol-r/-"]),
        ),
    ];
    for (identity, domain, space, expected) in cases {
        let expected = expected
            .clone()
            .map(|v| v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            decide_for(identity, *domain, *space),
            expected,
            "{identity} {domain:?} {space:?}"
        );
    }
}

#[test]
fn caller_wide_rules() {
    let domains: Vec<String> = vec!["ml".into()];
    let allowed = vec!["ml-users".into()];
    let mut alice = caller("alice");
    assert_eq!(
        admit(&alice, &rules(&domains, &allowed)),
        Err(Denial::GroupNotAllowed)
    );
    alice.groups = Groups::Listed(vec!["x".into(), "ml-users".into()]);
    assert_eq!(admit(&alice, &rules(&domains, &allowed)), Ok(()));
    alice.groups = Groups::Unknown;
    assert_eq!(
        admit(&alice, &rules(&domains, &allowed)),
        Err(Denial::GroupsUnknown)
    );
    assert_eq!(admit(&alice, &rules(&domains, &[])), Ok(()));
    let email = Rules {
        require_verified_email: true,
        ..rules(&domains, &[])
    };
    assert_eq!(admit(&alice, &email), Err(Denial::EmailUnverified));
    alice.email_verified = true;
    assert_eq!(admit(&alice, &email), Ok(()));
}
