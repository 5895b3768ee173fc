//! `studio-broker check`: validate the configuration and the table
//! offline and report findings.

use super::exit;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The config file [default: $STUDIO_BROKER_CONFIG, then config/broker.toml]
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Also ask SageMaker for each domain's auth mode, profiles and spaces
    #[arg(long)]
    remote: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

/// One thing an operator should look at.
#[derive(Debug, Serialize)]
struct Finding {
    kind: &'static str,
    message: String,
}

#[derive(Serialize)]
struct Report<'a> {
    config: String,
    table: String,
    rows: usize,
    findings: &'a [Finding],
}

pub fn run(args: Args) -> u8 {
    let config = match super::load_config(args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let (table, _) = match super::load_table(&config) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    if args.remote {
        eprintln!(
            "check --remote: comparing with SageMaker is not available in \
             this version; the offline checks follow"
        );
    }
    let findings: Vec<Finding> = table
        .warnings()
        .iter()
        .map(|w| Finding {
            kind: "shared_profile",
            message: w.to_string(),
        })
        .collect();
    let report = Report {
        config: config.path.display().to_string(),
        table: config.table.path.display().to_string(),
        rows: table.len(),
        findings: &findings,
    };
    print(&report, args.format);
    if findings.is_empty() {
        exit::OK
    } else {
        exit::FINDINGS
    }
}

#[allow(clippy::print_stdout)]
fn print(report: &Report<'_>, format: Format) {
    match format {
        Format::Json => match serde_json::to_string_pretty(report) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("check: cannot write the report: {e}"),
        },
        Format::Text => {
            println!("{}: ok", report.config);
            println!("{}: {} rows", report.table, report.rows);
            for finding in report.findings {
                println!("warning: {}", finding.message);
            }
        }
    }
}
