//! Indicator schemes as data: single-veto, deduction and bonus items, each bound to a
//! detector with its parameters and points, weighted per kind of account; and the one way a
//! scheme turns the detectors' outcomes into a verdict, every item explained.
//!
//! Two schemes are shipped (`data/schemes/*.json`, validated like any other): the national
//! pass/fail scheme — any single-veto item fails the account — and a scored provincial-style
//! example (100 deduction points and a bonus; below 60 fails; a veto caps the score at 59).
//!
//! Weights make the evaluation differentiated: an item's points for some accounts count a
//! percentage of what is written, and the deductions of the items that apply to an account are
//! rescaled so that they still add up to the scheme's deduction points — an interaction account
//! is not graded on the publishing items, and loses nothing for their absence.

use std::collections::BTreeMap;

use super::{Account, Stamp, detect};

govmedia_kit::numbered! {
    /// How a scheme decides (`SchemeMode`).
    Mode {
        /// Any veto fails; no points.
        PassFail = 1 => "PASS_FAIL",
        /// Points, a pass mark and a veto cap.
        Scored = 2 => "SCORED",
    }
}

govmedia_kit::numbered! {
    /// What an item does (`ItemKind`).
    ItemKind {
        /// Single veto.
        Veto = 1 => "VETO",
        /// Deduction.
        Deduction = 2 => "DEDUCTION",
        /// Bonus.
        Bonus = 3 => "BONUS",
    }
}

govmedia_kit::numbered! {
    /// The verdict of a check (`Outcome`).
    Verdict {
        /// Passes.
        Pass = 1 => "PASS",
        /// Fails.
        Fail = 2 => "FAIL",
        /// Nothing evaluated fails, but something could not be evaluated.
        Incomplete = 3 => "INCOMPLETE",
    }
}

govmedia_kit::numbered! {
    /// What became of an item (`ItemStatus`).
    ItemStatus {
        /// Nothing found.
        Clear = 1 => "CLEAR",
        /// Found: the item applies its veto, deduction or bonus.
        Triggered = 2 => "TRIGGERED",
        /// Not for this account.
        NotApplicable = 3 => "NOT_APPLICABLE",
        /// Could not be evaluated.
        NotEvaluated = 4 => "NOT_EVALUATED",
    }
}

/// Which accounts an item or a weight is for; an empty list matches all.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Selector {
    /// `AdministrativeLevel` numbers.
    pub levels: Vec<i32>,
    /// `Platform` numbers.
    pub platforms: Vec<i32>,
    /// `AccountKind` numbers.
    pub account_kinds: Vec<i32>,
    /// Business fields, as the scheme's `fields` assign them.
    pub business_fields: Vec<String>,
}

impl Selector {
    fn matches(&self, subject: &Subject<'_>) -> bool {
        (self.levels.is_empty() || self.levels.contains(&subject.account.level))
            && (self.platforms.is_empty() || self.platforms.contains(&subject.account.platform))
            && (self.account_kinds.is_empty() || self.account_kinds.contains(&subject.account.kind))
            && (self.business_fields.is_empty()
                || subject
                    .field
                    .is_some_and(|field| self.business_fields.iter().any(|f| f == field)))
    }
}

/// A weight of an item for the accounts its selector matches.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Weight {
    /// The accounts.
    #[serde(default)]
    pub selector: Selector,
    /// Percent of the written points, 0-500.
    pub percent: i32,
}

/// One item of a scheme.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Item {
    /// Unique in the scheme.
    pub id: String,
    /// What it checks.
    pub title: String,
    /// Veto, deduction or bonus.
    pub kind: ItemKind,
    /// The detector's id.
    pub detector: String,
    /// The detector's parameters.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    /// Points per finding or credit (0 for a veto).
    #[serde(default)]
    pub points: i32,
    /// Most points (0 for a veto).
    #[serde(default)]
    pub max_points: i32,
    /// The accounts it applies to.
    #[serde(default)]
    pub applies_to: Selector,
    /// Weights per kind of account; the first that matches applies.
    #[serde(default)]
    pub weights: Vec<Weight>,
}

