//! Fuzzes JWK Set parsing: any bytes the provider's `jwks_uri` could
//! answer with must give a key set or an error, never a panic.

#![no_main]

use jsonwebtoken::Algorithm;
use libfuzzer_sys::fuzz_target;
use studio_broker::identity::keys::KeySet;

const ALLOWED: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::ES256,
    Algorithm::PS256,
    Algorithm::EdDSA,
];

fuzz_target!(|data: &[u8]| {
    if let Ok(set) = KeySet::parse(data, &ALLOWED) {
        for key in &set.keys {
            assert!(!key.algorithms.is_empty(), "a kept key verifies nothing");
            assert!(key.algorithms.iter().all(|a| ALLOWED.contains(a)));
        }
    }
});
