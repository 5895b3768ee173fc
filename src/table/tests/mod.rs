//! Tests of loading, validation and lookup; reloading is in `live`.

mod live;

use super::{IdentityKind, LoadError, Row, Schema, Table};

const NAME_RULE: &str = "must match ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$";
const FIELDS: &str = "identity, domain, profile, space, landing_uri, \
                      session_seconds, iam_user";

fn schema() -> Schema {
    Schema {
        domains: vec!["ml".to_owned(), "research".to_owned()],
        identity: IdentityKind::Email,
    }
}

fn problems(name: &str, text: &str) -> LoadError {
    match Table::parse(name, text, &schema()) {
        Ok(table) => panic!("{name} loaded {} rows", table.len()),
        Err(error) => error,
    }
}

fn table(name: &str, text: &str) -> Table {
    match Table::parse(name, text, &schema()) {
        Ok(table) => table,
        Err(error) => panic!("{error}"),
    }
}

/// One `[[users]]` entry with the required fields and `extra` lines; the
/// values are written between quotes as they are.
fn toml_user(identity: &str, profile: &str, extra: &str) -> String {
    format!(
        "[[users]]\nidentity = \"{identity}\"\ndomain = \"ml\"\n\
         profile = \"{profile}\"\n{extra}\n"
    )
}

#[test]
fn each_rule_has_its_message() {
    // Matches the pattern, but hyphens take it past the length limit.
    let long_profile = format!("{}{}", "a-".repeat(30), "b".repeat(10));
    let long_identity = "i".repeat(513);
    let cases: Vec<(&str, String, String)> = vec![
        (
            "bad profile",
            toml_user("a@x", "al ice", ""),
            format!("users.toml: row 1: profile = \"al ice\": {NAME_RULE}"),
        ),
        (
            "long profile",
            toml_user("a@x", &long_profile, ""),
            format!(
                "users.toml: row 1: profile = {long_profile:?}: \
                 must be at most 63 characters"
            ),
        ),
        (
            "bad space",
            toml_user("a@x", "a", "space = \"team_space\""),
            format!("users.toml: row 1: space = \"team_space\": {NAME_RULE}"),
        ),
        (
            "bad landing uri",
            toml_user("a@x", "a", "landing_uri = \"app:Jupyter:\""),
            "users.toml: row 1: landing_uri = \"app:Jupyter:\": must start \
             with one of \"studio::\", \"app:JupyterServer:\", \
             \"app:JupyterLab:\", \"app:RStudioServerPro:\", \
             \"app:CodeEditor:\", \"app:Canvas:\", followed by an optional \
             path"
                .to_owned(),
        ),
        (
            "session too short",
            toml_user("a@x", "a", "session_seconds = 1799"),
            "users.toml: row 1: session_seconds = 1799: must be an integer \
             from 1800 to 43200"
                .to_owned(),
        ),
        (
            "session too long",
            toml_user("a@x", "a", "session_seconds = 43201"),
            "users.toml: row 1: session_seconds = 43201: must be an integer \
             from 1800 to 43200"
                .to_owned(),
        ),
        (
            "session not a number",
            toml_user("a@x", "a", "session_seconds = 1.5"),
            "users.toml: row 1: session_seconds = 1.5: must be an integer \
             from 1800 to 43200"
                .to_owned(),
        ),
        (
            "unknown domain",
            "[[users]]\nidentity = \"a@x\"\ndomain = \"nope\"\nprofile = \"a\"".to_owned(),
            "users.toml: row 1: domain = \"nope\": not a configured domain \
             (configured: ml, research)"
                .to_owned(),
        ),
        (
            "unknown field",
            toml_user("a@x", "a", "colour = \"red\""),
            format!("users.toml: row 1: unknown field \"colour\" (valid: {FIELDS})"),
        ),
        (
            "empty identity",
            toml_user("", "a", ""),
            "users.toml: row 1: identity = \"\": must not be empty".to_owned(),
        ),
        (
            "long identity",
            toml_user(&long_identity, "a", ""),
            format!(
                "users.toml: row 1: identity = \"{}\"...: must be at most 512 \
                 bytes (it has 513)",
                "i".repeat(80)
            ),
        ),
        (
            "bad iam user",
            toml_user("a@x", "a", "iam_user = \"a b\""),
            "users.toml: row 1: iam_user = \"a b\": must match \
             ^[\\w+=,.@-]{1,64}$"
                .to_owned(),
        ),
        (
            "not a string",
            toml_user("a@x", "a", "").replace("\"a\"\n", "5\n"),
            "users.toml: row 1: profile = 5: must be a string".to_owned(),
        ),
        (
            "missing profile",
            "[[users]]\nidentity = \"a@x\"\ndomain = \"ml\"".to_owned(),
            "users.toml: row 1: profile is required".to_owned(),
        ),
        (
            "duplicate",
            [
                toml_user("alice@example.com", "a", ""),
                toml_user("bob@example.com", "b", ""),
                toml_user("Alice@Example.com", "c", ""),
            ]
            .concat(),
            "users.toml: row 3: identity = \"alice@example.com\": duplicate \
             of row 1 (same identity, domain \"ml\" and no space)"
                .to_owned(),
        ),
        (
            "duplicate with a space",
            [
                toml_user("a@x", "a", "space = \"s\""),
                toml_user("a@x", "a", ""),
                toml_user("a@x", "b", "space = \"s\""),
            ]
            .concat(),
            "users.toml: row 3: identity = \"a@x\": duplicate of row 1 (same \
             identity, domain \"ml\" and space \"s\")"
                .to_owned(),
        ),
        (
            "not a table",
            "users = [1]".to_owned(),
            "users.toml: row 1: must be a table".to_owned(),
        ),
        (
            "unknown key",
            "user = []".to_owned(),
            "users.toml: unknown key \"user\" (valid: users)".to_owned(),
        ),
        (
            "users not an array",
            "[users]\nidentity = \"a@x\"".to_owned(),
            "users.toml: users: must be an array of tables ([[users]])".to_owned(),
        ),
    ];

    for (case, text, expected) in cases {
        let error = problems("users.toml", &text);
        assert_eq!(error.problems, [expected], "{case}");
    }
}