/// A version of a scheme.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scheme {
    /// Its id.
    pub id: String,
    /// Its version, from 1.
    pub version: i32,
    /// Its title.
    pub title: String,
    /// The organization (id) whose subtree it is for; `None` for a shipped scheme.
    #[serde(default)]
    pub organization: Option<String>,
    /// The organization's materialized path (set when stored; `None` for a shipped scheme).
    #[serde(default)]
    pub path: Option<String>,
    /// Pass/fail or scored.
    pub mode: Mode,
    /// Scored: the points deductions take from.
    #[serde(default)]
    pub deduction_points: i32,
    /// Scored: the most bonus.
    #[serde(default)]
    pub bonus_points: i32,
    /// Scored: the least passing score.
    #[serde(default)]
    pub pass_mark: i32,
    /// Scored: the score a veto caps at.
    #[serde(default)]
    pub veto_cap: i32,
    /// The items.
    pub items: Vec<Item>,
    /// Business field per organization id (a subtree takes its nearest named ancestor's).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Who put this version; `None` for a shipped scheme.
    #[serde(default)]
    pub updated: Option<Stamp>,
}

/// The ids of the shipped schemes.
pub const NATIONAL: &str = "national";

/// The shipped schemes, in their shipped versions.
pub fn shipped() -> Vec<Scheme> {
    [
        include_str!("../../data/schemes/national.json"),
        include_str!("../../data/schemes/provincial-example.json"),
    ]
    .into_iter()
    .map(|text| {
        serde_json::from_str(text)
            .unwrap_or_else(|error| unreachable!("the shipped schemes are tested: {error}"))
    })
    .collect()
}

/// True when `id` names a shipped scheme.
pub fn is_shipped(id: &str) -> bool {
    shipped().iter().any(|scheme| scheme.id == id)
}

/// The most items of a scheme.
pub const MAX_ITEMS: usize = 100;

