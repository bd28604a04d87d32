"""The certificate is one source of truth: validated at construction, consistent with the checker."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assigncli.config import Config
from assigncli.plan import build_plan
from assigncli.problem import build_problem
from assigncli.result import (
    OPTIMAL_GAP,
    Certificate,
    SolveStatus,
    relative_gap,
    status_of,
)
from assigncli.solvers.solve import SolveOptions, SolverChoice, solve
from tests.instances import Instance, random_instance
from tests.test_solve import cases, roster


def certificate(**overrides: object) -> Certificate:
    fields: dict[str, object] = {
        "status": SolveStatus.TIME_LIMIT,
        "objective": 0.9,
        "lower_bound": 0.8,
        "bound_argument": "lp",
        "gap": 0.125,
        "method": "exact",
        "min_utilization": 0.5,
        "balance_penalty": 1.0,
        "discretionary_moves": 0,
        "forced_moves": 0,
        "unassigned": 0,
        "components": 1,
        "time_seconds": 1.0,
    }
    return Certificate(**{**fields, **overrides})  # type: ignore[arg-type]


def test_a_consistent_certificate_is_accepted_and_serializes_its_status_as_text() -> None:
    """A valid certificate round-trips to a dict with the status as its plain value."""
    assert certificate().to_dict()["status"] == "time_limit"


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"status": SolveStatus.OPTIMAL}, "contradicts"),
        ({"gap": 0.0}, "does not match"),
        ({"lower_bound": 0.95, "gap": 0.0}, "exceeds"),
        ({"objective": math.nan}, "finite"),
        ({"unassigned": -1}, "≥ 0"),
    ],
)
def test_a_contradictory_certificate_is_rejected(overrides: dict[str, object], words: str) -> None:
    """Optimal with a gap, a gap that does not match, a bound above the plan: all rejected."""
    with pytest.raises(ValueError, match=words):
        certificate(**overrides)


def test_gaps_below_the_reported_precision_are_zero_and_make_the_plan_optimal() -> None:
    """`optimal` means the gap is 0 at the reported precision (three decimals of a percent)."""
    assert relative_gap(1.0 + OPTIMAL_GAP / 2, 1.0) == 0.0
    assert relative_gap(1.0 + 1e-4, 1.0) > 0
    assert relative_gap(0.5, 0.0) == math.inf
    assert status_of(0.0, budget_spent=True) is SolveStatus.OPTIMAL
    assert status_of(0.01, budget_spent=True) is SolveStatus.TIME_LIMIT
    assert status_of(0.01, budget_spent=False) is SolveStatus.FEASIBLE


@pytest.mark.parametrize("solver", ["exact", "scale"])
def test_certificate_counts_cases_nobody_is_eligible_for_as_unassigned(
    solver: SolverChoice,
) -> None:
    """Regression: the demo's certificate said 0 unassigned while the checker counted 2."""
    r = roster([{"officer_id": "A", "office": ["X"], "capacity_hours": 100.0}])
    c = cases(
        [
            {"case_id": "in", "office": "X", "effort_hours": 1.0},
            {"case_id": "nobody-1", "office": "Y", "effort_hours": 1.0},
            {"case_id": "nobody-2", "office": "X", "effort_hours": 1.0, "required_skills": ["s"]},
        ]
    )
    inst = Instance(r, c, Config())
    problem = build_problem(inst.roster, inst.cases, inst.config)
    solution = solve(problem, SolveOptions(solver=solver, time_limit=5, workers=1))
    plan = build_plan(problem, solution)
    assert solution.certificate.unassigned == plan["officer_id"].null_count() == 2


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), solver=st.sampled_from(["exact", "scale"]))
def test_status_optimal_exactly_when_the_reported_gap_is_zero(
    seed: int, solver: SolverChoice
) -> None:
    """Over random instances the status and the gap never disagree."""
    inst = random_instance(seed, n_cases=12, n_officers=3)
    problem = build_problem(inst.roster, inst.cases, inst.config)
    cert = solve(problem, SolveOptions(solver=solver, time_limit=5, workers=1)).certificate
    assert (cert.status is SolveStatus.OPTIMAL) == (cert.gap == 0.0)
    assert cert.lower_bound <= cert.objective
