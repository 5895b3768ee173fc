//! The broker's life around its peers: a graceful drain on SIGTERM while
//! slow requests are in flight, and an identity provider that goes away
//! and comes back. (A SIGHUP reload of the table is covered by
//! `table_reload.rs`.)

use crate::support::broker::{self, Broker, Config, Options};
use crate::support::emulator::Emulator;
use crate::support::jar::{Jar, location};
use crate::support::rogue::{self, Rogue, Signer};
use crate::support::stack::{Stack, USERS, seed};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

const DRAIN_DELAY: Duration = Duration::from_secs(2);
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
const LATENCY_MS: u64 = 1500;

/// A client that opens a new connection for every request, so each one
/// proves the listener still accepts (or refuses).
fn fresh() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

async fn presign(url: &str, token: &str) -> u16 {
    let response = fresh()
        .post(format!("{url}/api/v1/presigned-url"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

/// Starts `count` presign requests; each task yields its status and when
/// it was answered.
fn spawn_presigns(tasks: &mut JoinSet<(u16, Instant)>, url: &str, token: &str, count: usize) {
    for _ in 0..count {
        let (url, token) = (url.to_owned(), token.to_owned());
        tasks.spawn(async move { (presign(&url, &token).await, Instant::now()) });
    }
}

async fn statuses(mut tasks: JoinSet<(u16, Instant)>) -> Vec<(u16, Instant)> {
    let mut done = Vec::new();
    while let Some(answer) = tasks.join_next().await {
        done.push(answer.unwrap());
    }
    done
}

async fn status_of(url: &str) -> Result<u16, reqwest::Error> {
    Ok(fresh().get(url).send().await?.status().as_u16())
}

/// A broker trusting `rogue`, with the standard table and mint limits off;
/// `server` replaces the drain settings the tests' config starts with.
async fn start_broker(rogue: &Rogue, emulator: &Emulator, server: &str, oidc: &str) -> Broker {
    let mut config = Config::new(&rogue.issuer, &emulator.url);
    config.limits = "mints_per_minute = 0".into();
    config.oidc = oidc.to_owned();
    let port = broker::free_port();
    let defaults = "drain_delay_seconds = 0\nshutdown_timeout_seconds = 5\n";
    let rendered = config.render(port);
    assert!(rendered.contains(defaults));
    let options = Options {
        config: rendered.replace(defaults, server),
        users: USERS.to_owned(),
        users_name: "users.toml",
        env: broker::base_env(),
        wait_ready: true,
    };
    Broker::start_with(options, port).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_then_finishes_what_is_in_flight_and_exits_cleanly() {
    let _alone = crate::load::EXCLUSIVE.lock().await;
    let signer = Signer::rsa(rogue::RSA_A, "a");
    let rogue = Rogue::start(vec![signer.jwk()]).await;
    let emulator = Emulator::start(seed()).await;
    let server = format!(
        "drain_delay_seconds = {}\nshutdown_timeout_seconds = {}\n",
        DRAIN_DELAY.as_secs(),
        SHUTDOWN_TIMEOUT.as_secs()
    );
    let mut broker = start_broker(&rogue, &emulator, &server, "").await;
    let url = broker.url.clone();
    let token = signer.sign(&rogue.claims("alice", "broker"));
    emulator.faults(0, 0, LATENCY_MS).await;

    let mut before = JoinSet::new();
    spawn_presigns(&mut before, &url, &token, 10);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    broker.signal("TERM");

    while status_of(&format!("{url}/readyz")).await.unwrap() != 503 {
        let waited = signalled.elapsed();
        assert!(
            waited < Duration::from_millis(200),
            "ready after {waited:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let waited = signalled.elapsed();
    assert!(
        waited < Duration::from_millis(200),
        "unready after {waited:?}"
    );

    // During the delay new connections are still accepted and served.
    assert_eq!(status_of(&format!("{url}/healthz")).await.unwrap(), 200);
    let metrics = fresh().get(format!("{url}/metrics")).send().await;
    let metrics = metrics.unwrap().text().await.unwrap();
    assert!(metrics.contains("studio_broker_draining 1"), "{metrics}");
    let mut during = JoinSet::new();
    spawn_presigns(&mut during, &url, &token, 1);
    tokio::time::sleep_until((signalled + Duration::from_secs(1)).into()).await;
    let mut late = JoinSet::new();
    spawn_presigns(&mut late, &url, &token, 5);

    let closed = wait_refused(&url, signalled).await;
    let closed_after = closed - signalled;
    assert!(
        closed_after >= DRAIN_DELAY - Duration::from_millis(100),
        "closed after {closed_after:?}"
    );
    assert_eq!(
        broker.wait_exit(Duration::ZERO).await,
        None,
        "still finishing"
    );

    for (status, _) in statuses(before).await {
        assert_eq!(status, 200);
    }
    assert_eq!(statuses(during).await[0].0, 200);
    for (status, answered) in statuses(late).await {
        assert_eq!(status, 200, "{}", broker.logs());
        assert!(answered > closed, "in flight when the listener closed");
    }
    let code = broker.wait_exit(Duration::from_secs(8)).await;
    assert_eq!(code, Some(0), "{}", broker.logs());
    assert!(signalled.elapsed() < DRAIN_DELAY + SHUTDOWN_TIMEOUT);
}

/// Polls `/healthz` on new connections until the connection is refused;
/// returns when. Until then it must answer 200.
async fn wait_refused(url: &str, since: Instant) -> Instant {
    let bound = DRAIN_DELAY + Duration::from_secs(2);
    loop {
        match status_of(&format!("{url}/healthz")).await {
            Ok(status) => assert_eq!(status, 200),
            Err(e) if e.is_connect() => return Instant::now(),
            Err(e) => panic!("neither served nor refused: {e}"),
        }
        assert!(since.elapsed() < bound, "the listener stayed open");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn bearer_tokens_keep_verifying_from_cached_keys_while_the_provider_is_down() {
    let old = Signer::rsa(rogue::RSA_A, "a");
    let new = Signer::rsa(rogue::RSA_B, "b");
    let rogue = Rogue::start(vec![old.jwk()]).await;
    let emulator = Emulator::start(seed()).await;
    let server = "drain_delay_seconds = 0\n";
    let broker = start_broker(&rogue, &emulator, server, "jwks_min_refetch_seconds = 1").await;
    let url = broker.url.clone();
    let known = old.sign(&rogue.claims("alice", "broker"));
    let rotated = new.sign(&rogue.claims("alice", "broker"));
    assert_eq!(presign(&url, &known).await, 200);

    // Down: every document the provider serves is unusable.
    let discovery = rogue.discovery();
    rogue.set_discovery(json!({"error": "unavailable"}));
    rogue.set_keys(vec![json!("unavailable")]);
    let fetches = rogue.jwks_fetches();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for _ in 0..5 {
        assert_eq!(presign(&url, &known).await, 200);
    }
    assert_eq!(presign(&url, &rotated).await, 401, "its key is unknown");
    assert!(
        rogue.jwks_fetches() > fetches,
        "the broker tried to refetch"
    );
    assert_eq!(status_of(&format!("{url}/readyz")).await.unwrap(), 200);
    let metrics = fresh().get(format!("{url}/metrics")).send().await;
    let metrics = metrics.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("studio_broker_jwks_refresh_total{result=\"error\"}"),
        "{metrics}"
    );

    // Back, with the rotated key published.
    rogue.set_discovery(discovery);
    rogue.set_keys(vec![old.jwk(), new.jwk()]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(presign(&url, &rotated).await, 200, "{}", broker.logs());
    assert_eq!(presign(&url, &known).await, 200);
}

/// Starts a sign-in in a fresh browser and has the provider approve it;
/// returns the browser and the callback URL it was sent back to.
async fn approved_sign_in(stack: &Stack) -> (Jar, String) {
    let mut jar = Jar::default();
    let response = jar.get_url(&format!("{}/", stack.broker.url)).await;
    assert_eq!(response.status(), 302);
    let callback = stack
        .provider
        .authorize(&location(&response), "alice")
        .await;
    (jar, callback)
}

#[tokio::test]
async fn a_stopped_provider_fails_only_the_code_redemption() {
    let mut stack = Stack::start(|c| c.limits = "mints_per_minute = 0".into()).await;
    let alice = stack.token("alice").await;
    let (mut browser, callback) = approved_sign_in(&stack).await;
    let (script, script_callback) = approved_sign_in(&stack).await;
    stack.provider.stop();

    assert_eq!(stack.presign(&alice, None).await.status(), 200);
    assert_eq!(stack.broker.next_audit().await["outcome"], "granted");
    assert_eq!(stack.get("/readyz", None).await.status(), 200);

    // The metadata is cached, so a new sign-in still starts.
    let mut newcomer = Jar::default();
    let response = newcomer.get_url(&format!("{}/", stack.broker.url)).await;
    assert_eq!(response.status(), 302);
    let to = location(&response);
    assert!(
        to.starts_with(&format!("{}/auth?", stack.provider.issuer)),
        "{to}"
    );

    // The code cannot be redeemed: 503, the not_ready page, no session.
    let page = browser.get_url(&callback).await;
    assert_eq!(page.status(), 503, "{}", stack.broker.logs());
    let id = page.headers()["x-request-id"].to_str().unwrap().to_owned();
    let kind = page.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(browser.get("sb_session").is_none());
    let html = page.text().await.unwrap();
    let message = "Your identity provider is unavailable right now; try again in a minute.";
    assert!(html.contains(message), "{html}");
    assert!(html.contains(&id), "{html}");

    let answer = broker::client()
        .get(&script_callback)
        .header("cookie", script.header())
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 503);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body, json!({"error": "not_ready", "message": message}));
    stack.broker.no_more_audit().await;
}
