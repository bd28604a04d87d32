"""The grouped LP: its bound is the per-case LP relaxation, in every column layout (per officer,
per officer type, per arc), and its solution splits back into arc flows that keep every rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assigncli.config import Config
from assigncli.problem import NO_CAP, build_problem
from assigncli.solvers.component import build_component
from assigncli.solvers.lp import ComponentLP
from tests.instances import Instance, random_instance
from tests.oracles import assert_valid, flatten, per_case_lp_bound
from tests.test_solve import cases, instances, roster, run


@pytest.mark.parametrize("by_type", [False, True])
@pytest.mark.parametrize("seed", range(12))
def test_grouped_lp_bound_equals_the_per_case_lp_relaxation(seed: int, by_type: bool) -> None:
    """Grouping identical cases (and, by type, interchangeable officers) keeps the LP exact:
    the bound is the per-case LP value."""
    inst = random_instance(seed, n_cases=60, n_officers=7, n_offices=2)
    limit = 0 if by_type else 10**9
    solution, _, report = run(inst, solver="scale", aggregate_size_limit=limit)
    assert_valid(report)
    flat = flatten(inst.roster, inst.cases, inst.config)
    most, lp_peak = per_case_lp_bound(flat, inst.config.handoff_hours)
    locked = sum(1 for officer in flat.locked_to if officer is not None)
    assert report.assigned == round(most) + locked
    # The certificate may prove more than the LP (CP-SAT, integer-aware bounds), never less.
    assert solution.certificate.lower_bound >= lp_peak * (1 - 1e-6) - 1e-9
    problem = build_problem(inst.roster, inst.cases, inst.config)
    peaks = [
        ComponentLP(build_component(problem, part), by_type=by_type).solve(levels=2).peak
        for part in problem.components()
    ]
    assert max(peaks, default=0.0) == pytest.approx(lp_peak, rel=1e-6, abs=1e-9)
    assert report.max_utilization is not None
    assert report.max_utilization >= lp_peak - 1e-9


def test_lp_by_type_keeps_an_officer_whose_own_cases_exceed_the_floor() -> None:
    """An officer of a type with heavy locked work: the type's shared row alone would prove 1.0;
    its own row keeps the bound at the per-officer LP's 2.5."""
    r = roster([{"officer_id": o, "office": ["X"], "capacity_hours": 10.0} for o in "ABC"])
    locked = [
        {
            "case_id": f"L{i}",
            "office": "X",
            "effort_hours": 5.0,
            "current_officer_id": "A",
            "locked": True,
        }
        for i in range(5)
    ]
    new = [{"case_id": f"N{i}", "office": "X", "effort_hours": 1.0} for i in range(5)]
    inst = Instance(r, cases(locked + new), Config())
    problem = build_problem(inst.roster, inst.cases, inst.config)
    comp = build_component(problem, problem.components()[0])
    assert ComponentLP(comp).solve(levels=2).peak == pytest.approx(2.5)
    assert ComponentLP(comp, by_type=True).solve(levels=2).peak == pytest.approx(2.5)
    _, _, report = run(inst, solver="scale", aggregate_size_limit=0)
    assert_valid(report)


def assert_lp_splits_back(inst: Instance, by_type: bool, per_arc: bool = False) -> None:
    problem = build_problem(inst.roster, inst.cases, inst.config)
    for part in problem.components():
        comp = build_component(problem, part)
        lp = ComponentLP(comp, by_type=by_type, per_arc=per_arc).solve(levels=4)
        assert lp.levels_solved >= 2
        inflow = comp.pool_inflow(lp.released)
        np.testing.assert_allclose(
            comp.pool_outflow(lp.flow) + lp.unassigned, inflow, rtol=1e-6, atol=1e-6
        )
        count = comp.counts(lp.released, lp.flow)
        capped = comp.cap != NO_CAP
        assert (count[capped] <= comp.cap[capped] + 1e-6).all()
        util = comp.utilization(comp.loads(lp.released, lp.flow))
        assert (util <= lp.peak * (1 + 1e-6) + 1e-9).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances, layout=st.sampled_from(["officer", "type", "arc"]))
def test_lp_solution_splits_back_into_arc_flows_that_keep_every_constraint(
    inst: Instance, layout: str
) -> None:
    """Random instances: the LP's per-arc flows (before any rounding) balance every pool,
    respect every cap and keep every officer at or below the LP peak."""
    assert_lp_splits_back(inst, by_type=layout == "type", per_arc=layout == "arc")


@pytest.mark.parametrize("seed", [30, 120, 123, *range(20)])
def test_lp_by_type_splits_zero_cost_cases_back_without_losing_any(seed: int) -> None:
    """Cases that cost nothing (no effort, no handoff) reach types that receive no hours: the
    split-back still places every one of them (by capacity)."""
    n_cases = int(np.random.default_rng(seed).integers(5, 80))
    inst = random_instance(
        seed, n_cases, n_officers=8, n_offices=2, handoff=0.0, efforts=(0.0, 1.0)
    )
    assert_lp_splits_back(inst, by_type=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances)
def test_per_arc_columns_prove_the_same_bound(inst: Instance) -> None:
    """One count column per arc is the same LP as hours per eligibility group."""
    problem = build_problem(inst.roster, inst.cases, inst.config)
    for part in problem.components():
        comp = build_component(problem, part)
        grouped = ComponentLP(comp).solve(levels=2)
        per_arc = ComponentLP(comp, per_arc=True).solve(levels=2)
        assert per_arc.assigned == pytest.approx(grouped.assigned)
        assert per_arc.peak == pytest.approx(grouped.peak, rel=1e-6, abs=1e-9)


def test_lp_levels_with_an_iteration_budget_give_the_same_solution_twice() -> None:
    """Deterministic mode: levels 3 and 4 run on simplex iterations, not on the clock."""
    inst = random_instance(3, n_cases=400, n_officers=12, n_offices=2, continuous_effort=True)
    problem = build_problem(inst.roster, inst.cases, inst.config)
    comp = build_component(problem, problem.components()[0])
    first = ComponentLP(comp, per_arc=True).solve(levels=4, deterministic=True)
    second = ComponentLP(comp, per_arc=True).solve(levels=4, deterministic=True)
    assert first.levels_solved == second.levels_solved >= 3
    np.testing.assert_array_equal(first.flow, second.flow)
