//! A relying-party conformance suite against a provider that misbehaves
//! on purpose ([`crate::support::rogue`]): each case breaks one rule of
//! OpenID Connect Core §3.1.3.7, RFC 9207, RFC 7636 or this broker's
//! contract and states the exact answer.
//!
//! A refused sign-in answers 400 (503 when the provider is unavailable),
//! sets no session cookie, logs `sign-in refused` with the rule as its
//! `reason`, and leaves the browser signed out; a refused bearer token
//! answers 401 `invalid_token` and logs `bearer token refused`. SageMaker
//! is called only for the cases that are accepted, which each test counts.
//! Signing-key rotation is in `keys.rs`, the discovered-issuer mismatch
//! in `cli.rs`.

mod claims;
mod flow;
mod shapes;
mod signature;

use crate::support::broker::{self, Broker, Config};
use crate::support::emulator::Emulator;
use crate::support::jar::{Jar, location};
use crate::support::rogue::{self, Rogue, Signer};
use crate::support::stack::{USERS, seed};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The log message of a refused sign-in.
const SIGN_IN_REFUSED: &str = "sign-in refused";
/// The log message of a refused bearer token.
const BEARER_REFUSED: &str = "bearer token refused";

/// A misbehaving provider, the emulator and a broker between them.
pub struct Setup {
    pub rogue: Rogue,
    pub emulator: Emulator,
    pub broker: Broker,
    /// The provider's published RSA key `a`, which signs by default.
    pub signer: Signer,
}

/// The standard table, `oidc` added to the broker's `[oidc]` section.
pub async fn start(oidc: &str) -> Setup {
    start_with(|_| {}, |c| c.oidc = oidc.to_owned(), USERS).await
}

/// `prepare` changes the provider before the broker discovers it;
/// `adjust` changes the broker's config.
pub async fn start_with(
    prepare: impl FnOnce(&Rogue),
    adjust: impl FnOnce(&mut Config),
    users: &str,
) -> Setup {
    let signer = Signer::rsa(rogue::RSA_A, "a");
    let rogue = Rogue::start_signing(&signer).await;
    prepare(&rogue);
    let emulator = Emulator::start(seed()).await;
    let mut config = Config::new(&rogue.issuer, &emulator.url);
    config.limits = "mints_per_minute = 0\nunauthenticated_per_minute = 0".into();
    adjust(&mut config);
    let broker = Broker::start(&config, users).await;
    Setup {
        rogue,
        emulator,
        broker,
        signer,
    }
}

/// What a browser sees at the end of one sign-in.
pub struct SignedIn {
    pub status: u16,
    pub page: String,
    pub jar: Jar,
}

impl Setup {
    /// ID tokens from now on: the valid claims of each login for `alice`,
    /// changed by `edit`, signed with the provider's key.
    pub fn id_token(&self, edit: impl Fn(&mut Value) + Send + Sync + 'static) {
        let signer = self.signer.clone();
        self.rogue.set_id_token(move |ctx| {
            let mut claims = ctx.claims("alice");
            edit(&mut claims);
            signer.sign(&claims)
        });
    }

    /// Valid bearer claims for `alice` (audience `broker`), changed by
    /// `edit`.
    pub fn bearer_claims(&self, edit: impl Fn(&mut Value)) -> Value {
        let mut claims = self.rogue.claims("alice", "broker");
        edit(&mut claims);
        claims
    }

    /// One whole browser sign-in from `/oauth2/start`.
    pub async fn sign_in(&self) -> SignedIn {
        let mut jar = Jar::default();
        let start = format!("{}/oauth2/start", self.broker.url);
        let response = jar.get_url(&start).await;
        assert_eq!(response.status(), 302, "{}", self.broker.logs());
        let back = self.rogue.authorize(&location(&response)).await;
        let response = jar.get_url(&back).await;
        SignedIn {
            status: response.status().as_u16(),
            page: response.text().await.unwrap(),
            jar,
        }
    }

    /// A sign-in that ends in a session and opens Studio.
    pub async fn sign_in_accepted(&self, name: &str) {
        let mut done = self.sign_in().await;
        let logs = self.broker.logs();
        assert_eq!(done.status, 302, "{name}: {}\n{logs}", done.page);
        assert!(done.jar.get("sb_session").is_some(), "{name}: no session");
        let home = done.jar.get_url(&format!("{}/", self.broker.url)).await;
        let studio = format!("{}/studio/", self.emulator.url);
        assert!(location(&home).starts_with(&studio), "{name}: {home:?}");
    }

    /// A sign-in refused with `status`, `reason` in the log, no session,
    /// and a browser that is still sent to sign in.
    pub async fn sign_in_refused(&self, name: &str, status: u16, reason: &str) -> SignedIn {
        let before = self.reasons(SIGN_IN_REFUSED).len();
        let mut done = self.sign_in().await;
        assert_eq!(done.status, status, "{name}: {}", self.broker.logs());
        assert!(done.page.contains("Request id:"), "{name}: {}", done.page);
        assert!(done.jar.get("sb_session").is_none(), "{name}: a session");
        let logged = self.next_reason(SIGN_IN_REFUSED, before).await;
        assert_eq!(logged, reason, "{name}");
        let home = done.jar.get_url(&format!("{}/", self.broker.url)).await;
        let provider = format!("{}/auth?", self.rogue.issuer);
        assert!(location(&home).starts_with(&provider), "{name}: {home:?}");
        done
    }

    /// `POST /api/v1/presigned-url` with `token`: status and JSON body.
    pub async fn presign(&self, token: &str) -> (u16, Value) {
        let response = broker::client()
            .post(format!("{}/api/v1/presigned-url", self.broker.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn bearer_accepted(&self, name: &str, token: &str) {
        let (status, body) = self.presign(token).await;
        assert_eq!(status, 200, "{name}: {body}\n{}", self.broker.logs());
        assert_eq!(body["profile"], "alice", "{name}");
    }

    /// A bearer token refused with 401 `invalid_token` and `reason` (the
    /// rule it breaks) in the log.
    pub async fn bearer_refused(&self, name: &str, token: &str, reason: &str) {
        let before = self.reasons(BEARER_REFUSED).len();
        let (status, body) = self.presign(token).await;
        assert_eq!(status, 401, "{name}: {body}");
        let expected = json!({"error": "invalid_token",
            "message": "The bearer token is not valid."});
        assert_eq!(body, expected, "{name}");
        let logged = self.next_reason(BEARER_REFUSED, before).await;
        assert_eq!(logged, reason, "{name}");
    }

    /// How many presign calls reached SageMaker.
    pub async fn sagemaker_calls(&self) -> usize {
        self.emulator.calls().await.len()
    }

    /// The `reason` of every log line with `message`, in order.
    fn reasons(&self, message: &str) -> Vec<String> {
        self.broker
            .logs()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["fields"]["message"] == message)
            .map(|v| v["fields"]["reason"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    /// The reason of the first line with `message` after `before` of
    /// them, waiting for it up to 5 seconds.
    async fn next_reason(&self, message: &str, before: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(reason) = self.reasons(message).get(before) {
                return reason.clone();
            }
            assert!(Instant::now() < deadline, "no `{message}` logged");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The sign-in `reason` of an ID token that breaks `rule`.
pub fn token_refused(rule: &str) -> String {
    format!("the ID token was refused: {rule}")
}

/// `token` with one character of its signature changed.
pub fn corrupt(token: &str) -> String {
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = signature.as_bytes().to_vec();
    bytes[10] = if bytes[10] == b'A' { b'B' } else { b'A' };
    format!("{signed}.{}", String::from_utf8(bytes).unwrap())
}
