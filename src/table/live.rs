//! The table in force, swapped whole when its file changes.
//!
//! Requests read the table without a lock and never wait on a reload: a
//! reload builds a new table beside the old one and swaps a pointer. A table
//! that fails to load is rejected whole and the previous one stays.
//!
//! Building a million-row table takes a core for most of a second, and
//! freeing the old one tens of milliseconds. Both run on one long-lived
//! thread per table at the lowest CPU priority, so that on a busy machine
//! requests go first, and a large old table is freed there rather than by
//! whichever request happened to hold it last. On a saturated core a
//! reload therefore waits for idle time: it takes longer, and both tables
//! are held until it ends.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use arc_swap::{ArcSwap, Guard};
use notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};

use super::{LoadError, Schema, Table};

/// Editors and volume updates touch a file several times in a row; one
/// reload after they settle is enough.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// The link that Kubernetes swaps in a mounted ConfigMap or Secret volume,
/// where every file is a link through it.
const KUBERNETES_DATA_LINK: &str = "..data";

/// Tables smaller than this are freed wherever their last reader drops
/// them: it takes microseconds.
const RETIRE_IN_BACKGROUND_ROWS: usize = 10_000;

/// How often retired tables are checked for readers. A request holds the
/// table for one SageMaker call, which `studio.timeout_seconds` bounds.
const RETIRE_POLL: Duration = Duration::from_millis(10);

/// The name of each table's background thread.
const THREAD_NAME: &str = "table-reload";

/// The table in force and where it comes from.
#[derive(Debug)]
pub struct Live {
    current: ArcSwap<Table>,
    path: PathBuf,
    schema: Schema,
    /// Serialises reloads, so that a slow one cannot swap in an older file
    /// after a quicker, newer one, and remembers which version of the file
    /// the last one read. Requests never take it.
    reloading: Mutex<Option<Version>>,
    /// The inbox of the background thread; `None` when it could not start,
    /// and reloads then run on the caller's thread.
    background: Option<mpsc::Sender<Job>>,
}

/// Work for the background thread.
enum Job {
    /// Reload, or only when the file changed; answer when asked.
    Reload {
        only_if_changed: bool,
        answer: Option<tokio::sync::oneshot::Sender<Result<usize, LoadError>>>,
    },
    /// Free this table once its last reader is done.
    Retire(Arc<Table>),
}

/// Which version of the file a load read: a file replaced by a rename or
/// a link swap has another inode, an edit another size or time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    device: u64,
    inode: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl Version {
    /// The file's version, following links as the load does.
    fn of(path: &Path) -> Option<Version> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).ok()?;
        Some(Version {
            device: meta.dev(),
            inode: meta.ino(),
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

impl Live {
    /// Puts `table`, loaded from `path` against `schema`, in force.
    pub fn new(table: Table, path: PathBuf, schema: Schema) -> Arc<Live> {
        record_rows(&table);
        Arc::new_cyclic(|live| Live {
            current: ArcSwap::from_pointee(table),
            reloading: Mutex::new(Version::of(&path)),
            path,
            schema,
            background: start_background(live.clone()),
        })
    }

    /// The table in force, without taking a lock.
    pub fn current(&self) -> Guard<Arc<Table>> {
        self.current.load()
    }

    /// The table file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Loads the file again and puts it in force; returns its number of
    /// rows. Blocks while the file is read, so call it off the request path,
    /// or use [`Live::reload_in_background`].
    ///
    /// # Errors
    /// The problems of the new file, which are also logged; the previous
    /// table stays in force.
    pub fn reload(&self) -> Result<usize, LoadError> {
        let mut last = self
            .reloading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *last = Version::of(&self.path);
        self.load_and_swap()
    }

    /// Reloads only when the file is not the version last read. The
    /// folder watcher also reports reads of the file (a reload opening it
    /// included), which must not start another reload.
    fn reload_if_changed(&self) -> Option<Result<usize, LoadError>> {
        let mut last = self
            .reloading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Version::of(&self.path);
        if now.is_some() && now == *last {
            return None;
        }
        *last = now;
        Some(self.load_and_swap())
    }

    fn load_and_swap(&self) -> Result<usize, LoadError> {
        match Table::load(&self.path, &self.schema) {
            Ok(table) => Ok(self.swap(table)),
            Err(error) => {
                metrics::counter!(RELOADS, "result" => "error").increment(1);
                tracing::error!(
                    path = %self.path.display(),
                    problems = %error,
                    "table rejected; the previous table stays in force",
                );
                Err(error)
            }
        }
    }

    /// [`Live::reload`] on the table's background thread, at the lowest
    /// CPU priority; the answer arrives when the new table is in force or
    /// rejected.
    pub async fn reload_in_background(self: &Arc<Self>) -> Result<usize, LoadError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job = Job::Reload {
            only_if_changed: false,
            answer: Some(answer),
        };
        if self.send(job).is_err() {
            let live = self.clone();
            return match tokio::task::spawn_blocking(move || live.reload()).await {
                Ok(outcome) => outcome,
                Err(error) => Err(LoadError::interrupted(&self.path, &error)),
            };
        }
        answered
            .await
            .unwrap_or_else(|error| Err(LoadError::interrupted(&self.path, &error)))
    }

    /// Hands `job` to the background thread; gives it back when there is
    /// none.
    fn send(&self, job: Job) -> Result<(), Job> {
        match &self.background {
            Some(inbox) => inbox.send(job).map_err(|unsent| unsent.0),
            None => Err(job),
        }
    }

    fn swap(&self, table: Table) -> usize {
        let rows = table.len();
        record_rows(&table);
        let previous = self.current.swap(Arc::new(table));
        if previous.len() >= RETIRE_IN_BACKGROUND_ROWS {
            // Without the thread, it is freed here or by its last reader.
            let _ = self.send(Job::Retire(previous));
        }

        metrics::counter!(RELOADS, "result" => "ok").increment(1);
        tracing::info!(path = %self.path.display(), rows, "table reloaded");
        rows
    }

    /// Reloads the table whenever its file changes, until the returned
    /// [`Watcher`] is dropped.
    ///
    /// The file's folder is watched rather than the file, so that a file
    /// replaced by renaming another over it (as editors and deployment
    /// tools do) and a Kubernetes volume that swaps its `..data` link are
    /// both seen. A file that is a link into some other folder is not
    /// followed there: only changes to the link itself are seen.
    ///
    /// Reloads run on the table's background thread, at the lowest CPU
    /// priority.
    ///
    /// # Errors
    /// When the folder cannot be watched.
    pub fn watch(self: &Arc<Self>) -> Result<Watcher, notify::Error> {
        let (folder, name) = folder_and_name(&self.path)?;
        let live = Arc::downgrade(self);
        let handler = move |events: DebounceEventResult| {
            if touches(events, &name) {
                reload_later(&live);
            }
        };

        let mut debouncer = new_debouncer(DEBOUNCE, handler)?;
        let watcher = debouncer.watcher();
        watcher.watch(&folder, RecursiveMode::NonRecursive)?;
        tracing::info!(folder = %folder.display(), "watching the table");
        Ok(Watcher {
            _debouncer: debouncer,
        })
    }
}

/// Stops watching the table's folder when dropped.
pub struct Watcher {
    _debouncer: Debouncer<RecommendedWatcher>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watcher")
    }
}

