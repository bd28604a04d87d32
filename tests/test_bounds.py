"""Lower bounds: never above the exhaustive optimum on tiny instances, tight where they should be."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assigncli.config import Config
from assigncli.problem import build_problem
from assigncli.solvers import bounds
from assigncli.solvers.component import Component, build_component
from tests.instances import CASES_SCHEMA, ROSTER_SCHEMA, Instance, random_instance
from tests.oracles import brute_force, flatten

TOL = 1e-9


def components(inst: Instance) -> list[Component]:
    problem = build_problem(inst.roster, inst.cases, inst.config)
    return [build_component(problem, part) for part in problem.components()]


def optimum(inst: Instance) -> tuple[int, float]:
    return brute_force(flatten(inst.roster, inst.cases, inst.config), inst.config.handoff_hours)


def pcmax(times: list[float], m: int, available: float = 10.0) -> Instance:
    """m identical officers, new cases of the given hours: P‖Cmax."""
    roster = pl.DataFrame(
        {
            "officer_id": [f"M{i}" for i in range(m)],
            "office": [["X"]] * m,
            "capacity_hours": [available] * m,
            "skills": [[]] * m,
            "unavailable_days": [0.0] * m,
            "max_cases": [None] * m,
            "active": [True] * m,
        },
        schema=ROSTER_SCHEMA,
    )
    cases = pl.DataFrame(
        {
            "case_id": [f"J{j}" for j in range(len(times))],
            "office": ["X"] * len(times),
            "current_officer_id": [None] * len(times),
            "locked": [False] * len(times),
            "required_skills": [[]] * len(times),
            "effort_hours": times,
        },
        schema=CASES_SCHEMA,
    )
    return Instance(roster, cases, Config(handoff_hours=1.5))


def pcmax_optimum(times: list[float], m: int, available: float = 10.0) -> float:
    best = np.inf
    for combo in range(m ** len(times)):
        load = np.zeros(m)
        rest = combo
        for t in times:
            load[rest % m] += t
            rest //= m
        best = min(best, float(load.max()))
    return best / available


ARGUMENTS = (
    ("hall", bounds.hall_bound),
    ("largest_case", bounds.largest_case_bound),
    ("identical", bounds.identical_bound),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_cases=st.integers(1, 8),
    n_officers=st.integers(1, 3),
    handoff=st.sampled_from([0.0, 1.5, 4.0]),
)
def test_no_bound_exceeds_the_exhaustive_optimum(
    seed: int, n_cases: int, n_officers: int, handoff: float
) -> None:
    """Every argument, and `lower_bound` with its packing search, is at most the true optimum peak
    (with caps, locks, held cases, handoff hours, time away and several offices)."""
    inst = random_instance(seed, n_cases, n_officers, 2, handoff=handoff)
    _, peak = optimum(inst)
    for comp in components(inst):
        u = bounds.min_unassigned(comp)
        for name, argument in ARGUMENTS:
            value, _ = argument(comp, u)
            assert value <= peak * (1 + TOL) + 1e-12, name
        bound = bounds.lower_bound(comp, work=2.0)
        assert bound.value <= peak * (1 + TOL) + 1e-12, bound.argument


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_cases=st.integers(1, 8), n_officers=st.integers(1, 3))
def test_min_unassigned_is_the_exhaustive_level_one_optimum(
    seed: int, n_cases: int, n_officers: int
) -> None:
    """The max-flow count of cases that must stay unassigned equals the brute force's."""
    inst = random_instance(seed, n_cases, n_officers, 2)
    unassigned, _ = optimum(inst)
    problem = build_problem(inst.roster, inst.cases, inst.config)
    # Unassignable cases (no eligible officer) are outside every component.
    outside = int((problem.cases["status"] == "unassignable").sum())
    assert sum(bounds.min_unassigned(c) for c in components(inst)) + outside == unassigned


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    times=st.lists(st.integers(1, 9).map(float), min_size=1, max_size=8),
    m=st.integers(1, 3),
)
def test_packing_bound_is_the_optimum_on_tiny_pcmax(times: list[float], m: int) -> None:
    """On tiny P‖Cmax instances the packing search proves the optimum itself, and the closed-form
    P‖Cmax bounds never exceed it."""
    inst = pcmax(times, m)
    (comp,) = components(inst)
    best = pcmax_optimum(times, m)
    closed = bounds.identical_bound(comp)[0]
    assert closed <= best * (1 + TOL)
    bound = bounds.lower_bound(comp, work=5.0)
    assert abs(bound.value - best) <= 1e-9 * best


