//! Reconciliation: the ledger, what the national reporting system was told, and what
//! the platforms list, compared account by account. Handlers gather the three; this module only
//! compares.

use std::collections::{BTreeMap, HashMap};

use govmedia_accounts::status::AccountStatus;
use govmedia_kit::numbered;

numbered! {
    /// Kinds of discrepancy.
    DiscrepancyType {
        /// 误报: reported, but the ledger has no such account or holds it differently.
        Wrong = 1 => "WRONG",
        /// 漏报: a live account of the ledger that was never reported.
        Missing = 2 => "MISSING",
        /// 瞒报: on a platform roster, but in no account of the ledger.
        Concealed = 3 => "CONCEALED",
        /// 僵尸号: cancelled in the ledger, but a platform roster imported since still lists it.
        Zombie = 4 => "ZOMBIE",
    }
}

/// An account as the ledger holds it, or as a report told the national system. Enums are
/// compared as their proto numbers: equal numbers, equal values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Account id.
    pub account: String,
    /// Owning unit id.
    pub organization: String,
    /// Platform (proto number).
    pub platform: i32,
    /// Id on the platform; empty before binding.
    pub platform_account_id: String,
    /// Name on the platform.
    pub display_name: String,
    /// Account kind (proto number).
    pub kind: i32,
    /// Status (proto number).
    pub status: i32,
    /// Verified subject.
    pub verified_subject: String,
    /// FILED, ACTIVE or SUSPENDED: an account the national system must know.
    pub live: bool,
    /// When the ledger last changed it (for a cancelled account, its cancellation or later);
    /// `None` when unknown.
    pub changed: Option<chrono::DateTime<chrono::Utc>>,
}

/// The latest record the national system holds of an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reported {
    /// The record id.
    pub report: String,
    /// The account as reported.
    pub snapshot: Snapshot,
}

/// A row of an imported platform roster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterEntry {
    /// The organization the roster covers.
    pub organization: String,
    /// The platform (proto number).
    pub platform: i32,
    /// Id on the platform.
    pub platform_account_id: String,
    /// Name on the platform.
    pub display_name: String,
    /// Verified subject the platform shows.
    pub verified_subject: String,
    /// Line in the imported CSV.
    pub line: i32,
    /// When its roster was imported; `None` before it is.
    pub imported: Option<chrono::DateTime<chrono::Utc>>,
}

/// One discrepancy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discrepancy {
    /// Its type.
    pub kind: DiscrepancyType,
    /// The ledger's account, if there is one.
    pub account: Option<String>,
    /// Platform (proto number).
    pub platform: i32,
    /// Id on the platform.
    pub platform_account_id: String,
    /// Account name.
    pub display_name: String,
    /// WRONG: the record the national system holds.
    pub report: Option<String>,
    /// WRONG: the fields that differ.
    pub differences: Vec<&'static str>,
    /// A newer record not yet delivered.
    pub unsent: Option<String>,
    /// What to look at.
    pub detail: String,
    /// CONCEALED and ZOMBIE: the roster's organization and the CSV line.
    pub roster: Option<(String, i32)>,
}

/// Where a discrepancy sorts: type, platform, platform account id, account, roster row. Unique
/// per discrepancy, so a page can resume after one even when the list changed meanwhile.
pub type SortKey = (i32, i32, String, Option<String>, Option<(String, i32)>);

impl Discrepancy {
    /// Its place in the order.
    pub fn key(&self) -> SortKey {
        (
            self.kind as i32,
            self.platform,
            self.platform_account_id.clone(),
            self.account.clone(),
            self.roster.clone(),
        )
    }
}

/// What is compared.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    /// The ledger's accounts of the subtree.
    pub ledger: &'a [Snapshot],
    /// Per account id, the latest record the national system holds.
    pub reported: &'a HashMap<String, Reported>,
    /// Per account id, a record newer than the reported one that is not delivered yet.
    pub unsent: &'a HashMap<String, String>,
    /// The rows of the rosters of the subtree.
    pub roster: &'a [RosterEntry],
}

