//! Credentials kept per person: fetched once, reused until a margin
//! before they expire, and fetched by one caller at a time, so that
//! concurrent mints for one person share one `AssumeRole`.
//!
//! The map is bounded: a new person past the bound evicts the person
//! least recently served. A fetch that fails or is cancelled leaves
//! nothing behind, and the next caller fetches again.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

/// The wall clock, injected so that tests can move it.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// What a person's slot holds once fetched.
#[derive(Clone)]
struct Fresh<T> {
    value: T,
    expires: SystemTime,
}

/// One person's slot: its last use, and its value behind an async lock
/// that the fetching caller holds until the value is in.
struct Slot<T> {
    used: u64,
    value: Arc<tokio::sync::Mutex<Option<Fresh<T>>>>,
}

struct Slots<T> {
    map: HashMap<String, Slot<T>>,
    /// Counts uses; a smaller `used` is an older one.
    tick: u64,
}

/// A bounded map from person to credentials, with single-flight fetches.
pub struct Sessions<T> {
    slots: Mutex<Slots<T>>,
    capacity: usize,
    margin: Duration,
    clock: Clock,
}

impl<T: Clone> Sessions<T> {
    /// At most `capacity` people; a value is reused until `margin`
    /// before it expires by `clock`.
    pub fn new(capacity: usize, margin: Duration, clock: Clock) -> Self {
        let slots = Slots {
            map: HashMap::new(),
            tick: 0,
        };
        Self {
            slots: Mutex::new(slots),
            capacity: capacity.max(1),
            margin,
            clock,
        }
    }

    /// The value for `key`, from the map while it is fresh, else from
    /// `fetch` (which answers the value and when it expires).
    ///
    /// # Errors
    /// What `fetch` fails with; the failure is not kept.
    pub async fn get<F, Fut, E>(&self, key: &str, fetch: F) -> Result<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(T, SystemTime), E>>,
    {
        let slot = self.slot(key);
        let mut held = slot.lock().await;
        if let Some(fresh) = held.as_ref().filter(|f| self.is_fresh(f)) {
            return Ok(fresh.value.clone());
        }
        let (value, expires) = fetch().await?;
        *held = Some(Fresh {
            value: value.clone(),
            expires,
        });
        Ok(value)
    }

    fn is_fresh(&self, fresh: &Fresh<T>) -> bool {
        (self.clock)() + self.margin < fresh.expires
    }

    /// The slot of `key`, marked as just used; a new one evicts the
    /// least recently used when the map is full.
    fn slot(&self, key: &str) -> Arc<tokio::sync::Mutex<Option<Fresh<T>>>> {
        let mut slots = self.lock();
        slots.tick += 1;
        let tick = slots.tick;
        if let Some(slot) = slots.map.get_mut(key) {
            slot.used = tick;
            return Arc::clone(&slot.value);
        }
        if slots.map.len() >= self.capacity {
            slots.evict_oldest();
        }
        let value = Arc::new(tokio::sync::Mutex::new(None));
        let slot = Slot {
            used: tick,
            value: Arc::clone(&value),
        };
        slots.map.insert(key.to_owned(), slot);
        value
    }

    /// A panic while the lock was held leaves the map consistent: every
    /// change under it is a single insert, remove or field update.
    fn lock(&self) -> MutexGuard<'_, Slots<T>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T> Slots<T> {
    /// A scan, but only when a new person arrives at a full map.
    fn evict_oldest(&mut self) {
        let oldest = (self.map.iter())
            .min_by_key(|(_, slot)| slot.used)
            .map(|(key, _)| key.clone());
        if let Some(key) = oldest {
            self.map.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    const HOUR: Duration = Duration::from_secs(3600);
    const MARGIN: Duration = Duration::from_secs(300);

    /// A clock that tests move by hand, in seconds after the epoch.
    fn clock() -> (Clock, Arc<AtomicU64>) {
        let seconds = Arc::new(AtomicU64::new(1_000_000));
        let read = Arc::clone(&seconds);
        let clock: Clock = Arc::new(move || {
            SystemTime::UNIX_EPOCH + Duration::from_secs(read.load(Ordering::SeqCst))
        });
        (clock, seconds)
    }

    /// Fetches a value naming the fetch count, valid for an hour.
    async fn fetch(
        sessions: &Sessions<usize>,
        key: &str,
        count: &AtomicUsize,
    ) -> Result<usize, ()> {
        let expires = (sessions.clock)() + HOUR;
        let fetch = || async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok((count.fetch_add(1, Ordering::SeqCst) + 1, expires))
        };
        sessions.get(key, fetch).await
    }

    #[tokio::test]
    async fn values_are_reused_until_the_margin_before_expiry() {
        let (clock, seconds) = clock();
        let sessions = Sessions::new(10, MARGIN, clock);
        let count = AtomicUsize::new(0);
        assert_eq!(fetch(&sessions, "alice", &count).await, Ok(1));
        assert_eq!(fetch(&sessions, "alice", &count).await, Ok(1));

        seconds.fetch_add(3600 - 301, Ordering::SeqCst);
        assert_eq!(fetch(&sessions, "alice", &count).await, Ok(1));
        seconds.fetch_add(1, Ordering::SeqCst);
        assert_eq!(fetch(&sessions, "alice", &count).await, Ok(2));
        assert_eq!(fetch(&sessions, "carol", &count).await, Ok(3));
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let (clock, _) = clock();
        let sessions = Sessions::new(10, MARGIN, clock);
        let count = AtomicUsize::new(0);
        let (a, b, c) = tokio::join!(
            fetch(&sessions, "alice", &count),
            fetch(&sessions, "alice", &count),
            fetch(&sessions, "alice", &count),
        );
        assert_eq!((a, b, c), (Ok(1), Ok(1), Ok(1)));
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn the_least_recently_used_person_is_evicted_at_the_bound() {
        let (clock, _) = clock();
        let sessions = Sessions::new(2, MARGIN, clock);
        let count = AtomicUsize::new(0);
        fetch(&sessions, "alice", &count).await.ok();
        fetch(&sessions, "bob", &count).await.ok();
        fetch(&sessions, "alice", &count).await.ok();
        fetch(&sessions, "carol", &count).await.ok();
        assert_eq!(sessions.lock().map.len(), 2);
        assert_eq!(count.load(Ordering::SeqCst), 3);

        assert_eq!(fetch(&sessions, "alice", &count).await, Ok(1));
        assert_eq!(fetch(&sessions, "bob", &count).await, Ok(4));
        assert_eq!(sessions.lock().map.len(), 2);
    }

    #[tokio::test]
    async fn failures_are_not_kept() {
        let (clock, _) = clock();
        let sessions: Sessions<usize> = Sessions::new(10, MARGIN, clock);
        let failed = sessions.get("alice", || async { Err("denied") }).await;
        assert_eq!(failed, Err("denied"));
        let count = AtomicUsize::new(0);
        assert_eq!(fetch(&sessions, "alice", &count).await, Ok(1));
    }
}
