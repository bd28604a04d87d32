"""The independent checker: a correct hand-built plan passes, each kind of broken plan is caught."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assigncli.check import CheckReport, check_plan, officer_summary
from assigncli.config import Config
from assigncli.contract import OFFICER_SUMMARY_COLUMNS, PLAN_COLUMNS
from tests.instances import CASES_SCHEMA, ROSTER_SCHEMA, random_instance
from tests.oracles import assert_valid

CONFIG = Config(cycle_days=28.0, handoff_hours=1.5)


def make_roster(**overrides: dict[str, object]) -> pl.DataFrame:
    """Six officers, one per eligibility situation; `overrides` patches officers by id."""
    rows: list[dict[str, object]] = [
        # A: office N, national security, full availability, no cap.
        {"officer_id": "A", "office": ["N"], "capacity_hours": 40.0, "skills": ["ns"]},
        # B: offices N and S, away half the cycle (10 h available), at most 3 cases.
        {
            "officer_id": "B",
            "office": ["N", "S"],
            "capacity_hours": 20.0,
            "unavailable_days": 14.0,
            "max_cases": 3,
        },
        # C: inactive; their cases must move, even a locked one.
        {
            "officer_id": "C",
            "office": ["S"],
            "capacity_hours": 40.0,
            "skills": ["es"],
            "active": False,
        },
        # D: away the whole cycle: keeps a locked case, receives nothing.
        {"officer_id": "D", "office": ["N"], "capacity_hours": 30.0, "unavailable_days": 28.0},
        # E: capped at zero cases.
        {"officer_id": "E", "office": ["S"], "capacity_hours": 10.0, "max_cases": 0},
        # F: office S, Spanish.
        {"officer_id": "F", "office": ["S"], "capacity_hours": 40.0, "skills": ["es"]},
    ]
    defaults = {"skills": [], "unavailable_days": 0.0, "max_cases": None, "active": True}
    return pl.DataFrame(
        [{**defaults, **row, **overrides.get(str(row["officer_id"]), {})} for row in rows],
        schema=ROSTER_SCHEMA,
    )


def make_cases() -> pl.DataFrame:
    rows = [
        ("c1", "N", "A", False, [], 2.0),  # stays with A
        ("c2", "N", "B", False, ["ns"], 3.0),  # only A has ns in N: moves to A
        ("c3", "S", "C", True, [], 4.0),  # lock on an inactive officer is not honoured: moves
        ("c4", "N", "D", True, [], 2.5),  # honoured lock on D, who has no available hours
        ("c5", "S", None, False, ["fr"], 1.0),  # nobody speaks fr: unassignable
        ("c6", "N", "B", False, [], 1.0),  # stays with B
        ("c7", "X", None, False, [], 0.5),  # office X has no officer: unassignable
    ]
    return pl.DataFrame(rows, schema=CASES_SCHEMA, orient="row")


GOOD = {"c1": "A", "c2": "A", "c3": "F", "c4": "D", "c5": None, "c6": "B", "c7": None}


def make_plan(assignment: dict[str, str | None], cases: pl.DataFrame | None = None) -> pl.DataFrame:
    """A plan whose derived columns are right for `assignment`, so a test breaks one thing."""
    cases = make_cases() if cases is None else cases
    rows = []
    for case in cases.iter_rows(named=True):
        officer = assignment[case["case_id"]]
        previous = case["current_officer_id"]
        honoured = bool(case["locked"]) and previous in {"A", "B", "D", "E", "F"}
        rows.append(
            {
                "case_id": case["case_id"],
                "officer_id": officer,
                "previous_officer_id": previous,
                "moved": previous is not None and officer is not None and officer != previous,
                "effort_hours": case["effort_hours"],
                "locked": honoured,
                "reason": "unassignable: test" if officer is None else "assigned",
            }
        )
    return pl.DataFrame(rows, schema=PLAN_COLUMNS)


def codes(report: CheckReport) -> set[str]:
    return {violation.split(":", 1)[0] for violation in report.violations}


def check(plan: pl.DataFrame, roster: pl.DataFrame | None = None) -> CheckReport:
    return check_plan(make_roster() if roster is None else roster, make_cases(), plan, CONFIG)


def with_case(plan: pl.DataFrame, target: str, **values: object) -> pl.DataFrame:
    """`plan` with some columns of the row of case `target` overwritten."""
    return plan.with_columns(
        pl.when(pl.col("case_id") == target)
        .then(pl.lit(value, dtype=PLAN_COLUMNS[name]))
        .otherwise(pl.col(name))
        .alias(name)
        for name, value in values.items()
    )


# -- the correct plan -------------------------------------------------------------------------


def test_correct_plan_passes() -> None:
    """The hand-built correct plan has no violation."""
    report = check(make_plan(GOOD))
    assert_valid(report)
    assert report.ok and report.violations == ()


def test_loads_are_recomputed_with_handoffs() -> None:
    """load = sum of effort + handoff per moved-in case; utilization = load / available hours."""
    report = check(make_plan(GOOD))
    got = {row["officer_id"]: row for row in report.officers.iter_rows(named=True)}
    # A: c1 (2.0) + c2 moved in (3.0 + 1.5) over 40 h.
    assert got["A"]["load"] == pytest.approx(6.5)
    assert got["A"]["moved_in"] == 1 and got["A"]["cases"] == 2
    assert got["A"]["utilization"] == pytest.approx(6.5 / 40)
    # B: 20 h * (1 - 14/28) = 10 h available; keeps c6 (1.0).
    assert got["B"]["available_hours"] == pytest.approx(10.0)
    assert got["B"]["utilization"] == pytest.approx(0.1)
    # F: c3 moved in from inactive C.
    assert got["F"]["load"] == pytest.approx(5.5) and got["F"]["moved_in"] == 1
    # D keeps its locked case with no available hours: load counted, utilization undefined.
    assert got["D"]["load"] == pytest.approx(2.5) and got["D"]["utilization"] is None
    assert got["C"]["available_hours"] == 0.0 and got["C"]["cases"] == 0
    assert report.officers.columns == [
        "officer_id",
        "available_hours",
        "cases",
        "load",
        "utilization",
        "moved_in",
    ]


def test_summary_figures() -> None:
    """Extremes are over officers with available hours (E idles at 0); moves and counts agree."""
    report = check(make_plan(GOOD))
    assert report.max_utilization == pytest.approx(6.5 / 40)
    assert report.min_utilization == pytest.approx(0.0)
    assert (report.moves, report.assigned, report.unassigned) == (2, 5, 2)


def test_handoff_cost_follows_the_config() -> None:
    """With handoff_hours = 0 a moved case costs only its effort."""
    config = Config(cycle_days=28.0, handoff_hours=0.0)
    report = check_plan(make_roster(), make_cases(), make_plan(GOOD), config)
    load_a = report.officers.filter(pl.col("officer_id") == "A")["load"].item()
    assert load_a == pytest.approx(5.0)


def test_plan_order_does_not_matter() -> None:
    """A shuffled plan (the join path) gives the same verdict and loads as one in case order."""
    plan = make_plan(GOOD)
    shuffled = check(plan.reverse())
    assert_valid(shuffled)
    assert shuffled.officers.equals(check(plan).officers)


def test_no_solver_is_imported() -> None:
    """The checker stays independent of the solvers: importing it loads no OR-Tools."""
    code = "import sys, assigncli.check; print('ortools' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- eligibility ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case_id", "officer", "expected"),
    [
        ("c6", "F", {"office_mismatch"}),  # F does not hold office N
        ("c7", "A", {"office_mismatch"}),  # nobody holds office X (regression: null key)
        ("c2", "B", {"skill_mismatch"}),  # B lacks ns
        ("c3", "C", {"inactive_officer"}),  # C is inactive, so c3's lock is not honoured
        ("c1", "D", {"unavailable_officer"}),  # D has no available hours
        ("c3", "E", {"zero_max_cases", "max_cases_exceeded"}),  # E may hold no case
        ("c1", "Z", {"unknown_officer"}),  # Z is not on the roster
    ],
)
def test_ineligible_officer_is_caught(case_id: str, officer: str, expected: set[str]) -> None:
    """A case given to an officer failing one eligibility rule yields that code, and only it."""
    report = check(make_plan({**GOOD, case_id: officer}))
    assert codes(report) == expected
    assert f"{case_id} → {officer}" in report.violations[0]


def test_honoured_lock_on_ineligible_officer_is_allowed() -> None:
    """c4 stays locked on D although D has no available hours: not a violation."""
    report = check(make_plan(GOOD))
    assert report.ok
    assert report.officers.filter(pl.col("officer_id") == "D")["cases"].item() == 1


def test_broken_lock_is_caught() -> None:
    """Moving an honoured locked case away from its officer is a violation."""
    report = check(make_plan({**GOOD, "c4": "A"}))
    assert codes(report) == {"lock_broken"}


def test_max_cases_exceeded_is_caught() -> None:
    """B capped at 1 may not hold c6 and c1; locked or not, every held case counts."""
    roster = make_roster(B={"max_cases": 1})
    report = check(make_plan({**GOOD, "c1": "B"}), roster)
    assert codes(report) == {"max_cases_exceeded"}
    assert "B holds 2 > 1" in report.violations[0]


def test_locked_cases_may_exceed_the_cap_alone() -> None:
    """An honoured lock is never broken for max_cases: D (cap 0) keeps its locked c4."""
    report = check(make_plan(GOOD), make_roster(D={"max_cases": 0}))
    assert_valid(report)


def test_officer_over_cap_by_locks_receives_nothing_else() -> None:
    """A (cap 1) keeping locked c1 may not also receive c2."""
    cases = make_cases().with_columns(locked=pl.col("locked") | (pl.col("case_id") == "c1"))
    roster = make_roster(A={"max_cases": 1})
    report = check_plan(roster, cases, make_plan(GOOD, cases), CONFIG)
    assert codes(report) == {"max_cases_exceeded"}
    assert "A holds 2 > 1" in report.violations[0]


# -- coverage ---------------------------------------------------------------------------------


def test_duplicate_case_is_caught() -> None:
    """A case listed twice is a violation."""
    plan = make_plan(GOOD)
    report = check(pl.concat([plan, plan.head(1)]))
    assert "duplicate_case" in codes(report)
    assert "c1 (2 times)" in report.violations[0]


def test_missing_case_is_caught() -> None:
    """A case absent from the plan is a violation."""
    report = check(make_plan(GOOD).filter(pl.col("case_id") != "c6"))
    assert codes(report) == {"missing_case"}
    assert "c6" in report.violations[0]


def test_unknown_case_is_caught() -> None:
    """A plan row whose case is not in the case file is a violation."""
    plan = make_plan(GOOD)
    extra = with_case(plan.head(1), "c1", case_id="zz")
    report = check(pl.concat([plan, extra]))
    assert codes(report) == {"unknown_case"}


def test_missing_plan_column_is_caught() -> None:
    """A plan without a contract column is a schema violation, not a crash."""
    report = check(make_plan(GOOD).drop("reason"))
    assert "plan_schema" in codes(report)


# -- plan columns agree with the inputs -------------------------------------------------------


@pytest.mark.parametrize(
    ("case_id", "values", "code"),
    [
        ("c2", {"moved": False}, "moved_mismatch"),
        ("c1", {"moved": True}, "moved_mismatch"),
        ("c1", {"effort_hours": 2.5}, "effort_mismatch"),
        ("c1", {"previous_officer_id": "B"}, "previous_mismatch"),
        ("c3", {"locked": True}, "locked_mismatch"),  # c3's lock is not honoured
        ("c4", {"locked": False}, "locked_mismatch"),  # c4's lock is honoured
        ("c5", {"reason": None}, "unassigned_without_reason"),
    ],
)
def test_wrong_plan_column_is_caught(case_id: str, values: dict[str, object], code: str) -> None:
    """Each derived plan column is recomputed from the inputs and compared."""
    report = check(with_case(make_plan(GOOD), case_id, **values))
    assert codes(report) == {code}


def test_effort_within_tolerance_passes() -> None:
    """effort_hours equal up to 1e-9 are accepted."""
    report = check(with_case(make_plan(GOOD), "c1", effort_hours=2.0 + 1e-12))
    assert report.ok


def test_unassigned_case_is_not_moved() -> None:
    """A case taken from its officer and left unassigned must not be flagged moved."""
    roster = make_roster(B={"max_cases": 1}, F={"max_cases": 0})
    plan = with_case(make_plan({**GOOD, "c3": None}), "c3", moved=True)
    assert codes(check(plan, roster)) == {"moved_mismatch"}


# -- unassigned cases -------------------------------------------------------------------------


def test_unassigned_with_room_is_caught() -> None:
    """Leaving c6 unassigned while B (eligible, under its cap) has room is a violation."""
    report = check(make_plan({**GOOD, "c6": None}))
    assert codes(report) == {"unassigned_with_room"}
    assert "c6" in report.violations[0]


def test_unassigned_is_allowed_when_every_eligible_officer_is_full() -> None:
    """c3 may stay unassigned when B is at max_cases and F may take nothing."""
    roster = make_roster(B={"max_cases": 1}, F={"max_cases": 0})
    report = check(make_plan({**GOOD, "c3": None}), roster)
    assert_valid(report)
    assert report.unassigned == 3


def test_violation_message_names_count_and_first_ids() -> None:
    """A violation line carries the code, the count and the first offending ids in plan order."""
    plan = make_plan(GOOD).with_columns(pl.lit(9.0).alias("effort_hours"))
    (line,) = check(plan).violations
    assert line.startswith("effort_mismatch: 7 cases ")
    assert "(first: c1, c2, c3, c4, c5, …)" in line


def test_assert_valid_lists_violations() -> None:
    """assert_valid raises with every violation in the message."""
    with pytest.raises(AssertionError, match="office_mismatch"):
        assert_valid(check(make_plan({**GOOD, "c6": "F"})))


# -- officer summary --------------------------------------------------------------------------


def test_officer_summary_before_and_after() -> None:
    """Before = status quo without handoffs (officers off the roster ignored); after = the plan."""
    summary = officer_summary(make_roster(), make_cases(), make_plan(GOOD), CONFIG)
    assert summary.schema == pl.Schema(OFFICER_SUMMARY_COLUMNS)
    got = {row["officer_id"]: row for row in summary.iter_rows(named=True)}
    assert got["B"]["office"] == ["N", "S"]  # a native list; joined only in CSV/Excel
    assert (got["B"]["cases_before"], got["B"]["load_before"]) == (2, pytest.approx(4.0))
    assert got["B"]["utilization_before"] == pytest.approx(0.4)
    assert (got["B"]["cases_after"], got["B"]["load_after"]) == (1, pytest.approx(1.0))
    assert (got["A"]["load_before"], got["A"]["load_after"]) == (2.0, pytest.approx(6.5))
    assert got["C"]["cases_before"] == 1 and got["C"]["utilization_before"] is None
    assert summary["cases_before"].sum() == 5  # c5 and c7 had no officer


def test_officer_summary_agrees_with_the_checker() -> None:
    """officer_summary's after columns are the checker's loads (one load computation)."""
    report = check(make_plan(GOOD))
    summary = officer_summary(make_roster(), make_cases(), make_plan(GOOD), CONFIG)
    assert summary["load_after"].to_list() == report.officers["load"].to_list()
    assert summary["cases_after"].to_list() == report.officers["cases"].to_list()


def test_officer_summary_reuses_the_checkers_loads_to_the_same_table() -> None:
    """Given the checker's report, officer_summary gives the table it computes on its own."""
    plan = make_plan(GOOD)
    report = check(plan)
    alone = officer_summary(make_roster(), make_cases(), plan, CONFIG)
    assert officer_summary(make_roster(), make_cases(), plan, CONFIG, checked=report).equals(alone)


