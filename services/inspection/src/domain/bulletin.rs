//! The quarterly bulletin of a region (季度检查情况通报, R-20): how many accounts were checked,
//! how many passed, which failed on which single-veto category, what was deducted, where the
//! rectification orders stand and which units were criticised, compiled without I/O from the
//! region's checks, orders and notices of the quarter.
//!
//! The checks a bulletin counts are each account's latest check of the quarter (a monitoring
//! run's, a spot check's or a supervisor's): the state of the account as the quarter saw it
//! last. Two editions: INTERNAL (with the problems found and the checks behind them) and PUBLIC
//! (what the notice asks to publish: numbers, failing accounts and their categories, criticised
//! units; no internal notes, no person's name). A quarter not yet over gives a draft, and only
//! in the internal edition.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::{
    Category, Check,
    notice::Notice,
    period::Quarter,
    rectification::{Order, OrderState},
    scheme::{ItemKind, ItemStatus, Verdict},
};

govmedia_kit::numbered! {
    /// Which edition (`BulletinEdition`).
    Edition {
        /// For the supervising offices: with the problems and the checks behind them.
        Internal = 1 => "INTERNAL",
        /// For publication: numbers and names, no internal notes, no person's name.
        Public = 2 => "PUBLIC",
    }
}

/// Failing accounts of one single-veto category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VetoCount {
    /// The category.
    pub category: Category,
    /// Accounts that failed on it (an account failing on two items of it counts once).
    pub accounts: u32,
}

/// One deduction item of a scored scheme.
#[derive(Clone, Debug, PartialEq)]
pub struct Deduction {
    /// The item's id.
    pub item: String,
    /// Its title.
    pub title: String,
    /// Accounts it was taken from.
    pub accounts: u32,
    /// Points taken in all (negative).
    pub points: f64,
}

/// Where the orders opened in the quarter stand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rectification {
    /// Opened in the quarter.
    pub opened: u32,
    /// Of those, verified.
    pub verified: u32,
    /// Waiting for the unit or the supervisor, within their deadline.
    pub in_progress: u32,
    /// Waiting for the unit past their deadline.
    pub overdue: u32,
}

/// A unit criticised in the quarter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Criticised {
    /// The unit.
    pub organization: String,
    /// Its name.
    pub display_name: String,
    /// The titles of the notices against it.
    pub notices: Vec<String>,
}

/// A failing account.
#[derive(Clone, Debug, PartialEq)]
pub struct Failing {
    /// The account.
    pub account: String,
    /// Its name.
    pub display_name: String,
    /// Its unit.
    pub organization: String,
    /// The unit's name.
    pub organization_display_name: String,
    /// The categories of the vetoes it failed on.
    pub categories: Vec<Category>,
    /// Its score, in a scored scheme (an account fails on it when no veto applies).
    pub score: Option<f64>,
    /// Internal edition: the items it failed on, in words; empty in the public edition.
    pub problems: Vec<String>,
    /// Internal edition: the check counted; empty in the public edition.
    pub check: String,
}

/// A compiled bulletin.
#[derive(Clone, Debug, PartialEq)]
pub struct Bulletin {
    /// The region.
    pub organization: String,
    /// Its name.
    pub display_name: String,
    /// The quarter.
    pub quarter: Quarter,
    /// The edition.
    pub edition: Edition,
    /// The quarter is not over: a draft.
    pub draft: bool,
    /// When it was compiled.
    pub as_of: DateTime<Utc>,
    /// Accounts with a check in the quarter.
    pub checked: u32,
    /// Of those, passing.
    pub passed: u32,
    /// Failing.
    pub failed: u32,
    /// Neither (an item could not be evaluated).
    pub incomplete: u32,
    /// Failing accounts by single-veto category, in category order.
    pub vetoes: Vec<VetoCount>,
    /// Deductions by item, most accounts first.
    pub deductions: Vec<Deduction>,
    /// The orders opened in the quarter.
    pub rectification: Rectification,
    /// Units criticised in the quarter, by name.
    pub criticised: Vec<Criticised>,
    /// Failing accounts, by unit then account name.
    pub failing: Vec<Failing>,
    /// Internal edition: how it was compiled (schemes and versions counted).
    pub notes: Vec<String>,
}

impl Bulletin {
    /// Passing share of the accounts checked, 0-1 (0 when none was checked).
    pub fn pass_rate(&self) -> f64 {
        if self.checked == 0 {
            0.0
        } else {
            f64::from(self.passed) / f64::from(self.checked)
        }
    }
}

