use super::*;
use crate::identity::Groups;

fn config(extra_oidc: &str) -> Config {
    let text = format!(
        r#"
[server]
public_url = "https://studio.example.com"
[oidc]
issuer = "https://idp.example.com"
client_id = "broker"
client_secret_env = "S"
{extra_oidc}
[session]
cookie_key_env = "K"
ttl_seconds = 3600
[[domains]]
alias = "ml"
id = "d-abc123"
region = "us-east-1"
account_id = "111122223333"
"#
    );
    struct Env;
    impl crate::config::Env for Env {
        fn var(&self, name: &str) -> Option<String> {
            match name {
                "S" => Some("secret".into()),
                "K" => Some(base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    [7u8; 64],
                )),
                _ => None,
            }
        }
    }
    Config::parse(std::path::Path::new("/x/broker.toml"), &text, &Env).unwrap()
}

fn metadata() -> Metadata {
    serde_json::from_value(serde_json::json!({
        "issuer": "https://idp.example.com",
        "authorization_endpoint": "https://idp.example.com/auth",
        "token_endpoint": "https://idp.example.com/token",
        "jwks_uri": "https://idp.example.com/jwks",
        "authorization_response_iss_parameter_supported": true,
    }))
    .unwrap()
}

fn cookie_pairs(set_cookies: &[String]) -> Vec<(String, String)> {
    set_cookies
        .iter()
        .map(|c| {
            let c = Cookie::parse(c.clone()).unwrap();
            (c.name().to_owned(), c.value().to_owned())
        })
        .collect()
}

#[test]
fn the_authorization_request_carries_pkce_state_nonce_and_scopes() {
    let sign_in = SignIn::new(&config("")).unwrap();
    let started = sign_in
        .start(&metadata(), "/go/ml", Some("alice"), &[])
        .unwrap();
    let query: std::collections::HashMap<_, _> =
        started.location.query_pairs().into_owned().collect();
    assert_eq!(started.location.path(), "/auth");
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], "broker");
    assert_eq!(
        query["redirect_uri"],
        "https://studio.example.com/oauth2/callback"
    );
    assert_eq!(query["scope"], "openid email profile");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["login_hint"], "alice");
    assert!(query["state"].len() >= 16 && query["nonce"].len() >= 16);
    assert_eq!(started.cookies.len(), 1);
    let cookie = Cookie::parse(started.cookies[0].clone()).unwrap();
    assert!(cookie.name().starts_with("sb_login_"));
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.same_site(), Some(SameSite::Lax));
    assert_eq!(cookie.path(), Some("/oauth2"));
    assert_eq!(cookie.name(), login_name(&query["state"]));
    assert!(!cookie.value().contains(&*query["state"]));
}

#[test]
fn pending_logins_are_capped() {
    let sign_in = SignIn::new(&config("")).unwrap();
    let mut jar: Vec<(String, String)> = Vec::new();
    for _ in 0..10 {
        let started = sign_in.start(&metadata(), "/", None, &jar).unwrap();
        for (name, value) in cookie_pairs(&started.cookies) {
            jar.retain(|(n, _)| *n != name);
            if !value.is_empty() {
                jar.push((name, value));
            }
        }
        assert!(jar.len() <= MAX_LOGINS, "{}", jar.len());
    }
    assert_eq!(jar.len(), MAX_LOGINS);
}

