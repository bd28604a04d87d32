"""Plan metrics: hand-computed values, agreement with the checker, and the staffing arithmetic."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from assigncli.analysis.baselines import build_baselines
from assigncli.analysis.metrics import METRICS, evaluate_plan, gini, rule_breaks
from assigncli.check import check_plan
from assigncli.config import Config
from assigncli.contract import PLAN_COLUMNS
from assigncli.problem import build_problem
from tests.instances import CASES_SCHEMA, ROSTER_SCHEMA, random_instance

CONFIG = Config(cycle_days=28.0, handoff_hours=2.0)


def roster() -> pl.DataFrame:
    """A, B in office N (40 h and 20 h), C in S (away all cycle), D in S (inactive)."""
    return pl.DataFrame(
        {
            "officer_id": ["A", "B", "C", "D"],
            "office": [["N"], ["N", "S"], ["S"], ["S"]],
            "capacity_hours": [40.0, 20.0, 30.0, 30.0],
            "skills": [[], [], [], []],
            "unavailable_days": [0.0, 0.0, 28.0, 0.0],
            "max_cases": [None, 1, None, None],
            "active": [True, True, True, False],
        },
        schema=ROSTER_SCHEMA,
    )


def cases() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "case_id": ["c1", "c2", "c3", "c4", "c5", "c6"],
            "office": ["N", "N", "N", "N", "S", "S"],
            "current_officer_id": ["A", "A", "B", None, "C", "D"],
            "locked": [False] * 6,
            "required_skills": [[]] * 6,
            "effort_hours": [30.0, 20.0, 10.0, 4.0, 5.0, 6.0],
        },
        schema=CASES_SCHEMA,
    )


def plan(officers: list[str | None]) -> pl.DataFrame:
    frame = cases()
    moved = [
        o is not None and c is not None and o != c
        for o, c in zip(officers, frame["current_officer_id"], strict=True)
    ]
    return pl.DataFrame(
        {
            "case_id": frame["case_id"],
            "officer_id": officers,
            "previous_officer_id": frame["current_officer_id"],
            "moved": moved,
            "effort_hours": frame["effort_hours"],
            "locked": [False] * 6,
            "reason": ["r"] * 6,
        },
        schema=PLAN_COLUMNS,
    )


def test_gini_of_known_distributions() -> None:
    """Equal values give 0; one holder of everything among n gives (n − 1) / n."""
    assert gini([1.0, 1.0, 1.0]) == 0.0
    assert gini([0.0, 0.0, 0.0, 5.0]) == pytest.approx(0.75)
    assert gini([1.0, 3.0]) == pytest.approx(0.25)
    assert gini([]) == 0.0


def test_metrics_of_a_hand_built_plan() -> None:
    """Utilization statistics, overtime, moves and unassigned match a hand computation.

    A holds c1, c2 (50 h of 40 h: 125%, 10 h overtime); B holds c3 and the new c4 (14 h of 20 h:
    70%); C, away all cycle, holds c5 (5 h over 0 h, no utilization); c6 is unassigned.
    """
    evaluation = evaluate_plan(roster(), cases(), plan(["A", "A", "B", "B", "C", None]), CONFIG)
    m = evaluation.metrics
    assert m.highest_utilization == pytest.approx(1.25)
    assert m.lowest_utilization == pytest.approx(0.7)
    assert m.median_utilization == pytest.approx((1.25 + 0.7) / 2)
    assert m.p90_utilization == pytest.approx(0.7 + 0.9 * 0.55)
    assert m.utilization_std == pytest.approx(0.275)
    assert m.utilization_gini == pytest.approx(gini([1.25, 0.7]))
    assert m.officers_over_capacity == 2  # A, and C who is away yet holds a case
    assert m.overtime_hours == pytest.approx(10.0 + 5.0)
    assert m.moves == 0
    assert m.unassigned == 1


def test_metrics_agree_with_the_checker() -> None:
    """Highest and lowest utilization, moves and unassigned are the checker's own numbers."""
    inst = random_instance(2, n_cases=80, n_officers=6, n_offices=2)
    problem = build_problem(inst.roster, inst.cases, inst.config)
    for baseline in build_baselines(problem, inst.roster):
        report = check_plan(inst.roster, inst.cases, baseline.plan, inst.config)
        m = evaluate_plan(inst.roster, inst.cases, baseline.plan, inst.config, check=report).metrics
        assert m.highest_utilization == report.max_utilization
        assert m.lowest_utilization == report.min_utilization
        assert (m.moves, m.unassigned) == (report.moves, report.unassigned)


