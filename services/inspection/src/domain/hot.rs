//! Hot public events (热点事件、重大舆情) a region's accounts are expected to speak on.

use chrono::{DateTime, Utc};
use govmedia_scanner::fold::fold_str;

use super::{Post, Stamp, within};

/// Most keywords of an event.
pub const MAX_KEYWORDS: usize = 20;

/// Longest keyword, in characters.
pub const MAX_KEYWORD: usize = 30;

/// Longest window of an event, in days.
pub const MAX_DAYS: i64 = 90;

/// A hot event as registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HotEvent {
    /// Its id.
    pub id: String,
    /// What happened.
    pub title: String,
    /// Words a post on it contains.
    pub keywords: Vec<String>,
    /// The region's organization id.
    pub organization: String,
    /// Its materialized path.
    pub path: String,
    /// When it began.
    pub start: DateTime<Utc>,
    /// When the expectation ends.
    pub end: DateTime<Utc>,
    /// Who registered it.
    pub created: Stamp,
}

impl HotEvent {
    /// True when accounts at `path` are expected to speak on it.
    pub fn concerns(&self, path: &str) -> bool {
        within(&self.path, path)
    }

    /// True when `post` speaks on it: published within its window and containing a keyword,
    /// both folded as the scanner folds (width, case, traditional characters, spacing).
    pub fn spoken_on_by(&self, post: &Post) -> bool {
        if post.published < self.start || post.published > self.end {
            return false;
        }
        let text = fold_str(&format!("{}\n{}", post.title, post.text));
        self.keywords
            .iter()
            .map(|keyword| fold_str(keyword))
            .any(|keyword| !keyword.is_empty() && text.contains(&keyword))
    }
}