const ROWS: &str = "studio_broker_table_rows";
const RELOADS: &str = "studio_broker_table_reloads_total";

fn record_rows(table: &Table) {
    // A gauge holds an f64; row counts stay far below 2^53.
    #[allow(clippy::cast_precision_loss)]
    let rows = table.len() as f64;
    metrics::gauge!(ROWS).set(rows);
}

fn folder_and_name(path: &Path) -> Result<(PathBuf, OsString), notify::Error> {
    let Some(name) = path.file_name() else {
        let message = format!("{}: not a file name", path.display());
        return Err(notify::Error::generic(&message));
    };
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    Ok((folder.to_path_buf(), name.to_owned()))
}

/// Whether any of the events is about the table file or the data link.
fn touches(events: DebounceEventResult, name: &OsString) -> bool {
    let events = match events {
        Ok(events) => events,
        Err(error) => {
            tracing::warn!(%error, "watching the table's folder failed");
            return false;
        }
    };
    events.iter().any(|event| {
        let changed = event.path.file_name();
        let data_link = Some(KUBERNETES_DATA_LINK.as_ref());
        changed == Some(name.as_os_str()) || changed == data_link
    })
}

fn reload_later(live: &Weak<Live>) {
    let Some(live) = live.upgrade() else {
        return;
    };
    let job = Job::Reload {
        only_if_changed: true,
        answer: None,
    };
    // The outcome is logged by the reload itself. Without the background
    // thread, the reload runs on the watcher's.
    if live.send(job).is_err() {
        drop(live.reload_if_changed());
    }
}

/// Starts the table's background thread; `None` when it cannot start.
fn start_background(live: Weak<Live>) -> Option<mpsc::Sender<Job>> {
    let (inbox, jobs) = mpsc::channel();
    let started = std::thread::Builder::new()
        .name(THREAD_NAME.to_owned())
        .spawn(move || background(&live, &jobs));
    match started {
        Ok(_) => Some(inbox),
        Err(error) => {
            tracing::warn!(%error, "cannot start the table's reload thread; reloading in place");
            None
        }
    }
}

/// Runs reloads one after another, and frees retired tables once their
/// last reader is done, until the table is dropped.
fn background(live: &Weak<Live>, jobs: &mpsc::Receiver<Job>) {
    lower_priority();
    let mut retiring: Vec<Arc<Table>> = Vec::new();
    loop {
        let job = if retiring.is_empty() {
            jobs.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            jobs.recv_timeout(RETIRE_POLL)
        };
        match job {
            Ok(Job::Retire(table)) => retiring.push(table),
            Ok(Job::Reload {
                only_if_changed,
                answer,
            }) => {
                let Some(live) = live.upgrade() else {
                    return;
                };
                let outcome = if only_if_changed {
                    live.reload_if_changed()
                } else {
                    Some(live.reload())
                };
                if let (Some(answer), Some(outcome)) = (answer, outcome) {
                    let _ = answer.send(outcome);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            // The table is gone; whatever is still retiring is freed by its
            // last reader.
            Err(RecvTimeoutError::Disconnected) => return,
        }
        // A table no one else holds is freed here, as it leaves the list.
        retiring = retiring
            .into_iter()
            .filter_map(|table| Arc::try_unwrap(table).err())
            .collect();
    }
}

/// The lowest priority, nice 19, for the calling thread only: Linux keeps
/// a nice value per thread. Elsewhere the thread keeps its priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        const LOWEST: i32 = 19;
        let thread = rustix::thread::gettid();
        if let Err(error) = rustix::process::setpriority_process(Some(thread), LOWEST) {
            tracing::debug!(%error, "cannot lower the reload thread's priority");
        }
    }
}
