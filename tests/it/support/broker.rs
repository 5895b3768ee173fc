//! Runs the real `studio-broker` binary on a free loopback port, with a
//! config and table written to a temporary folder, and captures its logs.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const CLIENT_SECRET: &str = "broker-client-secret-0123456789";
/// 64 random bytes, base64: a test-only session key.
pub const COOKIE_KEY: &str =
    "wFe2mU3KUGtCCn2VYDJiEJGqXPbdXM4VsJz1e9oXgr4JuRGO48rWG1QTQ4sMMw2tQZ2uxj+p0kLaNOLmmTKeKA==";

/// What a broker is started with. `config` is the whole `broker.toml`;
/// build it with [`Config`].
pub struct Options {
    pub config: String,
    pub users: String,
    pub users_name: &'static str,
    pub env: Vec<(String, String)>,
    pub wait_ready: bool,
}

/// A broker config assembled from parts; `{port}` in `public_url` is the
/// port picked for the broker.
#[derive(Clone)]
pub struct Config {
    pub issuer: String,
    pub client_id: String,
    pub emulator_url: String,
    pub server: String,
    pub oidc: String,
    pub session: String,
    pub studio: String,
    pub limits: String,
    pub extra_domains: String,
}

impl Config {
    pub fn new(issuer: &str, emulator_url: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            client_id: "broker".into(),
            emulator_url: emulator_url.to_owned(),
            server: String::new(),
            oidc: String::new(),
            session: String::new(),
            studio: "timeout_seconds = 5".into(),
            limits: String::new(),
            extra_domains: String::new(),
        }
    }

    pub fn render(&self, port: u16) -> String {
        format!(
            r#"[server]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
drain_delay_seconds = 0
shutdown_timeout_seconds = 5
{server}

[oidc]
issuer = "{issuer}"
client_id = "{client_id}"
client_secret_env = "TEST_CLIENT_SECRET"
{oidc}

[session]
cookie_key_env = "TEST_COOKIE_KEY"
{session}

[studio]
{studio}

[limits]
{limits}

[[domains]]
alias = "ml"
id = "d-mlstudio0001"
region = "us-east-1"
account_id = "111122223333"
endpoint_url = "{emulator}"

[[domains]]
alias = "research"
id = "d-research0001"
region = "us-east-1"
account_id = "111122223333"
endpoint_url = "{emulator}"
{extra}
"#,
            server = self.server,
            issuer = self.issuer,
            client_id = self.client_id,
            oidc = self.oidc,
            session = self.session,
            studio = self.studio,
            limits = self.limits,
            emulator = self.emulator_url,
            extra = self.extra_domains,
        )
    }
}

pub struct Broker {
    pub url: String,
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
    logs: Arc<Mutex<String>>,
    audit_taken: Mutex<usize>,
}

/// Ports handed to brokers come from below Linux's ephemeral range
/// (32768 and up), where the kernel picks ports for outgoing connections
/// and for listeners on port 0: a port checked free here cannot be taken
/// by one of those before the broker binds it.
const PORTS: std::ops::Range<u16> = 20000..32000;

