//! A loopback stand-in for the Amazon SageMaker API, for studio-broker's
//! tests: the operations the broker uses, SigV4 checked against one set of
//! credentials (and the sessions STS hands out), STS `AssumeRole`, a fake
//! Studio sign-in page, and a control API for tests.
//!
//! Routes:
//! - `POST /`: SageMaker over AWS JSON 1.1 (`api`); a form-encoded body
//!   is STS over the query protocol (`sts`).
//! - `GET /studio/auth?token=...`: the Studio landing page (`studio`).
//! - `/_emulator/...`: the test control API (`control`).
//!
//! Once listening it prints one line, `listening on http://127.0.0.1:PORT`,
//! to stdout; everything else goes to stderr.

mod api;
mod control;
mod error;
mod ops;
mod presign;
mod sigv4;
mod state;
mod sts;
mod sts_rules;
mod studio;
mod validate;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::routing::{get, post};
use clap::Parser;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use crate::sigv4::Keys;
use crate::state::{Seed, Store};

const DEFAULT_URL_TEMPLATE: &str = "http://127.0.0.1:{port}/studio/auth?token={token}";

/// The command line.
#[derive(Parser)]
#[command(name = "sagemaker-emulator", about)]
struct Args {
    /// Loopback address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The only access key id accepted.
    #[arg(long)]
    access_key_id: String,
    /// Its secret access key.
    #[arg(long)]
    secret_access_key: String,
    /// A session token that must come with the key.
    #[arg(long)]
    session_token: Option<String>,
    /// The region requests must be scoped to.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// The presigned URL; `{port}`, `{domain}` and `{token}` are replaced.
    #[arg(long, default_value = DEFAULT_URL_TEMPLATE)]
    url_template: String,
    /// JSON file of domains, profiles and spaces to create at start.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Exit when stdin closes, so that a parent that dies takes us along.
    #[arg(long)]
    exit_on_stdin_eof: bool,
}

/// Shared by every handler.
pub struct App {
    keys: Keys,
    region: String,
    url_template: String,
    port: u16,
    store: Mutex<Store>,
}

/// The kinds of resource names the emulator hands out.
pub enum Arn<'a> {
    Domain(&'a str),
    Profile(&'a str, &'a str),
    Space(&'a str, &'a str),
}

impl App {
    /// The store; a handler that panicked leaves nothing half-written that
    /// matters to a test, so a poisoned lock is used as it is.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The ARN of a resource, in a fixed test account.
    pub fn arn(&self, arn: Arn<'_>) -> String {
        let path = match arn {
            Arn::Domain(id) => format!("domain/{id}"),
            Arn::Profile(id, name) => format!("user-profile/{id}/{name}"),
            Arn::Space(id, name) => format!("space/{id}/{name}"),
        };
        format!("arn:aws:sagemaker:{}:123456789012:{path}", self.region)
    }

    /// The keys of `access_key_id`: the configured ones, or an unexpired
    /// STS session's.
    pub fn keys_for(&self, access_key_id: &str) -> Option<Keys> {
        if access_key_id == self.keys.access_key_id {
            return Some(self.keys.clone());
        }
        let store = self.store();
        let session = store.sessions.get(access_key_id)?;
        (session.expires_at > std::time::SystemTime::now()).then(|| Keys {
            access_key_id: access_key_id.to_owned(),
            secret_access_key: session.secret_access_key.clone(),
            session_token: Some(session.session_token.clone()),
            region: self.keys.region.clone(),
        })
    }

    /// The presigned URL for one token.
    pub fn authorized_url(&self, domain_id: &str, token: &str) -> String {
        self.url_template
            .replace("{port}", &self.port.to_string())
            .replace("{domain}", domain_id)
            .replace("{token}", token)
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let code = match run(args).await {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("sagemaker-emulator: {message}");
            1
        }
    };
    // Exit at once: returning would drop the runtime, which waits for the
    // blocking read of stdin that `--exit-on-stdin-eof` keeps open.
    std::process::exit(code)
}

async fn run(args: Args) -> Result<(), String> {
    if !args.listen.ip().is_loopback() {
        return Err(format!("{} is not a loopback address", args.listen));
    }
    let mut store = Store::default();
    if let Some(path) = &args.seed {
        seed_from_file(&mut store, path)?;
    }

    let listener = TcpListener::bind(args.listen).await;
    let listener = listener.map_err(|e| format!("bind {}: {e}", args.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let app = Arc::new(app(&args, address.port(), store));
    announce(address)?;

    let watch_stdin = args.exit_on_stdin_eof;
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown(watch_stdin))
        .await
        .map_err(|e| e.to_string())
}

fn app(args: &Args, port: u16, store: Store) -> App {
    let keys = Keys {
        access_key_id: args.access_key_id.clone(),
        secret_access_key: args.secret_access_key.clone(),
        session_token: args.session_token.clone(),
        region: args.region.clone(),
    };
    App {
        keys,
        region: args.region.clone(),
        url_template: args.url_template.clone(),
        port,
        store: Mutex::new(store),
    }
}

fn seed_from_file(store: &mut Store, path: &PathBuf) -> Result<(), String> {
    let shown = path.display();
    let text = std::fs::read(path).map_err(|e| format!("read {shown}: {e}"))?;
    let seed: Seed = serde_json::from_slice(&text).map_err(|e| format!("parse {shown}: {e}"))?;
    store
        .apply_seed(&seed)
        .map_err(|e| format!("seed {shown}: {}", e.message()))
}

fn announce(address: SocketAddr) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{address}")
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("write to stdout: {e}"))
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", post(api::handle))
        .route("/studio/auth", get(studio::auth))
        .nest("/_emulator", control::routes())
        .with_state(app)
}

/// Resolves on Ctrl-C, SIGTERM, or (when asked) the end of stdin.
async fn shutdown(watch_stdin: bool) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => drop(term.recv().await),
            Err(_) => std::future::pending().await,
        }
    };
    let stdin_closed = async {
        if !watch_stdin {
            return std::future::pending().await;
        }
        let mut sink = [0_u8; 256];
        let mut stdin = tokio::io::stdin();
        while matches!(stdin.read(&mut sink).await, Ok(n) if n > 0) {}
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
        () = stdin_closed => {}
    }
}
