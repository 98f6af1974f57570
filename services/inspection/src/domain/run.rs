//! The daily monitoring run (日常监测, R-20): which accounts a run checks. A full run checks every
//! ACTIVE account; an incremental one only those whose verdict may have changed since the last
//! run: posts were taken for them, a time rule may have turned (their latest post crossed a
//! window's edge between the two check points), or they were not checked for `refresh_days`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};

use super::Stamp;

govmedia_kit::numbered! {
    /// How much a run checks (`RunMode`).
    RunMode {
        /// What changed.
        Incremental = 1 => "INCREMENTAL",
        /// Everything.
        Full = 2 => "FULL",
    }
}

govmedia_kit::numbered! {
    /// Where a run stands (`RunState`).
    RunState {
        /// Waiting.
        Pending = 1 => "PENDING",
        /// Checking.
        Running = 2 => "RUNNING",
        /// Done.
        Done = 3 => "DONE",
        /// Stopped by an error.
        Failed = 4 => "FAILED",
    }
}

/// A monitoring run as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct MonitoringRun {
    /// Its id.
    pub id: String,
    /// Incremental or full.
    pub mode: RunMode,
    /// Why.
    pub mode_reason: String,
    /// Where it stands.
    pub state: RunState,
    /// The check point.
    pub as_of: Option<DateTime<Utc>>,
    /// The scheme's id and version.
    pub scheme: (String, i32),
    /// Active, checked, new posts.
    pub accounts_active: i32,
    /// Accounts checked.
    pub accounts_checked: i32,
    /// Posts taken since the last run.
    pub new_posts: i32,
    /// Passed, failed, incomplete.
    pub counts: [i32; 3],
    /// The lexicons' fingerprint.
    pub lexicon_fingerprint: String,
    /// The highest post sequence when it started: the next run looks past it.
    pub post_mark: i64,
    /// Started.
    pub started: Option<DateTime<Utc>>,
    /// Ended.
    pub finished: Option<DateTime<Utc>>,
    /// Why it failed.
    pub error: String,
    /// Who asked.
    pub created: Stamp,
}

/// What an incremental run knows to choose its accounts.
#[derive(Debug)]
pub struct Changes<'a> {
    /// The check point of the last run.
    pub last_as_of: DateTime<Utc>,
    /// This run's.
    pub as_of: DateTime<Utc>,
    /// Accounts with posts taken since the last run.
    pub posted: &'a BTreeSet<String>,
    /// Each account's latest post, published.
    pub latest: &'a BTreeMap<String, DateTime<Utc>>,
    /// Each account's latest check.
    pub last_checked: &'a BTreeMap<String, DateTime<Utc>>,
    /// The windows (days) of the scheme's time rules: a latest post older than one of them
    /// turns an item.
    pub windows: &'a BTreeSet<i64>,
    /// Days after which an account is checked again whatever happened.
    pub refresh_days: i64,
}

/// The accounts of `active` an incremental run checks, in order.
pub fn select(active: &[String], changes: &Changes<'_>) -> Vec<String> {
    let refresh = changes.as_of - Duration::days(changes.refresh_days);
    active
        .iter()
        .filter(|account| {
            if changes.posted.contains(*account) {
                return true;
            }
            let stale = changes
                .last_checked
                .get(*account)
                .is_none_or(|checked| *checked <= refresh);
            if stale {
                return true;
            }
            changes.latest.get(*account).is_some_and(|latest| {
                changes.windows.iter().any(|days| {
                    let edge = Duration::days(*days);
                    // The post was inside the window at the last check point and is out now.
                    *latest > changes.last_as_of - edge && *latest <= changes.as_of - edge
                })
            })
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
            .expect("time")
            .with_timezone(&Utc)
            + Duration::days(day)
    }

    #[test]
    fn an_incremental_run_checks_what_may_have_changed() {
        let active: Vec<String> = ["posted", "turned", "quiet", "stale", "never"]
            .map(str::to_owned)
            .to_vec();
        let posted = BTreeSet::from(["posted".to_owned()]);
        let latest = BTreeMap::from([
            ("posted".to_owned(), at(19)),
            // 14 days old at the last check point (day 20 → day 6 edge), 15 at this one.
            ("turned".to_owned(), at(6) + Duration::hours(12)),
            ("quiet".to_owned(), at(18)),
            ("stale".to_owned(), at(18)),
        ]);
        let last_checked = BTreeMap::from([
            ("posted".to_owned(), at(20)),
            ("turned".to_owned(), at(20)),
            ("quiet".to_owned(), at(20)),
            ("stale".to_owned(), at(10)),
        ]);
        let windows = BTreeSet::from([14, 180]);
        let changes = Changes {
            last_as_of: at(20),
            as_of: at(21),
            posted: &posted,
            latest: &latest,
            last_checked: &last_checked,
            windows: &windows,
            refresh_days: 7,
        };
        assert_eq!(
            select(&active, &changes),
            ["posted", "turned", "stale", "never"]
        );
    }
}
