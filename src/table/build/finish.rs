//! The checks across rows (duplicates, shared profiles) and the index,
//! all by sorting, so that a million rows take a moment, not an hour.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use crate::table::error::Problems;
use crate::table::{IdentityKind, LoadError, Row, Table, Warning};

/// Identities listed by name in one warning; the rest are counted.
const LISTED_IDENTITIES: usize = 10;

pub(super) fn finish(
    mut rows: Vec<Row>,
    mut problems: Problems,
    identity: IdentityKind,
) -> Result<Table, LoadError> {
    rows.sort_unstable_by(|a, b| by_target(a, b).then(a.line.cmp(&b.line)));
    report_duplicates(&rows, &mut problems);
    if !problems.is_empty() {
        return Err(problems.into_error());
    }

    let index = index(&mut rows);
    let warnings = shared_profiles(&rows, &problems);
    rows.shrink_to_fit();
    Ok(Table {
        rows,
        index,
        identity,
        warnings,
    })
}

/// Orders rows by what they grant: identity, domain (in configuration
/// order), then space (none first).
fn by_target(a: &Row, b: &Row) -> Ordering {
    a.identity
        .cmp(&b.identity)
        .then(a.domain_rank.cmp(&b.domain_rank))
        .then_with(|| a.domain.cmp(&b.domain))
        .then_with(|| a.space.cmp(&b.space))
}

/// Reports every row that grants what an earlier row already grants, in
/// file order. `rows` must be sorted by target, then line.
fn report_duplicates(rows: &[Row], problems: &mut Problems) {
    let mut found = Vec::new();
    for run in rows.chunk_by(|a, b| by_target(a, b).is_eq()) {
        let first = &run[0];
        for again in &run[1..] {
            found.push((again.line, duplicate(first, again, problems)));
        }
    }

    found.sort_unstable_by_key(|(line, _)| *line);
    for (line, message) in found {
        problems.at(line, message);
    }
}

fn duplicate(first: &Row, again: &Row, problems: &Problems) -> String {
    let space = match &again.space {
        Some(space) => format!("space {space:?}"),
        None => "no space".to_owned(),
    };
    format!(
        "identity = {:?}: duplicate of {} (same identity, domain {:?} and {})",
        again.identity,
        problems.place(first.line),
        again.domain,
        space,
    )
}

/// Maps each identity to its run of rows, and makes the rows of one
/// identity share a single copy of it. `rows` must be sorted by identity.
fn index(rows: &mut [Row]) -> HashMap<Arc<str>, (u32, u32)> {
    let identities = rows.chunk_by(|a, b| a.identity == b.identity).count();
    let mut index = HashMap::with_capacity(identities);

    let mut start: u32 = 0;
    for run in rows.chunk_by_mut(|a, b| a.identity == b.identity) {
        let shared = Arc::clone(&run[0].identity);
        for row in &mut run[1..] {
            row.identity = Arc::clone(&shared);
        }
        let len = u32::try_from(run.len()).unwrap_or(u32::MAX);
        index.insert(shared, (start, len));
        start = start.saturating_add(len);
    }
    index
}

/// One warning per profile (same domain, name compared without case, as
/// SageMaker compares it) that more than one identity may open.
fn shared_profiles(rows: &[Row], problems: &Problems) -> Vec<Warning> {
    let mut order: Vec<&Row> = rows.iter().collect();
    order.sort_unstable_by(|a, b| {
        by_profile(a, b)
            .then_with(|| a.identity.cmp(&b.identity))
            .then(a.line.cmp(&b.line))
    });

    order
        .chunk_by(|a, b| by_profile(a, b).is_eq())
        .filter_map(|group| shared_profile(group, problems))
        .collect()
}

fn by_profile(a: &Row, b: &Row) -> Ordering {
    a.domain_rank
        .cmp(&b.domain_rank)
        .then_with(|| a.domain.cmp(&b.domain))
        .then_with(|| ignoring_case(&a.profile).cmp(ignoring_case(&b.profile)))
}

/// Profile names are ASCII once validated, so ASCII folding is enough.
fn ignoring_case(name: &str) -> impl Iterator<Item = u8> + '_ {
    name.bytes().map(|b| b.to_ascii_lowercase())
}

/// The warning for one profile's rows (sorted by identity, then line), if
/// they belong to more than one identity.
fn shared_profile(group: &[&Row], problems: &Problems) -> Option<Warning> {
    let mut holders: Vec<&Row> = group
        .chunk_by(|a, b| a.identity == b.identity)
        .map(|rows| rows[0])
        .collect();
    if holders.len() < 2 {
        return None;
    }
    holders.sort_unstable_by_key(|row| row.line);

    let first = holders[0];
    let mut listed: Vec<String> = holders
        .iter()
        .take(LISTED_IDENTITIES)
        .map(|row| format!("{:?} ({})", row.identity, problems.place(row.line)))
        .collect();
    if holders.len() > LISTED_IDENTITIES {
        let more = holders.len() - LISTED_IDENTITIES;
        listed.push(format!("and {more} more"));
    }
    let message = format!(
        "{}: profile {:?} in domain {:?} is shared by {} identities: {}",
        problems.file(),
        first.profile,
        first.domain,
        holders.len(),
        listed.join(", "),
    );

    Some(Warning {
        domain: first.domain.to_string(),
        profile: first.profile.to_string(),
        identities: holders.iter().map(|r| r.identity.to_string()).collect(),
        message,
    })
}
