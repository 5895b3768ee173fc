//! `studio-broker policy`: print the IAM documents that leave the broker
//! as the only principal able to mint Studio URLs.

use super::exit;
use crate::policy::{self, Error, Kind, Options};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config file [default: $STUDIO_BROKER_CONFIG, then config/broker.toml]
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// The ARN of the IAM role the broker runs as
    #[arg(long, value_name = "ARN")]
    broker_role_arn: String,
    /// Which documents to print: broker-role, deny-others, per-user [default: all]
    #[arg(long, value_name = "KIND")]
    kind: Vec<String>,
    /// A VPC endpoint id the broker's SageMaker calls come through
    #[arg(long, value_name = "ID")]
    source_vpce: Vec<String>,
    /// An address or CIDR the broker's SageMaker calls come from
    #[arg(long, value_name = "CIDR")]
    source_ip: Vec<String>,
}

pub fn run(args: Args) -> u8 {
    let kinds: Result<Vec<Kind>, Error> = args.kind.iter().map(|k| k.parse()).collect();
    let kinds = match kinds {
        Ok(kinds) => kinds,
        Err(e) => return usage(&e),
    };
    let (config, table, _) = match super::load_all(args.config, crate::config::Secrets::Skip) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let options = Options {
        broker_role_arn: args.broker_role_arn,
        kinds,
        source_vpce: args.source_vpce,
        source_ip: args.source_ip,
    };
    match policy::documents(&config, &table, &options) {
        Ok(output) => print(&output),
        Err(e) if is_usage(&e) => usage(&e),
        Err(e) => {
            eprintln!("{}: {e}", config.path.display());
            exit::CONFIG
        }
    }
}

/// Errors in the command's own flags, as opposed to the configuration.
fn is_usage(e: &Error) -> bool {
    matches!(
        e,
        Error::BrokerRoleArn(_)
            | Error::SourceVpce(_)
            | Error::SourceIp(_)
            | Error::UnknownKind(_)
            | Error::MintingRoleName { .. }
    )
}

fn usage(e: &Error) -> u8 {
    eprintln!("error: {e}");
    exit::USAGE
}

#[allow(clippy::print_stdout)]
fn print(output: &policy::Output) -> u8 {
    for note in &output.notes {
        eprintln!("note: {note}");
    }
    match serde_json::to_string_pretty(&output.json) {
        Ok(json) => {
            println!("{json}");
            exit::OK
        }
        Err(e) => {
            eprintln!("policy: cannot write the documents: {e}");
            exit::FINDINGS
        }
    }
}
