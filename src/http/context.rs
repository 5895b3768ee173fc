//! Per-request context and the outermost middleware: request id, client
//! address, the headers every response carries, the header-size bound,
//! the request metric, the one log line per failure, and the HTML page
//! for browsers.

use super::error::{Failure, FailureView};
use super::pages;
use super::state::State;
use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Who is asking, as far as the transport and trusted proxies say.
#[derive(Debug, Clone)]
pub struct Context {
    pub request_id: String,
    pub client_addr: IpAddr,
    pub user_agent: String,
    /// The caller wants JSON: an `/api/` route, or an `Accept` header that
    /// prefers `application/json`.
    pub wants_json: bool,
}

impl Context {
    fn from_request(request: &Request, trusted: &[IpNet]) -> Self {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
        let headers = request.headers();
        let from_proxy = trusted.iter().any(|net| net.contains(&peer));
        let request_id = from_proxy
            .then(|| proxied_request_id(headers))
            .flatten()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let client_addr = if from_proxy {
            forwarded_client(headers, trusted).unwrap_or(peer)
        } else {
            peer
        };
        Self {
            request_id,
            client_addr,
            user_agent: header_text(headers, header::USER_AGENT, 256),
            wants_json: request.uri().path().starts_with("/api/") || prefers_json(headers),
        }
    }
}

fn header_text(headers: &HeaderMap, name: HeaderName, max: usize) -> String {
    let value = headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    value.chars().take(max).collect()
}

/// A proxy's request id, if it is short and plain enough to echo.
fn proxied_request_id(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(&X_REQUEST_ID)?.to_str().ok()?;
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_.:".contains(c);
    (!value.is_empty() && value.len() <= 128 && value.chars().all(plain)).then(|| value.to_owned())
}

/// The client behind trusted proxies: the right-most address of
/// `X-Forwarded-For` (or `Forwarded: for=`) that is not itself a trusted
/// proxy. Addresses further left were written by the client and prove
/// nothing.
fn forwarded_client(headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let chain = forwarded_chain(headers);
    chain
        .iter()
        .rev()
        .find(|addr| !trusted.iter().any(|net| net.contains(*addr)))
        .or_else(|| chain.first())
        .copied()
}

fn forwarded_chain(headers: &HeaderMap) -> Vec<IpAddr> {
    let parse = |s: &str| {
        let s = s.trim().trim_matches('"');
        let s = s
            .strip_prefix('[')
            .map_or(s, |v| v.split(']').next().unwrap_or(v));
        s.parse::<IpAddr>()
            .ok()
            .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
    };
    let xff = headers.get_all("x-forwarded-for").iter();
    let from_xff: Vec<IpAddr> = xff
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(parse)
        .collect();
    if !from_xff.is_empty() {
        return from_xff;
    }
    headers
        .get_all(header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .filter_map(|part| {
            let (key, value) = part.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case("for")
                .then(|| parse(value))?
        })
        .collect()
}

fn prefers_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let first = accept.split(',').next().unwrap_or("").trim();
    first.starts_with("application/json")
}

fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum()
}

/// The outermost middleware.
pub async fn middleware(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    mut request: Request,
    next: Next,
) -> Response {
    let ctx = Context::from_request(&request, &state.config.server.trusted_proxies);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let too_large = header_bytes(request.headers()) > state.config.server.max_header_bytes;
    request.extensions_mut().insert(ctx.clone());
    let mut response = if too_large {
        Failure::HeadersTooLarge.into_response()
    } else {
        next.run(request).await
    };
    if let Some(view) = response.extensions().get::<FailureView>().cloned() {
        log_failure(&ctx, &route, &view);
        if !ctx.wants_json {
            response = pages::failure(&state, &ctx, &view, response);
        }
    }
    metrics::counter!(
        "studio_broker_requests_total",
        "route" => route,
        "status" => response.status().as_u16().to_string()
    )
    .increment(1);
    finish_headers(response.headers_mut(), &ctx.request_id);
    response
}

fn log_failure(ctx: &Context, route: &str, view: &FailureView) {
    if view.status.is_server_error() {
        tracing::warn!(
            request_id = %ctx.request_id,
            route,
            status = view.status.as_u16(),
            detail = %view.detail,
            "request failed"
        );
    } else {
        tracing::debug!(
            request_id = %ctx.request_id,
            route,
            status = view.status.as_u16(),
            detail = %view.detail,
            "request refused"
        );
    }
}

/// Headers on every response: nothing is cached, no referrer leaks a
/// presigned URL to the next page, and no browser sniffs content types.
fn finish_headers(headers: &mut HeaderMap, request_id: &str) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(X_REQUEST_ID.clone(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_forwarded_address() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.1.2.3")]);
        assert_eq!(
            forwarded_client(&h, &trusted),
            Some("203.0.113.9".parse().unwrap())
        );
        let h = headers(&[("forwarded", "for=\"[2001:db8::1]:4711\";proto=https")]);
        assert_eq!(
            forwarded_client(&h, &trusted),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(forwarded_client(&HeaderMap::new(), &trusted), None);
    }

    #[test]
    fn only_plain_request_ids_are_echoed() {
        let ok = headers(&[("x-request-id", "abc-123_x.y:z")]);
        assert_eq!(proxied_request_id(&ok).as_deref(), Some("abc-123_x.y:z"));
        let bad = headers(&[("x-request-id", "a b<script>")]);
        assert_eq!(proxied_request_id(&bad), None);
        let long = "a".repeat(129);
        assert_eq!(
            proxied_request_id(&headers(&[("x-request-id", &long)])),
            None
        );
    }
}
