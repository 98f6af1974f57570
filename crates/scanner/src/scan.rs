//! The scanner: one Aho-Corasick automaton over the folded wording of its lexicons and their
//! allowed phrases, run once over the folded text, leftmost-longest: an allowed phrase that
//! starts with or before a wording and holds it is found instead of it, and so is a longer
//! wording that holds a shorter one.

use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::{
    fold::{fold, fold_str},
    lexicon::{Category, Entry, Lexicon, LexiconError, Severity},
};

/// One place in a text where a lexicon's wording was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Byte offset of the first character of the match in the original text.
    pub byte_start: usize,
    /// Byte offset just past the last character of the match in the original text.
    pub byte_end: usize,
    /// Character offset of the first character of the match.
    pub char_start: usize,
    /// Character offset just past the last character of the match.
    pub char_end: usize,
    /// The original text of the match, as written (`&text[byte_start..byte_end]`).
    pub matched: String,
    /// The wording of the lexicon that matched.
    pub pattern: String,
    /// What it is about.
    pub category: Category,
    /// How bad it is.
    pub severity: Severity,
    /// The correct wording, for wording that is wrong.
    pub suggestion: Option<String>,
    /// The version of the lexicon the wording came from.
    pub lexicon_version: String,
}

/// What one pattern of the automaton stands for.
#[derive(Debug)]
enum Meaning {
    /// Wording to find: the entry and the version of its lexicon.
    Find(Entry, usize),
    /// An allowed phrase.
    Allowed,
}

/// A scanner for a set of lexicons. Cheap to share; building one costs a pass over the
/// lexicons.
#[derive(Debug)]
pub struct Scanner {
    versions: Vec<String>,
    automaton: AhoCorasick,
    meanings: Vec<Meaning>,
    entries: usize,
}

impl Scanner {
    /// A scanner for `lexicons`. Where two lexicons hold wording that reads the same, the later
    /// one's entry stands (a regional lexicon may raise the severity of a starter entry).
    pub fn new(lexicons: &[Lexicon]) -> Result<Scanner, LexiconError> {
        let mut folded: Vec<String> = Vec::new();
        let mut meanings = Vec::new();
        let mut index_of: std::collections::HashMap<String, usize> =
            std::collections::HashMap::new();
        for (version, lexicon) in lexicons.iter().enumerate() {
            for entry in &lexicon.entries {
                let key = fold_str(&entry.pattern);
                match index_of.get(&key) {
                    Some(&at) if matches!(meanings[at], Meaning::Find(..)) => {
                        meanings[at] = Meaning::Find(entry.clone(), version);
                    }
                    _ => {
                        index_of.insert(key.clone(), folded.len());
                        folded.push(key);
                        meanings.push(Meaning::Find(entry.clone(), version));
                    }
                }
            }
        }
        let entries = folded.len();
        for lexicon in lexicons {
            for phrase in &lexicon.allowed {
                let key = fold_str(phrase);
                if index_of.contains_key(&key) {
                    continue; // an allowed phrase that is also wording to find stays wording
                }
                index_of.insert(key.clone(), folded.len());
                folded.push(key);
                meanings.push(Meaning::Allowed);
            }
        }
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&folded)
            .map_err(|error| LexiconError {
                line: 0,
                message: format!("the lexicons are too large to scan with: {error}"),
            })?;
        Ok(Scanner {
            versions: lexicons.iter().map(|l| l.version.clone()).collect(),
            automaton,
            meanings,
            entries,
        })
    }

    /// The scanner of the starter lexicon.
    pub fn starter() -> Scanner {
        Scanner::new(&[Lexicon::starter()])
            .unwrap_or_else(|error| unreachable!("the starter lexicon is tested: {error}"))
    }

    /// The versions of its lexicons, in order.
    pub fn versions(&self) -> &[String] {
        &self.versions
    }

    /// How many distinct wordings it finds.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether it finds nothing (never, for a scanner built from lexicons).
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Every hit in `text`, in the order of the text. Matches do not overlap: where several
    /// could start, the leftmost wins, and of those the longest, so a match inside an allowed
    /// phrase or a longer wording is not reported on its own (nor is one that begins inside an
    /// earlier match and runs on past it).
    pub fn scan(&self, text: &str) -> Vec<Hit> {
        let folded = fold(text);
        let found: Vec<(usize, usize, usize)> = self
            .automaton
            .find_iter(folded.text())
            .map(|found| (found.start(), found.end(), found.pattern().as_usize()))
            .filter(|&(_, _, pattern)| matches!(self.meanings[pattern], Meaning::Find(..)))
            .collect();
        if found.is_empty() {
            return Vec::new();
        }
        // Character offsets: one walk over the original text, for all hits at once.
        let spans: Vec<(usize, usize)> = found
            .iter()
            .map(|&(start, end, _)| folded.original_span(text, start, end))
            .collect();
        let chars = char_offsets(text, &spans);
        found
            .iter()
            .zip(spans)
            .zip(chars)
            .map(
                |((&(_, _, pattern), (byte_start, byte_end)), (char_start, char_end))| {
                    let Meaning::Find(entry, version) = &self.meanings[pattern] else {
                        unreachable!("only wording to find is kept");
                    };
                    Hit {
                        byte_start,
                        byte_end,
                        char_start,
                        char_end,
                        matched: text[byte_start..byte_end].to_owned(),
                        pattern: entry.pattern.clone(),
                        category: entry.category,
                        severity: entry.severity,
                        suggestion: entry.correct.clone(),
                        lexicon_version: self.versions[*version].clone(),
                    }
                },
            )
            .collect()
    }
}

/// The character offsets of byte `spans` of `text`.
fn char_offsets(text: &str, spans: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut wanted: Vec<usize> = spans.iter().flat_map(|&(s, e)| [s, e]).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut at = std::collections::HashMap::with_capacity(wanted.len());
    let mut next = wanted.iter().peekable();
    for (chars, (byte, _)) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
        .enumerate()
    {
        while let Some(&&want) = next.peek() {
            if want > byte {
                break;
            }
            if want == byte {
                at.insert(want, chars);
            }
            next.next();
        }
        if next.peek().is_none() {
            break;
        }
    }
    spans.iter().map(|&(s, e)| (at[&s], at[&e])).collect()
}

/// The scanner in force, replaced whole when new lexicons are loaded: a lexicon that is refused
/// leaves the one in force as it was.
#[derive(Debug)]
pub struct ScannerCell {
    current: RwLock<Arc<Scanner>>,
}

impl ScannerCell {
    /// A cell holding `scanner`.
    pub fn new(scanner: Scanner) -> ScannerCell {
        ScannerCell {
            current: RwLock::new(Arc::new(scanner)),
        }
    }

    /// The scanner in force.
    pub fn current(&self) -> Arc<Scanner> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Puts a scanner of `lexicons` in force; on error the one in force stays.
    pub fn replace(&self, lexicons: &[Lexicon]) -> Result<Arc<Scanner>, LexiconError> {
        let scanner = Arc::new(Scanner::new(lexicons)?);
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = scanner.clone();
        Ok(scanner)
    }

    /// Reads lexicon files (`texts`, after the starter lexicon) and puts them in force; the
    /// first bad line refuses them all and the scanner in force stays.
    pub fn load(&self, texts: &[&str]) -> Result<Arc<Scanner>, LexiconError> {
        let mut lexicons = vec![Lexicon::starter()];
        for text in texts {
            lexicons.push(Lexicon::parse(text)?);
        }
        self.replace(&lexicons)
    }
}
