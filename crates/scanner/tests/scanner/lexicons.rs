use govmedia_scanner::{Lexicon, Scanner, ScannerCell, Severity};

const PROVINCIAL: &str = "\
# 青海省补充词库
@version qh-2026.3
banned | high | 地下钱庄
formulation | high | 青海湖景区门票免费 | 青海湖景区门票优惠
# a regional lexicon may raise a starter entry's severity
vulgar | high | 吃瓜群众
";

#[test]
fn a_regional_lexicon_adds_to_the_starter_and_its_entry_stands() {
    let cell = ScannerCell::new(Scanner::starter());
    let scanner = cell
        .load(&[("qinghai.lexicon", PROVINCIAL)])
        .expect("loaded");
    assert_eq!(scanner.versions(), ["starter-2026.12b", "qh-2026.3"]);
    let hits = scanner.scan("警惕地下钱庄，吃瓜群众请注意");
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert_eq!(hits[0].lexicon_version, "qh-2026.3");
    assert_eq!(hits[1].pattern, "吃瓜群众");
    assert_eq!(hits[1].severity, Severity::High);
    assert_eq!(hits[1].lexicon_version, "qh-2026.3");
}

#[test]
fn a_lexicon_with_a_bad_line_is_refused_and_the_one_in_force_stays() {
    let cell = ScannerCell::new(Scanner::starter());
    cell.load(&[("qinghai.lexicon", PROVINCIAL)])
        .expect("loaded");
    let broken = PROVINCIAL.replace("qh-2026.3", "qh-2026.4").replace(
        "banned | high | 地下钱庄",
        "banned | high | 地下钱庄\nbanned | urgent | 套路贷",
    );
    let error = cell
        .load(&[("qinghai.lexicon", &broken)])
        .expect_err("refused");
    assert_eq!(
        (error.file.as_str(), error.error.line),
        ("qinghai.lexicon", 4),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with("qinghai.lexicon: lexicon line 4"),
        "{error}"
    );
    let scanner = cell.current();
    assert_eq!(scanner.versions(), ["starter-2026.12b", "qh-2026.3"]);
    assert!(scanner.scan("套路贷").is_empty());
    assert_eq!(scanner.scan("地下钱庄").len(), 1);
}

#[test]
fn the_starter_lexicon_is_whole() {
    let starter = Lexicon::starter();
    assert!(starter.entries.len() >= 40, "{}", starter.entries.len());
    assert_eq!(Scanner::starter().len(), starter.entries.len());
    // Every entry is found in a text that holds it, unless an allowed phrase is that text.
    let scanner = Scanner::starter();
    for entry in &starter.entries {
        let text = format!("据报道，{}。", entry.pattern);
        let hits = scanner.scan(&text);
        assert!(
            hits.iter().any(|hit| hit.pattern == entry.pattern),
            "line {}: {} not found in {hits:?}",
            entry.line,
            entry.pattern
        );
    }
}
