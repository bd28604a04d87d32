"""Exact search on small components: optimal on tiny instances, every plan valid for the checker."""

from __future__ import annotations

import time
from unittest import mock

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assigncli.check import check_plan
from assigncli.plan import build_plan
from assigncli.problem import build_problem
from assigncli.result import SolveStatus
from assigncli.solvers import packing
from assigncli.solvers.component import Component, State, build_component, evaluate
from assigncli.solvers.heuristics import greedy
from assigncli.solvers.solve import _assemble, _ComponentResult
from tests.instances import Instance, random_instance
from tests.oracles import assert_valid, brute_force, flatten
from tests.test_bounds import pcmax, pcmax_optimum

TOL = 1e-9


def solve_all(
    inst: Instance, *, work: float = 5.0, max_moves: int | None = None
) -> tuple[list[packing.PackingResult], list[State]]:
    """solve_peak from greedy on every component; the plan goes through the checker."""
    problem = build_problem(inst.roster, inst.cases, inst.config)
    results, starts, parts = [], [], []
    for part in problem.components():
        comp = build_component(problem, part)
        start = greedy(comp)
        if max_moves is not None and int(start.released.sum()) > max_moves:
            start = greedy_without_moves(comp)
        result = packing.solve_peak(
            comp,
            start,
            work=work,
            workers=1,
            seed=0,
            deadline=time.perf_counter() + 60,
            max_moves=max_moves,
        )
        results.append(result)
        starts.append(start)
        parts.append(
            _ComponentResult(
                comp,
                result.state,
                "exact",
                SolveStatus.OPTIMAL if result.optimal else SolveStatus.FEASIBLE,
                result.bound,
                result.argument,
                0.0,
                {},
            )
        )
    solution = _assemble(problem, parts, 0.0)
    plan = build_plan(problem, solution)
    assert_valid(check_plan(inst.roster, inst.cases, plan, inst.config))
    return results, starts


def greedy_without_moves(comp: Component) -> State:
    """Greedy with every held case kept (a plan within any move budget)."""
    state = greedy(comp)
    state.released[:] = 0
    inflow = comp.pool_inflow(state.released)
    for p in range(comp.n_pools):
        arcs = slice(comp.arc_ptr[p], comp.arc_ptr[p + 1])
        excess = int(state.flow[arcs].sum() + state.unassigned[p] - inflow[p])
        for a in range(comp.arc_ptr[p + 1] - 1, comp.arc_ptr[p] - 1, -1):
            take = min(excess, int(state.flow[a]))
            state.flow[a] -= take
            excess -= take
        state.unassigned[p] = max(0, int(inflow[p] - state.flow[arcs].sum()))
    return state


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    times=st.lists(st.integers(1, 9).map(float), min_size=1, max_size=8),
    m=st.integers(1, 3),
)
def test_tiny_pcmax_is_solved_to_proven_optimality(times: list[float], m: int) -> None:
    """On tiny P‖Cmax teams the search proves the exhaustive optimum and returns a plan at it."""
    inst = pcmax(times, m)
    (result,), _ = solve_all(inst)
    problem = build_problem(inst.roster, inst.cases, inst.config)
    (part,) = problem.components()
    comp = build_component(problem, part)
    best = pcmax_optimum(times, m)
    assert result.optimal
    assert abs(result.bound - best) <= TOL * best
    assert abs(evaluate(comp, result.state).peak - best) <= TOL * best


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_cases=st.integers(1, 8),
    n_officers=st.integers(1, 3),
    handoff=st.sampled_from([0.0, 1.5]),
)
def test_every_shape_stays_valid_and_never_claims_too_much(
    seed: int, n_cases: int, n_officers: int, handoff: float
) -> None:
    """With caps, locks, held cases, handoff hours and several offices: the plan passes the checker,
    is no worse than its start, its bound is at most the exhaustive optimum, and 'optimal' means
    the plan's peak is that optimum."""
    inst = random_instance(seed, n_cases, n_officers, 2, handoff=handoff)
    _, peak = brute_force(flatten(inst.roster, inst.cases, inst.config), handoff)
    results, starts = solve_all(inst)
    problem = build_problem(inst.roster, inst.cases, inst.config)
    comps = [build_component(problem, part) for part in problem.components()]
    for comp, result, start in zip(comps, results, starts, strict=True):
        got, before = evaluate(comp, result.state), evaluate(comp, start)
        assert (got.unassigned, got.peak) <= (before.unassigned, before.peak + 1e-12)
        assert result.bound <= peak * (1 + TOL) + 1e-12
        if result.optimal:
            assert got.peak <= result.bound * (1 + TOL) + 1e-12


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), budget=st.integers(0, 2))
def test_move_budget_is_kept(seed: int, budget: int) -> None:
    """Under --max-moves the search never releases more held cases than the budget."""
    inst = random_instance(seed, 8, 3, 1, caps=False)
    results, _ = solve_all(inst, max_moves=budget)
    for result in results:
        assert int(result.state.released.sum()) <= budget


