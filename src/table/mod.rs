//! The user-to-profile table: which SageMaker Studio profile (and space)
//! each identity may open, in which domain.
//!
//! A table is read from a `.toml`, `.csv` or `.jsonl` file, validated whole
//! (every problem is reported, and one bad row rejects the file), and then
//! looked up by identity in constant time. [`Live`] holds the table in force,
//! reloads it when its file changes, and keeps the previous table when a new
//! one does not load.
//!
//! Large files are expected: CSV and JSONL are streamed record by record, and
//! a row costs a little over 200 bytes in memory.

mod build;
mod error;
mod format;
mod live;
mod rules;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

pub use error::LoadError;
pub use format::Format;
pub use live::{Live, Watcher};
pub use rules::normalize;

/// How identities from `oidc.identity_claim` are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityKind {
    /// Email addresses: compared after Unicode NFC and lower-casing.
    Email,
    /// Any other claim: compared byte for byte.
    Opaque,
}

impl IdentityKind {
    /// The kind of identity a claim name carries.
    pub fn for_claim(claim: &str) -> IdentityKind {
        if claim == "email" {
            IdentityKind::Email
        } else {
            IdentityKind::Opaque
        }
    }
}

/// What a table is validated against.
#[derive(Clone, Debug)]
pub struct Schema {
    /// The configured domain aliases, in configuration order.
    pub domains: Vec<String>,
    /// How identities are compared.
    pub identity: IdentityKind,
}

/// One grant: an identity may open a profile (and space) in a domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    identity: Arc<str>,
    domain: Arc<str>,
    profile: Box<str>,
    space: Option<Box<str>>,
    extra: Option<Box<Extra>>,
    line: u32,
    domain_rank: u16,
}

/// The optional fields that most rows leave out, kept apart so that a
/// row without them costs one pointer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Extra {
    landing_uri: Option<Box<str>>,
    session_seconds: Option<u32>,
    iam_user: Option<Box<str>>,
}

impl Row {
    /// The identity, normalised as its [`IdentityKind`] asks.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The domain alias.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The SageMaker user profile name, as the file spells it.
    pub fn profile(&self) -> &str {
        &self.profile
    }

    /// The space name, if the row names one.
    pub fn space(&self) -> Option<&str> {
        self.space.as_deref()
    }

    /// The `LandingUri` to pass to SageMaker, if any.
    pub fn landing_uri(&self) -> Option<&str> {
        self.extra.as_ref()?.landing_uri.as_deref()
    }

    /// The Studio session length for this row, if it overrides the default.
    pub fn session_seconds(&self) -> Option<u32> {
        self.extra.as_ref()?.session_seconds
    }

    /// The IAM user name for per-user policies, if any.
    pub fn iam_user(&self) -> Option<&str> {
        self.extra.as_ref()?.iam_user.as_deref()
    }

    /// Where the row is in its file: the 1-based index in `[[users]]` for
    /// TOML, the line number for CSV and JSONL.
    pub fn line(&self) -> u32 {
        self.line
    }
}

/// A profile that several identities may open, which `check` reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The domain alias.
    pub domain: String,
    /// The profile, as the first of its rows spells it.
    pub profile: String,
    /// The identities that share it, in order.
    pub identities: Vec<String>,
    message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A validated table, indexed by identity.
#[derive(Debug)]
pub struct Table {
    /// Sorted by identity, then domain (configuration order), then space
    /// (none first), then position in the file.
    rows: Vec<Row>,
    /// Each identity's run of rows in `rows`: start and length.
    index: HashMap<Arc<str>, (u32, u32)>,
    identity: IdentityKind,
    warnings: Vec<Warning>,
}

impl Table {
    /// Reads and validates the table at `path`; the format comes from the
    /// extension (`.toml`, `.csv` or `.jsonl`).
    ///
    /// # Errors
    /// Every problem found, each naming the file, the row, the field and
    /// what would be valid; also an unknown extension or an unreadable file.
    pub fn load(path: &Path, schema: &Schema) -> Result<Table, LoadError> {
        let name = path.display().to_string();
        let file = File::open(path)
            .map_err(|error| format!("{name}: cannot read: {error}"))
            .map_err(|problem| LoadError::single(path, problem))?;
        Table::from_reader(&name, file, schema)
    }

    /// Parses a table held in memory; `name` gives the format by its
    /// extension and names the file in messages.
    ///
    /// # Errors
    /// As [`Table::load`].
    pub fn parse(name: &str, text: &str, schema: &Schema) -> Result<Table, LoadError> {
        Table::from_reader(name, text.as_bytes(), schema)
    }

    /// Reads a table from any reader; `name` gives the format by its
    /// extension and names the file in messages.
    ///
    /// # Errors
    /// As [`Table::load`].
    pub fn from_reader(name: &str, reader: impl Read, schema: &Schema) -> Result<Table, LoadError> {
        let Some(format) = Format::from_path(Path::new(name)) else {
            let message = format!(
                "{name}: unknown table format: the file name must end in \
                 .toml, .csv or .jsonl"
            );
            return Err(LoadError::single(Path::new(name), message));
        };

        let mut builder = build::Builder::new(name, format, schema);
        format::read(format, reader, &mut builder);
        builder.finish()
    }

    /// The rows granted to `identity`, which is normalised first; empty when
    /// it has none.
    pub fn rows_for(&self, identity: &str) -> &[Row] {
        let identity = normalize(self.identity, identity);
        let Some(&(start, len)) = self.index.get(identity.as_ref()) else {
            return &[];
        };
        let start = start as usize;
        &self.rows[start..start + len as usize]
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Every row, grouped by identity.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &Row> {
        self.rows.iter()
    }

    /// Profiles that more than one identity may open.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }
}
