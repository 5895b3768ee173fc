//! A real OpenID Connect provider for the integration tests.
//!
//! [`Provider::start`] runs `node tests/support/oidc/provider.mjs` (the
//! `oidc-provider` package with its development login form) on a free
//! loopback port, with fresh signing keys, the given clients and users.
//! [`Browser`] plays a person at that provider: it fills in the login form
//! and stops at the first redirect that leaves the provider, so a test sees
//! exactly what the provider sends back to the client.
//!
//! The npm packages must be installed first:
//! `npm ci --prefix tests/support/oidc`. The `node` binary is taken from
//! `$NODE`, else from `PATH`.

// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::fmt::Display;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oauth2::{CsrfToken, PkceCodeChallenge};
use reqwest::{RequestBuilder, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;
use url::form_urlencoded::byte_serialize;

/// How long the provider may take to print its `listening on` line.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long [`Provider::stop`] waits after SIGTERM before killing.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Redirects and form posts one sign-in may take before it is a loop.
const MAX_HOPS: usize = 12;

/// A client registered at the provider.
#[derive(Clone)]
pub struct Client {
    /// `client_id`.
    pub id: String,
    /// `client_secret`, sent with `client_secret_basic`.
    pub secret: String,
    /// The only registered `redirect_uri`.
    pub redirect_uri: String,
    /// The only registered `post_logout_redirect_uri`.
    pub post_logout_redirect_uri: String,
}

/// What the token endpoint answered for one sign-in.
#[derive(Clone, Deserialize)]
pub struct Tokens {
    /// The raw ID token (a JWS).
    pub id_token: String,
    /// An opaque access token, good at the UserInfo endpoint.
    pub access_token: String,
}

/// A running provider process; dropping it stops the process.
pub struct Provider {
    /// `http://127.0.0.1:PORT`, exactly as the provider spells `iss`.
    pub issuer: String,
    child: Child,
    /// Held open: the provider exits when its stdin closes, so it cannot
    /// outlive a test process that is killed.
    stdin: Option<ChildStdin>,
    log: Arc<Mutex<String>>,
}

impl Provider {
    /// Starts the provider with `clients` and `users` (an object from login
    /// name to claims, e.g. `{"alice": {"email": "alice@example.com"}}`),
    /// issuing ID tokens valid for one hour, and waits until it listens.
    pub async fn start(clients: &[Client], users: Value) -> Provider {
        let hour = Duration::from_secs(3600);
        Self::start_with_id_token_ttl(clients, users, hour).await
    }

    /// As [`Provider::start`], with ID tokens valid for `ttl` (whole
    /// seconds, at least one).
    pub async fn start_with_id_token_ttl(
        clients: &[Client],
        users: Value,
        ttl: Duration,
    ) -> Provider {
        let config = json!({
            "port": 0,
            "id_token_ttl_seconds": ttl.as_secs().max(1),
            "clients": clients.iter().map(registration).collect::<Vec<_>>(),
            "users": users,
        });
        let mut child = spawn(&config);
        let log = Arc::new(Mutex::new(String::new()));
        let stdin = child.stdin.take();

        let ready = watch_output(&mut child, &log);
        let started = tokio::time::timeout(START_TIMEOUT, ready).await;
        let Ok(Ok(line)) = started else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("OIDC provider did not start:\n{}", snapshot(&log));
        };
        let issuer = line.trim_start_matches("listening on ").to_owned();
        Provider {
            issuer,
            child,
            stdin,
            log,
        }
    }

    /// Everything the provider has written to stderr so far.
    pub fn log(&self) -> String {
        snapshot(&self.log)
    }

    /// The provider's discovery document.
    pub async fn discovery(&self) -> Value {
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        get_json(&reqwest::Client::new(), &url).await
    }

    /// A fresh browser (empty cookie jar) for this provider.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.issuer)
    }

    /// Signs `login` in for `client` through the authorization-code flow
    /// with PKCE, state and nonce, in a fresh browser, and returns the raw
    /// ID token.
    pub async fn id_token(&self, client: &Client, login: &str) -> String {
        self.tokens(client, login).await.id_token
    }

    /// As [`Provider::id_token`], returning the access token as well.
    pub async fn tokens(&self, client: &Client, login: &str) -> Tokens {
        let discovery = self.discovery().await;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = CsrfToken::new_random().secret().clone();
        let nonce = CsrfToken::new_random().secret().clone();

        let endpoint = field(&discovery, "authorization_endpoint");
        let mut url = Url::parse(endpoint).must("parse the endpoint");
        url.query_pairs_mut()
            .extend_pairs(authorization_params(client, &state, &nonce))
            .append_pair("code_challenge", challenge.as_str());
        let back = self.authorize(url.as_str(), login).await;
        let code = self.code_from(client, &back, &state);

        let endpoint = field(&discovery, "token_endpoint");
        let tokens = redeem(client, endpoint, &code, verifier.secret()).await;
        let claims = claims(&tokens.id_token);
        assert_eq!(claims["nonce"], nonce.as_str(), "ID token nonce");
        tokens
    }

    /// Drives the login form as `login` for an authorization URL built by
    /// the broker, in a fresh browser; returns the redirect back to the
    /// client (with `code`, `state` and `iss`) without following it.
    pub async fn authorize(&self, url: &str, login: &str) -> String {
        self.browser().authorize(url, login).await
    }

    /// Calls the UserInfo endpoint with `access_token`.
    pub async fn userinfo(&self, access_token: &str) -> Value {
        let discovery = self.discovery().await;
        let url = field(&discovery, "userinfo_endpoint");
        let response = reqwest::Client::new()
            .get(url)
            .bearer_auth(access_token)
            .send()
            .await
            .must("call userinfo");
        json_body(response, url).await
    }

    /// Stops the provider: SIGTERM, then a kill if it lingers.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // Closing stdin alone would stop it too; SIGTERM is what a
        // container runtime sends, so that path is the one exercised.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.stdin.take();

        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Checks the redirect back to `client` and takes its `code`.
    fn code_from(&self, client: &Client, back: &str, state: &str) -> String {
        assert!(
            back.starts_with(&client.redirect_uri),
            "expected a redirect to {}, got {back}",
            client.redirect_uri,
        );
        let url = Url::parse(back).must("parse the redirect back");
        let param = |name: &str| {
            let found = url.query_pairs().find(|(key, _)| key == name);
            found.map(|(_, value)| value.into_owned())
        };
        assert_eq!(param("state").as_deref(), Some(state), "state in {back}");
        assert_eq!(param("iss").as_deref(), Some(self.issuer.as_str()));
        param("code").unwrap_or_else(|| panic!("no code in {back}"))
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A person's browser at the provider: a cookie jar, and no redirect
/// followed past the provider's own origin.
pub struct Browser {
    http: reqwest::Client,
    origin: url::Origin,
}

impl Browser {
    /// A browser with an empty cookie jar for the provider at `issuer`.
    pub fn new(issuer: &str) -> Browser {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .must("build the browser's HTTP client");
        let origin = Url::parse(issuer).must("parse the issuer").origin();
        Browser { http, origin }
    }

    /// Opens the authorization `url`, signs in as `login` when asked
    /// (any password will do), and returns the first redirect that leaves
    /// the provider, unfollowed.
    pub async fn authorize(&self, url: &str, login: &str) -> String {
        let fields = [("login", login), ("password", "any password")];
        self.walk(url, &fields).await
    }

    /// Opens an end-session URL (RP-initiated logout), confirms the sign-out
    /// and returns the redirect that leaves the provider (the client's
    /// `post_logout_redirect_uri`), or the provider's last page when it
    /// ends at its own "signed out" page.
    pub async fn end_session(&self, end_session_url: &str) -> String {
        self.walk(end_session_url, &[("logout", "yes")]).await
    }

    /// Follows redirects within the provider and submits each form it
    /// shows, with its hidden fields plus `fields`.
    async fn walk(&self, start: &str, fields: &[(&str, &str)]) -> String {
        let mut url = Url::parse(start).must("parse the start URL");
        let mut response = self.send(self.http.get(url.clone())).await;
        for _ in 0..MAX_HOPS {
            if let Some(next) = redirect_target(&url, &response) {
                if next.origin() != self.origin {
                    return next.into();
                }
                url = next;
                response = self.send(self.http.get(url.clone())).await;
                continue;
            }
            let page = response.text().await.must("read a provider page");
            let Some(form) = Form::parse(&page) else {
                return url.into();
            };
            url = url.join(&form.action).must("resolve a form action");
            let body = form.with(fields);
            response = self.send(self.http.post(url.clone()).form(&body)).await;
        }
        panic!("still at the provider after {MAX_HOPS} steps from {start}");
    }

    /// Sends a request; anything but a redirect or a 200 page is a failure.
    async fn send(&self, request: RequestBuilder) -> Response {
        let response = request.send().await.must("reach the provider");
        let status = response.status();
        if status.is_redirection() || status == reqwest::StatusCode::OK {
            return response;
        }
        let url = response.url().clone();
        let page = response.text().await.unwrap_or_default();
        panic!("provider answered {status} at {url}:\n{page}");
    }
}

/// The first HTML form of a provider page: its action and hidden inputs.
struct Form {
    action: String,
    fields: Vec<(String, String)>,
}

impl Form {
    /// Reads the page's first `<form>`; `None` when it has none. The pages
    /// come from the provider's own templates, so a scan for attributes is
    /// enough; it is no HTML parser.
    fn parse(page: &str) -> Option<Form> {
        let start = page.find("<form")?;
        let end = page[start..]
            .find("</form>")
            .map_or(page.len(), |i| start + i);
        let form = &page[start..end];
        let action = attribute(form, "action")?;

        let inputs = form.split("<input").skip(1);
        let fields = inputs.filter_map(hidden_field).collect();
        Some(Form { action, fields })
    }

    /// The hidden fields plus those of `extra` that the form does not
    /// already carry (the provider's self-submitting pages repeat the
    /// fields a person would choose, and it rejects duplicates).
    fn with(self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut fields = self.fields;
        for (name, value) in extra {
            if !fields.iter().any(|(present, _)| present == name) {
                fields.push(((*name).to_owned(), (*value).to_owned()));
            }
        }
        fields
    }
}

/// The name and value of a hidden `<input`; `None` for any other input.
fn hidden_field(input: &str) -> Option<(String, String)> {
    if attribute(input, "type")? != "hidden" {
        return None;
    }
    Some((attribute(input, "name")?, attribute(input, "value")?))
}

/// The value of `name="..."` in the first tag of `tag`, unescaped.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let len = tag[start..].find('"')?;
    let raw = &tag[start..start + len];
    Some(
        raw.replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&"),
    )
}

