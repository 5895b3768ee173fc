//! Validation of raw rows into a [`Table`]: each field against its rule,
//! then duplicates across rows, then the index and the warnings.

use std::fmt;
use std::sync::Arc;

use super::error::Problems;
use super::rules::{self, NAME_MAX_CHARS, NAME_PATTERN};
use super::{Extra, Format, IdentityKind, LoadError, Row, Schema, Table};

mod finish;

/// A field of a row, in the order its checks are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Field {
    Identity,
    Domain,
    Profile,
    Space,
    LandingUri,
    SessionSeconds,
    IamUser,
}

impl Field {
    const ALL: [Field; 7] = [
        Field::Identity,
        Field::Domain,
        Field::Profile,
        Field::Space,
        Field::LandingUri,
        Field::SessionSeconds,
        Field::IamUser,
    ];

    pub(super) const REQUIRED: [Field; 3] = [Field::Identity, Field::Domain, Field::Profile];

    pub(super) fn name(self) -> &'static str {
        match self {
            Field::Identity => "identity",
            Field::Domain => "domain",
            Field::Profile => "profile",
            Field::Space => "space",
            Field::LandingUri => "landing_uri",
            Field::SessionSeconds => "session_seconds",
            Field::IamUser => "iam_user",
        }
    }

    pub(super) fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|field| field.name() == name)
    }

    /// The message for a field name that is not one of ours.
    pub(super) fn unknown(name: &str) -> String {
        let valid: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
        format!("unknown field {name:?} (valid: {})", valid.join(", "))
    }
}

/// A field's value as the file gave it.
#[derive(Debug)]
pub(super) enum Value {
    Text(String),
    Integer(i64),
    /// Any other type, as the file's syntax writes it.
    Other(String),
}

impl fmt::Display for Value {
    /// The value as messages quote it, cut short when long.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN_CHARS: usize = 80;
        let (text, quoted) = match self {
            Value::Text(text) => (text.as_str(), true),
            Value::Integer(number) => return write!(f, "{number}"),
            Value::Other(text) => (text.as_str(), false),
        };

        let cut = text.char_indices().nth(SHOWN_CHARS).map(|(at, _)| at);
        let shown = &text[..cut.unwrap_or(text.len())];
        let more = if cut.is_some() { "..." } else { "" };
        if quoted {
            write!(f, "{shown:?}{more}")
        } else {
            write!(f, "{shown}{more}")
        }
    }
}

/// A row's fields as read, before validation.
#[derive(Debug, Default)]
pub(super) struct RawRow {
    values: [Option<Value>; 7],
}

impl RawRow {
    pub(super) fn set(&mut self, field: Field, value: Value) {
        self.values[field as usize] = Some(value);
    }

    fn take(&mut self, field: Field) -> Option<Value> {
        self.values[field as usize].take()
    }
}

/// Turns raw rows into a table, collecting every problem on the way.
pub(super) struct Builder {
    problems: Problems,
    domains: Vec<Arc<str>>,
    identity: IdentityKind,
    rows: Vec<Row>,
}

impl Builder {
    pub(super) fn new(file: &str, format: Format, schema: &Schema) -> Builder {
        let domains = schema.domains.iter().map(|d| Arc::from(d.as_str()));
        Builder {
            problems: Problems::new(file, format.place()),
            domains: domains.collect(),
            identity: schema.identity,
            rows: Vec::new(),
        }
    }

    pub(super) fn problems(&mut self) -> &mut Problems {
        &mut self.problems
    }

    /// Sets field `key` of `raw`, or reports it as unknown; `None` leaves
    /// the field out.
    pub(super) fn set(&mut self, raw: &mut RawRow, row: u32, key: &str, value: Option<Value>) {
        match (Field::from_name(key), value) {
            (Some(field), Some(value)) => raw.set(field, value),
            (Some(_), None) => {}
            (None, _) => self.problems.at(row, Field::unknown(key)),
        }
    }

    /// Validates one row and keeps it, or reports all that is wrong with it.
    pub(super) fn add(&mut self, row: u32, mut raw: RawRow) {
        let mut check = Check {
            problems: &mut self.problems,
            row,
            valid: true,
        };
        let identity = check.identity(raw.take(Field::Identity));
        let domain = check.domain(raw.take(Field::Domain), &self.domains);
        let profile = check.name(Field::Profile, raw.take(Field::Profile));
        let space = check.name(Field::Space, raw.take(Field::Space));
        let landing_uri = check.landing_uri(raw.take(Field::LandingUri));
        let seconds = check.seconds(raw.take(Field::SessionSeconds));
        let iam_user = check.iam_user(raw.take(Field::IamUser));
        let (Some(identity), Some((domain_rank, domain)), Some(profile)) =
            (identity, domain, profile)
        else {
            return;
        };
        if !check.valid {
            return;
        }

        let identity = rules::normalize(self.identity, &identity);
        let extra = Extra {
            landing_uri: landing_uri.map(String::into_boxed_str),
            session_seconds: seconds,
            iam_user: iam_user.map(String::into_boxed_str),
        };
        self.rows.push(Row {
            identity: Arc::from(identity.as_ref()),
            domain,
            profile: profile.into_boxed_str(),
            space: space.map(String::into_boxed_str),
            extra: (extra != Extra::default()).then(|| Box::new(extra)),
            line: row,
            domain_rank,
        });
    }

