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
