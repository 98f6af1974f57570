//! Lexicons: what the scanner looks for, as a versioned text file.
//!
//! ```text
//! # Lines starting with # are comments; blank lines are ignored.
//! @version 2026.12
//! # category | severity | wording to find | correct wording (optional)
//! formulation | high | 台湾总统 | 台湾地区领导人
//! advertising | medium | 国家级
//! # a phrase that is correct although it contains wording to find
//! allow | 国家级非物质文化遗产
//! ```
//!
//! Categories: `leader` (leaders' names and titles written wrongly), `formulation` (political
//! formulations against their standard wording), `banned`, `advertising` (words the Advertising
//! Law forbids, out of place in a government account), `vulgar` (vulgar and over-entertaining
//! words), `rude` (rude or brush-off phrases, out of place in an answer to a citizen). Severities: `low`, `medium`, `high`. A correct wording is offered as the suggestion
//! of every hit, and is itself allowed: a correct phrase that contains the wrong one is no hit.
//!
//! A file is taken whole or not at all: the first bad line refuses it, with its number.

use std::collections::HashMap;

use crate::fold::fold_str;

/// The longest wording a lexicon line may hold, in characters.
pub const MAX_PATTERN_CHARS: usize = 64;

/// What a hit is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// A leader's name or title written wrongly.
    Leader,
    /// A political formulation against its standard wording.
    Formulation,
    /// A banned word.
    Banned,
    /// A commercial advertising word.
    Advertising,
    /// A vulgar or over-entertaining word.
    Vulgar,
    /// A rude or brush-off phrase (生硬、推诿用语), out of place in an answer to a citizen.
    Rude,
}

impl Category {
    /// Every category, in the order of the lexicon documentation.
    pub const ALL: [Category; 6] = [
        Category::Leader,
        Category::Formulation,
        Category::Banned,
        Category::Advertising,
        Category::Vulgar,
        Category::Rude,
    ];

    /// The name a lexicon file uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Leader => "leader",
            Category::Formulation => "formulation",
            Category::Banned => "banned",
            Category::Advertising => "advertising",
            Category::Vulgar => "vulgar",
            Category::Rude => "rude",
        }
    }

    fn parse(name: &str) -> Option<Category> {
        Category::ALL
            .into_iter()
            .find(|category| category.as_str() == name)
    }
}

/// How bad a hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Worth a look.
    Low,
    /// To be corrected.
    Medium,
    /// To be corrected at once: a political or legal error.
    High,
}

impl Severity {
    /// The name a lexicon file uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    fn parse(name: &str) -> Option<Severity> {
        [Severity::Low, Severity::Medium, Severity::High]
            .into_iter()
            .find(|severity| severity.as_str() == name)
    }
}

/// One wording to find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The wording as the lexicon writes it.
    pub pattern: String,
    /// What it is about.
    pub category: Category,
    /// How bad it is.
    pub severity: Severity,
    /// The correct wording, for wording that is wrong rather than unwelcome.
    pub correct: Option<String>,
    /// The line of the lexicon file.
    pub line: usize,
}

/// A lexicon: a version, wording to find, and phrases that are correct although they contain
/// some.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lexicon {
    /// The version the file declares.
    pub version: String,
    /// The wording to find, in file order.
    pub entries: Vec<Entry>,
    /// Allowed phrases, in file order (the correct wordings of entries among them).
    pub allowed: Vec<String>,
}

/// Why a lexicon file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("lexicon line {line}: {message}")]
pub struct LexiconError {
    /// The 1-based line number (0: the file as a whole).
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

fn refuse(line: usize, message: impl Into<String>) -> LexiconError {
    LexiconError {
        line,
        message: message.into(),
    }
}

impl Lexicon {
    /// The starter lexicon shipped with govmedia: the standard-wording pairs inspection
    /// bulletins cite most often, and a few words of each other category.
    pub fn starter() -> Lexicon {
        Lexicon::parse(include_str!("../data/starter.lexicon"))
            .unwrap_or_else(|error| unreachable!("the starter lexicon is tested: {error}"))
    }

