//! The time source. Timestamps are truncated to microseconds because PostgreSQL stores no more;
//! a value written and read back must compare equal on every backend (etags and audit hashes
//! depend on it).

use chrono::{DateTime, SubsecRound, Utc};

/// Now, at microsecond precision.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
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
        let now = now();
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
}