/// Every reason `scheme` cannot be used, as (field, description) with fields named as in the
/// proto (`items[2].points`).
pub fn problems(scheme: &Scheme) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut add = |field: String, description: String| problems.push((field, description));
    let title = scheme.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        add("title".into(), "must be 1 to 200 characters".into());
    }
    if scheme.items.is_empty() || scheme.items.len() > MAX_ITEMS {
        add("items".into(), format!("must hold 1 to {MAX_ITEMS} items"));
    }
    let scored = scheme.mode == Mode::Scored;
    let (mut deductions, mut bonuses) = (0i64, 0i64);
    let mut ids: Vec<&str> = Vec::new();
    for (index, item) in scheme.items.iter().enumerate() {
        let at = |field: &str| format!("items[{index}].{field}");
        if !govmedia_kit::validate::is_id(&item.id) {
            add(
                at("id"),
                "must be 2-63 characters of a-z, 0-9 and '-', starting with a letter".into(),
            );
        } else if ids.contains(&item.id.as_str()) {
            add(at("id"), format!("{} is used by an earlier item", item.id));
        }
        ids.push(&item.id);
        let item_title = item.title.trim();
        if item_title.is_empty() || item_title.chars().count() > 200 {
            add(at("title"), "must be 1 to 200 characters".into());
        }
        let Some(spec) = detect::spec(&item.detector) else {
            let known: Vec<&str> = detect::DETECTORS.iter().map(|spec| spec.id).collect();
            add(
                at("detector"),
                format!(
                    "{:?} is no detector; known: {}",
                    item.detector,
                    known.join(", ")
                ),
            );
            continue;
        };
        if let Err(bad) = detect::resolve(spec, &item.parameters) {
            for (name, description) in bad {
                add(format!("items[{index}].parameters[{name}]"), description);
            }
        }
        match item.kind {
            ItemKind::Veto => {
                if spec.merit {
                    add(
                        at("kind"),
                        format!(
                            "the detector {} credits merits: bind it to a BONUS item",
                            spec.id
                        ),
                    );
                }
                if item.points != 0 || item.max_points != 0 {
                    add(at("points"), "a veto item has no points (0 and 0)".into());
                }
            }
            ItemKind::Deduction | ItemKind::Bonus => {
                if !scored {
                    add(
                        at("kind"),
                        "a PASS_FAIL scheme holds VETO items only".into(),
                    );
                }
                let bonus = item.kind == ItemKind::Bonus;
                if bonus != spec.merit {
                    add(
                        at("kind"),
                        if bonus {
                            format!(
                                "the detector {} finds problems: bind it to a VETO or DEDUCTION item",
                                spec.id
                            )
                        } else {
                            format!(
                                "the detector {} credits merits: bind it to a BONUS item",
                                spec.id
                            )
                        },
                    );
                }
                if item.points < 1 || item.points > 1_000 {
                    add(at("points"), "must be 1 to 1000".into());
                }
                if item.max_points < item.points.max(1) || item.max_points > 1_000 {
                    add(
                        at("max_points"),
                        "must be at least points and at most 1000".into(),
                    );
                }
                if bonus {
                    bonuses += i64::from(item.max_points);
                } else {
                    deductions += i64::from(item.max_points);
                }
            }
        }
        selector_problems(&mut add, &at("applies_to"), &item.applies_to);
        for (w, weight) in item.weights.iter().enumerate() {
            if !(0..=500).contains(&weight.percent) {
                add(
                    format!("items[{index}].weights[{w}].percent"),
                    "must be 0 to 500".into(),
                );
            }
            selector_problems(
                &mut add,
                &format!("items[{index}].weights[{w}].selector"),
                &weight.selector,
            );
        }
    }
    if scored {
        if !(1..=1_000).contains(&scheme.deduction_points) {
            add(
                "deduction_points".into(),
                "must be 1 to 1000 in a SCORED scheme".into(),
            );
        } else if deductions != i64::from(scheme.deduction_points) {
            add(
                "deduction_points".into(),
                format!(
                    "is {} but the deduction items' max_points add up to {deductions}",
                    scheme.deduction_points
                ),
            );
        }
        if !(0..=1_000).contains(&scheme.bonus_points) {
            add("bonus_points".into(), "must be 0 to 1000".into());
        } else if bonuses != i64::from(scheme.bonus_points) {
            add(
                "bonus_points".into(),
                format!(
                    "is {} but the bonus items' max_points add up to {bonuses}",
                    scheme.bonus_points
                ),
            );
        }
        if scheme.pass_mark < 1 || scheme.pass_mark > scheme.deduction_points {
            add(
                "pass_mark".into(),
                "must be from 1 to deduction_points".into(),
            );
        }
        if scheme.veto_cap < 0 || scheme.veto_cap >= scheme.pass_mark {
            add(
                "veto_cap".into(),
                "must be from 0 to below pass_mark".into(),
            );
        }
    } else {
        for (field, value) in [
            ("deduction_points", scheme.deduction_points),
            ("bonus_points", scheme.bonus_points),
            ("pass_mark", scheme.pass_mark),
            ("veto_cap", scheme.veto_cap),
        ] {
            if value != 0 {
                add(field.into(), "must be 0 in a PASS_FAIL scheme".into());
            }
        }
    }
    for (organization, field) in &scheme.fields {
        if !govmedia_kit::validate::is_id(organization) {
            add(
                format!("fields[{organization}]"),
                "the key must be an organization id".into(),
            );
        }
        if !govmedia_kit::validate::is_id(field) {
            add(
                format!("fields[{organization}]"),
                "a business field is 2-63 characters of a-z, 0-9 and '-'".into(),
            );
        }
    }
    problems
}