    /// Reads a lexicon file (see the module documentation).
    pub fn parse(text: &str) -> Result<Lexicon, LexiconError> {
        let mut version: Option<String> = None;
        let mut entries: Vec<Entry> = Vec::new();
        let mut allowed = Vec::new();
        // Folded wording → the line that gave it, so that a repeat names the first.
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = raw.trim();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            if let Some(rest) = content.strip_prefix("@version") {
                let declared = rest.trim();
                if declared.is_empty() || declared.chars().any(char::is_whitespace) {
                    return Err(refuse(
                        line,
                        "@version needs one word, as in `@version 2026.12`",
                    ));
                }
                if version.is_some() {
                    return Err(refuse(line, "a second @version"));
                }
                version = Some(declared.to_owned());
                continue;
            }
            let fields: Vec<&str> = content.split('|').map(str::trim).collect();
            if fields[0] == "allow" {
                let [_, phrase] = fields[..] else {
                    return Err(refuse(line, "an allow line is `allow | phrase`"));
                };
                check_wording(line, "the allowed phrase", phrase)?;
                allowed.push(phrase.to_owned());
                continue;
            }
            let (category, severity, pattern, correct) = match fields[..] {
                [category, severity, pattern] => (category, severity, pattern, None),
                [category, severity, pattern, correct] => {
                    (category, severity, pattern, Some(correct))
                }
                _ => {
                    return Err(refuse(
                        line,
                        "a line is `category | severity | wording` with an optional `| correct wording`",
                    ));
                }
            };
            let category = Category::parse(category).ok_or_else(|| {
                refuse(
                    line,
                    format!(
                        "unknown category {category:?}: use one of leader, formulation, banned, advertising, vulgar, rude"
                    ),
                )
            })?;
            let severity = Severity::parse(severity).ok_or_else(|| {
                refuse(
                    line,
                    format!("unknown severity {severity:?}: use low, medium or high"),
                )
            })?;
            let folded = check_wording(line, "the wording", pattern)?;
            if let Some(first) = seen.insert(folded.clone(), line) {
                return Err(refuse(
                    line,
                    format!("{pattern:?} reads the same as the wording of line {first}"),
                ));
            }
            let correct = match correct {
                Some(correct) => {
                    let folded_correct = check_wording(line, "the correct wording", correct)?;
                    if folded_correct == folded {
                        return Err(refuse(
                            line,
                            "the correct wording reads the same as the wording to find",
                        ));
                    }
                    allowed.push(correct.to_owned());
                    Some(correct.to_owned())
                }
                None => None,
            };
            entries.push(Entry {
                pattern: pattern.to_owned(),
                category,
                severity,
                correct,
                line,
            });
        }
        let version = version.ok_or_else(|| refuse(0, "no @version line"))?;
        if entries.is_empty() {
            return Err(refuse(0, "no wording to find"));
        }
        Ok(Lexicon {
            version,
            entries,
            allowed,
        })
    }
}

/// Checks one piece of wording of `line`; its folded form.
fn check_wording(line: usize, what: &str, wording: &str) -> Result<String, LexiconError> {
    if wording.chars().count() > MAX_PATTERN_CHARS {
        return Err(refuse(
            line,
            format!("{what} is longer than {MAX_PATTERN_CHARS} characters"),
        ));
    }
    let folded = fold_str(wording);
    if folded.is_empty() {
        return Err(refuse(
            line,
            format!("{what} {wording:?} has no letter or number to match"),
        ));
    }
    Ok(folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_lexicon_reads() {
        let starter = Lexicon::parse(include_str!("../data/starter.lexicon")).expect("starter");
        for category in Category::ALL {
            assert!(
                starter.entries.iter().any(|e| e.category == category),
                "{category:?}"
            );
        }
    }

    #[test]
    fn a_bad_line_is_refused_with_its_number() {
        let cases = [
            (
                "@version 1\nbanned | high | 赌博\nbanned | severe | 六合彩\n",
                3,
                "severity",
            ),
            ("@version 1\nslang | low | 卧槽\n", 2, "category"),
            ("@version 1\nbanned | high\n", 2, "a line is"),
            (
                "@version 1\nbanned | high | 赌博\nbanned | low | 賭 博\n",
                3,
                "line 2",
            ),
            ("@version 1\nbanned | high | ！！\n", 2, "no letter"),
            ("@version 1\nallow\n", 2, "allow line"),
            ("@version 1\n@version 2\n", 2, "second"),
            ("banned | high | 赌博\n", 0, "@version"),
            ("@version 1\n# nothing\n", 0, "no wording"),
            (
                "@version 1\nformulation | high | 北朝鲜 | 北 朝 鲜\n",
                2,
                "reads the same",
            ),
        ];
        for (text, line, words) in cases {
            let error = Lexicon::parse(text).expect_err(text);
            assert_eq!(error.line, line, "{text}: {error}");
            assert!(error.message.contains(words), "{text}: {error}");
        }
        let long = format!("@version 1\nbanned | high | {}\n", "赌".repeat(65));
        assert_eq!(Lexicon::parse(&long).expect_err("long").line, 2);
    }

    #[test]
    fn correct_wordings_are_allowed_phrases() {
        let lexicon =
            Lexicon::parse("@version 7\nformulation | high | 台湾总统 | 台湾地区领导人\n")
                .expect("lexicon");
        assert_eq!(lexicon.version, "7");
        assert_eq!(lexicon.allowed, ["台湾地区领导人"]);
        assert_eq!(lexicon.entries[0].line, 2);
    }
}
