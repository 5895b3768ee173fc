//! An identity provider the tests control completely, in process on a
//! loopback port: its discovery document, its key set (and how often it
//! was fetched), and tokens signed with keys the tests hold, so each test
//! can break exactly one rule.

#![allow(dead_code)]

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
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

struct Shared {
    discovery: Mutex<Value>,
    jwks: Mutex<Value>,
    jwks_fetches: AtomicUsize,
}

/// The running provider.
pub struct Rogue {
    pub issuer: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Rogue {
    /// Starts a provider publishing `keys` as its key set.
    pub async fn start(keys: Vec<Value>) -> Rogue {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let issuer = format!("http://{}", listener.local_addr().expect("addr"));
        let shared = Arc::new(Shared {
            discovery: Mutex::new(discovery(&issuer)),
            jwks: Mutex::new(json!({ "keys": keys })),
            jwks_fetches: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(serve_discovery))
            .route("/jwks", get(serve_jwks))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Rogue {
            issuer,
            shared,
            task,
        }
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

    pub fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Claims that pass every rule for `sub`, as an ID token to `aud`.
    pub fn claims(&self, sub: &str, aud: &str) -> Value {
        let now = now();
        json!({
            "iss": self.issuer,
            "sub": sub,
            "aud": aud,
            "iat": now,
            "exp": now + 600,
            "email": format!("{sub}@example.com"),
            "email_verified": true,
        })
    }
}

impl Drop for Rogue {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn discovery(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    })
}

async fn serve_discovery(State(shared): State<Arc<Shared>>) -> axum::Json<Value> {
    axum::Json(shared.discovery.lock().expect("lock").clone())
}

async fn serve_jwks(State(shared): State<Arc<Shared>>) -> axum::Json<Value> {
    shared.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    axum::Json(shared.jwks.lock().expect("lock").clone())
}