def test_lpt_gap_is_closed_by_the_search() -> None:
    """3, 3, 2, 2, 2 on two officers: LPT ends at 7 h, the optimum is 6 h (3 + 3 | 2 + 2 + 2)."""
    inst = pcmax([3.0, 3.0, 2.0, 2.0, 2.0], 2)
    problem = build_problem(inst.roster, inst.cases, inst.config)
    (part,) = problem.components()
    comp = build_component(problem, part)
    start = greedy(comp)
    assert abs(evaluate(comp, start).peak - 0.7) < 1e-9
    assert packing.ArcFlowModel.usable(comp, 1000)
    (result,), _ = solve_all(inst)
    assert result.optimal
    assert abs(evaluate(comp, result.state).peak - 0.6) < 1e-9
    assert abs(result.bound - 0.6) < 1e-9


def test_case_model_breaks_symmetry_without_losing_the_optimum() -> None:
    """Identical officers with a locked case each (not arc flow): the case model with its
    symmetry breaking still reaches the optimum 3 + 3 | 2 + 2 + 2 (+ 1 locked each)."""
    inst = pcmax([3.0, 3.0, 2.0, 2.0, 2.0, 1.0, 1.0], 2)
    cases = inst.cases.with_columns(
        pl.when(pl.col("case_id") == "J5")
        .then(pl.lit("M0"))
        .when(pl.col("case_id") == "J6")
        .then(pl.lit("M1"))
        .otherwise(None)
        .alias("current_officer_id"),
        (pl.col("case_id").is_in(["J5", "J6"])).alias("locked"),
    )
    inst = Instance(inst.roster, cases, inst.config)
    problem = build_problem(inst.roster, inst.cases, inst.config)
    (part,) = problem.components()
    comp = build_component(problem, part)
    assert not packing.ArcFlowModel.usable(comp, 1000)
    assert len(packing.identical_officers(comp)) == 1
    (result,), _ = solve_all(inst)
    assert result.optimal
    assert abs(evaluate(comp, result.state).peak - 0.7) < 1e-9


def test_sorted_hint_keeps_every_load() -> None:
    """Relabelling identical officers by load moves whole loads, never a case between loads."""
    inst = pcmax([5.0, 1.0, 3.0, 2.0], 3)
    problem = build_problem(inst.roster, inst.cases, inst.config)
    (part,) = problem.components()
    comp = build_component(problem, part)
    state = greedy(comp)
    classes = packing.identical_officers(comp)
    hinted = packing.sorted_hint(comp, state, classes)
    before = np.sort(comp.loads(state.released, state.flow))
    after = comp.loads(hinted.released, hinted.flow)
    assert np.allclose(np.sort(after), before)
    assert np.all(np.diff(after) <= 1e-12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    times=st.lists(st.integers(1, 9).map(float), min_size=1, max_size=8),
    m=st.integers(2, 3),
)
def test_case_model_symmetry_breaking_keeps_the_optimum(times: list[float], m: int) -> None:
    """With arc flow switched off, the per-case model (officers numbered by first case, a pool's
    cases in officer order) still proves the exhaustive optimum on tiny P‖Cmax teams."""
    inst = pcmax(times, m)
    problem = build_problem(inst.roster, inst.cases, inst.config)
    (part,) = problem.components()
    comp = build_component(problem, part)
    with mock.patch.object(packing.ArcFlowModel, "usable", return_value=False):
        model = packing.decision_model(comp, max_moves=None, max_unassigned=0, workers=1, seed=0)
        assert isinstance(model, packing.CaseModel)
        result = packing.solve_peak(
            comp,
            greedy(comp),
            work=5.0,
            workers=1,
            seed=0,
            deadline=time.perf_counter() + 60,
            max_moves=None,
        )
    best = pcmax_optimum(times, m)
    assert result.optimal
    assert abs(evaluate(comp, result.state).peak - best) <= TOL * best
