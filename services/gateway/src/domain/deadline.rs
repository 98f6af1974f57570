//! The deadline of a forwarded call: the caller's `grpc-timeout` (parsed by the kit), bounded by
//! configuration, passed on.

use std::time::Duration;

pub use govmedia_kit::deadline::{format, parse};

/// The deadline a forwarded call gets: the caller's, or `default` when it sent none, never more
/// than `max`.
pub fn effective(requested: Option<Duration>, default: Duration, max: Duration) -> Duration {
    requested.unwrap_or(default).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_gets_its_own_deadline_within_the_maximum() {
        let default = Duration::from_secs(30);
        let max = Duration::from_secs(120);
        assert_eq!(effective(None, default, max), default);
        assert_eq!(
            effective(Some(Duration::from_secs(5)), default, max),
            Duration::from_secs(5)
        );
        assert_eq!(effective(Some(Duration::from_secs(600)), default, max), max);
    }
}
