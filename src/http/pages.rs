//! Server-rendered pages: no JavaScript, no outside assets, everything
//! printed escaped, readable on a phone.

use super::context::Context;
use super::error::{FailureView, TargetView};
use super::state::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::fmt::Write;

/// Pages run no script and load nothing; forms post only to the broker
/// (sign-out then redirects to the provider, which `form-action` must
/// allow in some browsers).
fn csp(state: &State) -> String {
    let provider = url::Url::parse(&state.config.oidc.issuer)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; \
         form-action 'self' {provider}; frame-ancestors 'none'; \
         base-uri 'none'"
    )
}

/// Escapes text for HTML element content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:36rem;\
margin:2rem auto;padding:0 1rem;line-height:1.5;color:#222}\
h1{font-size:1.4rem}a.target{display:block;padding:.75rem 1rem;margin:.5rem 0;\
border:1px solid #ccc;border-radius:.5rem;text-decoration:none;color:#0b57d0}\
small{color:#666}button{font:inherit;padding:.4rem .8rem}";

/// A whole page with its security headers.
pub fn page(state: &State, status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} - Studio</title><style>{STYLE}</style></head>\
         <body>{body}</body></html>",
        title = escape(title),
    );
    let mut response = (status, Html(html)).into_response();
    if let Ok(value) = HeaderValue::from_str(&csp(state)) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

fn sign_out_form() -> &'static str {
    "<form method=\"post\" action=\"/oauth2/sign_out\">\
     <button type=\"submit\">Sign out</button></form>"
}

/// The page for a failed request, keeping the JSON response's status and
/// headers (`Retry-After`, `WWW-Authenticate`).
pub fn failure(state: &State, ctx: &Context, view: &FailureView, json: Response) -> Response {
    let mut body = format!(
        "<h1>{}</h1><p>{}</p>",
        escape(title(view)),
        escape(&view.message)
    );
    if view.try_again {
        body.push_str("<p><a href=\"/\">Try again</a></p>");
    }
    if let Some(identity) = &view.identity {
        let _ = write!(
            body,
            "<p>You are signed in as <strong>{}</strong>.</p>{}",
            escape(identity),
            sign_out_form()
        );
    }
    let _ = write!(
        body,
        "<p><small>Request id: {}</small></p>",
        escape(&ctx.request_id)
    );
    let mut response = page(state, view.status, title(view), &body);
    for name in [header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = json.headers().get(&name) {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

fn title(view: &FailureView) -> &'static str {
    match view.status.as_u16() {
        400 | 413 | 415 | 431 => "Bad request",
        401 => "Sign-in required",
        403 => "No access",
        404 => "Not found",
        409 => "Choose a target",
        429 => "Too many requests",
        503 | 504 => "Try again later",
        _ => "Something went wrong",
    }
}

/// The link that opens one target.
pub fn target_path(target: &TargetView) -> String {
    match &target.space {
        Some(space) => format!("/go/{}/{}", target.domain, space),
        None => format!("/go/{}", target.domain),
    }
}

/// The chooser for a person with several targets.
pub fn chooser(state: &State, ctx: &Context, identity: &str, targets: &[TargetView]) -> Response {
    let mut body = String::from("<h1>Open SageMaker Studio</h1>");
    let _ = write!(
        body,
        "<p>Signed in as <strong>{}</strong>. Choose where to go:</p>",
        escape(identity)
    );
    for target in targets {
        let label = match &target.space {
            Some(space) => format!("{} - space {}", target.domain, space),
            None => format!("{} - profile {}", target.domain, target.profile),
        };
        let _ = write!(
            body,
            "<a class=\"target\" href=\"{}\">{}</a>",
            escape(&target_path(target)),
            escape(&label)
        );
    }
    let _ = write!(
        body,
        "{}<p><small>Request id: {}</small></p>",
        sign_out_form(),
        escape(&ctx.request_id)
    );
    page(state, StatusCode::OK, "Choose", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\" onclick='y'>&</a>"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }
}
