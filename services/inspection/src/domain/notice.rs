//! Criticism notices (通报批评, R-22): a supervisor's notice against the unit responsible for
//! accounts that failed, citing the findings and orders it rests on.

use super::Stamp;

/// Most findings, or orders, one notice cites.
pub const MAX_CITED: usize = 50;

/// A criticism notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Its id.
    pub id: String,
    /// The unit criticised.
    pub organization: String,
    /// That unit's path.
    pub path: String,
    /// The quarter, `YYYY-Qn`.
    pub period: String,
    /// Its title.
    pub title: String,
    /// Its text.
    pub text: String,
    /// The findings cited (ids).
    pub findings: Vec<String>,
    /// The orders cited (ids).
    pub orders: Vec<String>,
    /// Who issued it, when.
    pub issued: Stamp,
}
