//! The authorization-code flow around the ID token: `iss` in the
//! authorization response ([RFC 9207]), a token endpoint that refuses the
//! code or is down, UserInfo naming someone else, and client
//! authentication by `client_secret_post`.
//!
//! [RFC 9207]: https://www.rfc-editor.org/rfc/rfc9207

use super::{start, start_with};
use crate::support::broker;
use crate::support::jar::Jar;
use crate::support::rogue::{IssParam, Rogue};
use crate::support::stack::USERS;
use serde_json::json;

const ISS_MISSING: &str = "iss is missing from the authorization response";
const ISS_WRONG: &str = "iss in the authorization response is not the issuer";
const UNAVAILABLE: &str = "Your identity provider is unavailable right now";

#[tokio::test]
async fn an_advertised_iss_must_be_present_and_equal_before_the_code_is_redeemed() {
    let s = start("").await;
    s.rogue.set_iss(IssParam::Omit);
    s.sign_in_refused("iss missing", 400, ISS_MISSING).await;
    let other = format!("{}x", s.rogue.issuer);
    s.rogue.set_iss(IssParam::Value(other));
    s.sign_in_refused("iss wrong", 400, ISS_WRONG).await;
    assert_eq!(s.rogue.token_calls(), 0, "no code was redeemed");

    s.rogue.set_iss(IssParam::Issuer);
    s.sign_in_accepted("iss equal").await;
    assert_eq!(s.rogue.token_calls(), 1);
    assert_eq!(s.rogue.client_auth(), ["client_secret_basic"]);
    assert_eq!(s.sagemaker_calls().await, 1);
}

#[tokio::test]
async fn iss_is_optional_only_when_the_provider_does_not_advertise_it() {
    let prepare = |r: &Rogue| r.set_iss_advertised(false);
    let s = start_with(prepare, |_| {}, USERS).await;
    s.rogue.set_iss(IssParam::Omit);
    s.sign_in_accepted("iss missing, not advertised").await;
    s.rogue
        .set_iss(IssParam::Value("https://other.example.com".into()));
    s.sign_in_refused("iss wrong, not advertised", 400, ISS_WRONG)
        .await;
    assert_eq!(s.rogue.token_calls(), 1);
    assert_eq!(s.sagemaker_calls().await, 1);
}

#[tokio::test]
async fn a_replayed_code_is_refused_by_the_provider_and_by_the_broker() {
    let s = start("").await;
    let mut jar = Jar::default();
    let start = jar.get_url(&format!("{}/oauth2/start", s.broker.url)).await;
    let back = s
        .rogue
        .authorize(&crate::support::jar::location(&start))
        .await;
    // The login cookie as it was before the callback, for the replay.
    let mut replay = jar.clone();
    assert_eq!(jar.get_url(&back).await.status(), 302);

    let response = replay.get_url(&back).await;
    assert_eq!(response.status(), 400);
    assert!(replay.get("sb_session").is_none());
    let page = response.text().await.unwrap();
    assert!(page.contains("Sign-in could not be completed."), "{page}");
    assert_eq!(s.rogue.token_calls(), 2, "the provider saw the replay");
    // The log line arrives through a pipe; wait for it, then make sure it
    // is the only refusal.
    let expected = "redeeming the code failed: \
        the provider refused the code: invalid_grant";
    assert_eq!(s.next_reason(super::SIGN_IN_REFUSED, 0).await, expected);
    assert_eq!(s.reasons(super::SIGN_IN_REFUSED), [expected]);
}

