//! Files an operator uploads to the national reporting system by hand: JSON Lines for tools,
//! an XLSX workbook for people. Both hold the same columns as the HTTP adapter sends.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::{COLUMNS, Record};

/// Media type of a JSON Lines file.
pub const JSONL_MEDIA_TYPE: &str = "application/jsonl";
/// Media type of an XLSX workbook.
pub const XLSX_MEDIA_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

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

/// A workbook with one sheet: a frozen header row ("中文 / English" in each cell) and one row
/// per record, every value as text (ids with leading zeros and long digit strings must not turn
/// into numbers).
pub fn xlsx(records: &[Record]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(SHEET)?;
    let header = Format::new().set_bold().set_text_wrap();
    let text = Format::new().set_num_format("@");
    for (col, column) in (0u16..).zip(COLUMNS.iter()) {
        sheet.write_string_with_format(0, col, format!("{}\n{}", column.zh, column.en), &header)?;
        sheet.set_column_width(col, 22)?;
    }
    sheet.set_row_height(0, 32)?;
    sheet.set_freeze_panes(1, 0)?;
    for (row, record) in (1u32..).zip(records) {
        for (col, value) in (0u16..).zip(record.values.iter()) {
            sheet.write_string_with_format(row, col, value, &text)?;
        }
    }
    workbook.save_to_buffer()
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
