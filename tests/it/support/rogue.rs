//! An identity provider the tests control completely, in process on a
//! loopback port: its discovery document, its key set (and how often it
//! was fetched), tokens signed with keys the tests hold, and a whole
//! authorization-code flow (`/auth`, `/token`, `/userinfo`) whose ID token
//! each test builds itself, so each test can break exactly one rule.
//!
//! The flow checks what a real provider checks (client authentication,
//! `grant_type`, a known and unused code, its `redirect_uri`, the PKCE S256
//! verifier) and otherwise does what the test says: leave `iss` out of the
//! authorization response or alter it, answer the token request with a
//! fixed failure, or report another `sub` from UserInfo.

#![allow(dead_code)]

mod flow;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

pub const RSA_A: &str = include_str!("../../fixtures/keys/rsa-a.pem");
pub const RSA_B: &str = include_str!("../../fixtures/keys/rsa-b.pem");
pub const EC_P256: &str = include_str!("../../fixtures/keys/ec-p256.pem");

/// A signing key of the tests.
#[derive(Clone)]
pub struct Signer {
    pub kid: Option<String>,
    pub alg: Algorithm,
    pub key: EncodingKey,
    pem: &'static str,
}

impl Signer {
    pub fn rsa(pem: &'static str, kid: &str) -> Self {
        Self {
            kid: Some(kid.to_owned()),
            alg: Algorithm::RS256,
            key: EncodingKey::from_rsa_pem(pem.as_bytes()).expect("rsa pem"),
            pem,
        }
    }

    pub fn ec(pem: &'static str, kid: &str) -> Self {
        Self {
            kid: Some(kid.to_owned()),
            alg: Algorithm::ES256,
            key: EncodingKey::from_ec_pem(pem.as_bytes()).expect("ec pem"),
            pem,
        }
    }

    /// The public half as a JWK with `kid`, `use` and `alg`.
    pub fn jwk(&self) -> Value {
        let jwk = Jwk::from_encoding_key(&self.key, self.alg).expect("jwk");
        let mut value = serde_json::to_value(jwk).expect("jwk json");
        value["use"] = json!("sig");
        if let Some(kid) = &self.kid {
            value["kid"] = json!(kid);
        }
        value
    }

