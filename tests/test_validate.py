"""Validation: normalized dtypes and defaults, every problem in one pass, errors vs warnings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from assigncli import contract
from assigncli.config import Config
from assigncli.errors import InputError, InputIssue, IssueLog
from assigncli.validate import (
    MAX_OFFICE_WARNINGS,
    check_inputs,
    cross_check,
    load_cases,
    load_inputs,
    validate_cases,
    validate_roster,
)

ROSTER_SCHEMA = {**contract.ROSTER_REQUIRED, **contract.ROSTER_OPTIONAL}
CASES_SCHEMA = {**contract.CASES_REQUIRED, **contract.CASES_OPTIONAL}


def roster_of(
    log: IssueLog | None = None, cycle_days: float = 28.0, /, **columns: Sequence[object]
) -> pl.DataFrame | None:
    """Validate a roster built from columns (text cells, as CSV gives them, unless stated)."""
    return validate_roster(pl.DataFrame(columns), "roster.csv", cycle_days, log or IssueLog())


def cases_of(log: IssueLog | None = None, /, **columns: Sequence[object]) -> pl.DataFrame | None:
    """Validate a case list built from columns."""
    return validate_cases(pl.DataFrame(columns), "cases.csv", log or IssueLog())


def codes(log: IssueLog) -> list[tuple[str, str | None]]:
    return [(p.code, p.column) for p in log.problems]


def only(log: IssueLog, code: str) -> InputIssue:
    (problem,) = [p for p in log.problems if p.code == code]
    return problem


# --- normalization ----------------------------------------------------------------------------


def test_roster_optional_columns_get_defaults_and_exact_dtypes() -> None:
    """A roster with only required columns gains skills [], 0 days away, no cap, active."""
    roster = roster_of(officer_id=["O1"], office=["NYC"], capacity_hours=["40"])
    assert roster is not None
    assert roster.schema == pl.Schema(ROSTER_SCHEMA)
    assert roster.row(0) == ("O1", ["NYC"], 40.0, [], 0.0, None, True)


def test_cases_optional_columns_get_defaults_and_exact_dtypes() -> None:
    """A case list with only required columns gains no officer, unlocked, no skills, no hours."""
    cases = cases_of(case_id=["C1"], office=["NYC"])
    assert cases is not None
    assert cases.schema == pl.Schema(CASES_SCHEMA)
    assert cases.row(0) == ("C1", "NYC", None, False, [], None)


def test_empty_cells_in_optional_columns_take_defaults() -> None:
    """Blank optional cells mean the default, exactly like an absent column."""
    roster = roster_of(
        officer_id=["O1"],
        office=["NYC"],
        capacity_hours=["40"],
        skills=[""],
        unavailable_days=[" "],
        max_cases=[None],
        active=[""],
    )
    assert roster is not None
    assert roster.row(0) == ("O1", ["NYC"], 40.0, [], 0.0, None, True)


def test_strings_are_stripped_and_blank_officer_is_null() -> None:
    """Ids and offices lose surrounding spaces; a blank current officer means a new case."""
    cases = cases_of(
        case_id=["  C1 "], office=[" NYC"], current_officer_id=["   "], required_skills=[" a ; ;b "]
    )
    assert cases is not None
    assert cases.row(0) == ("C1", "NYC", None, False, ["a", "b"], None)


def test_extra_case_columns_are_kept_unchanged() -> None:
    """Columns outside the contract pass through unchanged, after the contract columns."""
    extra = pl.DataFrame({"flag": [True, False], "score": [1, 2], "when": ["x", None]})
    raw = pl.DataFrame({"case_id": ["C1", "C2"], "office": ["A", "B"]}).hstack(extra)
    cases = validate_cases(raw, "cases.csv", IssueLog())
    assert cases is not None
    assert cases.columns == [*CASES_SCHEMA, "flag", "score", "when"]
    assert_frame_equal(cases.select(extra.columns), extra)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        *[("true", True), ("T", True), ("Yes", True), ("y", True), ("1", True)],
        *[("FALSE", False), ("f", False), ("no", False), ("N", False), ("0", False)],
    ],
)
def test_boolean_spellings(text: str, value: bool) -> None:
    """true/false, t/f, yes/no, y/n and 1/0 are accepted in any case."""
    cases = cases_of(case_id=["C1"], office=["A"], current_officer_id=["O1"], locked=[text])
    assert cases is not None
    assert cases["locked"].to_list() == [value]


def test_whole_number_written_as_float_is_a_valid_cap() -> None:
    """max_cases '5.0' (an Excel habit) is the integer 5."""
    roster = roster_of(officer_id=["O1"], office=["A"], capacity_hours=["40"], max_cases=["5.0"])
    assert roster is not None
    assert roster["max_cases"].to_list() == [5]


def test_parquet_native_types_are_normalized() -> None:
    """Integer ids become text, plain-string offices become lists, list elements become text."""
    raw = pl.DataFrame(
        {
            "officer_id": [1001, 1002],
            "office": ["NYC", "NJ; BOS"],
            "capacity_hours": [40, 30],
            "skills": [[1, 2], None],
            "max_cases": [3.0, None],
            "active": [1, 0],
        }
    )
    roster = validate_roster(raw, "roster.parquet", 28.0, IssueLog())
    assert roster is not None
    assert roster.schema == pl.Schema(ROSTER_SCHEMA)
    assert roster.rows() == [
        ("1001", ["NYC"], 40.0, ["1", "2"], 0.0, 3, True),
        ("1002", ["NJ", "BOS"], 30.0, [], 0.0, None, False),
    ]


def test_categorical_columns_are_read_as_text() -> None:
    """Categorical and Enum columns (common in Parquet) count as strings."""
    raw = pl.DataFrame(
        {"case_id": ["C1"], "office": ["NYC"]},
        schema={"case_id": pl.String, "office": pl.Categorical},
    )
    cases = validate_cases(raw, "cases.parquet", IssueLog())
    assert cases is not None
    assert cases["office"].dtype == pl.String


def test_all_null_parquet_column_is_accepted_as_empty() -> None:
    """A Parquet column of type Null (every cell empty) is an absent optional value."""
    raw = pl.DataFrame({"case_id": ["C1"], "office": ["A"], "effort_hours": [None]})
    assert raw.schema["effort_hours"] == pl.Null
    cases = validate_cases(raw, "cases.parquet", IssueLog())
    assert cases is not None
    assert cases.schema == pl.Schema(CASES_SCHEMA)


# --- errors -----------------------------------------------------------------------------------


def test_every_problem_is_found_in_one_pass() -> None:
    """One call reports every broken rule of every column, not just the first."""
    log = IssueLog()
    roster = roster_of(
        log,
        officer_id=["O1", "O2", "O1", ""],
        office=["NYC", "", "A", " ; "],
        capacity_hours=["40", "abc", "-5", "inf"],
        unavailable_days=["0", "30", "-1", "NaN"],
        max_cases=["", "2.5", "-1", "1"],
        active=["true", "maybe", "no", "y"],
    )
    assert roster is None
    assert set(codes(log)) == {
        ("duplicate_id", "officer_id"),
        ("missing_value", "officer_id"),
        ("missing_value", "office"),
        ("empty_list", "office"),
        ("wrong_type", "capacity_hours"),
        ("out_of_range", "capacity_hours"),
        ("not_finite", "capacity_hours"),
        ("out_of_range", "unavailable_days"),
        ("not_finite", "unavailable_days"),
        ("wrong_type", "max_cases"),
        ("out_of_range", "max_cases"),
        ("wrong_type", "active"),
    }
    assert all(p.severity == "error" and p.file == "roster.csv" for p in log.problems)


def test_problems_come_in_contract_column_order() -> None:
    """Problems are listed column by column, in the order of the contract."""
    log = IssueLog()
    cases_of(log, case_id=["C1", "C1"], office=["A;B", "A"], effort_hours=["-1", "x"])
    assert [c for _, c in codes(log)] == ["case_id", "office", "effort_hours", "effort_hours"]


def test_rows_are_one_based_first_five_with_total_count() -> None:
    """A problem names the first five failing rows (1-based) and counts all of them."""
    log = IssueLog()
    hours = ["x" if i % 2 else "1" for i in range(20)]
    cases_of(log, case_id=[f"C{i}" for i in range(20)], office=["A"] * 20, effort_hours=hours)
    problem = only(log, "wrong_type")
    assert problem.rows == (2, 4, 6, 8, 10)
    assert problem.row_count == 10
    assert "'x'" in problem.message


def test_duplicate_message_names_the_values_and_rows() -> None:
    """A duplicate-id problem quotes each repeated id with the rows that hold it."""
    log = IssueLog()
    cases_of(log, case_id=["C1", "C2", "C1", "C3", "C2"], office=["A"] * 5)
    problem = only(log, "duplicate_id")
    assert problem.rows == (1, 2, 3, 5)
    assert "'C1' on rows 1, 3" in problem.message
    assert "'C2' on rows 2, 5" in problem.message


def test_duplicate_check_ignores_nulls() -> None:
    """Two empty ids are two missing values, not a duplicate."""
    log = IssueLog()
    cases_of(log, case_id=["C1", None, ""], office=["A"] * 3)
    assert codes(log) == [("missing_value", "case_id")]
    assert log.problems[0].rows == (2, 3)


def test_unavailable_days_bounds_follow_the_cycle() -> None:
    """unavailable_days may equal cycle_days but not exceed it."""
    log = IssueLog()
    roster_of(
        log,
        14.0,
        officer_id=["O1", "O2"],
        office=["A", "A"],
        capacity_hours=["1", "1"],
        unavailable_days=["14", "15"],
    )
    assert only(log, "out_of_range").rows == (2,)


def test_lock_without_officer_is_an_error() -> None:
    """locked true with no current officer is a data error, locked false is fine."""
    log = IssueLog()
    cases_of(
        log,
        case_id=["C1", "C2", "C3"],
        office=["A"] * 3,
        current_officer_id=["", "O1", None],
        locked=["yes", "yes", "no"],
    )
    assert codes(log) == [("locked_without_officer", "locked")]
    assert log.problems[0].rows == (1,)


def test_effort_hours_zero_is_valid_and_negative_is_not() -> None:
    """An explicit estimate of 0 hours is allowed; -0.5 is out of range."""
    log = IssueLog()
    cases_of(log, case_id=["C1", "C2"], office=["A", "A"], effort_hours=[0.0, -0.5])
    assert codes(log) == [("out_of_range", "effort_hours")]


def test_unusable_native_dtype_is_one_column_problem() -> None:
    """A Boolean capacity column cannot be hours: one column-level wrong_type, no row flood."""
    log = IssueLog()
    roster_of(log, officer_id=["O1", "O2"], office=["A", "A"], capacity_hours=[True, False])
    problem = only(log, "wrong_type")
    assert (problem.column, problem.rows, problem.row_count) == ("capacity_hours", (), 0)
    assert "Boolean" in problem.message


def test_column_name_in_wrong_case_is_pointed_out() -> None:
    """'Locked' is not 'locked': a warning says so instead of silently dropping every lock."""
    log = IssueLog()
    cases = cases_of(log, case_id=["C1"], office=["A"], current_officer_id=["O1"], Locked=["true"])
    assert cases is not None
    assert cases["locked"].to_list() == [False]
    problem = only(log, "column_name")
    assert (problem.severity, problem.column) == ("warning", "Locked")


# --- warnings and cross-checks ----------------------------------------------------------------


def _roster() -> pl.DataFrame:
    roster = roster_of(
        officer_id=["O1", "O2", "O3", "O4", "O5"],
        office=["NYC;NJ", "NYC", "BOS", "CHI", "SEA"],
        capacity_hours=["40"] * 5,
        unavailable_days=["0", "0", "0", "0", "28"],
        max_cases=["", "", "", "0", ""],
        active=["true", "true", "false", "true", "true"],
    )
    assert roster is not None
    return roster


def _cross(**columns: Sequence[object]) -> IssueLog:
    cases = cases_of(**columns)
    assert cases is not None
    log = IssueLog()
    cross_check(_roster(), cases, "roster.csv", "cases.csv", log, cycle_days=28.0)
    return log


def test_cross_check_problems_are_warnings() -> None:
    """Departed officers, broken locks and bare offices warn; they never block a run."""
    log = _cross(
        case_id=["C1", "C2", "C3", "C4"],
        office=["NYC", "NYC", "BOS", "LA"],
        current_officer_id=["O1", "GONE", "O3", None],
        locked=["no", "yes", "yes", "no"],
    )
    assert log.errors == []
    assert {(p.code, p.rows) for p in log.warnings} == {
        ("unknown_officer", (2,)),
        ("lock_not_honoured", (2,)),  # officer not on the roster
        ("lock_not_honoured", (3,)),  # officer inactive
        ("uncovered_office", (3,)),  # BOS: its only officer is inactive
        ("uncovered_office", (4,)),  # LA: nobody holds it
    }


def test_office_covered_only_by_unavailable_officers_is_uncovered() -> None:
    """An office whose officers are capped at 0 cases or away all cycle cannot take cases."""
    log = _cross(case_id=["C1", "C2"], office=["CHI", "SEA"])
    assert [(p.code, p.rows) for p in log.problems] == [
        ("uncovered_office", (1,)),
        ("uncovered_office", (2,)),
    ]
    assert all("inactive, away all cycle or capped" in p.message for p in log.problems)


def test_honoured_lock_in_uncovered_office_is_not_stranded() -> None:
    """A case locked to an active officer stays put, so its office needs no other officer."""
    log = _cross(case_id=["C1"], office=["CHI"], current_officer_id=["O4"], locked=["true"])
    assert codes(log) == []


def test_lock_outside_the_officers_offices_warns() -> None:
    """An honoured lock to an officer without the case's office is kept, with a warning."""
    log = _cross(case_id=["C1"], office=["NJ"], current_officer_id=["O2"], locked=["true"])
    assert [(p.code, p.severity) for p in log.problems] == [("lock_outside_office", "warning")]