fn selector_problems(add: &mut impl FnMut(String, String), at: &str, selector: &Selector) {
    for level in &selector.levels {
        if !(1..=5).contains(level) {
            add(
                format!("{at}.levels"),
                format!("{level} is no administrative level"),
            );
        }
    }
    for platform in &selector.platforms {
        if !(1..=18).contains(platform) {
            add(
                format!("{at}.platforms"),
                format!("{platform} is no platform"),
            );
        }
    }
    for kind in &selector.account_kinds {
        if !(1..=3).contains(kind) {
            add(
                format!("{at}.account_kinds"),
                format!("{kind} is no account kind"),
            );
        }
    }
    for field in &selector.business_fields {
        if !govmedia_kit::validate::is_id(field) {
            add(
                format!("{at}.business_fields"),
                format!("{field:?} is no business field id"),
            );
        }
    }
}

/// The account a scheme is applied to: its ledger record and its business field.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    /// The account.
    pub account: &'a Account,
    /// Its organization's business field under the scheme.
    pub field: Option<&'a str>,
}

impl Scheme {
    /// The business field of the organization at `path` (ids from the top): its nearest
    /// ancestor-or-self the scheme names.
    pub fn field_of(&self, path: &str) -> Option<&str> {
        path.split('/')
            .filter(|id| !id.is_empty())
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .find_map(|id| self.fields.get(id).map(String::as_str))
    }

    /// How many days before the check point its items read posts: the furthest any item's
    /// detector reaches with its parameters (see [`detect::Spec::horizon`]).
    pub fn horizon(&self) -> i64 {
        self.items
            .iter()
            .filter_map(|item| {
                let spec = detect::spec(&item.detector)?;
                let params = detect::resolve(spec, &item.parameters).ok()?;
                Some(spec.horizon(&params))
            })
            .max()
            .unwrap_or_default()
    }

    /// True when accounts at `path` may be checked under this scheme.
    pub fn serves(&self, path: &str) -> bool {
        self.path
            .as_deref()
            .is_none_or(|root| super::within(root, path))
    }
}

/// What a detector gave for an item: its outcome, or why it could not run.
#[derive(Clone, Debug)]
pub enum Run {
    /// The detector ran.
    Ran(detect::Outcome),
    /// It could not: why.
    NotEvaluated(String),
}

/// One item of a verdict.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ItemResult {
    /// The item's id.
    pub item: String,
    /// Its title.
    pub title: String,
    /// Its kind.
    pub kind: ItemKind,
    /// Its detector.
    pub detector: String,
    /// What became of it.
    pub status: ItemStatus,
    /// Points as the score counts them: negative deducted, positive bonus.
    pub points: f64,
    /// The weight applied, in percent.
    pub weight_percent: i32,
    /// Why.
    pub explanation: String,
    /// The findings behind it (ids), filled in when they are stored.
    pub findings: Vec<String>,
    /// For a bonus item, the posts it credited (ids, at most 100).
    #[serde(default)]
    pub credited_posts: Vec<String>,
}

/// A scheme's verdict on one account.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Pass, fail or incomplete.
    pub outcome: Verdict,
    /// The score of a scored scheme.
    pub score: Option<f64>,
    /// Every item, in scheme order.
    pub items: Vec<ItemResult>,
    /// How many items could not be evaluated.
    pub not_evaluated: i32,
}

/// Whether each item applies to `subject`, and its weight in percent.
pub fn applicability(scheme: &Scheme, subject: &Subject<'_>) -> Vec<Option<i32>> {
    scheme
        .items
        .iter()
        .map(|item| {
            item.applies_to.matches(subject).then(|| {
                item.weights
                    .iter()
                    .find(|weight| weight.selector.matches(subject))
                    .map_or(100, |weight| weight.percent)
            })
        })
        .collect()
}

