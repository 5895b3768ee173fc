//! Loading a configuration: the defaults of a minimal file, and every
//! refusal with its exact message, in tables of (name, edits, variables,
//! messages). Secrets must stay out of every message.

use super::*;
use base64::Engine;
use std::collections::HashMap;

const PATH: &str = "/etc/sb/broker.toml";
const CLIENT_SECRET: &str = "client-secret-7f3a9c1e-do-not-print";

/// The smallest file that loads; cases change it with text edits.
const MINIMAL: &str = r#"
[server]
public_url = "https://studio.example.com"

[oidc]
issuer = "https://login.example.com/"
client_id = "broker"
client_secret_env = "SB_CLIENT_SECRET"

[session]
cookie_key_env = "SB_COOKIE_KEY"

[[domains]]
alias = "ml"
id = "d-abc123def456"
region = "eu-west-1"
account_id = "123456789012"
"#;

/// Variables from a map, so no test touches the process environment.
struct MapEnv(HashMap<String, String>);

impl Env for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

fn key_of(bytes: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(vec![7u8; bytes])
}

/// The variables MINIMAL names, then `extra` (which may replace them).
fn env(extra: &[(&str, &str)]) -> MapEnv {
    let mut vars = HashMap::from([
        ("SB_CLIENT_SECRET".to_owned(), CLIENT_SECRET.to_owned()),
        ("SB_COOKIE_KEY".to_owned(), key_of(64)),
    ]);
    for (name, value) in extra {
        vars.insert((*name).to_owned(), (*value).to_owned());
    }
    MapEnv(vars)
}

/// MINIMAL with each `(from, to)` applied; an empty `from` appends `to`.
fn edited(edits: &[(&str, &str)]) -> String {
    let mut text = MINIMAL.to_owned();
    for (from, to) in edits {
        if from.is_empty() {
            text.push_str(to);
        } else {
            assert!(text.contains(from), "no {from:?} in the file");
            text = text.replacen(from, to, 1);
        }
    }
    text
}

fn parse(text: &str, env: &MapEnv) -> Result<Config, Error> {
    Config::parse(Path::new(PATH), text, env)
}

fn load(edits: &[(&str, &str)]) -> Config {
    match parse(&edited(edits), &env(&[])) {
        Ok(config) => config,
        Err(e) => panic!("expected a valid config, got:\n{e}"),
    }
}

#[test]
fn minimal_config_takes_every_default_of_the_contract() {
    let c = load(&[]);
    let secs = Duration::from_secs;
    assert_eq!(c.path, Path::new(PATH));
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.server.public_url.as_str(), "https://studio.example.com/");
    assert!(c.server.secure_cookies());
    assert!(c.server.trusted_proxies.is_empty());
    assert_eq!(c.server.metrics_listen, None);
    assert_eq!(c.server.drain_delay, secs(5));
    assert_eq!(c.server.shutdown_timeout, secs(20));
    assert_eq!(c.server.request_timeout, secs(15));
    assert_eq!(c.server.max_header_bytes, 16384);
    assert!(c.server.cors_origins.is_empty());

    assert_eq!(c.oidc.issuer, "https://login.example.com");
    assert_eq!(c.oidc.client_id, "broker");
    assert_eq!(c.oidc.client_secret.expose(), CLIENT_SECRET);
    assert_eq!(c.oidc.scopes, ["openid", "email", "profile"]);
    assert_eq!(c.oidc.audiences, ["broker"]);
    assert!(c.oidc.allowed_clients.is_empty());
    assert_eq!(c.oidc.identity_claim, "sub");
    assert_eq!(c.oidc.groups_claim, "groups");
    assert!(c.oidc.allowed_groups.is_empty());
    assert_eq!(c.oidc.algorithms, None);
    assert_eq!(c.oidc.clock_skew, secs(60));
    assert_eq!(c.oidc.jwks_refresh, secs(300));
    assert_eq!(c.oidc.jwks_min_refetch, secs(30));
    assert!(!c.oidc.userinfo);
    assert_eq!(c.oidc.ca_file, None);

    assert_eq!(c.session.keys.len(), 1);
    assert_eq!(c.session.keys[0].expose(), key_of(64));
    assert_eq!(c.session.ttl, secs(28800));
    assert_eq!(c.studio.expires_in_seconds, 30);
    assert_eq!(c.studio.session_seconds, 43200);
    assert_eq!(c.studio.timeout, secs(10));
    assert_eq!(c.studio.max_concurrent_calls, 64);
    assert!(!c.studio.source_identity);
    assert_eq!(c.limits.mints_per_minute, 10);
    assert_eq!(c.limits.unauthenticated_per_minute, 120);
    assert_eq!(c.table.path, Path::new("/etc/sb/users.toml"));

    let ml = c.domain("ml").map(|d| (&d.id, &d.region, &d.account_id));
    let want = ("d-abc123def456", "eu-west-1", "123456789012");
    assert_eq!(ml, Some((&want.0.into(), &want.1.into(), &want.2.into())));
    assert!(c.domain("other").is_none());
}

