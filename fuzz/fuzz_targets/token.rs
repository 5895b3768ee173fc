//! Fuzzes the token front end: header decoding and full verification
//! against a fixed key set, as a bearer token and as a sign-in ID token.
//! Every input must be refused or accepted, never panic.

#![no_main]

use jsonwebtoken::Algorithm;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use studio_broker::identity::keys::KeySet;
use studio_broker::identity::verify::{Kind, Rules, verify};

/// The public half of `tests/fixtures/keys/rsa-a.pem`, which signs the
/// seed tokens.
const JWKS: &str = include_str!("../seeds/jwks/rsa-a.json");

const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::ES256,
    Algorithm::PS256,
    Algorithm::EdDSA,
];

static KEYS: LazyLock<KeySet> =
    LazyLock::new(|| KeySet::parse(JWKS.as_bytes(), &ALGORITHMS).expect("the fixed JWKS parses"));

static AUDIENCES: LazyLock<Vec<String>> = LazyLock::new(|| vec!["broker".to_owned()]);

static CLIENTS: LazyLock<Vec<String>> =
    LazyLock::new(|| vec!["broker".to_owned(), "portal".to_owned()]);

fn rules<'a>(kind: Kind<'a>, identity_claim: &'a str) -> Rules<'a> {
    Rules {
        issuer: "https://idp.example.com",
        audiences: &AUDIENCES,
        algorithms: &ALGORITHMS,
        skew_seconds: 60,
        kind,
        identity_claim,
        groups_claim: "groups",
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let _ = jsonwebtoken::decode_header(token);

    let bearer = Kind::Bearer {
        allowed_clients: &CLIENTS,
    };
    let _ = verify(token, &KEYS, &rules(bearer, "email"));
    let sign_in = Kind::SignIn {
        client_id: "broker",
        nonce: "n-0S6_WzA2Mj",
    };
    let _ = verify(token, &KEYS, &rules(sign_in, "sub"));
});
