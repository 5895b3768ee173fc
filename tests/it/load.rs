//! Three thousand mixed requests against one broker, 32 at a time, while
//! SageMaker lags and throttles and the table is rewritten twice (once
//! well, once broken): every request gets the answer its kind deserves,
//! every decision is audited exactly once, and memory stays flat.
//!
//! Tokens come from the provider the tests control, so thousands can be
//! signed in a moment; the browser sessions come from the same provider's
//! authorization-code flow, which the broker runs as it would against any
//! provider.

use crate::support::broker::{self, Broker, Config};
use crate::support::emulator::Emulator;
use crate::support::jar::{Jar, location};
use crate::support::rogue::{self, Rogue, Signer};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Identities with a row each; the first [`HEAVY`] of them ask far more
/// often than the mint limit allows.
const MAPPED: usize = 50;
const HEAVY: usize = 5;
/// Identities that use the browser routes with a session cookie.
const SESSIONS: usize = 5;
/// Identities with valid tokens and no row.
const UNMAPPED: usize = 40;
/// The mint limit under test, per identity per minute.
const MINTS_PER_MINUTE: u32 = 5;
const IN_FLIGHT: usize = 32;
const LATENCY_MS: u64 = 20;
/// How much the broker's resident memory may grow over the main run.
const RSS_SLACK_KB: u64 = 10 * 1024;

/// Held by the load run and by tests whose timing bounds it would
/// disturb, so that the two never overlap.
pub static EXCLUSIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What a request is, and so what it must be answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    /// A mapped identity within its mint budget: a URL, or 503 while
    /// SageMaker throttles.
    Grant,
    /// A mapped identity far over its budget: as `Grant`, or 429.
    OverLimit,
    /// `GET /go/ml` with a session: 302 to Studio, or 503.
    SessionGrant,
    SessionTargets,
    Unmapped,
    OtherDomain,
    UnknownDomain,
    Targets,
    Expired,
    WrongIssuer,
    WrongAudience,
    Tampered,
    AlgNone,
    NoToken,
    Health,
}

struct Job {
    kind: Kind,
    who: String,
}

/// What came back, reduced to what the checks look at.
#[derive(Debug)]
struct Answer {
    kind: Kind,
    who: String,
    status: u16,
    error: Option<String>,
    profile: Option<String>,
    url: Option<String>,
    retry_after: Option<String>,
    request_id: String,
    answered: Instant,
}

/// Everything a request may present.
struct Creds {
    broker: String,
    emulator: String,
    http: reqwest::Client,
    tokens: HashMap<String, String>,
    cookies: HashMap<String, String>,
    bad: HashMap<Kind, String>,
}

fn mapped(i: usize) -> String {
    format!("u{i:02}")
}

fn session_name(i: usize) -> String {
    format!("s{i}")
}

fn unmapped(i: usize) -> String {
    format!("nobody-{i:02}")
}

/// Table rows: every mapped and session identity, the throttle probe,
/// and `retired-1`, which the first rewrite removes.
fn table(extra: &[&str], without: &[&str]) -> String {
    let names = (0..MAPPED)
        .map(mapped)
        .chain((0..SESSIONS).map(session_name))
        .chain(["probe".to_owned(), "retired-1".to_owned()])
        .chain(extra.iter().map(|s| (*s).to_owned()))
        .filter(|n| !without.contains(&n.as_str()));
    names
        .map(|n| format!("[[users]]\nidentity = \"{n}\"\ndomain = \"ml\"\nprofile = \"{n}\"\n\n"))
        .collect()
}

fn seed() -> Value {
    let mut profiles: Vec<String> = (0..MAPPED).map(mapped).collect();
    profiles.extend((0..SESSIONS).map(session_name));
    profiles.extend(["probe", "retired-1", "extra-1"].map(str::to_owned));
    json!({"domains": [
        {"id": "d-mlstudio0001", "name": "ml", "auth_mode": "IAM",
         "profiles": profiles},
        {"id": "d-research0001", "name": "research", "auth_mode": "IAM",
         "profiles": ["elsewhere"]}
    ]})
}