#[test]
fn accepted_variations() {
    let c = load(&[
        (
            "https://login.example.com/",
            "https://idp.example.com/realms/x/",
        ),
        (
            "[oidc]",
            "[oidc]\nalgorithms = [\"RS256\", \"ES256\", \"EdDSA\"]",
        ),
        (
            "[server]",
            "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]",
        ),
        (
            "[server]",
            "[server]\ncors_origins = [\"https://portal.example.com/\"]",
        ),
        ("[server]", "[server]\nmetrics_listen = \"127.0.0.1:9090\""),
        ("d-abc123def456", "d--a-b"),
        ("", "[table]\npath = \"/srv/users.csv\"\n"),
        (
            "",
            "[studio]\nexpires_in_seconds = 300\nsession_seconds = 1800\n",
        ),
        ("", "[[domains]]\nalias = \"gov\"\nid = \"d-x\"\n"),
        (
            "",
            "region = \"us-gov-west-1\"\naccount_id = \"000000000000\"\n",
        ),
        ("", "endpoint_url = \"http://127.0.0.1:4566\"\n"),
        (
            "",
            "assume_role_arn = \"arn:aws-us-gov:iam::000000000000:role/a/b\"\n",
        ),
    ]);
    assert_eq!(c.oidc.issuer, "https://idp.example.com/realms/x");
    let algorithms = c.oidc.algorithms.clone().unwrap_or_default();
    assert_eq!(
        algorithms,
        [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA]
    );
    assert_eq!(c.server.trusted_proxies.len(), 2);
    assert_eq!(c.server.cors_origins, ["https://portal.example.com"]);
    assert_eq!(c.table.path, Path::new("/srv/users.csv"));
    assert_eq!(c.studio.expires_in_seconds, 300);
    assert_eq!(c.domains.len(), 2);
    let gov = c.domain("gov").and_then(|d| d.endpoint_url.clone());
    assert_eq!(gov.map(String::from), Some("http://127.0.0.1:4566/".into()));
}

/// A refused file: the edits that make it so, the variables it sees, and
/// every message expected, in order, without the file-name prefix.
struct Refused {
    name: &'static str,
    edits: &'static [(&'static str, &'static str)],
    vars: &'static [(&'static str, &'static str)],
    problems: &'static [&'static str],
}

const HINT: &str = "must be standard base64 of at least 64 bytes (generate \
    one with `head -c 64 /dev/urandom | base64 -w0`)";

fn check(cases: &[Refused]) {
    for case in cases {
        let text = edited(case.edits);
        let got = match parse(&text, &env(case.vars)) {
            Ok(_) => panic!("{}: loaded, expected {:?}", case.name, case.problems),
            Err(e) => e,
        };
        let want: Vec<String> = case
            .problems
            .iter()
            .map(|p| p.replace("{HINT}", HINT))
            .collect();
        assert_eq!(got.problems, want, "case {}", case.name);
        assert_eq!(got.path, Path::new(PATH), "case {}", case.name);
    }
}

#[test]
fn display_prefixes_each_problem_with_the_file() {
    let text = edited(&[(
        "",
        "[studio]\nexpires_in_seconds = 600\nsession_seconds = 60\n",
    )]);
    let e = parse(&text, &env(&[])).err().map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some(
            "/etc/sb/broker.toml: studio.expires_in_seconds = 600: must be \
             5..=300\n\
             /etc/sb/broker.toml: studio.session_seconds = 60: must be \
             1800..=43200"
        )
    );
}

