//! `check --remote`: the table compared with what the SageMaker emulator
//! holds, through the broker's own clients; every finding kind, its exact
//! JSON, the text report, pagination and failures to reach a domain.

use crate::support::broker::{Config, base_env, run};
use crate::support::emulator::{Emulator, SECRET_ACCESS_KEY};
use serde_json::{Value, json};
use std::path::Path;

/// The `ml` domain (`d-mlstudio0001`) as a seed, in IAM mode.
fn ml(profiles: &[&str], spaces: Value) -> Value {
    json!({"id": "d-mlstudio0001", "name": "ml", "auth_mode": "IAM",
           "profiles": profiles, "spaces": spaces})
}

/// The `research` domain (`d-research0001`) as a seed.
fn research(auth_mode: &str, profiles: &[&str]) -> Value {
    json!({"id": "d-research0001", "name": "research",
           "auth_mode": auth_mode, "profiles": profiles})
}

fn row(identity: &str, domain: &str, profile: &str, space: Option<&str>) -> String {
    let space = space
        .map(|s| format!("space = \"{s}\"\n"))
        .unwrap_or_default();
    format!(
        "[[users]]\nidentity = \"{identity}\"\ndomain = \"{domain}\"\n\
         profile = \"{profile}\"\n{space}\n"
    )
}

/// Writes `broker.toml` (both domains at `emulator`) and `users.toml`
/// into `dir`, and answers the config path.
fn write(dir: &Path, emulator: &Emulator, users: &str) -> String {
    write_with(dir, emulator, users, "timeout_seconds = 5")
}

/// As [`write`], with the `[studio]` section's body.
fn write_with(dir: &Path, emulator: &Emulator, users: &str, studio: &str) -> String {
    let mut config = Config::new("http://127.0.0.1:9/issuer", &emulator.url);
    config.studio = studio.to_owned();
    std::fs::write(dir.join("broker.toml"), config.render(18080)).unwrap();
    std::fs::write(dir.join("users.toml"), users).unwrap();
    dir.join("broker.toml").display().to_string()
}

/// Runs `check --remote --format json` and answers the exit code and the
/// report.
fn check_json(config: &str, env: &[(String, String)]) -> (i32, Value, String) {
    let args = ["check", "--config", config, "--remote", "--format", "json"];
    let (code, out, err) = run(&args, env);
    let report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    (code, report, err)
}

fn findings(report: &Value) -> Vec<Value> {
    report["findings"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_table_that_matches_passes_with_exact_text() {
    let seed = json!({"domains": [
        ml(&["alice", "carol"], json!([{"name": "team", "owner": "carol"}])),
        research("IAM", &["dave"]),
    ]});
    let emulator = Emulator::start(seed).await;
    let dir = tempfile::tempdir().unwrap();
    let users = [
        row("alice", "ml", "alice", None),
        row("carol", "ml", "carol", Some("team")),
        row("dave", "research", "dave", None),
    ]
    .concat();
    let config = write(dir.path(), &emulator, &users);

    let (code, out, err) = run(&["check", "--config", &config, "--remote"], &base_env());
    let table = dir.path().join("users.toml");
    let expected = format!(
        "{config}: ok\n{}: 3 rows\n2 domains compared with SageMaker: no findings\n",
        table.display()
    );
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, expected.as_str(), "")
    );
}