def test_inactive_current_officer_without_lock_is_silent() -> None:
    """An unlocked case of an inactive officer simply moves: nothing to report."""
    log = _cross(case_id=["C1"], office=["NYC"], current_officer_id=["O3"])
    assert codes(log) == []


def test_many_uncovered_offices_are_summarized() -> None:
    """Beyond the first offices, uncovered offices are summed up in one warning."""
    n = MAX_OFFICE_WARNINGS + 5
    log = _cross(case_id=[f"C{i}" for i in range(n)], office=[f"X{i}" for i in range(n)])
    assert len(log.problems) == MAX_OFFICE_WARNINGS + 1
    assert log.problems[-1].row_count == 5


# --- entry points -----------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD_ROSTER = "officer_id,office,capacity_hours\nO1,NYC,40\n"


def test_check_inputs_reports_without_raising(tmp_path: Path) -> None:
    """check_inputs lists errors of both files and never raises InputError."""
    roster = _write(tmp_path, "roster.csv", "officer_id,office,capacity_hours\nO1,NYC,x\n")
    cases = _write(tmp_path, "cases.csv", "case_id,office\nC1,\n")
    validation = check_inputs(roster, cases, Config())
    assert not validation.ok
    assert validation.roster is None and validation.cases is None
    assert [(Path(p.file).name, p.code) for p in validation.errors] == [
        ("roster.csv", "wrong_type"),
        ("cases.csv", "missing_value"),
    ]