    /// Signs `claims` with this key, naming its `kid` in the header.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = self.kid.clone();
        jsonwebtoken::encode(&header, claims, &self.key).expect("sign")
    }

    /// The public half of an RSA key as SubjectPublicKeyInfo DER, for
    /// tests that misuse it as an HMAC secret.
    pub fn public_der(&self) -> Vec<u8> {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::{KeyPair, RsaKeyPair};
        let body: String = self
            .pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let pkcs8 = STANDARD.decode(body).expect("pem body");
        let pair = RsaKeyPair::from_pkcs8(&pkcs8).expect("rsa pkcs8");
        let der = pair.public_key().as_der().expect("public der");
        der.as_ref().to_vec()
    }

    /// [`Signer::public_der`] as a PEM `PUBLIC KEY` block.
    pub fn public_pem(&self) -> String {
        let encoded = STANDARD.encode(self.public_der());
        let lines: Vec<&str> = encoded
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("base64 is ascii"))
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }

    /// Signs without a `kid` in the header.
    pub fn sign_without_kid(&self, claims: &Value) -> String {
        let header = Header::new(self.alg);
        jsonwebtoken::encode(&header, claims, &self.key).expect("sign")
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// What the authorization endpoint puts in `iss` ([RFC 9207]).
///
/// [RFC 9207]: https://www.rfc-editor.org/rfc/rfc9207
#[derive(Clone)]
pub enum IssParam {
    /// The provider's own issuer, as it should be.
    Issuer,
    /// No `iss` at all.
    Omit,
    /// This value instead.
    Value(String),
}

/// What the ID-token hook is told about the code being redeemed.
pub struct TokenContext {
    pub issuer: String,
    pub client_id: String,
    pub code: String,
    /// The `nonce` of the authorization request, if it had one.
    pub nonce: Option<String>,
}

impl TokenContext {
    /// Claims that pass every rule for `sub`, as an ID token of this login
    /// (`aud` the client, `nonce` the one sent).
    pub fn claims(&self, sub: &str) -> Value {
        let mut claims = claims_for(&self.issuer, sub, &self.client_id);
        if let Some(nonce) = &self.nonce {
            claims["nonce"] = json!(nonce);
        }
        claims
    }
}

/// Builds the `id_token` of a token response.
pub type IdTokenHook = Arc<dyn Fn(&TokenContext) -> String + Send + Sync>;

/// How the flow behaves; each test changes what it needs.
struct Flow {
    client_id: String,
    client_secret: String,
    id_token: Option<IdTokenHook>,
    iss: IssParam,
    userinfo_sub: String,
    /// A fixed answer for every token request, instead of the flow.
    token_answer: Option<(StatusCode, String)>,
}

struct Shared {
    discovery: Mutex<Value>,
    jwks: Mutex<Value>,
    jwks_fetches: AtomicUsize,
    flow: Mutex<Flow>,
    codes: Mutex<HashMap<String, flow::Grant>>,
    access_tokens: Mutex<HashSet<String>>,
    token_calls: AtomicUsize,
    userinfo_calls: AtomicUsize,
    /// How each token request authenticated the client.
    client_auth: Mutex<Vec<&'static str>>,
}

/// The running provider.
pub struct Rogue {
    pub issuer: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Rogue {
    /// Starts a provider publishing `keys` as its key set. Its token
    /// endpoint has no ID token to give until [`Rogue::set_id_token`].
    pub async fn start(keys: Vec<Value>) -> Rogue {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let issuer = format!("http://{}", listener.local_addr().expect("addr"));
        Rogue::serve_with(&issuer, keys, move |app| {
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            })
        })
    }

    /// Builds a provider that calls itself `issuer` and hands its routes
    /// to `serve`, which must start serving them at that address (over
    /// TLS, say) and return the task doing so; dropping the provider
    /// aborts that task.
    pub fn serve_with(
        issuer: &str,
        keys: Vec<Value>,
        serve: impl FnOnce(Router) -> tokio::task::JoinHandle<()>,
    ) -> Rogue {
        let issuer = issuer.to_owned();
        let shared = Arc::new(Shared {
            discovery: Mutex::new(discovery(&issuer)),
            jwks: Mutex::new(json!({ "keys": keys })),
            jwks_fetches: AtomicUsize::new(0),
            flow: Mutex::new(Flow {
                client_id: "broker".into(),
                client_secret: super::broker::CLIENT_SECRET.into(),
                id_token: None,
                iss: IssParam::Issuer,
                userinfo_sub: "alice".into(),
                token_answer: None,
            }),
            codes: Mutex::new(HashMap::new()),
            access_tokens: Mutex::new(HashSet::new()),
            token_calls: AtomicUsize::new(0),
            userinfo_calls: AtomicUsize::new(0),
            client_auth: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(serve_discovery))
            .route("/jwks", get(serve_jwks))
            .route("/auth", get(flow::authorize))
            .route("/token", post(flow::token))
            .route("/userinfo", get(flow::userinfo))
            .with_state(shared.clone());
        let task = serve(app);
        Rogue {
            issuer,
            shared,
            task,
        }
    }

    /// Starts a provider publishing `signer`'s key, whose token endpoint
    /// answers with a valid ID token for `alice` signed by it.
    pub async fn start_signing(signer: &Signer) -> Rogue {
        let rogue = Rogue::start(vec![signer.jwk()]).await;
        let signer = signer.clone();
        rogue.set_id_token(move |ctx| signer.sign(&ctx.claims("alice")));
        rogue
    }

    pub fn set_keys(&self, keys: Vec<Value>) {
        *self.shared.jwks.lock().expect("lock") = json!({ "keys": keys });
    }

    pub fn set_discovery(&self, document: Value) {
        *self.shared.discovery.lock().expect("lock") = document;
    }

    pub fn discovery(&self) -> Value {
        self.shared.discovery.lock().expect("lock").clone()
    }

    /// Sets or clears `authorization_response_iss_parameter_supported`
    /// in the discovery document.
    pub fn set_iss_advertised(&self, advertised: bool) {
        let mut document = self.discovery();
        document["authorization_response_iss_parameter_supported"] = json!(advertised);
        self.set_discovery(document);
    }

    /// What `/auth` puts in `iss` from now on.
    pub fn set_iss(&self, iss: IssParam) {
        self.flow().iss = iss;
    }

    /// The hook that builds every ID token from now on.
    pub fn set_id_token(&self, hook: impl Fn(&TokenContext) -> String + Send + Sync + 'static) {
        self.flow().id_token = Some(Arc::new(hook));
    }

    /// The `sub` UserInfo reports from now on.
    pub fn set_userinfo_sub(&self, sub: &str) {
        self.flow().userinfo_sub = sub.to_owned();
    }

    /// Answers every token request with `status` and `body` (JSON when it
    /// parses as JSON), or, with `None`, runs the flow again.
    pub fn set_token_answer(&self, answer: Option<(u16, &str)>) {
        self.flow().token_answer = answer.map(|(status, body)| {
            let status = StatusCode::from_u16(status).expect("status");
            (status, body.to_owned())
        });
    }

    pub fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    /// How many requests reached the token endpoint, good or bad.
    pub fn token_calls(&self) -> usize {
        self.shared.token_calls.load(Ordering::SeqCst)
    }

    /// `client_secret_basic` or `client_secret_post` for each token
    /// request that authenticated the client, in order.
    pub fn client_auth(&self) -> Vec<&'static str> {
        self.shared.client_auth.lock().expect("lock").clone()
    }

    pub fn userinfo_calls(&self) -> usize {
        self.shared.userinfo_calls.load(Ordering::SeqCst)
    }

    /// Follows an authorization URL the broker sent a browser to and
    /// returns where the provider sends the browser back.
    pub async fn authorize(&self, url: &str) -> String {
        let response = super::broker::client()
            .get(url)
            .send()
            .await
            .expect("authorization request");
        assert_eq!(response.status(), 302, "authorization endpoint");
        let location = &response.headers()[header::LOCATION];
        location.to_str().expect("location").to_owned()
    }

    /// Claims that pass every rule for `sub`, as an ID token to `aud`.
    pub fn claims(&self, sub: &str, aud: &str) -> Value {
        claims_for(&self.issuer, sub, aud)
    }

    fn flow(&self) -> std::sync::MutexGuard<'_, Flow> {
        self.shared.flow.lock().expect("lock")
    }
}

impl Drop for Rogue {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn claims_for(issuer: &str, sub: &str, aud: &str) -> Value {
    let now = now();
    json!({
        "iss": issuer,
        "sub": sub,
        "aud": aud,
        "iat": now,
        "exp": now + 600,
        "email": format!("{sub}@example.com"),
        "email_verified": true,
    })
}

fn discovery(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
    })
}

async fn serve_discovery(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(shared.discovery.lock().expect("lock").clone())
}

async fn serve_jwks(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    Json(shared.jwks.lock().expect("lock").clone())
}
