"""Reading roster and case files: the same data gives the same table in every format."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from assigncli import contract
from assigncli.errors import InputError, IssueLog
from assigncli.read import read_table
from assigncli.validate import validate_cases, validate_roster

ROSTER = pl.DataFrame(
    {
        "officer_id": ["007", "O2", "O3"],
        "office": [["NYC", "NJ"], ["NYC"], ["BOS"]],
        "capacity_hours": [40.0, 37.5, 20.0],
        "skills": [["lang:es", "gps_monitoring"], [], ["national_security"]],
        "unavailable_days": [0.0, 7.0, 28.0],
        "max_cases": [None, 200, 0],
        "active": [True, True, False],
        "supervisor": [True, False, False],  # extra columns: kept, with their inferred types
        "grade": [3, 2, 1],
        "tenure_years": [1.5, 10.0, 3.25],
    },
    schema_overrides={"max_cases": pl.Int64},
)

CASES = pl.DataFrame(
    {
        "case_id": ["C1", "C2", "C3"],
        "office": ["NYC", "NJ", "NYC"],
        "current_officer_id": ["007", None, "O2"],
        "locked": [True, False, False],
        "required_skills": [[], ["lang:es"], ["national_security", "lang:es"]],
        "effort_hours": [None, 2.5, 0.0],
        "criminal_conviction": [True, False, True],
        "checkins_per_cycle": [4, 0, 2],
        "risk_score": [0.5, 1.25, 3.0],
        "docket": ["detained", "non_detained", "non_detained"],
    }
)


def _as_text_lists(frame: pl.DataFrame) -> pl.DataFrame:
    """The CSV/Excel spelling of list columns: ';'-joined strings."""
    lists = [n for n, d in frame.schema.items() if isinstance(d, pl.List)]
    return frame.with_columns(pl.col(lists).list.join(contract.LIST_SEPARATOR))


def _write(frame: pl.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        frame.write_parquet(path)
    elif path.suffix == ".csv":
        _as_text_lists(frame).write_csv(path)
    else:
        _as_text_lists(frame).write_excel(path)
    return path


def _roster(path: Path) -> pl.DataFrame:
    log = IssueLog()
    roster = validate_roster(read_table(path, "roster"), str(path), 28.0, log)
    assert roster is not None, log.problems
    return roster


def _cases(path: Path) -> pl.DataFrame:
    log = IssueLog()
    cases = validate_cases(read_table(path, "cases"), str(path), log)
    assert cases is not None, log.problems
    return cases


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_roster_is_the_same_in_every_format(tmp_path: Path, suffix: str) -> None:
    """A roster written as CSV, Excel or Parquet reads back to the same normalized table."""
    roster = _roster(_write(ROSTER, tmp_path / f"roster{suffix}"))
    assert_frame_equal(roster, ROSTER)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_cases_are_the_same_in_every_format(tmp_path: Path, suffix: str) -> None:
    """A case list written as CSV, Excel or Parquet reads back to the same normalized table."""
    cases = _cases(_write(CASES, tmp_path / f"cases{suffix}"))
    assert_frame_equal(cases, CASES)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_contract_columns_are_read_as_text(tmp_path: Path, suffix: str) -> None:
    """In CSV/Excel the contract columns come back as strings, so '007' keeps its zeros."""
    raw = read_table(_write(ROSTER, tmp_path / f"roster{suffix}"), "roster")
    for name in {**contract.ROSTER_REQUIRED, **contract.ROSTER_OPTIONAL}:
        assert raw.schema[name] == pl.String, name
    assert raw["officer_id"][0] == "007"


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_extra_columns_keep_inferred_types(tmp_path: Path, suffix: str) -> None:
    """Non-contract columns are typed by inference: Boolean, Int64 and Float64 stay so."""
    raw = read_table(_write(CASES, tmp_path / f"cases{suffix}"), "cases")
    assert raw.schema["criminal_conviction"] == pl.Boolean
    assert raw.schema["checkins_per_cycle"] == pl.Int64
    assert raw.schema["risk_score"] == pl.Float64
    assert raw.schema["docket"] == pl.String


def test_csv_booleans_are_inferred_in_any_case(tmp_path: Path) -> None:
    """True/FALSE spelled in any case still make a Boolean extra column."""
    path = tmp_path / "cases.csv"
    path.write_text("case_id,office,flag\nC1,NYC,True\nC2,NYC,FALSE\nC3,NYC,true\n")
    assert read_table(path, "cases")["flag"].to_list() == [True, False, True]


def test_csv_type_inference_survives_a_late_surprise(tmp_path: Path) -> None:
    """A float after 10 000 integers widens the column instead of failing the read."""
    path = tmp_path / "cases.csv"
    rows = "".join(f"C{i},NYC,{i}\n" for i in range(12_000))
    path.write_text("case_id,office,score\n" + rows + "C_last,NYC,1.5\n")
    raw = read_table(path, "cases")
    assert raw.schema["score"] == pl.Float64
    assert raw["score"][-1] == 1.5


def test_csv_late_text_in_numeric_column_becomes_text(tmp_path: Path) -> None:
    """Text after 10 000 numbers turns the extra column into strings, losing nothing."""
    path = tmp_path / "cases.csv"
    rows = "".join(f"C{i},NYC,{i}\n" for i in range(12_000))
    path.write_text("case_id,office,score\n" + rows + "C_last,NYC,high\n")
    raw = read_table(path, "cases")
    assert raw.schema["score"] == pl.String
    assert raw["score"][-1] == "high"


def test_csv_bom_is_stripped(tmp_path: Path) -> None:
    """A UTF-8 byte-order mark (Excel's 'CSV UTF-8') does not rename the first column."""
    path = tmp_path / "roster.csv"
    path.write_bytes("\ufeffofficer_id,office,capacity_hours\n001,NYC,40\n".encode())
    raw = read_table(path, "roster")
    assert raw.columns[0] == "officer_id"
    assert raw["officer_id"].to_list() == ["001"]


def test_extension_is_case_insensitive(tmp_path: Path) -> None:
    """'ROSTER.CSV' and 'roster.Parquet' are read like their lower-case names."""
    csv = _write(ROSTER, tmp_path / "roster.csv").rename(tmp_path / "ROSTER.CSV")
    parquet = _write(ROSTER, tmp_path / "roster.parquet").rename(tmp_path / "roster.Parquet")
    assert_frame_equal(_roster(csv), _roster(parquet))


def test_parquet_keeps_native_types(tmp_path: Path) -> None:
    """Parquet columns are not re-typed on reading: lists stay lists, numbers stay numbers."""
    raw = read_table(_write(ROSTER, tmp_path / "roster.parquet"), "roster")
    assert raw.schema == ROSTER.schema


def test_excel_reads_the_first_sheet(tmp_path: Path) -> None:
    """Only the first sheet of a workbook is the table."""
    import xlsxwriter

    path = tmp_path / "cases.xlsx"
    workbook = xlsxwriter.Workbook(path)
    first, second = workbook.add_worksheet("cases"), workbook.add_worksheet("notes")
    first.write_row(0, 0, ["case_id", "office"])
    first.write_row(1, 0, ["C1", "NYC"])
    second.write_row(0, 0, ["something", "else"])
    workbook.close()
    assert read_table(path, "cases").columns == ["case_id", "office"]


def test_excel_numbers_in_contract_columns_are_text(tmp_path: Path) -> None:
    """Numeric Excel cells in contract columns read as their plain text: 1001, not 1001.0."""
    import xlsxwriter

    path = tmp_path / "roster.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["officer_id", "office", "capacity_hours", "max_cases", "active"])
    sheet.write_row(1, 0, [1001, "NYC", 40, 5, True])
    workbook.close()
    roster = _roster(path)
    columns = ["officer_id", "capacity_hours", "max_cases", "active"]
    assert roster.select(columns).row(0) == ("1001", 40.0, 5, True)


def test_read_errors_are_input_errors(tmp_path: Path) -> None:
    """A failing reader surfaces as InputError with one Problem naming the file."""
    path = tmp_path / "roster.parquet"
    path.write_bytes(b"PAR1 definitely not parquet")
    with pytest.raises(InputError) as caught:
        read_table(path, "roster")
    (problem,) = caught.value.problems
    assert (problem.code, problem.file, problem.severity) == ("unreadable", str(path), "error")


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64])
def test_first_invalid_utf8_byte_is_found_across_read_chunks(
    tmp_path: Path, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Line and offset of a Latin-1 byte are exact whatever the read size; a multi-byte UTF-8
    character split between two reads is not mistaken for an error."""
    import assigncli.read as read_module

    monkeypatch.setattr(read_module, "_CHUNK_BYTES", chunk)
    path = tmp_path / "cases.csv"
    path.write_bytes("case_id,office\nC1,Zürich\nC2,Genève\n".encode() + b"C3,K\xf6ln\n")
    with pytest.raises(InputError) as caught:
        read_table(path, "cases")
    [problem] = caught.value.problems
    offset = len("case_id,office\nC1,Zürich\nC2,Genève\nC3,K".encode())
    assert f"at line 4 (byte offset {offset})" in problem.message
    assert problem.rows == (3,)