/// One token of each kind the broker must refuse.
fn bad_tokens(signer: &Signer, rogue: &Rogue) -> HashMap<Kind, String> {
    let now = rogue::now();
    let good = rogue.claims(&mapped(10), "broker");
    let with = |key: &str, value: Value| {
        let mut claims = good.clone();
        claims[key] = value;
        signer.sign(&claims)
    };
    let expired = {
        let mut claims = good.clone();
        claims["iat"] = json!(now - 1200);
        claims["exp"] = json!(now - 600);
        signer.sign(&claims)
    };
    let genuine = signer.sign(&good);
    let parts: Vec<&str> = genuine.split('.').collect();
    let other = rogue.claims(&mapped(11), "broker");
    let other = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap());
    let none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    HashMap::from([
        (Kind::Expired, expired),
        (
            Kind::WrongIssuer,
            with("iss", json!("http://127.0.0.1:9/other")),
        ),
        (Kind::WrongAudience, with("aud", json!("not-the-broker"))),
        (Kind::Tampered, format!("{}.{other}.{}", parts[0], parts[2])),
        (Kind::AlgNone, format!("{none}.{}.", parts[1])),
    ])
}

/// A whole browser sign-in as `who` through the provider's flow; returns
/// the `Cookie` header that carries the session.
async fn sign_in(broker: &Broker, rogue: &Rogue, current: &Mutex<String>, who: &str) -> String {
    *current.lock().unwrap() = who.to_owned();
    let mut jar = Jar::default();
    let start = format!("{}/oauth2/start?rd=/go/ml", broker.url);
    let response = jar.get_url(&start).await;
    assert_eq!(response.status(), 302, "{}", broker.logs());
    let back = rogue.authorize(&location(&response)).await;
    let response = jar.get_url(&back).await;
    assert_eq!(response.status(), 302, "{}", broker.logs());
    assert!(jar.get("sb_session").is_some());
    jar.header()
}

fn request(creds: &Creds, job: &Job) -> reqwest::RequestBuilder {
    let presign = format!("{}/api/v1/presigned-url", creds.broker);
    let targets = format!("{}/api/v1/targets", creds.broker);
    let http = &creds.http;
    let token = |who: &str| creds.tokens[who].clone();
    match job.kind {
        Kind::Grant | Kind::OverLimit | Kind::Unmapped => {
            http.post(presign).bearer_auth(token(&job.who))
        }
        Kind::OtherDomain => http
            .post(presign)
            .bearer_auth(token(&job.who))
            .json(&json!({"domain": "research"})),
        Kind::UnknownDomain => http
            .post(presign)
            .bearer_auth(token(&job.who))
            .json(&json!({"domain": "nope"})),
        Kind::Targets => http.get(targets).bearer_auth(token(&job.who)),
        Kind::SessionGrant => http
            .get(format!("{}/go/ml", creds.broker))
            .header("cookie", &creds.cookies[&job.who]),
        Kind::SessionTargets => http.get(targets).header("cookie", &creds.cookies[&job.who]),
        Kind::NoToken => http.post(presign),
        Kind::Health => http.get(format!("{}/healthz", creds.broker)),
        bad => http.post(presign).bearer_auth(&creds.bad[&bad]),
    }
}

async fn send(creds: &Creds, job: Job) -> Answer {
    let response = request(creds, &job).send().await.expect("send");
    let header = |name: &str| {
        let value = response.headers().get(name)?;
        Some(value.to_str().unwrap().to_owned())
    };
    let retry_after = header("retry-after");
    let request_id = header("x-request-id").unwrap_or_default();
    let redirect = header("location");
    let status = response.status().as_u16();
    let body: Value = response
        .text()
        .await
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let text = |key: &str| body[key].as_str().map(str::to_owned);
    Answer {
        kind: job.kind,
        who: job.who,
        status,
        error: text("error"),
        profile: text("profile"),
        url: text("url").or(redirect),
        retry_after,
        request_id,
        answered: Instant::now(),
    }
}

