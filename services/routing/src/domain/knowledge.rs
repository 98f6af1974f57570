//! The policy knowledge base: entries in force, and how they are ranked for a question.
//!
//! Chinese is written without spaces, so a question is not split on whitespace: texts are
//! folded ([`super::text::fold`]) and cut into overlapping character bigrams, the unit most
//! Chinese search engines index without a dictionary. Entries are ranked by BM25 over those
//! bigrams, the question counting twice as much as the answer (citizens ask the way the
//! question is put).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Stamp, text};

/// BM25's term-frequency saturation.
const K1: f64 = 1.2;

/// BM25's length normalization.
const B: f64 = 0.75;

/// An entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Id.
    pub id: String,
    /// The owning organization.
    pub organization: String,
    /// Its path.
    pub organization_path: String,
    /// The question.
    pub question: String,
    /// The answer.
    pub answer: String,
    /// The document it rests on.
    pub source_document: String,
    /// Where that is published.
    pub source_url: String,
    /// From when it holds.
    pub valid_from: DateTime<Utc>,
    /// Until when; none while the policy stands.
    pub valid_to: Option<DateTime<Utc>>,
    /// Created.
    pub created: Stamp,
}

impl Entry {
    /// `knowledgeEntries/{id}`.
    pub fn name(&self) -> String {
        format!("knowledgeEntries/{}", self.id)
    }

    /// True when the entry holds at `now`.
    pub fn in_force(&self, now: DateTime<Utc>) -> bool {
        self.valid_from <= now && self.valid_to.is_none_or(|end| now < end)
    }

    /// The bigram counts the entry is indexed by (the question's twice).
    pub fn grams(&self) -> HashMap<String, u32> {
        let mut counts = grams(&self.question);
        for count in counts.values_mut() {
            *count *= 2;
        }
        for (gram, count) in grams(&self.answer) {
            *counts.entry(gram).or_default() += count;
        }
        counts
    }
}

/// The character bigrams of `text` folded, with their counts; a one-character text is its own
/// gram.
pub fn grams(text: &str) -> HashMap<String, u32> {
    let chars: Vec<char> = text::fold(text).chars().collect();
    let mut grams = HashMap::new();
    if chars.len() == 1 {
        grams.insert(chars[0].to_string(), 1);
        return grams;
    }
    for pair in chars.windows(2) {
        *grams.entry(pair.iter().collect::<String>()).or_insert(0) += 1;
    }
    grams
}

/// What the ranking needs to know of the whole base.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Corpus {
    /// Entries indexed.
    pub entries: u64,
    /// Their mean length in grams.
    pub mean_length: f64,
}

/// A scored entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    /// Its id.
    pub id: String,
    /// BM25.
    pub score: f64,
    /// The query grams it matched, rarest first.
    pub matched: Vec<String>,
}

/// BM25 scores of the entries in `postings` (entry id → (its length, gram → count)) for the
/// query grams `query`, given each gram's document frequency `df`; best first, ties by id.
pub fn rank(
    query: &HashMap<String, u32>,
    postings: &HashMap<String, (u32, HashMap<String, u32>)>,
    df: &HashMap<String, u64>,
    corpus: Corpus,
) -> Vec<Scored> {
    let n = corpus.entries.max(1) as f64;
    let mean = corpus.mean_length.max(1.0);
    let idf = |gram: &str| {
        let df = df.get(gram).copied().unwrap_or(0) as f64;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    };
    let mut scored: Vec<Scored> = postings
        .iter()
        .filter_map(|(id, (length, counts))| {
            let mut matched: Vec<(&str, f64)> = Vec::new();
            let mut score = 0.0;
            for (gram, query_count) in query {
                let Some(tf) = counts.get(gram) else {
                    continue;
                };
                let tf = f64::from(*tf);
                let weight = idf(gram);
                let norm = tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * f64::from(*length) / mean));
                score += weight * norm * f64::from(*query_count).min(2.0);
                matched.push((gram, weight));
            }
            (score > 0.0).then(|| {
                matched.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
                Scored {
                    id: id.clone(),
                    score,
                    matched: matched.into_iter().map(|(g, _)| g.to_owned()).collect(),
                }
            })
        })
        .collect();
    scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, question: &str, answer: &str) -> Entry {
        Entry {
            id: id.into(),
            organization: "edu".into(),
            organization_path: "/g/edu/".into(),
            question: question.into(),
            answer: answer.into(),
            source_document: "文件".into(),
            source_url: String::new(),
            valid_from: DateTime::UNIX_EPOCH,
            valid_to: None,
            created: Stamp {
                time: DateTime::UNIX_EPOCH,
                actor: String::new(),
                actor_organization: String::new(),
            },
        }
    }

    #[test]
    fn a_chinese_question_finds_its_entry_without_spaces() {
        let entries = [
            entry(
                "enrol",
                "孩子上小学需要准备哪些入学材料？",
                "户口簿、房产证明或租赁合同、预防接种证。",
            ),
            entry(
                "fund",
                "住房公积金怎么提取？",
                "凭身份证和购房合同到公积金中心办理。",
            ),
            entry(
                "vaccine",
                "入学前需要补种哪些疫苗？",
                "查验接种证，漏种的到社区卫生服务中心补种。",
            ),
        ];
        let postings: HashMap<String, (u32, HashMap<String, u32>)> = entries
            .iter()
            .map(|e| {
                let grams = e.grams();
                (e.id.clone(), (grams.values().sum(), grams))
            })
            .collect();
        let mut df: HashMap<String, u64> = HashMap::new();
        for (_, grams) in postings.values() {
            for gram in grams.keys() {
                *df.entry(gram.clone()).or_default() += 1;
            }
        }
        let total: u32 = postings.values().map(|(len, _)| *len).sum();
        let corpus = Corpus {
            entries: 3,
            mean_length: f64::from(total) / 3.0,
        };
        let ranked = rank(
            &grams("我家小孩明年上小学，入学要带什么材料"),
            &postings,
            &df,
            corpus,
        );
        assert_eq!(ranked[0].id, "enrol");
        assert!(ranked[0].matched.contains(&"小学".to_owned()));
        let ranked = rank(&grams("公积金提取"), &postings, &df, corpus);
        assert_eq!(ranked[0].id, "fund");
        assert_eq!(ranked.len(), 1);
        assert!(rank(&grams("天气"), &postings, &df, corpus).is_empty());
    }

    #[test]
    fn an_entry_is_in_force_from_its_start_until_its_end() {
        let mut e = entry("x", "问", "答");
        let t = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("time")
                .with_timezone(&Utc)
        };
        e.valid_from = t("2026-01-01T00:00:00Z");
        e.valid_to = Some(t("2026-07-01T00:00:00Z"));
        assert!(!e.in_force(t("2025-12-31T23:59:59Z")));
        assert!(e.in_force(t("2026-03-01T00:00:00Z")));
        assert!(!e.in_force(t("2026-07-01T00:00:00Z")));
    }
}
