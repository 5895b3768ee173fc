//! The SageMaker emulator for the integration tests.
//!
//! [`Emulator::start`] runs the `sagemaker-emulator` binary (the workspace
//! member in `tests/support/emulator`) on a free loopback port, accepting
//! only [`ACCESS_KEY_ID`] and [`SECRET_ACCESS_KEY`] in [`REGION`], and
//! drives its control API: injected faults, the log of presign calls, and
//! seeded domains, profiles and spaces.
//!
//! The binary is built once per test process with
//! `cargo build -p sagemaker-emulator` (`$CARGO`, else `cargo` from `PATH`)
//! into the target directory of the running test, or `$CARGO_TARGET_DIR`.
//! `$SAGEMAKER_EMULATOR_BIN` names a ready binary and skips the build.

// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::ffi::OsString;
use std::fmt::Display;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::OnceCell;

/// The only access key id the emulator accepts.
pub const ACCESS_KEY_ID: &str = "AKIDEMULATOR0000000";
/// Its secret access key.
pub const SECRET_ACCESS_KEY: &str = "emulator/secret/0000000000000000000000000";
/// The region requests must be signed for.
pub const REGION: &str = "us-east-1";

/// How long the emulator may take to print its `listening on` line.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The emulator binary, built at most once per test process.
static BINARY: OnceCell<PathBuf> = OnceCell::const_new();

/// A running emulator; dropping it kills the process.
pub struct Emulator {
    /// `http://127.0.0.1:PORT`, the endpoint URL for SageMaker clients.
    pub url: String,
    child: Child,
    /// Held open: the emulator exits when its stdin closes, so it cannot
    /// outlive a test process that is killed.
    stdin: Option<ChildStdin>,
    log: Arc<Mutex<String>>,
    http: reqwest::Client,
}

impl Emulator {
    /// Starts an emulator holding `seed`, e.g.
    /// `{"domains": [{"id": "d-abc123", "name": "ml", "auth_mode": "IAM",
    /// "profiles": ["alice"], "spaces": [{"name": "team", "owner": "alice"}]}]}`
    /// (`Value::Null` for none), and waits until it listens.
    pub async fn start(seed: Value) -> Emulator {
        Self::start_with(seed, &[]).await
    }

    /// As [`Emulator::start`], with extra command-line flags, e.g.
    /// `["--session-token", "T"]` or `["--url-template", "..."]`.
    pub async fn start_with(seed: Value, flags: &[&str]) -> Emulator {
        let binary = BINARY.get_or_init(locate_or_build).await;
        let mut child = spawn(binary, flags);
        let stdin = child.stdin.take();
        let log = Arc::new(Mutex::new(String::new()));

        let ready = watch_output(&mut child, &log);
        let started = tokio::time::timeout(START_TIMEOUT, ready).await;
        let line = started.ok().and_then(Result::ok).unwrap_or_default();
        let Some(url) = line.strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("SageMaker emulator did not start:\n{}", snapshot(&log));
        };
        let url = url.to_owned();
        let http = reqwest::Client::builder().no_proxy().build();
        let http = http.must("build the control API client");

        let emulator = Emulator {
            url,
            child,
            stdin,
            log,
            http,
        };
        if !seed.is_null() {
            emulator.seed(seed).await;
        }
        emulator
    }

    /// Makes the next `throttle_next` SageMaker calls fail with
    /// `ThrottlingException`, the `fail_next` after those with an HTTP 500
    /// `InternalFailure`, and delays every answer by `latency_ms`.
    pub async fn faults(&self, throttle_next: u32, fail_next: u32, latency_ms: u64) {
        let body = json!({
            "throttle_next": throttle_next,
            "fail_next": fail_next,
            "latency_ms": latency_ms,
        });
        self.post("faults", &body).await;
    }

    /// Clears every injected fault and delay.
    pub async fn reset_faults(&self) {
        self.post("reset-faults", &json!({})).await;
    }

    /// Every `CreatePresignedDomainUrl` received with a good signature, in
    /// order: `domain_id`, `user_profile_name`, `space_name`, `landing_uri`,
    /// `expires_in_seconds`, `session_expiration_duration_in_seconds` (each
    /// `null` when absent), `outcome` (`"ok"` or the error code) and
    /// `access_key_id`, the signer; for an STS session also
    /// `source_identity`, `role_arn` and `session_tags`.
    pub async fn calls(&self) -> Vec<Value> {
        let url = format!("{}/_emulator/calls", self.url);
        let response = self.http.get(&url).send().await.must("list calls");
        let response = success(response, "list calls").await;
        response.json().await.must("read the call log")
    }

    /// Every STS request received with a good signature, in order:
    /// `action`, `role_arn`, `role_session_name`, `source_identity`,
    /// `duration_seconds` (form values, `null` when absent), `tags`
    /// (`[{"key", "value"}]`), `caller_access_key_id`,
    /// `issued_access_key_id` (`null` when refused) and `outcome`.
    pub async fn sts_calls(&self) -> Vec<Value> {
        let url = format!("{}/_emulator/sts-calls", self.url);
        let response = self.http.get(&url).send().await.must("list STS calls");
        let response = success(response, "list STS calls").await;
        response.json().await.must("read the STS call log")
    }

    /// Answers the next `n` `AssumeRole` requests with `AccessDenied`.
    pub async fn deny_assume_role(&self, n: u32) {
        self.post("faults", &json!({ "sts_deny_next": n })).await;
    }

    /// Adds domains, profiles and spaces (the shape [`Emulator::start`]
    /// takes); existing ones are kept.
    pub async fn seed(&self, seed: Value) {
        self.post("seed", &seed).await;
    }

    /// Everything the emulator has written to stderr so far.
    pub fn log(&self) -> String {
        snapshot(&self.log)
    }

    async fn post(&self, path: &str, body: &Value) {
        let url = format!("{}/_emulator/{path}", self.url);
        let request = self.http.post(&url).json(body);
        let response = request.send().await.must(&format!("POST {path}"));
        success(response, &format!("POST {path}")).await;
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stdin.take();
    }
}

