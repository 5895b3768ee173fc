//! The rules table values must follow (SageMaker's and IAM's naming rules,
//! checked by hand) and the normalisation of identities.

use std::borrow::Cow;
use std::ops::RangeInclusive;

use unicode_normalization::UnicodeNormalization;

use super::IdentityKind;

/// SageMaker's pattern for user profile and space names.
pub(super) const NAME_PATTERN: &str = "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$";

/// SageMaker's length limit for user profile and space names.
pub(super) const NAME_MAX_CHARS: usize = 63;

/// IAM's pattern for user names, where `\w` is `[A-Za-z0-9_]`.
pub(super) const IAM_USER_PATTERN: &str = r"^[\w+=,.@-]{1,64}$";

/// Identities longer than this are refused, as no provider issues them.
pub(super) const IDENTITY_MAX_BYTES: usize = 512;

/// The Studio session lengths SageMaker accepts.
pub(super) const SESSION_SECONDS: RangeInclusive<i64> = 1800..=43200;

/// SageMaker's length limit for `LandingUri`.
pub(super) const LANDING_URI_MAX_BYTES: usize = 1023;

/// The `LandingUri` prefixes SageMaker accepts; each may be followed by a
/// path.
pub(super) const LANDING_URI_PREFIXES: [&str; 6] = [
    "studio::",
    "app:JupyterServer:",
    "app:JupyterLab:",
    "app:RStudioServerPro:",
    "app:CodeEditor:",
    "app:Canvas:",
];

/// Whether `name` fully matches [`NAME_PATTERN`]: letters, digits and
/// hyphens, starting and ending with a letter or digit, at most 63 letters
/// and digits. The length limit is checked apart.
pub(super) fn is_sagemaker_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };

    let allowed = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-';
    let alphanumeric = |b: &&u8| b.is_ascii_alphanumeric();
    let alphanumerics = bytes.iter().filter(alphanumeric).count();
    first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && bytes.iter().all(allowed)
        && alphanumerics <= 63
}

/// Whether `name` fully matches [`IAM_USER_PATTERN`].
pub(super) fn is_iam_user(name: &str) -> bool {
    let allowed = |b: &u8| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(b);
    (1..=64).contains(&name.len()) && name.as_bytes().iter().all(allowed)
}

/// Whether SageMaker accepts `uri` as a `LandingUri` (length aside).
pub(super) fn is_landing_uri(uri: &str) -> bool {
    LANDING_URI_PREFIXES
        .iter()
        .any(|prefix| uri.starts_with(prefix))
}

/// The form in which identities of `kind` are compared: email addresses
/// after Unicode NFC normalisation and lower-casing, anything else as is.
///
/// Table rows are normalised when they load; apply the same to an identity
/// taken from a token before comparing it with a row.
pub fn normalize(kind: IdentityKind, raw: &str) -> Cow<'_, str> {
    match kind {
        IdentityKind::Opaque => Cow::Borrowed(raw),
        IdentityKind::Email => normalize_email(raw),
    }
}

fn normalize_email(raw: &str) -> Cow<'_, str> {
    if raw.is_ascii() {
        if raw.bytes().any(|b| b.is_ascii_uppercase()) {
            return Cow::Owned(raw.to_ascii_lowercase());
        }
        return Cow::Borrowed(raw);
    }

    // Lower-casing can leave a composable sequence behind (a capital with a
    // separate accent), so compose again afterwards.
    let composed: String = raw.nfc().collect();
    Cow::Owned(composed.to_lowercase().nfc().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sagemaker_names() {
        let long_ok = "a".repeat(63);
        let long_bad = "a".repeat(64);
        let cases = [
            ("a", true),
            ("alice", true),
            ("Alice-01", true),
            ("a--b", true),
            ("0", true),
            (long_ok.as_str(), true),
            (long_bad.as_str(), false),
            ("", false),
            ("-a", false),
            ("a-", false),
            ("al ice", false),
            ("al_ice", false),
            ("alice.b", false),
            ("é", false),
        ];
        for (name, valid) in cases {
            assert_eq!(is_sagemaker_name(name), valid, "{name:?}");
        }
    }

    #[test]
    fn iam_users() {
        let long_ok = "u".repeat(64);
        let long_bad = "u".repeat(65);
        let cases = [
            ("alice", true),
            ("a_b+c=d,e.f@g-h", true),
            (long_ok.as_str(), true),
            (long_bad.as_str(), false),
            ("", false),
            ("a b", false),
            ("a/b", false),
            ("é", false),
        ];
        for (name, valid) in cases {
            assert_eq!(is_iam_user(name), valid, "{name:?}");
        }
    }

    #[test]
    fn landing_uris() {
        let cases = [
            ("studio::", true),
            ("studio::relative/path?x=1", true),
            ("app:JupyterServer:", true),
            ("app:JupyterLab:lab/tree/work", true),
            ("app:RStudioServerPro:", true),
            ("app:CodeEditor:", true),
            ("app:Canvas:", true),
            ("", false),
            ("studio:", false),
            ("app:JupyterLab", false),
            ("app:jupyterlab:", false),
            ("app:Other:", false),
            ("https://example.com/", false),
        ];
        for (uri, valid) in cases {
            assert_eq!(is_landing_uri(uri), valid, "{uri:?}");
        }
    }

    #[test]
    fn email_identities_are_composed_and_lower_cased() {
        let email = IdentityKind::Email;
        assert_eq!(normalize(email, "Alice@Example.COM"), "alice@example.com");
        assert!(matches!(
            normalize(email, "alice@example.com"),
            Cow::Borrowed(_)
        ));

        // "José" with a combining acute accent, and with a capital.
        let decomposed = "Jose\u{301}@Example.com";
        let composed = "jos\u{e9}@example.com";
        assert_eq!(normalize(email, decomposed), composed);
        assert_eq!(normalize(email, "JOS\u{c9}@example.com"), composed);
        assert_eq!(normalize(email, "JOSE\u{301}@example.com"), composed);

        // NFC is not compatibility folding: a full-width letter stays one.
        let full_width = "\u{ff21}lice@Example.COM";
        assert_eq!(normalize(email, full_width), "\u{ff41}lice@example.com");
        assert_ne!(normalize(email, full_width), "alice@example.com");
    }

    #[test]
    fn opaque_identities_are_kept_as_is() {
        let raw = "Jose\u{301}|ABC";
        assert_eq!(normalize(IdentityKind::Opaque, raw), raw);
        assert_eq!(IdentityKind::for_claim("email"), IdentityKind::Email);
        assert_eq!(IdentityKind::for_claim("sub"), IdentityKind::Opaque);
    }
}
