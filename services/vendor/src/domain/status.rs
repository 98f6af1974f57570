//! A vendor's status and the steps between them.
//!
//! ```text
//! CANDIDATE ──approve (passed vetting)──▶ APPROVED ◀──approve (passed vetting)── SUSPENDED
//!     │                                      │  └──────────────suspend──────────────▲
//!     └──────────terminate───────────────────┴──terminate──▶ TERMINATED ◀──terminate─┘
//! any of them ──blacklist──▶ BLACKLISTED (final)
//! ```

use chrono::{DateTime, Utc};
use govmedia_kit::numbered;

use super::Vetting;

numbered! {
    /// Where a vendor stands.
    VendorStatus {
        /// Registered, not approved.
        Candidate = 1 => "CANDIDATE",
        /// Vetted and approved.
        Approved = 2 => "APPROVED",
        /// Approval suspended.
        Suspended = 3 => "SUSPENDED",
        /// No longer used.
        Terminated = 4 => "TERMINATED",
        /// Barred; final.
        Blacklisted = 5 => "BLACKLISTED",
    }
}

/// A requested change of status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusChange {
    /// To APPROVED.
    Approve,
    /// To SUSPENDED.
    Suspend,
    /// To TERMINATED.
    Terminate,
    /// To BLACKLISTED.
    Blacklist,
}

impl StatusChange {
    /// The status it leads to.
    pub fn target(self) -> VendorStatus {
        match self {
            StatusChange::Approve => VendorStatus::Approved,
            StatusChange::Suspend => VendorStatus::Suspended,
            StatusChange::Terminate => VendorStatus::Terminated,
            StatusChange::Blacklist => VendorStatus::Blacklisted,
        }
    }
}

/// Why a status change is refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StatusError {
    /// The vendor is blacklisted: nothing more happens to it.
    #[error("the vendor is blacklisted")]
    Blacklisted,
    /// The lifecycle has no such step from the current status.
    #[error("a vendor cannot go from {from} to {to}")]
    InvalidTransition {
        /// Current status.
        from: VendorStatus,
        /// Requested status.
        to: VendorStatus,
    },
    /// Approval needs a passed vetting that has not expired (R-40).
    #[error("no passed vetting of the vendor is still valid")]
    VettingRequired {
        /// The latest vetting, when there is one, and why it does not count.
        latest: Option<(String, &'static str)>,
    },
}

/// Checks `change` from `from`. For an approval, `latest` is the vendor's most recent vetting
/// (name and vetting) and `now` the time of the change: only a passed vetting still valid at
/// `now` lets the vendor be approved.
pub fn check(
    from: VendorStatus,
    change: StatusChange,
    latest: Option<(&str, &Vetting)>,
    now: DateTime<Utc>,
) -> Result<(), StatusError> {
    use VendorStatus::{Approved, Blacklisted, Candidate, Suspended, Terminated};
    let to = change.target();
    let allowed = match (from, change) {
        (Blacklisted, _) => return Err(StatusError::Blacklisted),
        (Candidate | Suspended, StatusChange::Approve) => true,
        (Approved, StatusChange::Suspend) => true,
        (Candidate | Approved | Suspended, StatusChange::Terminate) => true,
        (Candidate | Approved | Suspended | Terminated, StatusChange::Blacklist) => true,
        (Approved | Terminated, StatusChange::Approve)
        | (Candidate | Suspended | Terminated, StatusChange::Suspend)
        | (Terminated, StatusChange::Terminate) => false,
    };
    if !allowed {
        return Err(StatusError::InvalidTransition { from, to });
    }
    if change == StatusChange::Approve {
        let why_not = match latest {
            None => {
                return Err(StatusError::VettingRequired { latest: None });
            }
            Some((_, vetting)) if !vetting.passed => Some("it did not pass"),
            Some((_, vetting)) if vetting.valid_until <= now => Some("it has expired"),
            Some(_) => None,
        };
        if let (Some(why), Some((name, _))) = (why_not, latest) {
            return Err(StatusError::VettingRequired {
                latest: Some((name.to_owned(), why)),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::domain::vetting::tests::vetting;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0)
            .single()
            .expect("time")
    }

    #[test]
    fn approval_needs_a_passed_unexpired_vetting() {
        let passed = vetting(true, now() + Duration::days(10));
        let failed = vetting(false, now() + Duration::days(10));
        let expired = vetting(true, now());
        let name = "vendors/v/vettings/1";
        use VendorStatus::Candidate;
        assert_eq!(
            check(Candidate, StatusChange::Approve, None, now()),
            Err(StatusError::VettingRequired { latest: None })
        );
        assert!(
            check(
                Candidate,
                StatusChange::Approve,
                Some((name, &passed)),
                now()
            )
            .is_ok()
        );
        for (vetting, why) in [(&failed, "it did not pass"), (&expired, "it has expired")] {
            assert_eq!(
                check(
                    Candidate,
                    StatusChange::Approve,
                    Some((name, vetting)),
                    now()
                ),
                Err(StatusError::VettingRequired {
                    latest: Some((name.to_owned(), why))
                })
            );
        }
    }

    #[test]
    fn the_lifecycle_allows_only_its_steps() {
        use StatusChange::{Approve, Blacklist, Suspend, Terminate};
        use VendorStatus::{Approved, Blacklisted, Candidate, Suspended, Terminated};
        let passed = vetting(true, now() + Duration::days(10));
        let latest = Some(("vendors/v/vettings/1", &passed));
        let allowed = [
            (Candidate, Approve),
            (Suspended, Approve),
            (Approved, Suspend),
            (Candidate, Terminate),
            (Approved, Terminate),
            (Suspended, Terminate),
            (Candidate, Blacklist),
            (Approved, Blacklist),
            (Suspended, Blacklist),
            (Terminated, Blacklist),
        ];
        for from in VendorStatus::ALL {
            for change in [Approve, Suspend, Terminate, Blacklist] {
                let result = check(*from, change, latest, now());
                if *from == Blacklisted {
                    assert_eq!(result, Err(StatusError::Blacklisted));
                } else if allowed.contains(&(*from, change)) {
                    assert_eq!(result, Ok(()), "{from} {change:?}");
                } else {
                    assert_eq!(
                        result,
                        Err(StatusError::InvalidTransition {
                            from: *from,
                            to: change.target()
                        }),
                        "{from} {change:?}"
                    );
                }
            }
        }
    }
}