/// The verdict of `scheme` on `subject` given what each item's detector gave (`runs`, in item
/// order; `None` for an item that does not apply).
pub fn evaluate(scheme: &Scheme, subject: &Subject<'_>, runs: &[Option<Run>]) -> Evaluation {
    let weights = applicability(scheme, subject);
    // The deductions of the applicable items are rescaled to add up to the scheme's points.
    let weighted_max: f64 = scheme
        .items
        .iter()
        .zip(&weights)
        .filter(|(item, weight)| item.kind == ItemKind::Deduction && weight.is_some())
        .map(|(item, weight)| f64::from(item.max_points) * f64::from(weight.unwrap_or(100)) / 100.0)
        .sum();
    let scale = if weighted_max > 0.0 {
        f64::from(scheme.deduction_points) / weighted_max
    } else {
        1.0
    };
    let mut items = Vec::with_capacity(scheme.items.len());
    let (mut vetoed, mut not_evaluated) = (false, 0);
    let (mut deducted, mut bonus) = (0.0f64, 0.0f64);
    for ((item, weight), run) in scheme.items.iter().zip(&weights).zip(runs) {
        let mut result = ItemResult {
            item: item.id.clone(),
            title: item.title.clone(),
            kind: item.kind,
            detector: item.detector.clone(),
            status: ItemStatus::NotApplicable,
            points: 0.0,
            weight_percent: weight.unwrap_or(0),
            explanation: String::new(),
            findings: Vec::new(),
            credited_posts: Vec::new(),
        };
        match (weight, run) {
            (None, _) | (_, None) => {
                result.explanation = "不适用于该类账号".to_owned();
            }
            (Some(_), Some(Run::NotEvaluated(why))) => {
                not_evaluated += 1;
                result.status = ItemStatus::NotEvaluated;
                result.explanation = why.clone();
            }
            (Some(percent), Some(Run::Ran(outcome))) => {
                let count = match item.kind {
                    ItemKind::Bonus => outcome.credits as usize,
                    ItemKind::Veto | ItemKind::Deduction => outcome.drafts.len(),
                };
                result.explanation = outcome.explanation.clone();
                if item.kind == ItemKind::Bonus {
                    result.credited_posts = outcome.credited.iter().take(100).cloned().collect();
                }
                if count == 0 {
                    result.status = ItemStatus::Clear;
                } else {
                    result.status = ItemStatus::Triggered;
                    let uncapped = i64::from(item.points) * count as i64;
                    let written = uncapped.min(i64::from(item.max_points)) as f64;
                    let weighted = written * f64::from(*percent) / 100.0;
                    match item.kind {
                        ItemKind::Veto => vetoed = true,
                        ItemKind::Deduction => {
                            result.points = -round2(weighted * scale);
                            deducted += weighted * scale;
                        }
                        ItemKind::Bonus => {
                            result.points = round2(weighted);
                            bonus += weighted;
                        }
                    }
                    // The arithmetic, so that a reader can check the points.
                    let mut how = match item.kind {
                        ItemKind::Veto => "；单项否决".to_owned(),
                        ItemKind::Deduction | ItemKind::Bonus => {
                            format!("；{count} 项 × {} 分", item.points)
                        }
                    };
                    if item.kind != ItemKind::Veto {
                        if uncapped > i64::from(item.max_points) {
                            how.push_str(&format!("，以 {} 分为限", item.max_points));
                        }
                        if *percent != 100 {
                            how.push_str(&format!("，权重 {percent}%"));
                        }
                        if item.kind == ItemKind::Deduction && (scale - 1.0).abs() > 1e-9 {
                            how.push_str(&format!("，按适用于该账号的扣分项折算 × {:.4}", scale));
                        }
                        how.push_str(&format!("，计 {} 分", result.points));
                    }
                    result.explanation.push_str(&how);
                }
            }
        }
        items.push(result);
    }
    let (outcome, score) = match scheme.mode {
        Mode::PassFail => (
            if vetoed {
                Verdict::Fail
            } else if not_evaluated > 0 {
                Verdict::Incomplete
            } else {
                Verdict::Pass
            },
            None,
        ),
        Mode::Scored => {
            let base = f64::from(scheme.deduction_points);
            let mut score = (base - deducted).max(0.0) + bonus.min(f64::from(scheme.bonus_points));
            if vetoed {
                score = score.min(f64::from(scheme.veto_cap));
            }
            let score = round2(score);
            let outcome = if vetoed || score < f64::from(scheme.pass_mark) {
                Verdict::Fail
            } else if not_evaluated > 0 {
                Verdict::Incomplete
            } else {
                Verdict::Pass
            };
            (outcome, Some(score))
        }
    };
    Evaluation {
        outcome,
        score,
        items,
        not_evaluated,
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Account, AccountStatus, detect::Outcome};

    fn account(level: i32, kind: i32) -> Account {
        Account {
            id: "golmud-wechat".into(),
            organization: "golmud".into(),
            path: "/qinghai/haixi/golmud/".into(),
            display_name: "格尔木发布".into(),
            platform: 1,
            kind,
            level,
            status: Some(AccountStatus::Active),
            opened: None,
            homepage: String::new(),
            followers: None,
        }
    }

    fn found(n: usize) -> Option<Run> {
        Some(Run::Ran(Outcome {
            drafts: (0..n)
                .map(|i| detect::Draft {
                    key: i.to_string(),
                    severity: crate::domain::Severity::Medium,
                    summary: String::new(),
                    evidence: Default::default(),
                })
                .collect(),
            ..Outcome::default()
        }))
    }

    fn credited(n: u32) -> Option<Run> {
        Some(Run::Ran(Outcome {
            credits: n,
            ..Outcome::default()
        }))
    }

    fn scheme(id: &str) -> Scheme {
        shipped().into_iter().find(|s| s.id == id).expect("shipped")
    }

    #[test]
    fn the_shipped_schemes_are_valid() {
        for scheme in shipped() {
            assert_eq!(problems(&scheme), Vec::new(), "{}", scheme.id);
        }
        assert!(is_shipped(NATIONAL));
    }

    /// Where the item `id` is in `scheme`.
    fn index(scheme: &Scheme, id: &str) -> usize {
        scheme
            .items
            .iter()
            .position(|item| item.id == id)
            .unwrap_or_else(|| panic!("no item {id}"))
    }

    #[test]
    fn a_scheme_whose_points_do_not_add_up_is_refused_with_every_reason() {
        let mut bad = scheme("provincial-example");
        let wording = index(&bad, "wording-errors");
        bad.items[wording].max_points = 10; // deductions now add up to 95
        bad.items[0].detector = "mind-reading".into();
        bad.items[1]
            .parameters
            .insert("window_days".into(), "0".into());
        bad.items[2]
            .parameters
            .insert("colour".into(), "red".into());
        bad.veto_cap = 60;
        let fields: Vec<String> = problems(&bad).into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "items[0].detector",
                "items[1].parameters[window_days]",
                "items[2].parameters[colour]",
                "deduction_points",
                "veto_cap"
            ]
        );
    }

    #[test]
    fn a_pass_fail_scheme_holds_vetoes_only() {
        let mut bad = scheme(NATIONAL);
        bad.items[0].kind = ItemKind::Deduction;
        bad.items[0].points = 5;
        bad.items[0].max_points = 5;
        bad.pass_mark = 60;
        let fields: Vec<String> = problems(&bad).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["items[0].kind", "pass_mark"]);
    }

    #[test]
    fn any_veto_fails_the_national_scheme_and_an_unevaluated_item_withholds_the_pass() {
        let national = scheme(NATIONAL);
        let account = account(4, 1);
        let subject = Subject {
            account: &account,
            field: None,
        };
        let clear: Vec<Option<Run>> = national.items.iter().map(|_| found(0)).collect();
        let verdict = evaluate(&national, &subject, &clear);
        assert_eq!((verdict.outcome, verdict.score), (Verdict::Pass, None));
        let mut one = clear.clone();
        one[1] = found(1);
        let verdict = evaluate(&national, &subject, &one);
        assert_eq!(verdict.outcome, Verdict::Fail);
        assert_eq!(verdict.items[1].status, ItemStatus::Triggered);
        let mut unknown = clear;
        unknown[0] = Some(Run::NotEvaluated("the source did not answer".into()));
        let verdict = evaluate(&national, &subject, &unknown);
        assert_eq!(
            (verdict.outcome, verdict.not_evaluated),
            (Verdict::Incomplete, 1)
        );
    }

    #[test]
    fn the_provincial_score_deducts_adds_and_caps_a_veto_at_59() {
        let provincial = scheme("provincial-example");
        // A county publishing account: the county update veto applies, the other does not.
        let county = account(4, 1);
        let subject = Subject {
            account: &county,
            field: None,
        };
        let applies = applicability(&provincial, &subject);
        assert!(applies[1].is_some() && applies[2].is_none());
        let mut runs: Vec<Option<Run>> = provincial
            .items
            .iter()
            .zip(&applies)
            .map(|(item, weight)| {
                weight.and_then(|_| {
                    if item.kind == ItemKind::Bonus {
                        credited(0)
                    } else {
                        found(0)
                    }
                })
            })
            .collect();
        let (wording, commercial, relay) = (
            index(&provincial, "wording-errors"),
            index(&provincial, "commercial-content"),
            index(&provincial, "authoritative-relay"),
        );
        runs[wording] = found(2); // two wording errors: -10
        runs[commercial] = found(9); // commercial content, capped at 15
        runs[relay] = credited(2); // two relays: +6
        let verdict = evaluate(&provincial, &subject, &runs);
        // The service-link item (5 points) does not apply to a publishing account: the 95
        // points that do are rescaled to 100, so 25 written points deduct 26.32.
        assert_eq!(verdict.score, Some(79.68));
        assert_eq!(verdict.outcome, Verdict::Pass);
        assert_eq!(verdict.items[commercial].points, -15.79);
        assert_eq!(verdict.items[relay].points, 6.0);
        assert_eq!(verdict.items[2].status, ItemStatus::NotApplicable);
        runs[0] = found(1);
        let verdict = evaluate(&provincial, &subject, &runs);
        assert_eq!(
            (verdict.outcome, verdict.score),
            (Verdict::Fail, Some(59.0))
        );
    }

    #[test]
    fn weights_rescale_the_deductions_of_the_items_that_apply() {
        let provincial = scheme("provincial-example");
        // A service account: the update items do not apply, original share weighs 50 %.
        let service = account(3, 2);
        let subject = Subject {
            account: &service,
            field: None,
        };
        let applies = applicability(&provincial, &subject);
        assert_eq!(applies[index(&provincial, "original-share")], Some(50));
        assert_eq!(applies[index(&provincial, "update-frequency")], None);
        let mut runs: Vec<Option<Run>> = applies
            .iter()
            .zip(&provincial.items)
            .map(|(w, item)| {
                w.and_then(|_| {
                    if item.kind == ItemKind::Bonus {
                        credited(0)
                    } else {
                        found(0)
                    }
                })
            })
            .collect();
        // Everything that can be deducted is: the score is 0, never below.
        for (index, item) in provincial.items.iter().enumerate() {
            if item.kind == ItemKind::Deduction && applies[index].is_some() {
                runs[index] = found(100);
            }
        }
        let verdict = evaluate(&provincial, &subject, &runs);
        let deducted: f64 = verdict.items.iter().map(|i| i.points).sum();
        assert!((deducted + 100.0).abs() < 0.05, "{deducted}");
        assert_eq!(verdict.score, Some(0.0));
    }

    #[test]
    fn a_business_field_is_the_nearest_named_ancestors() {
        let mut provincial = scheme("provincial-example");
        provincial.fields.insert("haixi".into(), "general".into());
        provincial
            .fields
            .insert("golmud".into(), "public-security".into());
        assert_eq!(
            provincial.field_of("/qinghai/haixi/golmud/"),
            Some("public-security")
        );
        assert_eq!(
            provincial.field_of("/qinghai/haixi/delingha/"),
            Some("general")
        );
        assert_eq!(provincial.field_of("/qinghai/"), None);
    }
}
