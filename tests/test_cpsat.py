"""The CP-SAT model of a component: the peak goal finds the exhaustive-search optimum with a valid
bound; the balance goal keeps the ceiling and never ends above its start."""

from __future__ import annotations

import numpy as np
import pytest

from assigncli.problem import build_problem
from assigncli.solvers.component import Component, State, build_component, evaluate
from assigncli.solvers.cpsat import CpsatModel
from assigncli.solvers.heuristics import lpt, penalty_of
from tests.instances import Instance, random_instance
from tests.oracles import brute_force, flatten


def single_component(inst: Instance) -> Component | None:
    problem = build_problem(inst.roster, inst.cases, inst.config)
    parts = problem.components()
    # Cases nobody may take never reach the model; keep instances without them.
    if len(parts) != 1 or problem.n_unassignable:
        return None
    return build_component(problem, parts[0])


def solve(comp: Component, goal: str, start: State, ceiling: float = 0.0) -> State:
    model = CpsatModel(comp, goal, start, max_moves=None, ceiling=ceiling)  # type: ignore[arg-type]
    result = model.solve(work=5.0, seconds=30.0, workers=1, seed=0)
    assert result.state is not None
    return result.state


@pytest.mark.parametrize("seed", range(12))
def test_peak_goal_reaches_the_exhaustive_optimum_and_bounds_it(seed: int) -> None:
    """Tiny instances: CP-SAT's peak is the brute-force optimum; its bound is at most that."""
    inst = random_instance(seed, n_cases=7, n_officers=3, n_offices=1)
    comp = single_component(inst)
    if comp is None:
        pytest.skip("nothing to decide")
    start = lpt(comp)
    model = CpsatModel(comp, "peak", start, max_moves=None, ceiling=evaluate(comp, start).peak)
    result = model.solve(work=5.0, seconds=30.0, workers=1, seed=0)
    assert result.state is not None and result.proven
    flat = flatten(inst.roster, inst.cases, inst.config)
    unassigned, best = brute_force(flat, inst.config.handoff_hours)
    assert evaluate(comp, result.state).unassigned == unassigned
    assert evaluate(comp, result.state).peak == pytest.approx(best, rel=1e-4, abs=1e-9)
    assert result.bound <= best + 1e-12


@pytest.mark.parametrize("seed", range(8))
def test_peak_bound_is_valid_with_the_weighted_objective(seed: int) -> None:
    """The peak is weighted above the balance excess in one objective: the bound read back from
    it is a bound on the peak alone (it once read the weighted value and exceeded the plan)."""
    inst = random_instance(seed, n_cases=30, n_officers=4, n_offices=1, caps=False)
    comp = single_component(inst)
    if comp is None:
        pytest.skip("nothing to decide")
    start = lpt(comp)
    model = CpsatModel(comp, "peak", start, max_moves=None, ceiling=evaluate(comp, start).peak)
    result = model.solve(work=2.0, seconds=30.0, workers=1, seed=0)
    assert result.state is not None
    assert result.bound <= evaluate(comp, result.state).peak + 1e-12


@pytest.mark.parametrize("seed", range(8))
def test_balance_goal_keeps_the_ceiling_and_lowers_the_penalty(seed: int) -> None:
    """Under the start's own peak as ceiling, balance ends no higher and with no more penalty."""
    inst = random_instance(seed, n_cases=30, n_officers=5, n_offices=1)
    comp = single_component(inst)
    if comp is None:
        pytest.skip("nothing to decide")
    start = lpt(comp)
    before = evaluate(comp, start)
    state = solve(comp, "balance", start, ceiling=before.peak)
    after = evaluate(comp, state)
    assert after.unassigned <= before.unassigned
    assert after.peak <= before.peak * (1 + 1e-3)  # milli-hour rounding at most
    avail = np.where(comp.measured, comp.available, 0.0)
    assert penalty_of(after.load, avail, before.peak).sum() <= (
        penalty_of(before.load, avail, before.peak).sum() + 1e-3 * comp.n_officers
    )