/// What a bulletin is compiled from.
#[derive(Clone, Copy, Debug)]
pub struct Sources<'a> {
    /// The region and its name.
    pub region: (&'a str, &'a str),
    /// The quarter and the edition.
    pub quarter: Quarter,
    /// The edition.
    pub edition: Edition,
    /// When it is compiled.
    pub now: DateTime<Utc>,
    /// Each account's latest check of the quarter.
    pub checks: &'a [Check],
    /// The orders opened in the quarter.
    pub orders: &'a [Order],
    /// The notices of the quarter.
    pub notices: &'a [Notice],
    /// Account names by id.
    pub accounts: &'a BTreeMap<String, String>,
    /// Unit names by id.
    pub units: &'a BTreeMap<String, String>,
    /// The problem category of a detector.
    pub category_of: fn(&str) -> Option<Category>,
}

fn name_of<'a>(names: &'a BTreeMap<String, String>, id: &'a str) -> &'a str {
    names.get(id).map_or(id, String::as_str)
}

/// Compiles the bulletin of `sources`.
pub fn compile(sources: Sources<'_>) -> Bulletin {
    let public = sources.edition == Edition::Public;
    let (mut passed, mut failed, mut incomplete) = (0, 0, 0);
    let mut vetoes: BTreeMap<Category, BTreeSet<&str>> = BTreeMap::new();
    let mut deductions: BTreeMap<&str, (String, BTreeSet<&str>, f64)> = BTreeMap::new();
    let mut failing = Vec::new();
    let mut schemes: BTreeMap<(String, i32), u32> = BTreeMap::new();
    for check in sources.checks {
        *schemes
            .entry((check.scheme.clone(), check.scheme_version))
            .or_default() += 1;
        match check.outcome {
            Verdict::Pass => passed += 1,
            Verdict::Fail => failed += 1,
            Verdict::Incomplete => incomplete += 1,
        }
        let mut categories = BTreeSet::new();
        let mut problems = Vec::new();
        if let Some(score) = check.score {
            problems.push(format!("得分 {score:.2}"));
        }
        for item in &check.items {
            if item.status != ItemStatus::Triggered {
                continue;
            }
            match item.kind {
                ItemKind::Veto => {
                    if let Some(category) = (sources.category_of)(&item.detector) {
                        categories.insert(category);
                        vetoes.entry(category).or_default().insert(&check.account);
                    }
                    problems.push(format!("{}：{}", item.title, item.explanation));
                }
                ItemKind::Deduction => {
                    let entry = deductions
                        .entry(&item.item)
                        .or_insert_with(|| (item.title.clone(), BTreeSet::new(), 0.0));
                    entry.1.insert(&check.account);
                    entry.2 += item.points;
                }
                ItemKind::Bonus => {}
            }
        }
        if check.outcome == Verdict::Fail {
            failing.push(Failing {
                account: check.account.clone(),
                display_name: name_of(sources.accounts, &check.account).to_owned(),
                organization: check.organization.clone(),
                organization_display_name: name_of(sources.units, &check.organization).to_owned(),
                categories: categories.into_iter().collect(),
                score: check.score,
                problems: if public { Vec::new() } else { problems },
                check: if public {
                    String::new()
                } else {
                    check.id.clone()
                },
            });
        }
    }
    failing.sort_by(|a, b| {
        (&a.organization_display_name, &a.display_name, &a.account).cmp(&(
            &b.organization_display_name,
            &b.display_name,
            &b.account,
        ))
    });
    let mut deductions: Vec<Deduction> = deductions
        .into_iter()
        .map(|(item, (title, accounts, points))| Deduction {
            item: item.to_owned(),
            title,
            accounts: accounts.len() as u32,
            points,
        })
        .collect();
    deductions.sort_by(|a, b| b.accounts.cmp(&a.accounts).then(a.item.cmp(&b.item)));
    // Where the orders stood when the quarter ended (or now, while it runs): a published
    // bulletin does not change because an order fell overdue afterwards.
    let until = sources.now.min(sources.quarter.end());
    let mut rectification = Rectification::default();
    for order in sources.orders {
        rectification.opened += 1;
        match order.state {
            OrderState::Verified => rectification.verified += 1,
            OrderState::Open if order.overdue(until) => rectification.overdue += 1,
            OrderState::Open | OrderState::Answered => rectification.in_progress += 1,
        }
    }
    let mut criticised: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for notice in sources.notices {
        criticised
            .entry(&notice.organization)
            .or_default()
            .push(notice.title.clone());
    }
    let mut criticised: Vec<Criticised> = criticised
        .into_iter()
        .map(|(organization, notices)| Criticised {
            organization: organization.to_owned(),
            display_name: name_of(sources.units, organization).to_owned(),
            notices,
        })
        .collect();
    criticised.sort_by(|a, b| {
        (&a.display_name, &a.organization).cmp(&(&b.display_name, &b.organization))
    });
    let notes = if public {
        Vec::new()
    } else {
        let mut notes =
            vec!["每个账号计入本季度最后一次检查（日常监测、季度抽查或人工检查）".to_owned()];
        notes.extend(schemes.into_iter().map(|((scheme, version), count)| {
            format!("schemes/{scheme} 第 {version} 版：{count} 个账号")
        }));
        notes
    };
    Bulletin {
        organization: sources.region.0.to_owned(),
        display_name: sources.region.1.to_owned(),
        quarter: sources.quarter,
        edition: sources.edition,
        draft: !sources.quarter.ended(sources.now),
        as_of: sources.now,
        checked: passed + failed + incomplete,
        passed,
        failed,
        incomplete,
        vetoes: vetoes
            .into_iter()
            .map(|(category, accounts)| VetoCount {
                category,
                accounts: accounts.len() as u32,
            })
            .collect(),
        deductions,
        rectification,
        criticised,
        failing,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        Stamp,
        scheme::{ItemResult, Verdict},
    };

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&Utc)
    }

    fn item(id: &str, kind: ItemKind, detector: &str, triggered: bool, points: f64) -> ItemResult {
        ItemResult {
            item: id.into(),
            title: format!("{id} 标题"),
            kind,
            detector: detector.into(),
            status: if triggered {
                ItemStatus::Triggered
            } else {
                ItemStatus::Clear
            },
            points,
            weight_percent: 100,
            explanation: "说明".into(),
            findings: vec![],
            credited_posts: vec![],
        }
    }

    fn check(account: &str, outcome: Verdict, items: Vec<ItemResult>) -> Check {
        Check {
            id: format!("k-{account}"),
            account: account.into(),
            organization: "golmud".into(),
            path: "/qinghai/golmud/".into(),
            scheme: "national".into(),
            scheme_version: 2,
            as_of: at("2026-12-01T00:00:00Z"),
            outcome,
            score: None,
            items,
            not_evaluated: 0,
            created: Stamp {
                time: at("2026-12-01T00:00:00Z"),
                actor: "ma".into(),
                actor_organization: "golmud-office".into(),
            },
        }
    }

    fn category_of(detector: &str) -> Option<Category> {
        match detector {
            "wording-errors" => Some(Category::LaxReview),
            "no-update" => Some(Category::PoorMaintenance),
            _ => None,
        }
    }

    #[test]
    fn counts_vetoes_deductions_and_editions() {
        let checks = vec![
            check(
                "a",
                Verdict::Fail,
                vec![
                    item("wording", ItemKind::Veto, "wording-errors", true, 0.0),
                    item("update", ItemKind::Veto, "no-update", true, 0.0),
                    item("ads", ItemKind::Deduction, "commercial-content", true, -5.0),
                ],
            ),
            check(
                "b",
                Verdict::Fail,
                vec![item("wording", ItemKind::Veto, "wording-errors", true, 0.0)],
            ),
            check(
                "c",
                Verdict::Pass,
                vec![item(
                    "ads",
                    ItemKind::Deduction,
                    "commercial-content",
                    true,
                    -2.5,
                )],
            ),
            check("d", Verdict::Incomplete, vec![]),
        ];
        let names = BTreeMap::from([("a".to_owned(), "格尔木发布".to_owned())]);
        let units = BTreeMap::from([("golmud".to_owned(), "格尔木市".to_owned())]);
        let sources = Sources {
            region: ("golmud", "格尔木市"),
            quarter: Quarter::parse("2026-Q4").expect("q"),
            edition: Edition::Internal,
            now: at("2026-12-06T00:00:00Z"),
            checks: &checks,
            orders: &[],
            notices: &[],
            accounts: &names,
            units: &units,
            category_of,
        };
        let internal = compile(sources);
        assert!(internal.draft);
        assert_eq!(
            (
                internal.checked,
                internal.passed,
                internal.failed,
                internal.incomplete
            ),
            (4, 1, 2, 1)
        );
        assert!((internal.pass_rate() - 0.25).abs() < 1e-9);
        assert_eq!(
            internal.vetoes,
            [
                VetoCount {
                    category: Category::LaxReview,
                    accounts: 2
                },
                VetoCount {
                    category: Category::PoorMaintenance,
                    accounts: 1
                },
            ]
        );
        assert_eq!(internal.deductions.len(), 1);
        assert_eq!(internal.deductions[0].accounts, 2);
        assert!((internal.deductions[0].points + 7.5).abs() < 1e-9);
        assert_eq!(internal.failing.len(), 2);
        assert_eq!(
            internal.failing[0].display_name, "b",
            "unnamed accounts show their id"
        );
        assert!(!internal.failing[0].problems.is_empty());
        assert!(!internal.notes.is_empty());
        let public = compile(Sources {
            edition: Edition::Public,
            ..sources
        });
        assert!(public.notes.is_empty());
        assert!(
            public
                .failing
                .iter()
                .all(|f| f.problems.is_empty() && f.check.is_empty())
        );
        assert_eq!(public.vetoes, internal.vetoes);
        let over = compile(Sources {
            now: at("2027-01-01T00:00:00+08:00"),
            ..sources
        });
        assert!(!over.draft);
    }
}