/// Where a redirect response points, resolved against `base`.
fn redirect_target(base: &Url, response: &Response) -> Option<Url> {
    if !response.status().is_redirection() {
        return None;
    }
    let location = response.headers().get(reqwest::header::LOCATION)?;
    let location = location.to_str().must("read a Location header");
    Some(base.join(location).must("resolve a Location header"))
}

/// The parameters of an authorization request for `client`, all but the
/// PKCE challenge.
fn authorization_params<'a>(
    client: &'a Client,
    state: &'a str,
    nonce: &'a str,
) -> [(&'static str, &'a str); 7] {
    [
        ("response_type", "code"),
        ("client_id", &client.id),
        ("redirect_uri", &client.redirect_uri),
        ("scope", "openid email profile"),
        ("state", state),
        ("nonce", nonce),
        ("code_challenge_method", "S256"),
    ]
}

/// Redeems `code` at the token endpoint `url` with `client_secret_basic`
/// and the PKCE verifier `pkce`.
async fn redeem(client: &Client, url: &str, code: &str, pkce: &str) -> Tokens {
    // RFC 6749 section 2.3.1: the id and secret are form-encoded before
    // they go into the Basic credentials.
    let encode = |s: &str| byte_serialize(s.as_bytes()).collect::<String>();
    let (id, secret) = (encode(&client.id), encode(&client.secret));
    let response = reqwest::Client::new()
        .post(url)
        .basic_auth(id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", client.redirect_uri.as_str()),
            ("code_verifier", pkce),
        ])
        .send()
        .await
        .must("reach the token endpoint");
    let body = json_body(response, url).await;
    serde_json::from_value(body).must("read the token response")
}