#[test]
fn a_row_reports_every_bad_field() {
    let text = "[[users]]\nidentity = \"\"\ndomain = \"x\"\n\
                space = \"-\"\nsession_seconds = 5\n";
    let error = problems("users.toml", text);
    assert_eq!(
        error.problems,
        [
            "users.toml: row 1: identity = \"\": must not be empty".to_owned(),
            "users.toml: row 1: domain = \"x\": not a configured domain \
             (configured: ml, research)"
                .to_owned(),
            "users.toml: row 1: profile is required".to_owned(),
            format!("users.toml: row 1: space = \"-\": {NAME_RULE}"),
            "users.toml: row 1: session_seconds = 5: must be an integer \
             from 1800 to 43200"
                .to_owned(),
        ]
    );
}

#[test]
fn csv_problems_name_the_line() {
    let text = "identity,domain,profile,session_seconds\n\
                a@x,ml,a,\n\
                b@x,nope,b,\n\
                c@x,ml,c,soon\n\
                d@x,ml\n";
    let error = problems("users.csv", text);
    assert_eq!(
        error.problems,
        [
            "users.csv: line 3: domain = \"nope\": not a configured domain \
             (configured: ml, research)",
            "users.csv: line 4: session_seconds = \"soon\": must be an \
             integer from 1800 to 43200",
            "users.csv: line 5: has 2 cells, but the header has 4",
        ]
    );
}