#[test]
fn syntax_and_unknown_keys_name_the_key_and_line() {
    check(&[
        Refused {
            name: "unknown top-level table",
            edits: &[("", "[extra]\nx = 1\n")],
            vars: &[],
            problems: &["line 18: unknown field `extra`, expected one of \
                `server`, `oidc`, `session`, `studio`, `limits`, \
                `domains`, `table`"],
        },
        Refused {
            name: "unknown key in a section",
            edits: &[("[server]", "[server]\nlisten_addr = \"0.0.0.0:80\"")],
            vars: &[],
            problems: &["line 3: unknown field `listen_addr`, expected one \
                of `listen`, `public_url`, `trusted_proxies`, \
                `metrics_listen`, `drain_delay_seconds`, \
                `shutdown_timeout_seconds`, `request_timeout_seconds`, \
                `max_header_bytes`, `cors_origins`"],
        },
        Refused {
            name: "unknown key in a domain",
            edits: &[("alias = \"ml\"", "alias = \"ml\"\nname = \"x\"")],
            vars: &[],
            problems: &["line 15: unknown field `name`, expected one of \
                `alias`, `id`, `region`, `account_id`, `endpoint_url`, \
                `assume_role_arn`"],
        },
        Refused {
            name: "wrong type",
            edits: &[("", "[studio]\nexpires_in_seconds = \"30\"\n")],
            vars: &[],
            problems: &["line 19: invalid type: string \"30\", expected i64"],
        },
        Refused {
            name: "bad listen address",
            edits: &[("[server]", "[server]\nlisten = \"localhost\"")],
            vars: &[],
            problems: &["line 3: invalid socket address syntax"],
        },
        Refused {
            name: "not toml",
            edits: &[("[session]", "[session")],
            vars: &[],
            problems: &["line 10: unclosed table, expected `]`"],
        },
        Refused {
            name: "domain missing a field",
            edits: &[("region = \"eu-west-1\"\n", "")],
            vars: &[],
            problems: &["line 13: missing field `region`"],
        },
    ]);
}

#[test]
fn server_values_are_checked() {
    check(&[
        Refused {
            name: "missing public_url",
            edits: &[("public_url = \"https://studio.example.com\"", "")],
            vars: &[],
            problems: &["server.public_url: required, such as \
                \"https://studio.example.com\""],
        },
        Refused {
            name: "public_url with a path",
            edits: &[("studio.example.com\"", "studio.example.com/broker\"")],
            vars: &[],
            problems: &["server.public_url = \
                \"https://studio.example.com/broker\": must be an http or \
                https origin such as \"https://studio.example.com\" (no \
                path, query or user)"],
        },
        Refused {
            name: "public_url not http",
            edits: &[("https://studio.example.com", "ftp://studio")],
            vars: &[],
            problems: &["server.public_url = \"ftp://studio\": must be an \
                http or https origin such as \"https://studio.example.com\" \
                (no path, query or user)"],
        },
        Refused {
            name: "bad trusted proxy",
            edits: &[(
                "[server]",
                "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"10.0.0.0/33\"]",
            )],
            vars: &[],
            problems: &["server.trusted_proxies[1] = \"10.0.0.0/33\": must be \
                a CIDR such as \"10.0.0.0/8\" or a single address"],
        },
        Refused {
            name: "bad cors origins",
            edits: &[(
                "[server]",
                "[server]\ncors_origins = [\"portal.example.com\", \
                 \"https://portal.example.com/app\"]",
            )],
            vars: &[],
            problems: &[
                "server.cors_origins[0] = \"portal.example.com\": must be an \
                 http or https origin such as \"https://portal.example.com\" \
                 (no path)",
                "server.cors_origins[1] = \"https://portal.example.com/app\": \
                 must be an http or https origin such as \
                 \"https://portal.example.com\" (no path)",
            ],
        },
        Refused {
            name: "metrics on the serving address",
            edits: &[("[server]", "[server]\nmetrics_listen = \"127.0.0.1:8080\"")],
            vars: &[],
            problems: &["server.metrics_listen = \"127.0.0.1:8080\": must \
                differ from server.listen (leave it unset to serve /metrics \
                there)"],
        },
        Refused {
            name: "bounds",
            edits: &[(
                "[server]",
                "[server]\nrequest_timeout_seconds = 0\nmax_header_bytes = 10",
            )],
            vars: &[],
            problems: &[
                "server.request_timeout_seconds = 0: must be 1..=3600",
                "server.max_header_bytes = 10: must be 1024..=1048576",
            ],
        },
    ]);
}

