//! Browser sign-in in a real browser: `tests/browser/flow.mjs` drives
//! Debian's headless Chromium (through `playwright-core`) against the
//! standard stack, and these tests check what it reports and what the
//! broker audited.
//!
//! The screenshots of every page visited, and the flow's report as
//! `report.json`, are kept in `target/browser/<scenario>/` (under the
//! package root) for a person to look at. Chromium and the npm packages come from
//! `scripts/install-test-deps`; without them these tests fail, never skip.

use crate::support::stack::Stack;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Debian's Chromium, the only browser the flow launches.
const CHROMIUM: &str = "/usr/bin/chromium";

/// The whole flow, Chromium's start included, on a busy 2-core machine.
const FLOW_TIMEOUT: Duration = Duration::from_secs(90);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn require_browser() {
    let modules = root().join("tests/browser/node_modules/playwright-core");
    for (present, what) in [
        (Path::new(CHROMIUM).is_file(), CHROMIUM),
        (modules.is_dir(), "tests/browser/node_modules"),
    ] {
        assert!(
            present,
            "{what} is missing: run scripts/install-test-deps first"
        );
    }
}

/// Runs `scenario` of the flow against `stack` and returns its report.
async fn flow(stack: &Stack, scenario: &str) -> Value {
    require_browser();
    let out = root().join("target/browser").join(scenario);
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("create the output folder");
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".to_owned());
    let mut command = tokio::process::Command::new(&node);
    command
        .arg(root().join("tests/browser/flow.mjs"))
        .args(["--broker", &stack.broker.url])
        .args(["--emulator", &stack.emulator.url])
        .args(["--issuer", &stack.provider.issuer])
        .arg("--out")
        .arg(&out)
        .args(["--scenario", scenario])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .kill_on_drop(true);
    let output = tokio::time::timeout(FLOW_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("flow {scenario} ran past {FLOW_TIMEOUT:?}"))
        .unwrap_or_else(|err| panic!("cannot run `{node}`: {err}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value = stdout
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("flow {scenario} printed no report:\n{stdout}\n{stderr}"));
    std::fs::write(out.join("report.json"), format!("{report:#}\n")).expect("write report.json");
    assert!(
        output.status.success() && report.get("error").is_none(),
        "flow {scenario} failed: {report:#}\nstderr:\n{stderr}\nbroker:\n{}",
        stack.broker.logs()
    );
    report
}

/// Every page of the broker and the emulator loaded without a console
/// error, a script error or a CSP violation; returns the URLs visited.
/// The provider's pages are its development templates and not checked.
fn clean_pages(stack: &Stack, report: &Value) -> Vec<String> {
    let pages = report["pages"].as_array().expect("pages");
    let ours = pages.iter().filter(|page| {
        let url = page["url"].as_str().unwrap_or_default();
        url.starts_with(&stack.broker.url) || url.starts_with(&stack.emulator.url)
    });
    let mut urls = Vec::new();
    for page in ours {
        let console = page["console"].as_array().expect("console");
        let unexpected: Vec<&Value> = console
            .iter()
            .filter(|entry| !expected_console_error(page, entry))
            .collect();
        assert!(unexpected.is_empty(), "console errors: {page}");
        assert_eq!(page["errors"], json!([]), "script errors: {page}");
        urls.push(page["url"].as_str().unwrap_or_default().to_owned());
    }
    urls
}

/// Chromium logs an error status of the document itself (the 403 page
/// means it), and its own request for `/favicon.ico`, which neither
/// server has; neither is the page's doing.
fn expected_console_error(page: &Value, entry: &Value) -> bool {
    let text = entry["text"].as_str().unwrap_or_default();
    let url = entry["url"].as_str().unwrap_or_default();
    let failed_load = "Failed to load resource: the server responded";
    if !text.starts_with(failed_load) {
        return false;
    }
    let own_status = page["status"]
        .as_u64()
        .is_some_and(|status| text.contains(&format!("status of {status} ")));
    url.ends_with("/favicon.ico") || (url == page["url"] && own_status)
}

async fn assert_audit(stack: &Stack, identity: &str, outcome: &str, reason: &str) -> Value {
    let event = stack.broker.next_audit().await;
    assert_eq!(
        (
            event["identity"].as_str(),
            event["outcome"].as_str(),
            event["reason"].as_str()
        ),
        (Some(identity), Some(outcome), Some(reason)),
        "{event}"
    );
    event
}

#[tokio::test]
async fn alice_signs_in_in_chromium_and_then_goes_straight_to_studio() {
    let stack = Stack::start(|_| {}).await;
    let report = flow(&stack, "alice").await;
    let studio = format!("{}/studio/auth", stack.emulator.url);

    let first = &report["first"];
    assert_eq!(first["url"], studio.as_str(), "{report:#}");
    assert_eq!(first["title"], "Studio - alice");
    assert_eq!(first["profile"], "alice");
    assert_eq!(first["domain"], "d-mlstudio0001");
    assert!(first["issuer_requests"].as_u64() > Some(0), "{first}");

    let second = &report["second"];
    assert_eq!(second["url"], studio.as_str());
    assert_eq!(second["title"], "Studio - alice");
    assert_eq!(second["issuer_requests"], 0, "signed in: no provider");

    let login = format!("{}/interaction/", stack.provider.issuer);
    let pages = report["pages"].as_array().unwrap();
    assert!(
        pages.iter().any(|p| {
            p["url"].as_str().unwrap().starts_with(&login) && p["screenshot"].is_string()
        }),
        "the login form was shown: {report:#}"
    );
    clean_pages(&stack, &report);
    assert_audit(&stack, "alice", "granted", "granted").await;
    assert_audit(&stack, "alice", "granted", "granted").await;
    stack.broker.no_more_audit().await;
}

#[tokio::test]
async fn carol_chooses_a_space_and_signs_out_for_good() {
    let stack = Stack::start(|_| {}).await;
    let report = flow(&stack, "carol").await;
    let broker = &stack.broker.url;

    let chooser = &report["chooser"];
    assert_eq!(chooser["url"], format!("{broker}/"), "{report:#}");
    assert_eq!(chooser["title"], "Choose - Studio");
    let links = chooser["links"].as_array().unwrap();
    let column = |key: &str| -> Vec<String> {
        let cell = |link: &Value| link[key].as_str().unwrap().to_owned();
        links.iter().map(cell).collect()
    };
    assert_eq!(column("href"), ["/go/ml", "/go/ml/team", "/go/research"]);
    assert_eq!(
        column("text"),
        [
            "ml - profile carol",
            "ml - space team",
            "research - profile carol-r"
        ]
    );
    assert_eq!(chooser["sign_out_buttons"], 1);

    let team = &report["team"];
    assert_eq!(team["url"], format!("{}/studio/auth", stack.emulator.url));
    assert_eq!(team["title"], "Studio - carol");
    assert_eq!(team["space"], "team");
    assert_eq!(report["back"]["url"], format!("{broker}/"), "chooser again");
    assert_eq!(report["back"]["title"], "Choose - Studio");

    let confirm = &report["confirm"];
    assert_eq!(
        confirm["url"],
        format!("{}/session/end", stack.provider.issuer)
    );
    let signed_out = &report["signed_out"];
    assert_eq!(signed_out["url"], format!("{broker}/oauth2/signed_out"));
    let text = signed_out["text"].as_str().unwrap();
    assert!(text.contains("You are signed out"), "{text}");
    assert_eq!(signed_out["stays_put"], true, "no sign-in by itself");

    let urls = clean_pages(&stack, &report);
    assert!(urls.contains(&format!("{broker}/oauth2/signed_out")));
    let event = assert_audit(&stack, "carol", "granted", "granted").await;
    assert_eq!(
        (&event["profile"], &event["space"]),
        (&json!("carol"), &json!("team"))
    );
    stack.broker.no_more_audit().await;
}

#[tokio::test]
async fn dave_without_a_row_sees_who_he_is_and_can_sign_out() {
    let stack = Stack::start(|_| {}).await;
    let report = flow(&stack, "dave").await;

    let denied = &report["denied"];
    assert_eq!(
        denied["url"],
        format!("{}/", stack.broker.url),
        "{report:#}"
    );
    assert_eq!(denied["status"], 403);
    assert_eq!(denied["title"], "No access - Studio");
    let text = denied["text"].as_str().unwrap();
    assert!(text.contains("signed in as dave"), "{text}");
    assert!(text.contains("Request id:"), "{text}");
    assert_eq!(denied["sign_out_buttons"], 1);

    clean_pages(&stack, &report);
    assert_audit(&stack, "dave", "denied", "not_in_table").await;
    stack.broker.no_more_audit().await;
}
