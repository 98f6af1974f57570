//! Positions: a hit always points at original text that holds the wording found, and folding
//! never moves a position — whatever the text, however it was disguised.

use govmedia_scanner::{Lexicon, Scanner, check_one_input, fold};
use proptest::prelude::*;

/// Characters a disguise may put between the characters of a word.
const INSERTED: [&str; 8] = [" ", "\u{200b}", "-", "·", "\u{3000}", "*", "\u{0301}", "\t"];

/// Text around words: ordinary Chinese, ASCII, and the odd character a scraper brings.
fn filler() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("的".to_owned()),
            Just("政务".to_owned()),
            Just("，".to_owned()),
            Just("Ａ".to_owned()),
            Just("x".to_owned()),
            Just("⑩".to_owned()),
            Just("🙂".to_owned()),
            Just("é".to_owned()),
            any::<char>().prop_map(String::from),
        ],
        0..12,
    )
    .prop_map(|pieces| pieces.concat())
}

/// A wording of the starter lexicon, written with something inserted between its characters
/// and some of them in full width or traditional form.
fn disguised() -> impl Strategy<Value = (String, String)> {
    let entries = Lexicon::starter().entries;
    (0..entries.len(), any::<u64>()).prop_map(move |(index, seed)| {
        let pattern = entries[index].pattern.clone();
        let mut written = String::new();
        for (at, c) in pattern.chars().enumerate() {
            if at > 0 && (seed >> (at % 64)) & 1 == 1 {
                written.push_str(INSERTED[(seed as usize + at) % INSERTED.len()]);
            }
            written.push(c);
        }
        (pattern, written)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_disguised_wording_is_found_where_it_was_written(
        before in filler(),
        (pattern, written) in disguised(),
        after in filler(),
    ) {
        let text = format!("{before}{written}{after}");
        let hits = Scanner::starter().scan(&text);
        for hit in &hits {
            prop_assert_eq!(&text[hit.byte_start..hit.byte_end], hit.matched.as_str());
            prop_assert_eq!(text[..hit.byte_start].chars().count(), hit.char_start);
            prop_assert_eq!(text[..hit.byte_end].chars().count(), hit.char_end);
            prop_assert!(fold::fold_str(&hit.matched).contains(&fold::fold_str(&hit.pattern)));
        }
        // The disguised wording itself is found, as written (a longer wording around it, or an
        // allowed phrase the filler happened to complete, may stand in its place).
        let start = before.len();
        let end = start + written.len();
        prop_assert!(
            hits.iter().any(|hit| hit.byte_start <= start && end <= hit.byte_end)
                || Scanner::starter().scan(&written).is_empty(),
            "{} ({}) not found in {:?}: {:?}", written, pattern, text, hits
        );
    }

    #[test]
    fn folding_never_moves_a_position(text in "\\PC{0,64}") {
        let folded = fold::fold(&text);
        let mut last = 0;
        for at in 0..folded.text().len() {
            let origin = folded.origin_of(at);
            prop_assert!(text.is_char_boundary(origin));
            prop_assert!(origin >= last, "origins go back at {}", at);
            last = origin;
        }
        // Folding each character alone gives the same text: no fold looks beyond its character.
        let alone: String = text.chars().map(|c| fold::fold_str(&c.to_string())).collect();
        prop_assert_eq!(folded.text(), alone.as_str());
    }

    #[test]
    fn any_input_is_read_or_refused_and_scanned_without_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_one_input(&data);
    }
}

/// Wordings and texts over a few characters, so that matches overlap, nest and chain.
fn small_lexicon() -> impl Strategy<Value = (Vec<String>, Vec<String>)> {
    let word = proptest::collection::vec(
        prop_oneof![Just('a'), Just('b'), Just('甲'), Just('乙')],
        1..5,
    )
    .prop_map(|chars| chars.into_iter().collect::<String>());
    (
        proptest::collection::btree_set(word.clone(), 1..12),
        proptest::collection::btree_set(word, 0..4),
    )
        .prop_map(|(find, allow)| {
            let allow = allow.into_iter().filter(|a| !find.contains(a)).collect();
            (find.into_iter().collect(), allow)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The scanner's own automaton finds what the `aho-corasick` crate finds, leftmost-longest,
    /// over the same folded text: the same spans, the same wordings.
    #[test]
    fn the_automaton_agrees_with_aho_corasick(
        (find, allow) in small_lexicon(),
        text in proptest::collection::vec(
            prop_oneof![Just("a"), Just("b"), Just("甲"), Just("乙"), Just("Ａ"), Just(" "), Just("，")],
            0..40,
        ),
    ) {
        let text = text.concat();
        let mut file = String::from("@version p\n");
        for wording in &find {
            file.push_str(&format!("banned | low | {wording}\n"));
        }
        for phrase in &allow {
            file.push_str(&format!("allow | {phrase}\n"));
        }
        let lexicon = Lexicon::parse(&file).expect("lexicon");
        let scanner = Scanner::new(&[lexicon]).expect("scanner");
        let found: Vec<(usize, usize, String)> = scanner
            .scan(&text)
            .into_iter()
            .map(|hit| (hit.byte_start, hit.byte_end, hit.pattern))
            .collect();

        let wordings: Vec<&String> = find.iter().chain(allow.iter()).collect();
        let reference = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(&wordings)
            .expect("reference");
        let folded = fold::fold(&text);
        let expected: Vec<(usize, usize, String)> = reference
            .find_iter(folded.text())
            .filter(|m| m.pattern().as_usize() < find.len())
            .map(|m| {
                let (start, end) = folded.original_span(&text, m.start(), m.end());
                (start, end, find[m.pattern().as_usize()].clone())
            })
            .collect();
        prop_assert_eq!(found, expected, "{:?} in {:?} (allowed {:?})", find, text, allow);
    }
}
