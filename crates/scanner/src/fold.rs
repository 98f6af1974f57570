//! Folding: the text the automaton reads, with every byte traced to the original character it
//! came from.
//!
//! Writers evade a lexicon by writing a word in another form that reads the same. One pass folds
//! them all back, character by character, so that no fold can move a position:
//!
//! * full-width and half-width forms, circled, parenthesised and mathematical letters and digits,
//!   Kangxi radicals and CJK compatibility ideographs become the plain character (Unicode
//!   compatibility decomposition, NFKD, of each character on its own, so characters never
//!   combine across positions);
//! * letters are lower-cased;
//! * traditional characters become simplified ones (Unihan's kSimplifiedVariant, `data/t2s.txt`);
//! * everything that is not a letter or a number — spaces, punctuation, symbols, marks, zero-width
//!   and other invisible characters — is dropped, so that `习 近-平` and `习\u{200b}近平` read as
//!   `习近平`.
//!
//! A folded character always comes from exactly one original character (one original character
//! may give several, as `⑩` gives `10`, or none), and folded text keeps the order of the original.
//! So a match in the folded text is a span of original characters, which is what a hit reports.

use std::sync::OnceLock;

use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// The first and last code point of the dense traditional → simplified table (CJK Unified
/// Ideographs and Extension A, where nearly every traditional character lives).
const DENSE_FIRST: u32 = 0x3400;
const DENSE_LAST: u32 = 0x9FFF;

/// Traditional → simplified: a dense table over the common blocks, a sorted list beyond.
pub(crate) struct Simplify {
    dense: Vec<char>,
    sparse: Vec<(char, char)>,
}

pub(crate) fn simplify_table() -> &'static Simplify {
    static TABLE: OnceLock<Simplify> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut dense: Vec<char> = (DENSE_FIRST..=DENSE_LAST)
            .map(|code| char::from_u32(code).unwrap_or('\u{fffd}'))
            .collect();
        let mut sparse = Vec::new();
        for line in include_str!("../data/t2s.txt").lines() {
            if line.starts_with('#') {
                continue;
            }
            let mut chars = line.chars();
            let (Some(traditional), Some(simplified), None) =
                (chars.next(), chars.next(), chars.next())
            else {
                continue; // the table is generated; a malformed line cannot occur
            };
            let code = u32::from(traditional);
            if (DENSE_FIRST..=DENSE_LAST).contains(&code) {
                dense[(code - DENSE_FIRST) as usize] = simplified;
            } else {
                sparse.push((traditional, simplified));
            }
        }
        sparse.sort_unstable();
        Simplify { dense, sparse }
    })
}

/// The simplified form of an ideograph (itself when it has none).
fn simplified(c: char, table: &Simplify) -> char {
    let code = u32::from(c);
    if (DENSE_FIRST..=DENSE_LAST).contains(&code) {
        return table.dense[(code - DENSE_FIRST) as usize];
    }
    match table.sparse.binary_search_by_key(&c, |&(from, _)| from) {
        Ok(index) => table.sparse[index].1,
        Err(_) => c,
    }
}

/// Text folded for matching, with the original byte offset of the character each folded byte
/// came from.
#[derive(Debug, Clone, Default)]
pub struct Folded {
    text: String,
    /// For each byte of `text`: the byte offset in the original text of the character it came
    /// from.
    origin: Vec<u32>,
}

impl Folded {
    /// The folded text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The original byte offset of the character that the folded byte at `folded_byte` came
    /// from.
    pub fn origin_of(&self, folded_byte: usize) -> usize {
        self.origin[folded_byte] as usize
    }

    /// The original byte span of the folded span `start..end` (non-empty): from the start of
    /// the character its first byte came from to the end of the character its last byte came
    /// from.
    pub fn original_span(&self, original: &str, start: usize, end: usize) -> (usize, usize) {
        let first = self.origin_of(start);
        let last = self.origin_of(end - 1);
        let last_len = original[last..].chars().next().map_or(0, char::len_utf8);
        (first, last + last_len)
    }
}

/// Folds `text` (see the module's documentation).
pub fn fold(text: &str) -> Folded {
    let table = simplify_table();
    let mut folded = Folded {
        text: String::with_capacity(text.len()),
        origin: Vec::with_capacity(text.len()),
    };
    for (at, c) in text.char_indices() {
        fold_char(c, table, |piece| {
            folded.text.push(piece);
            for _ in 0..piece.len_utf8() {
                folded.origin.push(at as u32);
            }
        });
    }
    folded
}

/// Folds `text` to its matching form alone (for patterns and allowed phrases).
pub fn fold_str(text: &str) -> String {
    fold(text).text
}

/// Hands `emit` the folded characters of `c`, in order (none, one or several).
#[inline]
pub(crate) fn fold_char(c: char, table: &Simplify, mut emit: impl FnMut(char)) {
    // The common cases first: ASCII, and the ideographs of the dense table.
    if c.is_ascii() {
        if c.is_ascii_alphanumeric() {
            emit(c.to_ascii_lowercase());
        }
        return;
    }
    if (DENSE_FIRST..=DENSE_LAST).contains(&u32::from(c)) {
        emit(simplified(c, table));
        return;
    }
    // Everything else: each piece of its compatibility decomposition that is a letter or a
    // number, lower-cased and simplified.
    unicode_normalization::char::decompose_compatible(c, |piece| {
        match piece.general_category_group() {
            GeneralCategoryGroup::Letter => {
                for lower in piece.to_lowercase() {
                    emit(simplified(lower, table));
                }
            }
            GeneralCategoryGroup::Number => emit(piece),
            GeneralCategoryGroup::Mark
            | GeneralCategoryGroup::Punctuation
            | GeneralCategoryGroup::Symbol
            | GeneralCategoryGroup::Separator
            | GeneralCategoryGroup::Other => {}
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evasions_fold_to_the_plain_word() {
        for (written, plain) in [
            ("習近平", "习近平"),
            ("习 近-平", "习近平"),
            ("习\u{200b}近\u{feff}平", "习近平"),
            ("ＡＢＣ１２３", "abc123"),
            ("①⑩⒈", "1101"),
            ("𝐀𝐝 Ⓑ", "adb"),
            ("⼈民", "人民"),
            ("臺灣", "台湾"),
            ("Café", "cafe"),
        ] {
            assert_eq!(fold_str(written), plain, "{written}");
        }
    }

    #[test]
    fn simplified_text_is_left_as_it_is() {
        let text = "乾坤著作后来发展";
        assert_eq!(fold_str(text), "乾坤著作后来发展");
    }

    #[test]
    fn every_folded_byte_points_at_its_original_character() {
        let text = "甲 ＡＢ⑩乙";
        let folded = fold(text);
        assert_eq!(folded.text(), "甲ab10乙");
        let origins: Vec<&str> = (0..folded.text().len())
            .filter(|&i| folded.text().is_char_boundary(i))
            .map(|i| {
                let at = folded.origin_of(i);
                let len = text[at..].chars().next().map_or(0, char::len_utf8);
                &text[at..at + len]
            })
            .collect();
        assert_eq!(origins, ["甲", "Ａ", "Ｂ", "⑩", "⑩", "乙"]);
    }
}
