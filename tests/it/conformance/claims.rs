//! The claims of an ID token and of a bearer token, one broken at a time:
//! issuer, audience and authorized party, subject, dates and nonce.

use super::{Setup, start, token_refused};
use crate::support::rogue;
use serde_json::{Value, json};
use std::sync::Arc;

type Edit = Arc<dyn Fn(&mut Value) + Send + Sync>;

/// What one path answers: accepted, or refused for this rule.
#[derive(Clone, Copy)]
enum Expect {
    Accept,
    Refuse(&'static str),
    /// The rule does not apply to this path.
    Skip,
}

struct Case {
    name: &'static str,
    edit: Edit,
    sign_in: Expect,
    bearer: Expect,
}

const ISSUER: &str = "iss is not the configured issuer";
const AUDIENCE: &str = "aud does not name an accepted audience";
const PARTY: &str = "azp is not an accepted client";
const SUB: &str = "claim sub is missing or malformed";
const IAT: &str = "claim iat is missing or malformed";
const FUTURE: &str = "iat is in the future";
const NONCE: &str = "nonce does not match the one sent";
const EXPIRED: &str = "the token has expired";
const NOT_YET: &str = "the token is not valid yet (nbf)";

fn case(name: &'static str, sign_in: Expect, bearer: Expect, edit: Edit) -> Case {
    Case {
        name,
        edit,
        sign_in,
        bearer,
    }
}

fn set(key: &'static str, value: Value) -> Edit {
    Arc::new(move |c: &mut Value| c[key] = value.clone())
}

fn remove(key: &'static str) -> Edit {
    Arc::new(move |c: &mut Value| {
        c.as_object_mut().unwrap().remove(key);
    })
}

fn cases(issuer: &str) -> Vec<Case> {
    use Expect::{Accept, Refuse, Skip};
    let now = rogue::now();
    let two = |aud: Value, azp: Option<&'static str>| -> Edit {
        Arc::new(move |c: &mut Value| {
            c["aud"] = aud.clone();
            if let Some(azp) = azp {
                c["azp"] = json!(azp);
            }
        })
    };
    let nonce_altered: Edit = Arc::new(|c: &mut Value| {
        let sent = c["nonce"].as_str().unwrap_or("").to_owned();
        c["nonce"] = json!(format!("{sent}x"));
    });
    let other_issuer = json!(format!("{issuer}x"));
    vec![
        case("valid", Accept, Accept, Arc::new(|_: &mut Value| {})),
        case(
            "iss plus one character",
            Refuse(ISSUER),
            Refuse(ISSUER),
            set("iss", other_issuer),
        ),
        case(
            "aud plus one character",
            Refuse(AUDIENCE),
            Refuse(AUDIENCE),
            set("aud", json!("brokerx")),
        ),
        case(
            "aud missing",
            Refuse(AUDIENCE),
            Refuse(AUDIENCE),
            remove("aud"),
        ),
        case(
            "aud as an array with azp",
            Accept,
            Accept,
            two(json!(["broker", "other"]), Some("broker")),
        ),
        case(
            "several aud, azp another client",
            Refuse(PARTY),
            Accept,
            two(json!(["broker", "other"]), Some("other")),
        ),
        case(
            "several aud, no azp",
            Refuse(PARTY),
            Accept,
            two(json!(["broker", "other"]), None),
        ),
        case("sub missing", Refuse(SUB), Refuse(SUB), remove("sub")),
        case("iat missing", Refuse(IAT), Refuse(IAT), remove("iat")),
        case(
            "iat beyond the skew",
            Refuse(FUTURE),
            Refuse(FUTURE),
            set("iat", json!(now + 120)),
        ),
        case("nonce altered", Refuse(NONCE), Skip, nonce_altered),
        case("nonce missing", Refuse(NONCE), Skip, remove("nonce")),
        case(
            "exp past beyond the skew",
            Refuse(EXPIRED),
            Refuse(EXPIRED),
            set("exp", json!(now - 120)),
        ),
        case(
            "nbf beyond the skew",
            Refuse(NOT_YET),
            Refuse(NOT_YET),
            set("nbf", json!(now + 120)),
        ),
        case(
            "exp as a float",
            Accept,
            Accept,
            set("exp", json!(now as f64 + 600.5)),
        ),
    ]
}

#[tokio::test]
async fn each_broken_claim_is_refused_on_both_paths() {
    let s = start("").await;
    let mut accepted = 0;
    for case in cases(&s.rogue.issuer) {
        accepted += sign_in(&s, &case).await + bearer(&s, &case).await;
    }
    assert_eq!(s.sagemaker_calls().await, accepted);
}

async fn sign_in(s: &Setup, case: &Case) -> usize {
    let edit = case.edit.clone();
    s.id_token(move |c| edit(c));
    match case.sign_in {
        Expect::Accept => s.sign_in_accepted(case.name).await,
        Expect::Refuse(rule) => {
            let reason = token_refused(rule);
            s.sign_in_refused(case.name, 400, &reason).await;
            return 0;
        }
        Expect::Skip => return 0,
    }
    1
}

async fn bearer(s: &Setup, case: &Case) -> usize {
    let token = s.signer.sign(&s.bearer_claims(|c| (case.edit)(c)));
    match case.bearer {
        Expect::Accept => s.bearer_accepted(case.name, &token).await,
        Expect::Refuse(rule) => {
            s.bearer_refused(case.name, &token, rule).await;
            return 0;
        }
        Expect::Skip => return 0,
    }
    1
}

#[tokio::test]
async fn a_bearer_token_from_a_client_outside_allowed_clients_is_refused() {
    let oidc = "audiences = [\"broker\"]\nallowed_clients = [\"portal\"]";
    let s = start(oidc).await;
    let with = |party: Option<(&'static str, &'static str)>| {
        let claims = s.bearer_claims(|c| {
            if let Some((key, value)) = party {
                c[key] = json!(value);
            }
        });
        s.signer.sign(&claims)
    };
    s.bearer_refused("azp another client", &with(Some(("azp", "broker"))), PARTY)
        .await;
    s.bearer_refused("no azp", &with(None), PARTY).await;
    s.bearer_accepted("azp allowed", &with(Some(("azp", "portal"))))
        .await;
    let access_token = with(Some(("client_id", "portal")));
    s.bearer_accepted("client_id allowed", &access_token).await;
    assert_eq!(s.sagemaker_calls().await, 2);
}