static NEXT_PORT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A free loopback port for a broker, unique within this test process.
pub fn free_port() -> u16 {
    let span = u32::from(PORTS.end - PORTS.start);
    let offset = std::process::id() % span;
    loop {
        let n = NEXT_PORT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let port = PORTS.start + u16::try_from((offset + n) % span).unwrap();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// The environment every broker process gets: emulator credentials, the
/// test secrets, and no instance-metadata probing.
pub fn base_env() -> Vec<(String, String)> {
    [
        ("AWS_ACCESS_KEY_ID", super::emulator::ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", super::emulator::SECRET_ACCESS_KEY),
        ("AWS_REGION", super::emulator::REGION),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/nonexistent"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ("TEST_CLIENT_SECRET", CLIENT_SECRET),
        ("TEST_COOKIE_KEY", COOKIE_KEY),
        ("RUST_LOG", "info,studio_broker=trace"),
        ("STUDIO_BROKER_LOG_FORMAT", "json"),
        ("NO_PROXY", "127.0.0.1,localhost"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_studio-broker"))
}

impl Broker {
    pub async fn start(config: &Config, users: &str) -> Broker {
        let port = free_port();
        Self::start_with(
            Options {
                config: config.render(port),
                users: users.to_owned(),
                users_name: "users.toml",
                env: base_env(),
                wait_ready: true,
            },
            port,
        )
        .await
    }

    pub async fn start_with(options: Options, port: u16) -> Broker {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = options.config.replace(
            "path = \"users.toml\"",
            &format!("path = \"{}\"", options.users_name),
        );
        let config = if options.users_name == "users.toml" || config.contains("[table]") {
            config
        } else {
            format!("{config}\n[table]\npath = \"{}\"\n", options.users_name)
        };
        std::fs::write(dir.path().join("broker.toml"), config).expect("write config");
        std::fs::write(dir.path().join(options.users_name), &options.users).expect("write users");
        let mut command = Command::new(binary());
        command
            .arg("serve")
            .arg("--config")
            .arg(dir.path().join("broker.toml"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn studio-broker");
        let logs = Arc::new(Mutex::new(String::new()));
        capture(child.stdout.take(), &logs);
        capture(child.stderr.take(), &logs);
        let broker = Broker {
            url: format!("http://127.0.0.1:{port}"),
            port,
            dir,
            child,
            logs,
            audit_taken: Mutex::new(0),
        };
        if options.wait_ready {
            broker.wait_for("/readyz", 200).await;
        } else {
            broker.wait_for("/healthz", 200).await;
        }
        broker
    }

    /// Polls `path` until it answers `status`, for up to 20 seconds.
    pub async fn wait_for(&self, path: &str, status: u16) {
        let client = client();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let response = client.get(format!("{}{path}", self.url)).send().await;
            if response.is_ok_and(|r| r.status().as_u16() == status) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "broker: {path} never answered {status}; logs:\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn logs(&self) -> String {
        self.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The audit events logged so far, parsed.
    pub fn audit(&self) -> Vec<serde_json::Value> {
        self.logs()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["target"] == "studio_broker::audit")
            .map(|v| v["fields"].clone())
            .collect()
    }

    /// The next audit event not yet taken, waiting up to 5 seconds for
    /// the log line to arrive.
    pub async fn next_audit(&self) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(event) = self.take_audit() {
                return event;
            }
            if Instant::now() > deadline {
                panic!("no further audit event; logs:\n{}", self.logs());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits up to 5 seconds for a log line holding one of `needles`: log
    /// lines reach the test through a pipe, a little after the answer.
    pub async fn wait_log(&self, needles: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !needles.iter().any(|n| self.logs().contains(n)) {
            if Instant::now() > deadline {
                panic!("no log line holds {needles:?}; logs:\n{}", self.logs());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn take_audit(&self) -> Option<serde_json::Value> {
        let events = self.audit();
        let mut taken = self.audit_taken.lock().expect("lock");
        let event = events.get(*taken)?.clone();
        *taken += 1;
        Some(event)
    }

    /// Asserts that no audit event beyond those taken arrives.
    pub async fn no_more_audit(&self) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let taken = *self.audit_taken.lock().expect("lock");
        let events = self.audit();
        assert_eq!(
            events.len(),
            taken,
            "unexpected audit events: {:?}",
            &events[taken.min(events.len())..]
        );
    }

    /// The status of `POST /api/v1/presigned-url` with `token` and no body.
    pub async fn presign_status(&self, token: &str) -> u16 {
        client()
            .post(format!("{}/api/v1/presigned-url", self.url))
            .bearer_auth(token)
            .send()
            .await
            .expect("presign")
            .status()
            .as_u16()
    }

    pub fn users_path(&self) -> PathBuf {
        self.dir.path().join("users.toml")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit and returns its code.
    pub async fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn capture(stream: Option<impl Read + Send + 'static>, logs: &Arc<Mutex<String>>) {
    let Some(stream) = stream else { return };
    let logs = logs.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if let Ok(mut l) = logs.lock() {
                l.push_str(&line);
                l.push('\n');
            }
        }
    });
}

/// A client that does not follow redirects, so tests see `Location`.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("client")
}

/// Runs the binary with `args` and an environment, returning exit code,
/// stdout and stderr.
pub fn run(args: &[&str], env: &[(String, String)]) -> (i32, String, String) {
    let output = Command::new(binary())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run studio-broker");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