/// Why `answer` is not what its kind deserves, if it is not.
fn wrong(answer: &Answer, emulator: &str) -> Option<String> {
    let studio = format!("{emulator}/studio/auth?token=");
    let minted = answer
        .url
        .as_deref()
        .is_some_and(|u| u.starts_with(&studio));
    let error = answer.error.as_deref();
    let throttled = answer.status == 503 && answer.retry_after.as_deref() == Some("5");
    let limited = answer.status == 429 && answer.retry_after.is_some();
    let own = answer.profile.as_deref() == Some(answer.who.as_str());
    let fine = match answer.kind {
        Kind::Grant => (answer.status == 200 && minted && own) || throttled,
        Kind::OverLimit => {
            let api_error = matches!(error, Some("upstream_throttled" | "rate_limited"));
            (answer.status == 200 && minted && own) || ((throttled || limited) && api_error)
        }
        Kind::SessionGrant => (answer.status == 302 && minted) || throttled,
        Kind::Targets | Kind::SessionTargets | Kind::Health => answer.status == 200,
        Kind::Unmapped | Kind::OtherDomain => answer.status == 403 && error == Some("not_granted"),
        Kind::UnknownDomain => answer.status == 404 && error == Some("unknown_domain"),
        _ => answer.status == 401 && error == Some("invalid_token"),
    };
    let grant_503 = answer.kind != Kind::SessionGrant && answer.status == 503;
    let code_ok = !grant_503 || error == Some("upstream_throttled");
    (!fine || !code_ok).then(|| format!("{answer:?}"))
}

/// The audit event a request must have caused, if any.
fn decision(answer: &Answer) -> Option<(&'static str, &'static str)> {
    let minting = matches!(
        answer.kind,
        Kind::Grant | Kind::OverLimit | Kind::SessionGrant
    );
    match (answer.kind, answer.status) {
        (_, 200 | 302) if minting => Some(("granted", "granted")),
        (_, 503) if minting => Some(("failed", "upstream_throttled")),
        (_, 429) if minting => Some(("denied", "rate_limited")),
        (Kind::Unmapped, _) => Some(("denied", "not_in_table")),
        (Kind::OtherDomain, _) => Some(("denied", "domain_not_granted")),
        (Kind::UnknownDomain, _) => Some(("denied", "unknown_domain")),
        _ => None,
    }
}

/// A fixed shuffle, so a failure can be replayed.
fn shuffle(jobs: &mut [Job]) {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in (1..jobs.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let j = usize::try_from(x % (i as u64 + 1)).unwrap();
        jobs.swap(i, j);
    }
}

fn jobs(kind: Kind, count: usize, names: &[String]) -> impl Iterator<Item = Job> + '_ {
    (0..count).map(move |i| Job {
        kind,
        who: names[i % names.len()].clone(),
    })
}

/// The kinds of token the broker refuses whoever presents them.
const REFUSED_TOKENS: [Kind; 5] = [
    Kind::Expired,
    Kind::WrongIssuer,
    Kind::WrongAudience,
    Kind::Tampered,
    Kind::AlgNone,
];

/// The warm-up: one mint for each ordinary mapped identity (so the main
/// run's four more stay within the limit), and some of everything that
/// does not mint.
fn warm_up() -> Vec<Job> {
    let ordinary: Vec<String> = (HEAVY..MAPPED).map(mapped).collect();
    let nobody: Vec<String> = (0..UNMAPPED).map(unmapped).collect();
    let mut all: Vec<Job> = jobs(Kind::Grant, ordinary.len(), &ordinary).collect();
    all.extend(jobs(Kind::Targets, 60, &ordinary));
    all.extend(jobs(Kind::Unmapped, 50, &nobody));
    for kind in REFUSED_TOKENS {
        all.extend(jobs(kind, 20, &ordinary));
    }
    all.extend(jobs(Kind::NoToken, 20, &ordinary));
    all.extend(jobs(Kind::Health, 25, &ordinary));
    shuffle(&mut all);
    all
}

