//! Browser sign-in at the HTTP level, against the real provider: the
//! authorization-code flow, the session cookie, and every way a callback
//! can be wrong.

use crate::support::broker::{self, Broker, COOKIE_KEY};
use crate::support::jar::{Jar, location};
use crate::support::stack::{Stack, USERS};
use std::collections::HashMap;
use url::Url;

fn query(url: &str) -> HashMap<String, String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// Opens `path` without a session: 302 to the provider with a login
/// cookie; returns the authorization URL.
async fn start(stack: &Stack, jar: &mut Jar, path: &str) -> String {
    let response = jar.get_url(&format!("{}{path}", stack.broker.url)).await;
    assert_eq!(response.status(), 302, "{path}");
    let to = location(&response);
    assert!(
        to.starts_with(&format!("{}/auth?", stack.provider.issuer)),
        "{to}"
    );
    to
}

/// A whole sign-in as `login` from `path`; returns where the callback
/// sends the browser.
async fn sign_in(stack: &Stack, jar: &mut Jar, path: &str, login: &str) -> String {
    let authorize = start(stack, jar, path).await;
    let callback = stack.provider.authorize(&authorize, login).await;
    let response = jar.get_url(&callback).await;
    assert_eq!(response.status(), 302, "{}", stack.broker.logs());
    location(&response)
}

#[tokio::test]
async fn a_bookmark_signs_in_once_and_then_goes_straight_to_studio() {
    let stack = Stack::start(|_| {}).await;
    let mut jar = Jar::default();

    let authorize = start(&stack, &mut jar, "/go/ml").await;
    let q = query(&authorize);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "broker");
    assert_eq!(
        q["redirect_uri"],
        format!("{}/oauth2/callback", stack.broker.url)
    );
    assert_eq!(q["scope"], "openid email profile");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["state"].len() >= 16 && q["nonce"].len() >= 16);
    let logins: Vec<String> = jar
        .names()
        .into_iter()
        .filter(|n| n.starts_with("sb_login_"))
        .collect();
    assert_eq!(logins.len(), 1);

    let callback = stack.provider.authorize(&authorize, "carol").await;
    assert_eq!(query(&callback)["iss"], stack.provider.issuer);
    let response = jar.get_url(&callback).await;
    assert_eq!(response.status(), 302);
    assert_eq!(location(&response), "/go/ml");
    let set_cookies: Vec<&str> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let session = set_cookies
        .iter()
        .find(|c| c.starts_with("sb_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
            && session.contains("Path=/"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "http public_url: no Secure");
    assert!(
        jar.names().iter().all(|n| !n.starts_with("sb_login_")),
        "login cookie cleared"
    );

    let page = jar.get_url(&format!("{}/go/ml", stack.broker.url)).await;
    assert_eq!(page.status(), 200, "carol has two targets in ml: a chooser");
    let studio = jar
        .get_url(&format!("{}/go/research", stack.broker.url))
        .await;
    assert_eq!(studio.status(), 302);
    assert!(location(&studio).starts_with(&format!("{}/studio/auth?token=", stack.emulator.url)));
    let event = stack.broker.next_audit().await;
    assert_eq!(
        (event["identity"].as_str(), event["outcome"].as_str()),
        (Some("carol"), Some("granted"))
    );

    let signed_out = jar
        .post_url(&format!("{}/oauth2/sign_out", stack.broker.url))
        .await;
    assert_eq!(signed_out.status(), 303);
    let to = location(&signed_out);
    assert!(
        to.starts_with(&format!("{}/session/end?", stack.provider.issuer)),
        "{to}"
    );
    assert_eq!(
        query(&to)["post_logout_redirect_uri"],
        format!("{}/oauth2/signed_out", stack.broker.url)
    );
    assert!(jar.get("sb_session").is_none());
    let page = jar
        .get_url(&format!("{}/oauth2/signed_out", stack.broker.url))
        .await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("You are signed out"));
    assert_eq!(
        jar.get_url(&format!("{}/", stack.broker.url))
            .await
            .status(),
        302
    );
}

