//! No token, presigned URL or secret reaches a log line, an error body or
//! the metrics, whatever happens.

use crate::support::broker::{self, CLIENT_SECRET, COOKIE_KEY};
use crate::support::emulator::SECRET_ACCESS_KEY;
use crate::support::jar::{Jar, location};
use crate::support::stack::Stack;
use serde_json::json;

#[tokio::test]
async fn logs_bodies_and_metrics_hold_no_secret() {
    let stack = Stack::start(|_| {}).await;
    let mut secrets: Vec<String> = vec![
        CLIENT_SECRET.into(),
        COOKIE_KEY.into(),
        SECRET_ACCESS_KEY.into(),
    ];
    let mut bodies = Vec::new();

    let alice = stack.token("alice").await;
    secrets.push(alice.clone());
    let granted = stack
        .presign(&alice, None)
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let url = granted["url"].as_str().unwrap().to_owned();
    let redirect = stack.get("/", Some(&alice)).await;
    let redirected = location(&redirect);
    secrets.push(url.clone());
    secrets.push(redirected.clone());
    // The emulator's one-time token inside the URL, on its own.
    secrets.push(url.split("token=").nth(1).unwrap().to_owned());

    for login in ["dave", "erin", "frank", "carol"] {
        let token = stack.token(login).await;
        secrets.push(token.clone());
        bodies.push(stack.presign(&token, None).await.text().await.unwrap());
        bodies.push(stack.get("/", Some(&token)).await.text().await.unwrap());
    }
    let tampered = format!("{}x", alice);
    bodies.push(stack.presign(&tampered, None).await.text().await.unwrap());
    stack.emulator.faults(50, 0, 0).await;
    bodies.push(
        stack
            .presign(&alice, Some(json!({"domain": "ml"})))
            .await
            .text()
            .await
            .unwrap(),
    );
    stack.emulator.reset_faults().await;
    stack.emulator.faults(0, 50, 0).await;
    bodies.push(
        stack
            .presign(&alice, Some(json!({"domain": "ml"})))
            .await
            .text()
            .await
            .unwrap(),
    );

    // A browser sign-in: the code, the login and session cookies, and a
    // sign-out.
    stack.emulator.reset_faults().await;
    let mut jar = Jar::default();
    let start = jar.get_url(&format!("{}/go/ml", stack.broker.url)).await;
    for name in jar.names() {
        secrets.push(jar.get(&name).unwrap().clone());
    }
    assert_eq!(start.status(), 302);
    let callback = stack.provider.authorize(&location(&start), "alice").await;
    let code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    secrets.push(code);
    let back = jar.get_url(&callback).await;
    assert_eq!(back.status(), 302);
    secrets.push(jar.get("sb_session").unwrap().clone());
    let studio = jar.get_url(&format!("{}/go/ml", stack.broker.url)).await;
    assert_eq!(studio.status(), 302, "{}", stack.broker.logs());
    secrets.push(location(&studio));
    bodies.push(jar.get_url(&callback).await.text().await.unwrap());
    jar.post_url(&format!("{}/oauth2/sign_out", stack.broker.url))
        .await;

    let metrics = broker::client()
        .get(format!("{}/metrics", stack.broker.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("studio_broker_requests_total"),
        "{metrics}"
    );

    let logs = stack.broker.logs();
    assert!(logs.lines().count() > 10, "{logs}");
    assert!(
        logs.contains("\"level\":\"TRACE\"") || logs.contains("\"level\":\"DEBUG\""),
        "broker logs at trace"
    );
    for secret in &secrets {
        let short = &secret[..secret.len().min(24)];
        assert!(
            !logs.contains(secret.as_str()),
            "a secret starting {short} is in the logs"
        );
        assert!(
            !metrics.contains(secret.as_str()),
            "a secret starting {short} is in the metrics"
        );
        for body in &bodies {
            assert!(
                !body.contains(secret.as_str()),
                "a secret starting {short} is in a body"
            );
        }
    }
    // Signatures of the tokens must not appear either.
    for token in secrets.iter().filter(|s| s.matches('.').count() == 2) {
        let signature = token.rsplit('.').next().unwrap();
        assert!(!logs.contains(signature));
    }
}
