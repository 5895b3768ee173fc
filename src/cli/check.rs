//! `studio-broker check`: validate the configuration and the table, and
//! with `--remote` compare the table with what SageMaker holds for each
//! domain, through the same clients `serve` mints with.
//!
//! Every finding has a `kind`:
//! - `shared_profile` (warning): several identities on one profile, found
//!   in the table alone.
//! - `missing_profile`, `missing_space` (error): a row names a profile or
//!   space its domain does not have.
//! - `case_mismatch` (error): it exists, spelled with other case. SageMaker
//!   API calls are case-sensitive, so a mint with the row's spelling fails.
//! - `auth_mode` (error): the domain is not in IAM mode, where presigned
//!   URLs cannot work.
//! - `domain_unreachable` (error): a SageMaker call failed; the message
//!   says which and why.
//! - `unmapped_profile` (info): a profile that no row maps.

use super::exit;
use crate::config::Config;
use crate::studio::{self, inventory, inventory::Inventory};
use crate::table::{Row, Table};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// How many identities a message names before it says "and N more".
const LISTED_IDENTITIES: usize = 3;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    SharedProfile,
    MissingProfile,
    MissingSpace,
    CaseMismatch,
    AuthMode,
    DomainUnreachable,
    UnmappedProfile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// Opening something through the broker fails.
    Error,
    /// Works, but may not be what was meant.
    Warning,
    /// Worth knowing; nothing fails.
    Info,
}

impl Kind {
    fn level(self) -> Level {
        match self {
            Kind::SharedProfile => Level::Warning,
            Kind::UnmappedProfile => Level::Info,
            _ => Level::Error,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::SharedProfile => "shared_profile",
            Kind::MissingProfile => "missing_profile",
            Kind::MissingSpace => "missing_space",
            Kind::CaseMismatch => "case_mismatch",
            Kind::AuthMode => "auth_mode",
            Kind::DomainUnreachable => "domain_unreachable",
            Kind::UnmappedProfile => "unmapped_profile",
        }
    }
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
        }
    }
}

impl Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl Serialize for Level {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// One thing an operator should look at.
#[derive(Debug, Serialize)]
struct Finding {
    kind: Kind,
    level: Level,
    /// The domain alias.
    domain: String,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    space: Option<String>,
    /// How SageMaker spells the name, for `case_mismatch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    sagemaker_name: Option<String>,
    /// The identities whose rows are affected.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    identities: Vec<String>,
}

impl Finding {
    fn new(kind: Kind, domain: &str, message: String) -> Self {
        Finding {
            kind,
            level: kind.level(),
            domain: domain.to_owned(),
            message,
            profile: None,
            space: None,
            sagemaker_name: None,
            identities: Vec::new(),
        }
    }
}

#[derive(Serialize)]
struct Report<'a> {
    config: String,
    table: String,
    rows: usize,
    findings: &'a [Finding],
}

pub fn run(args: Args) -> u8 {
    let (config, table, _) = match super::load_all(args.config, crate::config::Secrets::Read) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };

    let mut findings = offline(&table);
    if args.remote {
        match remote(&config, &table) {
            Ok(more) => findings.extend(more),
            Err(code) => return code,
        }
    }
    by_domain(&mut findings, &config);

    let report = Report {
        config: config.path.display().to_string(),
        table: config.table.path.display().to_string(),
        rows: table.len(),
        findings: &findings,
    };
    let compared = args.remote.then_some(config.domains.len());
    print(&report, args.format, compared);
    if findings.is_empty() {
        exit::OK
    } else {
        exit::FINDINGS
    }
}

/// What the table alone tells: profiles shared by several identities.
fn offline(table: &Table) -> Vec<Finding> {
    let shared = table.warnings().iter().map(|w| Finding {
        profile: Some(w.profile.clone()),
        identities: w.identities.clone(),
        ..Finding::new(Kind::SharedProfile, &w.domain, w.to_string())
    });
    shared.collect()
}

/// Sorts findings by domain in configuration order, keeping the order
/// within each domain.
fn by_domain(findings: &mut [Finding], config: &Config) {
    let rank = |alias: &str| config.domains.iter().position(|d| d.alias == alias);
    findings.sort_by_key(|f| rank(&f.domain));
}

/// One domain as read from SageMaker, or why it could not be read.
struct Fetched {
    alias: String,
    id: String,
    result: Result<Inventory, String>,
}

