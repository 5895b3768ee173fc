//! The rules STS applies to an `AssumeRole` request, and its errors as
//! the query protocol reports them: an HTTP status and a code.
//!
//! See <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html>
//! and <https://docs.aws.amazon.com/STS/latest/APIReference/API_Tag.html>.

use std::collections::BTreeMap;

use axum::http::StatusCode;

use crate::error::ApiError;

/// One failed STS call.
#[derive(Debug)]
pub struct StsError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl StsError {
    fn new(status: StatusCode, code: &'static str, message: String) -> Self {
        Self {
            status,
            code,
            message,
        }
    }

    fn validation(message: String) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ValidationError", message)
    }

    /// The denial a role whose trust policy refuses the caller answers.
    pub fn access_denied(role_arn: &str) -> Self {
        let message = format!(
            "User: arn:aws:iam::123456789012:user/emulator is not \
             authorized to perform: sts:AssumeRole on resource: {role_arn}"
        );
        Self::new(StatusCode::FORBIDDEN, "AccessDenied", message)
    }
}

/// Signature failures, in STS's words.
impl From<ApiError> for StsError {
    fn from(error: ApiError) -> Self {
        let (status, code) = match error {
            ApiError::MissingAuthenticationToken => {
                (StatusCode::FORBIDDEN, "MissingAuthenticationToken")
            }
            ApiError::IncompleteSignature(_) => (StatusCode::BAD_REQUEST, "IncompleteSignature"),
            ApiError::UnrecognizedClient => (StatusCode::FORBIDDEN, "InvalidClientTokenId"),
            _ => (StatusCode::FORBIDDEN, "SignatureDoesNotMatch"),
        };
        Self::new(status, code, error.message())
    }
}

/// A valid `AssumeRole` request.
pub struct Input {
    pub role_arn: String,
    pub session_name: String,
    pub source_identity: Option<String>,
    pub duration_seconds: u64,
    pub tags: Vec<(String, String)>,
}

/// Checks the form of an `AssumeRole` request; roles allow sessions of at
/// most `max_session` seconds.
///
/// # Errors
///
/// `InvalidAction` for another action, `ValidationError` for a field that
/// breaks STS's rules.
pub fn check(fields: &BTreeMap<String, String>, max_session: u64) -> Result<Input, StsError> {
    let field = |name: &str| fields.get(name).cloned();
    let action = field("Action").unwrap_or_default();
    if action != "AssumeRole" || field("Version").as_deref() != Some("2011-06-15") {
        let message = format!("Could not find operation {action} for version 2011-06-15");
        return Err(StsError::new(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            message,
        ));
    }
    let role_arn = field("RoleArn").unwrap_or_default();
    if role_parts(&role_arn).1.is_empty() {
        return Err(constraint(&role_arn, "roleArn", "be an IAM role ARN"));
    }
    let session_name = field("RoleSessionName").unwrap_or_default();
    name("roleSessionName", &session_name)?;
    let source_identity = field("SourceIdentity");
    if let Some(source) = &source_identity {
        source_rules(source)?;
    }
    Ok(Input {
        role_arn,
        session_name,
        source_identity,
        duration_seconds: duration(field("DurationSeconds"), max_session)?,
        tags: checked_tags(fields)?,
    })
}

/// The account and role name of `arn:aws:iam::ACCOUNT:role/PATH/NAME`;
/// an empty name for anything else.
pub fn role_parts(arn: &str) -> (&str, &str) {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", "aws", "iam", "", account, resource] = parts[..] else {
        return ("", "");
    };
    let digits = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    let name = resource.strip_prefix("role/").map(|r| r.rsplit('/').next());
    match name.flatten() {
        Some(name) if digits => (account, name),
        _ => ("", ""),
    }
}

/// `Tags.member.N.Key` / `.Value` pairs in the order of `N`.
pub fn tags(fields: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut found: BTreeMap<u32, (String, String)> = BTreeMap::new();
    for (name, value) in fields {
        let Some(rest) = name.strip_prefix("Tags.member.") else {
            continue;
        };
        let Some((n, part)) = rest.split_once('.') else {
            continue;
        };
        let entry = found.entry(n.parse().unwrap_or(0)).or_default();
        match part {
            "Key" => entry.0 = value.clone(),
            "Value" => entry.1 = value.clone(),
            _ => {}
        }
    }
    found.into_values().collect()
}

fn constraint(value: &str, field: &str, rule: &str) -> StsError {
    StsError::validation(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed \
         to satisfy constraint: Member must {rule}"
    ))
}

/// `[\w+=,.@-]{2,64}`, the rule of session names and source identities.
fn name(field: &str, value: &str) -> Result<(), StsError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if !(2..=64).contains(&value.len()) {
        return Err(constraint(value, field, "have length between 2 and 64"));
    }
    if !value.chars().all(allowed) {
        let rule = "satisfy regular expression pattern: [\\w+=,.@-]*";
        return Err(constraint(value, field, rule));
    }
    Ok(())
}

fn source_rules(value: &str) -> Result<(), StsError> {
    name("sourceIdentity", value)?;
    if value.to_ascii_lowercase().starts_with("aws:") {
        let message = "SourceIdentity cannot start with the prefix aws:";
        return Err(StsError::validation(message.to_owned()));
    }
    Ok(())
}

fn duration(value: Option<String>, max_session: u64) -> Result<u64, StsError> {
    let Some(text) = value else {
        return Ok(3600);
    };
    let seconds = text.parse::<u64>().unwrap_or(0);
    if !(900..=43_200).contains(&seconds) {
        let rule = "have value between 900 and 43200";
        return Err(constraint(&text, "durationSeconds", rule));
    }
    if seconds > max_session {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration \
             set for this role."
                .to_owned(),
        ));
    }
    Ok(seconds)
}

/// At most 50 tags, keys of 1 to 128 and values of up to 256 characters
/// of `[\p{L}\p{Z}\p{N}_.:/=+\-@]`, keys unique without case.
fn checked_tags(fields: &BTreeMap<String, String>) -> Result<Vec<(String, String)>, StsError> {
    let tags = tags(fields);
    if tags.len() > 50 {
        return Err(constraint(
            "tags",
            "tags",
            "have length less than or equal to 50",
        ));
    }
    let mut seen = Vec::new();
    for (key, value) in &tags {
        let key_ok = (1..=128).contains(&key.chars().count()) && key.chars().all(tag_char);
        let value_ok = value.chars().count() <= 256 && value.chars().all(tag_char);
        if !key_ok || !value_ok {
            let rule = "satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*";
            return Err(constraint(value, "tags", rule));
        }
        let lower = key.to_lowercase();
        if seen.contains(&lower) {
            let message =
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.";
            return Err(StsError::validation(message.to_owned()));
        }
        seen.push(lower);
    }
    Ok(tags)
}

/// Letters, separators, numbers and `_.:/=+-@`. The common blocks of
/// combining marks stand for all marks, which are not letters.
fn tag_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c);
    }
    let mark = matches!(
        c,
        '\u{0300}'..='\u{036F}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{FE20}'..='\u{FE2F}'
    );
    let separator = c.is_whitespace() && !c.is_control();
    (c.is_alphabetic() && !mark) || c.is_numeric() || separator
}
