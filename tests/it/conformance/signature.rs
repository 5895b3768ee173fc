//! Signatures, algorithms and keys: a corrupted signature, `alg: none`,
//! HMAC with a secret anyone could hold, tokens without `kid` against key
//! sets with unusable or several keys, and a key the provider never
//! published.

use super::{Setup, corrupt, start, start_with, token_refused};
use crate::support::broker::CLIENT_SECRET;
use crate::support::rogue::{self, Signer};
use crate::support::stack::USERS;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const SIGNATURE: &str = "the signature does not verify";
const MALFORMED: &str = "the token is not a well-formed JWT";
const HMAC: &str = "algorithm HS256 is not allowed";
/// Makes a token of claims.
type Forge = fn(&Value) -> String;

const UNKNOWN_KEY: &str = "no key of the provider's key set matches the token";

/// Refused on both paths for `rule`: a sign-in whose ID token is
/// `forge(claims)`, and a bearer token forged the same way.
async fn refused_both(s: &Setup, name: &str, rule: &str, forge: Forge) {
    s.rogue.set_id_token(move |ctx| forge(&ctx.claims("alice")));
    s.sign_in_refused(name, 400, &token_refused(rule)).await;
    let token = forge(&s.bearer_claims(|_| {}));
    s.bearer_refused(name, &token, rule).await;
}

fn rsa_a() -> Signer {
    Signer::rsa(rogue::RSA_A, "a")
}

fn ec() -> Signer {
    Signer::ec(rogue::EC_P256, "e")
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("a".into());
    let key = EncodingKey::from_secret(secret).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    format!("{header}.{body}.")
}

#[tokio::test]
async fn forged_signatures_and_algorithms_are_refused_on_both_paths() {
    let prepare = |r: &rogue::Rogue| r.set_keys(vec![rsa_a().jwk(), ec().jwk()]);
    let s = start_with(prepare, |_| {}, USERS).await;
    let cases: [(&str, &str, Forge); 6] = [
        ("RS256 corrupted", SIGNATURE, |c| corrupt(&rsa_a().sign(c))),
        ("ES256 corrupted", SIGNATURE, |c| corrupt(&ec().sign(c))),
        ("alg none", MALFORMED, unsigned),
        ("HS256 with the client secret", HMAC, |c| {
            hs256(c, CLIENT_SECRET.as_bytes())
        }),
        ("HS256 with the public key PEM", HMAC, |c| {
            hs256(c, rsa_a().public_pem().as_bytes())
        }),
        ("HS256 with the public key DER", HMAC, |c| {
            hs256(c, &rsa_a().public_der())
        }),
    ];
    for (name, rule, forge) in cases {
        refused_both(&s, name, rule, forge).await;
    }
    // The same keys sign valid tokens: the refusals were the forgeries.
    s.rogue.set_id_token(|ctx| ec().sign(&ctx.claims("alice")));
    s.sign_in_accepted("ES256 valid").await;
    assert_eq!(s.sagemaker_calls().await, 1);
}

#[tokio::test]
async fn a_token_without_kid_finds_the_one_usable_key() {
    let unusable = vec![
        json!({"kty": "EC", "kid": "k1", "crv": "secp256k1",
               "x": "WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis",
               "y": "y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE"}),
        json!({"kty": "OKP", "kid": "x", "crv": "X25519",
               "x": "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}),
        {
            let mut enc = Signer::rsa(rogue::RSA_B, "enc").jwk();
            enc["use"] = json!("enc");
            enc
        },
    ];
    let prepare = move |r: &rogue::Rogue| {
        r.set_keys([unusable, vec![rsa_a().jwk()]].concat());
    };
    let s = start_with(prepare, |_| {}, USERS).await;
    s.rogue
        .set_id_token(|ctx| rsa_a().sign_without_kid(&ctx.claims("alice")));
    s.sign_in_accepted("no kid, one usable key").await;
    // The bearer path of this case is in keys.rs.

    // The encryption key's private half signs; `use: enc` keeps it out.
    let b = Signer::rsa(rogue::RSA_B, "enc");
    s.rogue
        .set_id_token(move |ctx| b.sign_without_kid(&ctx.claims("alice")));
    s.sign_in_refused("signed by the enc key", 400, &token_refused(SIGNATURE))
        .await;
    assert_eq!(s.sagemaker_calls().await, 1);
}

#[tokio::test]
async fn a_token_without_kid_is_tried_against_every_published_key() {
    let b = || Signer::rsa(rogue::RSA_B, "b");
    let prepare = move |r: &rogue::Rogue| r.set_keys(vec![rsa_a().jwk(), b().jwk()]);
    let s = start_with(prepare, |_| {}, USERS).await;
    s.rogue
        .set_id_token(move |ctx| b().sign_without_kid(&ctx.claims("alice")));
    s.sign_in_accepted("no kid, signed by the second key").await;
    let token = b().sign_without_kid(&s.bearer_claims(|_| {}));
    s.bearer_accepted("no kid, signed by the second key", &token)
        .await;
    assert_eq!(s.sagemaker_calls().await, 2);
}

#[tokio::test]
async fn a_key_the_provider_never_published_is_refused() {
    let s = start("").await;
    let stranger = || Signer::rsa(rogue::RSA_B, "unpublished");
    s.rogue
        .set_id_token(move |ctx| stranger().sign(&ctx.claims("alice")));
    let reason = token_refused(UNKNOWN_KEY);
    s.sign_in_refused("unpublished kid", 400, &reason).await;
    let token = stranger().sign(&s.bearer_claims(|_| {}));
    s.bearer_refused("unpublished kid", &token, UNKNOWN_KEY)
        .await;

    // Without a kid it is tried against the published key, and fails.
    let token = stranger().sign_without_kid(&s.bearer_claims(|_| {}));
    s.bearer_refused("unpublished, no kid", &token, SIGNATURE)
        .await;
    assert_eq!(s.sagemaker_calls().await, 0);
}
