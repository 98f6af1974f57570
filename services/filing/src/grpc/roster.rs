//! Platform rosters as they arrive: CSV checked whole, row by row, into roster entries. Every
//! problem is named by its physical line (`csv[LINE].column`); a file with any problem yields
//! nothing, so an import is all or nothing.

use std::collections::HashMap;

use govmedia_kit::error::Violations;

use super::filings::unvalidated;
use crate::{domain::reconcile::RosterEntry, error::FilingError};

/// Largest roster file: inside the 4 MiB a gRPC server takes in one message by default.
const MAX_CSV_BYTES: usize = 3 * 1024 * 1024;
/// Most rows of a roster.
const MAX_ROWS: usize = 50_000;
/// Problems listed at most; a file with more is refused with the first ones and a count.
const MAX_PROBLEMS: usize = 100;
/// Longest name or subject.
const MAX_TEXT: usize = 100;

/// The columns of a roster: the key (as in the national export) and its Chinese header.
const PLATFORM_ACCOUNT_ID: (&str, &str) = ("platform_account_id", "平台账号ID");
const DISPLAY_NAME: (&str, &str) = ("display_name", "账号名称");
const VERIFIED_SUBJECT: (&str, &str) = ("verified_subject", "认证主体");

/// Where each known column sits in the file.
struct Layout {
    platform_account_id: usize,
    display_name: usize,
    verified_subject: Option<usize>,
    width: usize,
}

/// Problems found in a roster, by CSV line; only the first [`MAX_PROBLEMS`] are kept.
struct Problems {
    violations: Violations,
    count: usize,
}

impl Problems {
    fn add(&mut self, line: u64, column: Option<&str>, description: impl Into<String>) {
        self.count += 1;
        if self.count <= MAX_PROBLEMS {
            let field = match column {
                Some(column) => format!("csv[{line}].{column}"),
                None => format!("csv[{line}]"),
            };
            self.violations.add(field, description);
        }
    }

    fn finish(mut self) -> Result<(), FilingError> {
        if self.count > MAX_PROBLEMS {
            self.violations.add(
                "csv",
                format!(
                    "has {} problems; the first {MAX_PROBLEMS} are listed",
                    self.count
                ),
            );
        }
        Ok(self.violations.finish()?)
    }
}

fn header_layout(header: &csv::ByteRecord, problems: &mut Problems) -> Option<Layout> {
    let names: Vec<String> = header
        .iter()
        .map(|name| String::from_utf8_lossy(name).trim().to_owned())
        .collect();
    let find = |(key, chinese): (&str, &str)| {
        names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(key) || name == chinese)
    };
    let platform_account_id = find(PLATFORM_ACCOUNT_ID);
    let display_name = find(DISPLAY_NAME);
    for ((key, chinese), found) in [
        (PLATFORM_ACCOUNT_ID, platform_account_id),
        (DISPLAY_NAME, display_name),
    ] {
        if found.is_none() {
            problems.add(
                1,
                None,
                format!("the header names no {key} ({chinese}) column"),
            );
        }
    }
    Some(Layout {
        platform_account_id: platform_account_id?,
        display_name: display_name?,
        verified_subject: find(VERIFIED_SUBJECT),
        width: names.len(),
    })
}

/// One field of a row as trimmed text; `None` (and a problem) when it is not UTF-8.
fn field(
    record: &csv::ByteRecord,
    index: usize,
    line: u64,
    column: &str,
    problems: &mut Problems,
) -> Option<String> {
    let raw = record.get(index).unwrap_or_default();
    match std::str::from_utf8(raw) {
        Ok(text) => Some(text.trim().to_owned()),
        Err(_) => {
            problems.add(line, Some(column), "is not UTF-8 text");
            None
        }
    }
}