# -- against a per-case Python oracle on random instances ------------------------------------


def _oracle_codes(roster: pl.DataFrame, cases: pl.DataFrame, plan: pl.DataFrame) -> set[str]:
    """Eligibility and lock verdicts recomputed case by case (tiny instances only)."""
    officers = {row["officer_id"]: row for row in roster.iter_rows(named=True)}
    found: set[str] = set()
    for case, row in zip(cases.iter_rows(named=True), plan.iter_rows(named=True), strict=True):
        officer_id, current = row["officer_id"], case["current_officer_id"]
        honoured = bool(case["locked"]) and current in officers and officers[current]["active"]
        if honoured and officer_id != current:
            found.add("lock_broken")
        if officer_id is None or (honoured and officer_id == current):
            continue
        o = officers[officer_id]
        available = o["capacity_hours"] * (1 - o["unavailable_days"] / 28.0)
        if not o["active"]:
            found.add("inactive_officer")
        elif available <= 0:
            found.add("unavailable_officer")
        if case["office"] not in o["office"]:
            found.add("office_mismatch")
        if not set(case["required_skills"]) <= set(o["skills"]):
            found.add("skill_mismatch")
        if o["max_cases"] == 0:
            found.add("zero_max_cases")
    return found


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_eligibility_verdicts_match_a_per_case_oracle(seed: int) -> None:
    """On random plans, the vectorized eligibility codes equal those of a per-case Python loop."""
    inst = random_instance(seed, n_cases=30, n_officers=5)
    rng = np.random.default_rng(seed)
    choices: list[str | None] = [*inst.roster["officer_id"].to_list(), None]
    officer = [choices[int(i)] for i in rng.integers(0, len(choices), inst.cases.height)]
    plan = (
        inst.cases.select("case_id", "effort_hours", previous_officer_id="current_officer_id")
        .with_columns(officer_id=pl.Series(officer, dtype=pl.String))
        .with_columns(
            moved=(pl.col("officer_id") != pl.col("previous_officer_id")).fill_null(False),
            locked=pl.lit(False),
            reason=pl.lit("random"),
        )
        .select(list(PLAN_COLUMNS))
    )
    config = Config(cycle_days=28.0, handoff_hours=inst.config.handoff_hours)
    report = check_plan(inst.roster, inst.cases, plan, config)
    eligibility = {
        "lock_broken",
        "inactive_officer",
        "unavailable_officer",
        "office_mismatch",
        "skill_mismatch",
        "zero_max_cases",
    }
    assert codes(report) & eligibility == _oracle_codes(inst.roster, inst.cases, plan)


