"""Regenerate the binary files of the bad-input corpus (Parquet and Excel).

The CSV files are written by hand and committed as they are; run this from anywhere with
`.venv/bin/python tests/bad_inputs/make_corpus.py` after changing the cases below.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

HERE = Path(__file__).parent


def main() -> None:
    # A Parquet writer that kept numbers as text: per-row type errors must still be reported.
    pl.DataFrame(
        {
            "officer_id": ["O1", "O2", "O3"],
            "office": [["NYC"], ["NYC"], ["NJ"]],
            "capacity_hours": ["40", "forty", "37.5"],
        }
    ).write_parquet(HERE / "roster_capacity_text.parquet")

    # A nested type that can never be a list of offices: one column-level error.
    pl.DataFrame(
        {
            "officer_id": ["O1"],
            "office": [{"name": "NYC", "floor": 3}],
            "capacity_hours": [40.0],
        }
    ).write_parquet(HERE / "roster_office_struct.parquet")

    pl.DataFrame(
        {
            "case_id": ["C1", "C2", "C3"],
            "office": ["NYC", "NYC", "NJ"],
            "effort_hours": ["1.5", "", "lots"],
        }
    ).write_parquet(HERE / "cases_effort_text.parquet")

    # Excel: several problems in one sheet, all reported in one pass.
    pl.DataFrame(
        {
            "officer_id": ["O1", "O2", "O3"],
            "office": ["NYC", "NYC;NJ", "NJ"],
            "capacity_hours": ["40", "abc", "30"],
            "active": ["true", "yes", "maybe"],
        }
    ).write_excel(HERE / "roster_bad_types.xlsx")

    pl.DataFrame(schema={"case_id": pl.String, "office": pl.String}).write_parquet(
        HERE / "empty_rows.parquet"
    )
    good = HERE / "empty_rows.parquet"
    (HERE / "corrupt.parquet").write_bytes(good.read_bytes()[:-12])  # footer cut off
    (HERE / "corrupt.xlsx").write_bytes(b"this is not a zip archive\n")

    import xlsxwriter

    workbook = xlsxwriter.Workbook(HERE / "blank_sheet.xlsx")
    workbook.add_worksheet()
    workbook.close()

    # A workbook whose first sheet is a cover page; the roster is on the second sheet.
    workbook = xlsxwriter.Workbook(HERE / "roster_cover_sheet.xlsx")
    cover = workbook.add_worksheet("Cover")
    cover.write_string(0, 0, "Field office roster, cycle 2026-12")
    cover.write_string(1, 0, "Prepared by the scheduling unit")
    data = workbook.add_worksheet("Roster")
    for row, values in enumerate(
        [("officer_id", "office", "capacity_hours"), ("O1", "NYC", "40"), ("O2", "NJ", "37.5")]
    ):
        for col, value in enumerate(values):
            data.write_string(row, col, value)
    workbook.close()

    # Files that are not what their .csv extension says.
    (HERE / "cases_workbook_named_csv.csv").write_bytes(
        (HERE / "roster_bad_types.xlsx").read_bytes()
    )
    (HERE / "cases_parquet_named_csv.csv").write_bytes(
        (HERE / "cases_effort_text.parquet").read_bytes()
    )
    (HERE / "cases_utf16.csv").write_bytes("case_id,office\nC1,NYC\n".encode("utf-16"))
    (HERE / "cases_binary.csv").write_bytes(b"case_id,office\nC1,NYC\n\x00\x01\x02\xff" * 4)
    # Latin-1 deep in the file: the message names the line and the byte.
    (HERE / "cases_latin1_late.csv").write_bytes(
        b"case_id,office\n" + b"".join(b"C%d,NYC\n" % i for i in range(1, 40)) + b"C40,K\xf6ln\n"
    )


if __name__ == "__main__":
    main()
