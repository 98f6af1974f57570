//! The generic cell rate algorithm (GCRA): one stored number per key, the theoretical arrival
//! time (TAT) of the next request. A quota of `rate` per minute with `burst` allows `burst`
//! requests at once and then one every `60 s / rate`. The same arithmetic runs here for the
//! in-process limiter and in a Lua script inside Redis for the shared one.

/// A rate budget, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Time one request costs.
    pub interval_us: u64,
    /// How far ahead of now the TAT may run: `burst` requests' worth.
    pub tolerance_us: u64,
}

impl Quota {
    /// `rate` requests per minute with bursts of `burst` (both at least 1). A request costs at
    /// least a microsecond: rates above 60,000,000 a minute count as that many, because a zero
    /// interval would make every budget empty and infinite at once (and the shared limiter's
    /// script divide by zero).
    pub fn per_minute(rate: u32, burst: u32) -> Quota {
        let interval_us = (60_000_000 / u64::from(rate.max(1))).max(1);
        Quota {
            interval_us,
            tolerance_us: interval_us * u64::from(burst.max(1)),
        }
    }
}

/// The outcome of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed; store `tat_us` as the new TAT (it may be forgotten after `expire_us`).
    Allow {
        /// New TAT.
        tat_us: u64,
        /// How long the TAT matters.
        expire_us: u64,
    },
    /// Refused; retry after this long.
    Deny {
        /// Wait before the next request can pass.
        retry_after_us: u64,
    },
}

/// Decides one request arriving at `now_us`, given the stored TAT (none for a fresh key).
pub fn decide(stored_tat_us: Option<u64>, now_us: u64, quota: Quota) -> Decision {
    let tat = stored_tat_us.unwrap_or(now_us).max(now_us);
    let new_tat = tat + quota.interval_us;
    let ahead = new_tat - now_us;
    if ahead > quota.tolerance_us {
        Decision::Deny {
            retry_after_us: ahead - quota.tolerance_us,
        }
    } else {
        Decision::Allow {
            tat_us: new_tat,
            expire_us: ahead,
        }
    }
}

/// Up to `want` requests at once (a lease of cells a replica spends locally), arriving at
/// `now_us`: how many are granted (as many as the budget has room for), the new TAT, or, when
/// none is, how long until one would be.
pub fn lease(stored_tat_us: Option<u64>, now_us: u64, quota: Quota, want: u32) -> Lease {
    let tat = stored_tat_us.unwrap_or(now_us).max(now_us);
    let ahead = tat - now_us;
    let room = quota.tolerance_us.saturating_sub(ahead) / quota.interval_us.max(1);
    let granted = room.min(u64::from(want)) as u32;
    if granted == 0 {
        return Lease::Denied {
            retry_after_us: (ahead + quota.interval_us)
                .saturating_sub(quota.tolerance_us)
                .max(1),
        };
    }
    Lease::Granted {
        cells: granted,
        tat_us: tat + u64::from(granted) * quota.interval_us,
    }
}

/// The outcome of [`lease`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lease {
    /// `cells` requests may pass; store `tat_us`.
    Granted {
        /// Requests granted.
        cells: u32,
        /// New TAT.
        tat_us: u64,
    },
    /// None may pass yet.
    Denied {
        /// Wait before the next request can pass.
        retry_after_us: u64,
    },
}

impl Quota {
    /// Requests the budget allows at once.
    pub fn burst(&self) -> u64 {
        self.tolerance_us / self.interval_us.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(quota: Quota, times: &[u64]) -> Vec<bool> {
        let mut tat = None;
        times
            .iter()
            .map(|now| match decide(tat, *now, quota) {
                Decision::Allow { tat_us, .. } => {
                    tat = Some(tat_us);
                    true
                }
                Decision::Deny { .. } => false,
            })
            .collect()
    }

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let quota = Quota::per_minute(60, 3); // one per second, bursts of three
        assert_eq!(run(quota, &[0, 0, 0, 0]), [true, true, true, false]);
        assert_eq!(
            run(quota, &[0, 0, 0, 1_000_000, 1_000_000]),
            [true, true, true, true, false]
        );
        assert_eq!(run(quota, &[0, 10_000_000, 20_000_000]), [true, true, true]);
    }

    #[test]
    fn the_largest_quota_still_counts() {
        let quota = Quota::per_minute(u32::MAX, u32::MAX);
        assert_eq!(quota.interval_us, 1);
        assert_eq!(quota.burst(), u64::from(u32::MAX));
        assert!(matches!(
            lease(None, 0, quota, 16),
            Lease::Granted {
                cells: 16,
                tat_us: 16
            }
        ));
        assert!(matches!(decide(None, 0, quota), Decision::Allow { .. }));
    }

    #[test]
    fn a_refusal_says_when_to_retry() {
        let quota = Quota::per_minute(60, 1);
        let Decision::Allow { tat_us, .. } = decide(None, 0, quota) else {
            panic!("first passes");
        };
        assert_eq!(
            decide(Some(tat_us), 250_000, quota),
            Decision::Deny {
                retry_after_us: 750_000
            }
        );
        assert!(matches!(
            decide(Some(tat_us), 1_000_000, quota),
            Decision::Allow { .. }
        ));
    }

    #[test]
    fn a_lease_takes_what_the_budget_has_room_for_and_no_more() {
        let quota = Quota::per_minute(60, 10); // one per second, bursts of ten
        let Lease::Granted { cells, tat_us } = lease(None, 0, quota, 4) else {
            panic!("a fresh budget leases");
        };
        assert_eq!((cells, tat_us), (4, 4_000_000));
        // Six left of the burst, though eight are wanted.
        let Lease::Granted { cells, tat_us } = lease(Some(tat_us), 0, quota, 8) else {
            panic!("room for six");
        };
        assert_eq!((cells, tat_us), (6, 10_000_000));
        assert_eq!(
            lease(Some(tat_us), 0, quota, 1),
            Lease::Denied {
                retry_after_us: 1_000_000
            }
        );
        // A lease spends exactly what one request at a time would have.
        let mut single = None;
        let mut passed = 0;
        for _ in 0..20 {
            if let Decision::Allow { tat_us, .. } = decide(single, 0, quota) {
                single = Some(tat_us);
                passed += 1;
            }
        }
        assert_eq!(passed, 10);
    }
}
