//! Seals a session cookie value the way the broker's sign-in does, for
//! load tests of the signed-in bookmark path without driving a browser.
//!
//! The key is read from the environment variable named by `--key-env`
//! (base64 of at least 64 bytes, as `session.cookie_key_env`); the cookie
//! value for `sb_session` is printed on stdout.
//!
//! ```sh
//! seal_session --key-env STUDIO_BROKER_COOKIE_KEY \
//!     --issuer http://127.0.0.1:9400 --identity alice --ttl 3600
//! ```

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use studio_broker::config::Secret;
use studio_broker::login::{SESSION_COOKIE, Sealer, Session};

#[derive(Debug, thiserror::Error)]
enum Error {
    #[error("usage: {0}")]
    Usage(String),
    #[error("the environment variable {0} is not set")]
    NoKey(String),
    #[error("{0}")]
    Key(#[from] studio_broker::login::KeyError),
    #[error("the session does not serialize")]
    Session,
    #[error("cannot write the cookie: {0}")]
    Write(std::io::Error),
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("seal_session: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        let at = args.iter().position(|a| a == name);
        let value = at.and_then(|i| args.get(i + 1)).cloned();
        value.ok_or_else(|| Error::Usage(format!("{name} VALUE is required")))
    };
    let key_env = flag("--key-env")?;
    let issuer = flag("--issuer")?;
    let identity = flag("--identity")?;
    let ttl: u64 = flag("--ttl")?
        .parse()
        .map_err(|_| Error::Usage("--ttl takes seconds".into()))?;

    let key = std::env::var(&key_env).map_err(|_| Error::NoKey(key_env))?;
    let sealer = Sealer::new(&[Secret::new(key)])?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let json = serde_json::json!({
        "iss": issuer, "id": identity, "ev": true, "g": [],
        "at": now, "exp": now + ttl,
    });
    // Round-trip through the broker's own type, so a field it would not
    // read fails here rather than as a silent sign-in redirect under load.
    let session = Session::from_json(&json.to_string()).ok_or(Error::Session)?;
    let sealed = sealer.seal(SESSION_COOKIE, &session.to_json());
    writeln!(std::io::stdout().lock(), "{sealed}").map_err(Error::Write)
}
