//! The in-process bus: Redis Streams semantics (consumer groups, pending entries, ack, claim of
//! stale entries) inside one process, for `govmedia dev` and tests without Redis. Entries that
//! every group has acknowledged are dropped, and a stream never holds more than its cap (the
//! oldest go first, as with Redis `MAXLEN`), so memory stays bounded even with no consumer.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::Arc,
    sync::Mutex,
    time::{Duration, Instant},
};

use tokio::sync::Notify;

use super::{Delivery, EventEnvelope};

/// See the module docs.
#[derive(Debug)]
pub struct MemoryBus {
    streams: Mutex<HashMap<String, Stream>>,
    appended: Notify,
    max_len: u64,
    /// The leader leases of the services on this bus (one process: the embedded mode).
    pub(crate) leases: Arc<Mutex<HashMap<String, crate::lease::Held>>>,
}

#[derive(Debug, Default)]
struct Stream {
    /// Absolute index of `entries[0]`.
    base: u64,
    entries: VecDeque<EventEnvelope>,
    groups: HashMap<String, Group>,
}

/// Entries every group acknowledged that a stream still keeps.
const RETAIN_ACKNOWLEDGED: usize = 10_000;

#[derive(Debug, Default)]
struct Group {
    /// Absolute index of the next entry never delivered to the group.
    next: u64,
    /// Delivered, not acknowledged: index -> (consumer, delivered at).
    pending: BTreeMap<u64, (String, Instant)>,
}

impl Stream {
    fn entry(&self, index: u64) -> Option<&EventEnvelope> {
        index
            .checked_sub(self.base)
            .and_then(|offset| self.entries.get(offset as usize))
    }

    fn trim(&mut self) {
        if self.groups.is_empty() {
            return;
        }
        let keep_from = self
            .groups
            .values()
            .map(|group| {
                group
                    .pending
                    .keys()
                    .next()
                    .copied()
                    .unwrap_or(group.next)
                    .min(group.next)
            })
            .min()
            .unwrap_or(self.base);
        // Like a Redis stream, the recent history stays for groups created later (a new group
        // starts at the first retained entry); only what every group acknowledged beyond it goes.
        while self.base < keep_from
            && self.entries.len() > RETAIN_ACKNOWLEDGED
            && self.entries.pop_front().is_some()
        {
            self.base += 1;
        }
    }
}

impl MemoryBus {
    /// A bus whose streams keep at most `max_len` entries.
    pub fn new(max_len: u64) -> Self {
        Self {
            streams: Mutex::new(HashMap::new()),
            appended: Notify::new(),
            max_len: max_len.max(1),
            leases: Arc::default(),
        }
    }

    fn with<R>(&self, stream: &str, f: impl FnOnce(&mut Stream) -> R) -> R {
        let mut streams = self
            .streams
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(streams.entry(stream.to_owned()).or_default())
    }

    /// Appends an event.
    pub fn publish(&self, stream: &str, envelope: EventEnvelope) {
        let max_len = self.max_len;
        self.with(stream, |s| {
            s.entries.push_back(envelope);
            while s.entries.len() as u64 > max_len && s.entries.pop_front().is_some() {
                s.base += 1;
                for group in s.groups.values_mut() {
                    group.next = group.next.max(s.base);
                    group.pending.retain(|index, _| *index >= s.base);
                }
            }
        });
        self.appended.notify_waiters();
    }

    /// Creates a group reading from the first retained entry.
    pub fn ensure_group(&self, stream: &str, group: &str) {
        self.with(stream, |s| {
            let base = s.base;
            s.groups.entry(group.to_owned()).or_insert_with(|| Group {
                next: base,
                pending: BTreeMap::new(),
            });
        });
    }

    fn take_new(&self, stream: &str, group: &str, consumer: &str, count: usize) -> Vec<Delivery> {
        self.with(stream, |s| {
            let end = s.base + s.entries.len() as u64;
            let Some(state) = s.groups.get_mut(group) else {
                return Vec::new();
            };
            let from = state.next;
            let to = end.min(from + count as u64);
            state.next = to;
            let now = Instant::now();
            for index in from..to {
                state.pending.insert(index, (consumer.to_owned(), now));
            }
            (from..to)
                .filter_map(|index| {
                    s.entry(index).map(|envelope| Delivery {
                        entry_id: index.to_string(),
                        envelope: envelope.clone(),
                    })
                })
                .collect()
        })
    }

    /// New entries for the group, waiting up to `block` for the first.
    pub async fn read(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + block;
        loop {
            // Register interest before looking, so an append in between is not missed.
            let appended = self.appended.notified();
            tokio::pin!(appended);
            appended.as_mut().enable();
            let taken = self.take_new(stream, group, consumer, count);
            if !taken.is_empty() {
                return taken;
            }
            if tokio::time::timeout_at(deadline, appended).await.is_err() {
                return Vec::new();
            }
        }
    }

    /// Reassigns entries pending for at least `min_idle` to `consumer`.
    pub fn claim_stale(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Vec<Delivery> {
        self.with(stream, |s| {
            let Some(state) = s.groups.get_mut(group) else {
                return Vec::new();
            };
            let now = Instant::now();
            let stale: Vec<u64> = state
                .pending
                .iter()
                .filter(|(_, (_, at))| now.duration_since(*at) >= min_idle)
                .map(|(index, _)| *index)
                .take(count)
                .collect();
            for index in &stale {
                state.pending.insert(*index, (consumer.to_owned(), now));
            }
            stale
                .into_iter()
                .filter_map(|index| {
                    s.entry(index).map(|envelope| Delivery {
                        entry_id: index.to_string(),
                        envelope: envelope.clone(),
                    })
                })
                .collect()
        })
    }

    /// Acknowledges an entry.
    pub fn ack(&self, stream: &str, group: &str, entry_id: &str) {
        let Ok(index) = entry_id.parse::<u64>() else {
            return;
        };
        self.with(stream, |s| {
            if let Some(state) = s.groups.get_mut(group) {
                state.pending.remove(&index);
            }
            s.trim();
        });
    }

    /// Entries delivered to the group and not acknowledged.
    pub fn pending(&self, stream: &str, group: &str) -> usize {
        self.with(stream, |s| {
            s.groups.get(group).map_or(0, |g| g.pending.len())
        })
    }
}
