//! Validation primitives for request fields. Services compose them in their `grpc` layer, at the
//! edge, collecting every violation into [`Violations`] before anything touches storage.

use crate::error::Violations;

/// Maximum length of a resource id.
pub const MAX_ID_LEN: usize = 63;

/// True for a resource id: 2-63 characters of `[a-z0-9-]`, starting with a letter, not ending
/// with '-'.
pub fn is_id(value: &str) -> bool {
    let bytes = value.as_bytes();
    (2..=MAX_ID_LEN).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// Checks a resource id field; returns it when valid.
pub fn id<'a>(violations: &mut Violations, field: &str, value: &'a str) -> Option<&'a str> {
    if value.is_empty() {
        violations.add(field, "is required");
        None
    } else if !is_id(value) {
        violations.add(
            field,
            "must be 2-63 characters of a-z, 0-9 and '-', start with a letter and not end with '-'",
        );
        None
    } else {
        Some(value)
    }
}

/// Parses `collection/{id}` and returns the id. `required` decides whether empty is a violation
/// (`None` is returned for an allowed empty value).
pub fn resource_id(
    violations: &mut Violations,
    field: &str,
    value: &str,
    collection: &str,
    required: bool,
) -> Option<String> {
    if value.is_empty() {
        if required {
            violations.add(field, format!("is required (`{collection}/{{id}}`)"));
        }
        return None;
    }
    match value
        .strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
    {
        Some(id) if is_id(id) => Some(id.to_owned()),
        _ => {
            violations.add(
                field,
                format!("must be a resource name `{collection}/{{id}}` with a valid id"),
            );
            None
        }
    }
}

/// Checks one-line text (names, titles, queries): trimmed, no line breaks or other control
/// characters, at most `max` characters; `required` rejects empty or blank text.
pub fn text(violations: &mut Violations, field: &str, value: &str, max: usize, required: bool) {
    check_text(violations, field, value, max, required, false);
}

/// Checks free text that may span lines (reasons, justifications): as [`text`], but `\n` is
/// allowed.
pub fn multiline_text(
    violations: &mut Violations,
    field: &str,
    value: &str,
    max: usize,
    required: bool,
) {
    check_text(violations, field, value, max, required, true);
}

fn check_text(
    violations: &mut Violations,
    field: &str,
    value: &str,
    max: usize,
    required: bool,
    lines: bool,
) {
    if value.trim().is_empty() {
        if required {
            violations.add(field, "is required");
        } else if !value.is_empty() {
            violations.add(field, "must not be blank");
        }
        return;
    }
    let chars = value.chars().count();
    if chars > max {
        violations.add(
            field,
            format!("must be at most {max} characters (got {chars})"),
        );
    }
    if value
        .chars()
        .any(|c| (c.is_control() && !(lines && c == '\n')) || is_invisible_format(c))
    {
        violations.add(
            field,
            if lines {
                "must not contain control characters"
            } else {
                "must be one line without control characters"
            },
        );
    }
    if value.trim() != value {
        violations.add(field, "must not start or end with white space");
    }
}

/// Invisible characters that have no place in a name or a reason: the format characters
/// (zero-width spaces and joiners, bidirectional overrides and isolates, which make text
/// display differently from what it is; the byte-order mark, soft hyphen, interlinear
/// annotation marks, tag characters, musical formatting), the line and paragraph separators,
/// and the blank fillers that render as nothing (Hangul fillers, the combining grapheme
/// joiner, Khmer inherent vowels, the Braille blank).
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// Checks a proto enum field: a known, non-zero value (`known` decodes the number).
pub fn enum_value<E>(
    violations: &mut Violations,
    field: &str,
    value: i32,
    required: bool,
    known: impl Fn(i32) -> Option<E>,
) -> Option<E> {
    if value == 0 {
        if required {
            violations.add(field, "is required");
        }
        return None;
    }
    match known(value) {
        Some(decoded) => Some(decoded),
        None => {
            violations.add(field, format!("{value} is not a known value"));
            None
        }
    }
}

/// Earliest time govmedia accepts for observations of the past (posts, rotations): older values
/// are typing errors, and PostgreSQL cannot store every year a Timestamp can.
pub const EARLIEST: i64 = 946_684_800; // 2000-01-01T00:00:00Z

/// Checks a time in the past: a valid timestamp, not before 2000, not after `now` plus `skew`.
pub fn past_time(
    violations: &mut Violations,
    field: &str,
    value: &prost_types::Timestamp,
    skew: chrono::Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    match crate::clock::from_proto(value) {
        Some(time) if time.timestamp() < EARLIEST => {
            violations.add(field, "must not be before 2000-01-01");
            None
        }
        Some(time) if time > now + skew => {
            violations.add(field, "must not be in the future");
            None
        }
        Some(time) => Some(time),
        None => {
            violations.add(field, "is not a valid timestamp");
            None
        }
    }
}