def test_load_inputs_raises_with_every_problem(tmp_path: Path) -> None:
    """load_inputs raises one InputError carrying errors and warnings of both files."""
    roster = _write(
        tmp_path, "roster.csv", "officer_id,office,capacity_hours,Active\nO1,NYC,0,no\n"
    )
    cases = _write(tmp_path, "cases.csv", "case_id,office\nC1,NYC\nC1,NYC\n")
    with pytest.raises(InputError) as caught:
        load_inputs(roster, cases, Config())
    assert {(p.severity, p.code) for p in caught.value.problems} == {
        ("warning", "column_name"),
        ("error", "out_of_range"),
        ("error", "duplicate_id"),
    }
    assert "2 problems" in caught.value.message


def test_load_inputs_returns_warnings_with_the_tables(tmp_path: Path) -> None:
    """With warnings only, load_inputs returns the normalized tables and the warnings."""
    roster = _write(tmp_path, "roster.csv", GOOD_ROSTER)
    cases = _write(tmp_path, "cases.csv", "case_id,office,current_officer_id\nC1,NYC,O9\n")
    inputs = load_inputs(roster, cases, Config())
    assert [p.code for p in inputs.problems] == ["unknown_officer"]
    assert inputs.roster.schema == pl.Schema(ROSTER_SCHEMA)
    assert inputs.cases.schema == pl.Schema(CASES_SCHEMA)
    assert (inputs.roster_file, inputs.cases_file) == (str(roster), str(cases))


