//! Where a person may be sent after sign-in: only this broker's own
//! routes. Anything else falls back to `/`.
//!
//! Open redirects are the classic flaw of sign-in proxies, so the target
//! is judged as a browser would resolve it (WHATWG URL rules, by the `url`
//! crate) against the public origin, not by string prefix alone, and
//! shapes that browsers or proxies reinterpret (`//host`, `/\host`,
//! encoded slashes, control characters, `@`) are refused before that.

use url::Url;

/// The path (and query) to return to, or `/` when `target` is not a local
/// route of this broker. `target` may be a path (`rd`) or an absolute URL
/// on the public origin (`target_link_uri`).
pub fn validate(target: &str, public: &Url) -> String {
    local(target, public).unwrap_or_else(|| "/".to_owned())
}

fn local(target: &str, public: &Url) -> Option<String> {
    if target.len() > 2048 || !plain(target) {
        return None;
    }
    let resolved = public.join(target).ok()?;
    if resolved.origin() != public.origin()
        || !resolved.username().is_empty()
        || resolved.password().is_some()
    {
        return None;
    }
    let path = resolved.path();
    if !known_route(path) {
        return None;
    }
    Some(match resolved.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    })
}

/// Refuses what a browser might turn into another host or path: control
/// characters and backslashes (raw or percent-encoded), encoded slashes,
/// `@`, and scheme-relative `//`.
fn plain(target: &str) -> bool {
    let lower = target.to_ascii_lowercase();
    let encoded_tricks = ["%2f", "%5c", "%00", "%09", "%0a", "%0d", "%40", "%2e%2e"];
    !target
        .chars()
        .any(|c| c.is_control() || c == '\\' || c == '@')
        && !encoded_tricks.iter().any(|t| lower.contains(t))
        && !path_of(target).starts_with("//")
}

/// The path part of a relative or absolute target, for the `//` check.
fn path_of(target: &str) -> &str {
    match target.find("://") {
        Some(i) => {
            let rest = &target[i + 3..];
            rest.find('/').map_or("", |j| &rest[j..])
        }
        None => target,
    }
}

/// `/`, `/go/{domain}` and `/go/{domain}/{space}`.
fn known_route(path: &str) -> bool {
    if path == "/" {
        return true;
    }
    let Some(rest) = path.strip_prefix("/go/") else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    (1..=2).contains(&parts.len()) && parts.iter().all(|p| name(p))
}

fn name(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= 63
        && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_routes_survive() {
        let public = Url::parse("https://studio.example.com").unwrap();
        let cases = [
            ("/", "/"),
            ("/go/ml", "/go/ml"),
            ("/go/ml/team", "/go/ml/team"),
            ("https://studio.example.com/go/ml", "/go/ml"),
            ("/go/ml?x=1", "/go/ml?x=1"),
            ("https://evil.example.com/go/ml", "/"),
            ("//evil.example.com/go/ml", "/"),
            ("///evil.example.com", "/"),
            ("/\\evil.example.com", "/"),
            ("\\\\evil.example.com", "/"),
            ("/%09/evil.example.com", "/"),
            ("/%2F%2Fevil.example.com", "/"),
            ("/%5Cevil.example.com", "/"),
            ("/\t/evil.example.com", "/"),
            ("https://studio.example.com@evil.example.com/", "/"),
            ("/go/ml@evil", "/"),
            ("http://studio.example.com/go/ml", "/"),
            ("https://studio.example.com:444/go/ml", "/"),
            ("javascript:alert(1)", "/"),
            ("data:text/html,hi", "/"),
            ("/oauth2/sign_out", "/"),
            ("/go/../oauth2/start", "/"),
            ("/go/ml/../../oauth2/x", "/"),
            ("/go/%2e%2e/x", "/"),
            ("/go/ml/team/extra", "/"),
            ("go/ml", "/go/ml"),
            ("", "/"),
            ("/go/ml#frag", "/go/ml"),
        ];
        for (target, expected) in cases {
            assert_eq!(validate(target, &public), expected, "{target:?}");
        }
    }
}
