//! Fuzzes the sign-in return path: whatever `rd` or `target_link_uri`
//! says, the answer is a path on the broker's own origin.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use studio_broker::login::return_path;
use url::Url;

static PUBLIC: LazyLock<Url> =
    LazyLock::new(|| Url::parse("https://studio.example.com").expect("a fixed, valid URL"));

fuzz_target!(|data: &[u8]| {
    let Ok(target) = std::str::from_utf8(data) else {
        return;
    };
    let path = return_path::validate(target, &PUBLIC);

    assert!(path.starts_with('/'), "{path:?} is not a path");
    assert!(!path.starts_with("//"), "{path:?} is scheme-relative");
    assert!(!path.starts_with("/\\"), "{path:?} starts with /\\");
    let joined = PUBLIC.join(&path);
    let same = joined.is_ok_and(|url| url.origin() == PUBLIC.origin());
    assert!(same, "{path:?} leaves the public origin");
});
