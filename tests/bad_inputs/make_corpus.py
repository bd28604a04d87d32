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


if __name__ == "__main__":
    main()
