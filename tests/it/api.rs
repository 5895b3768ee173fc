//! The main job over the bearer API and the bookmark routes.

use crate::support::broker;
use crate::support::stack::Stack;
use serde_json::{Value, json};

fn assert_common_headers(response: &reqwest::Response) {
    let h = response.headers();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let id = h["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "{id}");
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("json body")
}

#[tokio::test]
async fn alice_gets_a_url_for_her_own_profile_and_it_opens_her_studio() {
    let stack = Stack::start(|_| {}).await;
    let token = stack.token("alice").await;

    let response = stack.presign(&token, None).await;
    assert_eq!(response.status(), 200);
    assert_common_headers(&response);
    let body = json_of(response).await;
    let url = body["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("{}/studio/auth?token=", stack.emulator.url)),
        "{url}"
    );
    assert_eq!(body["domain"], "ml");
    assert_eq!(body["profile"], "alice");
    assert_eq!(body["space"], Value::Null);
    let expires = body["expires_at"].as_str().unwrap();
    let expires = humantime::parse_rfc3339(expires).unwrap();
    let lifetime = expires
        .duration_since(std::time::SystemTime::now())
        .unwrap();
    assert!(
        lifetime.as_secs() <= 30 && lifetime.as_secs() >= 25,
        "{lifetime:?}"
    );
    assert_eq!(body.as_object().unwrap().len(), 5, "{body}");

    let calls = stack.emulator.calls().await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["domain_id"], "d-mlstudio0001");
    assert_eq!(calls[0]["user_profile_name"], "alice");
    assert_eq!(calls[0]["expires_in_seconds"], 30);
    assert_eq!(calls[0]["session_expiration_duration_in_seconds"], 43200);
    assert_eq!(calls[0]["space_name"], Value::Null);

    let studio = broker::client().get(&url).send().await.unwrap();
    assert_eq!(studio.status(), 200);
    let page = studio.text().await.unwrap();
    assert!(page.contains("<title>Studio - alice</title>"), "{page}");

    let event = stack.broker.next_audit().await;
    assert_eq!(event["identity"], "alice");
    assert_eq!(event["issuer"], stack.provider.issuer);
    assert_eq!(event["domain"], "ml");
    assert_eq!(event["profile"], "alice");
    assert_eq!(event["space"], "");
    assert_eq!(event["outcome"], "granted");
    assert_eq!(event["reason"], "granted");
    assert_eq!(event["client_addr"], "127.0.0.1");
    assert_eq!(event["user_agent"], "");
    assert_eq!(event["request_id"].as_str().unwrap().len(), 36);
    stack.broker.no_more_audit().await;
}

#[tokio::test]
async fn a_bookmark_with_a_bearer_token_redirects_straight_to_studio() {
    let stack = Stack::start(|_| {}).await;
    let token = stack.token("alice").await;

    let response = stack.get("/", Some(&token)).await;
    assert_eq!(response.status(), 302);
    assert_common_headers(&response);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{}/studio/auth?token=", stack.emulator.url)));
    let page = broker::client()
        .get(&location)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<title>Studio - alice</title>"), "{page}");

    let response = stack.get("/go/ml", Some(&token)).await;
    assert_eq!(response.status(), 302);
}

#[tokio::test]
async fn nobody_reaches_what_the_table_does_not_grant() {
    let stack = Stack::start(|_| {}).await;
    let alice = stack.token("alice").await;

    let cases = [
        (
            json!({"domain": "ml", "space": "team"}),
            403,
            "not_granted",
            "space_not_granted",
        ),
        (
            json!({"domain": "research"}),
            403,
            "not_granted",
            "domain_not_granted",
        ),
        (
            json!({"domain": "nope"}),
            404,
            "unknown_domain",
            "unknown_domain",
        ),
    ];
    for (body, status, code, reason) in cases {
        let response = stack.presign(&alice, Some(body.clone())).await;
        assert_eq!(response.status(), status, "{body}");
        assert_common_headers(&response);
        let answer = json_of(response).await;
        assert_eq!(answer["error"], code, "{body}");
        assert!(answer["message"].as_str().unwrap().len() > 10);
        let event = stack.broker.next_audit().await;
        assert_eq!(event["outcome"], "denied");
        assert_eq!(event["reason"], reason);
    }
    let response = stack.get("/go/ml/team", Some(&alice)).await;
    assert_eq!(response.status(), 403);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("This space is not assigned to you.")
    );
    assert_eq!(
        stack.broker.next_audit().await["reason"],
        "space_not_granted"
    );

    let dave = stack.token("dave").await;
    let response = stack.presign(&dave, None).await;
    assert_eq!(response.status(), 403);
    let answer = json_of(response).await;
    assert_eq!(
        answer,
        json!({"error": "not_granted",
        "message": "No SageMaker Studio profile is assigned to you."})
    );
    assert_eq!(stack.broker.next_audit().await["reason"], "not_in_table");
    let page = stack.get("/", Some(&dave)).await;
    assert_eq!(page.status(), 403);
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Signed in as") || html.contains("signed in as"),
        "{html}"
    );
    assert!(html.contains("<strong>dave</strong>"), "{html}");

    assert!(
        stack.emulator.calls().await.is_empty(),
        "SageMaker must not be called"
    );
    assert_eq!(stack.broker.next_audit().await["reason"], "not_in_table");
    stack.broker.no_more_audit().await;
}

