//! Vetting: before a vendor is used, named assessors score its internet information
//! dissemination, media operation, political sensitivity and policy understanding. A vetting
//! passes when the mean reaches the threshold and no dimension falls below the floor; a passed
//! vetting counts for a period, after which the vendor must be vetted again to be approved.

use chrono::{DateTime, Duration, Utc};
use govmedia_kit::numbered;

use super::Stamp;

numbered! {
    /// What a vetting scores.
    Dimension {
        /// 互联网信息传播能力.
        Dissemination = 1 => "DISSEMINATION",
        /// 媒体运营能力.
        MediaOperation = 2 => "MEDIA_OPERATION",
        /// 政治敏锐性.
        PoliticalSensitivity = 3 => "POLITICAL_SENSITIVITY",
        /// 政策理解能力.
        PolicyUnderstanding = 4 => "POLICY_UNDERSTANDING",
    }
}

/// Highest score of a dimension.
pub const MAX_SCORE: i32 = 100;

/// Fewest assessors of one vetting.
pub const MIN_ASSESSORS: usize = 2;

/// A person who scored a vetting.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Assessor {
    /// Full name.
    pub display_name: String,
    /// Employer.
    pub affiliation: String,
    /// Employer's credit code, when given.
    pub affiliation_credit_code: String,
}

/// One dimension's score.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Score {
    /// Dimension (proto number).
    pub dimension: i32,
    /// 0..=100.
    pub score: i32,
    /// What it rests on.
    pub comment: String,
}

/// A recorded vetting.
#[derive(Clone, Debug, PartialEq)]
pub struct Vetting {
    /// Id within the vendor (a time-ordered UUID).
    pub id: String,
    /// Who assessed.
    pub assessors: Vec<Assessor>,
    /// The four scores.
    pub scores: Vec<Score>,
    /// Conclusion.
    pub summary: String,
    /// Mean of the scores.
    pub total: f64,
    /// The threshold it was judged by.
    pub pass_threshold: u32,
    /// The floor it was judged by.
    pub dimension_floor: u32,
    /// Whether it passed.
    pub passed: bool,
    /// Until when it counts.
    pub valid_until: DateTime<Utc>,
    /// Who recorded it.
    pub recorded: Stamp,
}

/// The settings a vetting is judged by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VettingRules {
    /// Least mean to pass.
    pub pass_threshold: u32,
    /// Least score of each dimension.
    pub dimension_floor: u32,
    /// How long a vetting counts.
    pub validity: Duration,
}

/// The verdict on a set of scores.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Verdict {
    /// Mean of the scores.
    pub total: f64,
    /// Whether it passed.
    pub passed: bool,
    /// Until when it counts.
    pub valid_until: DateTime<Utc>,
}

impl VettingRules {
    /// Judges `scores` (validated: each dimension once, each within 0..=100) recorded at `now`.
    pub fn judge(&self, scores: &[Score], now: DateTime<Utc>) -> Verdict {
        let count = scores.len().max(1) as f64;
        let total = scores.iter().map(|s| f64::from(s.score)).sum::<f64>() / count;
        let floor = i64::from(self.dimension_floor);
        let passed = !scores.is_empty()
            && total >= f64::from(self.pass_threshold)
            && scores.iter().all(|s| i64::from(s.score) >= floor);
        Verdict {
            total,
            passed,
            valid_until: now + self.validity,
        }
    }
}

/// Normalizes a name for comparison: no white space, no case.
fn folded(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Why assessor `assessor` may not assess the vendor named `vendor_name` with credit code
/// `vendor_code`: the field (`affiliation` or `affiliation_credit_code`) and the problem, or
/// `None`. An assessor from the vendor itself would be marking its own work.
pub fn conflict(
    assessor: &Assessor,
    vendor_name: &str,
    vendor_code: &str,
) -> Option<(&'static str, &'static str)> {
    if !assessor.affiliation_credit_code.is_empty()
        && assessor.affiliation_credit_code == vendor_code
    {
        return Some((
            "affiliation_credit_code",
            "is the vendor's own: an assessor must not come from the vendor",
        ));
    }
    if folded(&assessor.affiliation) == folded(vendor_name) {
        return Some((
            "affiliation",
            "is the vendor itself: an assessor must not come from the vendor",
        ));
    }
    None
}

/// Indexes of assessors who repeat an earlier one (same name and affiliation): two names are
/// needed, not one name twice.
pub fn repeated_assessors(assessors: &[Assessor]) -> Vec<usize> {
    let mut seen = Vec::new();
    let mut repeated = Vec::new();
    for (index, assessor) in assessors.iter().enumerate() {
        let key = (
            folded(&assessor.display_name),
            folded(&assessor.affiliation),
        );
        if seen.contains(&key) {
            repeated.push(index);
        } else {
            seen.push(key);
        }
    }
    repeated
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::TimeZone;

    use super::*;

    fn stamp() -> Stamp {
        Stamp {
            time: Utc
                .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
                .single()
                .expect("time"),
            actor: "wang".into(),
            actor_organization: "golmud-office".into(),
        }
    }

    /// A vetting that passed or not, valid until `valid_until`.
    pub(crate) fn vetting(passed: bool, valid_until: DateTime<Utc>) -> Vetting {
        Vetting {
            id: "1".into(),
            assessors: Vec::new(),
            scores: Vec::new(),
            summary: String::new(),
            total: if passed { 90.0 } else { 50.0 },
            pass_threshold: 80,
            dimension_floor: 60,
            passed,
            valid_until,
            recorded: stamp(),
        }
    }

    fn scores(values: [i32; 4]) -> Vec<Score> {
        Dimension::ALL
            .iter()
            .zip(values)
            .map(|(dimension, score)| Score {
                dimension: *dimension as i32,
                score,
                comment: String::new(),
            })
            .collect()
    }

    #[test]
    fn the_mean_and_the_floor_both_decide() {
        let rules = VettingRules {
            pass_threshold: 80,
            dimension_floor: 60,
            validity: Duration::days(365),
        };
        let now = stamp().time;
        let verdict = rules.judge(&scores([80, 80, 80, 80]), now);
        assert!(verdict.passed);
        assert_eq!(verdict.total, 80.0);
        assert_eq!(verdict.valid_until, now + Duration::days(365));
        assert!(!rules.judge(&scores([80, 80, 80, 79]), now).passed);
        // A high mean does not carry a dimension below the floor.
        let lopsided = rules.judge(&scores([100, 100, 100, 59]), now);
        assert!(lopsided.total >= 80.0 && !lopsided.passed);
        assert!(!rules.judge(&[], now).passed);
    }

    #[test]
    fn an_assessor_from_the_vendor_is_a_conflict() {
        let assessor = |affiliation: &str, code: &str| Assessor {
            display_name: "赵专家".into(),
            affiliation: affiliation.into(),
            affiliation_credit_code: code.into(),
        };
        let (name, code) = ("青云传媒有限公司", "91630100MA7XYZ0001");
        assert_eq!(conflict(&assessor("青海大学", ""), name, code), None);
        assert_eq!(
            conflict(&assessor("青海大学", code), name, code).map(|c| c.0),
            Some("affiliation_credit_code")
        );
        assert_eq!(
            conflict(&assessor(" 青云传媒 有限公司", ""), name, code).map(|c| c.0),
            Some("affiliation")
        );
        let twice = [assessor("青海大学", ""), assessor("青海 大学", "")];
        assert_eq!(repeated_assessors(&twice), vec![1]);
    }
}
