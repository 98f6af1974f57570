//! Tables for people: the one way a service writes a report as a workbook. One sheet (or one
//! per section of a report), a frozen header row with each column named in Chinese and English, every value written as text (ids
//! with leading zeros and long digit strings must not turn into numbers); and the matching
//! media types.

pub use rust_xlsxwriter::XlsxError;
use rust_xlsxwriter::{Format, Workbook};

/// Media type of an XLSX workbook.
pub const XLSX_MEDIA_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// Media type of a JSON Lines file.
pub const JSONL_MEDIA_TYPE: &str = "application/jsonl";
/// Media type of a JSON document.
pub const JSON_MEDIA_TYPE: &str = "application/json";

/// A column of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// Its key in JSON.
    pub key: &'static str,
    /// Chinese header.
    pub zh: &'static str,
    /// English header.
    pub en: &'static str,
}

/// A workbook with one sheet called `sheet`: the header row ("中文\nEnglish" in each cell,
/// frozen) and one row per element of `rows`, each as many values as there are `columns`.
pub fn xlsx<R: AsRef<[String]>>(
    sheet: &str,
    columns: &[Column],
    rows: impl IntoIterator<Item = R>,
) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    add_sheet(&mut workbook, sheet, columns, rows)?;
    workbook.save_to_buffer()
}

/// One sheet of a workbook of several ([`xlsx_sheets`]).
#[derive(Clone, Debug)]
pub struct Sheet<'a> {
    /// Its name (at most 31 characters, as Excel allows).
    pub name: &'a str,
    /// Its columns.
    pub columns: &'a [Column],
    /// Its rows, each as many values as there are columns.
    pub rows: Vec<Vec<String>>,
}

/// A workbook of `sheets`, each laid out as [`xlsx`] lays out its one: for a report with
/// sections (a bulletin), one sheet per section.
pub fn xlsx_sheets(sheets: &[Sheet<'_>]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    for sheet in sheets {
        add_sheet(&mut workbook, sheet.name, sheet.columns, &sheet.rows)?;
    }
    workbook.save_to_buffer()
}

fn add_sheet<R: AsRef<[String]>>(
    workbook: &mut Workbook,
    sheet: &str,
    columns: &[Column],
    rows: impl IntoIterator<Item = R>,
) -> Result<(), XlsxError> {
    let worksheet = workbook.add_worksheet();
    worksheet.set_name(sheet)?;
    let header = Format::new().set_bold().set_text_wrap();
    let text = Format::new().set_num_format("@");
    for (col, column) in (0u16..).zip(columns) {
        worksheet.write_string_with_format(
            0,
            col,
            format!("{}\n{}", column.zh, column.en),
            &header,
        )?;
        worksheet.set_column_width(col, 22)?;
    }
    worksheet.set_row_height(0, 32)?;
    worksheet.set_freeze_panes(1, 0)?;
    for (row, values) in (1u32..).zip(rows) {
        for (col, value) in (0u16..).zip(values.as_ref()) {
            worksheet.write_string_with_format(row, col, value, &text)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_is_a_workbook_even_when_empty() {
        let columns = [Column {
            key: "id",
            zh: "编号",
            en: "Id",
        }];
        let empty: [Vec<String>; 0] = [];
        assert_eq!(
            &xlsx("表 Sheet", &columns, empty).expect("workbook")[..2],
            b"PK"
        );
        let rows = [vec!["007".to_owned()]];
        assert_eq!(
            &xlsx("表 Sheet", &columns, &rows).expect("workbook")[..2],
            b"PK"
        );
    }
}