def test_cycle_days_comes_from_the_config(tmp_path: Path) -> None:
    """unavailable_days is checked against the configured cycle length."""
    roster = _write(
        tmp_path, "roster.csv", "officer_id,office,capacity_hours,unavailable_days\nO1,NYC,40,20\n"
    )
    cases = _write(tmp_path, "cases.csv", "case_id,office\nC1,NYC\n")
    assert check_inputs(roster, cases, Config(cycle_days=28.0)).ok
    assert not check_inputs(roster, cases, Config(cycle_days=14.0)).ok


def test_load_cases_alone(tmp_path: Path) -> None:
    """A case file can be validated without a roster (for `assign effort`)."""
    cases, problems = load_cases(_write(tmp_path, "cases.csv", "case_id,office\nC1,NYC\n"))
    assert cases.schema == pl.Schema(CASES_SCHEMA)
    assert problems == ()
    with pytest.raises(InputError):
        load_cases(_write(tmp_path, "bad.csv", "case_id,office\nC1,\n"))


# --- properties -------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(), min_size=1, max_size=5))
def test_capacity_numbers_are_accepted_exactly_inside_the_contract_range(
    values: list[float],
) -> None:
    """A capacity written as any float is rejected exactly on the rows outside [0.01, 10,000]."""
    log = IssueLog()
    n = len(values)
    ids = [f"O{i}" for i in range(n)]
    roster = roster_of(
        log, officer_id=ids, office=["A"] * n, capacity_hours=[str(v) for v in values]
    )
    expected = {
        i + 1
        for i, v in enumerate(values)
        if not (math.isfinite(v) and contract.MIN_CAPACITY_HOURS <= v <= contract.MAX_HOURS)
    }
    assert {r for p in log.errors for r in p.rows} == expected
    assert (roster is None) == bool(expected)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=6)), min_size=1, max_size=8))