#[test]
fn csv_header_must_name_known_fields() {
    let error = problems("users.csv", "identity,domain,colour,domain\n");
    assert_eq!(
        error.problems,
        [
            format!("users.csv: line 1: unknown field \"colour\" (valid: {FIELDS})"),
            "users.csv: line 1: column \"domain\" appears twice".to_owned(),
            "users.csv: line 1: missing column \"profile\"".to_owned(),
        ]
    );
}

#[test]
fn jsonl_problems_name_the_line() {
    let text = "{\"identity\": \"a@x\", \"domain\": \"ml\", \"profile\": \"a\"}\n\
                \n\
                {\"identity\": \"b@x\",\n\
                [1]\n\
                {\"identity\": \"c@x\", \"domain\": \"ml\", \"profile\": true}\n";
    let error = problems("users.jsonl", text);
    assert_eq!(
        error.problems,
        [
            "users.jsonl: line 3: invalid JSON at column 19: EOF while \
             parsing a value",
            "users.jsonl: line 4: must be a JSON object",
            "users.jsonl: line 5: profile = true: must be a string",
        ]
    );
}

#[test]
fn toml_syntax_errors_name_the_line() {
    let error = problems("users.toml", "[[users]]\nidentity = \"a\n");
    assert_eq!(error.problems.len(), 1);
    let problem = &error.problems[0];
    assert!(
        problem.starts_with("users.toml: line 2: invalid TOML: "),
        "{problem}"
    );
}

#[test]
fn unknown_extension_is_refused() {
    let error = problems("users.yaml", "");
    assert_eq!(
        error.problems,
        [
            "users.yaml: unknown table format: the file name must end in \
          .toml, .csv or .jsonl"
        ]
    );
}

#[test]
fn problems_are_capped() {
    let text: String = (0..60)
        .map(|n| toml_user(&format!("u{n}@x"), "-", ""))
        .collect();
    let error = problems("users.toml", &text);
    assert_eq!(error.problems.len(), 50);
    assert_eq!(error.omitted, 10);
    assert!(error.to_string().ends_with("\n... and 10 more"));
    assert_eq!(error.to_string().lines().count(), 51);
}

/// The parts of a row that a file gives, for comparing formats.
fn fields(row: &Row) -> String {
    format!(
        "{} {} {} {:?} {:?} {:?} {:?}",
        row.identity(),
        row.domain(),
        row.profile(),
        row.space(),
        row.landing_uri(),
        row.session_seconds(),
        row.iam_user(),
    )
}

#[test]
fn all_formats_read_the_same_rows() {
    let toml = table(
        "users.toml",
        include_str!("../../../tests/fixtures/tables/users.toml"),
    );
    let csv = table(
        "users.csv",
        include_str!("../../../tests/fixtures/tables/users.csv"),
    );
    let jsonl = table(
        "users.jsonl",
        include_str!("../../../tests/fixtures/tables/users.jsonl"),
    );

    let expected = [
        "alice@example.com ml alice None None None None",
        "alice@example.com research alice Some(\"team-space\") \
         Some(\"app:JupyterLab:\") Some(7200) None",
        "bob@example.com ml bob None None None Some(\"bob\")",
        "carol@example.com ml Alice None None None None",
    ];
    for table in [&toml, &csv, &jsonl] {
        let rows: Vec<String> = table.rows().map(fields).collect();
        assert_eq!(rows, expected);
        assert_eq!(table.warnings().len(), 1);
    }
}

#[test]
fn the_fixture_loads_from_its_file() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tables/users.csv");
    let table = Table::load(&path, &schema()).map_err(|e| e.to_string());
    assert_eq!(table.map(|t| t.len()), Ok(4));
}