fn check_text(value: &str, line: u64, column: &str, required: bool, problems: &mut Problems) {
    if value.is_empty() {
        if required {
            problems.add(line, Some(column), "is required");
        }
    } else if value.chars().count() > MAX_TEXT {
        problems.add(
            line,
            Some(column),
            format!("must be at most {MAX_TEXT} characters"),
        );
    } else if value.chars().any(char::is_control) {
        problems.add(
            line,
            Some(column),
            "must be one line without control characters",
        );
    }
}

/// Physical line numbers of byte offsets, counted forward as records are read. (The CSV
/// reader's own line counter starts a record at the blank lines it skipped before it; an
/// operator looks for the line the record is on.)
struct Lines<'a> {
    text: &'a [u8],
    offset: usize,
    line: u64,
}

impl Lines<'_> {
    /// The line of the first non-blank byte at or after `offset` (offsets only grow).
    fn at(&mut self, offset: u64) -> u64 {
        let mut start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        while start < self.text.len() && matches!(self.text[start], b'\r' | b'\n') {
            start += 1;
        }
        if start > self.offset {
            self.line += self.text[self.offset..start]
                .iter()
                .filter(|byte| **byte == b'\n')
                .count() as u64;
            self.offset = start;
        }
        self.line
    }
}

/// Parses and checks a whole roster: every row valid, or every problem by line and nothing.
pub(super) fn parse(
    csv_bytes: &[u8],
    organization: &str,
    platform: i32,
) -> Result<Vec<RosterEntry>, FilingError> {
    let mut problems = Problems {
        violations: Violations::new(),
        count: 0,
    };
    if csv_bytes.len() > MAX_CSV_BYTES {
        let mut v = Violations::new();
        v.add(
            "csv",
            "must be at most 3 MiB (split a larger roster by organization)",
        );
        v.finish()?;
    }
    let body = csv_bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(csv_bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(body);
    let layout = match reader.byte_headers() {
        Ok(header) if !header.is_empty() => header_layout(header, &mut problems),
        Ok(_) => {
            problems.add(
                1,
                None,
                "the file is empty: the first line must name the columns",
            );
            None
        }
        Err(error) => {
            problems.add(1, None, format!("is not valid CSV: {error}"));
            None
        }
    };
    let Some(layout) = layout else {
        problems.finish()?;
        return Err(unvalidated("roster header"));
    };
    let mut entries = Vec::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut record = csv::ByteRecord::new();
    let mut lines = Lines {
        text: body,
        offset: 0,
        line: 1,
    };
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                problems.add(line, None, format!("is not valid CSV: {error}"));
                break;
            }
        }
        let line = record
            .position()
            .map_or(line, |position| lines.at(position.byte()));
        if record
            .iter()
            .all(|value| value.iter().all(u8::is_ascii_whitespace))
        {
            continue;
        }
        if entries.len() + problems.count >= MAX_ROWS {
            problems.add(
                line,
                None,
                format!("a roster holds at most {MAX_ROWS} rows"),
            );
            break;
        }
        if record.len() != layout.width {
            problems.add(
                line,
                None,
                format!(
                    "has {} fields; the header names {}",
                    record.len(),
                    layout.width
                ),
            );
            continue;
        }
        let (id_key, name_key, subject_key) =
            (PLATFORM_ACCOUNT_ID.0, DISPLAY_NAME.0, VERIFIED_SUBJECT.0);
        let before = problems.count;
        let platform_account_id = field(
            &record,
            layout.platform_account_id,
            line,
            id_key,
            &mut problems,
        );
        let display_name = field(&record, layout.display_name, line, name_key, &mut problems);
        let verified_subject = match layout.verified_subject {
            Some(index) => field(&record, index, line, subject_key, &mut problems),
            None => Some(String::new()),
        };
        if let Some(id) = &platform_account_id {
            if id.is_empty() {
                problems.add(line, Some(id_key), "is required");
            } else if id.chars().count() > MAX_TEXT
                || id.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                problems.add(
                    line,
                    Some(id_key),
                    "must be at most 100 characters without white space",
                );
            } else if let Some(first) = first_line.get(id) {
                problems.add(line, Some(id_key), format!("repeats line {first}"));
            } else {
                first_line.insert(id.clone(), line);
            }
        }
        if let Some(name) = &display_name {
            check_text(name, line, name_key, true, &mut problems);
        }
        if let Some(subject) = &verified_subject {
            check_text(subject, line, subject_key, false, &mut problems);
        }
        if let (true, Some(platform_account_id), Some(display_name), Some(verified_subject)) = (
            problems.count == before,
            platform_account_id,
            display_name,
            verified_subject,
        ) {
            entries.push(RosterEntry {
                organization: organization.to_owned(),
                platform,
                platform_account_id,
                display_name,
                verified_subject,
                line: i32::try_from(line).unwrap_or(i32::MAX),
                imported: None,
            });
        }
    }
    if entries.is_empty() && problems.count == 0 {
        problems.add(2, None, "the roster holds no rows");
    }
    problems.finish()?;
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use tonic_types::StatusExt;

    use super::*;

    fn problems(csv: impl AsRef<[u8]>) -> Vec<(String, String)> {
        let status = tonic::Status::from(govmedia_kit::error::ApiError::from(
            parse(csv.as_ref(), "unit", 3).expect_err("refused"),
        ));
        status
            .get_error_details()
            .bad_request()
            .expect("BadRequest")
            .field_violations
            .iter()
            .map(|v| (v.field.clone(), v.description.clone()))
            .collect()
    }

    #[test]
    fn a_good_roster_parses_with_line_numbers_in_either_language() {
        let csv = "\u{feff}平台账号ID,账号名称,认证主体,粉丝数\n1001,格尔木发布,格尔木市人民政府办公室,12000\n\n\"1002\",\"格尔木教育, 官方\",,\n";
        let entries = parse(csv.as_bytes(), "golmud", 3).expect("valid");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].platform_account_id, "1001");
        assert_eq!(entries[0].verified_subject, "格尔木市人民政府办公室");
        assert_eq!(entries[0].line, 2);
        assert_eq!(entries[1].display_name, "格尔木教育, 官方");
        assert_eq!(entries[1].line, 4);
        let english = "display_name,platform_account_id\n格尔木发布,1001\n";
        assert_eq!(
            parse(english.as_bytes(), "golmud", 3).expect("valid").len(),
            1
        );
    }

    #[test]
    fn every_bad_row_is_named_by_line() {
        let csv = "platform_account_id,display_name,verified_subject\n\
                   1001,格尔木发布,\n\
                   ,无ID,\n\
                   1001,重复,\n\
                   has space,名称,\n\
                   1004,\n\
                   1005,,\n";
        assert_eq!(
            problems(csv),
            [
                (
                    "csv[3].platform_account_id".to_owned(),
                    "is required".to_owned()
                ),
                (
                    "csv[4].platform_account_id".to_owned(),
                    "repeats line 2".to_owned()
                ),
                (
                    "csv[5].platform_account_id".to_owned(),
                    "must be at most 100 characters without white space".to_owned()
                ),
                (
                    "csv[6]".to_owned(),
                    "has 2 fields; the header names 3".to_owned()
                ),
                ("csv[7].display_name".to_owned(), "is required".to_owned()),
            ]
        );
    }

    #[test]
    fn a_file_without_the_columns_or_rows_is_refused() {
        assert_eq!(
            problems("id,name\n1,a\n"),
            [
                (
                    "csv[1]".to_owned(),
                    "the header names no platform_account_id (平台账号ID) column".to_owned()
                ),
                (
                    "csv[1]".to_owned(),
                    "the header names no display_name (账号名称) column".to_owned()
                ),
            ]
        );
        assert_eq!(
            problems("platform_account_id,display_name\n"),
            [("csv[2]".to_owned(), "the roster holds no rows".to_owned())]
        );
        assert_eq!(
            problems(b"platform_account_id,display_name\n1001,\xff\xfe\n"),
            [(
                "csv[2].display_name".to_owned(),
                "is not UTF-8 text".to_owned()
            )]
        );
    }
}