#[tokio::test]
async fn every_kind_of_drift_is_one_exact_finding() {
    let seed = json!({"domains": [
        ml(&["alice", "bob", "erin", "idle"],
           json!([{"name": "team", "owner": "alice"}, {"name": "Lab"}])),
        research("IAM", &[]),
    ]});
    let emulator = Emulator::start(seed).await;
    let dir = tempfile::tempdir().unwrap();
    let users = [
        row("alice", "ml", "alice", Some("team")),
        row("bob", "ml", "Bob", None),
        row("carol", "ml", "carol", None),
        row("dave", "ml", "erin", Some("lab")),
        row("erin", "ml", "erin", Some("gone")),
    ]
    .concat();
    let config = write(dir.path(), &emulator, &users);

    let (code, report, err) = check_json(&config, &base_env());
    assert_eq!(code, 1, "{report}{err}");
    let table = dir.path().join("users.toml").display().to_string();
    assert_eq!(report["rows"], 5);
    assert_eq!(report["table"], table);
    let shared = format!(
        "{table}: profile \"erin\" in domain \"ml\" is shared by 2 \
         identities: \"dave\" (row 4), \"erin\" (row 5)"
    );
    let expected = vec![
        json!({"kind": "shared_profile", "level": "warning", "domain": "ml",
               "message": shared, "profile": "erin",
               "identities": ["dave", "erin"]}),
        json!({"kind": "case_mismatch", "level": "error", "domain": "ml",
               "message": "profile \"Bob\" is spelled \"bob\" in domain \
                           d-mlstudio0001; SageMaker names are case-sensitive, \
                           so opening it fails for \"bob\"",
               "profile": "Bob", "sagemaker_name": "bob",
               "identities": ["bob"]}),
        json!({"kind": "missing_profile", "level": "error", "domain": "ml",
               "message": "profile \"carol\" does not exist in domain \
                           d-mlstudio0001; opening it fails for \"carol\"",
               "profile": "carol", "identities": ["carol"]}),
        json!({"kind": "case_mismatch", "level": "error", "domain": "ml",
               "message": "space \"lab\" is spelled \"Lab\" in domain \
                           d-mlstudio0001; SageMaker names are case-sensitive, \
                           so opening it fails for \"dave\"",
               "space": "lab", "sagemaker_name": "Lab",
               "identities": ["dave"]}),
        json!({"kind": "missing_space", "level": "error", "domain": "ml",
               "message": "space \"gone\" does not exist in domain \
                           d-mlstudio0001; opening it fails for \"erin\"",
               "space": "gone", "identities": ["erin"]}),
        json!({"kind": "unmapped_profile", "level": "info", "domain": "ml",
               "message": "profile \"idle\" in domain d-mlstudio0001 is in \
                           no row of the table",
               "profile": "idle"}),
    ];
    assert_eq!(findings(&report), expected, "{report:#}");
}

#[tokio::test]
async fn the_text_report_has_one_line_per_finding_and_a_summary() {
    let seed = json!({"domains": [ml(&["alice", "idle"], json!([])),
                                  research("SSO", &["dave"])]});
    let emulator = Emulator::start(seed).await;
    let dir = tempfile::tempdir().unwrap();
    let users = [
        row("alice", "ml", "alice", None),
        row("dave", "research", "dave", None),
    ]
    .concat();
    let config = write(dir.path(), &emulator, &users);

    let (code, out, _) = run(&["check", "--config", &config, "--remote"], &base_env());
    assert_eq!(code, 1, "{out}");
    let lines: Vec<&str> = out.lines().skip(2).collect();
    assert_eq!(
        lines,
        [
            "ml: info: unmapped_profile: profile \"idle\" in domain \
             d-mlstudio0001 is in no row of the table",
            "research: error: auth_mode: domain d-research0001 has AuthMode \
             SSO; presigned URLs work only in IAM mode, so nobody can open it \
             through the broker",
            "2 domains compared with SageMaker: 2 findings (1 error, 1 info)",
        ]
    );
}

#[tokio::test]
async fn a_domain_in_sso_mode_is_an_auth_mode_finding() {
    let seed = json!({"domains": [ml(&["alice"], json!([])), research("SSO", &["dave"])]});
    let emulator = Emulator::start(seed).await;
    let dir = tempfile::tempdir().unwrap();
    let users = [
        row("alice", "ml", "alice", None),
        row("dave", "research", "dave", None),
    ]
    .concat();
    let config = write(dir.path(), &emulator, &users);

    let (code, report, _) = check_json(&config, &base_env());
    assert_eq!(code, 1);
    let expected = json!({
        "kind": "auth_mode", "level": "error", "domain": "research",
        "message": "domain d-research0001 has AuthMode SSO; presigned URLs \
                    work only in IAM mode, so nobody can open it through the \
                    broker"});
    assert_eq!(findings(&report), vec![expected]);
}

#[tokio::test]
async fn a_domain_sagemaker_does_not_know_is_unreachable_with_the_reason() {
    let emulator = Emulator::start(json!({"domains": [ml(&["alice"], json!([]))]})).await;
    let dir = tempfile::tempdir().unwrap();
    let users = [
        row("alice", "ml", "alice", None),
        row("dave", "research", "dave", None),
    ]
    .concat();
    let config = write(dir.path(), &emulator, &users);

    let (code, report, _) = check_json(&config, &base_env());
    assert_eq!(code, 1);
    let expected = json!({
        "kind": "domain_unreachable", "level": "error", "domain": "research",
        "message": "cannot read domain d-research0001 from SageMaker: \
                    DescribeDomain: not found: Domain d-research0001 does not \
                    exist"});
    assert_eq!(findings(&report), vec![expected]);
}