def _loads_by_loop(
    roster: pl.DataFrame, cases: pl.DataFrame, plan: pl.DataFrame, handoff: float
) -> dict[str, float]:
    load = dict.fromkeys(roster["officer_id"].to_list(), 0.0)
    for case, row in zip(cases.iter_rows(named=True), plan.iter_rows(named=True), strict=True):
        officer = row["officer_id"]
        if officer is None:
            continue
        moved = case["current_officer_id"] is not None and officer != case["current_officer_id"]
        load[officer] += case["effort_hours"] + (handoff if moved else 0.0)
    return load


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_loads_match_a_per_case_loop(seed: int) -> None:
    """Loads on random plans equal those summed case by case."""
    inst = random_instance(seed, n_cases=25, n_officers=4)
    rng = np.random.default_rng(seed)
    ids = inst.roster["officer_id"].to_list()
    officer = [ids[int(i)] for i in rng.integers(0, len(ids), inst.cases.height)]
    plan = pl.DataFrame(
        {
            "case_id": inst.cases["case_id"],
            "officer_id": officer,
            "previous_officer_id": inst.cases["current_officer_id"],
            "moved": False,
            "effort_hours": inst.cases["effort_hours"],
            "locked": False,
            "reason": "random",
        },
        schema=PLAN_COLUMNS,
    )
    report = check_plan(inst.roster, inst.cases, plan, inst.config)
    expected = _loads_by_loop(inst.roster, inst.cases, plan, inst.config.handoff_hours)
    got = dict(report.officers.select("officer_id", "load").iter_rows())
    assert got == pytest.approx(expected)