#[test]
fn lookup_finds_an_identitys_rows_in_domain_order() {
    let text = [
        toml_user("a@x", "a", "domain = \"research\"").replace("domain = \"ml\"\n", ""),
        toml_user("b@x", "b", ""),
        toml_user("a@x", "a", "space = \"s\""),
        toml_user("a@x", "a", ""),
    ]
    .concat();
    let table = table("users.toml", &text);

    let rows: Vec<(&str, Option<&str>, u32)> = table
        .rows_for("A@X")
        .iter()
        .map(|row| (row.domain(), row.space(), row.line()))
        .collect();
    assert_eq!(
        rows,
        [("ml", None, 4), ("ml", Some("s"), 3), ("research", None, 1)]
    );
    assert_eq!(table.rows_for("b@x").len(), 1);
    assert!(table.rows_for("nobody@x").is_empty());
    assert_eq!(table.len(), 4);
}

#[test]
fn emails_are_compared_composed_and_lower_cased() {
    let text = [
        toml_user("Jose\u{301}@Example.com", "jose", ""),
        toml_user("\u{ff21}lice@Example.COM", "alice", ""),
    ]
    .concat();
    let table = table("users.toml", &text);

    assert_eq!(table.rows_for("JOS\u{c9}@example.com").len(), 1);
    assert_eq!(table.rows_for("jos\u{e9}@EXAMPLE.com").len(), 1);
    assert_eq!(table.rows_for("\u{ff41}lice@example.com").len(), 1);
    assert!(table.rows_for("alice@example.com").is_empty());
}

#[test]
fn opaque_identities_are_compared_exactly() {
    let schema = Schema {
        domains: vec!["ml".to_owned()],
        identity: IdentityKind::Opaque,
    };
    let text = toml_user("Sub|ABC", "a", "");
    let table = Table::parse("users.toml", &text, &schema);
    let table = table.map_err(|e| e.to_string());
    let counts = table.map(|t| (t.rows_for("Sub|ABC").len(), t.rows_for("sub|abc").len()));
    assert_eq!(counts, Ok((1, 0)));
}

#[test]
fn a_profile_shared_without_regard_to_case_is_a_warning() {
    let text = [
        toml_user("alice@x", "alice", ""),
        toml_user("alice@x", "alice", "space = \"s\""),
        toml_user("bob@x", "bob", ""),
        toml_user("carol@x", "ALICE", ""),
        toml_user("dave@x", "bob", "").replace("\"ml\"", "\"research\""),
    ]
    .concat();
    let table = table("users.toml", &text);

    let warnings: Vec<String> = table.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "users.toml: profile \"alice\" in domain \"ml\" is shared by 2 \
          identities: \"alice@x\" (row 1), \"carol@x\" (row 4)"
        ]
    );
    let warning = &table.warnings()[0];
    assert_eq!(warning.identities, ["alice@x", "carol@x"]);
    assert_eq!(
        (warning.domain.as_str(), warning.profile.as_str()),
        ("ml", "alice")
    );
}

#[test]
fn an_empty_table_loads() {
    assert!(table("users.toml", "").is_empty());
    assert!(table("users.jsonl", "\n\n").is_empty());
    assert!(table("users.csv", "identity,domain,profile\n").is_empty());
}

/// A million CSV rows load; run with `--ignored --release` to see the time
/// and memory it takes.
#[test]
#[ignore = "large; run by hand"]
fn a_million_csv_rows_load() {
    use std::io::Write;

    let folder = tempfile::tempdir().map_err(|e| e.to_string());
    let folder = folder.unwrap_or_else(|e| panic!("{e}"));
    let path = folder.path().join("users.csv");
    let file = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut out = std::io::BufWriter::new(file);
    let write = |out: &mut std::io::BufWriter<_>, n: u32| {
        writeln!(out, "user{n:07}@example.com,ml,profile{n:07}")
    };
    let header = writeln!(out, "identity,domain,profile");
    let rows = (0..1_000_000).try_for_each(|n| write(&mut out, n));
    let flushed = out.flush();
    assert!(header.is_ok() && rows.is_ok() && flushed.is_ok());

    let table = Table::load(&path, &schema()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(table.len(), 1_000_000);
    assert_eq!(
        table.rows_for("user0123456@example.com")[0].profile(),
        "profile0123456"
    );
}