#[tokio::test]
async fn several_targets_need_a_choice() {
    let stack = Stack::start(|_| {}).await;
    let carol = stack.token("carol").await;

    let response = stack.presign(&carol, None).await;
    assert_eq!(response.status(), 409);
    assert_eq!(
        json_of(response).await,
        json!({
            "error": "ambiguous_target",
            "message": "Several targets are granted; name a domain (and space).",
            "targets": [
                {"domain": "ml", "space": null, "profile": "carol"},
                {"domain": "ml", "space": "team", "profile": "carol"},
                {"domain": "research", "space": null, "profile": "carol-r"},
            ]
        })
    );

    let response = stack
        .presign(&carol, Some(json!({"domain": "ml", "space": "team"})))
        .await;
    assert_eq!(response.status(), 200);
    let body = json_of(response).await;
    assert_eq!(
        (body["profile"].as_str(), body["space"].as_str()),
        (Some("carol"), Some("team"))
    );
    let calls = stack.emulator.calls().await;
    assert_eq!(calls.last().unwrap()["space_name"], "team");

    let chooser = stack.get("/", Some(&carol)).await;
    assert_eq!(chooser.status(), 200);
    let html = chooser.text().await.unwrap();
    for link in [
        "href=\"/go/ml\"",
        "href=\"/go/ml/team\"",
        "href=\"/go/research\"",
    ] {
        assert!(html.contains(link), "{link} in {html}");
    }
    let domain_chooser = stack.get("/go/ml", Some(&carol)).await;
    assert_eq!(domain_chooser.status(), 200);
    let html = domain_chooser.text().await.unwrap();
    assert!(html.contains("href=\"/go/ml/team\"") && !html.contains("/go/research"));
    assert_eq!(stack.get("/go/research", Some(&carol)).await.status(), 302);

    let targets = stack.get("/api/v1/targets", Some(&carol)).await;
    assert_eq!(targets.status(), 200);
    assert_eq!(
        json_of(targets).await["targets"].as_array().unwrap().len(),
        3
    );
}

#[tokio::test]
async fn sagemaker_failures_get_the_contract_answers() {
    // Four seconds hold the SDK's three attempts with their jittered
    // backoff (at most 1 s, then 2 s), so throttling and server errors are
    // answered as such and never as a timeout.
    let stack = Stack::start(|c| c.studio = "timeout_seconds = 4".into()).await;

    let erin = stack.token("erin").await;
    let response = stack.presign(&erin, None).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        json_of(response).await,
        json!({"error": "not_granted",
        "message": "Your SageMaker Studio user profile does not exist; ask an administrator to create it."})
    );
    assert_eq!(stack.broker.next_audit().await["reason"], "profile_missing");

    let frank = stack.token("frank").await;
    let response = stack.presign(&frank, None).await;
    assert_eq!(response.status(), 403);
    let message = json_of(response).await["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.starts_with("This SageMaker Studio space does not exist"),
        "{message}"
    );
    let event = stack.broker.next_audit().await;
    assert_eq!(
        (event["reason"].as_str(), event["space"].as_str()),
        (Some("profile_missing"), Some("ghost"))
    );

    let alice = stack.token("alice").await;
    stack.emulator.faults(50, 0, 0).await;
    let response = stack.presign(&alice, None).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    assert_eq!(json_of(response).await["error"], "upstream_throttled");
    assert_eq!(
        stack.broker.next_audit().await["reason"],
        "upstream_throttled"
    );

    stack.emulator.reset_faults().await;
    stack.emulator.faults(0, 0, 6000).await;
    let started = std::time::Instant::now();
    let response = stack.presign(&alice, None).await;
    assert_eq!(response.status(), 504);
    let elapsed = started.elapsed().as_secs_f64();
    assert!((4.0..5.5).contains(&elapsed), "{elapsed}");
    assert_eq!(json_of(response).await["error"], "upstream_timeout");
    assert_eq!(
        stack.broker.next_audit().await["reason"],
        "upstream_timeout"
    );

    stack.emulator.reset_faults().await;
    stack.emulator.faults(0, 50, 0).await;
    let response = stack.presign(&alice, None).await;
    assert_eq!(response.status(), 502);
    assert_eq!(json_of(response).await["error"], "upstream_error");
    let event = stack.broker.next_audit().await;
    assert_eq!(
        (event["outcome"].as_str(), event["reason"].as_str()),
        (Some("failed"), Some("upstream_error"))
    );
    stack.broker.no_more_audit().await;
}

