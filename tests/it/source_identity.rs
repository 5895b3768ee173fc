//! `studio.source_identity`: every mint is signed with the person's own
//! session of the minting role, assumed through the emulator's STS with
//! the identity as source identity and session tag, and kept for reuse.

use crate::support::broker::{self, Broker};
use crate::support::emulator::{self, Emulator};
use crate::support::provider::{Client, Provider};
use crate::support::stack;
use serde_json::{Value, json};

const MINTING_ROLE: &str = "arn:aws:iam::111122223333:role/studio-broker-mint";
const TAG_KEY: &str = "studio-broker-identity";

/// 88 letters and a domain: 100 characters, over STS's 64.
fn long_identity() -> String {
    format!("{}@example.com", "p".repeat(88))
}

/// The standard table, and people whose identities test the mapping.
fn users() -> String {
    let extra = [
        ("ana+ml@example.com", "ana"),
        (long_identity().as_str(), "pat"),
        ("zoë", "zoe"),
    ]
    .map(|(identity, profile)| {
        format!(
            "\n[[users]]\nidentity = \"{identity}\"\ndomain = \"ml\"\nprofile = \"{profile}\"\n"
        )
    });
    format!("{}{}", stack::USERS, extra.concat())
}

struct Setup {
    emulator: Emulator,
    provider: Provider,
    broker: Broker,
    client: Client,
}

impl Setup {
    /// The standard cast plus the people of [`users`], with
    /// `studio.source_identity` as given and STS at the emulator.
    async fn start(source_identity: bool) -> Setup {
        let port = broker::free_port();
        let client = stack::broker_client(port);
        let emulator = Emulator::start(stack::seed()).await;
        let profiles = json!({"domains": [
            {"id": "d-mlstudio0001", "profiles": ["ana", "pat", "zoe"]}
        ]});
        emulator.seed(profiles).await;
        let people = stack::people();
        let provider = Provider::start(std::slice::from_ref(&client), people).await;

        let mut config = broker::Config::new(&provider.issuer, &emulator.url);
        if source_identity {
            config.studio = format!(
                "timeout_seconds = 5\nsource_identity = true\n\
                 minting_role_arn = \"{MINTING_ROLE}\"\n\
                 sts_endpoint_url = \"{}\"",
                emulator.url
            );
        }
        let options = broker::Options {
            config: config.render(port),
            users: users(),
            users_name: "users.toml",
            env: broker::base_env(),
            wait_ready: true,
        };
        let broker = Broker::start_with(options, port).await;
        Setup {
            emulator,
            provider,
            broker,
            client,
        }
    }

