//! `/metrics` after a known mix of traffic: exact counts for each series
//! the contract names, a real histogram, nothing personal in any label,
//! and the separate metrics listener.

use crate::support::broker::{self, Broker, Config};
use crate::support::emulator::Emulator;
use crate::support::jar::{Jar, location};
use crate::support::rogue::{self, Rogue, Signer};
use crate::support::stack::{Stack, USERS, seed};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One sample: metric name and its labels, sorted.
type Series = (String, BTreeMap<String, String>);

/// Parses the text exposition format into samples.
fn parse(text: &str) -> BTreeMap<Series, f64> {
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, labels(rest.strip_suffix('}').unwrap())),
            None => (series, BTreeMap::new()),
        };
        samples.insert((name.to_owned(), labels), value);
    }
    samples
}

/// `a="x",b="y"` into a map, honouring `\"` and `\\` in values.
fn labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => value.extend(chars.next().map(|(_, c)| c)),
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        labels.insert(key.trim_start_matches(',').to_owned(), value);
        rest = &after[end..];
    }
    labels
}

/// The value of `name` with exactly `labels`, if present.
fn value(samples: &BTreeMap<Series, f64>, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let labels = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    samples.get(&(name.to_owned(), labels)).copied()
}

async fn scrape(url: &str) -> BTreeMap<Series, f64> {
    let response = broker::client().get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"].to_str().unwrap();
    assert!(kind.starts_with("text/plain"), "{kind}");
    parse(&response.text().await.unwrap())
}