#[tokio::test]
async fn a_token_endpoint_that_fails_gives_a_503_page() {
    let s = start("").await;
    let unavailable = |detail: &str| {
        format!(
            "redeeming the code failed: the provider's token endpoint \
             is unavailable: {detail}"
        )
    };
    s.rogue.set_token_answer(Some((500, "<h1>oops</h1>")));
    let done = s
        .sign_in_refused(
            "500 with a page",
            503,
            &unavailable("the token response does not parse"),
        )
        .await;
    assert!(done.page.contains(UNAVAILABLE), "{}", done.page);

    s.rogue
        .set_token_answer(Some((400, r#"{"error":"invalid_grant"}"#)));
    let reason = "redeeming the code failed: \
        the provider refused the code: invalid_grant";
    s.sign_in_refused("invalid_grant", 400, reason).await;
    assert_eq!(s.sagemaker_calls().await, 0);
}

#[tokio::test]
async fn a_token_endpoint_that_fails_with_an_oauth_error_body_gives_a_503_page() {
    let s = start("").await;
    let answers = [
        (500, r#"{"error":"server_error"}"#),
        (503, r#"{"error":"temporarily_unavailable"}"#),
    ];
    for (status, body) in answers {
        s.rogue.set_token_answer(Some((status, body)));
        let done = s.sign_in().await;
        assert_eq!(done.status, 503, "{status} {body}: {}", done.page);
        assert!(done.page.contains(UNAVAILABLE), "{}", done.page);
        assert!(done.jar.get("sb_session").is_none());
    }
    assert_eq!(s.sagemaker_calls().await, 0);
}

#[tokio::test]
async fn an_unreachable_token_endpoint_gives_a_503_page() {
    let closed = broker::free_port();
    let prepare = move |r: &Rogue| {
        let mut document = r.discovery();
        let endpoint = format!("http://127.0.0.1:{closed}/token");
        document["token_endpoint"] = json!(endpoint);
        r.set_discovery(document);
    };
    let s = start_with(prepare, |_| {}, USERS).await;
    let done = s.sign_in().await;
    assert_eq!(done.status, 503);
    assert!(done.page.contains(UNAVAILABLE), "{}", done.page);
    assert!(done.jar.get("sb_session").is_none());
    let reason = s.next_reason(super::SIGN_IN_REFUSED, 0).await;
    let prefix = "redeeming the code failed: \
        the provider's token endpoint is unavailable";
    assert!(reason.starts_with(prefix), "{reason}");
    assert_eq!(s.rogue.token_calls(), 0);
}

#[tokio::test]
async fn userinfo_must_name_the_same_subject() {
    let s = start("userinfo = true").await;
    s.rogue.set_userinfo_sub("mallory");
    let reason = "UserInfo's sub differs from the ID token's";
    s.sign_in_refused("UserInfo sub differs", 400, reason).await;
    s.rogue.set_userinfo_sub("alice");
    s.sign_in_accepted("UserInfo sub equal").await;
    assert_eq!(s.rogue.userinfo_calls(), 2);
    assert_eq!(s.sagemaker_calls().await, 1);
}

#[tokio::test]
async fn a_provider_that_only_takes_client_secret_post_gets_it() {
    let prepare = |r: &Rogue| {
        let mut document = r.discovery();
        document["token_endpoint_auth_methods_supported"] = json!(["client_secret_post"]);
        r.set_discovery(document);
    };
    let s = start_with(prepare, |_| {}, USERS).await;
    s.sign_in_accepted("client_secret_post").await;
    assert_eq!(s.rogue.client_auth(), ["client_secret_post"]);
    assert_eq!(s.sagemaker_calls().await, 1);
}

/// The provider itself is strict, so that what the broker gets accepted
/// would be accepted by a real one.
#[tokio::test]
async fn the_provider_checks_client_grant_code_and_verifier() {
    let s = start("").await;
    let redirect = format!("{}/oauth2/callback", s.broker.url);
    let verifier = "a".repeat(43);
    let challenge = "ZtNPunH49FD35FWYhT5Tv8I7vRKQJ8uxMaL0_9eHjNA";
    let good = [
        ("grant_type", "authorization_code"),
        ("redirect_uri", redirect.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let redeem = |code: String, secret: &'static str, form: Vec<(&str, &str)>| {
        let url = format!("{}/token", s.rogue.issuer);
        let request = broker::client()
            .post(url)
            .basic_auth("broker", Some(secret))
            .form(&[form, vec![("code", code.as_str())]].concat());
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let code = || code_for(&s.rogue, &redirect, challenge);
    let wrong_verifier = [good[0], good[1], ("code_verifier", "b")];
    assert_eq!(redeem(code().await, "nope", good.to_vec()).await, 401);
    assert_eq!(
        redeem(code().await, SECRET, wrong_verifier.to_vec()).await,
        400
    );
    assert_eq!(redeem(code().await, SECRET, good[1..].to_vec()).await, 400);
    let once = code().await;
    assert_eq!(redeem(once.clone(), SECRET, good.to_vec()).await, 200);
    assert_eq!(redeem(once, SECRET, good.to_vec()).await, 400);
}

const SECRET: &str = broker::CLIENT_SECRET;

/// A fresh code from the provider's authorization endpoint.
async fn code_for(rogue: &Rogue, redirect: &str, challenge: &str) -> String {
    let mut url = url::Url::parse(&format!("{}/auth", rogue.issuer)).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "broker")
        .append_pair("redirect_uri", redirect)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    let back = url::Url::parse(&rogue.authorize(url.as_str()).await).unwrap();
    let (_, code) = back.query_pairs().find(|(k, _)| k == "code").unwrap();
    code.into_owned()
}
