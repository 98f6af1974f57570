//! Texts as routing reads them: folded for matching (case, full/half width, no spaces or
//! punctuation), compared by character bigrams (Chinese is written without spaces, so words are
//! not split on whitespace), and personal data masked for display.

use std::collections::HashSet;

/// `c` folded: full-width ASCII forms to ASCII, the ideographic space to a space, lower case.
fn fold_char(c: char) -> char {
    let c = match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    };
    c.to_lowercase().next().unwrap_or(c)
}

/// The text folded for matching, keeping only letters, digits and ideographs.
pub fn fold(text: &str) -> String {
    text.chars()
        .map(fold_char)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The set of character bigrams of the folded text (a one-character text is its own gram).
pub fn bigrams(text: &str) -> HashSet<(char, char)> {
    let chars: Vec<char> = fold(text).chars().collect();
    match chars.len() {
        0 => HashSet::new(),
        1 => HashSet::from([(chars[0], '\0')]),
        _ => chars.windows(2).map(|w| (w[0], w[1])).collect(),
    }
}

/// How alike two texts are, 0..=1: the Dice coefficient of their bigram sets.
pub fn similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (bigrams(a), bigrams(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let shared = a.intersection(&b).count();
    2.0 * shared as f64 / (a.len() + b.len()) as f64
}

/// True when the folded `text` contains the folded `keyword`.
pub fn contains(text_folded: &str, keyword: &str) -> bool {
    let keyword = fold(keyword);
    !keyword.is_empty() && text_folded.contains(&keyword)
}

/// The text with every mainland mobile number masked: what a case keeps of free text that staff
/// or citizens write into its steps (reasons, comments, replies), so that a number written there
/// is stored, shown and published only masked, like the numbers of the message itself.
pub fn mask_phones(text: &str) -> String {
    redact_phones(text).0
}

/// The text with every mainland mobile number masked, and the numbers found, as 11 ASCII
/// digits. A number may be written with full-width digits, with spaces, hyphens, dots or
/// brackets between its digits, and with the country code (`+86`, `86`); a run of digits that is
/// part of a longer number (an order number, a postal code) stays as it is.
pub fn redact_phones(text: &str) -> (String, Vec<String>) {
    let chars: Vec<char> = text.chars().collect();
    let digit = |c: char| -> Option<char> {
        match c {
            '0'..='9' => Some(c),
            '\u{FF10}'..='\u{FF19}' => char::from_u32(c as u32 - 0xFF10 + '0' as u32),
            _ => None,
        }
    };
    let separator = |c: char| matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{3000}' | '－');
    let mut out = String::with_capacity(text.len());
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts = digit(chars[i]).is_some()
            || (matches!(chars[i], '+' | '(')
                && chars
                    .get(i + 1)
                    .is_some_and(|c| digit(*c).is_some() || *c == '+'));
        if !starts {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The longest span of digits with single separators between them.
        let start = i;
        let mut end = i;
        let mut digits = String::new();
        let mut j = i;
        while j < chars.len() {
            if let Some(d) = digit(chars[j]) {
                digits.push(d);
                j += 1;
                end = j;
            } else if (separator(chars[j]) || (chars[j] == '+' && j == start))
                && chars
                    .get(j + 1)
                    .is_some_and(|c| digit(*c).is_some() || (separator(*c) && *c != chars[j]))
            {
                j += 1;
            } else {
                break;
            }
        }
        if end == start {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let number = match digits.len() {
            11 => Some(digits.clone()),
            13 if digits.starts_with("86") => Some(digits[2..].to_owned()),
            _ => None,
        };
        let bytes = number.as_deref().unwrap_or_default().as_bytes();
        match number {
            Some(number) if bytes[0] == b'1' && (b'3'..=b'9').contains(&bytes[1]) => {
                out.push_str(&mask_phone(&number));
                found.push(number);
            }
            _ => {
                // Not a number as a whole: a space may join a number to the one before it
                // ("2026-10-01 138…"), so the part after the first space is read again.
                if let Some(space) = (start..end).find(|k| chars[*k].is_whitespace()) {
                    out.extend(&chars[start..=space]);
                    i = space + 1;
                    continue;
                }
                out.extend(&chars[start..end]);
            }
        }
        i = end;
    }
    (out, found)
}

/// `13812345678` → `138****5678`.
fn mask_phone(digits: &str) -> String {
    let chars: Vec<char> = digits.chars().collect();
    let n = chars.len();
    if n < 7 {
        return "*".repeat(n.max(3));
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[n - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(n - 7))
}

/// A contact as responses show it: a phone number keeps its first 3 and last 4 digits, an
/// e-mail address its first character and domain, anything else its first character.
pub fn mask_contact(contact: &str) -> String {
    let contact = contact.trim();
    if contact.is_empty() {
        return String::new();
    }
    if let Some((local, domain)) = contact.split_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    let digits: String = contact.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 7 && digits.len() * 2 >= contact.chars().count() {
        return mask_phone(&digits);
    }
    mask_handle(contact)
}

/// A handle as responses show it: its first character and `***`.
pub fn mask_handle(handle: &str) -> String {
    match handle.trim().chars().next() {
        Some(first) => format!("{first}***"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_in_text_are_masked_and_collected_but_other_numbers_stay() {
        let (text, phones) = redact_phones(
            "请回电13812345678或１３９００００１１１１，单号202610010001234，邮编816000",
        );
        assert_eq!(
            text,
            "请回电138****5678或139****1111，单号202610010001234，邮编816000"
        );
        assert_eq!(phones, vec!["13812345678", "13900001111"]);
        let (text, phones) = redact_phones("电话12345678901");
        assert_eq!(text, "电话12345678901");
        assert!(phones.is_empty());
        for written in [
            "138-1234-5678",
            "138 1234 5678",
            "+8613812345678",
            "8613812345678",
            "138.1234.5678",
            "(138)12345678",
            "+86 138 1234 5678",
        ] {
            let (text, phones) = redact_phones(&format!("请回电{written}，谢谢"));
            assert_eq!(phones, ["13812345678"], "{written}");
            assert_eq!(text, "请回电138****5678，谢谢", "{written}");
        }
        let (text, phones) = redact_phones("2026-10-01 13812345678");
        assert_eq!(text, "2026-10-01 138****5678");
        assert_eq!(phones, ["13812345678"]);
        let (text, phones) = redact_phones("邮编 816000 - 单号 2026-10-01");
        assert_eq!(text, "邮编 816000 - 单号 2026-10-01");
        assert!(phones.is_empty());
    }

    #[test]
    fn contacts_and_handles_are_masked() {
        assert_eq!(mask_contact("13812345678"), "138****5678");
        assert_eq!(mask_contact("0979-8412345"), "097****2345");
        assert_eq!(mask_contact("zhang.san@example.com"), "z***@example.com");
        assert_eq!(mask_handle("张三丰"), "张***");
        assert_eq!(mask_contact(""), "");
    }

    #[test]
    fn chinese_texts_compare_by_bigrams_whatever_the_width_or_spacing() {
        let a = "格尔木市昆仑路的路灯坏了三天了";
        let b = "格尔木市 昆仑路的路灯坏了，已经三天了！";
        assert!(similarity(a, b) > 0.7, "{}", similarity(a, b));
        assert!(similarity(a, "孩子入学需要哪些材料") < 0.1);
        assert!(contains(&fold("ＷｉＦｉ信号差"), "wifi"));
        assert!(!contains(&fold("路灯"), ""));
    }
}
