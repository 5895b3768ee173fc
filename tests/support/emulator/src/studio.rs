//! The stand-in for the Studio sign-in page, `GET /studio/auth?token=...`.
//!
//! A good token opens a page titled `Studio - <profile>` that shows what
//! the token grants in elements with ids `domain`, `profile`, `space`,
//! `landing` and `session`. Tokens work once, like SageMaker's; an unknown,
//! used or expired one gets a 403 page saying the link has expired.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::App;
use crate::presign;
use crate::state::Grant;

/// Serves the landing page for one token.
pub async fn auth(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let token = query.get("token").map(String::as_str).unwrap_or_default();
    let grant = presign::redeem(&mut app.store(), token);
    let (status, page) = match grant {
        Some(grant) => (StatusCode::OK, landing_page(&grant)),
        None => (StatusCode::FORBIDDEN, expired_page()),
    };

    let mut response = (status, Html(page)).into_response();
    let no_store = HeaderValue::from_static("no-store");
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, no_store);
    response
}

fn landing_page(grant: &Grant) -> String {
    let profile = escape(&grant.profile);
    let space = grant.space.as_deref().map_or("none".to_owned(), escape);
    let landing = grant
        .landing_uri
        .as_deref()
        .map_or("none".to_owned(), escape);
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\">\
         <title>Studio - {profile}</title></head><body>\
         <h1>SageMaker Studio</h1><dl>\
         <dt>Domain</dt><dd id=\"domain\">{domain}</dd>\
         <dt>User profile</dt><dd id=\"profile\">{profile}</dd>\
         <dt>Space</dt><dd id=\"space\">{space}</dd>\
         <dt>Landing URI</dt><dd id=\"landing\">{landing}</dd>\
         <dt>Session seconds</dt><dd id=\"session\">{session}</dd>\
         </dl></body></html>\n",
        domain = escape(&grant.domain_id),
        session = grant.session_seconds,
    )
}

fn expired_page() -> String {
    "<!doctype html>\n<html><head><meta charset=\"utf-8\">\
     <title>Studio - link expired</title></head><body>\
     <h1>This link has expired</h1>\
     <p>Request a new sign-in link.</p></body></html>\n"
        .to_owned()
}

/// Escapes text for HTML element content.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