def test_moves_cost_one_time_transition_hours_not_office_work() -> None:
    """Moving c1 from A to B adds the handoff hours to the transition hours and to B's load, not to
    office N's steady-state work."""
    stay = evaluate_plan(roster(), cases(), plan(["A", "A", "B", "A", "C", "A"]), CONFIG)
    move = evaluate_plan(roster(), cases(), plan(["B", "A", "B", "A", "C", "A"]), CONFIG)
    work = {
        name: dict(zip(e.offices["office"], e.offices["work_hours"], strict=True))
        for name, e in (("stay", stay), ("move", move))
    }
    assert work["move"]["N"] == pytest.approx(work["stay"]["N"])
    assert move.metrics.transition_hours - stay.metrics.transition_hours == pytest.approx(
        CONFIG.handoff_hours
    )
    assert move.metrics.moves - stay.metrics.moves == 1


def test_officers_needed_does_not_count_handoffs_as_recurring_work() -> None:
    """Regression: a plan that moves every case needed more officers than one that moves none.
    Staffing need is steady-state effort: both plans need the same officers."""
    handoff = Config(cycle_days=28.0, handoff_hours=30.0)
    stay = evaluate_plan(roster(), cases(), plan(["A", "A", "B", "A", "C", "A"]), handoff)
    move = evaluate_plan(roster(), cases(), plan(["B", "B", "A", "B", "C", "A"]), handoff)
    assert move.metrics.moves > stay.metrics.moves
    assert move.metrics.officers_needed == stay.metrics.officers_needed
    assert move.metrics.transition_hours == pytest.approx(30.0 * move.metrics.moves)


def test_staffing_counts_officers_needed_per_office_at_mean_availability() -> None:
    """N: 64 h of work, active officers A (40 h) and B (20 h) average 30 h → 3 needed, 2 on roster.
    S: 11 h of work; C is active but away (0 h), so S averages 0 h and borrows the agency mean
    (20 h over A, B, C) → 1 needed, 1 on roster. D is inactive: not on the roster count."""
    evaluation = evaluate_plan(roster(), cases(), plan(["A", "A", "B", "B", "C", None]), CONFIG)
    offices = {row["office"]: row for row in evaluation.offices.to_dicts()}
    assert offices["N"]["work_hours"] == pytest.approx(64.0)
    assert offices["N"]["officers"] == 2 and offices["N"]["officers_needed"] == 3
    assert offices["S"]["work_hours"] == pytest.approx(11.0)
    assert offices["S"]["officers"] == 1 and offices["S"]["officers_needed"] == 1
    m = evaluation.metrics
    assert (m.officers_needed, m.officers_on_roster, m.staffing_gap) == (4, 3, 1)


def test_rule_breaks_count_each_broken_rule_and_cases_beyond_the_cap() -> None:
    """A case with an officer away all cycle and a second case on B (max_cases 1) are two breaks."""
    evaluation = evaluate_plan(roster(), cases(), plan(["A", "A", "B", "A", "C", "B"]), CONFIG)
    assert evaluation.breaks == {"unavailable_officer": 1, "over_max_cases": 1}
    assert evaluation.metrics.rule_breaks == 2
    assert rule_breaks(evaluation.check) == {"unavailable_officer": 1}


def test_a_valid_plan_breaks_no_rule() -> None:
    """A plan the checker accepts has zero rule breaks."""
    evaluation = evaluate_plan(roster(), cases(), plan(["A", "A", "A", "A", "B", None]), CONFIG)
    assert evaluation.check.ok, evaluation.check.violations
    assert evaluation.metrics.rule_breaks == 0


def test_every_metric_has_a_spec_and_formats_missing_values() -> None:
    """The metric table covers every field; a missing value shows as a dash."""
    evaluation = evaluate_plan(roster(), cases(), plan(["A", "A", "B", "B", "C", None]), CONFIG)
    assert [s.key for s in METRICS] == list(evaluation.metrics.to_dict())
    for spec in METRICS:
        assert spec.format(None) == "–"
        assert spec.format(math.nan) == "–"
    assert {s.kind for s in METRICS} == {"pct", "ratio", "count", "hours"}
    assert np.isfinite([v for v in evaluation.metrics.to_dict().values() if v is not None]).all()