/// Checks a request id (idempotency key): empty, or 1-128 characters of `[A-Za-z0-9._:/-]`.
pub fn request_id(violations: &mut Violations, field: &str, value: &str) {
    if value.len() > 128
        || !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:/-".contains(&b))
    {
        violations.add(
            field,
            "must be at most 128 characters of A-Z, a-z, 0-9 and . _ : / -",
        );
    }
}

/// Checks an update mask against the fields a method lets change; returns the paths when valid.
/// A missing or empty mask, `*`, unknown or repeated paths are violations.
pub fn field_mask(
    violations: &mut Violations,
    field: &str,
    mask: Option<&prost_types::FieldMask>,
    allowed: &[&str],
) -> Vec<String> {
    let paths = mask.map(|m| m.paths.as_slice()).unwrap_or_default();
    if paths.is_empty() {
        violations.add(
            field,
            format!(
                "is required; name the fields to change: {}",
                allowed.join(", ")
            ),
        );
        return Vec::new();
    }
    let mut seen = Vec::new();
    for path in paths {
        if !allowed.contains(&path.as_str()) {
            violations.add(
                field,
                format!(
                    "{path:?} cannot be changed; allowed: {}",
                    allowed.join(", ")
                ),
            );
        } else if seen.contains(path) {
            violations.add(field, format!("{path:?} is named twice"));
        } else {
            seen.push(path.clone());
        }
    }
    seen
}

/// Checks an account's id on a third-party platform (e.g. a WeChat original id): at most 100
/// characters, no white space or control characters.
pub fn platform_account_id(violations: &mut Violations, field: &str, value: &str, required: bool) {
    if value.is_empty() {
        if required {
            violations.add(field, "is required");
        }
        return;
    }
    if value.chars().count() > 100 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        violations.add(field, "must be at most 100 characters without white space");
    }
}

/// Checks a phone number: 5-20 characters of digits, spaces and '-', optionally starting with
/// '+', with at least 5 digits.
pub fn phone(violations: &mut Violations, field: &str, value: &str, required: bool) {
    if value.is_empty() {
        if required {
            violations.add(field, "is required");
        }
        return;
    }
    let body = value.strip_prefix('+').unwrap_or(value);
    let digits = body.bytes().filter(u8::is_ascii_digit).count();
    if !(5..=20).contains(&value.len())
        || digits < 5
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b' ' || b == b'-')
    {
        violations.add(
            field,
            "must be a phone number: 5-20 digits, spaces or '-', optionally after '+'",
        );
    }
}

/// Checks an optional `https://` URL of at most 2048 characters without white space.
pub fn https_url(violations: &mut Violations, field: &str, value: &str) {
    if value.is_empty() {
        return;
    }
    let host = value.strip_prefix("https://").unwrap_or("");
    if value.len() > 2048
        || host.is_empty()
        || host.starts_with('/')
        || value.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        violations.add(
            field,
            "must be an https:// URL of at most 2048 characters without spaces",
        );
    }
}

/// Checks the SHA-256 of a document given by hash: 64 lower-case hex digits.
pub fn sha256_hex(violations: &mut Violations, field: &str, value: &str) {
    if value.len() != 64
        || !value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        violations.add(
            field,
            "must be the SHA-256 of the file as 64 lower-case hex digits",
        );
    }
}

/// A required period of the request, `[start, end)`: both instants valid timestamps not before
/// 2000, the end after the start. `prefix` is the message (`delegation`; empty for fields of the
/// request itself), the pairs name each field and give its value. `None` (with the violations) unless all holds.
pub fn period(
    v: &mut Violations,
    prefix: &str,
    (start_field, start): (&str, Option<&prost_types::Timestamp>),
    (end_field, end): (&str, Option<&prost_types::Timestamp>),
) -> Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
    let mut instant = |field: &str, value: Option<&prost_types::Timestamp>| {
        let path = field_path(prefix, field);
        match value.map(crate::clock::from_proto) {
            None => {
                v.add(path, "is required");
                None
            }
            Some(Some(time)) if time.timestamp() >= EARLIEST => Some(time),
            Some(Some(_)) => {
                v.add(path, "must not be before 2000-01-01");
                None
            }
            Some(None) => {
                v.add(path, "is not a valid timestamp");
                None
            }
        }
    };
    let start = instant(start_field, start);
    let end = instant(end_field, end);
    let (start, end) = (start?, end?);
    if end <= start {
        v.add(
            field_path(prefix, end_field),
            format!("must be after {start_field}"),
        );
        return None;
    }
    Some((start, end))
}

