//! Performance assessment (R-42, 全面科学考核运营绩效): a vendor's period scored from the
//! accounts it operated. The formula is a weighted mean whose weights and version come from the
//! settings; an input that cannot be had is *missing* — left out of the mean, its weight
//! reported as unused — and never counted as zero, so a vendor is not failed for what a
//! service that is not there could not say.

use chrono::{DateTime, Utc};
use govmedia_kit::numbered;

use super::Stamp;

numbered! {
    /// The inputs of the formula.
    InputKind {
        /// Share of inspections passed (the inspection service).
        Inspection = 1 => "INSPECTION",
        /// Share of messages answered in time (the message-routing service).
        ReplyTimeliness = 2 => "REPLY_TIMELINESS",
        /// Citizens' satisfaction (the message-routing service).
        Satisfaction = 3 => "SATISFACTION",
        /// The supervisors' ratings.
        SupervisorRating = 4 => "SUPERVISOR_RATING",
    }
}

/// The formula: a weight per input (percent, summing to 100), the threshold and its version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Formula {
    /// Version, stored with every assessment.
    pub version: String,
    /// Weight of each input, in percent.
    pub weights: Vec<(InputKind, u32)>,
    /// The least score that passes.
    pub threshold: u32,
}

/// A supervisor's rating.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rating {
    /// Who rates.
    pub rater: String,
    /// 0..=100.
    pub score: i32,
    /// Why.
    pub comment: String,
}

/// One input as it was at the assessment.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Input {
    /// Which (proto number).
    pub kind: i32,
    /// Its weight, 0..=1.
    pub weight: f64,
    /// Its value, 0..=100, or `None` when missing.
    pub value: Option<f64>,
    /// Where it came from, or why it is missing.
    pub source: String,
}

/// A recorded assessment.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    /// Id within the vendor.
    pub id: String,
    /// Period start.
    pub period_start: DateTime<Utc>,
    /// Period end.
    pub period_end: DateTime<Utc>,
    /// The supervisors' ratings.
    pub ratings: Vec<Rating>,
    /// Every input.
    pub inputs: Vec<Input>,
    /// The formula's version.
    pub formula_version: String,
    /// The score, when any input was available.
    pub score: Option<f64>,
    /// The weight of the missing inputs.
    pub unused_weight: f64,
    /// The threshold it was judged by.
    pub threshold: f64,
    /// Scored and below the threshold.
    pub below_threshold: bool,
    /// The accounts the vendor operated in the period.
    pub accounts: Vec<String>,
    /// Who recorded it.
    pub recorded: Stamp,
}

/// The outcome of the formula.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    /// Every input.
    pub inputs: Vec<Input>,
    /// The weighted mean of the available inputs, weights scaled to sum to one.
    pub score: Option<f64>,
    /// The weight of the missing inputs.
    pub unused_weight: f64,
    /// Scored and below the threshold.
    pub below_threshold: bool,
}

impl Formula {
    /// Scores the inputs `value` gives for each kind: `(value, source)`, the value `None` when
    /// missing.
    pub fn score(&self, value: impl Fn(InputKind) -> (Option<f64>, String)) -> Scored {
        let mut inputs = Vec::new();
        let (mut sum, mut used, mut unused) = (0.0, 0.0, 0.0);
        for (kind, percent) in &self.weights {
            let weight = f64::from(*percent) / 100.0;
            let (value, source) = value(*kind);
            match value {
                Some(value) => {
                    sum += weight * value;
                    used += weight;
                }
                None => unused += weight,
            }
            inputs.push(Input {
                kind: *kind as i32,
                weight,
                value,
                source,
            });
        }
        let score = (used > 0.0).then(|| sum / used);
        Scored {
            inputs,
            score,
            unused_weight: unused,
            below_threshold: score.is_some_and(|score| score < f64::from(self.threshold)),
        }
    }
}

/// The supervisors' input: the mean of their ratings, or missing without any.
pub fn rating_input(ratings: &[Rating]) -> (Option<f64>, String) {
    if ratings.is_empty() {
        return (None, "no supervisor rated the period".to_owned());
    }
    let mean = ratings.iter().map(|r| f64::from(r.score)).sum::<f64>() / ratings.len() as f64;
    (
        Some(mean),
        format!("the mean of {} supervisor rating(s)", ratings.len()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formula() -> Formula {
        Formula {
            version: "2026-1".into(),
            weights: vec![
                (InputKind::Inspection, 40),
                (InputKind::ReplyTimeliness, 20),
                (InputKind::Satisfaction, 20),
                (InputKind::SupervisorRating, 20),
            ],
            threshold: 60,
        }
    }

    #[test]
    fn a_missing_input_is_left_out_not_counted_as_zero() {
        let scored = formula().score(|kind| match kind {
            InputKind::SupervisorRating => (Some(50.0), "ratings".into()),
            InputKind::Inspection => (Some(80.0), "inspection".into()),
            _ => (None, "not deployed".into()),
        });
        // (0.4 * 80 + 0.2 * 50) / 0.6 = 70
        assert!((scored.score.expect("scored") - 70.0).abs() < 1e-9);
        assert!((scored.unused_weight - 0.4).abs() < 1e-9);
        assert!(!scored.below_threshold);
        assert_eq!(scored.inputs.len(), 4);
        assert_eq!(scored.inputs[1].value, None);
    }

    #[test]
    fn nothing_available_is_no_score_and_no_verdict() {
        let scored = formula().score(|_| (None, "missing".into()));
        assert_eq!(scored.score, None);
        assert!(!scored.below_threshold);
        assert!((scored.unused_weight - 1.0).abs() < 1e-9);
        let low = formula().score(|kind| match kind {
            InputKind::SupervisorRating => rating_input(&[Rating {
                rater: "王".into(),
                score: 40,
                comment: String::new(),
            }]),
            _ => (None, "missing".into()),
        });
        assert_eq!(low.score, Some(40.0));
        assert!(low.below_threshold);
    }
}