/// The binary named by `$SAGEMAKER_EMULATOR_BIN`, else a fresh build.
async fn locate_or_build() -> PathBuf {
    if let Some(path) = std::env::var_os("SAGEMAKER_EMULATOR_BIN") {
        return PathBuf::from(path);
    }
    let target_dir = target_dir();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = tokio::process::Command::new(cargo);
    build
        .args([
            "build",
            "--quiet",
            "-p",
            "sagemaker-emulator",
            "--target-dir",
        ])
        .arg(&target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));

    let output = build.output().await.must("run cargo build");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "cannot build the emulator:\n{stderr}"
    );
    target_dir.join("debug").join("sagemaker-emulator")
}

/// `$CARGO_TARGET_DIR`, else the target directory holding this test
/// binary, which cargo places in `<target>/<profile>/deps/`.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().must("find the test binary");
    let root = exe.ancestors().nth(3).map(PathBuf::from);
    root.unwrap_or_else(|| panic!("no target directory above {}", exe.display()))
}

fn spawn(binary: &PathBuf, flags: &[&str]) -> Child {
    let mut args: Vec<OsString> = [
        "--listen",
        "127.0.0.1:0",
        "--access-key-id",
        ACCESS_KEY_ID,
        "--secret-access-key",
        SECRET_ACCESS_KEY,
        "--region",
        REGION,
        "--exit-on-stdin-eof",
    ]
    .map(OsString::from)
    .to_vec();
    args.extend(flags.iter().map(OsString::from));

    Command::new(binary)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()))
}

/// Copies stderr into `log` for the life of the process, and resolves with
/// the first line of stdout, the `listening on` line.
fn watch_output(child: &mut Child, log: &Arc<Mutex<String>>) -> tokio::task::JoinHandle<String> {
    if let Some(mut stderr) = child.stderr.take() {
        let log = Arc::clone(log);
        std::thread::spawn(move || {
            let mut chunk = [0_u8; 4096];
            while let Ok(n @ 1..) = stderr.read(&mut chunk) {
                let text = String::from_utf8_lossy(&chunk[..n]);
                lock(&log).push_str(&text);
            }
        });
    }
    let stdout = child.stdout.take();
    tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        if let Some(stdout) = stdout {
            let _ = BufReader::new(stdout).read_line(&mut line);
        }
        line.trim_end().to_owned()
    })
}

async fn success(response: reqwest::Response, what: &str) -> reqwest::Response {
    let status = response.status();
    if status.is_success() {
        return response;
    }
    let body = response.text().await.unwrap_or_default();
    panic!("cannot {what}: HTTP {status}: {body}");
}

fn lock(log: &Mutex<String>) -> std::sync::MutexGuard<'_, String> {
    log.lock().unwrap_or_else(PoisonError::into_inner)
}

fn snapshot(log: &Mutex<String>) -> String {
    lock(log).clone()
}

trait Must<T> {
    fn must(self, what: &str) -> T;
}

impl<T, E: Display> Must<T> for Result<T, E> {
    fn must(self, what: &str) -> T {
        self.unwrap_or_else(|err| panic!("cannot {what}: {err}"))
    }
}
