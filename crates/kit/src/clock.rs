//! The time source. Every service reads the time from the [`Clock`] in its context, never from
//! the system directly, so a test can set the date (the eve of a holiday, a deadline that has
//! just passed) instead of bending the rules it tests.
//!
//! Timestamps are truncated to microseconds because PostgreSQL stores no more; a value written
//! and read back must compare equal on every backend (etags and audit hashes depend on it).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, SubsecRound, Utc};

/// Where "now" comes from. Cheap to clone; clones of a manual clock share its time.
#[derive(Clone, Debug)]
pub struct Clock(Source);

#[derive(Clone, Debug)]
enum Source {
    System,
    Manual(Arc<Mutex<DateTime<Utc>>>),
}

impl Clock {
    /// The system clock: production and `govmedia dev`.
    pub fn system() -> Clock {
        Clock(Source::System)
    }

    /// Now, at microsecond precision.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            Source::System => Utc::now().trunc_subsecs(6),
            Source::Manual(time) => *time.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

/// A clock that stands still until told to move: tests hand its [`ManualClock::clock`] to the
/// services and move time with [`ManualClock::set`] and [`ManualClock::advance`].
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock(Arc::new(Mutex::new(start.trunc_subsecs(6))))
    }

    /// The clock to give to services; it follows every later `set` and `advance`.
    pub fn clock(&self) -> Clock {
        Clock(Source::Manual(self.0.clone()))
    }

    /// Shows `time` from now on.
    pub fn set(&self, time: DateTime<Utc>) {
        *self.lock() = time.trunc_subsecs(6);
    }

    /// Moves the time forward (or back, for a negative span).
    pub fn advance(&self, by: chrono::Duration) {
        let mut time = self.lock();
        *time = (*time + by).trunc_subsecs(6);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A protobuf timestamp from a UTC time.
pub fn to_proto(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }
}

/// A UTC time from a protobuf timestamp, truncated to microseconds; `None` when out of range.
pub fn from_proto(timestamp: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    if !(0..1_000_000_000).contains(&timestamp.nanos) {
        return None;
    }
    DateTime::<Utc>::from_timestamp(timestamp.seconds, timestamp.nanos as u32)
        .map(|time| time.trunc_subsecs(6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_at_micro_precision() {
        let now = Clock::system().now();
        assert_eq!(from_proto(&to_proto(now)), Some(now));
        assert!(
            from_proto(&prost_types::Timestamp {
                seconds: 0,
                nanos: -1
            })
            .is_none()
        );
        assert!(
            from_proto(&prost_types::Timestamp {
                seconds: i64::MAX,
                nanos: 0
            })
            .is_none()
        );
    }

    #[test]
    fn a_manual_clock_moves_only_when_told_and_every_clone_follows() {
        let start = DateTime::parse_from_rfc3339("2026-09-30T09:00:00.123456789+08:00")
            .expect("time")
            .with_timezone(&Utc);
        let manual = ManualClock::new(start);
        let clock = manual.clock();
        let copy = clock.clone();
        assert_eq!(clock.now(), start.trunc_subsecs(6));
        manual.advance(chrono::Duration::days(8));
        assert_eq!(
            copy.now(),
            (start + chrono::Duration::days(8)).trunc_subsecs(6)
        );
        manual.set(start);
        assert_eq!(clock.now(), start.trunc_subsecs(6));
    }
}
