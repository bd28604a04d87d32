"""Large-neighbourhood search: cutting and pasting neighbourhoods keeps a plan whole, a round never
makes the plan worse, and the search reaches the optimum on instances small enough to enumerate."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assigncli.problem import build_problem
from assigncli.solvers.component import Component, build_component, evaluate
from assigncli.solvers.heuristics import greedy, lpt
from assigncli.solvers.lns import Lns, better, cut, objective_key, paste
from tests.instances import Instance, random_instance
from tests.oracles import brute_force, flatten
from tests.test_heuristics import assert_feasible

instances = st.builds(
    random_instance,
    seed=st.integers(0, 10_000),
    n_cases=st.integers(1, 80),
    n_officers=st.integers(1, 9),
    n_offices=st.integers(1, 3),
    caps=st.booleans(),
    locks=st.booleans(),
    handoff=st.sampled_from([0.0, 1.5]),
    continuous_effort=st.booleans(),
)


def components(inst: Instance) -> list[Component]:
    problem = build_problem(inst.roster, inst.cases, inst.config)
    return [build_component(problem, part) for part in problem.components()]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances, pick=st.integers(0, 2**16))
def test_a_cut_pasted_back_unchanged_is_the_same_plan(inst: Instance, pick: int) -> None:
    """Any officer subset: the piece balances its pools, and pasting its start changes nothing."""
    for comp in components(inst):
        state = lpt(comp)
        rng = np.random.default_rng(pick)
        officers = np.flatnonzero(rng.random(comp.n_officers) < 0.5)
        piece = cut(comp, state, officers)
        sub = piece.comp
        np.testing.assert_allclose(
            sub.pool_outflow(piece.start.flow) + piece.start.unassigned,
            sub.pool_inflow(piece.start.released),
        )
        again = paste(comp, state, piece, piece.start)
        np.testing.assert_array_equal(again.flow, state.flow)
        np.testing.assert_array_equal(again.released, state.released)
        # The piece's loads are the parent's loads of its officers.
        np.testing.assert_allclose(
            sub.loads(piece.start.released, piece.start.flow),
            comp.loads(state.released, state.flow)[piece.officers],
        )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances, seed=st.integers(0, 100))
def test_the_search_never_ends_worse_than_it_starts(inst: Instance, seed: int) -> None:
    """From greedy: the result is feasible and no worse in (unassigned, peak, balance, moves)."""
    for comp in components(inst):
        start = greedy(comp)
        engine = Lns(comp, start, 0.0, max_moves=None, seed=seed, workers=1)
        result = engine.run(0.5, float("inf"), whole_first=False, max_rounds=6)
        assert_feasible(comp, result.state)
        assert not better(objective_key(comp, start), objective_key(comp, result.state))


@pytest.mark.parametrize("seed", range(10))
def test_the_search_reaches_the_exhaustive_optimum(seed: int) -> None:
    """Small neighbourhoods only (never the whole component at once), from LPT."""
    inst = random_instance(seed, n_cases=8, n_officers=4, n_offices=1)
    _, best = brute_force(flatten(inst.roster, inst.cases, inst.config), inst.config.handoff_hours)
    for comp in components(inst):
        engine = Lns(comp, lpt(comp), 0.0, max_moves=None, seed=seed, workers=1)
        result = engine.run(3.0, float("inf"), whole_first=False, max_rounds=60)
        assert evaluate(comp, result.state).peak <= best * (1 + 1e-4) + 1e-9


def test_same_seed_takes_the_same_steps() -> None:
    """With one worker the rounds are budgeted in deterministic units: same seed, same plan."""
    inst = random_instance(4, n_cases=300, n_officers=10, n_offices=2, continuous_effort=True)
    comp = components(inst)[0]
    states = [
        Lns(comp, lpt(comp), 0.0, max_moves=None, seed=3, workers=1)
        .run(0.4, float("inf"), whole_first=False)
        .state
        for _ in range(2)
    ]
    np.testing.assert_array_equal(states[0].flow, states[1].flow)
    np.testing.assert_array_equal(states[0].released, states[1].released)
