//! Credential custody: who holds an account's login, which phone and e-mail are bound,
//! when the password last changed. Phone numbers and e-mail addresses are masked before they are
//! stored, and there is no place for a password at all: the ledger must not become the place
//! where every government account's password leaks from.

use chrono::{DateTime, Duration, Utc};

use super::Stamp;

/// A custody record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Custody {
    /// The account's id.
    pub account: String,
    /// Who holds the login.
    pub custodian_name: String,
    /// The custodian's post.
    pub custodian_title: String,
    /// False once the custodian left.
    pub custodian_active: bool,
    /// Masked bound phone.
    pub bound_phone: String,
    /// Masked bound e-mail.
    pub bound_email: String,
    /// Latest password change.
    pub last_rotation_time: Option<DateTime<Utc>>,
    /// Rotation interval in days.
    pub rotation_interval_days: i32,
    /// Creation.
    pub created: Stamp,
    /// Latest change.
    pub updated: Stamp,
    /// Optimistic-concurrency version.
    pub version: i64,
}

/// Why a credential needs attention; numbers as in the proto.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertKind {
    /// No custody record.
    NoCustody = 1,
    /// Never rotated, and the interval since the record was made has passed.
    NeverRotated = 2,
    /// Latest rotation older than the interval.
    RotationOverdue = 3,
    /// The custodian left.
    CustodianDeparted = 4,
}

impl Custody {
    /// When the next rotation is due: an interval after the last rotation, or after the record
    /// was made when there was none.
    pub fn rotation_due(&self) -> DateTime<Utc> {
        self.last_rotation_time.unwrap_or(self.created.time)
            + Duration::days(i64::from(self.rotation_interval_days))
    }
}

/// Every alert that applies to an account's custody (`None`: no record) at `now`, in order.
pub fn alerts(custody: Option<&Custody>, now: DateTime<Utc>) -> Vec<AlertKind> {
    let Some(custody) = custody else {
        return vec![AlertKind::NoCustody];
    };
    let mut kinds = Vec::new();
    if now >= custody.rotation_due() {
        kinds.push(if custody.last_rotation_time.is_some() {
            AlertKind::RotationOverdue
        } else {
            AlertKind::NeverRotated
        });
    }
    if !custody.custodian_active {
        kinds.push(AlertKind::CustodianDeparted);
    }
    kinds
}

/// Masks a phone number, keeping the first three and last four digits (`138****5678`); short
/// numbers keep only their last two.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    let n = chars.len();
    if n >= 11 {
        format!(
            "{}{}{}",
            chars[..3].iter().collect::<String>(),
            "*".repeat(n - 7),
            chars[n - 4..].iter().collect::<String>()
        )
    } else {
        format!(
            "{}{}",
            "*".repeat(n.saturating_sub(2)),
            chars[n.saturating_sub(2)..].iter().collect::<String>()
        )
    }
}

/// Masks an e-mail address, keeping the first character of the local part and the domain
/// (`g***@example.gov.cn`).
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

/// True when `phone` is already masked (contains '*'); masked values may be sent back unchanged.
pub fn is_masked(value: &str) -> bool {
    value.contains('*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custody(rotated_days_ago: Option<i64>, created_days_ago: i64, active: bool) -> Custody {
        let now = Utc::now();
        let stamp = Stamp {
            time: now - Duration::days(created_days_ago),
            actor: "t".into(),
            actor_organization: "t".into(),
        };
        Custody {
            account: "a".into(),
            custodian_name: "张三".into(),
            custodian_title: String::new(),
            custodian_active: active,
            bound_phone: String::new(),
            bound_email: String::new(),
            last_rotation_time: rotated_days_ago.map(|d| now - Duration::days(d)),
            rotation_interval_days: 90,
            created: stamp.clone(),
            updated: stamp,
            version: 1,
        }
    }

    #[test]
    fn masks() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("+8613812345678"), "+86*******5678");
        assert_eq!(mask_phone("84561234"), "******34");
        assert_eq!(
            mask_email("golmud.edu@example.gov.cn"),
            "g***@example.gov.cn"
        );
        assert!(is_masked("138****5678"));
    }

    #[test]
    fn alert_kinds() {
        let now = Utc::now();
        assert_eq!(alerts(None, now), [AlertKind::NoCustody]);
        assert!(alerts(Some(&custody(Some(10), 400, true)), now).is_empty());
        assert_eq!(
            alerts(Some(&custody(Some(100), 400, true)), now),
            [AlertKind::RotationOverdue]
        );
        assert_eq!(
            alerts(Some(&custody(None, 100, true)), now),
            [AlertKind::NeverRotated]
        );
        assert!(alerts(Some(&custody(None, 10, true)), now).is_empty());
        assert_eq!(
            alerts(Some(&custody(Some(100), 400, false)), now),
            [AlertKind::RotationOverdue, AlertKind::CustodianDeparted]
        );
    }
}