#[tokio::test]
async fn callbacks_that_do_not_match_a_pending_login_are_refused_before_redeeming() {
    let stack = Stack::start(|_| {}).await;
    let mut jar = Jar::default();
    let authorize = start(&stack, &mut jar, "/").await;
    let callback = stack.provider.authorize(&authorize, "alice").await;
    let mut url = Url::parse(&callback).unwrap();
    let good: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let with = |key: &str, value: Option<&str>| {
        let mut u = url.clone();
        let pairs: Vec<(String, String)> = good
            .iter()
            .filter(|(k, _)| k != key)
            .cloned()
            .chain(value.map(|v| (key.to_owned(), v.to_owned())))
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
        u.to_string()
    };
    let cases = [
        (
            "state altered",
            with("state", Some("x".repeat(43).as_str())),
            400,
        ),
        (
            "iss altered",
            with("iss", Some(&format!("{}x", stack.provider.issuer))),
            400,
        ),
        ("iss missing", with("iss", None), 400),
        ("provider error", with("error", Some("access_denied")), 400),
    ];
    for (name, bad, status) in cases {
        let mut copy = jar.clone();
        let response = copy.get_url(&bad).await;
        assert_eq!(response.status(), status, "{name}");
        let page = response.text().await.unwrap();
        assert!(page.contains("Request id:"), "{name}: {page}");
        if name == "provider error" {
            assert!(
                page.contains("did not sign you in (access_denied)") && page.contains("Try again"),
                "{page}"
            );
        }
    }
    // No login cookie at all.
    let response = broker::client().get(&callback).send().await.unwrap();
    assert_eq!(response.status(), 400);
    // None of the above redeemed the code: it still works once.
    let response = jar.get_url(&callback).await;
    assert_eq!(response.status(), 302, "{}", stack.broker.logs());
    // A replay, even with the login cookie put back, opens nothing.
    let mut replay = Jar::default();
    let response = replay.get_url(&callback).await;
    assert_eq!(response.status(), 400);
    url.set_query(Some("code=x&state=y"));
    assert_eq!(
        broker::client()
            .get(url.as_str())
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
}

#[tokio::test]
async fn parallel_logins_in_two_tabs_both_finish() {
    let stack = Stack::start(|_| {}).await;
    let mut jar = Jar::default();
    let first = start(&stack, &mut jar, "/go/ml").await;
    let second = start(&stack, &mut jar, "/go/research").await;
    let back_first = stack.provider.authorize(&first, "carol").await;
    let back_second = stack.provider.authorize(&second, "carol").await;
    let response = jar.get_url(&back_second).await;
    assert_eq!(location(&response), "/go/research");
    let response = jar.get_url(&back_first).await;
    assert_eq!(location(&response), "/go/ml");
}

#[tokio::test]
async fn return_paths_never_leave_the_broker() {
    let stack = Stack::start(|_| {}).await;
    let shapes = [
        ("/go/ml", "/go/ml"),
        ("https://evil.example.com/", "/"),
        ("//evil.example.com", "/"),
        ("/\\evil.example.com", "/"),
        ("/%09/evil.example.com", "/"),
        ("/%2F%2Fevil.example.com", "/"),
        ("/go/ml@evil.example.com", "/"),
    ];
    for (rd, expected) in shapes {
        let mut jar = Jar::default();
        let mut start_url = Url::parse(&format!("{}/oauth2/start", stack.broker.url)).unwrap();
        start_url.query_pairs_mut().append_pair("rd", rd);
        let response = jar.get_url(start_url.as_str()).await;
        assert_eq!(response.status(), 302);
        let callback = stack
            .provider
            .authorize(&location(&response), "alice")
            .await;
        let back = jar.get_url(&callback).await;
        assert_eq!(location(&back), expected, "rd = {rd}");
    }
}

#[tokio::test]
async fn portal_initiated_login_checks_iss_and_target() {
    let stack = Stack::start(|_| {}).await;
    let client = broker::client();
    let url = format!("{}/oauth2/login", stack.broker.url);
    let response = client
        .get(&url)
        .query(&[("iss", "https://evil.example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let target = format!("{}/go/research", stack.broker.url);
    let response = client
        .get(&url)
        .query(&[
            ("iss", stack.provider.issuer.as_str()),
            ("target_link_uri", &target),
            ("login_hint", "carol"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let to = location(&response);
    assert_eq!(query(&to)["login_hint"], "carol");
    let mut jar = Jar::default();
    jar.update(&response);
    let back = jar
        .get_url(&stack.provider.authorize(&to, "carol").await)
        .await;
    assert_eq!(location(&back), "/go/research");

    let response = client
        .post(&url)
        .form(&[
            ("iss", stack.provider.issuer.as_str()),
            ("target_link_uri", "https://evil.example.com/go/ml"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let mut jar = Jar::default();
    jar.update(&response);
    let back = jar
        .get_url(
            &stack
                .provider
                .authorize(&location(&response), "alice")
                .await,
        )
        .await;
    assert_eq!(location(&back), "/");
}

#[tokio::test]
async fn tampered_sessions_are_ignored_and_removed_rows_take_effect_at_once() {
    let stack = Stack::start(|_| {}).await;
    let mut jar = Jar::default();
    sign_in(&stack, &mut jar, "/", "alice").await;
    let good = jar.get("sb_session").unwrap().clone();
    let mut bad = good.clone().into_bytes();
    bad[8] = if bad[8] == b'A' { b'B' } else { b'A' };
    jar.set("sb_session", &String::from_utf8(bad).unwrap());
    let response = jar.get_url(&format!("{}/", stack.broker.url)).await;
    assert_eq!(response.status(), 302);
    assert!(
        location(&response).starts_with(&stack.provider.issuer),
        "sent to sign in"
    );
    assert!(jar.get("sb_session").is_none(), "the bad cookie is cleared");

    jar.set("sb_session", &good);
    let response = jar.get_url(&format!("{}/", stack.broker.url)).await;
    assert!(location(&response).starts_with(&stack.emulator.url));
    let path = stack.broker.users_path();
    std::fs::write(
        &path,
        USERS.replacen("identity = \"alice\"", "identity = \"alice-left\"", 1),
    )
    .unwrap();
    stack.broker.signal("HUP");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let response = jar.get_url(&format!("{}/", stack.broker.url)).await;
        if response.status() == 403 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "row removal never took effect"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_second_replica_with_the_same_keys_finishes_logins_and_reads_old_keys() {
    let stack = Stack::start(|_| {}).await;
    let mut jar = Jar::default();
    let authorize = start(&stack, &mut jar, "/go/research").await;
    let callback = stack.provider.authorize(&authorize, "carol").await;

    // A second replica: same config (same public_url), a new current key,
    // the first replica's key as a previous key.
    let new_key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [9u8; 64]);
    let config = std::fs::read_to_string(stack.broker.dir.path().join("broker.toml")).unwrap();
    let port = broker::free_port();
    let config = config
        .replacen(
            &format!("listen = \"127.0.0.1:{}\"", stack.broker.port),
            &format!("listen = \"127.0.0.1:{port}\""),
            1,
        )
        .replace(
            "cookie_key_env = \"TEST_COOKIE_KEY\"",
            "cookie_key_env = \"NEW_KEY\"\nprevious_keys_env = \"TEST_COOKIE_KEY\"",
        );
    let mut env = broker::base_env();
    env.push(("NEW_KEY".into(), new_key));
    let second = Broker::start_with(
        broker::Options {
            config,
            users: USERS.into(),
            users_name: "users.toml",
            env,
            wait_ready: true,
        },
        port,
    )
    .await;
    let on_second = callback.replace(&stack.broker.url, &second.url);
    let response = jar.get_url(&on_second).await;
    assert_eq!(response.status(), 302, "{}", second.logs());
    assert_eq!(location(&response), "/go/research");
    let reissued = jar.get("sb_session").unwrap().clone();

    // The first replica cannot read a session sealed with the new key...
    let response = jar
        .get_url(&format!("{}/go/research", stack.broker.url))
        .await;
    assert!(location(&response).starts_with(&stack.provider.issuer));

    // ...but a session sealed under the old key is read by the second and
    // re-sealed under the new one.
    let mut old = Jar::default();
    sign_in(&stack, &mut old, "/", "alice").await;
    let old_value = old.get("sb_session").unwrap().clone();
    let response = old.get_url(&format!("{}/", second.url)).await;
    assert_eq!(response.status(), 302);
    assert!(location(&response).starts_with(&stack.emulator.url));
    assert_ne!(
        old.get("sb_session").unwrap(),
        &old_value,
        "re-issued under the new key"
    );
    assert_ne!(&reissued, &old_value);
    let _ = COOKIE_KEY;
}