def test_any_capacity_text_is_accepted_or_reported(values: list[str | None]) -> None:
    """Whatever the text, the roster validates or at least one row is reported; never a crash."""
    log = IssueLog()
    n = len(values)
    ids = [f"O{i}" for i in range(n)]
    roster = roster_of(log, officer_id=ids, office=["A"] * n, capacity_hours=values)
    reported = sum(p.row_count for p in log.errors)
    assert (roster is None) == (reported > 0)
    assert reported <= n
    if roster is not None:
        assert roster.schema == pl.Schema(ROSTER_SCHEMA)
        assert all(0 < h <= contract.MAX_HOURS for h in roster["capacity_hours"])


def test_blank_office_cell_is_one_problem_not_two() -> None:
    """A blank office is reported as missing, not also as an empty list."""
    log = IssueLog()
    roster_of(log, officer_id=["O1", "O2"], office=["", " ; "], capacity_hours=["1", "1"])
    assert [(p.code, p.rows) for p in log.problems] == [
        ("missing_value", (1,)),
        ("empty_list", (2,)),
    ]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_ids_are_stripped_the_same_way_in_every_format(tmp_path: Path, suffix: str) -> None:
    """Surrounding spaces are not part of an id: ' C1' and 'C1 ' are one id twice (an error,
    never a silent merge), and a lone padded id comes out stripped."""
    frame = pl.DataFrame({"case_id": [" C1", "C1 ", " C2 "], "office": ["N", "N", " N"]})
    path = tmp_path / f"cases{suffix}"
    frame.write_csv(path) if suffix == ".csv" else frame.write_parquet(path)
    with pytest.raises(InputError) as caught:
        load_cases(path)
    [problem] = caught.value.problems
    assert (problem.code, problem.rows) == ("duplicate_id", (1, 2))
    assert "surrounding spaces are ignored" in problem.message
    cases, _ = load_cases(_write(tmp_path, "one.csv", "case_id,office\n C2 , N\n"))
    assert cases.select("case_id", "office").row(0) == ("C2", "N")