    /// Signs `login` in and asks for a URL with `body`.
    async fn presign(&self, login: &str, body: Value) -> reqwest::Response {
        let token = self.provider.id_token(&self.client, login).await;
        broker::client()
            .post(format!("{}/api/v1/presigned-url", self.broker.url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("presign request")
    }
}

/// The one tag of an STS call or a session, as `(key, value)`.
fn only_tag(tags: &Value) -> (String, String) {
    let tags = tags.as_array().expect("tags");
    assert_eq!(tags.len(), 1, "{tags:?}");
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    (text(&tags[0]["key"]), text(&tags[0]["value"]))
}

#[tokio::test]
async fn each_person_mints_with_a_session_that_names_them_and_it_is_reused() {
    let s = Setup::start(true).await;
    let (first, second) =
        tokio::join!(s.presign("alice", json!({})), s.presign("alice", json!({})));
    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 200);

    let sts = s.emulator.sts_calls().await;
    assert_eq!(sts.len(), 1, "one AssumeRole for both: {sts:?}");
    let assumed = &sts[0];
    assert_eq!(assumed["action"], "AssumeRole");
    assert_eq!(assumed["role_arn"], MINTING_ROLE);
    assert_eq!(assumed["role_session_name"], "alice");
    assert_eq!(assumed["source_identity"], "alice");
    assert_eq!(assumed["duration_seconds"], "3600");
    assert_eq!(assumed["caller_access_key_id"], emulator::ACCESS_KEY_ID);
    assert_eq!(assumed["outcome"], "ok");
    assert_eq!(only_tag(&assumed["tags"]), (TAG_KEY.into(), "alice".into()));
    let session_key = assumed["issued_access_key_id"].as_str().unwrap();
    assert!(session_key.starts_with("ASIA"), "{session_key}");

    let calls = s.emulator.calls().await;
    assert_eq!(calls.len(), 2);
    for call in &calls {
        assert_eq!(call["outcome"], "ok");
        assert_eq!(call["access_key_id"], session_key);
        assert_eq!(call["source_identity"], "alice");
        assert_eq!(call["role_arn"], MINTING_ROLE);
        let tag = only_tag(&call["session_tags"]);
        assert_eq!(tag, (TAG_KEY.into(), "alice".into()));
    }

    let again = s.presign("alice", json!({})).await;
    assert_eq!(again.status(), 200);
    assert_eq!(s.emulator.sts_calls().await.len(), 1, "kept for the hour");

    let carol = s.presign("carol", json!({"domain": "research"})).await;
    assert_eq!(carol.status(), 200);
    let sts = s.emulator.sts_calls().await;
    assert_eq!(sts.len(), 2);
    assert_eq!(sts[1]["source_identity"], "carol");
    let carol_key = sts[1]["issued_access_key_id"].as_str().unwrap();
    assert_ne!(carol_key, session_key);
    let calls = s.emulator.calls().await;
    assert_eq!(calls[3]["access_key_id"], carol_key);
    assert_eq!(calls[3]["source_identity"], "carol");
    assert_eq!(calls[3]["user_profile_name"], "carol-r");
}

#[tokio::test]
async fn identities_are_passed_or_mapped_to_what_sts_accepts() {
    let s = Setup::start(true).await;
    let long = long_identity();
    let cases = [
        (
            "ana+ml@example.com",
            "ana+ml@example.com",
            "ana+ml@example.com",
        ),
        (
            long.as_str(),
            &format!("{}-5d67dfa0f7", "p".repeat(53)),
            long.as_str(),
        ),
        ("zoë", "zo_-2752b88686", "zoë"),
    ];
    for (i, (login, source, tag)) in cases.iter().enumerate() {
        let response = s.presign(login, json!({})).await;
        assert_eq!(response.status(), 200, "{login}");
        let sts = s.emulator.sts_calls().await;
        let assumed = &sts[i];
        assert_eq!(assumed["outcome"], "ok", "{login}");
        assert_eq!(assumed["source_identity"], *source, "{login}");
        assert_eq!(assumed["role_session_name"], *source, "{login}");
        assert_eq!(only_tag(&assumed["tags"]).1, *tag, "{login}");
        let calls = s.emulator.calls().await;
        assert_eq!(calls[i]["source_identity"], *source, "{login}");
    }
}

#[tokio::test]
async fn a_refused_assume_role_is_an_upstream_error() {
    let s = Setup::start(true).await;
    s.emulator.deny_assume_role(1).await;

    let response = s.presign("alice", json!({})).await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "upstream_error");
    let event = s.broker.next_audit().await;
    assert_eq!(event["identity"], "alice");
    assert_eq!(event["outcome"], "failed");
    assert_eq!(event["reason"], "upstream_error");

    let sts = s.emulator.sts_calls().await;
    assert_eq!(sts.len(), 1);
    assert_eq!(sts[0]["outcome"], "AccessDenied");
    assert!(s.emulator.calls().await.is_empty(), "no unnamed mint");

    let retried = s.presign("alice", json!({})).await;
    assert_eq!(retried.status(), 200, "a refusal is not kept");
    assert_eq!(s.emulator.sts_calls().await.len(), 2);
}

#[tokio::test]
async fn without_source_identity_the_broker_mints_as_itself() {
    let s = Setup::start(false).await;
    let response = s.presign("alice", json!({})).await;
    assert_eq!(response.status(), 200);
    assert!(s.emulator.sts_calls().await.is_empty());
    let calls = s.emulator.calls().await;
    assert_eq!(calls[0]["access_key_id"], emulator::ACCESS_KEY_ID);
    assert_eq!(calls[0].get("source_identity"), None);
}