/// `prefix.field`, or `field` alone under no prefix.
fn field_path(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_and_reordering_characters_are_refused() {
        for bad in [
            "\u{200B}\u{200B}",
            "青云\u{202E}传媒",
            "a\u{FEFF}b",
            "x\u{2066}y",
            "丙\u{2028}公司",
            "a\u{E0001}b",
            "\u{3164}",
        ] {
            let mut v = Violations::new();
            text(&mut v, "name", bad, 100, true);
            assert!(!v.is_empty(), "{bad:?}");
            let mut v = Violations::new();
            multiline_text(&mut v, "reason", bad, 100, true);
            assert!(!v.is_empty(), "{bad:?}");
        }
        let mut v = Violations::new();
        text(&mut v, "name", "青云传媒有限公司", 100, true);
        assert!(v.is_empty());
    }

    #[test]
    fn ids() {
        for good in ["ab", "golmud-edu", "a1", &"a".repeat(63)] {
            assert!(is_id(good), "{good}");
        }
        for bad in [
            "",
            "a",
            "1a",
            "A-b",
            "ab-",
            "a_b",
            "格尔木",
            &"a".repeat(64),
        ] {
            assert!(!is_id(bad), "{bad}");
        }
    }

    #[test]
    fn resource_names() {
        let mut v = Violations::new();
        assert_eq!(
            resource_id(&mut v, "f", "organizations/golmud", "organizations", true).as_deref(),
            Some("golmud")
        );
        assert!(resource_id(&mut v, "f", "", "organizations", false).is_none());
        assert!(v.is_empty());
        assert!(resource_id(&mut v, "f", "accounts/golmud", "organizations", true).is_none());
        assert!(resource_id(&mut v, "f", "organizations/", "organizations", true).is_none());
        assert!(resource_id(&mut v, "f", "organizations/a/b", "organizations", true).is_none());
        assert!(resource_id(&mut v, "f", "", "organizations", true).is_none());
        assert!(v.finish().is_err());
    }

    #[test]
    fn past_times() {
        let mut v = Violations::new();
        let skew = chrono::Duration::minutes(5);
        let clock_now = crate::clock::Clock::system().now();
        let now = crate::clock::to_proto(clock_now);
        assert!(past_time(&mut v, "t", &now, skew, clock_now).is_some());
        assert!(v.is_empty());
        let ancient = prost_types::Timestamp {
            seconds: -3_000_000_000_000,
            nanos: 0,
        };
        let future = prost_types::Timestamp {
            seconds: now.seconds + 86_400,
            nanos: 0,
        };
        let broken = prost_types::Timestamp {
            seconds: 0,
            nanos: -1,
        };
        for value in [ancient, future, broken] {
            assert!(past_time(&mut v, "t", &value, skew, clock_now).is_none());
        }
        assert!(v.finish().is_err());
    }

    #[test]
    fn masks_phones_and_urls() {
        let mask = |paths: &[&str]| prost_types::FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        };
        let mut v = Violations::new();
        assert_eq!(
            field_mask(&mut v, "m", Some(&mask(&["a", "b"])), &["a", "b"]),
            ["a", "b"]
        );
        phone(&mut v, "p", "0979-8412345", true);
        phone(&mut v, "p", "+86 138 1234 5678", true);
        https_url(&mut v, "u", "https://www.golmud.gov.cn/");
        assert!(v.is_empty());
        field_mask(&mut v, "m", None, &["a"]);
        field_mask(&mut v, "m", Some(&mask(&["*"])), &["a"]);
        field_mask(&mut v, "m", Some(&mask(&["a", "a"])), &["a"]);
        phone(&mut v, "p", "12", true);
        phone(&mut v, "p", "1380000abcd", true);
        https_url(&mut v, "u", "http://example.com");
        https_url(&mut v, "u", "https://exa mple.com");
        assert!(v.finish().is_err());
    }

    #[test]
    fn texts() {
        let mut v = Violations::new();
        text(&mut v, "a", "格尔木市教育局", 10, true);
        text(&mut v, "b", "", 10, false);
        assert!(v.is_empty());
        text(&mut v, "c", "", 10, true);
        text(&mut v, "d", "   ", 10, false);
        text(&mut v, "e", "一二三四五六七八九十一", 10, true);
        text(&mut v, "f", "a\u{0}b", 10, true);
        text(&mut v, "g", " padded", 10, true);
        let status = tonic::Status::from(v.finish().unwrap_err());
        use tonic_types::StatusExt;
        assert_eq!(
            status
                .get_error_details()
                .bad_request()
                .expect("br")
                .field_violations
                .len(),
            5
        );
    }
}
