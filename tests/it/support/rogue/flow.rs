//! The code flow of the misbehaving provider: the authorization, token
//! and UserInfo endpoints, strict where a real provider is strict and
//! otherwise doing what the test set in [`super::Flow`].

use super::{IssParam, Shared, TokenContext};
use axum::Json;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// An issued code and what its authorization request said.
pub(super) struct Grant {
    client_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    challenge: Option<String>,
}

/// The authorization endpoint: no login page, the code comes straight
/// back, with `state` and `iss` as the test says.
pub async fn authorize(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let flow = shared.flow.lock().expect("lock");
    let field = |name: &str| query.get(name).cloned();
    let Some(redirect_uri) = field("redirect_uri") else {
        return (StatusCode::BAD_REQUEST, "redirect_uri is required").into_response();
    };
    let known_client = field("client_id").as_deref() == Some(flow.client_id.as_str());
    if field("response_type").as_deref() != Some("code") || !known_client {
        return (StatusCode::BAD_REQUEST, "unsupported request").into_response();
    }
    let code = uuid::Uuid::new_v4().simple().to_string();
    let s256 = field("code_challenge_method").as_deref() == Some("S256");
    let grant = Grant {
        client_id: flow.client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        nonce: field("nonce"),
        challenge: field("code_challenge").filter(|_| s256),
    };
    shared
        .codes
        .lock()
        .expect("lock")
        .insert(code.clone(), grant);

    let mut back = url::Url::parse(&redirect_uri).expect("redirect_uri");
    back.query_pairs_mut().append_pair("code", &code);
    if let Some(state) = field("state") {
        back.query_pairs_mut().append_pair("state", &state);
    }
    let issuer = shared.discovery.lock().expect("lock")["issuer"].clone();
    let iss = match &flow.iss {
        IssParam::Issuer => issuer.as_str().map(str::to_owned),
        IssParam::Omit => None,
        IssParam::Value(value) => Some(value.clone()),
    };
    if let Some(iss) = iss {
        back.query_pairs_mut().append_pair("iss", &iss);
    }
    (StatusCode::FOUND, [(header::LOCATION, back.to_string())]).into_response()
}

/// The token endpoint ([RFC 6749 §4.1.3], [RFC 7636 §4.6]).
///
/// [RFC 6749 §4.1.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
/// [RFC 7636 §4.6]: https://www.rfc-editor.org/rfc/rfc7636#section-4.6
pub async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    shared.token_calls.fetch_add(1, Ordering::SeqCst);
    let (answer, hook, client_id, secret) = {
        let flow = shared.flow.lock().expect("lock");
        let answer = flow.token_answer.clone();
        let ids = (flow.client_id.clone(), flow.client_secret.clone());
        (answer, flow.id_token.clone(), ids.0, ids.1)
    };
    if let Some((status, body)) = answer {
        return fixed(status, body);
    }
    let Some((id, given, method)) = client(&headers, &form) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    if (id.as_str(), given.as_str()) != (client_id.as_str(), secret.as_str()) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    shared.client_auth.lock().expect("lock").push(method);
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let code = form.get("code").cloned().unwrap_or_default();
    // Taken out whatever happens next: a code is good for one attempt.
    let grant = shared.codes.lock().expect("lock").remove(&code);
    let Some(grant) = grant.filter(|g| redeemable(g, &client_id, &form)) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let Some(hook) = hook else {
        return oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    };
    let issuer = shared.discovery.lock().expect("lock")["issuer"].clone();
    let context = TokenContext {
        issuer: issuer.as_str().unwrap_or_default().to_owned(),
        client_id,
        code,
        nonce: grant.nonce,
    };
    let access_token = uuid::Uuid::new_v4().simple().to_string();
    shared
        .access_tokens
        .lock()
        .expect("lock")
        .insert(access_token.clone());
    Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "id_token": hook(&context),
        "expires_in": 300,
    }))
    .into_response()
}

/// The code was issued to this client for this redirect URI, and the
/// PKCE verifier hashes to its challenge.
fn redeemable(grant: &Grant, client_id: &str, form: &HashMap<String, String>) -> bool {
    let same_redirect = form.get("redirect_uri") == Some(&grant.redirect_uri);
    let verifier = form.get("code_verifier").map(String::as_str);
    let pkce = match (&grant.challenge, verifier) {
        (Some(challenge), Some(verifier)) => s256(verifier) == *challenge,
        (None, None) => true,
        _ => false,
    };
    grant.client_id == client_id && same_redirect && pkce
}

fn s256(verifier: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// The client's id and secret from `client_secret_basic` or
/// `client_secret_post`.
fn client(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Option<(String, String, &'static str)> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    let Some(basic) = basic else {
        let id = form.get("client_id")?.clone();
        let secret = form.get("client_secret")?.clone();
        return Some((id, secret, "client_secret_post"));
    };
    let decoded = String::from_utf8(STANDARD.decode(basic).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before joining.
    let method = "client_secret_basic";
    Some((form_decode(id), form_decode(secret), method))
}

fn form_decode(part: &str) -> String {
    let pair = format!("x={part}");
    url::form_urlencoded::parse(pair.as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn oauth_error(status: StatusCode, code: &str) -> Response {
    (status, Json(json!({ "error": code }))).into_response()
}

fn fixed(status: StatusCode, body: String) -> Response {
    let json = serde_json::from_str::<Value>(&body).is_ok();
    let kind = if json {
        "application/json"
    } else {
        "text/html"
    };
    (status, [(header::CONTENT_TYPE, kind)], body).into_response()
}

/// UserInfo for an access token this provider issued.
pub async fn userinfo(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    shared.userinfo_calls.fetch_add(1, Ordering::SeqCst);
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !shared.access_tokens.lock().expect("lock").contains(token) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let sub = shared.flow.lock().expect("lock").userinfo_sub.clone();
    Json(json!({ "sub": sub })).into_response()
}
