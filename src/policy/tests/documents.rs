//! What each kind of document allows or denies, and where it goes in the
//! output.

use super::*;
use crate::policy::Kind;

#[test]
fn the_broker_may_mint_exactly_the_mapped_profiles() {
    let json = reparsed(&run("", TWO_DOMAINS, ROWS, &options()));
    let policy = &json["broker-role"];
    assert_eq!(policy["Version"], "2012-10-17");
    assert_eq!(
        sids(policy),
        ["MintStudioUrls", "DescribeForCheck", "ListForCheck"]
    );

    let mint = statement(policy, "MintStudioUrls");
    assert_eq!(mint["Effect"], "Allow");
    assert_eq!(
        strings(&mint["Action"]),
        ["sagemaker:CreatePresignedDomainUrl"]
    );
    let expected = [
        profile(ML, "d-aaaa1111", "Erin"),
        profile(ML, "d-aaaa1111", "alice"),
        profile(ML, "d-aaaa1111", "erin"),
        profile(ML, "d-aaaa1111", "shared"),
        profile(RESEARCH, "d-bbbb2222", "alice-r"),
        profile(RESEARCH, "d-bbbb2222", "dave"),
    ];
    assert_eq!(strings(&mint["Resource"]), expected);
    assert!(mint.get("Condition").is_none());
}

#[test]
fn the_broker_may_describe_and_list_for_check() {
    let json = reparsed(&run("", TWO_DOMAINS, ROWS, &options()));
    let describe = statement(&json["broker-role"], "DescribeForCheck");
    let resources = strings(&describe["Resource"]);
    assert!(resources.contains(&format!("{ML}:domain/d-aaaa1111").as_str()));
    assert!(resources.contains(&format!("{RESEARCH}:domain/d-bbbb2222").as_str()));
    let space = format!("{RESEARCH}:space/d-bbbb2222/team");
    assert!(resources.contains(&space.as_str()));
    let spaces = resources.iter().filter(|r| r.contains(":space/"));
    assert_eq!(spaces.count(), 1);
    assert_eq!(resources.len(), 2 + 6 + 1);

    let list = statement(&json["broker-role"], "ListForCheck");
    assert_eq!(strings(&list["Resource"]), ["*"]);
    let actions = strings(&list["Action"]);
    assert_eq!(
        actions,
        ["sagemaker:ListUserProfiles", "sagemaker:ListSpaces"]
    );
}

#[test]
fn deny_others_excepts_only_the_broker() {
    let json = reparsed(&run("", TWO_DOMAINS, ROWS, &options()));
    let deny = statement(&json["deny-others"], "DenyPresignExceptBroker");
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(strings(&deny["Resource"]), ["*"]);
    let condition = &deny["Condition"];
    assert_eq!(keys(condition), ["ArnNotLike"]);
    let principals = strings(&condition["ArnNotLike"]["aws:PrincipalArn"]);
    assert_eq!(principals, [BROKER]);
}

#[test]
fn per_user_denies_every_profile_but_the_users_own() {
    let json = reparsed(&run("", TWO_DOMAINS, ROWS, &options()));
    let users = &json["per-user"];
    assert_eq!(keys(users), ["alice", "carol"]);

    let deny = statement(&users["alice"], "DenyOtherProfiles");
    assert_eq!(deny["Effect"], "Deny");
    assert!(deny.get("Resource").is_none());
    let own = [
        profile(ML, "d-aaaa1111", "alice"),
        profile(RESEARCH, "d-bbbb2222", "alice-r"),
    ];
    assert_eq!(strings(&deny["NotResource"]), own);
    let carol = statement(&users["carol"], "DenyOtherProfiles");
    let own = [profile(ML, "d-aaaa1111", "shared")];
    assert_eq!(strings(&carol["NotResource"]), own);
}

