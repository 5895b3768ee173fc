//! The SDK floor: the CPU one `CreatePresignedDomainUrl` costs through the
//! broker's own SageMaker client, with nothing of the broker around it.
//!
//! Reads a broker config (as `serve` does), builds the clients with
//! `studio::build_clients`, and mints sequentially for one table row.
//! Prints one JSON object: calls, wall time, CPU per call (utime + stime
//! of this process from `/proc/self/stat`) and latency percentiles.
//!
//! ```sh
//! sdk_floor --config broker.toml --domain ml --profile alice --calls 5000
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use studio_broker::config::{Config, ProcessEnv};
use studio_broker::studio::{self, Studio, Target};

/// What to mint and how often.
struct Args {
    config: PathBuf,
    domain: String,
    profile: String,
    calls: usize,
    warmup: usize,
    clock_ticks: u64,
}

#[derive(Debug, thiserror::Error)]
enum Error {
    #[error("usage: {0}")]
    Usage(String),
    #[error("{0}")]
    Config(#[from] studio_broker::config::Error),
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("mint failed: {0}")]
    Mint(#[from] studio::MintError),
    #[error("cannot read this process's CPU time")]
    Stat,
    #[error("cannot write the result: {0}")]
    Write(std::io::Error),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sdk_floor: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Error> {
    let args = parse_args(std::env::args().skip(1))?;
    let text =
        std::fs::read_to_string(&args.config).map_err(|e| Error::Read(args.config.clone(), e))?;
    let config = Config::parse(&args.config, &text, &ProcessEnv)?;

    let shared = studio::load_shared().await;
    let domains = studio::build_clients(&shared, &config).await;
    let studio = Studio::new(domains, &config.studio);
    let target = Target {
        domain: &args.domain,
        profile: &args.profile,
        space: None,
        landing_uri: None,
        session_seconds: None,
    };

    for _ in 0..args.warmup {
        studio.mint(&target, &args.profile).await?;
    }
    let report = measure(&studio, &target, &args).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{report}").map_err(Error::Write)
}

/// Mints `args.calls` times in a row and reports the cost.
async fn measure(
    studio: &Studio,
    target: &Target<'_>,
    args: &Args,
) -> Result<serde_json::Value, Error> {
    let mut latencies = Vec::with_capacity(args.calls);
    let cpu_before = cpu_ticks()?;
    let started = Instant::now();
    for _ in 0..args.calls {
        let one = Instant::now();
        studio.mint(target, &args.profile).await?;
        latencies.push(one.elapsed());
    }
    let wall = started.elapsed();
    let ticks = cpu_ticks()? - cpu_before;

    let cpu_us = ticks as f64 * 1e6 / args.clock_ticks as f64;
    latencies.sort_unstable();
    Ok(serde_json::json!({
        "calls": args.calls,
        "wall_seconds": wall.as_secs_f64(),
        "cpu_seconds": cpu_us / 1e6,
        "cpu_us_per_call": cpu_us / args.calls as f64,
        "latency_p50_ms": millis(percentile(&latencies, 0.50)),
        "latency_p99_ms": millis(percentile(&latencies, 0.99)),
        "calls_per_second": args.calls as f64 / wall.as_secs_f64(),
    }))
}

/// utime + stime of this process, in clock ticks.
fn cpu_ticks() -> Result<u64, Error> {
    let stat = std::fs::read_to_string("/proc/self/stat").map_err(|_| Error::Stat)?;
    // The command name may hold spaces; the fields after it do not.
    let after_name = stat.rsplit_once(')').ok_or(Error::Stat)?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the line; 3 is the first after the name.
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Ok(field(14).ok_or(Error::Stat)? + field(15).ok_or(Error::Stat)?)
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, Error> {
    let mut parsed = Args {
        config: PathBuf::from("config/broker.toml"),
        domain: "ml".into(),
        profile: "alice".into(),
        calls: 5000,
        warmup: 200,
        clock_ticks: 100,
    };
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| Error::Usage(format!("{flag} needs a value")))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| Error::Usage(format!("{flag} takes a number")))
        };
        match flag.as_str() {
            "--config" => parsed.config = PathBuf::from(&value),
            "--domain" => parsed.domain = value.clone(),
            "--profile" => parsed.profile = value.clone(),
            "--calls" => parsed.calls = number()?.max(1),
            "--warmup" => parsed.warmup = number()?,
            "--clock-ticks" => parsed.clock_ticks = number()?.max(1) as u64,
            other => return Err(Error::Usage(format!("unknown flag {other}"))),
        }
    }
    Ok(parsed)
}
