//! The three file formats of a table, each read into raw rows for the
//! builder. CSV and JSONL are streamed; TOML is parsed whole.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::build::{Builder, Field, RawRow, Value};

/// A table file format, chosen by the file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `[[users]]`, an array of tables.
    Toml,
    /// A header row naming the fields, then one row per line; an empty cell
    /// leaves its field out.
    Csv,
    /// One JSON object per line; blank lines are allowed.
    Jsonl,
}

impl Format {
    /// The format for a file name's extension (ignoring case), if known.
    pub fn from_path(path: &Path) -> Option<Format> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "toml" => Some(Format::Toml),
            "csv" => Some(Format::Csv),
            "jsonl" => Some(Format::Jsonl),
            _ => None,
        }
    }

    /// How messages name a place in a file of this format.
    pub(super) fn place(self) -> &'static str {
        match self {
            Format::Toml => "row",
            Format::Csv | Format::Jsonl => "line",
        }
    }
}

/// Reads every row of `reader` into `builder`.
pub(super) fn read(format: Format, reader: impl Read, builder: &mut Builder) {
    match format {
        Format::Toml => read_toml(reader, builder),
        Format::Csv => read_csv(reader, builder),
        Format::Jsonl => read_jsonl(reader, builder),
    }
}

fn read_toml(mut reader: impl Read, builder: &mut Builder) {
    let mut text = String::new();
    if let Err(error) = reader.read_to_string(&mut text) {
        builder
            .problems()
            .in_file(format_args!("cannot read: {error}"));
        return;
    }

    let document = match text.parse::<toml::Table>() {
        Ok(document) => document,
        Err(error) => {
            let start = error.span().map_or(0, |span| span.start);
            let line = line_of(&text, start);
            let message = error.message().trim_end();
            let problem = format_args!("line {line}: invalid TOML: {message}");
            builder.problems().in_file(problem);
            return;
        }
    };
    drop(text);

    for (key, value) in document {
        if key == "users" {
            read_toml_users(value, builder);
        } else {
            let problem = format_args!("unknown key {key:?} (valid: users)");
            builder.problems().in_file(problem);
        }
    }
}

fn read_toml_users(users: toml::Value, builder: &mut Builder) {
    let toml::Value::Array(users) = users else {
        let problem = "users: must be an array of tables ([[users]])";
        builder.problems().in_file(problem);
        return;
    };

    for (index, user) in users.into_iter().enumerate() {
        let row = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let toml::Value::Table(fields) = user else {
            builder.problems().at(row, "must be a table");
            continue;
        };

        let mut raw = RawRow::default();
        for (key, value) in fields {
            builder.set(&mut raw, row, &key, Some(toml_value(value)));
        }
        builder.add(row, raw);
    }
}

fn toml_value(value: toml::Value) -> Value {
    match value {
        toml::Value::String(text) => Value::Text(text),
        toml::Value::Integer(number) => Value::Integer(number),
        other => Value::Other(other.to_string()),
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or(text);
    before.bytes().filter(|&b| b == b'\n').count() + 1
}

fn read_csv(reader: impl Read, builder: &mut Builder) {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(reader);
    let Some(columns) = read_csv_header(&mut csv, builder) else {
        return;
    };

    let mut record = csv::StringRecord::new();
    loop {
        match csv.read_record(&mut record) {
            Ok(true) => add_csv_record(&record, &columns, builder),
            Ok(false) => return,
            Err(error) => {
                if !report_csv_error(&error, builder) {
                    return;
                }
            }
        }
    }
}

/// The field of each column, or `None` (with the problems reported) when
/// the header is unusable.
fn read_csv_header<R: Read>(csv: &mut csv::Reader<R>, builder: &mut Builder) -> Option<Vec<Field>> {
    let header = match csv.headers() {
        Ok(header) => header.clone(),
        Err(error) => {
            report_csv_error(&error, builder);
            return None;
        }
    };
    let line = header.position().map_or(1, |p| csv_line(p.line()));

    let mut columns = Vec::with_capacity(header.len());
    let before = builder.problems().is_empty();
    for name in &header {
        match Field::from_name(name) {
            Some(field) if columns.contains(&field) => {
                let problem = format_args!("column {name:?} appears twice");
                builder.problems().at(line, problem);
            }
            Some(field) => columns.push(field),
            None => builder.problems().at(line, Field::unknown(name)),
        }
    }
    for field in Field::REQUIRED {
        if !columns.contains(&field) {
            let problem = format_args!("missing column {:?}", field.name());
            builder.problems().at(line, problem);
        }
    }

    (before && builder.problems().is_empty()).then_some(columns)
}

fn add_csv_record(record: &csv::StringRecord, columns: &[Field], builder: &mut Builder) {
    let line = record.position().map_or(0, |p| csv_line(p.line()));
    let mut raw = RawRow::default();
    for (cell, field) in record.iter().zip(columns) {
        if !cell.is_empty() {
            raw.set(*field, Value::Text(cell.to_owned()));
        }
    }
    builder.add(line, raw);
}

/// Reports a CSV error; whether reading can go on after it.
fn report_csv_error(error: &csv::Error, builder: &mut Builder) -> bool {
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => {
            let line = pos.as_ref().map_or(0, |p| csv_line(p.line()));
            let expected = expected_len;
            let problem = format_args!("has {len} cells, but the header has {expected}");
            builder.problems().at(line, problem);
            true
        }
        csv::ErrorKind::Utf8 { pos, .. } => {
            let line = pos.as_ref().map_or(0, |p| csv_line(p.line()));
            builder.problems().at(line, "is not valid UTF-8");
            true
        }
        _ => {
            builder
                .problems()
                .in_file(format_args!("cannot read: {error}"));
            false
        }
    }
}

fn csv_line(line: u64) -> u32 {
    u32::try_from(line).unwrap_or(u32::MAX)
}

fn read_jsonl(reader: impl Read, builder: &mut Builder) {
    let mut reader = BufReader::new(reader);
    let mut bytes = Vec::new();
    let mut line: u32 = 0;
    loop {
        bytes.clear();
        match reader.read_until(b'\n', &mut bytes) {
            Ok(0) => return,
            Ok(_) => {
                line = line.saturating_add(1);
                add_json_line(&bytes, line, builder);
            }
            Err(error) => {
                builder
                    .problems()
                    .in_file(format_args!("cannot read: {error}"));
                return;
            }
        }
    }
}

fn add_json_line(bytes: &[u8], line: u32, builder: &mut Builder) {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return;
    }

    let object = match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(object)) => object,
        Ok(_) => return builder.problems().at(line, "must be a JSON object"),
        Err(error) => return builder.problems().at(line, json_problem(&error)),
    };

    let mut raw = RawRow::default();
    for (key, value) in object {
        builder.set(&mut raw, line, &key, json_value(value));
    }
    builder.add(line, raw);
}

/// serde_json's message, without the position it appends (the line is
/// always 1 here, since each line is parsed alone).
fn json_problem(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = text.strip_suffix(&suffix).unwrap_or(&text);
    format!("invalid JSON at column {}: {message}", error.column())
}

/// A JSON value as a field value; `null` leaves the field out.
fn json_value(value: serde_json::Value) -> Option<Value> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(text) => Some(Value::Text(text)),
        serde_json::Value::Number(number) => Some(match number.as_i64() {
            Some(integer) => Value::Integer(integer),
            None => Value::Other(number.to_string()),
        }),
        other => Some(Value::Other(other.to_string())),
    }
}
