//! Tests of reloading: by hand, and by watching the file's folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::schema;
use crate::table::{Live, Table};

/// How long the watcher may take to see a change; changes normally show
/// within half a second.
const PATIENCE: Duration = Duration::from_secs(5);

fn rows(count: usize) -> String {
    (0..count)
        .map(|n| {
            format!(
                "[[users]]\nidentity = \"u{n}@x\"\ndomain = \"ml\"\n\
                 profile = \"p{n}\"\n"
            )
        })
        .collect()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
}

fn live(path: PathBuf) -> Arc<Live> {
    let table = Table::load(&path, &schema()).unwrap_or_else(|e| panic!("{e}"));
    Live::new(table, path, schema())
}

/// A TOML table of `count` rows in a folder of its own, in force; the
/// folder lasts as long as the returned handle.
fn a_table_of(count: usize) -> (tempfile::TempDir, PathBuf, Arc<Live>) {
    let folder = folder();
    let path = folder.path().join("users.toml");
    write(&path, &rows(count));
    let live = live(path.clone());
    (folder, path, live)
}

fn folder() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
}

/// Waits until the table in force has `count` rows.
async fn wait_for_rows(live: &Live, count: usize) {
    let start = Instant::now();
    while live.current().len() != count {
        let waited = start.elapsed();
        assert!(waited < PATIENCE, "still {} rows", live.current().len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn a_good_edit_is_swapped_in() {
    let (_folder, path, live) = a_table_of(1);
    let before = live.current();

    write(&path, &rows(3));
    assert_eq!(live.reload().map_err(|e| e.to_string()), Ok(3));
    assert_eq!(live.current().len(), 3);
    assert_eq!(before.len(), 1, "a reader keeps the table it loaded");
}

#[test]
fn a_broken_edit_keeps_the_previous_table() {
    let (_folder, path, live) = a_table_of(2);

    write(&path, &rows(3).replace("\"p1\"", "\"p 1\""));
    let error = live.reload().map(|_| ()).map_err(|e| e.problems);
    let expected = format!(
        "{}: row 2: profile = \"p 1\": must match \
         ^[a-zA-Z0-9](-*[a-zA-Z0-9]){{0,62}}$",
        path.display()
    );
    assert_eq!(error, Err(vec![expected]));
    assert_eq!(live.current().len(), 2);

    std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(live.reload().is_err());
    assert_eq!(live.current().len(), 2);
}

#[tokio::test]
async fn a_reload_in_the_background_answers_once_it_is_decided() {
    let (_folder, path, live) = a_table_of(1);

    write(&path, &rows(3));
    let reloaded = live.reload_in_background().await;
    assert_eq!(reloaded.map_err(|e| e.to_string()), Ok(3));
    assert_eq!(live.current().len(), 3);

    write(&path, "[[users]\n");
    assert!(live.reload_in_background().await.is_err());
    assert_eq!(live.current().len(), 3);
}

#[test]
fn a_large_previous_table_is_freed_in_the_background_after_its_last_reader() {
    let folder = folder();
    let path = folder.path().join("users.csv");
    let csv = |count: usize| {
        let lines = (0..count).map(|n| format!("u{n}@x,ml,p{n}\n"));
        std::iter::once("identity,domain,profile\n".to_owned())
            .chain(lines)
            .collect::<String>()
    };
    write(&path, &csv(10_000));
    let live = live(path.clone());
    let reader = arc_swap::Guard::into_inner(live.current());
    let previous = Arc::downgrade(&reader);

    write(&path, &csv(2));
    assert_eq!(live.reload().map_err(|e| e.to_string()), Ok(2));
    // The reader and the thread that frees it once the reader is done.
    assert_eq!(previous.strong_count(), 2);

    drop(reader);
    let start = Instant::now();
    while previous.strong_count() > 0 {
        assert!(
            start.elapsed() < PATIENCE,
            "the previous table is still held"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The nice value of every thread of this process with `name`, read from
/// `/proc/self/task/*/stat`.
#[cfg(target_os = "linux")]
fn nice_of_threads_named(name: &str) -> Vec<i64> {
    let tasks = std::fs::read_dir("/proc/self/task").unwrap_or_else(|e| panic!("{e}"));
    let mut nice = Vec::new();
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue; // the thread ended meanwhile
        };
        let Some((head, fields)) = stat.rsplit_once(')') else {
            continue;
        };
        if head.split_once('(').map(|(_, comm)| comm) != Some(name) {
            continue;
        }
        // Field 19 of the line; 3 is the first after the name.
        let field = fields.split_whitespace().nth(19 - 3);
        nice.extend(field.and_then(|n| n.parse::<i64>().ok()));
    }
    nice
}

#[cfg(target_os = "linux")]
#[test]
fn reloads_run_on_a_thread_at_the_lowest_priority() {
    let folder = folder();
    let path = folder.path().join("users.toml");
    write(&path, &rows(1));
    let _live = live(path);

    let start = Instant::now();
    loop {
        let nice = nice_of_threads_named("table-reload");
        // Tests run side by side: every table's thread is counted.
        if !nice.is_empty() && nice.iter().all(|&n| n == 19) {
            break;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "reload threads at nice {nice:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[tokio::test]
async fn the_watcher_sees_a_file_renamed_over_the_table() {
    let (folder, path, live) = a_table_of(1);
    let _watcher = live.watch().unwrap_or_else(|e| panic!("{e}"));

    let temporary = folder.path().join(".users.toml.swp");
    write(&temporary, &rows(2));
    std::fs::rename(&temporary, &path).unwrap_or_else(|e| panic!("{e}"));
    wait_for_rows(&live, 2).await;

    write(&path, &rows(4));
    wait_for_rows(&live, 4).await;
}

#[tokio::test]
async fn the_watcher_sees_a_kubernetes_volume_update() {
    use std::os::unix::fs::symlink;

    let folder = folder();
    let root = folder.path();
    let first = root.join("..2026_12_04_1");
    std::fs::create_dir(&first).unwrap_or_else(|e| panic!("{e}"));
    write(&first.join("users.toml"), &rows(1));
    let linked = symlink("..2026_12_04_1", root.join("..data"))
        .and_then(|()| symlink("..data/users.toml", root.join("users.toml")));
    linked.unwrap_or_else(|e| panic!("{e}"));

    let live = live(root.join("users.toml"));
    let _watcher = live.watch().unwrap_or_else(|e| panic!("{e}"));

    // What the kubelet does: a new folder, a new link, renamed over the old.
    let second = root.join("..2026_12_04_2");
    std::fs::create_dir(&second).unwrap_or_else(|e| panic!("{e}"));
    write(&second.join("users.toml"), &rows(2));
    let swapped = symlink("..2026_12_04_2", root.join("..data_tmp"))
        .and_then(|()| std::fs::rename(root.join("..data_tmp"), root.join("..data")))
        .and_then(|()| std::fs::remove_dir_all(&first));
    swapped.unwrap_or_else(|e| panic!("{e}"));

    wait_for_rows(&live, 2).await;
}

#[tokio::test]
async fn a_broken_file_seen_by_the_watcher_changes_nothing() {
    let (_folder, path, live) = a_table_of(1);
    let _watcher = live.watch().unwrap_or_else(|e| panic!("{e}"));

    write(&path, "[[users]\n");
    // Long enough for the debounced reload of the broken file to run; a
    // good edit after it shows the watcher survived the failure.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(live.current().len(), 1);
    write(&path, &rows(2));
    wait_for_rows(&live, 2).await;
}