/// Replaces the table file in one step, written in another folder so
/// that only the rename is seen; waits until the broker logs `expect`.
async fn replace_table(broker: &Broker, contents: &str, expect: &str) {
    let before = broker.logs().matches(expect).count();
    let path = broker.users_path();
    let staging = tempfile::tempdir_in(broker.dir.path().parent().unwrap()).unwrap();
    let staged = staging.path().join("users.toml");
    std::fs::write(&staged, contents).unwrap();
    std::fs::rename(&staged, &path).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while broker.logs().matches(expect).count() == before {
        assert!(Instant::now() < deadline, "no {expect:?} logged");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Grants, denials, a throttled call, refused tokens, a good and a broken
/// table reload, and a browser sign-in, with exact expected counts.
async fn mixed_run(stack: &Stack) {
    let alice = stack.token("alice").await;
    let bob = stack.token("bob").await;
    let dave = stack.token("dave").await;
    for token in [&alice, &alice, &alice, &bob, &bob] {
        assert_eq!(stack.presign(token, None).await.status(), 200);
    }
    assert_eq!(stack.presign(&dave, None).await.status(), 403);
    assert_eq!(stack.presign(&dave, None).await.status(), 403);
    let research = Some(json!({"domain": "research"}));
    assert_eq!(stack.presign(&alice, research).await.status(), 403);

    stack.emulator.faults(50, 0, 0).await;
    assert_eq!(stack.presign(&alice, None).await.status(), 503);
    stack.emulator.reset_faults().await;

    assert_eq!(stack.presign("abc.def.ghi", None).await.status(), 401);
    let url = format!("{}/api/v1/presigned-url", stack.broker.url);
    let anonymous = broker::client().post(url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(stack.get("/alice/profile", None).await.status(), 404);

    let with_dave =
        format!("{USERS}\n[[users]]\nidentity = \"dave\"\ndomain = \"ml\"\nprofile = \"alice\"\n");
    replace_table(&stack.broker, &with_dave, "table reloaded").await;
    assert_eq!(stack.presign(&dave, None).await.status(), 200);
    let broken =
        format!("{with_dave}\n[[users]]\nidentity = \"x\"\ndomain = \"nope\"\nprofile = \"x\"\n");
    replace_table(&stack.broker, &broken, "table rejected").await;

    let mut jar = Jar::default();
    let go = format!("{}/go/ml", stack.broker.url);
    let response = jar.get_url(&go).await;
    assert_eq!(response.status(), 302);
    let callback = stack
        .provider
        .authorize(&location(&response), "alice")
        .await;
    assert_eq!(jar.get_url(&callback).await.status(), 302);
    let studio = jar.get_url(&go).await;
    assert_eq!(studio.status(), 302);
    assert!(location(&studio).starts_with(&stack.emulator.url));
}

/// A metric name, its labels, and the value it must have.
type Expected = (&'static str, Vec<(&'static str, &'static str)>, f64);

/// The exact value of each series after [`mixed_run`].
fn expected() -> Vec<Expected> {
    let requests = "studio_broker_requests_total";
    let api = "/api/v1/presigned-url";
    let decisions = "studio_broker_decisions_total";
    let reloads = "studio_broker_table_reloads_total";
    vec![
        (requests, vec![("route", api), ("status", "200")], 6.0),
        (requests, vec![("route", api), ("status", "403")], 3.0),
        (requests, vec![("route", api), ("status", "503")], 1.0),
        (requests, vec![("route", api), ("status", "401")], 2.0),
        (
            requests,
            vec![("route", "/go/{domain}"), ("status", "302")],
            2.0,
        ),
        (
            requests,
            vec![("route", "/oauth2/callback"), ("status", "302")],
            1.0,
        ),
        (
            requests,
            vec![("route", "unmatched"), ("status", "404")],
            1.0,
        ),
        (
            decisions,
            vec![("outcome", "granted"), ("reason", "granted")],
            7.0,
        ),
        (
            decisions,
            vec![("outcome", "denied"), ("reason", "not_in_table")],
            2.0,
        ),
        (
            decisions,
            vec![("outcome", "denied"), ("reason", "domain_not_granted")],
            1.0,
        ),
        (
            decisions,
            vec![("outcome", "failed"), ("reason", "upstream_throttled")],
            1.0,
        ),
        (
            "studio_broker_sagemaker_errors_total",
            vec![("kind", "throttled")],
            1.0,
        ),
        (reloads, vec![("result", "ok")], 1.0),
        (reloads, vec![("result", "error")], 1.0),
        ("studio_broker_table_rows", vec![], 8.0),
        ("studio_broker_sessions_started_total", vec![], 1.0),
        ("studio_broker_draining", vec![], 0.0),
    ]
}

#[tokio::test]
async fn every_series_counts_exactly_what_happened() {
    // The throttled call's three attempts and their backoff fit in four
    // seconds, so it is answered as throttled.
    let stack = Stack::start(|c| {
        c.limits = "mints_per_minute = 0".into();
        c.studio = "timeout_seconds = 4".into();
    })
    .await;
    mixed_run(&stack).await;
    let url = format!("{}/metrics", stack.broker.url);
    let text = broker::client().get(&url).send().await.unwrap();
    let text = text.text().await.unwrap();
    let samples = scrape(&url).await;

    let mut wrong: Vec<String> = expected()
        .into_iter()
        .filter_map(|(name, labels, want)| {
            let got = value(&samples, name, &labels);
            (got != Some(want)).then(|| format!("{name}{labels:?}: {got:?}, want {want}"))
        })
        .collect();
    let decisions: f64 = samples
        .iter()
        .filter(|((name, _), _)| name == "studio_broker_decisions_total")
        .map(|(_, v)| v)
        .sum();
    if decisions != 11.0 {
        wrong.push(format!("{decisions} decisions in all, want 11"));
    }
    let jwks = value(
        &samples,
        "studio_broker_jwks_refresh_total",
        &[("result", "ok")],
    );
    if !jwks.is_some_and(|n| n >= 1.0) {
        wrong.push(format!("jwks refreshes: {jwks:?}"));
    }
    if let Err(problem) = histogram(&samples, 8.0) {
        wrong.push(problem);
    }
    assert!(wrong.is_empty(), "{wrong:#?}\n{text}");
    assert_nothing_personal(&samples, &stack);
}

/// `studio_broker_sagemaker_call_seconds` is a histogram with cumulative
/// buckets ending in `+Inf`, and it saw `calls` calls.
fn histogram(samples: &BTreeMap<Series, f64>, calls: f64) -> Result<(), String> {
    let name = "studio_broker_sagemaker_call_seconds";
    let bucket = format!("{name}_bucket");
    let mut buckets: Vec<(f64, f64)> = samples
        .iter()
        .filter(|((n, _), _)| *n == bucket)
        .map(|((_, labels), v)| {
            let le = &labels["le"];
            let bound = le.parse().unwrap_or(f64::INFINITY);
            (bound, *v)
        })
        .collect();
    if buckets.len() < 5 {
        return Err(format!("{name}: no histogram buckets"));
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let cumulative = buckets.windows(2).all(|w| w[0].1 <= w[1].1);
    let last = buckets.last().copied();
    let count = value(samples, &format!("{name}_count"), &[]);
    let sum = value(samples, &format!("{name}_sum"), &[]).unwrap_or(0.0);
    let fine = cumulative && last == Some((f64::INFINITY, calls)) && count == Some(calls);
    (fine && sum > 0.0)
        .then_some(())
        .ok_or_else(|| format!("{name}: {buckets:?}, count {count:?}, sum {sum}"))
}

/// No label value names a person, a profile, a URL or a raw path.
fn assert_nothing_personal(samples: &BTreeMap<Series, f64>, stack: &Stack) {
    let people = ["alice", "bob", "carol", "dave", "erin", "frank", "carol-r"];
    let routes = [
        "/",
        "/go/{domain}",
        "/go/{domain}/{space}",
        "/oauth2/start",
        "/oauth2/callback",
        "/oauth2/login",
        "/oauth2/sign_out",
        "/oauth2/signed_out",
        "/api/v1/presigned-url",
        "/api/v1/targets",
        "/healthz",
        "/readyz",
        "/metrics",
        "unmatched",
    ];
    for (name, labels) in samples.keys() {
        for (key, value) in labels {
            let lower = value.to_lowercase();
            assert!(
                !people.iter().any(|p| lower.contains(p)),
                "{name}{{{key}={value}}}"
            );
            assert!(
                !value.contains("://") && !value.contains("127.0.0.1"),
                "{name}{{{key}={value}}}"
            );
            assert!(!value.contains(&stack.emulator.url));
            if key == "route" {
                assert!(routes.contains(&value.as_str()), "route {value}");
            }
        }
    }
}

#[tokio::test]
async fn a_separate_metrics_listener_serves_metrics_and_the_main_port_does_not() {
    let signer = Signer::rsa(rogue::RSA_A, "a");
    let rogue = Rogue::start(vec![signer.jwk()]).await;
    let emulator = Emulator::start(seed()).await;
    let metrics_port = broker::free_port();
    let mut config = Config::new(&rogue.issuer, &emulator.url);
    config.server = format!("metrics_listen = \"127.0.0.1:{metrics_port}\"");
    let broker = Broker::start(&config, USERS).await;
    let token = signer.sign(&rogue.claims("alice", "broker"));
    let url = format!("{}/api/v1/presigned-url", broker.url);
    let response = broker::client()
        .post(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let main = broker::client()
        .get(format!("{}/metrics", broker.url))
        .send()
        .await
        .unwrap();
    assert_eq!(main.status(), 404);
    let samples = scrape(&format!("http://127.0.0.1:{metrics_port}/metrics")).await;
    let granted = [("outcome", "granted"), ("reason", "granted")];
    let decisions = "studio_broker_decisions_total";
    assert_eq!(value(&samples, decisions, &granted), Some(1.0));
    let unmatched = [("route", "unmatched"), ("status", "404")];
    let requests = "studio_broker_requests_total";
    assert_eq!(value(&samples, requests, &unmatched), Some(1.0));
    let elsewhere = broker::client()
        .get(format!("http://127.0.0.1:{metrics_port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        elsewhere.status(),
        404,
        "the metrics port serves metrics only"
    );
}
