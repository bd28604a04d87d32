"""Solver paths (exact and scale) against the independent checker, LP and brute-force oracles."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assigncli.analysis.baselines import greedy_effort
from assigncli.check import CheckReport, check_plan
from assigncli.config import Config, default_config, load_config
from assigncli.effort import estimate_effort
from assigncli.generate import generate_cases, generate_roster
from assigncli.plan import build_plan
from assigncli.problem import build_problem
from assigncli.result import Solution
from assigncli.solvers.component import build_component, evaluate
from assigncli.solvers.heuristics import lpt
from assigncli.solvers.lp import ComponentLP
from assigncli.solvers.solve import SolveOptions, solve
from assigncli.validate import load_inputs
from tests.instances import CASES_SCHEMA, ROSTER_SCHEMA, Instance, random_instance
from tests.oracles import assert_valid, brute_force, flatten

SOLVERS = ("exact", "scale")


def run(inst: Instance, **options: object) -> tuple[Solution, pl.DataFrame, CheckReport]:
    problem = build_problem(inst.roster, inst.cases, inst.config)
    opts = SolveOptions(**{"time_limit": 5.0, "workers": 1, **options})  # type: ignore[arg-type]
    solution = solve(problem, opts)
    plan = build_plan(problem, solution)
    report = check_plan(inst.roster, inst.cases, plan, inst.config)
    return solution, plan, report


def roster(rows: list[dict[str, object]]) -> pl.DataFrame:
    defaults = {"skills": [], "unavailable_days": 0.0, "max_cases": None, "active": True}
    return pl.DataFrame(
        [{**defaults, **r} for r in rows],
        schema=ROSTER_SCHEMA,
    )


def cases(rows: list[dict[str, object]]) -> pl.DataFrame:
    defaults: dict[str, object] = {
        "current_officer_id": None,
        "locked": False,
        "required_skills": [],
    }
    return pl.DataFrame(
        [{**defaults, **r} for r in rows],
        schema=CASES_SCHEMA,
    )


def officer_of(plan: pl.DataFrame, case_id: str) -> str | None:
    value = plan.filter(pl.col("case_id") == case_id)["officer_id"].item()
    return None if value is None else str(value)


# -- each constraint, feasible and infeasible ------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
def test_office_is_respected_and_uncovered_office_is_reported(solver: str) -> None:
    """A case goes only to an officer of its office; a case of an uncovered office is unassignable."""
    r = roster([{"officer_id": "A", "office": ["X"], "capacity_hours": 10.0}])
    c = cases(
        [
            {"case_id": "1", "office": "X", "effort_hours": 1.0},
            {"case_id": "2", "office": "Y", "effort_hours": 1.0},
        ]
    )
    _, plan, report = run(Instance(r, c, Config()), solver=solver)
    assert_valid(report)
    assert officer_of(plan, "1") == "A"
    assert officer_of(plan, "2") is None
    reason = plan.filter(pl.col("case_id") == "2")["reason"].item()
    assert "office Y" in reason


@pytest.mark.parametrize("solver", SOLVERS)
def test_required_skill_is_respected_and_missing_skill_is_reported(solver: str) -> None:
    """A case needing a skill goes to the officer who has it; nobody having it makes it unassignable."""
    r = roster(
        [
            {"officer_id": "A", "office": ["X"], "capacity_hours": 10.0},
            {"officer_id": "B", "office": ["X"], "capacity_hours": 10.0, "skills": ["ns"]},
        ]
    )
    c = cases(
        [
            {"case_id": "1", "office": "X", "effort_hours": 5.0, "required_skills": ["ns"]},
            {"case_id": "2", "office": "X", "effort_hours": 5.0, "required_skills": ["ns"]},
            {"case_id": "3", "office": "X", "effort_hours": 1.0, "required_skills": ["lang:zh"]},
        ]
    )
    _, plan, report = run(Instance(r, c, Config()), solver=solver)
    assert_valid(report)
    assert officer_of(plan, "1") == "B" and officer_of(plan, "2") == "B"
    assert officer_of(plan, "3") is None
    assert "lang:zh" in plan.filter(pl.col("case_id") == "3")["reason"].item()


@pytest.mark.parametrize("solver", SOLVERS)
def test_locked_case_stays_even_when_its_officer_is_overloaded(solver: str) -> None:
    """Locked cases stay put although moving them would balance the load."""
    r = roster(
        [
            {"officer_id": "A", "office": ["X"], "capacity_hours": 10.0},
            {"officer_id": "B", "office": ["X"], "capacity_hours": 10.0},
        ]
    )
    c = cases(
        [
            {
                "case_id": str(k),
                "office": "X",
                "effort_hours": 2.0,
                "current_officer_id": "A",
                "locked": True,
            }
            for k in range(4)
        ]
    )
    solution, plan, report = run(Instance(r, c, Config()), solver=solver)
    assert_valid(report)
    assert plan["officer_id"].to_list() == ["A"] * 4
    assert solution.certificate.objective == pytest.approx(0.8)


@pytest.mark.parametrize("solver", SOLVERS)
def test_lock_on_inactive_officer_cannot_be_kept(solver: str) -> None:
    """A locked case whose officer is inactive moves to an active officer."""
    r = roster(
        [
            {"officer_id": "A", "office": ["X"], "capacity_hours": 10.0, "active": False},
            {"officer_id": "B", "office": ["X"], "capacity_hours": 10.0},
        ]
    )
    c = cases(
        [
            {
                "case_id": "1",
                "office": "X",
                "effort_hours": 2.0,
                "current_officer_id": "A",
                "locked": True,
            }
        ]
    )
    _, plan, report = run(Instance(r, c, Config()), solver=solver)
    assert_valid(report)
    assert officer_of(plan, "1") == "B"
    assert plan["moved"].to_list() == [True]
    assert plan["locked"].to_list() == [False]


@pytest.mark.parametrize("solver", SOLVERS)
def test_max_cases_caps_an_officer_and_overflow_is_unassigned(solver: str) -> None:
    """No officer exceeds max_cases; cases beyond every cap are reported unassigned, never dropped."""
    r = roster(
        [
            {"officer_id": "A", "office": ["X"], "capacity_hours": 100.0, "max_cases": 2},
            {"officer_id": "B", "office": ["X"], "capacity_hours": 1.0, "max_cases": 1},
        ]
    )
    c = cases([{"case_id": str(k), "office": "X", "effort_hours": 1.0} for k in range(5)])
    solution, plan, report = run(Instance(r, c, Config()), solver=solver)
    assert_valid(report)
    assert report.assigned == 3 and report.unassigned == 2
    assert solution.certificate.unassigned == 2
    reasons = plan.filter(pl.col("officer_id").is_null())["reason"].to_list()
    assert all("max_cases" in reason for reason in reasons)


@pytest.mark.parametrize("solver", SOLVERS)
def test_officer_away_all_cycle_keeps_locked_cases_and_gets_nothing_else(solver: str) -> None:
    """Zero available hours: locked cases stay, unlocked ones move, no new case arrives."""
    r = roster(
        [
            {"officer_id": "A", "office": ["X"], "capacity_hours": 10.0, "unavailable_days": 28.0},
            {"officer_id": "B", "office": ["X"], "capacity_hours": 10.0},
        ]
    )
    c = cases(
        [
            {
                "case_id": "1",
                "office": "X",
                "effort_hours": 1.0,
                "current_officer_id": "A",
                "locked": True,
            },
            {"case_id": "2", "office": "X", "effort_hours": 1.0, "current_officer_id": "A"},
            {"case_id": "3", "office": "X", "effort_hours": 1.0},
        ]
    )
    _, plan, report = run(Instance(r, c, Config()), solver=solver)
    assert_valid(report)
    assert [officer_of(plan, k) for k in "123"] == ["A", "B", "B"]


@pytest.mark.parametrize("solver", SOLVERS)
def test_unavailable_days_shrink_capacity_and_shift_load(solver: str) -> None:
    """An officer away half the cycle gets about half the work of a colleague."""
    r = roster(
        [
            {"officer_id": "A", "office": ["X"], "capacity_hours": 10.0, "unavailable_days": 14.0},
            {"officer_id": "B", "office": ["X"], "capacity_hours": 10.0},
        ]
    )
    c = cases([{"case_id": str(k), "office": "X", "effort_hours": 1.0} for k in range(9)])
    solution, plan, report = run(Instance(r, c, Config()), solver=solver)
    assert_valid(report)
    counts = plan.group_by("officer_id").len().sort("officer_id")["len"].to_list()
    assert counts == [3, 6]
    assert solution.certificate.objective == pytest.approx(0.6)


@pytest.mark.parametrize("solver", SOLVERS)
def test_handoff_hours_count_in_the_receiving_load(solver: str) -> None:
    """Moving a case costs handoff hours, so a small imbalance is cheaper to keep than to fix."""
    r = roster(
        [
            {"officer_id": "A", "office": ["X"], "capacity_hours": 10.0},
            {"officer_id": "B", "office": ["X"], "capacity_hours": 10.0},
        ]
    )
    c = cases(
        [
            {"case_id": "1", "office": "X", "effort_hours": 1.0, "current_officer_id": "A"},
            {"case_id": "2", "office": "X", "effort_hours": 1.0, "current_officer_id": "A"},
        ]
    )
    solution, plan, report = run(Instance(r, c, Config(handoff_hours=1.5)), solver=solver)
    assert_valid(report)
    # Moving one case would give B 2.5 h (25%) against A's 20% now.
    assert plan["moved"].to_list() == [False, False]
    assert solution.certificate.objective == pytest.approx(0.2)


@pytest.mark.parametrize("solver", SOLVERS)
def test_max_moves_budget_is_respected(solver: str) -> None:
    """With a budget of one discretionary move, at most one held case moves."""
    r = roster(
        [
            {"officer_id": "A", "office": ["X"], "capacity_hours": 10.0},
            {"officer_id": "B", "office": ["X"], "capacity_hours": 10.0},
        ]
    )
    c = cases(
        [
            {"case_id": str(k), "office": "X", "effort_hours": 2.0, "current_officer_id": "A"}
            for k in range(6)
        ]
    )
    c0 = Instance(r, c, Config(handoff_hours=0.0))
    _, plan_free, _ = run(c0, solver=solver)
    assert plan_free["moved"].sum() == 3
    _, plan, report = run(c0, solver=solver, max_moves=1)
    assert_valid(report)
    assert plan["moved"].sum() == 1


@pytest.mark.parametrize("solver", SOLVERS)
def test_releases_a_case_cap_forces_do_not_use_the_move_budget(solver: str) -> None:
    """An officer holding 5 cases with a cap of 2 releases 3 even with --max-moves 0."""
    r = roster(
        [
            {"officer_id": "A", "office": ["X"], "capacity_hours": 10.0, "max_cases": 2},
            {"officer_id": "B", "office": ["X"], "capacity_hours": 10.0},
        ]
    )
    c = cases(
        [
            {"case_id": str(k), "office": "X", "effort_hours": 1.0, "current_officer_id": "A"}
            for k in range(5)
        ]
    )
    solution, plan, report = run(Instance(r, c, Config()), solver=solver, max_moves=0)
    assert_valid(report)
    assert plan["moved"].sum() == 3
    assert solution.certificate.status != "time_limit"


# -- bounds -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(15))
def test_exact_path_matches_exhaustive_search_on_tiny_instances(seed: int) -> None:
    """On instances small enough to enumerate, the exact path finds the true optimum."""
    inst = random_instance(seed, n_cases=7, n_officers=3, n_offices=1)
    solution, _, report = run(inst, solver="exact")
    assert_valid(report)
    unassigned, best_peak = brute_force(
        flatten(inst.roster, inst.cases, inst.config), inst.config.handoff_hours
    )
    assert report.unassigned == unassigned
    assert solution.certificate.lower_bound <= best_peak + 1e-9
    assert report.max_utilization == pytest.approx(best_peak, rel=1e-4, abs=1e-9)


# -- properties over random instances ---------------------------------------------------------

instances = st.builds(
    random_instance,
    seed=st.integers(0, 10_000),
    n_cases=st.integers(1, 50),
    n_officers=st.integers(1, 8),
    n_offices=st.integers(1, 3),
    caps=st.booleans(),
    locks=st.booleans(),
    handoff=st.sampled_from([0.0, 0.5, 1.5]),
    continuous_effort=st.booleans(),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances, solver=st.sampled_from(SOLVERS))
def test_every_plan_passes_the_checker_and_respects_its_bound(inst: Instance, solver: str) -> None:
    """Random instances: the checker passes, the peak is ≥ the bound, locks are kept."""
    solution, plan, report = run(inst, solver=solver, time_limit=2.0)
    assert_valid(report)
    cert = solution.certificate
    assert report.max_utilization is None or report.max_utilization >= cert.lower_bound - 1e-9
    assert report.max_utilization is None or report.max_utilization == pytest.approx(
        cert.objective, rel=1e-9, abs=1e-12
    )
    locked = plan.filter(pl.col("locked"))
    assert (locked["officer_id"] == locked["previous_officer_id"]).all()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances)
def test_lp_by_officer_type_has_the_same_bound_and_a_valid_plan(inst: Instance) -> None:
    """Random instances: the LP over officer types proves the same bound as the LP over
    officers, and the plan that starts from it passes the checker above its bound."""
    problem = build_problem(inst.roster, inst.cases, inst.config)
    for part in problem.components():
        comp = build_component(problem, part)
        by_officer = ComponentLP(comp).solve(levels=2)
        by_type = ComponentLP(comp, by_type=True).solve(levels=2)
        assert by_type.peak == pytest.approx(by_officer.peak, rel=1e-6, abs=1e-9)
        assert by_type.assigned == pytest.approx(by_officer.assigned)
    solution, plan, report = run(inst, solver="scale", aggregate_size_limit=0)
    assert_valid(report)
    assert report.max_utilization is None or report.max_utilization >= (
        solution.certificate.lower_bound - 1e-9
    )
    locked = plan.filter(pl.col("locked"))
    assert (locked["officer_id"] == locked["previous_officer_id"]).all()


larger_instances = st.builds(
    random_instance,
    seed=st.integers(0, 10_000),
    n_cases=st.integers(50, 400),
    n_officers=st.integers(3, 14),
    n_offices=st.integers(1, 3),
    caps=st.booleans(),
    locks=st.booleans(),
    handoff=st.sampled_from([0.0, 1.5]),
    continuous_effort=st.booleans(),
)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=larger_instances, solver=st.sampled_from(["auto", *SOLVERS]))
def test_same_seed_and_one_worker_give_the_same_plan(inst: Instance, solver: str) -> None:
    """Determinism: with one worker the budget is deterministic work, not wall time, so two runs
    with the same seed give byte-identical plans, on an idle or a loaded machine. The work is
    small against a generous time limit: the wall clock (the safety net) never decides."""
    options = {"solver": solver, "seed": 7, "workers": 1, "time_limit": 40.0, "work_rate": 0.01}
    _, first, _ = run(inst, **options)
    _, second, report = run(inst, **options)
    assert_valid(report)
    assert first.equals(second)


@pytest.mark.parametrize("by_type", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_scale_path_is_close_to_the_bound_on_a_few_thousand_cases(seed: int, by_type: bool) -> None:
    """3,000 cases, 40 officers: the scale path lands within 1% of the LP bound."""
    inst = random_instance(seed, n_cases=3000, n_officers=40, n_offices=3)
    limit = 0 if by_type else 10**9
    solution, _, report = run(inst, solver="scale", time_limit=10.0, aggregate_size_limit=limit)
    assert_valid(report)
    assert solution.certificate.gap <= 0.01


@pytest.mark.parametrize("seed", range(2))
def test_exact_path_is_close_to_the_bound_on_a_few_thousand_cases(seed: int) -> None:
    """3,000 cases, 40 officers: CP-SAT ends within 1% of the LP bound in a few seconds."""
    inst = random_instance(seed, n_cases=3000, n_officers=40, n_offices=3)
    solution, _, report = run(inst, solver="exact", time_limit=6.0, workers=2)
    assert_valid(report)
    assert solution.certificate.gap <= 0.01


def test_exact_path_is_never_above_the_scale_path_when_caps_bind() -> None:
    """Generated docket with trainee caps: the exact path, which starts from the scale path's
    plan, ends no higher (level 1 used to replace that start with an arbitrary plan)."""
    roster = generate_roster(160, 5, seed=11)
    cases_ = estimate_effort(generate_cases(roster, 20_000, seed=11), default_config())
    inst = Instance(roster, cases_, default_config())
    scale, _, _ = run(inst, solver="scale", time_limit=20.0, work_rate=0.02)
    exact, _, report = run(inst, solver="exact", time_limit=20.0, work_rate=0.03)
    assert_valid(report)
    assert exact.certificate.unassigned <= scale.certificate.unassigned
    assert exact.certificate.objective <= scale.certificate.objective * (1 + 1e-9)


def plan_stats(inst: Instance, plan: pl.DataFrame) -> tuple[float, float, float]:
    """(highest, lowest, standard deviation) of utilization, recomputed by the checker."""
    report = check_plan(inst.roster, inst.cases, plan, inst.config)
    assert_valid(report)
    util = report.officers["utilization"].drop_nulls().to_numpy()
    return float(util.max()), float(util.min()), float(util.std())


def test_balance_beats_greedy_on_the_bundled_example() -> None:
    """The example docket: the plan's peak is no higher than greedy's, its lowest utilization is
    at least greedy's, and its spread is no larger."""
    folder = Path(__file__).resolve().parent.parent / "examples"
    config = load_config(folder / "assign.toml")
    inputs = load_inputs(folder / "roster.csv", folder / "cases.csv", config)
    inst = Instance(inputs.roster, estimate_effort(inputs.cases, config, audit=False), config)
    _, plan, _ = run(inst, time_limit=10.0)
    problem = build_problem(inst.roster, inst.cases, inst.config)
    high, low, spread = plan_stats(inst, plan)
    g_high, g_low, g_spread = plan_stats(inst, greedy_effort(problem))
    assert high <= g_high and low >= g_low and spread <= g_spread