    /// The table, unless any problem was found.
    pub(super) fn finish(self) -> Result<Table, LoadError> {
        finish::finish(self.rows, self.problems, self.identity)
    }
}

/// The checks of one row's fields. Each returns the field's value when it
/// is present and valid, and reports it otherwise.
struct Check<'a> {
    problems: &'a mut Problems,
    row: u32,
    valid: bool,
}

impl Check<'_> {
    fn identity(&mut self, value: Option<Value>) -> Option<String> {
        let identity = self.required_text(Field::Identity, value)?;
        let problem = if identity.is_empty() {
            "must not be empty".to_owned()
        } else if identity.len() > rules::IDENTITY_MAX_BYTES {
            let max = rules::IDENTITY_MAX_BYTES;
            format!("must be at most {max} bytes (it has {})", identity.len())
        } else {
            return Some(identity);
        };
        self.report(Field::Identity, &Value::Text(identity), problem)
    }

    fn domain(&mut self, value: Option<Value>, domains: &[Arc<str>]) -> Option<(u16, Arc<str>)> {
        let alias = self.required_text(Field::Domain, value)?;
        if let Some(at) = domains.iter().position(|d| **d == *alias) {
            let rank = u16::try_from(at).unwrap_or(u16::MAX);
            return Some((rank, domains[at].clone()));
        }

        let configured: Vec<&str> = domains.iter().map(|d| &**d).collect();
        let problem = if configured.is_empty() {
            "not a configured domain (none are configured)".to_owned()
        } else {
            let configured = configured.join(", ");
            format!("not a configured domain (configured: {configured})")
        };
        self.report(Field::Domain, &Value::Text(alias), problem)
    }

    /// A profile or space name.
    fn name(&mut self, field: Field, value: Option<Value>) -> Option<String> {
        let name = match field {
            Field::Profile => self.required_text(field, value)?,
            _ => self.text(field, value?)?,
        };
        let problem = if !rules::is_sagemaker_name(&name) {
            format!("must match {NAME_PATTERN}")
        } else if name.len() > NAME_MAX_CHARS {
            format!("must be at most {NAME_MAX_CHARS} characters")
        } else {
            return Some(name);
        };
        self.report(field, &Value::Text(name), problem)
    }

    fn landing_uri(&mut self, value: Option<Value>) -> Option<String> {
        let uri = self.text(Field::LandingUri, value?)?;
        let problem = if !rules::is_landing_uri(&uri) {
            let prefixes: Vec<String> = rules::LANDING_URI_PREFIXES
                .iter()
                .map(|prefix| format!("{prefix:?}"))
                .collect();
            format!(
                "must start with one of {}, followed by an optional path",
                prefixes.join(", ")
            )
        } else if uri.len() > rules::LANDING_URI_MAX_BYTES {
            let max = rules::LANDING_URI_MAX_BYTES;
            format!("must be at most {max} bytes")
        } else {
            return Some(uri);
        };
        self.report(Field::LandingUri, &Value::Text(uri), problem)
    }

    fn seconds(&mut self, value: Option<Value>) -> Option<u32> {
        let value = value?;
        let number = match &value {
            Value::Integer(number) => Some(*number),
            Value::Text(text) => text.parse::<i64>().ok(),
            Value::Other(_) => None,
        };
        let range = rules::SESSION_SECONDS;
        match number.filter(|n| range.contains(n)).map(u32::try_from) {
            Some(Ok(seconds)) => Some(seconds),
            _ => {
                let problem = format!(
                    "must be an integer from {} to {}",
                    range.start(),
                    range.end()
                );
                self.report(Field::SessionSeconds, &value, problem)
            }
        }
    }

    fn iam_user(&mut self, value: Option<Value>) -> Option<String> {
        let name = self.text(Field::IamUser, value?)?;
        if rules::is_iam_user(&name) {
            return Some(name);
        }
        let problem = format!("must match {}", rules::IAM_USER_PATTERN);
        self.report(Field::IamUser, &Value::Text(name), problem)
    }

    fn required_text(&mut self, field: Field, value: Option<Value>) -> Option<String> {
        if value.is_none() {
            self.valid = false;
            let problem = format_args!("{} is required", field.name());
            self.problems.at(self.row, problem);
        }
        self.text(field, value?)
    }

    fn text(&mut self, field: Field, value: Value) -> Option<String> {
        match value {
            Value::Text(text) => Some(text),
            other => self.report(field, &other, "must be a string"),
        }
    }

    fn report<T>(&mut self, field: Field, value: &Value, problem: impl fmt::Display) -> Option<T> {
        self.valid = false;
        let message = format_args!("{} = {value}: {problem}", field.name());
        self.problems.at(self.row, message);
        None
    }
}