#[test]
fn network_conditions_narrow_only_the_mint_allow() {
    let options = Options {
        source_vpce: vec!["vpce-0a1b2c3d4e5f67890".into()],
        ..options()
    };
    let json = reparsed(&run("", TWO_DOMAINS, ROWS, &options));
    let mint = statement(&json["broker-role"], "MintStudioUrls");
    let vpce = &mint["Condition"]["StringEquals"]["aws:SourceVpce"];
    assert_eq!(strings(vpce), ["vpce-0a1b2c3d4e5f67890"]);
    assert_only_mint_has_conditions(&json);
}

#[test]
fn a_vpce_and_an_address_are_alternatives() {
    let options = Options {
        source_vpce: vec!["vpce-0a1b2c3d".into()],
        source_ip: vec!["203.0.113.7".into(), "198.51.100.0/24".into()],
        ..options()
    };
    let json = reparsed(&run("", TWO_DOMAINS, ROWS, &options));
    let policy = &json["broker-role"];
    let expected = [
        "MintStudioUrlsThroughVpce",
        "MintStudioUrlsFromAddresses",
        "DescribeForCheck",
        "ListForCheck",
    ];
    assert_eq!(sids(policy), expected);

    let vpce = statement(policy, "MintStudioUrlsThroughVpce");
    assert_eq!(keys(&vpce["Condition"]), ["StringEquals"]);
    let ip = statement(policy, "MintStudioUrlsFromAddresses");
    assert_eq!(keys(&ip["Condition"]), ["IpAddress"]);
    let addresses = &ip["Condition"]["IpAddress"]["aws:SourceIp"];
    assert_eq!(strings(addresses), ["203.0.113.7/32", "198.51.100.0/24"]);
    assert_eq!(vpce["Resource"], ip["Resource"]);
    assert_only_mint_has_conditions(&json);
}

/// Every statement with a `Condition` mints, except the deny's principal
/// test, which carries no network key.
fn assert_only_mint_has_conditions(json: &Value) {
    for sid in ["DescribeForCheck", "ListForCheck"] {
        let s = statement(&json["broker-role"], sid);
        assert!(s.get("Condition").is_none(), "{sid}");
    }
    let deny = statement(&json["deny-others"], "DenyPresignExceptBroker");
    assert_eq!(keys(&deny["Condition"]), ["ArnNotLike"]);
    for user in keys(&json["per-user"]) {
        let s = statement(&json["per-user"][user], "DenyOtherProfiles");
        assert!(s.get("Condition").is_none(), "{user}");
    }
}