/// The main run: 3,000 requests.
fn main_run() -> Vec<Job> {
    let ordinary: Vec<String> = (HEAVY..MAPPED).map(mapped).collect();
    let heavy: Vec<String> = (0..HEAVY).map(mapped).collect();
    let sessions: Vec<String> = (0..SESSIONS).map(session_name).collect();
    let nobody: Vec<String> = (0..UNMAPPED).map(unmapped).collect();
    let mut all: Vec<Job> = jobs(Kind::Grant, ordinary.len() * 4, &ordinary).collect();
    all.extend(jobs(Kind::OverLimit, HEAVY * 20, &heavy));
    all.extend(jobs(Kind::SessionGrant, SESSIONS * 4, &sessions));
    all.extend(jobs(Kind::SessionTargets, 100, &sessions));
    all.extend(jobs(Kind::Unmapped, 400, &nobody));
    all.extend(jobs(Kind::OtherDomain, 150, &ordinary));
    all.extend(jobs(Kind::UnknownDomain, 150, &ordinary));
    all.extend(jobs(Kind::Targets, 500, &ordinary));
    for kind in REFUSED_TOKENS {
        all.extend(jobs(kind, 200, &ordinary));
    }
    all.extend(jobs(Kind::NoToken, 200, &ordinary));
    all.extend(jobs(Kind::Health, 200, &ordinary));
    assert_eq!(all.len(), 3000);
    shuffle(&mut all);
    all
}

/// What disturbs the run, started once the run is this far along.
enum Chaos {
    Rewrite {
        at: usize,
        table: String,
        log: &'static str,
    },
    Throttle {
        at: usize,
    },
}

impl Chaos {
    fn at(&self) -> usize {
        match self {
            Self::Rewrite { at, .. } | Self::Throttle { at } => *at,
        }
    }
}

/// Runs `jobs` with at most [`IN_FLIGHT`] requests in flight, starting
/// each disturbance of `chaos` when its turn comes; waits for all.
/// Returns the answers, the probe's among them, and when each
/// disturbance was over.
async fn run(
    creds: &Arc<Creds>,
    env: &Arc<Env>,
    jobs: Vec<Job>,
    chaos: Vec<Chaos>,
) -> (Vec<Answer>, Vec<Instant>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut running = JoinSet::new();
    let mut disturbing = JoinSet::new();
    let mut chaos = chaos.into_iter().peekable();
    for (i, job) in jobs.into_iter().enumerate() {
        while let Some(next) = chaos.next_if(|c| c.at() == i) {
            disturbing.spawn(disturb(creds.clone(), env.clone(), next));
        }
        let slot = slots.clone().acquire_owned().await.unwrap();
        let creds = creds.clone();
        running.spawn(async move {
            let answer = send(&creds, job).await;
            drop(slot);
            answer
        });
    }
    let mut answers = Vec::new();
    while let Some(done) = running.join_next().await {
        answers.push(done.unwrap());
    }
    let mut over = Vec::new();
    while let Some(done) = disturbing.join_next().await {
        let (probe, when) = done.unwrap();
        answers.extend(probe);
        over.push(when);
    }
    (answers, over)
}

/// What the disturbances act on.
struct Env {
    emulator: Emulator,
    broker: Broker,
}

async fn disturb(creds: Arc<Creds>, env: Arc<Env>, chaos: Chaos) -> (Option<Answer>, Instant) {
    match chaos {
        Chaos::Rewrite { table, log, .. } => {
            let before = env.broker.logs().matches(log).count();
            replace(&env.broker.users_path(), &table);
            let deadline = Instant::now() + Duration::from_secs(10);
            while env.broker.logs().matches(log).count() == before {
                assert!(Instant::now() < deadline, "no {log:?} in the logs");
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            (None, Instant::now())
        }
        Chaos::Throttle { .. } => {
            // Every attempt is throttled until the probe, which starts
            // inside this window, has had all its retries refused.
            env.emulator.faults(1_000_000, 0, LATENCY_MS).await;
            let probe = Job {
                kind: Kind::Grant,
                who: "probe".into(),
            };
            let answer = send(&creds, probe).await;
            env.emulator.faults(0, 0, LATENCY_MS).await;
            assert_eq!(answer.status, 503, "{answer:?}");
            (Some(answer), Instant::now())
        }
    }
}

/// Replaces the table file in one step, as deployment tools do; the new
/// file is written in another folder so that only the rename is seen.
fn replace(path: &std::path::Path, contents: &str) {
    let staging = tempfile::tempdir_in(path.parent().unwrap().parent().unwrap()).unwrap();
    let staged = staging.path().join("users.toml");
    std::fs::write(&staged, contents).unwrap();
    std::fs::rename(&staged, path).unwrap();
}

/// Resident memory of process `pid`, in kB.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let digits: String = line.chars().filter(char::is_ascii_digit).collect();
    digits.parse().unwrap()
}