#[test]
fn oidc_values_are_checked() {
    check(&[
        Refused {
            name: "no oidc section at all",
            edits: &[
                ("[oidc]", ""),
                ("issuer = \"https://login.example.com/\"", ""),
                ("client_id = \"broker\"", ""),
                ("client_secret_env = \"SB_CLIENT_SECRET\"", ""),
            ],
            vars: &[],
            problems: &[
                "oidc.issuer: required, such as \"https://login.example.com\"",
                "oidc.client_id: required, such as \"studio\"",
                "oidc.client_secret_env or oidc.client_secret_file: one is \
                 required (secrets are never values in this file)",
            ],
        },
        Refused {
            name: "issuer not a URL",
            edits: &[("https://login.example.com/", "login.example.com")],
            vars: &[],
            problems: &["oidc.issuer = \"login.example.com\": must be an http \
                or https URL such as \"https://login.example.com\" (no \
                query, fragment or user)"],
        },
        Refused {
            name: "none and HMAC algorithms",
            edits: &[(
                "[oidc]",
                "[oidc]\nalgorithms = [\"RS256\", \"none\", \"HS256\"]",
            )],
            vars: &[],
            problems: &[
                "oidc.algorithms[1] = \"none\": must be one of RS256, RS384, \
                 RS512, PS256, PS384, PS512, ES256, ES384, EdDSA (none and \
                 HMAC are never allowed)",
                "oidc.algorithms[2] = \"HS256\": must be one of RS256, RS384, \
                 RS512, PS256, PS384, PS512, ES256, ES384, EdDSA (none and \
                 HMAC are never allowed)",
            ],
        },
        Refused {
            name: "empty lists",
            edits: &[(
                "[oidc]",
                "[oidc]\nalgorithms = []\naudiences = []\nscopes = [\"email\"]",
            )],
            vars: &[],
            problems: &[
                "oidc.scopes = [\"email\"]: must include \"openid\"",
                "oidc.algorithms: must not be empty (omit it to accept what \
                 the provider advertises)",
                "oidc.audiences: must not be empty (omit it to accept \
                 [client_id])",
            ],
        },
        Refused {
            name: "secret from both places",
            edits: &[(
                "client_secret_env = \"SB_CLIENT_SECRET\"",
                "client_secret_env = \"SB_CLIENT_SECRET\"\n\
                 client_secret_file = \"secret\"",
            )],
            vars: &[],
            problems: &["oidc.client_secret_env and oidc.client_secret_file: \
                both are set; set only one"],
        },
        Refused {
            name: "secret variable unset",
            edits: &[("\"SB_CLIENT_SECRET\"", "\"SB_MISSING\"")],
            vars: &[],
            problems: &["oidc.client_secret_env = \"SB_MISSING\": the \
                environment variable SB_MISSING is not set or is empty"],
        },
        Refused {
            name: "secret variable blank",
            edits: &[],
            vars: &[("SB_CLIENT_SECRET", " \n")],
            problems: &["oidc.client_secret_env = \"SB_CLIENT_SECRET\": the \
                environment variable SB_CLIENT_SECRET is not set or is \
                empty"],
        },
        Refused {
            name: "ca file missing",
            edits: &[("[oidc]", "[oidc]\nca_file = \"ca.pem\"")],
            vars: &[],
            problems: &["oidc.ca_file = \"ca.pem\": /etc/sb/ca.pem is not a \
                readable file"],
        },
        Refused {
            name: "timing bounds",
            edits: &[("[oidc]", "[oidc]\nclock_skew_seconds = 601")],
            vars: &[],
            problems: &["oidc.clock_skew_seconds = 601: must be 0..=600"],
        },
    ]);
}

