//! Log output: `tracing`, JSON when `STUDIO_BROKER_LOG_FORMAT=json`, the
//! level from `RUST_LOG`.
//!
//! Dependencies that can print signed requests, headers or TLS secrets are
//! held at `info` or above whatever `RUST_LOG` says, unless
//! `STUDIO_BROKER_LOG_DEPENDENCIES=1`.

use tracing::Level;
use tracing_subscriber::filter::{EnvFilter, FilterFn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

/// Log targets held at `info`: at `debug` and `trace` they print signed
/// requests (aws_sigv4 logs the canonical request and string to sign),
/// raw headers and connection details.
const CAPPED: &[&str] = &[
    "aws_sigv4",
    "aws_smithy_",
    "aws_runtime",
    "aws_config",
    "aws_sdk_",
    "hyper",
    "h2",
    "reqwest",
    "rustls",
    "oauth2",
];

fn capped(target: &str) -> bool {
    CAPPED.iter().any(|prefix| target.starts_with(prefix))
}

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let uncapped = std::env::var("STUDIO_BROKER_LOG_DEPENDENCIES").is_ok_and(|v| v == "1");
    let cap = FilterFn::new(move |meta| {
        uncapped || *meta.level() <= Level::INFO || !capped(meta.target())
    });
    let json = std::env::var("STUDIO_BROKER_LOG_FORMAT").is_ok_and(|v| v == "json");
    let layer = if json {
        fmt::layer().json().with_current_span(false).boxed()
    } else {
        fmt::layer().with_ansi(false).boxed()
    };
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter).with_filter(cap))
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::capped;

    #[test]
    fn signing_and_transport_crates_are_capped() {
        for t in [
            "aws_sigv4::sign",
            "aws_smithy_runtime::client",
            "hyper_util",
            "h2::codec",
            "rustls::conn",
        ] {
            assert!(capped(t), "{t}");
        }
        for t in [
            "studio_broker::audit",
            "studio_broker::http",
            "tower_http::trace",
        ] {
            assert!(!capped(t), "{t}");
        }
    }
}
