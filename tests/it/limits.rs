//! Per-replica limits, trusted proxies and browser origins.

use crate::support::broker;
use crate::support::stack::Stack;

#[tokio::test]
async fn anonymous_requests_are_limited_per_address() {
    let stack = Stack::start(|c| c.limits = "unauthenticated_per_minute = 3".into()).await;
    let url = format!("{}/api/v1/targets", stack.broker.url);
    let client = broker::client();
    for _ in 0..3 {
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 401);
    }
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");

    // Bad tokens count against the same budget; good ones do not.
    let bad = client.get(&url).bearer_auth("a.b.c").send().await.unwrap();
    assert_eq!(bad.status(), 429);
    let alice = stack.token("alice").await;
    let good = client.get(&url).bearer_auth(&alice).send().await.unwrap();
    assert_eq!(good.status(), 200);
}

#[tokio::test]
async fn mints_are_limited_per_identity() {
    let stack = Stack::start(|c| c.limits = "mints_per_minute = 2".into()).await;
    let alice = stack.token("alice").await;
    assert_eq!(stack.presign(&alice, None).await.status(), 200);
    assert_eq!(stack.presign(&alice, None).await.status(), 200);
    let limited = stack.presign(&alice, None).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    let bob = stack.token("bob").await;
    assert_eq!(
        stack.presign(&bob, None).await.status(),
        200,
        "bob has his own budget"
    );
    let reasons: Vec<String> = [
        stack.broker.next_audit().await,
        stack.broker.next_audit().await,
        stack.broker.next_audit().await,
        stack.broker.next_audit().await,
    ]
    .iter()
    .map(|e| e["reason"].as_str().unwrap().to_owned())
    .collect();
    assert_eq!(reasons, ["granted", "granted", "rate_limited", "granted"]);
    assert_eq!(stack.emulator.calls().await.len(), 3);
}

/// Alice's presign as a proxy would pass it on: `X-Forwarded-For` and
/// `X-Request-Id` as given.
async fn presign_forwarded(
    stack: &Stack,
    forwarded_for: &str,
    request_id: &str,
) -> reqwest::Response {
    let alice = stack.token("alice").await;
    broker::client()
        .post(format!("{}/api/v1/presigned-url", stack.broker.url))
        .bearer_auth(&alice)
        .header("x-forwarded-for", forwarded_for)
        .header("x-request-id", request_id)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn forwarded_headers_count_only_from_trusted_proxies() {
    let stack = Stack::start(|c| c.server = "trusted_proxies = [\"127.0.0.2/32\"]".into()).await;
    let response = presign_forwarded(&stack, "203.0.113.7", "from-the-client").await;
    assert_eq!(response.status(), 200);
    assert_ne!(response.headers()["x-request-id"], "from-the-client");
    let event = stack.broker.next_audit().await;
    assert_eq!(event["client_addr"], "127.0.0.1");
    assert_ne!(event["request_id"], "from-the-client");

    let trusting = Stack::start(|c| c.server = "trusted_proxies = [\"127.0.0.0/8\"]".into()).await;
    let response = presign_forwarded(&trusting, "198.51.100.1, 203.0.113.7", "lb-1234").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "lb-1234");
    let event = trusting.broker.next_audit().await;
    assert_eq!(event["client_addr"], "203.0.113.7");
    assert_eq!(event["request_id"], "lb-1234");
}

#[tokio::test]
async fn only_named_origins_may_call_the_api_from_a_browser() {
    let stack =
        Stack::start(|c| c.server = "cors_origins = [\"https://portal.example.com\"]".into()).await;
    let url = format!("{}/api/v1/presigned-url", stack.broker.url);
    let preflight = |origin: &'static str| {
        broker::client()
            .request(reqwest::Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let allowed = preflight("https://portal.example.com").await.unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://portal.example.com"
    );
    assert!(
        !allowed
            .headers()
            .contains_key("access-control-allow-credentials")
    );
    let refused = preflight("https://evil.example.com").await.unwrap();
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin")
    );

    let plain = Stack::start(|_| {}).await;
    let response = broker::client()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/v1/presigned-url", plain.broker.url),
        )
        .header("origin", "https://portal.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
}