#[test]
fn session_keys_are_checked() {
    check(&[
        Refused {
            name: "no cookie key",
            edits: &[("cookie_key_env = \"SB_COOKIE_KEY\"", "")],
            vars: &[],
            problems: &["session.cookie_key_env or session.cookie_key_file: \
                one is required (secrets are never values in this file)"],
        },
        Refused {
            name: "cookie key not base64",
            edits: &[],
            vars: &[("SB_COOKIE_KEY", "not base64 at all!")],
            problems: &["session.cookie_key_env = \"SB_COOKIE_KEY\": not \
                valid base64: {HINT}"],
        },
        Refused {
            name: "cookie key too short",
            edits: &[],
            vars: &[(
                "SB_COOKIE_KEY",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            )],
            problems: &["session.cookie_key_env = \"SB_COOKIE_KEY\": decodes \
                to 32 bytes: {HINT}"],
        },
        Refused {
            name: "one bad previous key",
            edits: &[(
                "cookie_key_env = \"SB_COOKIE_KEY\"",
                "cookie_key_env = \"SB_COOKIE_KEY\"\n\
                 previous_keys_env = \"SB_OLD_KEYS\"",
            )],
            vars: &[(
                "SB_OLD_KEYS",
                "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH\
                 BwcHBwcHBwcHBwcHBwcHBwcHBwcHBw==, ***",
            )],
            problems: &["session.previous_keys_env = \"SB_OLD_KEYS\": key 2 \
                of 2: not valid base64: {HINT}"],
        },
        Refused {
            name: "previous keys variable unset, ttl also wrong",
            edits: &[(
                "cookie_key_env = \"SB_COOKIE_KEY\"",
                "cookie_key_env = \"SB_COOKIE_KEY\"\n\
                 previous_keys_env = \"SB_OLD_KEYS\"\nttl_seconds = 1",
            )],
            vars: &[],
            problems: &[
                "session.previous_keys_env = \"SB_OLD_KEYS\": the environment \
                 variable SB_OLD_KEYS is not set or is empty",
                "session.ttl_seconds = 1: must be 60..=604800",
            ],
        },
    ]);
}

#[test]
fn studio_values_are_checked() {
    check(&[
        Refused {
            name: "presigned URL lifetime",
            edits: &[("", "[studio]\nexpires_in_seconds = 600\n")],
            vars: &[],
            problems: &["studio.expires_in_seconds = 600: must be 5..=300"],
        },
        Refused {
            name: "lower bounds",
            edits: &[(
                "",
                "[studio]\nexpires_in_seconds = 4\nsession_seconds = 1799\n\
                 timeout_seconds = 0\nmax_concurrent_calls = 0\n",
            )],
            vars: &[],
            problems: &[
                "studio.expires_in_seconds = 4: must be 5..=300",
                "studio.session_seconds = 1799: must be 1800..=43200",
                "studio.timeout_seconds = 0: must be 1..=300",
                "studio.max_concurrent_calls = 0: must be 1..=10000",
            ],
        },
        Refused {
            name: "session beyond twelve hours",
            edits: &[("", "[studio]\nsession_seconds = 43201\n")],
            vars: &[],
            problems: &["studio.session_seconds = 43201: must be 1800..=43200"],
        },
    ]);
}

const MINTING: &str = "minting_role_arn = \"arn:aws:iam::123456789012:role/sb-mint\"";

#[test]
fn source_identity_takes_a_minting_role_and_an_sts_endpoint() {
    let studio = format!(
        "[studio]\nsource_identity = true\n{MINTING}\n\
         sts_endpoint_url = \"http://127.0.0.1:4566\"\n"
    );
    let c = load(&[("", &studio)]);
    assert!(c.studio.source_identity);
    let role = c.studio.minting_role_arn.as_deref();
    assert_eq!(role, Some("arn:aws:iam::123456789012:role/sb-mint"));
    let sts = c.studio.sts_endpoint_url.map(String::from);
    assert_eq!(sts.as_deref(), Some("http://127.0.0.1:4566/"));
}

