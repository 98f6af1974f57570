//! The scanner: one automaton over the folded wording of its lexicons and their allowed phrases
//! (see `automaton`), fed each folded character as the fold gives it, leftmost-longest: an
//! allowed phrase that starts with or before a wording and holds it is found instead of it, and
//! so is a longer wording that holds a shorter one.

use std::sync::{Arc, RwLock};

use crate::{
    automaton::{Automaton, Leftmost, Match},
    fold::{Simplify, fold_char, fold_str, simplify_table},
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

/// What one wording of the automaton stands for.
#[derive(Debug)]
enum Meaning {
    /// Wording to find: the entry and the index of its lexicon.
    Find(Entry, usize),
    /// An allowed phrase.
    Allowed,
}

/// A scanner for a set of lexicons. Cheap to share; building one costs a pass over the
/// lexicons.
#[derive(Debug)]
pub struct Scanner {
    versions: Vec<String>,
    automaton: Automaton,
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
                    Some(&at) => meanings[at] = Meaning::Find(entry.clone(), version),
                    None => {
                        index_of.insert(key.clone(), folded.len());
                        folded.push(key);
                        meanings.push(Meaning::Find(entry.clone(), version));
                    }
                }
            }
        }
        let entries = folded.len();
        if entries == 0 {
            return Err(LexiconError {
                line: 0,
                message: "no wording to find".into(),
            });
        }
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
        let wordings: Vec<Vec<char>> = folded.iter().map(|w| w.chars().collect()).collect();
        Ok(Scanner {
            versions: lexicons.iter().map(|l| l.version.clone()).collect(),
            automaton: Automaton::new(&wordings),
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

    /// The bytes its automaton's tables take (the lexicons' entries besides).
    pub fn memory_usage(&self) -> usize {
        self.automaton.memory_usage()
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
        let mut pass = Pass::new(self, text);
        let table = simplify_table();
        for (char_index, (byte, c)) in text.char_indices().enumerate() {
            let origin = Origin {
                byte: byte as u32,
                char_index: char_index as u32,
                len: c.len_utf8() as u32,
            };
            pass.feed(c, origin, table);
        }
        pass.finish()
    }

    fn hit(&self, text: &str, found: &Match<(Origin, Origin)>) -> Option<Hit> {
        let Meaning::Find(entry, version) = &self.meanings[found.wording] else {
            return None; // an allowed phrase: it only keeps what it holds from being a hit
        };
        let (first, last) = found.at;
        let (byte_start, byte_end) = (first.byte as usize, (last.byte + last.len) as usize);
        Some(Hit {
            byte_start,
            byte_end,
            char_start: first.char_index as usize,
            char_end: last.char_index as usize + 1,
            matched: text[byte_start..byte_end].to_owned(),
            pattern: entry.pattern.clone(),
            category: entry.category,
            severity: entry.severity,
            suggestion: entry.correct.clone(),
            lexicon_version: self.versions[*version].clone(),
        })
    }
}

/// The original character a folded character came from.
#[derive(Debug, Clone, Copy, Default)]
struct Origin {
    byte: u32,
    char_index: u32,
    len: u32,
}

/// One scan: the automaton's state, the origins of the last folded characters (as many as the
/// longest wording has), and the leftmost-longest selection.
struct Pass<'a> {
    scanner: &'a Scanner,
    text: &'a str,
    state: u32,
    /// Folded characters read so far.
    read: usize,
    recent: Vec<Origin>,
    mask: usize,
    select: Leftmost<(Origin, Origin)>,
    hits: Vec<Hit>,
}

impl<'a> Pass<'a> {
    fn new(scanner: &'a Scanner, text: &'a str) -> Self {
        let window = (scanner.automaton.longest() + 1).next_power_of_two();
        Pass {
            scanner,
            text,
            state: 0,
            read: 0,
            recent: vec![Origin::default(); window],
            mask: window - 1,
            select: Leftmost::new(scanner.automaton.longest()),
            hits: Vec::new(),
        }
    }

    #[inline]
    fn feed(&mut self, c: char, origin: Origin, table: &Simplify) {
        fold_char(c, table, |folded| self.read_folded(folded, origin));
    }

    #[inline]
    fn read_folded(&mut self, folded: char, origin: Origin) {
        let automaton = &self.scanner.automaton;
        self.state = automaton.step(self.state, folded);
        let at = self.read;
        self.recent[at & self.mask] = origin;
        self.read += 1;
        // Nothing still to come can start before the characters this state has read.
        let earliest = self.read - automaton.depth(self.state);
        let (scanner, text, hits) = (self.scanner, self.text, &mut self.hits);
        self.select.settle(earliest, |found| {
            hits.extend(scanner.hit(text, &found));
        });
        for (wording, chars) in automaton.ending(self.state) {
            let start = self.read - chars;
            if !self.select.open_at(start) {
                continue; // overlaps a match taken; a shorter one may not
            }
            self.select.offer(Match {
                start,
                end: self.read,
                wording,
                at: (self.recent[start & self.mask], origin),
            });
        }
    }

    fn finish(mut self) -> Vec<Hit> {
        let (scanner, text, hits) = (self.scanner, self.text, &mut self.hits);
        self.select.finish(self.read, |found| {
            hits.extend(scanner.hit(text, &found));
        });
        self.hits
    }
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

    /// Reads lexicon files (`(name, text)`, after the starter lexicon, later ones standing over
    /// earlier ones) and puts them in force; the first bad line of any refuses them all, named
    /// by its file and line, and the scanner in force stays.
    pub fn load(&self, files: &[(&str, &str)]) -> Result<Arc<Scanner>, LoadError> {
        let mut lexicons = vec![Lexicon::starter()];
        for (name, text) in files {
            lexicons.push(Lexicon::parse(text).map_err(|error| LoadError {
                file: (*name).to_owned(),
                error,
            })?);
        }
        self.replace(&lexicons).map_err(|error| LoadError {
            file: String::new(),
            error,
        })
    }
}

/// Why lexicon files were refused: the file (empty when it is the set as a whole) and its
/// first bad line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {error}")]
pub struct LoadError {
    /// The file's name as the caller gave it.
    pub file: String,
    /// What is wrong, and where.
    pub error: LexiconError,
}
