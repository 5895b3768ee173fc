//! Bearer token verification, RS256 and ES256, through the broker's own
//! key set and rules: header decode, key pick, signature and claims.

// A benchmark, like a test, stops loudly at the fixture that broke.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};
use studio_broker::identity::keys::KeySet;
use studio_broker::identity::verify::{self, Kind, Rules};

const RSA_A: &str = include_str!("../tests/fixtures/keys/rsa-a.pem");
const EC_P256: &str = include_str!("../tests/fixtures/keys/ec-p256.pem");
const ISSUER: &str = "http://127.0.0.1:9400";

/// A signed token and the key set that verifies it.
struct Case {
    token: String,
    keys: KeySet,
}

fn case(key: &EncodingKey, alg: Algorithm) -> Case {
    let jwk = Jwk::from_encoding_key(key, alg).expect("public half of a fixture key");
    let mut public = serde_json::to_value(jwk).expect("a JWK serializes");
    public["kid"] = json!("bench");
    public["use"] = json!("sig");
    let set = json!({ "keys": [public] }).to_string();
    let keys = KeySet::parse(set.as_bytes(), &[alg]).expect("a JWK Set");

    let mut header = Header::new(alg);
    header.kid = Some("bench".into());
    let token = jsonwebtoken::encode(&header, &claims(), key).expect("signing");
    Case { token, keys }
}

fn claims() -> Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs();
    json!({
        "iss": ISSUER, "aud": "broker", "sub": "alice",
        "iat": now, "nbf": now, "exp": now + 3600,
        "email": "alice@example.com", "email_verified": true,
        "groups": ["staff"],
    })
}

fn bench(c: &mut Criterion, name: &str, case: &Case, alg: Algorithm) {
    let audiences = vec!["broker".to_owned()];
    let algorithms = [alg];
    let rules = Rules {
        issuer: ISSUER,
        audiences: &audiences,
        algorithms: &algorithms,
        skew_seconds: 60,
        kind: Kind::Bearer {
            allowed_clients: &[],
        },
        identity_claim: "sub",
        groups_claim: "groups",
    };
    verify::verify(&case.token, &case.keys, &rules).expect("the token verifies");
    c.bench_function(name, |b| {
        b.iter(|| verify::verify(black_box(&case.token), &case.keys, &rules))
    });
}

fn tokens(c: &mut Criterion) {
    let rsa = EncodingKey::from_rsa_pem(RSA_A.as_bytes()).expect("fixture RSA key");
    let ec = EncodingKey::from_ec_pem(EC_P256.as_bytes()).expect("fixture EC key");
    bench(
        c,
        "verify/rs256",
        &case(&rsa, Algorithm::RS256),
        Algorithm::RS256,
    );
    bench(
        c,
        "verify/es256",
        &case(&ec, Algorithm::ES256),
        Algorithm::ES256,
    );
}

criterion_group!(benches, tokens);
criterion_main!(benches);
