"""Class-level heuristics: the one water fill, LPT, greedy, rounding, local search, rebalancing."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assigncli.config import Config
from assigncli.problem import NO_CAP, build_problem
from assigncli.solvers.component import Component, State, build_component, evaluate
from assigncli.solvers.heuristics import (
    greedy,
    local_search,
    lpt,
    penalty_of,
    rebalance,
    water_fill,
)
from tests.instances import CASES_SCHEMA, ROSTER_SCHEMA, Instance, random_instance


def components(inst: Instance) -> list[Component]:
    problem = build_problem(inst.roster, inst.cases, inst.config)
    return [build_component(problem, part) for part in problem.components()]


def assert_feasible(comp: Component, state: State) -> None:
    """Pool balance, caps, bounds on every count."""
    inflow = comp.pool_inflow(state.released)
    np.testing.assert_allclose(comp.pool_outflow(state.flow) + state.unassigned, inflow)
    assert (state.released >= 0).all() and (state.released <= comp.held_count).all()
    assert (state.flow >= 0).all() and (state.unassigned >= 0).all()
    count = comp.counts(state.released, state.flow)
    capped = comp.cap != NO_CAP
    assert (count[capped] <= comp.cap[capped]).all()


def one_at_a_time(
    load: np.ndarray,
    available: np.ndarray,
    room: np.ndarray,
    cost: float,
    units: int,
    own: np.ndarray,
    own_cost: float,
) -> tuple[list[int], list[int]]:
    """The definition the water fill implements, case by case."""
    keep, take = [0] * len(load), [0] * len(load)
    current = [float(x) for x in load]
    for _ in range(units):
        best, best_after = -1, np.inf
        for k in range(len(load)):
            if keep[k] + take[k] >= room[k]:
                continue
            step = own_cost if keep[k] < own[k] else cost
            after = (current[k] + step) / available[k]
            if after < best_after:
                best, best_after = k, after
        if best < 0:
            break
        if keep[best] < own[best]:
            keep[best] += 1
            current[best] += own_cost
        else:
            take[best] += 1
            current[best] += cost
    return keep, take


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 7),
    units=st.integers(0, 40),
    seed=st.integers(0, 10_000),
    with_own=st.booleans(),
)
def test_water_fill_is_handing_out_cases_one_at_a_time(
    n: int, units: int, seed: int, with_own: bool
) -> None:
    """The batch water fill gives each officer exactly what one-at-a-time placement gives."""
    rng = np.random.default_rng(seed)
    load = rng.uniform(0, 50, n)
    available = rng.uniform(5, 60, n)
    room = np.where(rng.random(n) < 0.3, rng.integers(0, 6, n).astype(float), np.inf)
    own = rng.integers(0, 5, n).astype(float) if with_own else np.zeros(n)
    cost, own_cost = float(rng.uniform(0.5, 5)), float(rng.uniform(0.2, 4))
    fill = water_fill(load, available, room, cost, units, own=own, own_cost=own_cost)
    keep, take = one_at_a_time(load, available, room, cost, units, own, own_cost)
    assert fill.keep.astype(int).tolist() == keep
    assert fill.take.astype(int).tolist() == take


def test_continuous_water_fill_levels_the_receivers() -> None:
    """Divisible hours fill the least utilized officers up to one common level."""
    load = np.array([10.0, 0.0, 30.0])
    available = np.array([10.0, 20.0, 10.0])
    fill = water_fill(load, available, np.full(3, np.inf), 1.0, 30.0, integral=False)
    assert fill.take.sum() == pytest.approx(30.0)
    after = (load + fill.take) / available
    assert after[0] == pytest.approx(after[1])
    assert fill.take[2] == 0.0


@pytest.mark.parametrize("seed", range(8))
def test_lpt_places_every_case_longest_first(seed: int) -> None:
    """New cases only, no caps: the class-level LPT reaches the peak of per-case LPT."""
    inst = random_instance(
        seed, n_cases=30, n_officers=4, n_offices=1, caps=False, locks=False, handoff=0.0
    )
    cases = inst.cases.with_columns(current_officer_id=None)
    inst = Instance(inst.roster, cases, inst.config)
    for comp in components(inst):
        state = lpt(comp)
        assert_feasible(comp, state)
        # Per case: decreasing effort, each to the officer lowest after taking it.
        load = comp.base_hours.copy()
        safe = np.where(comp.measured, comp.available, 1.0)
        efforts = np.repeat(comp.pool_cost, comp.pool_fixed)
        groups = np.repeat(np.arange(comp.n_pools), comp.pool_fixed)
        for k in np.lexsort((groups, -efforts)):
            officers = comp.arc_officer[comp.pool_arcs(int(groups[k]))]
            after = (load[officers] + efforts[k]) / safe[officers]
            load[officers[int(np.argmin(after))]] += efforts[k]
        expected = float(comp.utilization(load)[comp.measured].max())
        assert evaluate(comp, state).peak == pytest.approx(expected)


instances = st.builds(
    random_instance,
    seed=st.integers(0, 10_000),
    n_cases=st.integers(1, 60),
    n_officers=st.integers(1, 8),
    n_offices=st.integers(1, 3),
    caps=st.booleans(),
    locks=st.booleans(),
    handoff=st.sampled_from([0.0, 1.5]),
    continuous_effort=st.booleans(),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances)
def test_constructions_and_polish_keep_every_constraint(inst: Instance) -> None:
    """LPT, greedy, local search and rebalancing give feasible states; the searches never raise
    the peak, and rebalancing never raises the balance penalty."""
    for comp in components(inst):
        for start in (lpt(comp), greedy(comp)):
            assert_feasible(comp, start)
            before = evaluate(comp, start)
            polished = local_search(comp, start, deadline=np.inf, max_steps=500)
            assert_feasible(comp, polished)
            assert evaluate(comp, polished).peak <= before.peak + 1e-12
            levelled = rebalance(comp, polished, max_pools=500, deadline=np.inf)
            assert_feasible(comp, levelled)
            after = evaluate(comp, levelled)
            peak = evaluate(comp, polished).peak
            assert after.peak <= peak * (1 + 1e-12) + 1e-15
            avail = np.where(comp.measured, comp.available, 0.0)
            assert penalty_of(after.load, avail, peak).sum() <= (
                penalty_of(evaluate(comp, polished).load, avail, peak).sum() + 1e-6
            )


def test_rebalance_lifts_the_least_utilized_officer() -> None:
    """Two officers share a pool; all its cases sit with one: re-levelling splits them."""
    roster = pl.DataFrame(
        {
            "officer_id": ["A", "B"],
            "office": [["X"], ["X"]],
            "capacity_hours": [10.0, 10.0],
            "skills": [[], []],
            "unavailable_days": [0.0, 0.0],
            "max_cases": [None, None],
            "active": [True, True],
        },
        schema=ROSTER_SCHEMA,
    )
    cases = pl.DataFrame(
        {
            "case_id": [str(k) for k in range(6)],
            "office": ["X"] * 6,
            "current_officer_id": [None] * 6,
            "locked": [False] * 6,
            "required_skills": [[]] * 6,
            "effort_hours": [1.0] * 6,
        },
        schema=CASES_SCHEMA,
    )
    comp = components(Instance(roster, cases, Config()))[0]
    lopsided = greedy(comp)
    lopsided.flow[:] = 0
    lopsided.flow[comp.pool_arcs(0)[0]] = comp.pool_fixed[0]
    levelled = rebalance(comp, lopsided, max_pools=1000, deadline=np.inf)
    assert evaluate(comp, lopsided).floor == 0.0
    assert evaluate(comp, levelled).floor == pytest.approx(0.3)