#[tokio::test]
async fn bad_requests_get_clear_errors() {
    let stack = Stack::start(|_| {}).await;
    let alice = stack.token("alice").await;
    let url = format!("{}/api/v1/presigned-url", stack.broker.url);
    let client = broker::client();

    let response = client.post(&url).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"studio-broker\""
    );
    assert_eq!(
        json_of(response).await,
        json!({"error": "invalid_token",
        "message": "A bearer token is required."})
    );

    let response = client
        .post(&url)
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(json_of(response).await["error"], "invalid_request");

    let cases: Vec<(Option<&str>, String, u16)> = vec![
        (Some("text/plain"), "{}".into(), 415),
        (Some("application/json"), "{".into(), 400),
        (
            Some("application/json"),
            r#"{"domain": "ml", "extra": 1}"#.into(),
            400,
        ),
        (Some("application/json"), r#"{"space": "team"}"#.into(), 400),
        (
            Some("application/json"),
            format!(r#"{{"domain": "{}"}}"#, "a".repeat(5000)),
            413,
        ),
        (None, String::new(), 200),
        (
            Some("application/json; charset=utf-8"),
            r#"{"domain": "ml"}"#.into(),
            200,
        ),
    ];
    for (content_type, body, status) in cases {
        let mut request = client.post(&url).bearer_auth(&alice).body(body.clone());
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            status,
            "{content_type:?} {}",
            &body[..body.len().min(40)]
        );
        if status != 200 {
            assert_eq!(json_of(response).await["error"], "invalid_request");
        }
    }

    let response = client
        .get(format!("{}/nowhere", stack.broker.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_common_headers(&response);

    let big = "x".repeat(20_000);
    let response = client
        .get(format!("{}/healthz", stack.broker.url))
        .header("x-filler", big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 431);
}

#[tokio::test]
async fn tokens_that_break_a_rule_are_refused_before_sagemaker() {
    let stack = Stack::start(|_| {}).await;
    let alice = stack.token("alice").await;
    let portal = stack
        .provider
        .id_token(&crate::support::stack::portal_client(), "alice")
        .await;

    let mut parts: Vec<String> = alice.split('.').map(str::to_owned).collect();
    let tampered_sig = {
        let mut sig = parts[2].clone().into_bytes();
        sig[10] = if sig[10] == b'A' { b'B' } else { b'A' };
        format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            String::from_utf8(sig).unwrap()
        )
    };
    let mut claims = crate::support::provider::claims(&alice);
    claims["sub"] = json!("bob");
    let forged_payload = {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        parts[1] = engine.encode(serde_json::to_vec(&claims).unwrap());
        parts.join(".")
    };
    let none = {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.",
            engine.encode(br#"{"alg":"none","typ":"JWT"}"#),
            parts[1]
        )
    };
    let hmac = {
        let key = jsonwebtoken::EncodingKey::from_secret(broker::CLIENT_SECRET.as_bytes()).unwrap();
        let claims = crate::support::provider::claims(&alice);
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &key,
        )
        .unwrap()
    };

    for (name, token) in [
        ("tampered signature", tampered_sig),
        ("forged payload", forged_payload),
        ("alg none", none),
        ("HS256 with the client secret", hmac),
        ("another client's audience", portal),
        ("garbage", "abc.def.ghi".into()),
    ] {
        let response = stack.presign(&token, None).await;
        assert_eq!(response.status(), 401, "{name}");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"studio-broker\", error=\"invalid_token\"",
            "{name}"
        );
        assert_eq!(
            json_of(response).await,
            json!({"error": "invalid_token",
            "message": "The bearer token is not valid."}),
            "{name}"
        );
        let page = stack.get("/", Some(&token)).await;
        assert_eq!(page.status(), 401, "{name}");
    }
    assert!(stack.emulator.calls().await.is_empty());
    stack.broker.no_more_audit().await;
}
