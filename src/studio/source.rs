//! What STS is told about the person a URL is minted for, within the
//! rules of [AssumeRole]:
//!
//! - the source identity and the role session name: 2 to 64 characters
//!   of `[\w+=,.@-]` (`\w` being ASCII letters, digits and `_`);
//! - the value of the session tag [`TAG_KEY`]: up to 256 characters of
//!   `[\p{L}\p{Z}\p{N}_.:/=+\-@]`.
//!
//! An identity that already fits a rule is passed as it is, so an email
//! such as `ana+ml@example.com` reads the same in CloudTrail. Any other
//! identity (too short, too long, or holding other characters, such as
//! spaces or non-ASCII letters) is mapped: every character outside the
//! set becomes `_`, the result keeps as many leading characters as leave
//! room for the suffix, and the suffix is `-` and the first 10 hex digits
//! of the SHA-256 of the identity's UTF-8 bytes. So `zoë` becomes
//! `zo_-` and ten hex digits, and a mapped value is never longer than the
//! limit. The hash keeps identities apart whose readable parts are alike.
//!
//! [AssumeRole]: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html

use aws_lc_rs::digest;
use unicode_normalization::char::is_combining_mark;

/// The session tag that carries the identity.
pub const TAG_KEY: &str = "studio-broker-identity";

/// Hex digits of the hash a mapped value ends with.
const HASH_DIGITS: usize = 10;

/// STS's bounds on a source identity and a role session name.
const MIN_NAME: usize = 2;
const MAX_NAME: usize = 64;

/// STS's bound on a session tag value.
const MAX_TAG: usize = 256;

/// The `SourceIdentity` for `identity`.
pub fn source_identity(identity: &str) -> String {
    let length = identity.chars().count();
    let fits = (MIN_NAME..=MAX_NAME).contains(&length);
    if fits && identity.chars().all(is_name_char) {
        return identity.to_owned();
    }
    mapped(identity, is_name_char, MAX_NAME)
}

/// The `RoleSessionName` for `identity`: the same as its source
/// identity, so that the assumed-role ARN names the person too.
pub fn session_name(identity: &str) -> String {
    source_identity(identity)
}

/// The value of the [`TAG_KEY`] session tag for `identity`.
pub fn tag_value(identity: &str) -> String {
    let fits = identity.chars().count() <= MAX_TAG;
    if fits && identity.chars().all(is_tag_char) {
        return identity.to_owned();
    }
    mapped(identity, is_tag_char, MAX_TAG)
}

/// The readable part of `identity`, cut to leave room for the suffix,
/// then `-` and the hash.
fn mapped(identity: &str, allowed: fn(char) -> bool, max: usize) -> String {
    let room = max - HASH_DIGITS - 1;
    let readable: String = (identity.chars().take(room))
        .map(|c| if allowed(c) { c } else { '_' })
        .collect();
    format!("{readable}-{}", hash(identity))
}

/// The first [`HASH_DIGITS`] lower-case hex digits of SHA-256.
fn hash(identity: &str) -> String {
    let sum = digest::digest(&digest::SHA256, identity.as_bytes());
    let hex: String = (sum.as_ref().iter())
        .map(|byte| format!("{byte:02x}"))
        .collect();
    hex[..HASH_DIGITS].to_owned()
}

/// `[\w+=,.@-]`
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// `[\p{L}\p{Z}\p{N}_.:/=+\-@]`. Rust has no general-category test, so
/// a letter is an alphabetic character that is not a mark and not one
/// of the circled or squared Latin letters (symbols that Unicode counts
/// as alphabetic), and a separator is non-control white space.
fn is_tag_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c);
    }
    let symbol_letter = matches!(c, '\u{24B6}'..='\u{24E9}' | '\u{1F130}'..='\u{1F189}');
    let letter = c.is_alphabetic() && !is_combining_mark(c) && !symbol_letter;
    let separator = c.is_whitespace() && !c.is_control();
    letter || separator || c.is_numeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_that_fit_pass_as_they_are() {
        for identity in ["alice", "ana+ml@example.com", "a_b=c.d@f-g", "ab"] {
            assert_eq!(source_identity(identity), identity);
            assert_eq!(session_name(identity), identity);
            assert_eq!(tag_value(identity), identity);
        }
        assert_eq!(source_identity("a,b"), "a,b");
        assert_eq!(tag_value("a,b"), "a_b-1eb7c54d52");
        let longest = "x".repeat(64);
        assert_eq!(source_identity(&longest), longest);
    }

    #[test]
    fn other_identities_become_a_readable_prefix_and_a_hash() {
        // The suffixes are the first ten hex digits of `sha256sum`.
        let long = ("x".repeat(65), "x".repeat(53) + "-9537c5fdf1");
        let cases = [
            ("a".to_owned(), "a-ca978112ca".to_owned()),
            ("zoë".to_owned(), "zo_-2752b88686".to_owned()),
            ("Ana María".to_owned(), "Ana_Mar_a-8358ed271b".to_owned()),
            long,
        ];
        for (identity, expected) in cases {
            assert_eq!(source_identity(&identity), expected, "{identity}");
            assert!(source_identity(&identity).len() <= 64);
        }
    }

    #[test]
    fn a_hundred_characters_keep_fifty_three() {
        let identity = format!("{}@example.com", "p".repeat(88));
        let mapped = source_identity(&identity);
        assert_eq!(mapped.len(), 64);
        assert_eq!(&mapped[..53], "p".repeat(53));
        assert_eq!(&mapped[53..], "-5d67dfa0f7");
        assert_eq!(tag_value(&identity), identity);
    }

    #[test]
    fn tag_values_keep_letters_spaces_and_numbers() {
        assert_eq!(tag_value("Zoë Ünal ٣"), "Zoë Ünal ٣");
        assert_eq!(tag_value("a\tb"), "a_b-894891f8b7");
        let combining = "e\u{301}";
        assert_eq!(tag_value(combining), "e_-bf12767b0f");
        let long = "é".repeat(300);
        let mapped = tag_value(&long);
        assert_eq!(mapped.chars().count(), 256);
        assert!(mapped.starts_with(&"é".repeat(245)));
        assert!(mapped.ends_with("-7250b66610"));
    }
}
