//! The scanner's throughput (run by `bench/scanner.sh`; `cargo test` does not build it): MB/s on
//! one core over generated government-post text, with a lexicon of PATTERNS wordings and every
//! fold on, beside the raw `aho-corasick` crate on the same wordings and the same text (the same
//! search: leftmost-longest, the crate's own choice of automaton, and its DFA; no folding, no
//! positions).
//!
//! ```text
//! cargo bench -p govmedia-scanner --bench scan -- [PATTERNS] [TEXT_MB] [ROUNDS]
//! ```
//!
//! Prints one JSON object. Wordings and text come from one seeded generator: the same numbers
//! every run on one machine.

use std::time::Instant;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use govmedia_scanner::{Lexicon, Scanner, fold};

/// Words of government posts the text and the wordings are drawn from.
const WORDS: &str = "政务 新媒体 人民 群众 政府 工作 发展 建设 服务 社会 经济 会议 学习 \
    贯彻 落实 精神 部署 安全 生产 防汛 应急 响应 疫情 防控 乡村 振兴 教育 医疗 卫生 \
    交通 出行 提示 公告 通知 办理 窗口 审批 便民 热线 留言 回复 督办 整改 检查 考核 \
    环境 保护 生态 文明 城市 管理 社区 街道 农业 农村 农民 收入 就业 创业 企业 营商 \
    优化 改革 创新 科技 文化 旅游 体育 活动 举办 开展 组织 召开 推进 加强 提升 完善 \
    全面 深入 扎实 有效 积极 重要 讲话 指示 批示 领导 干部 党员 党建 基层 治理 法治 \
    宣传 政策 解读 权威 发布 信息 公开 数据 平台 系统 网络 线上 线下 直播 视频 图片 \
    青海 格尔木 西宁 海西 高原 雪山 湖泊 草原 牧区 春节 国庆 假期 天气 气温 降雨 道路";

/// A deterministic generator (xorshift64*), so that every run scans the same text.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `count` distinct wordings of 2 to 6 characters (mostly 3 to 6): the first ones from the
/// text's words seven times in ten, the last one any common ideograph. A lexicon whose wordings
/// begin as the text's words do (so the automaton walks deep and often) but, as in clean
/// government text, occur only where they were put.
fn wordings(count: usize, random: &mut Seeded) -> Vec<String> {
    let chars: Vec<char> = WORDS.chars().filter(|c| !c.is_whitespace()).collect();
    let any =
        |random: &mut Seeded| char::from_u32(0x4e00 + random.below(0x51a5) as u32).unwrap_or('中');
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let length = if random.below(10) == 0 {
            2
        } else {
            3 + random.below(4)
        };
        let mut wording: String = (1..length)
            .map(|_| {
                if random.below(10) < 7 {
                    chars[random.below(chars.len())]
                } else {
                    any(random)
                }
            })
            .collect();
        let last = any(random);
        if chars.contains(&last) {
            continue;
        }
        wording.push(last);
        if seen.insert(fold::fold_str(&wording)) {
            out.push(wording);
        }
    }
    out
}

/// About `bytes` of text: sentences of words, punctuation, dates and numbers, now and then a
/// wording of the lexicon.
fn text(bytes: usize, wordings: &[String], random: &mut Seeded) -> String {
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut text = String::with_capacity(bytes + 64);
    while text.len() < bytes {
        for _ in 0..(4 + random.below(12)) {
            match random.below(400) {
                0 => text.push_str(&wordings[random.below(wordings.len())]),
                1..=10 => text.push_str(&format!(
                    "{}年{}月",
                    2020 + random.below(7),
                    1 + random.below(12)
                )),
                11..=20 => text.push('、'),
                21..=30 => text.push('“'),
                31..=40 => text.push('”'),
                _ => text.push_str(words[random.below(words.len())]),
            }
        }
        text.push_str(if random.below(3) == 0 { "。\n" } else { "，" });
    }
    text
}

fn best_of<T>(rounds: usize, mut run: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..rounds {
        let started = Instant::now();
        let result = run();
        best = best.min(started.elapsed().as_secs_f64());
        last = Some(result);
    }
    (best, last.expect("at least one round"))
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let number = |index: usize, default: usize| {
        args.get(index)
            .and_then(|arg| arg.parse().ok())
            .unwrap_or(default)
    };
    let (patterns, megabytes, rounds) = (number(0, 50_000), number(1, 32), number(2, 5).max(1));
    let mut random = Seeded(0x9e37_79b9_7f4a_7c15);
    let wordings = wordings(patterns, &mut random);
    let text = text(megabytes << 20, &wordings, &mut random);
    let mb = text.len() as f64 / (1 << 20) as f64;

    let mut lexicon = String::from("@version bench\n");
    for wording in &wordings {
        lexicon.push_str(&format!("banned | low | {wording}\n"));
    }
    let started = Instant::now();
    let lexicon = Lexicon::parse(&lexicon).expect("the generated lexicon reads");
    let scanner = Scanner::new(&[Lexicon::starter(), lexicon]).expect("scanner");
    let build_seconds = started.elapsed().as_secs_f64();

    let raw: AhoCorasick = AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .build(&wordings)
        .expect("raw automaton");

    let (scan_seconds, hits) = best_of(rounds, || scanner.scan(&text).len());
    let (fold_seconds, folded) = best_of(rounds, || fold::fold(&text).text().len());
    let dfa: AhoCorasick = AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .build(&wordings)
        .expect("raw automaton");
    let (dfa_seconds, _) = best_of(rounds, || dfa.find_iter(&text).count());
    let (raw_seconds, raw_matches) = best_of(rounds, || raw.find_iter(&text).count());

    println!(
        "{}",
        format_args!(
            concat!(
                "{{\"patterns\": {}, \"text_mb\": {:.1}, \"rounds\": {}, \"build_s\": {:.2}, \"scanner_memory_mb\": {:.1}, ",
                "\"scanner_mb_s\": {:.1}, \"fold_only_mb_s\": {:.1}, \"raw_aho_corasick_mb_s\": {:.1}, ",
                "\"raw_kind\": \"{:?}\", \"raw_memory_mb\": {}, \"raw_dfa_mb_s\": {:.1}, \"raw_dfa_memory_mb\": {}, ",
                "\"hits\": {}, \"raw_matches\": {}, \"folded_bytes\": {}}}"
            ),
            scanner.len(),
            mb,
            rounds,
            build_seconds,
            scanner.memory_usage() as f64 / (1 << 20) as f64,
            mb / scan_seconds,
            mb / fold_seconds,
            mb / raw_seconds,
            raw.kind(),
            raw.memory_usage() >> 20,
            mb / dfa_seconds,
            dfa.memory_usage() >> 20,
            hits,
            raw_matches,
            folded,
        )
    );
}
