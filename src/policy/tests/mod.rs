//! Tests of the policy documents: each is parsed back and its ARNs,
//! conditions and size checked.

mod documents;
mod limits;

use super::{Error, Options, Output, documents};
use crate::config::{Config, Env};
use crate::table::{IdentityKind, Schema, Table};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

const BROKER: &str = "arn:aws:iam::123456789012:role/studio-broker";
const ML: &str = "arn:aws:sagemaker:eu-west-1:123456789012";
const RESEARCH: &str = "arn:aws:sagemaker:us-east-1:123456789012";
const PARTNER: &str = "arn:aws:sagemaker:eu-west-1:111122223333";
const PARTNER_ROLE: &str = "arn:aws:iam::111122223333:role/broker-access";

/// `[studio]` with a source identity and the conventional minting role.
const SOURCE_IDENTITY: &str = "source_identity = true\n\
    minting_role_arn = \"arn:aws:iam::123456789012:role/studio-broker-mint\"";

struct TestEnv(HashMap<&'static str, String>);

impl Env for TestEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

const TWO_DOMAINS: &str = r#"
[[domains]]
alias = "ml"
id = "d-aaaa1111"
region = "eu-west-1"
account_id = "123456789012"

[[domains]]
alias = "research"
id = "d-bbbb2222"
region = "us-east-1"
account_id = "123456789012"
"#;

const PARTNER_DOMAIN: &str = r#"
[[domains]]
alias = "partner"
id = "d-cccc3333"
region = "eu-west-1"
account_id = "111122223333"
assume_role_arn = "arn:aws:iam::111122223333:role/broker-access"
"#;

/// Two domains, a shared profile, a space, a mixed-case profile, and one
/// IAM user with profiles in both domains.
const ROWS: &str = r#"
[[users]]
identity = "alice"
domain = "ml"
profile = "alice"
iam_user = "alice"

[[users]]
identity = "alice"
domain = "research"
profile = "alice-r"
iam_user = "alice"

[[users]]
identity = "bob"
domain = "ml"
profile = "shared"

[[users]]
identity = "carol"
domain = "ml"
profile = "shared"
iam_user = "carol"

[[users]]
identity = "dave"
domain = "research"
profile = "dave"
space = "team"

[[users]]
identity = "erin"
domain = "ml"
profile = "Erin"
"#;

fn config(studio: &str, domains: &str) -> Config {
    let text = format!(
        "[server]\npublic_url = \"https://broker.example.com\"\n\
         [oidc]\nissuer = \"https://idp.example.com\"\n\
         client_id = \"broker\"\nclient_secret_env = \"SECRET\"\n\
         [session]\ncookie_key_env = \"KEY\"\n[studio]\n{studio}\n{domains}"
    );
    let env = TestEnv(HashMap::from([
        ("SECRET", "s".to_owned()),
        ("KEY", "k".repeat(88)),
    ]));
    match Config::parse(Path::new("broker.toml"), &text, &env) {
        Ok(config) => config,
        Err(error) => panic!("{error}"),
    }
}

fn table(config: &Config, rows: &str) -> Table {
    let schema = Schema {
        domains: config.domains.iter().map(|d| d.alias.clone()).collect(),
        identity: IdentityKind::Opaque,
    };
    match Table::parse("users.toml", rows, &schema) {
        Ok(table) => table,
        Err(error) => panic!("{error}"),
    }
}

fn options() -> Options {
    Options {
        broker_role_arn: BROKER.to_owned(),
        ..Options::default()
    }
}

fn run(studio: &str, domains: &str, rows: &str, options: &Options) -> Output {
    let config = config(studio, domains);
    let table = table(&config, rows);
    match documents(&config, &table, options) {
        Ok(output) => output,
        Err(error) => panic!("{error}"),
    }
}

fn failure(domains: &str, options: &Options) -> Error {
    let config = config("", domains);
    let table = table(&config, "");
    match documents(&config, &table, options) {
        Ok(output) => panic!("documents written: {}", output.json),
        Err(error) => error,
    }
}

/// The output printed and parsed back, as a consumer would see it.
fn reparsed(output: &Output) -> Value {
    let text = output.json.to_string();
    match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(error) => panic!("{error}: {text}"),
    }
}

fn statement<'a>(document: &'a Value, sid: &str) -> &'a Value {
    let statements = document["Statement"].as_array();
    let found = statements.and_then(|s| s.iter().find(|s| s["Sid"] == sid));
    found.unwrap_or_else(|| panic!("no statement {sid} in {document}"))
}

fn sids(document: &Value) -> Vec<&str> {
    let statements = document["Statement"].as_array();
    let statements = statements.map(Vec::as_slice).unwrap_or_default();
    statements
        .iter()
        .filter_map(|s| s["Sid"].as_str())
        .collect()
}

fn strings(value: &Value) -> Vec<&str> {
    let list = value.as_array().map(Vec::as_slice).unwrap_or_default();
    list.iter().filter_map(Value::as_str).collect()
}

fn keys(value: &Value) -> Vec<&str> {
    let map = value.as_object();
    map.map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn profile(prefix: &str, domain: &str, name: &str) -> String {
    format!("{prefix}:user-profile/{domain}/{name}")
}