fn remote(config: &Config, table: &Table) -> Result<Vec<Finding>, u8> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("check: cannot start the runtime: {e}");
            exit::FINDINGS
        })?;
    let fetched = runtime.block_on(fetch_all(config));

    let mut findings = Vec::new();
    for domain in &fetched {
        let rows: Vec<&Row> = table
            .rows()
            .filter(|r| r.domain() == domain.alias)
            .collect();
        findings.extend(compare(domain, &rows));
    }
    Ok(findings)
}

/// Reads every configured domain at once, each under its client's
/// timeout, and answers in configuration order.
async fn fetch_all(config: &Config) -> Vec<Fetched> {
    let shared = studio::load_shared().await;
    let domains = studio::build_clients(&shared, config).await;
    let timeout = config.studio.timeout;
    let tasks: Vec<_> = domains
        .into_iter()
        .map(|domain| {
            let (alias, id) = (domain.alias.clone(), domain.id.clone());
            let fetch = async move { inventory::fetch(&domain, timeout).await };
            let task = tokio::spawn(fetch);
            (alias, id, task)
        })
        .collect();

    let mut fetched = Vec::with_capacity(tasks.len());
    for (alias, id, task) in tasks {
        let result = match task.await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(e) => Err(format!("the check of this domain stopped: {e}")),
        };
        fetched.push(Fetched { alias, id, result });
    }
    fetched
}

/// The findings for one domain: its auth mode, the names its rows use,
/// and the profiles no row maps.
fn compare(domain: &Fetched, rows: &[&Row]) -> Vec<Finding> {
    let inventory = match &domain.result {
        Ok(inventory) => inventory,
        Err(reason) => return vec![unreachable_domain(domain, reason)],
    };
    let mut findings = Vec::from_iter(auth_mode(domain, inventory));

    let profiles = Names::new(inventory.profiles.iter().map(String::as_str));
    for (name, identities) in grouped(rows, |r| Some(r.profile())) {
        findings.extend(named(
            domain,
            Subject::Profile,
            name,
            &identities,
            &profiles,
        ));
    }
    let spaces = Names::new(inventory.spaces.iter().map(|s| s.name.as_str()));
    for (name, identities) in grouped(rows, Row::space) {
        findings.extend(named(domain, Subject::Space, name, &identities, &spaces));
    }

    findings.extend(unmapped(domain, inventory, rows));
    findings
}

fn unreachable_domain(domain: &Fetched, reason: &str) -> Finding {
    let message = format!("cannot read domain {} from SageMaker: {reason}", domain.id);
    Finding::new(Kind::DomainUnreachable, &domain.alias, message)
}

fn auth_mode(domain: &Fetched, inventory: &Inventory) -> Option<Finding> {
    let mode = match inventory.auth_mode.as_deref() {
        Some("IAM") => return None,
        Some(mode) => format!("AuthMode {mode}"),
        None => "no AuthMode SageMaker states".to_owned(),
    };
    let message = format!(
        "domain {} has {mode}; presigned URLs work only in IAM mode, so \
         nobody can open it through the broker",
        domain.id
    );
    Some(Finding::new(Kind::AuthMode, &domain.alias, message))
}

/// What a row names in a domain.
#[derive(Clone, Copy)]
enum Subject {
    Profile,
    Space,
}

/// A domain's names, exactly and without case.
struct Names<'a> {
    exact: HashSet<&'a str>,
    folded: HashMap<String, &'a str>,
}

impl<'a> Names<'a> {
    fn new(names: impl Iterator<Item = &'a str>) -> Self {
        let mut exact = HashSet::new();
        let mut folded = HashMap::new();
        for name in names {
            exact.insert(name);
            folded.entry(name.to_ascii_lowercase()).or_insert(name);
        }
        Names { exact, folded }
    }

    /// `Ok(())` for an exact match, `Err(Some(spelling))` when only the
    /// case differs, `Err(None)` when there is no such name.
    fn find(&self, name: &str) -> Result<(), Option<&'a str>> {
        if self.exact.contains(name) {
            return Ok(());
        }
        Err(self.folded.get(&name.to_ascii_lowercase()).copied())
    }
}

