use govmedia_scanner::{Category, Lexicon, Scanner, Severity};

fn patterns(scanner: &Scanner, text: &str) -> Vec<String> {
    scanner
        .scan(text)
        .into_iter()
        .map(|hit| hit.pattern)
        .collect()
}

#[test]
fn a_wrong_formulation_is_found_with_its_correct_form_and_place() {
    let scanner = Scanner::starter();
    let text = "近日，我县召开会议，深入学习一带一路战略。";
    let hits = scanner.scan(text);
    assert_eq!(hits.len(), 1, "{hits:?}");
    let hit = &hits[0];
    assert_eq!(hit.category, Category::Formulation);
    assert_eq!(hit.severity, Severity::High);
    assert_eq!(hit.matched, "一带一路战略");
    assert_eq!(hit.suggestion.as_deref(), Some("一带一路倡议"));
    assert_eq!(&text[hit.byte_start..hit.byte_end], "一带一路战略");
    let chars: Vec<char> = text.chars().collect();
    assert_eq!(
        chars[hit.char_start..hit.char_end]
            .iter()
            .collect::<String>(),
        "一带一路战略"
    );
    assert_eq!(hit.lexicon_version, "starter-2026.12b");
}

#[test]
fn evasions_are_seen_through_and_reported_as_written() {
    let scanner = Scanner::starter();
    for (text, written) in [
        ("出售 六 合 彩 资料", "六 合 彩"),
        ("六\u{200b}合\u{200d}彩", "六\u{200b}合\u{200d}彩"),
        ("六合彩", "六合彩"),
        ("看南-朝-鲜新闻", "南-朝-鲜"),
        ("臺灣總統說", "臺灣總統"),
        ("“台湾”总统", "台湾”总统"),
        ("屌丝逆袭", "屌丝"),
        ("卧⃝槽", "卧⃝槽"),
    ] {
        let hits = scanner.scan(text);
        assert_eq!(hits.len(), 1, "{text}: {hits:?}");
        assert_eq!(hits[0].matched, written, "{text}");
    }
}

#[test]
fn allowed_phrases_and_correct_forms_are_no_hits() {
    let scanner = Scanner::starter();
    for text in [
        "格尔木市新增两项国家级非物质文化遗产代表性项目",
        "启动防汛最高级别应急响应",
        "坚持以习近平同志为核心的党中央的坚强领导",
        "推进一带一路倡议高质量发展",
        "依法严厉打击六合彩等赌博活动",
    ] {
        assert!(
            scanner.scan(text).is_empty(),
            "{text}: {:?}",
            scanner.scan(text)
        );
    }
    // The same words outside the allowed phrase are hits.
    assert_eq!(
        patterns(&scanner, "国家级品质，全网最低价"),
        ["国家级", "全网最低价"]
    );
}

#[test]
fn a_longer_wording_is_reported_instead_of_one_inside_it() {
    let lexicon = Lexicon::parse(
        "@version t\nbanned | high | 赌场\nbanned | high | 网上赌场\nvulgar | low | 上赌\n",
    )
    .expect("lexicon");
    let scanner = Scanner::new(&[lexicon]).expect("scanner");
    assert_eq!(patterns(&scanner, "进入网上赌场"), ["网上赌场"]);
    assert_eq!(patterns(&scanner, "一家赌场"), ["赌场"]);
}

#[test]
fn every_hit_is_reported_in_text_order() {
    let scanner = Scanner::starter();
    let text = "南朝鲜和北朝鲜，台湾政府，撕逼大战，六合彩";
    assert_eq!(
        patterns(&scanner, text),
        ["南朝鲜", "北朝鲜", "台湾政府", "撕逼", "六合彩"]
    );
    let starts: Vec<usize> = scanner.scan(text).iter().map(|h| h.char_start).collect();
    assert_eq!(starts, [0, 4, 8, 13, 18]);
}

#[test]
fn a_text_without_wording_has_no_hits() {
    let scanner = Scanner::starter();
    assert!(scanner.scan("").is_empty());
    assert!(scanner.scan("今天天气晴，气温18℃。").is_empty());
    assert!(scanner.scan("！！！   。。。").is_empty());
}

#[test]
fn nested_wordings_over_a_long_run_come_out_leftmost_longest() {
    // Wordings of one to 64 of the same character, over a run of 200,010 of it: every hit the
    // longest that fits, one after the other, the last the 10 that are left.
    let mut file = String::from("@version nested\n");
    for length in 1..=64 {
        file.push_str(&format!("banned | low | {}\n", "六".repeat(length)));
    }
    let scanner = Scanner::new(&[Lexicon::parse(&file).expect("lexicon")]).expect("scanner");
    let text = "六".repeat(200_010);
    let hits = scanner.scan(&text);
    assert_eq!(hits.len(), 3_126);
    assert!(
        hits[..3_125]
            .iter()
            .all(|hit| hit.char_end - hit.char_start == 64)
    );
    let last = hits.last().expect("a last hit");
    assert_eq!((last.char_start, last.char_end), (200_000, 200_010));
}