#[tokio::test]
async fn every_page_of_profiles_and_spaces_is_read() {
    let names: Vec<String> = (0..120).map(|i| format!("user{i:03}")).collect();
    let profiles: Vec<&str> = names.iter().map(String::as_str).collect();
    let spaces: Vec<Value> = names
        .iter()
        .map(|n| json!({"name": format!("s-{n}"), "owner": n}))
        .collect();
    let seed = json!({"domains": [ml(&profiles, json!(spaces)), research("IAM", &[])]});
    let emulator = Emulator::start(seed).await;
    let dir = tempfile::tempdir().unwrap();
    let users: String = names
        .iter()
        .map(|n| row(n, "ml", n, Some(&format!("s-{n}"))))
        .collect();
    let config = write(dir.path(), &emulator, &users);

    let (code, report, err) = check_json(&config, &base_env());
    assert_eq!((code, findings(&report)), (0, vec![]), "{err}");
    assert_eq!(report["rows"], 120);

    // One profile the table lacks, last in SageMaker's order: found only
    // on the second page.
    emulator
        .seed(json!({"domains": [ml(&["user999"], json!([]))]}))
        .await;
    let (code, report, _) = check_json(&config, &base_env());
    assert_eq!(code, 1);
    let found = findings(&report);
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["kind"], "unmapped_profile");
    assert_eq!(found[0]["profile"], "user999");
}

#[tokio::test]
async fn wrong_credentials_are_reported_and_the_secret_never_printed() {
    let emulator = Emulator::start(json!({"domains": [ml(&["alice"], json!([]))]})).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), &emulator, &row("alice", "ml", "alice", None));
    let wrong = "wrong/secret/not-the-emulators-0000000000";
    let env: Vec<(String, String)> = base_env()
        .into_iter()
        .filter(|(k, _)| k != "AWS_SECRET_ACCESS_KEY")
        .chain([("AWS_SECRET_ACCESS_KEY".to_owned(), wrong.to_owned())])
        .collect();

    for format in ["text", "json"] {
        let args = ["check", "--config", &config, "--remote", "--format", format];
        let (code, out, err) = run(&args, &env);
        assert_eq!(code, 1, "{out}{err}");
        for secret in [wrong, SECRET_ACCESS_KEY] {
            assert!(!out.contains(secret) && !err.contains(secret), "{out}{err}");
        }
        assert!(out.contains("domain_unreachable"), "{out}");
        assert!(
            out.contains("DescribeDomain: credentials rejected (InvalidSignatureException)"),
            "{out}"
        );
        assert!(out.contains("signature"), "{out}");
    }
}

#[tokio::test]
async fn a_domain_that_answers_too_late_is_unreachable_after_the_timeout() {
    let seed = json!({"domains": [ml(&["alice"], json!([])), research("IAM", &[])]});
    let emulator = Emulator::start(seed).await;
    emulator.faults(0, 0, 3000).await;
    let dir = tempfile::tempdir().unwrap();
    let users = row("alice", "ml", "alice", None);
    let config = write_with(dir.path(), &emulator, &users, "timeout_seconds = 1");

    let started = std::time::Instant::now();
    let (code, report, _) = check_json(&config, &base_env());
    assert_eq!(code, 1);
    // Both domains are read at once, each within its own bound.
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    let messages: Vec<Value> = findings(&report)
        .iter()
        .map(|f| json!([f["kind"], f["domain"], f["message"]]))
        .collect();
    let late = |alias: &str, id: &str| {
        json!([
            "domain_unreachable",
            alias,
            format!(
                "cannot read domain {id} from SageMaker: DescribeDomain: no \
             answer within 1s"
            )
        ])
    };
    let expected = [
        late("ml", "d-mlstudio0001"),
        late("research", "d-research0001"),
    ];
    assert_eq!(messages, expected);
}

#[tokio::test]
async fn missing_credentials_are_named_as_the_reason() {
    let emulator = Emulator::start(json!({"domains": [ml(&["alice"], json!([]))]})).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), &emulator, &row("alice", "ml", "alice", None));
    let env: Vec<(String, String)> = base_env()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("AWS_") || k.ends_with("_FILE") || k == "AWS_REGION")
        .chain([("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned())])
        .collect();

    let (code, report, _) = check_json(&config, &env);
    assert_eq!(code, 1);
    let found = findings(&report);
    let message = found[0]["message"].as_str().unwrap();
    assert_eq!(found[0]["kind"], "domain_unreachable");
    assert!(
        message.starts_with("cannot read domain d-mlstudio0001 from SageMaker: DescribeDomain: "),
        "{message}"
    );
    assert!(
        message.contains("no providers in chain provided credentials"),
        "{message}"
    );
    assert!(!message.contains("DispatchFailure {"), "{message}");
}
