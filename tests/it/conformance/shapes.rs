//! Claim shapes real providers send: `aud` as a string or an array,
//! `groups` as an array, a single string, absent, or replaced by Entra
//! ID's overage markers; `email_verified` as a boolean or a string; and a
//! token too large for the header limit.

use super::{Setup, start, start_with};
use crate::support::stack::USERS;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const GROUPS_UNKNOWN: &str = "Your identity provider did not send your group \
    membership, so access cannot be granted; ask an administrator.";
const NOT_IN_GROUP: &str = "You are not in a group that may open SageMaker Studio.";
const UNVERIFIED: &str = "Your identity provider has not verified your email address.";

/// Presigns with `alice`'s bearer claims changed by `edit`; asserts the
/// status, the `error` and `message` of a refusal, and the audit event.
async fn expect(s: &Setup, name: &str, edit: impl Fn(&mut Value), answer: Answer) {
    let token = s.signer.sign(&s.bearer_claims(edit));
    let (status, body) = s.presign(&token).await;
    let event = s.broker.next_audit().await;
    match answer {
        Answer::Granted => {
            assert_eq!(status, 200, "{name}: {body}");
            assert_eq!(event["outcome"], "granted", "{name}");
        }
        Answer::Denied(reason, message) => {
            assert_eq!(status, 403, "{name}: {body}");
            let expected = json!({"error": "not_granted", "message": message});
            assert_eq!(body, expected, "{name}");
            assert_eq!(event["outcome"], "denied", "{name}");
            assert_eq!(event["reason"], reason, "{name}");
        }
    }
}

enum Answer {
    Granted,
    Denied(&'static str, &'static str),
}

#[tokio::test]
async fn aud_may_be_a_string_or_an_array() {
    let s = start("").await;
    let string = s.signer.sign(&s.bearer_claims(|_| {}));
    s.bearer_accepted("aud string", &string).await;
    let array = s.bearer_claims(|c| c["aud"] = json!(["other", "broker"]));
    s.bearer_accepted("aud array", &s.signer.sign(&array)).await;
    s.id_token(|c| c["aud"] = json!(["broker"]));
    s.sign_in_accepted("aud array of one").await;
    assert_eq!(s.sagemaker_calls().await, 3);
}

#[tokio::test]
async fn groups_as_array_string_absent_or_overage() {
    let s = start("allowed_groups = [\"ml-users\"]").await;
    let (endpoint, connections) = counting_listener().await;
    use Answer::{Denied, Granted};
    let not_in_group = || Denied("group_not_allowed", NOT_IN_GROUP);
    let unknown = || Denied("group_not_allowed", GROUPS_UNKNOWN);
    let array = |c: &mut Value| c["groups"] = json!(["staff", "ml-users"]);
    expect(&s, "groups array", array, Granted).await;
    let string = |c: &mut Value| c["groups"] = json!("ml-users");
    expect(&s, "groups string", string, Granted).await;
    let other = |c: &mut Value| c["groups"] = json!(["staff"]);
    expect(&s, "groups without ml-users", other, not_in_group()).await;
    expect(&s, "groups absent", |_| {}, not_in_group()).await;
    let hasgroups = |c: &mut Value| c["hasgroups"] = json!(true);
    expect(&s, "hasgroups", hasgroups, unknown()).await;
    let sources = move |c: &mut Value| {
        c["_claim_names"] = json!({"groups": "src1"});
        c["_claim_sources"] = json!({"src1": {"endpoint": endpoint}});
    };
    expect(&s, "_claim_names", sources.clone(), unknown()).await;

    // The same through a browser: signed in, then refused with the page.
    s.id_token(sources);
    let mut jar = s.sign_in().await.jar;
    let page = jar.get_url(&format!("{}/", s.broker.url)).await;
    assert_eq!(page.status(), 403);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("did not send your group")
    );
    assert_eq!(s.broker.next_audit().await["reason"], "group_not_allowed");

    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "claim source fetched"
    );
    assert_eq!(s.sagemaker_calls().await, 2);
    s.broker.no_more_audit().await;
}

/// A loopback listener that only counts who connects to it.
async fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/groups", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    (endpoint, count)
}

const EMAIL_USERS: &str = r#"
[[users]]
identity = "alice@example.com"
domain = "ml"
profile = "alice"
"#;

#[tokio::test]
async fn email_verified_as_boolean_or_string() {
    let adjust = |c: &mut crate::support::broker::Config| {
        c.oidc = "identity_claim = \"email\"".into();
    };
    let s = start_with(|_| {}, adjust, EMAIL_USERS).await;
    use Answer::{Denied, Granted};
    let unverified = || Denied("email_unverified", UNVERIFIED);
    let cases: [(&str, Option<Value>, Answer); 5] = [
        ("true", Some(json!(true)), Granted),
        ("\"true\"", Some(json!("true")), Granted),
        ("false", Some(json!(false)), unverified()),
        ("\"false\"", Some(json!("false")), unverified()),
        ("absent", None, unverified()),
    ];
    for (name, value, answer) in cases {
        let edit = |c: &mut Value| match &value {
            Some(v) => c["email_verified"] = v.clone(),
            None => {
                c.as_object_mut().unwrap().remove("email_verified");
            }
        };
        expect(&s, name, edit, answer).await;
    }
    assert_eq!(s.sagemaker_calls().await, 2);
}

#[tokio::test]
async fn a_token_over_the_header_limit_gets_431() {
    let s = start_with(|_| {}, |_| {}, USERS).await;
    let big = s.bearer_claims(|c| c["padding"] = json!("x".repeat(17_000)));
    let (status, body) = s.presign(&s.signer.sign(&big)).await;
    assert_eq!(status, 431);
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(s.sagemaker_calls().await, 0);
}
