//! The standard cast: the emulator holding two domains, the real OpenID
//! provider process with its people, and a broker between them.
//!
//! | person | table rows |
//! | --- | --- |
//! | alice | ml/alice |
//! | bob | ml/bob |
//! | carol | ml/carol, ml/carol (space team), research/carol-r |
//! | dave | none |
//! | erin | ml/erin (no such profile in SageMaker) |
//! | frank | ml/frank (space ghost, which does not exist) |

#![allow(dead_code)]

use super::broker::{self, Broker, Config};
use super::emulator::Emulator;
use super::provider::{Client, Provider};
use serde_json::{Value, json};

pub const USERS: &str = r#"
[[users]]
identity = "alice"
domain = "ml"
profile = "alice"

[[users]]
identity = "bob"
domain = "ml"
profile = "bob"

[[users]]
identity = "carol"
domain = "ml"
profile = "carol"

[[users]]
identity = "carol"
domain = "ml"
profile = "carol"
space = "team"

[[users]]
identity = "carol"
domain = "research"
profile = "carol-r"

[[users]]
identity = "erin"
domain = "ml"
profile = "erin"

[[users]]
identity = "frank"
domain = "ml"
profile = "frank"
space = "ghost"
"#;

pub fn seed() -> Value {
    json!({"domains": [
        {"id": "d-mlstudio0001", "name": "ml", "auth_mode": "IAM",
         "profiles": ["alice", "bob", "carol", "frank"],
         "spaces": [{"name": "team", "owner": "carol"}]},
        {"id": "d-research0001", "name": "research", "auth_mode": "IAM",
         "profiles": ["carol-r"]}
    ]})
}

pub fn people() -> Value {
    let person = |name: &str, groups: &[&str]| {
        json!({"email": format!("{name}@example.com"), "email_verified": true,
               "groups": groups, "name": name})
    };
    json!({
        "alice": person("alice", &["ml-users"]),
        "bob": person("bob", &["ml-users"]),
        "carol": person("carol", &["ml-users", "research"]),
        "dave": person("dave", &[]),
        "erin": person("erin", &["ml-users"]),
        "frank": person("frank", &["ml-users"]),
    })
}

/// The broker's OAuth client at the provider, for a broker on `port`.
pub fn broker_client(port: u16) -> Client {
    Client {
        id: "broker".into(),
        secret: broker::CLIENT_SECRET.into(),
        redirect_uri: format!("http://127.0.0.1:{port}/oauth2/callback"),
        post_logout_redirect_uri: format!("http://127.0.0.1:{port}/oauth2/signed_out"),
    }
}

/// A second client of the same provider: a portal whose tokens the broker
/// does not accept unless configured to.
pub fn portal_client() -> Client {
    Client {
        id: "portal".into(),
        secret: "portal-secret-0123456789".into(),
        redirect_uri: "http://127.0.0.1:9/portal/callback".into(),
        post_logout_redirect_uri: "http://127.0.0.1:9/portal/bye".into(),
    }
}

pub struct Stack {
    pub emulator: Emulator,
    pub provider: Provider,
    pub broker: Broker,
    pub client: Client,
}

impl Stack {
    /// Starts everything with the standard table and `adjust` applied to
    /// the broker's config.
    pub async fn start(adjust: impl FnOnce(&mut Config)) -> Stack {
        let port = broker::free_port();
        let client = broker_client(port);
        let emulator = Emulator::start(seed()).await;
        let provider = Provider::start(&[client.clone(), portal_client()], people()).await;
        let mut config = Config::new(&provider.issuer, &emulator.url);
        adjust(&mut config);
        let options = broker::Options {
            config: config.render(port),
            users: USERS.to_owned(),
            users_name: "users.toml",
            env: broker::base_env(),
            wait_ready: true,
        };
        let broker = Broker::start_with(options, port).await;
        Stack {
            emulator,
            provider,
            broker,
            client,
        }
    }

    /// A real ID token for `login`, issued to the broker's client.
    pub async fn token(&self, login: &str) -> String {
        self.provider.id_token(&self.client, login).await
    }

    /// `POST /api/v1/presigned-url` with `token` and a JSON `body`.
    pub async fn presign(&self, token: &str, body: Option<Value>) -> reqwest::Response {
        let mut request = broker::client()
            .post(format!("{}/api/v1/presigned-url", self.broker.url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("presign request")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = broker::client().get(format!("{}{path}", self.broker.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("get")
    }
}
