//! Commands and exit codes: `check`, `serve` refusing an unusable config
//! before it binds, and `healthcheck`.

use crate::support::broker::{self, Config, base_env, run};
use crate::support::rogue::{self, Rogue, Signer};
use crate::support::stack::USERS;
use std::time::Duration;

fn write(dir: &std::path::Path, config: &str, users: &str) -> String {
    std::fs::write(dir.join("broker.toml"), config).unwrap();
    std::fs::write(dir.join("users.toml"), users).unwrap();
    dir.join("broker.toml").display().to_string()
}

fn config() -> String {
    Config::new("http://127.0.0.1:9", "http://127.0.0.1:9").render(8080)
}

#[test]
fn check_reports_findings_and_config_errors_with_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let env = base_env();
    let path = write(dir.path(), &config(), USERS);
    let (code, out, err) = run(&["check", "--config", &path], &env);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("7 rows"), "{out}");

    let shared =
        format!("{USERS}\n[[users]]\nidentity = \"zoe\"\ndomain = \"ml\"\nprofile = \"ALICE\"\n");
    let path = write(dir.path(), &config(), &shared);
    let (code, out, _) = run(&["check", "--config", &path, "--format", "json"], &env);
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["findings"][0]["kind"], "shared_profile");

    let bad = config().replace("[studio]\n", "[studio]\nexpires_in_seconds = 600\n");
    let path = write(dir.path(), &bad, USERS);
    let (code, _, err) = run(&["check", "--config", &path], &env);
    assert_eq!(code, 78);
    assert_eq!(
        err.trim(),
        format!("{path}: studio.expires_in_seconds = 600: must be 5..=300")
    );

    let path = write(
        dir.path(),
        &config(),
        "[[users]]\nidentity = \"a\"\ndomain = \"nope\"\nprofile = \"a\"\n",
    );
    let (code, _, err) = run(&["check", "--config", &path], &env);
    assert_eq!(code, 78);
    assert!(
        err.contains("domain = \"nope\": not a configured domain"),
        "{err}"
    );

    let (code, _, err) = run(&["check", "--config", "/nonexistent/broker.toml"], &env);
    assert_eq!(code, 78);
    assert!(
        err.starts_with("/nonexistent/broker.toml: cannot read"),
        "{err}"
    );

    let (code, _, _) = run(&["check", "--bogus"], &env);
    assert_eq!(code, 2);
    let (code, _, _) = run(&[], &env);
    assert_eq!(code, 2);
}

#[test]
fn secrets_are_never_printed_in_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let env: Vec<(String, String)> = base_env()
        .into_iter()
        .filter(|(k, _)| k != "TEST_COOKIE_KEY")
        .chain([("TEST_COOKIE_KEY".to_owned(), "c2hvcnQ=".to_owned())])
        .collect();
    let path = write(dir.path(), &config(), USERS);
    let (code, out, err) = run(&["serve", "--config", &path], &env);
    assert_eq!(code, 78, "{out}{err}");
    assert!(
        err.contains("session.cookie_key_env = \"TEST_COOKIE_KEY\": decodes to 5 bytes"),
        "{err}"
    );
    assert!(
        !err.contains("c2hvcnQ=") && !err.contains(broker::CLIENT_SECRET),
        "{err}"
    );
}

#[tokio::test]
async fn serve_exits_78_when_the_provider_names_another_issuer() {
    let rogue = Rogue::start(vec![Signer::rsa(rogue::RSA_A, "a").jwk()]).await;
    let mut document = rogue.discovery();
    document["issuer"] = serde_json::json!(format!("{}/", rogue.issuer));
    rogue.set_discovery(document);

    let dir = tempfile::tempdir().unwrap();
    let port = broker::free_port();
    let config = Config::new(&rogue.issuer, "http://127.0.0.1:9").render(port);
    let path = write(dir.path(), &config, USERS);
    let env = base_env();
    let output = tokio::task::spawn_blocking(move || run(&["serve", "--config", &path], &env))
        .await
        .unwrap();
    let (code, _, err) = output;
    assert_eq!(code, 78, "{err}");
    let expected = format!(
        "the provider's discovery document says issuer = \"{0}/\", but oidc.issuer is \"{0}\"",
        rogue.issuer
    );
    assert!(err.contains(&expected), "{err}");
    // Nothing was bound.
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
}