fn assert_answers(answers: &[Answer], emulator: &str) {
    let wrong: Vec<String> = answers.iter().filter_map(|a| wrong(a, emulator)).collect();
    assert!(
        wrong.is_empty(),
        "{} wrong answers, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
}

/// Every heavy identity minted (or tried to) at least its burst and at
/// most what the limit replenished during the run, and was refused the
/// rest.
fn assert_limits(answers: &[Answer], elapsed: Duration) {
    let replenished = elapsed.as_secs() / (60 / u64::from(MINTS_PER_MINUTE)) + 1;
    for who in (0..HEAVY).map(mapped) {
        let mine = answers.iter().filter(|a| a.who == who);
        let (limited, minted): (Vec<&Answer>, Vec<&Answer>) = mine.partition(|a| a.status == 429);
        let minted = minted.len() as u64;
        let most = u64::from(MINTS_PER_MINUTE) + replenished;
        assert!(
            (u64::from(MINTS_PER_MINUTE)..=most).contains(&minted),
            "{who}: {minted} mints in {elapsed:?}"
        );
        assert!(limited.len() >= 20 - most as usize, "{who}");
        for answer in limited {
            let wait: u64 = answer.retry_after.as_deref().unwrap().parse().unwrap();
            assert!((1..=12).contains(&wait), "{answer:?}");
        }
    }
}

/// The audit log holds exactly one event per decision, naming the caller
/// with the outcome and reason the answer implies, and nothing for
/// anything else.
fn assert_audit(broker: &Broker, answers: &[Answer]) {
    let expected: BTreeMap<&str, [&str; 3]> = answers
        .iter()
        .filter_map(|a| {
            let (outcome, reason) = decision(a)?;
            Some((a.request_id.as_str(), [a.who.as_str(), outcome, reason]))
        })
        .collect();
    let decisions = answers.iter().filter(|a| decision(a).is_some()).count();
    assert_eq!(expected.len(), decisions, "request ids are unique");

    let events = broker.audit();
    let mut seen: BTreeMap<String, [String; 3]> = BTreeMap::new();
    for event in &events {
        let text = |key: &str| event[key].as_str().unwrap().to_owned();
        let fields = [text("identity"), text("outcome"), text("reason")];
        let previous = seen.insert(text("request_id"), fields);
        assert!(previous.is_none(), "two events for one request: {event}");
    }
    assert_eq!(events.len(), expected.len(), "one event per decision");
    for (id, want) in &expected {
        let found = seen.get(*id).map(|f| [&*f[0], &*f[1], &*f[2]]);
        assert_eq!(found, Some(*want), "request {id}");
    }
}

async fn wait_for_audit(broker: &Broker, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while broker.audit().len() < count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Anything beyond the expected count would arrive by now.
    tokio::time::sleep(Duration::from_millis(300)).await;
}

fn tally(answers: &[Answer]) -> BTreeMap<(Kind, u16), usize> {
    let mut counts = BTreeMap::new();
    for answer in answers {
        *counts.entry((answer.kind, answer.status)).or_insert(0) += 1;
    }
    counts
}

/// The good rewrite is in force: its new row grants, its removed row no
/// longer does (and the broken one after it changed nothing).
async fn rewrite_in_force(creds: &Creds) -> Vec<Answer> {
    let mut answers = Vec::new();
    for (who, kind, status) in [
        ("extra-1", Kind::Grant, 200),
        ("retired-1", Kind::Unmapped, 403),
    ] {
        let job = Job {
            kind,
            who: who.into(),
        };
        let answer = send(creds, job).await;
        assert_eq!(answer.status, status, "{answer:?}");
        answers.push(answer);
    }
    answers
}

/// SageMaker answered with a URL exactly once per grant.
async fn assert_one_call_per_grant(emulator: &Emulator, answers: &[Answer]) {
    let granted = answers
        .iter()
        .filter(|a| matches!(a.status, 200 | 302) && decision(a).is_some())
        .count();
    let calls = emulator.calls().await;
    let ok = calls.iter().filter(|c| c["outcome"] == "ok").count();
    assert_eq!(ok, granted, "one successful SageMaker call per grant");
}

async fn start() -> (Rogue, Arc<Creds>, Arc<Env>) {
    let signer = Signer::rsa(rogue::RSA_A, "a");
    let rogue = Rogue::start(vec![signer.jwk()]).await;
    let current = Arc::new(Mutex::new(String::new()));
    let (hook_signer, hook_current) = (signer.clone(), current.clone());
    rogue.set_id_token(move |ctx| {
        let who = hook_current.lock().unwrap().clone();
        hook_signer.sign(&ctx.claims(&who))
    });
    let emulator = Emulator::start(seed()).await;
    let mut config = Config::new(&rogue.issuer, &emulator.url);
    config.limits =
        format!("mints_per_minute = {MINTS_PER_MINUTE}\nunauthenticated_per_minute = 0");
    // Room for three throttled attempts with their backoff, so a throttled
    // call is answered as throttled and never as a timeout.
    config.studio = "timeout_seconds = 8".into();
    let broker = Broker::start(&config, &table(&[], &[])).await;

    let everyone = (0..MAPPED)
        .map(mapped)
        .chain((0..UNMAPPED).map(unmapped))
        .chain(["probe", "retired-1", "extra-1"].map(str::to_owned));
    let tokens = everyone
        .map(|who| {
            let token = signer.sign(&rogue.claims(&who, "broker"));
            (who, token)
        })
        .collect();
    let mut cookies = HashMap::new();
    for who in (0..SESSIONS).map(session_name) {
        let cookie = sign_in(&broker, &rogue, &current, &who).await;
        cookies.insert(who, cookie);
    }
    let creds = Creds {
        broker: broker.url.clone(),
        emulator: emulator.url.clone(),
        http: broker::client(),
        tokens,
        cookies,
        bad: bad_tokens(&signer, &rogue),
    };
    emulator.faults(0, 0, LATENCY_MS).await;
    (rogue, Arc::new(creds), Arc::new(Env { emulator, broker }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_mixed_requests_under_faults_get_exact_answers() {
    let _alone = EXCLUSIVE.lock().await;
    let (_rogue, creds, env) = start().await;
    let pid = env.broker.pid();

    let (mut answers, _) = run(&creds, &env, warm_up(), Vec::new()).await;
    assert_answers(&answers, &creds.emulator);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline = rss_kb(pid);

    let chaos = vec![
        Chaos::Rewrite {
            at: 600,
            table: table(&["extra-1"], &["retired-1"]),
            log: "table reloaded",
        },
        Chaos::Throttle { at: 1200 },
        Chaos::Rewrite {
            at: 1800,
            table: format!("{}[[users]]\nidentity = \"x\"\n", table(&[], &[])),
            log: "table rejected",
        },
    ];
    let started = Instant::now();
    let (main, disturbed) = run(&creds, &env, main_run(), chaos).await;
    let elapsed = started.elapsed();
    let last = main.iter().filter(|a| a.who != "probe").map(|a| a.answered);
    let last = last.max().unwrap();
    assert!(
        disturbed.iter().all(|over| *over < last),
        "every disturbance was over while requests were still answered"
    );
    assert_answers(&main, &creds.emulator);
    assert_limits(&main, elapsed);
    let tally = tally(&main);
    let throttled: usize = [Kind::Grant, Kind::OverLimit, Kind::SessionGrant]
        .iter()
        .map(|k| tally.get(&(*k, 503)).copied().unwrap_or(0))
        .sum();
    assert!(throttled >= 1, "{tally:?}");
    answers.extend(main);

    answers.extend(rewrite_in_force(&creds).await);
    assert_one_call_per_grant(&env.emulator, &answers).await;

    let decisions = answers.iter().filter(|a| decision(a).is_some()).count();
    wait_for_audit(&env.broker, decisions).await;
    assert_audit(&env.broker, &answers);

    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kb(pid);
    assert!(
        after <= baseline + RSS_SLACK_KB,
        "RSS grew from {baseline} kB to {after} kB over {} requests",
        answers.len()
    );
    eprintln!(
        "load: {} requests in {elapsed:?}, RSS {baseline} -> {after} kB, {tally:?}",
        answers.len()
    );
}