/// The finding for one name the rows use, if SageMaker lacks it.
fn named(
    domain: &Fetched,
    subject: Subject,
    name: &str,
    identities: &[&str],
    names: &Names<'_>,
) -> Option<Finding> {
    let (what, missing) = match subject {
        Subject::Profile => ("profile", Kind::MissingProfile),
        Subject::Space => ("space", Kind::MissingSpace),
    };
    let (who, id) = (listed(identities), &domain.id);
    let (kind, message, actual) = match names.find(name).err()? {
        Some(actual) => (
            Kind::CaseMismatch,
            format!(
                "{what} {name:?} is spelled {actual:?} in domain {id}; \
                 SageMaker names are case-sensitive, so opening it fails \
                 for {who}"
            ),
            Some(actual.to_owned()),
        ),
        None => (
            missing,
            format!(
                "{what} {name:?} does not exist in domain {id}; opening it \
                 fails for {who}"
            ),
            None,
        ),
    };

    let mut finding = Finding::new(kind, &domain.alias, message);
    finding.sagemaker_name = actual;
    match subject {
        Subject::Profile => finding.profile = Some(name.to_owned()),
        Subject::Space => finding.space = Some(name.to_owned()),
    }
    finding.identities = identities.iter().map(|i| (*i).to_owned()).collect();
    Some(finding)
}

/// Profiles of the domain that no row maps, compared without case: a row
/// that only misspells the case is reported as `case_mismatch` already.
fn unmapped(domain: &Fetched, inventory: &Inventory, rows: &[&Row]) -> Vec<Finding> {
    let mapped: HashSet<String> = rows
        .iter()
        .map(|r| r.profile().to_ascii_lowercase())
        .collect();
    let unmapped = inventory
        .profiles
        .iter()
        .filter(|p| !mapped.contains(&p.to_ascii_lowercase()));
    let finding = |profile: &String| Finding {
        profile: Some(profile.clone()),
        ..Finding::new(
            Kind::UnmappedProfile,
            &domain.alias,
            format!(
                "profile {profile:?} in domain {} is in no row of the table",
                domain.id
            ),
        )
    };
    unmapped.map(finding).collect()
}

/// The names `key` picks from `rows`, in order of first use, each with
/// the identities that use it.
fn grouped<'a>(
    rows: &[&'a Row],
    key: impl Fn(&'a Row) -> Option<&'a str>,
) -> Vec<(&'a str, Vec<&'a str>)> {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for row in rows {
        let Some(name) = key(row) else { continue };
        let at = *index.entry(name).or_insert_with(|| {
            groups.push((name, Vec::new()));
            groups.len() - 1
        });
        // Rows come grouped by identity, so a repeat is always the last.
        let identities = &mut groups[at].1;
        if identities.last() != Some(&row.identity()) {
            identities.push(row.identity());
        }
    }
    groups
}

/// `"a"`, `"a", "b"`, or `"a", "b", "c" and 2 more`.
fn listed(identities: &[&str]) -> String {
    let shown: Vec<String> = identities
        .iter()
        .take(LISTED_IDENTITIES)
        .map(|i| format!("{i:?}"))
        .collect();
    let mut text = shown.join(", ");
    if identities.len() > LISTED_IDENTITIES {
        let more = identities.len() - LISTED_IDENTITIES;
        text.push_str(&format!(" and {more} more"));
    }
    text
}

#[allow(clippy::print_stdout)]
fn print(report: &Report<'_>, format: Format, compared: Option<usize>) {
    match format {
        Format::Json => match serde_json::to_string_pretty(report) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("check: cannot write the report: {e}"),
        },
        Format::Text => {
            println!("{}: ok", report.config);
            println!("{}: {} rows", report.table, report.rows);
            for f in report.findings {
                let (kind, level) = (f.kind.name(), f.level.name());
                println!("{}: {level}: {kind}: {}", f.domain, f.message);
            }
            println!("{}", summary(report.findings, compared));
        }
    }
}

/// `2 domains compared with SageMaker: 3 findings (2 errors, 1 info)`.
fn summary(findings: &[Finding], compared: Option<usize>) -> String {
    let count = |level| findings.iter().filter(|f| f.level == level).count();
    let parts = [
        plural(count(Level::Error), "error", "errors"),
        plural(count(Level::Warning), "warning", "warnings"),
        plural(count(Level::Info), "info", "info"),
    ];
    let parts: Vec<String> = parts.into_iter().flatten().collect();
    let found = match findings.len() {
        0 => "no findings".to_owned(),
        n => format!(
            "{} ({})",
            plural(n, "finding", "findings").unwrap_or_default(),
            parts.join(", ")
        ),
    };
    match compared {
        None => found,
        Some(n) => {
            let domains = plural(n, "domain", "domains").unwrap_or_else(|| "no domains".into());
            format!("{domains} compared with SageMaker: {found}")
        }
    }
}

/// `"1 error"`, `"2 errors"`, or nothing for zero.
fn plural(n: usize, one: &str, many: &str) -> Option<String> {
    match n {
        0 => None,
        1 => Some(format!("1 {one}")),
        n => Some(format!("{n} {many}")),
    }
}