#[test]
fn source_identity_values_are_checked() {
    check(&[
        Refused {
            name: "no minting role",
            edits: &[("", "[studio]\nsource_identity = true\n")],
            vars: &[],
            problems: &["studio.minting_role_arn: required with \
                studio.source_identity = true, such as \
                \"arn:aws:iam::123456789012:role/studio-broker-mint\""],
        },
        Refused {
            name: "minting role not a role",
            edits: &[(
                "",
                "[studio]\nminting_role_arn = \"arn:aws:iam::123:role/x\"\n",
            )],
            vars: &[],
            problems: &["studio.minting_role_arn = \
                \"arn:aws:iam::123:role/x\": must be an IAM role ARN such \
                as \"arn:aws:iam::123456789012:role/studio-broker-mint\""],
        },
        Refused {
            name: "STS endpoint not a URL",
            edits: &[("", "[studio]\nsts_endpoint_url = \"sts.local\"\n")],
            vars: &[],
            problems: &["studio.sts_endpoint_url = \"sts.local\": must be \
                an http or https URL such as \
                \"https://sts.eu-west-1.amazonaws.com\""],
        },
        Refused {
            name: "a domain role with source identity",
            edits: &[
                (
                    "account_id = \"123456789012\"",
                    "account_id = \"123456789012\"\nassume_role_arn = \
                     \"arn:aws:iam::123456789012:role/x\"",
                ),
                (
                    "[server]",
                    "[studio]\nsource_identity = true\nminting_role_arn = \
                     \"arn:aws:iam::123456789012:role/m\"\n[server]",
                ),
            ],
            vars: &[],
            problems: &["domains[0].assume_role_arn: not supported yet with \
                studio.source_identity = true; serve this domain without \
                it, or turn studio.source_identity off"],
        },
        Refused {
            name: "a domain outside the minting role's account",
            edits: &[(
                "",
                "[studio]\nsource_identity = true\nminting_role_arn = \
                 \"arn:aws:iam::999999999999:role/m\"\n",
            )],
            vars: &[],
            problems: &["domains[0].account_id = \"123456789012\": with \
                studio.source_identity every domain must be in the minting \
                role's account 999999999999"],
        },
    ]);
}

const ID_RULE: &str = "must match ^d-(-*[a-z0-9]){1,61}$, such as \"d-abc123def456\"";

