//! The SDK floor: the CPU one `CreatePresignedDomainUrl` costs through the
//! broker's own SageMaker client, with nothing of the broker around it.
//!
//! Reads a broker config (as `serve` does), builds the clients with
//! `studio::build_clients`, and mints for one table row: one call at a
//! time, or with `--concurrency N`, N at a time as a loaded broker does.
//! Prints one JSON object: calls, wall time, CPU per call (utime + stime
//! of this process from `/proc/self/stat`) and latency percentiles.
//!
//! ```sh
//! sdk_floor --config broker.toml --domain ml --profile alice --calls 5000
//! sdk_floor --config broker.toml --calls 20000 --concurrency 32
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use studio_broker::config::{Config, ProcessEnv};
use studio_broker::studio::{self, Studio, Target};

/// The broker's allocator (see `src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What to mint and how often.
struct Args {
    config: PathBuf,
    domain: String,
    profile: String,
    calls: usize,
    warmup: usize,
    concurrency: usize,
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
    #[error("a minting task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
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
    let studio = Arc::new(Studio::new(domains, &config.studio));
    let args = Arc::new(args);

    run_workers(&studio, &args, args.warmup).await?;
    let report = measure(&studio, &args).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{report}").map_err(Error::Write)
}

/// Mints `args.calls` times, `args.concurrency` at a time, and reports
/// the cost.
async fn measure(studio: &Arc<Studio>, args: &Arc<Args>) -> Result<serde_json::Value, Error> {
    let cpu_before = cpu_ticks()?;
    let started = Instant::now();
    let mut latencies = run_workers(studio, args, args.calls).await?;
    let wall = started.elapsed();
    let cpu_after = cpu_ticks()?;

    let per_call_us = |ticks: u64| ticks as f64 * 1e6 / args.clock_ticks as f64;
    let user_us = per_call_us(cpu_after.user - cpu_before.user);
    let system_us = per_call_us(cpu_after.system - cpu_before.system);
    let cpu_us = user_us + system_us;
    latencies.sort_unstable();
    Ok(serde_json::json!({
        "calls": args.calls,
        "concurrency": args.concurrency,
        "wall_seconds": wall.as_secs_f64(),
        "cpu_seconds": cpu_us / 1e6,
        "cpu_us_per_call": cpu_us / args.calls as f64,
        "cpu_user_us_per_call": user_us / args.calls as f64,
        "cpu_system_us_per_call": system_us / args.calls as f64,
        "latency_p50_ms": millis(percentile(&latencies, 0.50)),
        "latency_p99_ms": millis(percentile(&latencies, 0.99)),
        "calls_per_second": args.calls as f64 / wall.as_secs_f64(),
    }))
}

/// Makes `calls` mints over `args.concurrency` tasks, each minting one
/// call after another; returns every call's latency.
async fn run_workers(
    studio: &Arc<Studio>,
    args: &Arc<Args>,
    calls: usize,
) -> Result<Vec<Duration>, Error> {
    let workers = args.concurrency.min(calls.max(1));
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..workers {
        // The calls are shared out as evenly as they divide.
        let share = calls / workers + usize::from(worker < calls % workers);
        let (studio, args) = (studio.clone(), args.clone());
        tasks.spawn(async move {
            let target = Target {
                domain: &args.domain,
                profile: &args.profile,
                space: None,
                landing_uri: None,
                session_seconds: None,
            };
            let mut latencies = Vec::with_capacity(share);
            for _ in 0..share {
                let one = Instant::now();
                studio.mint(&target, &args.profile).await?;
                latencies.push(one.elapsed());
            }
            Ok::<_, Error>(latencies)
        });
    }
    let mut latencies = Vec::with_capacity(calls);
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done??);
    }
    Ok(latencies)
}

/// CPU time of this process, in clock ticks.
struct Ticks {
    user: u64,
    system: u64,
}

/// utime and stime of this process.
fn cpu_ticks() -> Result<Ticks, Error> {
    let stat = std::fs::read_to_string("/proc/self/stat").map_err(|_| Error::Stat)?;
    // The command name may hold spaces; the fields after it do not.
    let after_name = stat.rsplit_once(')').ok_or(Error::Stat)?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the line; 3 is the first after the name.
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Ok(Ticks {
        user: field(14).ok_or(Error::Stat)?,
        system: field(15).ok_or(Error::Stat)?,
    })
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
        concurrency: 1,
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
            "--concurrency" => parsed.concurrency = number()?.max(1),
            "--clock-ticks" => parsed.clock_ticks = number()?.max(1) as u64,
            other => return Err(Error::Usage(format!("unknown flag {other}"))),
        }
    }
    Ok(parsed)
}
