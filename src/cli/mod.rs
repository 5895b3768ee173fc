//! The command line: `serve`, `check`, `policy` and `healthcheck`, each a
//! short sequence of steps, and the exit codes every command shares.

mod check;
mod healthcheck;
mod logging;
mod policy;
mod serve;

use crate::config::Secrets;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes shared by every command.
pub mod exit {
    /// Success; for `check`, no findings.
    pub const OK: u8 = 0;
    /// `check` found something; `serve` failed at run time.
    pub const FINDINGS: u8 = 1;
    /// The command line itself is wrong (what clap exits with too).
    pub const USAGE: u8 = 2;
    /// Configuration or table unusable (sysexits' EX_CONFIG).
    pub const CONFIG: u8 = 78;
}

#[derive(Debug, Parser)]
#[command(
    name = "studio-broker",
    version,
    about = "Opens each person's own SageMaker Studio, and nobody else's."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service.
    Serve(ConfigArg),
    /// Validate the configuration and the table.
    Check(check::Args),
    /// Print IAM policy documents for the broker's role and everyone else.
    Policy(policy::Args),
    /// GET /healthz of a running broker, for container health checks.
    Healthcheck(healthcheck::Args),
}

#[derive(Debug, clap::Args)]
pub struct ConfigArg {
    /// The config file [default: $STUDIO_BROKER_CONFIG, then config/broker.toml]
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    install_crypto();
    let code = match cli.command {
        Command::Serve(args) => serve::run(args.config),
        Command::Check(args) => check::run(args),
        Command::Policy(args) => policy::run(args),
        Command::Healthcheck(args) => healthcheck::run(args),
    };
    ExitCode::from(code)
}

/// Installs aws-lc-rs as the one crypto provider of `jsonwebtoken` and
/// `rustls`, before anything verifies or connects, so no other crate in
/// the graph can pick a different one.
fn install_crypto() {
    // An `Err` means a provider is already installed; only ours runs here.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}

/// Loads the config, or prints every problem and says which exit code.
fn load_config(arg: Option<PathBuf>) -> Result<crate::config::Config, u8> {
    load_config_with(arg, Secrets::Read)
}

fn load_config_with(arg: Option<PathBuf>, secrets: Secrets) -> Result<crate::config::Config, u8> {
    let path = crate::config::Config::resolve_path(arg);
    crate::config::Config::load_with(&path, secrets).map_err(|e| {
        eprintln!("{e}");
        exit::CONFIG
    })
}

/// Loads the config and the table it names, or prints every problem.
fn load_all(
    arg: Option<PathBuf>,
    secrets: Secrets,
) -> Result<
    (
        crate::config::Config,
        crate::table::Table,
        crate::table::Schema,
    ),
    u8,
> {
    let config = load_config_with(arg, secrets)?;
    let (table, schema) = load_table(&config)?;
    Ok((config, table, schema))
}

/// Loads the table the config names, or prints every problem.
fn load_table(
    config: &crate::config::Config,
) -> Result<(crate::table::Table, crate::table::Schema), u8> {
    let schema = crate::table::Schema {
        domains: config.domains.iter().map(|d| d.alias.clone()).collect(),
        identity: crate::table::IdentityKind::for_claim(&config.oidc.identity_claim),
    };
    crate::table::Table::load(&config.table.path, &schema)
        .map(|table| (table, schema))
        .map_err(|e| {
            eprintln!("{e}");
            exit::CONFIG
        })
}