@pytest.mark.parametrize("seed", range(2))
def test_never_worse_than_longest_effort_first_on_many_small_cases(seed: int) -> None:
    """Many small new cases, min-max only (no caps, locks or current officers): the plan's peak is
    at most plain LPT's."""
    inst = random_instance(seed, n_cases=4000, n_officers=50, n_offices=1, caps=False, locks=False)
    inst = Instance(inst.roster, inst.cases.with_columns(current_officer_id=None), inst.config)
    solution, _, report = run(inst, time_limit=5.0)
    assert_valid(report)
    problem = build_problem(inst.roster, inst.cases, inst.config)
    greedy_peak = max(
        evaluate(comp, lpt(comp)).peak
        for comp in (build_component(problem, part) for part in problem.components())
    )
    assert solution.certificate.objective <= greedy_peak * (1 + 1e-12)


@pytest.mark.parametrize("seed", [0])
def test_search_closes_most_of_the_gap_on_continuous_effort(seed: int) -> None:
    """1,000 cases with an effort each (no classes aggregate), every constraint: with one worker
    (a deterministic budget) the plan ends within 1% of its bound and below LPT."""
    inst = random_instance(seed, n_cases=1000, n_officers=16, n_offices=2, continuous_effort=True)
    solution, _, report = run(inst, time_limit=60.0, work_rate=0.04)
    assert_valid(report)
    problem = build_problem(inst.roster, inst.cases, inst.config)
    greedy_peak = max(
        evaluate(comp, lpt(comp)).peak
        for comp in (build_component(problem, part) for part in problem.components())
    )
    assert solution.certificate.objective <= greedy_peak
    assert solution.certificate.gap <= 0.01
