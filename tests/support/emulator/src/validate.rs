//! SageMaker's field constraints, reported the way AWS reports them: every
//! broken constraint of a request in one `ValidationException` message.

use crate::error::ApiError;

/// The pattern of a domain id, as the API model writes it.
pub const DOMAIN_ID: &str = "^d-(-*[a-z0-9]){1,61}";
/// The pattern of user profile, space and domain names.
pub const NAME: &str = "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}";

/// Whether `text` matches `^d-(-*[a-z0-9]){1,61}$`.
pub fn is_domain_id(text: &str) -> bool {
    let lower = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    text.strip_prefix("d-")
        .is_some_and(|rest| hyphenated(rest, lower, 61))
}

/// Whether `text` matches `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`.
pub fn is_name(text: &str) -> bool {
    let starts_alnum = text.starts_with(|c: char| c.is_ascii_alphanumeric());
    starts_alnum && hyphenated(text, |c| c.is_ascii_alphanumeric(), 63)
}

/// Whether `text` is `(-*X){1,max}` for the character class `X`.
fn hyphenated(text: &str, class: fn(char) -> bool, max: usize) -> bool {
    let allowed = text.chars().all(|c| c == '-' || class(c));
    let count = text.chars().filter(|&c| class(c)).count();
    allowed && !text.ends_with('-') && (1..=max).contains(&count)
}

/// Whether `text` is a `LandingUri` SageMaker accepts: `studio::...` or
/// `app:<AppType>:...`.
pub fn is_landing_uri(text: &str) -> bool {
    const APP_TYPES: [&str; 6] = [
        "JupyterServer",
        "JupyterLab",
        "RStudioServerPro",
        "CodeEditor",
        "Canvas",
        "DetailedProfiler",
    ];
    if text.starts_with("studio::") {
        return true;
    }
    let app = text.strip_prefix("app:").and_then(|r| r.split_once(':'));
    app.is_some_and(|(app_type, _)| APP_TYPES.contains(&app_type))
}

/// Collects broken constraints, then fails once with all of them.
#[derive(Debug, Default)]
pub struct Checks(Vec<String>);

impl Checks {
    /// A member that must be present.
    pub fn required<T>(&mut self, field: &str, value: Option<T>) {
        if value.is_none() {
            self.0.push(format!(
                "Value null at '{field}' failed to satisfy constraint: \
                 Member must not be null"
            ));
        }
    }

    /// A string member, when present, must match `pattern`.
    pub fn pattern(
        &mut self,
        field: &str,
        value: Option<&str>,
        matches: fn(&str) -> bool,
        pattern: &str,
    ) {
        if let Some(value) = value.filter(|v| !matches(v)) {
            self.0.push(format!(
                "Value '{value}' at '{field}' failed to satisfy constraint: \
                 Member must satisfy regular expression pattern: {pattern}"
            ));
        }
    }

    /// A numeric member, when present, must lie within `min..=max`.
    pub fn range(&mut self, field: &str, value: Option<i64>, min: i64, max: i64) {
        let Some(value) = value else { return };
        let (bound, limit) = match value {
            v if v < min => ("greater", min),
            v if v > max => ("less", max),
            _ => return,
        };
        self.0.push(format!(
            "Value '{value}' at '{field}' failed to satisfy constraint: \
             Member must have value {bound} than or equal to {limit}"
        ));
    }

    /// A free-form complaint about one member.
    pub fn other(&mut self, message: String) {
        self.0.push(message);
    }

    /// # Errors
    ///
    /// A `ValidationException` listing every broken constraint.
    pub fn finish(self) -> Result<(), ApiError> {
        let count = self.0.len();
        let noun = if count == 1 { "error" } else { "errors" };
        match count {
            0 => Ok(()),
            _ => Err(ApiError::Validation(format!(
                "{count} validation {noun} detected: {}",
                self.0.join("; ")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_ids() {
        assert!(is_domain_id("d-abc123def456"));
        assert!(is_domain_id("d--a-b"));
        assert!(!is_domain_id("d-"));
        assert!(!is_domain_id("d-abc-"));
        assert!(!is_domain_id("d-ABC"));
        assert!(!is_domain_id("x-abc"));
        assert!(is_domain_id(&format!("d-{}", "a".repeat(61))));
        assert!(!is_domain_id(&format!("d-{}", "a".repeat(62))));
    }

    #[test]
    fn names() {
        assert!(is_name("alice"));
        assert!(is_name("Team--Space-1"));
        assert!(!is_name("-alice"));
        assert!(!is_name("alice-"));
        assert!(!is_name("al.ice"));
        assert!(!is_name(""));
        assert!(is_name(&"a".repeat(63)));
        assert!(!is_name(&"a".repeat(64)));
    }

    #[test]
    fn landing_uris() {
        assert!(is_landing_uri("studio::relative/path"));
        assert!(is_landing_uri("app:JupyterLab:"));
        assert!(is_landing_uri("app:CodeEditor:lab/tree"));
        assert!(!is_landing_uri("app:Nonsense:"));
        assert!(!is_landing_uri("https://example.com"));
    }

    #[test]
    fn messages_list_every_error() {
        let mut checks = Checks::default();
        checks.required::<&str>("domainId", None);
        checks.range("expiresInSeconds", Some(3), 5, 300);
        let Err(ApiError::Validation(message)) = checks.finish() else {
            panic!("two broken constraints must fail");
        };
        assert!(message.starts_with("2 validation errors detected: "));
        assert!(message.contains("greater than or equal to 5"));
    }
}