#[test]
fn sessions_round_trip_and_refuse_tampering_other_issuers_and_expiry() {
    let sign_in = SignIn::new(&config(r#"allowed_groups = ["ml-users"]"#)).unwrap();
    let caller = crate::identity::Caller {
        issuer: "https://idp.example.com".into(),
        identity: "alice".into(),
        email_verified: true,
        groups: Groups::Listed(
            (0..500)
                .map(|i| format!("group-{i}"))
                .chain(["ml-users".into()])
                .collect(),
        ),
    };
    let session = sign_in.session.start(caller, now() as i64);
    let cookie = sign_in.session_cookie(&session);
    assert!(cookie.len() < 4096, "{}", cookie.len());
    let jar = cookie_pairs(&[cookie]);
    match sign_in.session(&jar, "https://idp.example.com") {
        SessionState::Valid {
            session: s,
            reissue,
        } => {
            assert_eq!(s.identity(), "alice");
            assert_eq!(s.caller().groups, Groups::Listed(vec!["ml-users".into()]));
            assert!(reissue.is_none());
        }
        _ => panic!("session must open"),
    }
    assert!(matches!(
        sign_in.session(&jar, "https://other.example.com"),
        SessionState::Invalid { .. }
    ));
    let mut tampered = jar.clone();
    let flipped = if &tampered[0].1[3..4] == "A" {
        "B"
    } else {
        "A"
    };
    tampered[0].1.replace_range(3..4, flipped);
    assert!(matches!(
        sign_in.session(&tampered, "https://idp.example.com"),
        SessionState::Invalid { .. }
    ));
    let old = sign_in
        .session
        .start(session.caller(), (now() - 7200) as i64);
    let expired = cookie_pairs(&[sign_in.session_cookie(&old)]);
    assert!(matches!(
        sign_in.session(&expired, "https://idp.example.com"),
        SessionState::Invalid { .. }
    ));
    assert!(matches!(
        sign_in.session(&[], "https://idp.example.com"),
        SessionState::None
    ));
}

#[test]
fn the_response_issuer_is_checked_per_rfc_9207() {
    let mut meta = metadata();
    let issuer = "https://idp.example.com";
    assert!(check_issuer(&meta, Some(issuer), issuer).is_ok());
    assert!(matches!(
        check_issuer(&meta, Some("https://idp.example.comx"), issuer),
        Err(Refusal::IssuerMismatch)
    ));
    assert!(matches!(
        check_issuer(&meta, None, issuer),
        Err(Refusal::IssuerMissing)
    ));
    meta.authorization_response_iss_parameter_supported = false;
    assert!(check_issuer(&meta, None, issuer).is_ok());
}

#[test]
fn provider_error_codes_are_not_echoed_verbatim() {
    assert_eq!(error_code("access_denied"), "access_denied");
    assert_eq!(error_code("<script>"), "invalid_error");
}

#[test]
fn an_expired_or_foreign_login_is_not_found() {
    let sign_in = SignIn::new(&config("")).unwrap();
    let expired = Pending {
        state: "s".repeat(43),
        nonce: "n".into(),
        verifier: "v".into(),
        return_to: "/".into(),
        expires: now() - 1,
    };
    let jar = cookie_pairs(&[sign_in.login_cookie(&expired)]);
    let callback = Callback {
        code: Some("c".into()),
        state: Some(expired.state.clone()),
        ..Callback::default()
    };
    let Err((refusal, clear)) = sign_in.pending(&callback, &jar) else {
        panic!("an expired login must not be found");
    };
    assert!(matches!(refusal, Refusal::NoLogin));
    assert_eq!(clear.len(), 1, "the stale cookie is cleared");

    let live = Pending {
        expires: now() + 60,
        ..expired
    };
    let other = SignIn::new(&config("")).unwrap();
    let mut foreign = cookie_pairs(&[other.login_cookie(&live)]);
    foreign[0].1.push('x');
    assert!(matches!(
        sign_in.pending(&callback, &foreign),
        Err((Refusal::NoLogin, _))
    ));
    let good = cookie_pairs(&[sign_in.login_cookie(&live)]);
    assert!(sign_in.pending(&callback, &good).is_ok());
}

#[test]
fn debug_output_never_shows_a_code_or_a_token() {
    let callback = Callback {
        code: Some("the-code-value".into()),
        state: Some("the-state-value".into()),
        iss: Some("https://idp.example.com".into()),
        error: None,
    };
    let shown = format!("{callback:?}");
    assert!(
        !shown.contains("the-code-value") && !shown.contains("the-state-value"),
        "{shown}"
    );
    assert!(
        shown.contains("[present]") && shown.contains("https://idp.example.com"),
        "{shown}"
    );
    let field = token::IdTokenField {
        id_token: Some("eyJ.secret.token".into()),
    };
    let shown = format!("{field:?}");
    assert!(
        !shown.contains("eyJ") && shown.contains("[redacted]"),
        "{shown}"
    );
}
