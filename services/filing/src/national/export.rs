//! Files an operator uploads to the national reporting system by hand: JSON Lines for tools,
//! an XLSX workbook for people. Both hold the same columns as the HTTP adapter sends.

use govmedia_kit::table;
use rust_xlsxwriter::XlsxError;

use super::{COLUMNS, Record};

pub use govmedia_kit::table::{JSONL_MEDIA_TYPE, XLSX_MEDIA_TYPE};

/// Name of the sheet in the workbook.
const SHEET: &str = "报送记录 Reports";

/// One JSON object per line, keys in English, UTF-8, each line ending in `\n`.
pub fn jsonl(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    for record in records {
        out.extend_from_slice(record.to_json().to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

/// The kit's workbook of the records: a frozen bilingual header row and one row per record,
/// every value as text.
pub fn xlsx(records: &[Record]) -> Result<Vec<u8>, XlsxError> {
    table::xlsx(SHEET, &COLUMNS, records.iter().map(|record| &record.values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::national::WIDTH;

    fn record(id: &str) -> Record {
        let mut values: [String; WIDTH] = std::array::from_fn(|_| String::new());
        values[0] = id.to_owned();
        values[12] = "格尔木住建".to_owned();
        Record { values }
    }

    #[test]
    fn jsonl_is_one_object_per_line() {
        let out = jsonl(&[record("r-1"), record("r-2")]);
        let text = String::from_utf8(out).expect("UTF-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let first: serde_json::Value = serde_json::from_str(lines[0]).expect("JSON");
        assert_eq!(first["report"], "r-1");
        assert_eq!(first["display_name"], "格尔木住建");
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn an_empty_export_is_an_empty_file_or_a_header_only_workbook() {
        assert!(jsonl(&[]).is_empty());
        let workbook = xlsx(&[]).expect("workbook");
        // A zip archive.
        assert_eq!(&workbook[..2], b"PK");
    }
}
