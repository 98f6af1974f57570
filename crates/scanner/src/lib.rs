//! The 错敏词 scanner: finds wrong and sensitive wording in a text — leaders' names and titles
//! written wrongly, political formulations against their standard wording, banned words,
//! advertising absolutes, vulgar words, rude phrases — however the writer disguised it, and
//! says where it is in the text as written.
//!
//! ```
//! use govmedia_scanner::{Category, Scanner};
//!
//! let scanner = Scanner::starter();
//! let hits = scanner.scan("我市积极参与「一带一路」戰略，臺灣總統……");
//! assert_eq!(hits[0].category, Category::Formulation);
//! assert_eq!(hits[0].matched, "一带一路」戰略");
//! assert_eq!(hits[0].suggestion.as_deref(), Some("一带一路倡议"));
//! assert_eq!(hits[1].matched, "臺灣總統");
//! ```
//!
//! * [`lexicon`]: versioned lexicon files (categories, severities, correct wordings, allowed
//!   phrases), refused whole with the number of their first bad line;
//! * [`fold`]: the one pass that undoes evasions (widths, case, traditional characters,
//!   decorated letters and digits, anything inserted between characters) while every folded
//!   byte keeps the position of the character it came from;
//! * [`scan`]: one Aho-Corasick automaton over characters (not bytes) for all lexicons and
//!   allowed phrases, fed by the fold as it goes; leftmost-longest hits in the original text's
//!   bytes and characters; a cell that puts new lexicons in force only whole.
//!
//! No I/O: callers read lexicon files and hand over their text.

mod automaton;
pub mod fold;
pub mod lexicon;
pub mod scan;

pub use lexicon::{Category, Entry, Lexicon, LexiconError, Severity};
pub use scan::{Hit, LoadError, Scanner, ScannerCell};

/// What the fuzz target checks of one input, shared with the property tests so that the stable
/// test suite runs the same checks: the input as a lexicon file is refused or read, never a
/// panic; the input as a text scans, and every hit points at original text whose folded form
/// holds the wording found.
#[doc(hidden)]
pub fn check_one_input(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = Lexicon::parse(&text);
    let scanner = Scanner::starter();
    for hit in scanner.scan(&text) {
        assert!(text.is_char_boundary(hit.byte_start) && text.is_char_boundary(hit.byte_end));
        assert_eq!(&text[hit.byte_start..hit.byte_end], hit.matched);
        assert_eq!(
            text[..hit.byte_start].chars().count(),
            hit.char_start,
            "character offset of {hit:?}"
        );
        assert!(fold::fold_str(&hit.matched).contains(&fold::fold_str(&hit.pattern)));
    }
}
