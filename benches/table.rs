//! Table lookups at 1k, 100k and 1M rows: what one request pays to find
//! its caller's grants, whatever the size of the table.

// A benchmark, like a test, stops loudly at the fixture that broke.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::fmt::Write;
use std::hint::black_box;
use studio_broker::table::{IdentityKind, Schema, Table};

/// A CSV table of `rows` people, one grant each, in domain `ml`.
fn csv(rows: usize, email: bool) -> String {
    let mut text =
        String::from("identity,domain,profile,space,landing_uri,session_seconds,iam_user\n");
    for i in 0..rows {
        let identity = if email {
            format!("user{i:07}@example.com")
        } else {
            format!("user{i:07}")
        };
        let _ = writeln!(text, "{identity},ml,user{i:07},,,,");
    }
    text
}

fn table(rows: usize, kind: IdentityKind) -> Table {
    let schema = Schema {
        domains: vec!["ml".into()],
        identity: kind,
    };
    let text = csv(rows, kind == IdentityKind::Email);
    Table::parse("users.csv", &text, &schema).expect("a generated table loads")
}

fn lookups(c: &mut Criterion) {
    let mut group = c.benchmark_group("table/rows_for");
    for rows in [1_000, 100_000, 1_000_000] {
        let table = table(rows, IdentityKind::Opaque);
        let probe = format!("user{:07}", rows / 2);
        assert_eq!(table.rows_for(&probe).len(), 1);
        group.bench_with_input(BenchmarkId::new("sub", rows), &probe, |b, probe| {
            b.iter(|| table.rows_for(black_box(probe)).len())
        });
    }
    let table = table(100_000, IdentityKind::Email);
    let probe = "User0050000@Example.com".to_owned();
    assert_eq!(table.rows_for(&probe).len(), 1);
    group.bench_with_input(BenchmarkId::new("email", 100_000), &probe, |b, probe| {
        b.iter(|| table.rows_for(black_box(probe)).len())
    });
    group.finish();
}

criterion_group!(benches, lookups);
criterion_main!(benches);
