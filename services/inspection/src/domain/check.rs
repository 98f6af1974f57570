//! A stored check: one account under one scheme version at one check point.

use chrono::{DateTime, Utc};

use super::{
    Stamp,
    scheme::{ItemResult, Verdict},
};

/// A check as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// `k` + a time-ordered id.
    pub id: String,
    /// The account's id.
    pub account: String,
    /// The owning organization's id.
    pub organization: String,
    /// Its materialized path.
    pub path: String,
    /// The scheme's id.
    pub scheme: String,
    /// The scheme version used.
    pub scheme_version: i32,
    /// The check point.
    pub as_of: DateTime<Utc>,
    /// The verdict.
    pub outcome: Verdict,
    /// The score of a scored scheme.
    pub score: Option<f64>,
    /// Every item, explained.
    pub items: Vec<ItemResult>,
    /// How many items could not be evaluated.
    pub not_evaluated: i32,
    /// Who ran it and when.
    pub created: Stamp,
}

/// A spot check as stored: its draw and the checks of the accounts drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct SpotCheck {
    /// Its id.
    pub id: String,
    /// The organization whose subtree was sampled.
    pub organization: String,
    /// Its materialized path.
    pub path: String,
    /// `YYYY-Qn`.
    pub period: String,
    /// The scheme's id.
    pub scheme: String,
    /// The scheme version used.
    pub scheme_version: i32,
    /// Parts per thousand drawn of each stratum.
    pub per_mille: u32,
    /// The seed.
    pub seed: u64,
    /// The draw.
    pub strata: Vec<super::sample::Stratum>,
    /// The checks run (ids), one per account drawn.
    pub checks: Vec<String>,
    /// Passed, failed, incomplete.
    pub counts: [i32; 3],
    /// Who ran it and when.
    pub created: Stamp,
}