/// The payload of a JWS, decoded but not verified.
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD.decode(payload).must("decode a JWT payload");
    serde_json::from_slice(&bytes).must("parse a JWT payload")
}

/// The header of a JWS, decoded.
pub fn header(jwt: &str) -> Value {
    let header = jwt.split('.').next().unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD.decode(header).must("decode a JWT header");
    serde_json::from_slice(&bytes).must("parse a JWT header")
}

/// The provider's registration entry for `client`.
fn registration(client: &Client) -> Value {
    json!({
        "client_id": client.id,
        "client_secret": client.secret,
        "redirect_uris": [client.redirect_uri],
        "post_logout_redirect_uris": [client.post_logout_redirect_uri],
        "token_endpoint_auth_method": "client_secret_basic",
    })
}

/// Starts the node process, after checking that its packages are there.
fn spawn(config: &Value) -> Child {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let folder = root.join("tests/support/oidc");
    assert!(
        folder.join("node_modules/oidc-provider").is_dir(),
        "the OIDC provider's packages are missing: run \
         `npm ci --prefix tests/support/oidc` first",
    );
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".to_owned());
    Command::new(&node)
        .arg(folder.join("provider.mjs"))
        .current_dir(&folder)
        .env("OIDC_TEST_CONFIG", config.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot run `{node}` (Node.js 20): {err}"))
}

/// Copies the child's stderr (and any stdout after the first line) into
/// `log` from background threads; resolves with the first stdout line.
fn watch_output(
    child: &mut Child,
    log: &Arc<Mutex<String>>,
) -> tokio::sync::oneshot::Receiver<String> {
    let (ready, line) = tokio::sync::oneshot::channel();
    if let Some(stderr) = child.stderr.take() {
        let log = Arc::clone(log);
        std::thread::spawn(move || append_all(stderr, &log));
    }
    if let Some(stdout) = child.stdout.take() {
        let log = Arc::clone(log);
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout);
            let mut first = String::new();
            if lines.read_line(&mut first).is_ok() && !first.is_empty() {
                let _ = ready.send(first.trim_end().to_owned());
            }
            append_all(lines, &log);
        });
    }
    line
}

/// Appends everything `from` yields to `log`, line by line.
fn append_all(from: impl Read, log: &Mutex<String>) {
    for line in BufReader::new(from).lines().map_while(Result::ok) {
        let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
        log.push_str(&line);
        log.push('\n');
    }
}

fn snapshot(log: &Mutex<String>) -> String {
    log.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    let response = http.get(url).send().await.must("reach the provider");
    json_body(response, url).await
}

/// A 200 JSON body, or a panic that shows what came instead.
async fn json_body(response: Response, url: &str) -> Value {
    let status = response.status();
    let text = response.text().await.must("read a provider response");
    assert_eq!(status, reqwest::StatusCode::OK, "{url} answered:\n{text}");
    serde_json::from_str(&text).must("parse a provider response")
}

fn field<'a>(document: &'a Value, name: &str) -> &'a str {
    let value = document[name].as_str();
    value.unwrap_or_else(|| panic!("discovery has no {name}: {document}"))
}

/// Panics that say which step of the test's plumbing failed.
trait Must<T> {
    fn must(self, what: &str) -> T;
}

impl<T, E: Display> Must<T> for Result<T, E> {
    fn must(self, what: &str) -> T {
        self.unwrap_or_else(|err| panic!("cannot {what}: {err}"))
    }
}
