//! Fuzzes configuration parsing and validation with a fixed
//! environment: any file text gives a config or a list of problems.
//!
//! Values naming files (`*_file`, `ca_file`) are read from disk as the
//! broker would; relative ones resolve under `/x`, which does not exist.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use studio_broker::config::{Config, Env};

/// Every variable is set except those whose name ends in `_UNSET`.
struct FixedEnv;

/// Standard base64 of 64 bytes, long enough for a cookie key.
const COOKIE_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIj\
    JCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";

impl Env for FixedEnv {
    fn var(&self, name: &str) -> Option<String> {
        if name.ends_with("_UNSET") {
            None
        } else if name.contains("KEY") {
            Some(COOKIE_KEY.to_owned())
        } else {
            Some("fuzz-client-secret".to_owned())
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Config::parse(Path::new("/x/broker.toml"), text, &FixedEnv);
});
