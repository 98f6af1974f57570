//! What a finding is and what it rests on.

use chrono::{DateTime, Utc};

use super::{Category, Severity, Stamp};

/// The detector id of a supervisor's own finding.
pub const MANUAL: &str = "manual";

/// Where a wording was found, in the original text of one field of a post.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WordingHit {
    /// Byte offsets of the match.
    pub byte_start: usize,
    /// Just past the match.
    pub byte_end: usize,
    /// Character offsets of the match.
    pub char_start: usize,
    /// Just past the match.
    pub char_end: usize,
    /// The original text matched.
    pub matched: String,
    /// The lexicon wording.
    pub wording: String,
    /// Its lexicon category (`leader`, `formulation`, …).
    pub category: String,
    /// Its severity.
    pub severity: Severity,
    /// The correct wording, when the lexicon gives one.
    pub suggestion: Option<String>,
    /// The lexicon version holding the wording.
    pub lexicon_version: String,
}

impl From<&govmedia_scanner::Hit> for WordingHit {
    fn from(hit: &govmedia_scanner::Hit) -> Self {
        WordingHit {
            byte_start: hit.byte_start,
            byte_end: hit.byte_end,
            char_start: hit.char_start,
            char_end: hit.char_end,
            matched: hit.matched.clone(),
            wording: hit.pattern.clone(),
            category: hit.category.as_str().to_owned(),
            severity: hit.severity.into(),
            suggestion: hit.suggestion.clone(),
            lexicon_version: hit.lexicon_version.clone(),
        }
    }
}

/// What a finding rests on. Stored whole as JSON.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Evidence {
    /// The post's id, when the finding is about one.
    pub post: Option<String>,
    /// Its platform id.
    pub platform_post_id: Option<String>,
    /// When it was published.
    pub published: Option<DateTime<Utc>>,
    /// The wording hit.
    pub hit: Option<WordingHit>,
    /// `title` or `text`: where the hit is.
    pub field: Option<String>,
    /// A link.
    pub link: Option<String>,
    /// The numbers behind the finding, by name.
    pub figures: Vec<(String, f64)>,
    /// The service the data came from.
    pub source: String,
    /// The text around the problem, at most 200 characters.
    pub excerpt: String,
    /// The record of another service it rests on (a hot event, a vendor signal's key).
    #[serde(default)]
    pub reference: Option<String>,
}

/// A problem found on an account.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// `f` + a time-ordered id.
    pub id: String,
    /// The account's id.
    pub account: String,
    /// The owning organization's id.
    pub organization: String,
    /// Its materialized path.
    pub path: String,
    /// The problem category.
    pub category: Category,
    /// The detector, or [`MANUAL`].
    pub detector: String,
    /// How serious.
    pub severity: Severity,
    /// One line for the reader.
    pub summary: String,
    /// What it rests on.
    pub evidence: Evidence,
    /// What makes it the same finding when found again: the detector's key of the evidence.
    pub key: String,
    /// First found, by whom.
    pub created: Stamp,
    /// The last check that found it.
    pub last_check: Option<String>,
    /// When it was last found.
    pub last_seen: DateTime<Utc>,
}

/// At most `max` characters of `text` around the characters `start..end`, with `…` where cut.
pub fn excerpt(text: &str, start: usize, end: usize, max: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let end = end.min(chars.len());
    let start = start.min(end);
    let room = max.saturating_sub(end - start) / 2;
    let from = start.saturating_sub(room);
    let to = (end + room).min(chars.len());
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.extend(&chars[from..to]);
    if to < chars.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn an_excerpt_keeps_the_match_and_marks_the_cuts() {
        let text = "一二三四五六七八九十";
        assert_eq!(excerpt(text, 4, 6, 4), "…四五六七…");
        assert_eq!(excerpt(text, 0, 2, 100), "一二三四五六七八九十");
        assert_eq!(excerpt("", 0, 0, 10), "");
    }
}
