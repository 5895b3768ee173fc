//! The size limit and its fallback, partitions, role paths, and inputs
//! that are refused.

use super::*;
use crate::policy::{Kind, MANAGED_POLICY_LIMIT};

#[test]
fn an_oversized_list_falls_back_to_one_pattern_per_domain() {
    let mut rows = String::new();
    for i in 0..300 {
        let domain = ["ml", "research"][i % 2];
        rows.push_str(&format!(
            "[[users]]\nidentity = \"person-{i}\"\ndomain = \"{domain}\"\n\
             profile = \"a-rather-long-profile-name-for-person-number-{i}\"\n\
             space = \"space-{i}\"\niam_user = \"user-{i}\"\n"
        ));
    }
    for studio in ["", SOURCE_IDENTITY] {
        let output = run(studio, TWO_DOMAINS, &rows, &options());
        let json = reparsed(&output);
        let policy = match studio {
            "" => &json["broker-role"],
            _ => &json["minting-role"]["policy"],
        };
        let mint = statement(policy, "MintStudioUrls");
        let patterns = [
            format!("{ML}:user-profile/d-aaaa1111/*"),
            format!("{RESEARCH}:user-profile/d-bbbb2222/*"),
        ];
        assert_eq!(strings(&mint["Resource"]), patterns);
        let describe = statement(&json["broker-role"], "DescribeForCheck");
        let space = format!("{RESEARCH}:space/d-bbbb2222/*");
        assert!(strings(&describe["Resource"]).contains(&space.as_str()));

        assert!(
            output
                .notes
                .iter()
                .any(|n| n.contains("one pattern per domain")),
            "{:?}",
            output.notes
        );
        assert_every_document_fits(&json);
    }
}

fn assert_every_document_fits(value: &Value) {
    if value.get("Version").is_some() {
        let compact = value.to_string();
        assert!(compact.len() <= MANAGED_POLICY_LIMIT, "{}", compact.len());
        return;
    }
    if let Some(map) = value.as_object() {
        map.values().for_each(assert_every_document_fits);
    }
}

#[test]
fn a_small_table_keeps_exact_arns_and_adds_no_notes() {
    let output = run("", TWO_DOMAINS, ROWS, &options());
    assert_eq!(output.notes, Vec::<String>::new());
}

#[test]
fn china_regions_use_their_partition() {
    let domains = TWO_DOMAINS
        .replace("eu-west-1", "cn-north-1")
        .replace("us-east-1", "cn-northwest-1");
    let options = Options {
        broker_role_arn: "arn:aws-cn:iam::123456789012:role/sb".into(),
        ..options()
    };
    let json = reparsed(&run("", &domains, ROWS, &options));
    let mint = statement(&json["broker-role"], "MintStudioUrls");
    let first = strings(&mint["Resource"])[0].to_owned();
    let expected = "arn:aws-cn:sagemaker:cn-north-1:123456789012:user-profile/";
    assert!(first.starts_with(expected), "{first}");
}

#[test]
fn bad_inputs_are_refused_with_their_rule() {
    let with = |f: fn(&mut Options)| {
        let mut options = options();
        f(&mut options);
        failure(TWO_DOMAINS, &options).to_string()
    };
    let session =
        with(|o| o.broker_role_arn = "arn:aws:sts::123456789012:assumed-role/sb/x".into());
    assert!(
        session.starts_with("--broker-role-arn \"arn:aws:sts::"),
        "{session}"
    );
    let partition = with(|o| o.broker_role_arn = BROKER.replace("aws", "aws-x"));
    assert!(partition.contains("partition aws, aws-cn or aws-us-gov"));
    let vpce = with(|o| o.source_vpce = vec!["vpce-12".into()]);
    assert!(
        vpce.starts_with("--source-vpce \"vpce-12\": must be"),
        "{vpce}"
    );
    let ip = with(|o| o.source_ip = vec!["10.0.0.0/33".into()]);
    assert!(
        ip.starts_with("--source-ip \"10.0.0.0/33\": must be"),
        "{ip}"
    );
}

#[test]
fn role_paths_are_kept() {
    let options = Options {
        broker_role_arn: "arn:aws:iam::123456789012:role/svc/sb".into(),
        source_ip: vec!["10.1.2.3/8".into()],
        ..options()
    };
    let studio = "source_identity = true\n\
        minting_role_arn = \"arn:aws:iam::123456789012:role/svc/sb-mint\"";
    let output = run(studio, TWO_DOMAINS, ROWS, &options);
    let json = reparsed(&output);
    let deny = statement(&json["deny-others"], "DenyPresignExceptBroker");
    let principals = &deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"];
    let expected = [
        "arn:aws:iam::123456789012:role/svc/sb",
        "arn:aws:iam::123456789012:role/svc/sb-mint",
    ];
    assert_eq!(strings(principals), expected);
    let note = "--source-ip 10.1.2.3/8: written as 10.0.0.0/8 (host bits cleared)";
    assert_eq!(output.notes, [note]);
}

#[test]
fn domains_that_no_role_can_serve_are_errors() {
    let foreign = TWO_DOMAINS.replacen("123456789012", "999999999999", 1);
    let message = failure(&foreign, &options()).to_string();
    let expected = "broker.toml: domains[0].account_id = \"999999999999\": \
                    the broker role";
    assert!(message.starts_with(expected), "{message}");

    let second = PARTNER_DOMAIN
        .replace("partner", "partner2")
        .replace("d-cccc3333", "d-dddd4444")
        .replace("role/broker-access", "role/other");
    let domains = format!("{TWO_DOMAINS}{PARTNER_DOMAIN}{second}");
    let message = failure(&domains, &options()).to_string();
    let expected = "broker.toml: domains[3].assume_role_arn = \
                    \"arn:aws:iam::111122223333:role/other\": account \
                    111122223333 is already served by";
    assert!(message.starts_with(expected), "{message}");
}

#[test]
fn describe_patterns_are_the_first_fallback() {
    let mut rows = String::new();
    for i in 0..40 {
        rows.push_str(&format!(
            "[[users]]\nidentity = \"person-{i}\"\ndomain = \"ml\"\n\
             profile = \"a-rather-long-profile-name-for-person-number-{i}\"\n"
        ));
    }
    let options = Options {
        kinds: vec![Kind::BrokerRole],
        ..options()
    };
    let output = run("", TWO_DOMAINS, &rows, &options);
    let json = reparsed(&output);
    let mint = statement(&json["broker-role"], "MintStudioUrls");
    assert_eq!(strings(&mint["Resource"]).len(), 40);
    let describe = statement(&json["broker-role"], "DescribeForCheck");
    let pattern = format!("{ML}:user-profile/d-aaaa1111/*");
    assert!(strings(&describe["Resource"]).contains(&pattern.as_str()));

    let [note] = output.notes.as_slice() else {
        panic!("{:?}", output.notes);
    };
    let start = "broker-role: the exact ARN list exceeds IAM's 6144 \
                 characters for a managed policy; DescribeUserProfile and \
                 DescribeSpace now name one pattern per domain";
    assert!(note.starts_with(start), "{note}");
    assert_every_document_fits(&json);
}
