"""Every file in tests/bad_inputs breaks one rule of the data contract and is reported precisely.

Roster files (`roster*`) are validated against the good case file and every other file against
the good roster, so that each file's problems are its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from assigncli.config import Config
from assigncli.errors import InputError, InputIssue
from assigncli.validate import check_inputs, load_inputs

CORPUS = Path(__file__).parent / "bad_inputs"
GOOD_ROSTER = CORPUS / "good_roster.csv"
GOOD_CASES = CORPUS / "good_cases.csv"


class Expect(NamedTuple):
    code: str
    column: str | None
    rows: tuple[int, ...] = ()
    severity: str = "error"


def warn(code: str, column: str | None, rows: tuple[int, ...] = ()) -> Expect:
    return Expect(code, column, rows, "warning")


EXPECTED: dict[str, list[Expect]] = {
    # roster: one file per rule
    "roster_missing_capacity_column.csv": [Expect("missing_column", "capacity_hours")],
    "roster_officer_id_empty.csv": [Expect("missing_value", "officer_id", (2,))],
    "roster_duplicate_officer_id.csv": [Expect("duplicate_id", "officer_id", (1, 3))],
    "roster_office_empty.csv": [Expect("missing_value", "office", (2,))],
    "roster_office_no_elements.csv": [Expect("empty_list", "office", (2,))],
    "roster_capacity_not_number.csv": [Expect("wrong_type", "capacity_hours", (2, 3))],
    "roster_capacity_empty.csv": [Expect("missing_value", "capacity_hours", (2,))],
    "roster_capacity_not_positive.csv": [Expect("out_of_range", "capacity_hours", (1, 3))],
    "roster_capacity_not_finite.csv": [Expect("not_finite", "capacity_hours", (1, 2))],
    "roster_capacity_tiny.csv": [Expect("out_of_range", "capacity_hours", (2, 3))],
    "roster_capacity_huge.csv": [Expect("out_of_range", "capacity_hours", (1, 3))],
    "roster_available_tiny.csv": [Expect("out_of_range", "unavailable_days", (1,))],
    "roster_unavailable_out_of_range.csv": [Expect("out_of_range", "unavailable_days", (1, 3))],
    "roster_unavailable_not_number.csv": [Expect("wrong_type", "unavailable_days", (1,))],
    "roster_unavailable_not_finite.csv": [Expect("not_finite", "unavailable_days", (2,))],
    "roster_max_cases_fraction.csv": [Expect("wrong_type", "max_cases", (2,))],
    "roster_max_cases_negative.csv": [Expect("out_of_range", "max_cases", (2,))],
    "roster_active_not_boolean.csv": [Expect("wrong_type", "active", (2,))],
    "roster_duplicate_column.csv": [Expect("duplicate_column", "office")],
    "roster_semicolon_separated.csv": [
        Expect("missing_column", "officer_id"),
        Expect("missing_column", "office"),
        Expect("missing_column", "capacity_hours"),
    ],
    "roster_header_case.csv": [Expect("missing_column", "officer_id")],
    "roster_reserved_column.csv": [Expect("reserved_column", "__assigncli_row")],
    "roster_capacity_text.parquet": [Expect("wrong_type", "capacity_hours", (2,))],
    "roster_office_struct.parquet": [Expect("wrong_type", "office")],
    "roster_bad_types.xlsx": [
        Expect("wrong_type", "capacity_hours", (2,)),
        Expect("wrong_type", "active", (3,)),
    ],
    "roster.txt": [Expect("unknown_extension", None)],
    # cases: one file per rule
    "cases_missing_office_column.csv": [Expect("missing_column", "office")],
    "cases_missing_case_id_column.csv": [Expect("missing_column", "case_id")],
    "cases_case_id_empty.csv": [Expect("missing_value", "case_id", (2,))],
    "cases_duplicate_case_id.csv": [Expect("duplicate_id", "case_id", (1, 2, 3, 4))],
    "cases_office_empty.csv": [Expect("missing_value", "office", (2,))],
    "cases_office_multiple.csv": [Expect("multiple_offices", "office", (1,))],
    "cases_locked_not_boolean.csv": [Expect("wrong_type", "locked", (2,))],
    "cases_locked_without_officer.csv": [Expect("locked_without_officer", "locked", (2,))],
    "cases_locked_without_officer_column.csv": [Expect("locked_without_officer", "locked", (2,))],
    "cases_effort_negative.csv": [Expect("out_of_range", "effort_hours", (2,))],
    "cases_effort_not_finite.csv": [Expect("not_finite", "effort_hours", (1, 2))],
    "cases_effort_huge.csv": [Expect("out_of_range", "effort_hours", (1, 4))],
    "cases_effort_not_number.csv": [Expect("wrong_type", "effort_hours", (1,))],
    "cases_effort_text.parquet": [Expect("wrong_type", "effort_hours", (3,))],
    # format-level failures
    "empty.csv": [Expect("empty", None)],
    "header_only.csv": [Expect("empty", None)],
    "empty_rows.parquet": [Expect("empty", None)],
    "blank_sheet.xlsx": [Expect("empty", None)],
    "corrupt.parquet": [Expect("unreadable", None)],
    "corrupt.xlsx": [Expect("wrong_format", None)],
    "ragged.csv": [Expect("unreadable", None)],
    "latin1.csv": [Expect("encoding", None, (1,))],
    "cases_latin1_late.csv": [Expect("encoding", None, (40,))],
    "cases_binary.csv": [Expect("binary", None)],
    "cases_utf16.csv": [Expect("wrong_format", None)],
    "cases_workbook_named_csv.csv": [Expect("wrong_format", None)],
    "cases_parquet_named_csv.csv": [Expect("wrong_format", None)],
    "roster_cover_sheet.xlsx": [
        Expect("missing_column", "officer_id"),
        Expect("missing_column", "office"),
        Expect("missing_column", "capacity_hours"),
    ],
    # what supervisors meet every cycle: warnings, the run goes on
    "cases_warn_unknown_officer.csv": [warn("unknown_officer", "current_officer_id", (2, 3))],
    "cases_warn_lock_officer_missing.csv": [
        warn("lock_not_honoured", "locked", (1,)),
        warn("unknown_officer", "current_officer_id", (1,)),
    ],
    "cases_warn_lock_officer_inactive.csv": [warn("lock_not_honoured", "locked", (2,))],
    "cases_warn_uncovered_office.csv": [
        warn("uncovered_office", "office", (2, 4)),
        warn("uncovered_office", "office", (3,)),
    ],
    "cases_warn_lock_outside_office.csv": [warn("lock_outside_office", "locked", (1,))],
    "cases_warn_header_case.csv": [warn("column_name", "Locked")],
}


def _pair(path: Path) -> tuple[Path, Path]:
    return (path, GOOD_CASES) if path.name.startswith("roster") else (GOOD_ROSTER, path)


def _matches(problem: InputIssue, file: Path, expect: Expect) -> bool:
    return (
        problem.file == str(file)
        and problem.code == expect.code
        and problem.column == expect.column
        and problem.rows == expect.rows
        and problem.severity == expect.severity
        and bool(problem.message)
    )


def test_corpus_is_fully_described() -> None:
    """Every corpus file has expectations, and every expectation has a file."""
    files = {
        p.name
        for p in CORPUS.iterdir()
        if p.is_file() and p.suffix != ".py" and "good" not in p.name
    }
    assert files == set(EXPECTED)


def test_good_pair_loads_without_any_problem() -> None:
    """The good roster and case files validate with no error and no warning."""
    inputs = load_inputs(GOOD_ROSTER, GOOD_CASES, Config())
    assert inputs.problems == ()
    assert inputs.roster.height == 4
    assert inputs.cases.height == 5


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_is_reported_precisely(name: str) -> None:
    """Each corpus file yields its expected problems, naming file, column and rows."""
    path = CORPUS / name
    roster, cases = _pair(path)
    expected = EXPECTED[name]
    if all(e.severity == "warning" for e in expected):
        problems = list(load_inputs(roster, cases, Config()).problems)
    else:
        with pytest.raises(InputError) as caught:
            load_inputs(roster, cases, Config())
        problems = caught.value.problems
    for expect in expected:
        assert any(_matches(p, path, expect) for p in problems), (expect, problems)
    # The good partner file contributes nothing: every problem belongs to the bad file.
    assert {p.file for p in problems} == {str(path)}


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("latin1.csv", "byte 0xf6 at line 2 (byte offset 19) would be 'ö'"),
        ("cases_latin1_late.csv", "byte 0xf6 at line 41 (byte offset 323) would be 'ö'"),
        ("cases_binary.csv", "binary data (a NUL byte at byte 22)"),
        ("cases_utf16.csv", "UTF-16 text (little-endian), not CSV: save it as UTF-8"),
        ("cases_workbook_named_csv.csv", "a ZIP archive (an Excel .xlsx workbook is one)"),
        ("cases_parquet_named_csv.csv", "a Parquet file, not CSV: rename it to .parquet"),
        ("corrupt.xlsx", "is text, not XLSX: if it is CSV, rename it to .csv"),
    ],
)
def test_a_file_that_is_not_what_its_extension_says_is_named(name: str, says: str) -> None:
    """Wrong encodings and binary files say what the file is and where reading went wrong."""
    roster, cases = _pair(CORPUS / name)
    with pytest.raises(InputError) as caught:
        load_inputs(roster, cases, Config())
    [problem] = caught.value.problems
    assert says in problem.message, problem.message


def test_excel_names_the_sheet_read_and_the_others() -> None:
    """A cover page as first sheet: the messages name it and the sheet that holds the data."""
    path = CORPUS / "roster_cover_sheet.xlsx"
    with pytest.raises(InputError) as caught:
        load_inputs(path, GOOD_CASES, Config())
    problem = caught.value.problems[0]
    assert problem.sheet == "Cover"
    assert problem.render().startswith(f"{path}, sheet 'Cover', column 'officer_id'")
    assert "also has sheet(s) 'Roster': choose one with --sheet" in problem.message


def test_excel_sheet_can_be_chosen() -> None:
    """--sheet Roster reads the second sheet; an unknown name lists the sheets there are."""
    path = CORPUS / "roster_cover_sheet.xlsx"
    inputs = load_inputs(path, GOOD_CASES, Config(), sheet="Roster")
    assert inputs.roster["officer_id"].to_list() == ["O1", "O2"]
    with pytest.raises(InputError) as caught:
        load_inputs(path, GOOD_CASES, Config(), sheet="Staff")
    [problem] = caught.value.problems
    assert (problem.code, problem.message) == (
        "missing_sheet",
        "no sheet 'Staff' in this workbook; it has 'Cover', 'Roster'",
    )


def test_cli_sheet_option_reaches_the_reader(tmp_path: Path) -> None:
    """`assign validate --sheet Roster` validates the roster on the second sheet (exit 0)."""
    from typer.testing import CliRunner

    from assigncli.cli import app

    config = tmp_path / "assign.toml"
    config.write_text(NO_RULES, encoding="utf-8")
    args = ["validate", str(CORPUS / "roster_cover_sheet.xlsx"), str(GOOD_CASES)]
    args += ["--config", str(config)]
    assert CliRunner().invoke(app, args).exit_code == 3
    result = CliRunner().invoke(app, [*args, "--sheet", "Roster"])
    assert result.exit_code == 0, result.output


def test_missing_file_is_reported_with_its_name(tmp_path: Path) -> None:
    """A roster path that does not exist gives missing_file naming that path."""
    missing = tmp_path / "nowhere" / "roster.csv"
    with pytest.raises(InputError) as caught:
        load_inputs(missing, GOOD_CASES, Config())
    assert [(p.code, p.file) for p in caught.value.problems] == [("missing_file", str(missing))]


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    """A directory named like a data file gives not_a_file."""
    folder = tmp_path / "cases.csv"
    folder.mkdir()
    with pytest.raises(InputError) as caught:
        load_inputs(GOOD_ROSTER, folder, Config())
    assert [p.code for p in caught.value.problems] == ["not_a_file"]


def test_both_files_are_reported_together() -> None:
    """An unreadable roster does not hide the errors of the case file, nor the reverse."""
    validation = check_inputs(
        CORPUS / "corrupt.parquet", CORPUS / "cases_office_empty.csv", Config()
    )
    codes = {(Path(p.file).name, p.code) for p in validation.errors}
    assert codes == {("corrupt.parquet", "unreadable"), ("cases_office_empty.csv", "missing_value")}


def test_problems_render_without_traceback_text() -> None:
    """Rendered messages start with the file name and carry no Python exception names."""
    for name in EXPECTED:
        roster, cases = _pair(CORPUS / name)
        for problem in check_inputs(roster, cases, Config()).problems:
            text = problem.render()
            assert text.startswith(str(CORPUS / name))
            assert "Traceback" not in text
            assert "Error:" not in text


NO_RULES = "cycle_days = 28\nhandoff_hours = 1.5\n[effort]\ndefault_hours = 0.5\n"


@pytest.mark.parametrize(
    ("name", "column", "rows", "supported"),
    [
        ("roster_capacity_tiny.csv", "capacity_hours", "rows 2, 3", "[0.01, 10,000]"),
        ("roster_capacity_huge.csv", "capacity_hours", "rows 1, 3", "[0.01, 10,000]"),
        ("roster_capacity_not_finite.csv", "capacity_hours", "rows 1, 2", "[0.01, 10,000]"),
        ("roster_available_tiny.csv", "unavailable_days", "row 1", "less than 0.01 available"),
        ("cases_effort_huge.csv", "effort_hours", "rows 1, 4", "[0, 10,000]"),
        ("cases_effort_not_finite.csv", "effort_hours", "rows 1, 2", "[0, 10,000]"),
    ],
)
def test_numbers_at_the_edges_exit_3_with_the_range(
    name: str, column: str, rows: str, supported: str, tmp_path: Path
) -> None:
    """1e-300, 1e300, 1e308, NaN, inf: `assign plan` exits 3 naming file, column, rows, range."""
    from typer.testing import CliRunner

    from assigncli.cli import app

    config = tmp_path / "assign.toml"
    config.write_text(NO_RULES, encoding="utf-8")
    roster, cases = _pair(CORPUS / name)
    out = tmp_path / "plan.csv"
    result = CliRunner().invoke(
        app,
        ["plan", str(roster), str(cases), "--config", str(config), "--out", str(out)],
        env={"COLUMNS": "400"},
    )
    assert result.exit_code == 3, result.output
    line = next(line for line in result.output.splitlines() if column in line)
    assert str(CORPUS / name) in line and rows in line and supported in line, line
    assert "Traceback" not in result.output
    assert not out.exists()