/// The fields in which the national system's copy differs from the ledger.
fn differences(reported: &Snapshot, ledger: &Snapshot) -> Vec<&'static str> {
    let mut fields = Vec::new();
    let mut check = |name: &'static str, differ: bool| {
        if differ {
            fields.push(name);
        }
    };
    check("organization", reported.organization != ledger.organization);
    check("platform", reported.platform != ledger.platform);
    check(
        "platform_account_id",
        reported.platform_account_id != ledger.platform_account_id,
    );
    check("display_name", reported.display_name != ledger.display_name);
    check("kind", reported.kind != ledger.kind);
    check("status", reported.status != ledger.status);
    check(
        "verified_subject",
        reported.verified_subject != ledger.verified_subject,
    );
    fields
}

fn pending_note(unsent: Option<&String>) -> String {
    unsent.map_or_else(String::new, |report| {
        format!(
            "; reports/{report} is not delivered yet: if PENDING, deliver or export it; if \
             FAILED, correct the cause and queue it again"
        )
    })
}

/// Every discrepancy, ordered by type, platform, platform account id and account.
pub fn compare(inputs: Inputs<'_>) -> Vec<Discrepancy> {
    let mut found = Vec::new();
    let mut in_ledger: HashMap<&str, &Snapshot> = HashMap::new();
    let mut by_platform_id: HashMap<(i32, &str), &Snapshot> = HashMap::new();
    // Accounts filed but not bound yet, by platform and name: a roster row may be one of them.
    let mut unbound: HashMap<(i32, &str), Vec<&Snapshot>> = HashMap::new();
    for account in inputs.ledger {
        in_ledger.insert(&account.account, account);
        if account.platform_account_id.is_empty() {
            // Only a live account without a platform id (FILED) can still be bound.
            if account.live {
                unbound
                    .entry((account.platform, &account.display_name))
                    .or_default()
                    .push(account);
            }
        } else {
            // A platform id held by a cancelled account and by a live one (the platform gave
            // it out again) is the live one's.
            by_platform_id
                .entry((account.platform, &account.platform_account_id))
                .and_modify(|held| {
                    if !held.live {
                        *held = account;
                    }
                })
                .or_insert(account);
        }
        let unsent = inputs.unsent.get(&account.account);
        match inputs.reported.get(&account.account) {
            Some(reported) => {
                let fields = differences(&reported.snapshot, account);
                if !fields.is_empty() {
                    found.push(Discrepancy {
                        kind: DiscrepancyType::Wrong,
                        account: Some(account.account.clone()),
                        platform: account.platform,
                        platform_account_id: account.platform_account_id.clone(),
                        display_name: account.display_name.clone(),
                        report: Some(reported.report.clone()),
                        detail: format!(
                            "the national system holds {} differently from the ledger{}",
                            fields.join(", "),
                            pending_note(unsent)
                        ),
                        differences: fields,
                        unsent: unsent.cloned(),
                        roster: None,
                    });
                }
            }
            None if account.live => found.push(Discrepancy {
                kind: DiscrepancyType::Missing,
                account: Some(account.account.clone()),
                platform: account.platform,
                platform_account_id: account.platform_account_id.clone(),
                display_name: account.display_name.clone(),
                report: None,
                differences: Vec::new(),
                unsent: unsent.cloned(),
                detail: format!(
                    "never reported to the national system{}",
                    pending_note(unsent)
                ),
                roster: None,
            }),
            None => {}
        }
    }
    for (account, reported) in inputs.reported {
        if !in_ledger.contains_key(account.as_str()) {
            found.push(Discrepancy {
                kind: DiscrepancyType::Wrong,
                account: Some(account.clone()),
                platform: reported.snapshot.platform,
                platform_account_id: reported.snapshot.platform_account_id.clone(),
                display_name: reported.snapshot.display_name.clone(),
                report: Some(reported.report.clone()),
                differences: vec!["account"],
                unsent: None,
                detail: "reported to the national system, but the ledger has no such account \
                         in this subtree"
                    .to_owned(),
                roster: None,
            });
        }
    }
    for row in inputs.roster {
        if let Some(account) = by_platform_id.get(&(row.platform, row.platform_account_id.as_str()))
        {
            // Only a roster imported after the ledger's last change of the cancelled account
            // says the platform still lists it; one imported before says nothing of now.
            let listed_since = row
                .imported
                .is_some_and(|imported| account.changed.is_none_or(|changed| imported > changed));
            if listed_since
                && AccountStatus::from_i32(account.status) == Some(AccountStatus::Cancelled)
            {
                found.push(Discrepancy {
                    kind: DiscrepancyType::Zombie,
                    account: Some(account.account.clone()),
                    platform: row.platform,
                    platform_account_id: row.platform_account_id.clone(),
                    display_name: account.display_name.clone(),
                    report: None,
                    differences: Vec::new(),
                    unsent: None,
                    detail: "cancelled in the ledger, but the platform still lists it: never \
                             closed on the platform (僵尸号)"
                        .to_owned(),
                    roster: Some((row.organization.clone(), row.line)),
                });
            }
            continue;
        }
        let candidates = unbound
            .get(&(row.platform, row.display_name.as_str()))
            .map(|accounts| {
                accounts
                    .iter()
                    .map(|account| format!("accounts/{}", account.account))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let detail = if candidates.is_empty() {
            "listed by the platform, but no account of the ledger has this platform account id: \
             never filed"
                .to_owned()
        } else {
            format!(
                "listed by the platform, but no account of the ledger has this platform account \
                 id; {} is filed under this name without one: bind it if it is this account",
                candidates.join(", ")
            )
        };
        found.push(Discrepancy {
            kind: DiscrepancyType::Concealed,
            account: None,
            platform: row.platform,
            platform_account_id: row.platform_account_id.clone(),
            display_name: row.display_name.clone(),
            report: None,
            differences: Vec::new(),
            unsent: None,
            detail,
            roster: Some((row.organization.clone(), row.line)),
        });
    }
    found.sort_by_key(Discrepancy::key);
    found
}

/// Discrepancies per type.
pub fn count(found: &[Discrepancy]) -> BTreeMap<i32, i64> {
    let mut counts = BTreeMap::new();
    for discrepancy in found {
        *counts.entry(discrepancy.kind as i32).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEIBO: i32 = 3;

    /// Day `day` of December 2026.
    fn at(day: u32) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(&format!("2026-12-{day:02}T00:00:00Z"))
            .expect("time")
            .with_timezone(&chrono::Utc)
    }
    const FILED: i32 = 1;
    const ACTIVE: i32 = 2;
    const CANCELLED: i32 = 4;

    fn account(id: &str, platform_id: &str, name: &str, status: i32) -> Snapshot {
        Snapshot {
            account: id.into(),
            organization: "unit".into(),
            platform: WEIBO,
            platform_account_id: platform_id.into(),
            display_name: name.into(),
            kind: 1,
            status,
            verified_subject: "格尔木市教育局".into(),
            live: status != CANCELLED,
            changed: Some(at(1)),
        }
    }

    fn row(platform_id: &str, name: &str, line: i32) -> RosterEntry {
        RosterEntry {
            organization: "unit".into(),
            platform: WEIBO,
            platform_account_id: platform_id.into(),
            display_name: name.into(),
            verified_subject: String::new(),
            line,
            imported: Some(at(2)),
        }
    }

    #[test]
    fn each_type_is_found_and_agreement_is_silent() {
        let ledger = [
            // Reported as it is: nothing to say.
            account("same", "1001", "一致", ACTIVE),
            // Renamed after it was reported.
            account("renamed", "1002", "新名称", ACTIVE),
            // Never reported.
            account("silent", "1003", "未报", ACTIVE),
            // Cancelled and never reported: the national system need not know it.
            account("gone", "1004", "已注销", CANCELLED),
            // Filed, not bound yet.
            account("unbound", "", "待绑定", FILED),
        ];
        let mut reported = HashMap::new();
        reported.insert(
            "same".to_owned(),
            Reported {
                report: "r-1".into(),
                snapshot: ledger[0].clone(),
            },
        );
        reported.insert(
            "renamed".to_owned(),
            Reported {
                report: "r-2".into(),
                snapshot: account("renamed", "1002", "旧名称", ACTIVE),
            },
        );
        reported.insert(
            "ghost".to_owned(),
            Reported {
                report: "r-3".into(),
                snapshot: account("ghost", "1009", "幽灵", ACTIVE),
            },
        );
        let unsent = HashMap::from([("renamed".to_owned(), "r-4".to_owned())]);
        let roster = [
            row("1001", "一致", 2),
            row("1004", "已注销", 3),
            row("2001", "私开", 4),
            row("2002", "待绑定", 5),
        ];
        let found = compare(Inputs {
            ledger: &ledger,
            reported: &reported,
            unsent: &unsent,
            roster: &roster,
        });
        let summary: Vec<(DiscrepancyType, Option<&str>, &str)> = found
            .iter()
            .map(|d| (d.kind, d.account.as_deref(), d.platform_account_id.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (DiscrepancyType::Wrong, Some("renamed"), "1002"),
                (DiscrepancyType::Wrong, Some("ghost"), "1009"),
                (DiscrepancyType::Missing, Some("unbound"), ""),
                (DiscrepancyType::Missing, Some("silent"), "1003"),
                (DiscrepancyType::Concealed, None, "2001"),
                (DiscrepancyType::Concealed, None, "2002"),
                (DiscrepancyType::Zombie, Some("gone"), "1004"),
            ]
        );
        assert_eq!(found[6].roster, Some(("unit".to_owned(), 3)));
        assert_eq!(found[0].differences, ["display_name"]);
        assert_eq!(found[0].unsent.as_deref(), Some("r-4"));
        assert!(
            found[0].detail.contains("reports/r-4"),
            "{}",
            found[0].detail
        );
        assert_eq!(found[1].differences, ["account"]);
        assert_eq!(found[4].roster, Some(("unit".to_owned(), 4)));
        assert!(
            found[5].detail.contains("accounts/unbound"),
            "{}",
            found[5].detail
        );
        let counts = count(&found);
        assert_eq!(counts.get(&1), Some(&2));
        assert_eq!(counts.get(&2), Some(&2));
        assert_eq!(counts.get(&3), Some(&2));
        assert_eq!(counts.get(&4), Some(&1));
    }

    #[test]
    fn a_roster_imported_before_the_cancellation_makes_no_zombie() {
        let gone = account("gone", "1004", "已注销", CANCELLED);
        let mut old = row("1004", "已注销", 3);
        old.imported = Some(at(1));
        let compare_with = |roster: &[RosterEntry]| {
            compare(Inputs {
                ledger: std::slice::from_ref(&gone),
                reported: &HashMap::new(),
                unsent: &HashMap::new(),
                roster,
            })
        };
        assert!(compare_with(std::slice::from_ref(&old)).is_empty());
        let found = compare_with(&[row("1004", "已注销", 3)]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, DiscrepancyType::Zombie);
    }

    #[test]
    fn every_compared_field_is_named() {
        let ledger = account("a", "1", "名称", ACTIVE);
        let reported = Snapshot {
            account: "a".into(),
            organization: "other".into(),
            platform: 4,
            platform_account_id: "2".into(),
            display_name: "别名".into(),
            kind: 2,
            status: 3,
            verified_subject: "某公司".into(),
            live: true,
            changed: None,
        };
        assert_eq!(
            differences(&reported, &ledger),
            [
                "organization",
                "platform",
                "platform_account_id",
                "display_name",
                "kind",
                "status",
                "verified_subject"
            ]
        );
    }
}
