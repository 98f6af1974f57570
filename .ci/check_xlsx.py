#!/usr/bin/env python3
"""Opens the workbook the README walkthrough exported with a real spreadsheet library (openpyxl)
and checks what an operator will see: one sheet, a header row in Chinese and English, and the
exported records as text.

Usage: check_xlsx.py PATH EXPECTED_ROWS
"""

import sys

import openpyxl


def main():
    path, expected_rows = sys.argv[1], int(sys.argv[2])
    workbook = openpyxl.load_workbook(path)
    if len(workbook.worksheets) != 1:
        sys.exit(f"{path}: expected one sheet, found {workbook.sheetnames}")
    sheet = workbook.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header, records = rows[0], rows[1:]
    problems = []
    for cell in header:
        chinese, _, english = (cell or "").partition("\n")
        if not chinese or not any("\u4e00" <= c <= "\u9fff" for c in chinese):
            problems.append(f"header {cell!r} has no Chinese line")
        if not english or not english.isascii():
            problems.append(f"header {cell!r} has no English line")
    if len(records) != expected_rows:
        problems.append(f"expected {expected_rows} records, found {len(records)}")
    for record in records:
        if any(value is not None and not isinstance(value, str) for value in record):
            problems.append(f"record {record!r} holds a value that is not text")
    if sheet.freeze_panes != "A2":
        problems.append(f"the header row is not frozen ({sheet.freeze_panes})")
    if problems:
        sys.exit(f"{path}:\n  " + "\n  ".join(problems))
    print(f"{path}: {sheet.title!r}, {len(header)} bilingual columns, {len(records)} records")
    print("  " + " | ".join(cell.replace("\n", " / ") for cell in header[:6]) + " | ...")


if __name__ == "__main__":
    main()
