//! Integration tests: the real broker binary against the SageMaker
//! emulator and a real OpenID provider process, all on loopback, through
//! the real AWS SDK. One test crate, so the SDK is linked once.

// Tests and their fixtures fail loudly at the line that broke.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod api;
mod browser;
mod check_remote;
mod cli;
mod conformance;
mod keys;
mod lifecycle;
mod limits;
mod load;
mod manifests;
mod metrics;
mod networks;
mod secrets;
mod signin;
mod source_identity;
mod table_reload;
