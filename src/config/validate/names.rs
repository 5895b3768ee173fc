//! Full-match checks of the names AWS and this broker accept.

/// What [`is_alias`] accepts, for messages.
pub const ALIAS_RULE: &str = "match ^[a-z0-9][a-z0-9-]{0,62}$";
/// What [`is_domain_id`] accepts, for messages.
pub const DOMAIN_ID_RULE: &str = "match ^d-(-*[a-z0-9]){1,61}$, such as \"d-abc123def456\"";
/// What [`is_region`] accepts, for messages.
pub const REGION_RULE: &str = "be an AWS region such as \"eu-west-1\"";
/// What [`is_account`] accepts, for messages.
pub const ACCOUNT_RULE: &str = "be 12 digits";

/// `^[a-z0-9][a-z0-9-]{0,62}$`
pub fn is_alias(s: &str) -> bool {
    let b = s.as_bytes();
    let ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let rest_ok = |b: &[u8]| b.iter().all(|c| ok(c) || *c == b'-');
    (1..=63).contains(&b.len()) && ok(&b[0]) && rest_ok(&b[1..])
}

/// `^d-(-*[a-z0-9]){1,61}$`: after `d-`, 1 to 61 alphanumerics, each
/// possibly preceded by hyphens, so the id never ends with one.
pub fn is_domain_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("d-") else {
        return false;
    };
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let count = rest.bytes().filter(|c| alnum(*c)).count();
    rest.bytes().all(|c| c == b'-' || alnum(c)) && (1..=61).contains(&count) && !rest.ends_with('-')
}

/// Regions look like `us-east-1`, `eu-central-2`, `us-gov-west-1`.
pub fn is_region(s: &str) -> bool {
    let word = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    let digits = |p: &str| p.bytes().all(|c| c.is_ascii_digit());
    let parts: Vec<&str> = s.split('-').collect();
    let last_digits = parts.last().is_some_and(|p| digits(p));
    parts.len() >= 3 && parts.iter().all(|p| word(p)) && last_digits
}

/// An AWS account id: exactly 12 digits.
pub fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|c| c.is_ascii_digit())
}

/// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`
pub fn is_role_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    matches!(parts.as_slice(),
        ["arn", partition, "iam", "", account, resource]
            if partition.starts_with("aws")
            && is_account(account)
            && resource.strip_prefix("role/").is_some_and(|r| !r.is_empty()))
}
