//! Tokens signed by keys the tests hold, served by a provider the tests
//! control: expiry, issuer, and key sets real providers publish.

use crate::support::broker::{Broker, Config};
use crate::support::emulator::Emulator;
use crate::support::rogue::{self, Rogue, Signer};
use crate::support::stack::{USERS, seed};
use serde_json::{Value, json};

struct Setup {
    rogue: Rogue,
    emulator: Emulator,
    broker: Broker,
}

async fn start(keys: Vec<Value>) -> Setup {
    start_with(keys, "").await
}

async fn start_with(keys: Vec<Value>, oidc: &str) -> Setup {
    let rogue = Rogue::start(keys).await;
    let emulator = Emulator::start(seed()).await;
    let mut config = Config::new(&rogue.issuer, &emulator.url);
    config.oidc = oidc.to_owned();
    config.limits = "mints_per_minute = 0".into();
    let broker = Broker::start(&config, USERS).await;
    Setup {
        rogue,
        emulator,
        broker,
    }
}

#[tokio::test]
async fn expiry_issuer_audience_and_dates() {
    let signer = Signer::rsa(rogue::RSA_A, "a");
    let s = start(vec![signer.jwk()]).await;
    let good = s.rogue.claims("alice", "broker");
    let now = rogue::now();

    let mut cases: Vec<(&str, Value, u16)> = vec![("valid", good.clone(), 200)];
    let mut with = |name: &'static str, key: &str, value: Value, status: u16| {
        let mut claims = good.clone();
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(key);
        } else {
            claims[key] = value;
        }
        cases.push((name, claims, status));
    };
    with("expired beyond the skew", "exp", json!(now - 120), 401);
    with("expired within the skew", "exp", json!(now - 30), 200);
    with("exp as a float", "exp", json!(now as f64 + 600.5), 200);
    with("not yet valid", "nbf", json!(now + 600), 401);
    with("iat in the future", "iat", json!(now + 600), 401);
    with("iat missing", "iat", Value::Null, 401);
    with("sub missing", "sub", Value::Null, 401);
    with(
        "issuer plus a character",
        "iss",
        json!(format!("{}x", s.rogue.issuer)),
        401,
    );
    with("issuer as an array", "iss", json!([s.rogue.issuer]), 401);
    with("audience plus a character", "aud", json!("brokerx"), 401);
    with("audience missing", "aud", Value::Null, 401);
    with(
        "audience in an array",
        "aud",
        json!(["other", "broker"]),
        200,
    );
    for (name, claims, status) in cases {
        assert_eq!(
            s.broker.presign_status(&signer.sign(&claims)).await,
            status,
            "{name}"
        );
    }
    let calls = s.emulator.calls().await.len();
    assert_eq!(calls, 4, "only the valid tokens reach SageMaker");
}

#[tokio::test]
async fn unusable_keys_in_the_set_do_not_stop_the_usable_one() {
    let signer = Signer::rsa(rogue::RSA_A, "a");
    let keys = vec![
        json!({"kty": "RSA", "use": "enc", "kid": "enc", "alg": "RSA-OAEP", "n": "AQAB", "e": "AQAB"}),
        json!({"kty": "EC", "kid": "k1", "crv": "secp256k1",
               "x": "WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis",
               "y": "y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE"}),
        json!({"kty": "OKP", "kid": "x", "crv": "X25519", "x": "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}),
        json!({"kty": "oct", "kid": "h", "k": "c2VjcmV0"}),
        signer.jwk(),
    ];
    let s = start(keys).await;
    let token = signer.sign(&s.rogue.claims("alice", "broker"));
    assert_eq!(s.broker.presign_status(&token).await, 200);
    let no_kid = signer.sign_without_kid(&s.rogue.claims("alice", "broker"));
    assert_eq!(s.broker.presign_status(&no_kid).await, 200);
    let ec = Signer::ec(rogue::EC_P256, "e");
    assert_eq!(
        s.broker
            .presign_status(&ec.sign(&s.rogue.claims("alice", "broker")))
            .await,
        401
    );
}

#[tokio::test]
async fn a_rotated_signing_key_is_fetched_once() {
    let old = Signer::rsa(rogue::RSA_A, "old");
    let new = Signer::rsa(rogue::RSA_B, "new");
    let s = start_with(vec![old.jwk()], "jwks_min_refetch_seconds = 2").await;
    assert_eq!(s.rogue.jwks_fetches(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;

    s.rogue.set_keys(vec![old.jwk(), new.jwk()]);
    let token = new.sign(&s.rogue.claims("alice", "broker"));
    assert_eq!(s.broker.presign_status(&token).await, 200);
    assert_eq!(s.rogue.jwks_fetches(), 2);

    // A flood of unknown kids: at most one more fetch per interval.
    let started = std::time::Instant::now();
    for i in 0..100 {
        let stranger = Signer::rsa(rogue::RSA_B, &format!("random-{i}"));
        let token = stranger.sign(&s.rogue.claims("alice", "broker"));
        assert_eq!(s.broker.presign_status(&token).await, 401);
    }
    let intervals = started.elapsed().as_secs() as usize / 2 + 1;
    let extra = s.rogue.jwks_fetches() - 2;
    assert!(
        extra <= intervals,
        "{extra} fetches in {intervals} intervals"
    );
}
