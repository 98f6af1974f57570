//! The lifecycle of an account (R-02) and what each kind of change needs.
//!
//! ```text
//! FILED ──bind (platform id)──▶ ACTIVE ◀──resume── SUSPENDED
//!   │                             │ ──suspend──────▶ │
//!   └──────────cancel─────────────┴──────cancel──────┴──▶ CANCELLED (final)
//! ```

use std::fmt;

use govmedia_kit::error::{ApiError, ErrorCode};
use govmedia_proto::common::v1::ErrorReason;

/// Lifecycle status; numbers as in `govmedia.registry.v1.AccountStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccountStatus {
    /// Opening filing accepted, platform id not bound yet.
    Filed = 1,
    /// Operating.
    Active = 2,
    /// 关停.
    Suspended = 3,
    /// 注销; final.
    Cancelled = 4,
}

impl AccountStatus {
    /// From the stored/proto number.
    pub fn from_i32(value: i32) -> Option<AccountStatus> {
        Some(match value {
            1 => AccountStatus::Filed,
            2 => AccountStatus::Active,
            3 => AccountStatus::Suspended,
            4 => AccountStatus::Cancelled,
            _ => return None,
        })
    }

    /// The Chinese status name.
    pub fn chinese(self) -> &'static str {
        match self {
            AccountStatus::Filed => "已备案",
            AccountStatus::Active => "运行中",
            AccountStatus::Suspended => "已关停",
            AccountStatus::Cancelled => "已注销",
        }
    }

    /// Every status but CANCELLED counts as live for R-03 and the credential alerts.
    pub fn is_live(self) -> bool {
        self != AccountStatus::Cancelled
    }

    /// R-02: may an account go from `self` to `to`?
    pub fn can_become(self, to: AccountStatus) -> bool {
        use AccountStatus::*;
        matches!(
            (self, to),
            (Filed, Active)
                | (Suspended, Active)
                | (Active, Suspended)
                | (Filed | Active | Suspended, Cancelled)
        )
    }
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AccountStatus::Filed => "FILED",
            AccountStatus::Active => "ACTIVE",
            AccountStatus::Suspended => "SUSPENDED",
            AccountStatus::Cancelled => "CANCELLED",
        })
    }
}

/// What a change of the ledger does to an existing account (an opening has none yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Change its data (变更).
    Data,
    /// Suspend it (关停).
    Suspend,
    /// Resume a suspended one (恢复).
    Resume,
    /// Cancel it for good (注销).
    Cancel,
}

impl Change {
    /// The status the change moves the account to, if it moves it.
    pub fn target(self) -> Option<AccountStatus> {
        match self {
            Change::Data => None,
            Change::Suspend => Some(AccountStatus::Suspended),
            Change::Resume => Some(AccountStatus::Active),
            Change::Cancel => Some(AccountStatus::Cancelled),
        }
    }

    /// May an account in `status` undergo this change? A status change follows R-02 (a resume
    /// only from SUSPENDED: binding a FILED account is its own step); data change while the
    /// account is not CANCELLED.
    pub fn allowed_from(self, status: AccountStatus) -> bool {
        match self {
            Change::Data => status != AccountStatus::Cancelled,
            Change::Resume => status == AccountStatus::Suspended,
            Change::Suspend | Change::Cancel => {
                self.target().is_some_and(|to| status.can_become(to))
            }
        }
    }
}

/// FAILED_PRECONDITION (INVALID_TRANSITION): `account` in `from` cannot become `to` (R-02).
pub fn invalid_transition(account: &str, from: AccountStatus, to: AccountStatus) -> ApiError {
    ApiError::new(
        ErrorCode::FailedPrecondition,
        ErrorReason::InvalidTransition,
        format!("{account} cannot go from {from} to {to}"),
    )
    .with_metadata("account", account)
    .with_metadata("from", from.to_string())
    .with_metadata("to", to.to_string())
    .localized(format!(
        "账号当前状态为“{}”,不能变更为“{}”",
        from.chinese(),
        to.chinese()
    ))
}

/// FAILED_PRECONDITION (INVALID_TRANSITION): `account` is CANCELLED, and nothing about it
/// changes any more.
pub fn cancelled(account: &str) -> ApiError {
    ApiError::new(
        ErrorCode::FailedPrecondition,
        ErrorReason::InvalidTransition,
        format!("{account} is CANCELLED and can no longer change"),
    )
    .with_metadata("account", account)
    .with_metadata("from", AccountStatus::Cancelled.to_string())
    .localized("账号已注销,不能再作任何变更")
}

/// FAILED_PRECONDITION (INVALID_TRANSITION): `account` has no platform id to correct yet; a
/// FILED account is bound, not changed.
pub fn unbound(account: &str) -> ApiError {
    ApiError::new(
        ErrorCode::FailedPrecondition,
        ErrorReason::InvalidTransition,
        format!("{account} has no platform id yet: bind it instead of correcting it"),
    )
    .with_metadata("account", account)
    .with_metadata("from", AccountStatus::Filed.to_string())
    .localized("账号尚未绑定平台账号:应先绑定,而不是变更")
}

/// The refusal of `change` for `account` in `status`.
pub fn refusal(account: &str, status: AccountStatus, change: Change) -> ApiError {
    match change.target() {
        Some(to) => invalid_transition(account, status, to),
        None => cancelled(account),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_table() {
        use AccountStatus::*;
        let allowed = [
            (Filed, Active),
            (Suspended, Active),
            (Active, Suspended),
            (Filed, Cancelled),
            (Active, Cancelled),
            (Suspended, Cancelled),
        ];
        for from in [Filed, Active, Suspended, Cancelled] {
            for to in [Filed, Active, Suspended, Cancelled] {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn each_change_needs_its_status() {
        use AccountStatus::*;
        let cases = [
            (Change::Data, [true, true, true, false]),
            (Change::Suspend, [false, true, false, false]),
            (Change::Resume, [false, false, true, false]),
            (Change::Cancel, [true, true, true, false]),
        ];
        for (change, expected) in cases {
            for (status, allowed) in [Filed, Active, Suspended, Cancelled]
                .into_iter()
                .zip(expected)
            {
                assert_eq!(
                    change.allowed_from(status),
                    allowed,
                    "{change:?} from {status}"
                );
            }
        }
        let error = refusal("accounts/a", Active, Change::Resume);
        assert_eq!(error.reason(), ErrorReason::InvalidTransition);
        assert!(
            error.message().contains("ACTIVE to ACTIVE"),
            "{}",
            error.message()
        );
    }
}
