//! Why a table did not load, and the collector of problems that builds it.

use std::fmt;
use std::path::{Path, PathBuf};

/// At most this many problems are kept; the rest are only counted.
const MAX_PROBLEMS: usize = 50;

/// A table that did not load, with every problem found in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The table file.
    pub path: PathBuf,
    /// One message per problem, each naming the file, the row and the field.
    pub problems: Vec<String>,
    /// Problems found beyond those in `problems`.
    pub omitted: usize,
}

impl LoadError {
    pub(super) fn single(path: &Path, problem: String) -> LoadError {
        LoadError {
            path: path.to_path_buf(),
            problems: vec![problem],
            omitted: 0,
        }
    }

    /// A reload whose thread ended before it answered.
    pub(super) fn interrupted(path: &Path, cause: &dyn fmt::Display) -> LoadError {
        let problem = format!(
            "{}: the reload stopped before it finished: {cause}",
            path.display()
        );
        LoadError::single(path, problem)
    }
}

impl fmt::Display for LoadError {
    /// One problem per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = self.problems.iter();
        if let Some(first) = lines.next() {
            f.write_str(first)?;
        }
        for line in lines {
            write!(f, "\n{line}")?;
        }
        if self.omitted > 0 {
            write!(f, "\n... and {} more", self.omitted)?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// Collects the problems of one file, each prefixed with the file's name
/// and the place in it.
#[derive(Debug)]
pub(super) struct Problems {
    file: String,
    /// `row` for TOML, where rows are counted; `line` for line formats.
    place: &'static str,
    kept: Vec<String>,
    omitted: usize,
}

impl Problems {
    pub(super) fn new(file: &str, place: &'static str) -> Problems {
        Problems {
            file: file.to_owned(),
            place,
            kept: Vec::new(),
            omitted: 0,
        }
    }

    /// The file's name as messages show it.
    pub(super) fn file(&self) -> &str {
        &self.file
    }

    /// `row 3` or `line 3`.
    pub(super) fn place(&self, number: u32) -> String {
        format!("{} {number}", self.place)
    }

    /// A problem with the file as a whole.
    pub(super) fn in_file(&mut self, message: impl fmt::Display) {
        self.push(format!("{}: {message}", self.file));
    }

    /// A problem at a row or line.
    pub(super) fn at(&mut self, number: u32, message: impl fmt::Display) {
        let place = self.place(number);
        self.push(format!("{}: {place}: {message}", self.file));
    }

    pub(super) fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    pub(super) fn into_error(self) -> LoadError {
        LoadError {
            path: PathBuf::from(self.file),
            problems: self.kept,
            omitted: self.omitted,
        }
    }

    fn push(&mut self, message: String) {
        if self.kept.len() < MAX_PROBLEMS {
            self.kept.push(message);
        } else {
            self.omitted += 1;
        }
    }
}