#[test]
fn domain_values_are_checked() {
    let long_id = format!("d-{}", "a".repeat(62));
    let long_alias = "a".repeat(64);
    let text = edited(&[
        ("alias = \"ml\"", &format!("alias = \"{long_alias}\"")),
        ("d-abc123def456", &long_id),
    ]);
    let got = parse(&text, &env(&[])).err().map(|e| e.problems);
    assert_eq!(
        got,
        Some(vec![
            format!(
                "domains[0].alias = \"{long_alias}\": must match \
                 ^[a-z0-9][a-z0-9-]{{0,62}}$"
            ),
            format!("domains[0].id = \"{long_id}\": {ID_RULE}"),
        ])
    );

    check(&[
        Refused {
            name: "no domains",
            edits: &[(
                "[[domains]]\nalias = \"ml\"\nid = \"d-abc123def456\"\n\
                 region = \"eu-west-1\"\naccount_id = \"123456789012\"\n",
                "",
            )],
            vars: &[],
            problems: &["domains: at least one [[domains]] table is required"],
        },
        Refused {
            name: "bad alias",
            edits: &[("alias = \"ml\"", "alias = \"-ML\"")],
            vars: &[],
            problems: &["domains[0].alias = \"-ML\": must match \
                ^[a-z0-9][a-z0-9-]{0,62}$"],
        },
        Refused {
            name: "id with nothing after d-",
            edits: &[("d-abc123def456", "d-")],
            vars: &[],
            problems: &["domains[0].id = \"d-\": must match \
                ^d-(-*[a-z0-9]){1,61}$, such as \"d-abc123def456\""],
        },
        Refused {
            name: "id ending with a hyphen",
            edits: &[("d-abc123def456", "d-abc-")],
            vars: &[],
            problems: &["domains[0].id = \"d-abc-\": must match \
                ^d-(-*[a-z0-9]){1,61}$, such as \"d-abc123def456\""],
        },
        Refused {
            name: "id in capitals",
            edits: &[("d-abc123def456", "D-ABC")],
            vars: &[],
            problems: &["domains[0].id = \"D-ABC\": must match \
                ^d-(-*[a-z0-9]){1,61}$, such as \"d-abc123def456\""],
        },
        Refused {
            name: "region, account, endpoint, role",
            edits: &[
                ("eu-west-1", "eu-west"),
                ("123456789012", "12345678901"),
                (
                    "account_id = \"12345678901\"",
                    "account_id = \"12345678901\"\nendpoint_url = \"localhost:4566\"\n\
                     assume_role_arn = \"arn:aws:iam::123:role/x\"",
                ),
            ],
            vars: &[],
            problems: &[
                "domains[0].region = \"eu-west\": must be an AWS region such \
                 as \"eu-west-1\"",
                "domains[0].account_id = \"12345678901\": must be 12 digits",
                "domains[0].endpoint_url = \"localhost:4566\": must be an \
                 http or https URL such as \
                 \"https://api.sagemaker.eu-west-1.amazonaws.com\"",
                "domains[0].assume_role_arn = \"arn:aws:iam::123:role/x\": \
                 must be an IAM role ARN such as \
                 \"arn:aws:iam::123456789012:role/studio-broker\"",
            ],
        },
        Refused {
            name: "duplicate alias",
            edits: &[(
                "",
                "[[domains]]\nalias = \"ml\"\nid = \"d-other\"\n\
                 region = \"us-east-1\"\naccount_id = \"210987654321\"\n",
            )],
            vars: &[],
            problems: &["domains[1].alias = \"ml\": already used by \
                domains[0]; each alias must be unique"],
        },
    ]);
}

#[test]
fn every_problem_is_reported_at_once_in_file_order() {
    check(&[Refused {
        name: "many",
        edits: &[
            ("public_url = \"https://studio.example.com\"", ""),
            ("[server]", "[server]\ntrusted_proxies = [\"proxy\"]"),
            ("\"SB_CLIENT_SECRET\"", "\"SB_MISSING\""),
            ("eu-west-1", "Europe"),
            ("", "[studio]\nexpires_in_seconds = 600\n"),
        ],
        vars: &[("SB_COOKIE_KEY", "c2hvcnQ=")],
        problems: &[
            "server.public_url: required, such as \
             \"https://studio.example.com\"",
            "server.trusted_proxies[0] = \"proxy\": must be a CIDR such as \
             \"10.0.0.0/8\" or a single address",
            "oidc.client_secret_env = \"SB_MISSING\": the environment \
             variable SB_MISSING is not set or is empty",
            "session.cookie_key_env = \"SB_COOKIE_KEY\": decodes to 5 bytes: \
             {HINT}",
            "studio.expires_in_seconds = 600: must be 5..=300",
            "domains[0].region = \"Europe\": must be an AWS region such as \
             \"eu-west-1\"",
        ],
    }]);
}

#[test]
fn secret_files_are_read_relative_to_the_config_and_trimmed() -> std::io::Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir(dir.path().join("secrets"))?;
    let write =
        |name: &str, text: &str| std::fs::write(dir.path().join("secrets").join(name), text);
    write("client", "  from-a-file\n")?;
    write("cookie", &format!("{}\n", key_of(64)))?;
    write("old", &format!("{}, {}\n", key_of(65), key_of(96)))?;
    let text = edited(&[
        (
            "client_secret_env = \"SB_CLIENT_SECRET\"",
            "client_secret_file = \"secrets/client\"",
        ),
        (
            "cookie_key_env = \"SB_COOKIE_KEY\"",
            "cookie_key_file = \"secrets/cookie\"\n\
          previous_keys_file = \"secrets/old\"",
        ),
    ]);
    let path = dir.path().join("broker.toml");
    let config = Config::parse(&path, &text, &MapEnv(HashMap::new()));
    let config = config.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.oidc.client_secret.expose(), "from-a-file");
    let keys: Vec<&str> = config.session.keys.iter().map(Secret::expose).collect();
    assert_eq!(keys, [key_of(64), key_of(65), key_of(96)]);
    assert_eq!(config.table.path, dir.path().join("users.toml"));

    write("client", " \n")?;
    let text = text.replace("secrets/cookie", "secrets/none");
    let error = Config::parse(&path, &text, &MapEnv(HashMap::new())).err();
    let shown = |name: &str| dir.path().join(name).display().to_string();
    assert_eq!(
        error.map(|e| e.problems),
        Some(vec![
            format!(
                "oidc.client_secret_file = \"secrets/client\": {} is empty",
                shown("secrets/client")
            ),
            format!(
                "session.cookie_key_file = \"secrets/none\": cannot read {}: \
                 No such file or directory (os error 2)",
                shown("secrets/none")
            ),
        ])
    );
    Ok(())
}