#[tokio::test]
async fn a_provider_down_at_start_leaves_the_broker_unready_until_it_answers() {
    let signer = Signer::rsa(rogue::RSA_A, "a");
    let rogue = Rogue::start(vec![signer.jwk()]).await;
    let mut good = rogue.discovery();
    let broker = start_while_discovery_fails(&rogue).await;
    let client = broker::client();
    let ready = client
        .get(format!("{}/readyz", broker.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let token = signer.sign(&rogue.claims("alice", "broker"));
    let response = client
        .post(format!("{}/api/v1/presigned-url", broker.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["error"],
        "not_ready"
    );

    good["issuer"] = serde_json::json!(rogue.issuer);
    rogue.set_discovery(good);
    broker.wait_for("/readyz", 200).await;

    let (code, _, _) = run(
        &["healthcheck", "--url", &format!("{}/healthz", broker.url)],
        &[],
    );
    assert_eq!(code, 0);
    let (code, _, err) = run(&["healthcheck", "--url", "http://127.0.0.1:9/healthz"], &[]);
    assert_eq!(code, 1, "{err}");
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[test]
fn policy_prints_the_documents_for_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let env = base_env();
    let users = format!(
        "{USERS}\n[[users]]\nidentity = \"zed\"\ndomain = \"ml\"\nprofile = \"zed\"\niam_user = \"zed\"\n"
    );
    let path = write(dir.path(), &config(), &users);
    let role = "arn:aws:iam::111122223333:role/studio-broker";
    let policy = |extra: &[&str]| {
        let mut args = vec!["policy", "--config", &path, "--broker-role-arn", role];
        args.extend(extra);
        run(&args, &env)
    };
    let (code, out, err) = policy(&[]);
    assert_eq!(code, 0, "{err}");
    let documents: serde_json::Value = serde_json::from_str(&out).unwrap();
    let keys: Vec<&String> = documents.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["broker-role", "deny-others", "per-user"]);
    let mint = &documents["broker-role"]["Statement"][0];
    assert_eq!(
        mint["Action"],
        serde_json::json!(["sagemaker:CreatePresignedDomainUrl"])
    );
    let arns: Vec<&str> = mint["Resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        arns.contains(
            &"arn:aws:sagemaker:us-east-1:111122223333:user-profile/d-mlstudio0001/alice"
        )
    );
    assert!(
        arns.contains(
            &"arn:aws:sagemaker:us-east-1:111122223333:user-profile/d-research0001/carol-r"
        )
    );
    let deny = &documents["deny-others"]["Statement"][0];
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(
        deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"],
        serde_json::json!([role])
    );
    assert_eq!(
        documents["per-user"]["zed"]["Statement"][0]["NotResource"],
        serde_json::json!([
            "arn:aws:sagemaker:us-east-1:111122223333:user-profile/d-mlstudio0001/zed"
        ])
    );

    let (code, out, _) = policy(&["--kind", "deny-others"]);
    assert_eq!(code, 0);
    let only: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(only.as_object().unwrap().len(), 1);

    let (code, _, err) = run(
        &["policy", "--config", &path, "--broker-role-arn", "nope"],
        &env,
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("--broker-role-arn \"nope\": must be an IAM role ARN"),
        "{err}"
    );
    let (code, _, err) = policy(&["--kind", "all"]);
    assert_eq!(code, 2);
    assert!(err.contains("--kind \"all\""), "{err}");
    let (code, _, _) = run(&["policy", "--config", &path], &env);
    assert_eq!(code, 2, "the role ARN is required");

    // Policies are written where the secrets are not: a pipeline has the
    // config and the table, not the client secret or cookie key.
    let no_secrets: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| !k.starts_with("TEST_"))
        .collect();
    let (code, out, err) = run(
        &["policy", "--config", &path, "--broker-role-arn", role],
        &no_secrets,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        documents
    );
    let (code, _, err) = run(&["check", "--config", &path], &no_secrets);
    assert_eq!(code, 78, "check still reads every secret");
    assert!(err.contains("TEST_CLIENT_SECRET is not set"), "{err}");
}

#[tokio::test]
async fn a_provider_that_comes_back_naming_another_issuer_stops_the_broker_with_78() {
    let rogue = Rogue::start(vec![Signer::rsa(rogue::RSA_A, "a").jwk()]).await;
    let good = rogue.discovery();
    let mut broker = start_while_discovery_fails(&rogue).await;
    let mut wrong = good;
    wrong["issuer"] = serde_json::json!(format!("{}x", rogue.issuer));
    rogue.set_discovery(wrong);
    let code = broker.wait_exit(Duration::from_secs(15)).await;
    assert_eq!(code, Some(78), "{}", broker.logs());
    broker.wait_log(&["they must be equal byte for byte"]).await;
}

/// A broker whose provider answers discovery with a document that does not
/// parse, so it starts unready and keeps retrying.
async fn start_while_discovery_fails(rogue: &Rogue) -> broker::Broker {
    let mut broken = rogue.discovery();
    broken["issuer"] = serde_json::json!(null);
    rogue.set_discovery(broken);
    let port = broker::free_port();
    let options = broker::Options {
        config: Config::new(&rogue.issuer, "http://127.0.0.1:9").render(port),
        users: USERS.into(),
        users_name: "users.toml",
        env: base_env(),
        wait_ready: false,
    };
    broker::Broker::start_with(options, port).await
}
