//! The signed-in path's own work: sealing and opening the session cookie,
//! and judging a return path after sign-in.

// A benchmark, like a test, stops loudly at the fixture that broke.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use studio_broker::config::Secret;
use studio_broker::login::{SESSION_COOKIE, Sealer, return_path};
use url::Url;

/// 64 bytes of base64, for benchmarks only.
const KEY: &str =
    "wFe2mU3KUGtCCn2VYDJiEJGqXPbdXM4VsJz1e9oXgr4JuRGO48rWG1QTQ4sMMw2tQZ2uxj+p0kLaNOLmmTKeKA==";
const SESSION: &str = r#"{"iss":"http://127.0.0.1:9400","id":"alice","ev":true,"g":["staff"],"at":1700000000,"exp":1700028800}"#;

fn cookies(c: &mut Criterion) {
    let sealer = Sealer::new(&[Secret::new(KEY)]).expect("a 64-byte key");
    let sealed = sealer.seal(SESSION_COOKIE, SESSION);
    c.bench_function("session/seal", |b| {
        b.iter(|| sealer.seal(SESSION_COOKIE, black_box(SESSION)))
    });
    c.bench_function("session/open", |b| {
        b.iter(|| sealer.open(SESSION_COOKIE, black_box(&sealed)).is_some())
    });
    c.bench_function("session/seal_open", |b| {
        b.iter(|| {
            let sealed = sealer.seal(SESSION_COOKIE, black_box(SESSION));
            sealer.open(SESSION_COOKIE, &sealed).is_some()
        })
    });
}

fn return_paths(c: &mut Criterion) {
    let public = Url::parse("https://studio.example.com").expect("a URL");
    let mut group = c.benchmark_group("return_path");
    for (name, target) in [
        ("local", "/go/ml/team?x=1"),
        ("absolute", "https://studio.example.com/go/ml"),
        ("foreign", "https://evil.example.net/go/ml"),
        ("protocol_relative", "//evil.example.net/"),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| return_path::validate(black_box(target), &public))
        });
    }
    group.finish();
}

criterion_group!(benches, cookies, return_paths);
criterion_main!(benches);