/// Found by fuzzing: a secret file that never ends (`/dev/zero`) or is
/// not a file must be refused, not read until memory runs out.
#[test]
fn secret_files_must_be_small_regular_files() -> std::io::Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("big"), "x".repeat(70 * 1024))?;
    let cases = [
        ("/dev/zero", "/dev/zero: not a regular file"),
        (".", "secrets: not a regular file"),
        ("big", "big: larger than 65536 bytes"),
    ];
    let path = dir.path().join("broker.toml");
    for (file, expected) in cases {
        let file = if file == "." { "secrets" } else { file };
        if file == "secrets" {
            std::fs::create_dir_all(dir.path().join("secrets"))?;
        }
        let text = edited(&[(
            "client_secret_env = \"SB_CLIENT_SECRET\"",
            &format!("client_secret_file = \"{file}\""),
        )]);
        let error = Config::parse(&path, &text, &env(&[])).err();
        let problems = error.map(|e| e.problems).unwrap_or_default();
        let shown = if file.starts_with('/') {
            file.to_owned()
        } else {
            dir.path().join(file).display().to_string()
        };
        let suffix = expected.split_once(": ").map_or("", |(_, s)| s);
        assert_eq!(
            problems,
            [format!(
                "oidc.client_secret_file = \"{file}\": cannot read {shown}: {suffix}"
            )],
            "{file}"
        );
    }
    Ok(())
}

#[test]
fn no_message_or_debug_output_shows_a_secret() {
    let cookie_key = key_of(64);
    let bad_key = "not-base64-but-secret!";
    let texts = [
        edited(&[("", "[studio]\nexpires_in_seconds = 600\n")]),
        edited(&[("[oidc]", "[oidc]\nclient_secret = \"in-file-secret\"")]),
        edited(&[("d-abc123def456", "d-")]),
    ];
    for (i, text) in texts.iter().enumerate() {
        let e = parse(text, &env(&[])).err().map(|e| format!("{e}\n{e:?}"));
        let shown = e.unwrap_or_else(|| panic!("text {i} loaded"));
        for secret in [CLIENT_SECRET, &cookie_key, "in-file-secret"] {
            assert!(!shown.contains(secret), "text {i} shows a secret");
        }
    }

    let e = parse(MINIMAL, &env(&[("SB_COOKIE_KEY", bad_key)])).err();
    let shown = e.map(|e| format!("{e}\n{e:?}")).unwrap_or_default();
    assert!(shown.contains("not valid base64"), "{shown}");
    assert!(!shown.contains(bad_key));

    let config = load(&[]);
    let debug = format!("{config:?}");
    assert!(debug.contains("[redacted]"));
    assert!(!debug.contains(CLIENT_SECRET));
    assert!(!debug.contains(&cookie_key));
}

#[test]
fn line_numbers_count_from_one() {
    let e = parse("oops = 1\n", &env(&[])).err().map(|e| e.problems);
    let first = e.and_then(|p| p.into_iter().next()).unwrap_or_default();
    assert!(first.starts_with("line 1: unknown field `oops`"), "{first}");
    let e = parse("\n\n\n[server]\nnope = 1\n", &env(&[])).err();
    let first = e.map(|e| e.problems[0].clone()).unwrap_or_default();
    assert!(first.starts_with("line 5: unknown field `nope`"), "{first}");
}