#[test]
fn kinds_pick_the_keys() {
    let only = |kinds: Vec<Kind>| {
        let options = Options { kinds, ..options() };
        let json = reparsed(&run("", TWO_DOMAINS, ROWS, &options));
        keys(&json)
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(only(vec![]), ["broker-role", "deny-others", "per-user"]);
    assert_eq!(only(vec![Kind::DenyOthers]), ["deny-others"]);
    let two = only(vec![Kind::PerUser, Kind::BrokerRole]);
    assert_eq!(two, ["broker-role", "per-user"]);
    assert_eq!("per-user".parse::<Kind>().ok(), Some(Kind::PerUser));
    let unknown = "all".parse::<Kind>().map_err(|e| e.to_string());
    let message = "--kind \"all\": must be one of broker-role, deny-others, per-user";
    assert_eq!(unknown, Err(message.to_owned()));
}

#[test]
fn domains_with_their_own_role_are_grouped_by_account() {
    let domains = format!("{TWO_DOMAINS}{PARTNER_DOMAIN}");
    let rows = format!(
        "{ROWS}\n[[users]]\nidentity = \"alice\"\ndomain = \"partner\"\n\
         profile = \"alice\"\niam_user = \"alice\"\n"
    );
    let json = reparsed(&run("", &domains, &rows, &options()));
    assert_eq!(
        keys(&json),
        ["accounts", "broker-role", "deny-others", "per-user"]
    );

    let top = &json["broker-role"];
    let assume = statement(top, "AssumeDomainRoles");
    assert_eq!(strings(&assume["Resource"]), [PARTNER_ROLE]);
    let mint = strings(&statement(top, "MintStudioUrls")["Resource"]);
    assert!(mint.iter().all(|arn| !arn.contains("d-cccc3333")));

    let account = &json["accounts"]["111122223333"];
    let expected = ["broker-role", "deny-others", "role", "trust"];
    assert_eq!(keys(account), expected);
    assert_eq!(account["role"], PARTNER_ROLE);
    let mint = statement(&account["broker-role"], "MintStudioUrls");
    let own = [profile(PARTNER, "d-cccc3333", "alice")];
    assert_eq!(strings(&mint["Resource"]), own);
    let trust = statement(&account["trust"], "TrustBroker");
    assert_eq!(trust["Principal"]["AWS"], BROKER);
    let deny = statement(&account["deny-others"], "DenyPresignExceptBroker");
    let principals = &deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"];
    assert_eq!(strings(principals), [PARTNER_ROLE]);

    let alice = statement(&json["per-user"]["alice"], "DenyOtherProfiles");
    assert_eq!(strings(&alice["NotResource"]).len(), 3);
}

#[test]
fn source_identity_moves_minting_to_the_minting_role() {
    let json = reparsed(&run(SOURCE_IDENTITY, TWO_DOMAINS, ROWS, &options()));
    let minting = "arn:aws:iam::123456789012:role/studio-broker-mint";
    let broker = &json["broker-role"];
    assert_eq!(
        sids(broker),
        ["DescribeForCheck", "ListForCheck", "AssumeMintingRole"]
    );
    let assume = statement(broker, "AssumeMintingRole");
    assert_eq!(strings(&assume["Resource"]), [minting]);
    let actions = ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"];
    assert_eq!(strings(&assume["Action"]), actions);

    let role = &json["minting-role"];
    let mint = statement(&role["policy"], "MintStudioUrls");
    assert_eq!(strings(&mint["Resource"]).len(), 6);
    let trust = statement(&role["trust"], "TrustBroker");
    assert_eq!(trust["Principal"]["AWS"], BROKER);
    assert_eq!(strings(&trust["Action"]), actions);
    let null = &trust["Condition"]["Null"]["sts:SourceIdentity"];
    assert_eq!(null, "false");

    let deny = statement(&json["deny-others"], "DenyPresignExceptBroker");
    let principals = &deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"];
    assert_eq!(strings(principals), [BROKER, minting]);
}

#[test]
fn a_configured_minting_role_replaces_the_convention() {
    let minting = "arn:aws:iam::123456789012:role/minters/studio-presign";
    let studio = format!("source_identity = true\nminting_role_arn = \"{minting}\"");
    let json = reparsed(&run(&studio, TWO_DOMAINS, ROWS, &options()));
    let assume = statement(&json["broker-role"], "AssumeMintingRole");
    assert_eq!(strings(&assume["Resource"]), [minting]);
    let deny = statement(&json["deny-others"], "DenyPresignExceptBroker");
    let principals = &deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"];
    assert_eq!(strings(principals), [BROKER, minting]);
    let trust = statement(&json["minting-role"]["trust"], "TrustBroker");
    assert_eq!(trust["Principal"]["AWS"], BROKER);
}

#[test]
fn a_domain_role_in_the_brokers_account_is_noted() {
    let own = PARTNER_DOMAIN.replace("111122223333", "123456789012");
    let domains = format!("{TWO_DOMAINS}{own}");
    let output = run("", &domains, ROWS, &options());
    let json = reparsed(&output);
    let account = &json["accounts"]["123456789012"];
    assert_eq!(
        account["role"],
        "arn:aws:iam::123456789012:role/broker-access"
    );
    let note = "accounts.123456789012: this is also the broker role's \
                account; attach only one deny-others there, with the roles \
                of both documents in its aws:PrincipalArn list";
    assert_eq!(output.notes, [note]);
}
