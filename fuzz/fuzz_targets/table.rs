//! Fuzzes the user table readers. The first byte picks the format
//! (its value modulo 3: TOML, CSV, JSON Lines) and, by the next bit of
//! its value, how identities compare; the rest is the file's text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use studio_broker::table::{IdentityKind, Schema, Table};

const NAMES: [&str; 3] = ["users.toml", "users.csv", "users.jsonl"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let name = NAMES[usize::from(pick % 3)];
    let identity = match (pick / 3) % 2 {
        0 => IdentityKind::Email,
        _ => IdentityKind::Opaque,
    };
    let schema = Schema {
        domains: vec!["ml".to_owned(), "research".to_owned()],
        identity,
    };

    if let Ok(table) = Table::parse(name, text, &schema) {
        for row in table.rows() {
            assert!(!table.rows_for(row.identity()).is_empty());
        }
    }
});