def test_pair_bound_is_tight_for_m_plus_one_equal_jobs() -> None:
    """Four jobs of 5 h on three officers: p_m + p_(m+1) = 10 h is the optimum."""
    (comp,) = components(pcmax([5.0] * 4, 3))
    value, name = bounds.identical_bound(comp)
    assert name == bounds.PIGEONHOLE
    assert abs(value - 1.0) < 1e-9


def test_pigeonhole_lifts_to_the_km_plus_one_largest_jobs() -> None:
    """Seven jobs of 3 h on three officers: one officer gets three of them (9 h)."""
    (comp,) = components(pcmax([3.0] * 7, 3, available=9.0))
    value, name = bounds.identical_bound(comp)
    assert abs(value - 1.0) < 1e-9
    assert name == bounds.PIGEONHOLE


def test_l2_refutes_what_the_area_bound_allows() -> None:
    """Three jobs of 6 on two bins of 10: the area (18 ≤ 20) fits, L2 (three jobs above C/2) not."""
    mach = bounds.machines(np.array([6, 6, 6]), np.array([1, 1, 1]), 2, 10.0)
    assert bounds.l2_refutes(mach, 10)
    assert not bounds.l2_refutes(mach, 12)
    assert bounds.identical_bound_units(mach)[0] == 12


def test_dff_refutes_what_l2_allows() -> None:
    """Five jobs of 4 on two bins of 10: neither area nor L2 refutes, u^(2) does (two per bin)."""
    mach = bounds.machines(np.array([4]), np.array([5]), 2, 10.0)
    assert not bounds.l2_refutes(mach, 10)
    assert bounds.dff_refutes(mach, 10)
    assert not bounds.dff_refutes(mach, 12)


def test_hall_bound_uses_the_officers_a_skill_confines_cases_to() -> None:
    """Skilled cases can only go to the one skilled officer: the bound is that officer's load."""
    inst = pcmax([4.0, 4.0, 1.0], 2)
    roster = inst.roster.with_columns(
        pl.when(pl.col("officer_id") == "M0")
        .then(pl.lit(["ns"]))
        .otherwise(pl.lit([], dtype=pl.List(pl.String)))
        .alias("skills")
    )
    cases = inst.cases.with_columns(
        pl.when(pl.col("effort_hours") == 4.0)
        .then(pl.lit(["ns"]))
        .otherwise(pl.lit([], dtype=pl.List(pl.String)))
        .alias("required_skills")
    )
    (comp,) = components(Instance(roster, cases, inst.config))
    value, name = bounds.hall_bound(comp)
    assert name == bounds.HALL
    assert abs(value - 0.8) < 1e-9
    assert bounds.lower_bound(comp, work=0).value >= value


def test_largest_case_counts_the_locked_load_and_the_handoff() -> None:
    """A moved case pays the handoff at every other officer; keeping it costs its effort only."""
    inst = pcmax([6.0], 2)
    cases = inst.cases.with_columns(current_officer_id=pl.lit("GONE"))
    (comp,) = components(Instance(inst.roster, cases, inst.config))
    value, name = bounds.largest_case_bound(comp)
    assert name == bounds.LARGEST
    assert abs(value - 0.75) < 1e-9  # (6 + 1.5 handoff) / 10
