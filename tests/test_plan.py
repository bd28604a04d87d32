"""build_plan: class counts become per-case rows that realize exactly the solution's flows."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assigncli.check import check_plan
from assigncli.config import Config
from assigncli.contract import PLAN_COLUMNS
from assigncli.plan import REASON_FULL, REASON_LOCKED, build_plan
from assigncli.problem import build_problem
from assigncli.solvers.solve import SolveOptions, solve
from tests.instances import Instance, random_instance
from tests.oracles import assert_valid
from tests.test_solve import cases, roster


def test_rows_follow_input_order_with_the_contract_columns() -> None:
    """One row per case, in input order, with exactly the contract's columns and dtypes."""
    inst = random_instance(3, n_cases=30, n_officers=4)
    problem = build_problem(inst.roster, inst.cases, inst.config)
    plan = build_plan(problem, solve(problem, SolveOptions(time_limit=5, workers=1)))
    assert plan.schema == pl.Schema(PLAN_COLUMNS)
    assert plan["case_id"].to_list() == inst.cases["case_id"].to_list()


def test_each_kind_of_case_gets_its_reason() -> None:
    """Locked, kept, released, new, full and unassignable cases each say why, in plain words."""
    r = roster(
        [
            {"officer_id": "A", "office": ["X"], "capacity_hours": 10.0, "max_cases": 3},
            {"officer_id": "B", "office": ["X"], "capacity_hours": 10.0, "max_cases": 2},
        ]
    )
    c = cases(
        [
            {
                "case_id": "lock",
                "office": "X",
                "effort_hours": 1.0,
                "current_officer_id": "A",
                "locked": True,
            },
            {"case_id": "kept", "office": "X", "effort_hours": 1.0, "current_officer_id": "B"},
            {"case_id": "gone", "office": "X", "effort_hours": 1.0, "current_officer_id": "Z"},
            {"case_id": "new1", "office": "X", "effort_hours": 1.0},
            {"case_id": "new2", "office": "X", "effort_hours": 1.0},
            {"case_id": "new3", "office": "X", "effort_hours": 1.0},
            {"case_id": "far", "office": "Y", "effort_hours": 1.0},
        ]
    )
    inst = Instance(r, c, Config(handoff_hours=0.0))
    problem = build_problem(inst.roster, inst.cases, inst.config)
    plan = build_plan(problem, solve(problem, SolveOptions(time_limit=5, workers=1)))
    reason = dict(zip(plan["case_id"], plan["reason"], strict=True))
    assert reason["lock"] == REASON_LOCKED
    assert reason["kept"].startswith("kept")
    assert reason["gone"].startswith("moved: ")
    assert reason["far"].startswith("unassignable: ")
    assert sorted(reason[k] for k in ("new1", "new2", "new3")).count(REASON_FULL) == 1
    assert_valid(check_plan(inst.roster, inst.cases, plan, inst.config))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_per_officer_counts_equal_the_solution_flows(seed: int) -> None:
    """What each officer receives from each pool is exactly the solution's flow count."""
    inst = random_instance(seed, n_cases=40, n_officers=5)
    problem = build_problem(inst.roster, inst.cases, inst.config)
    solution = solve(problem, SolveOptions(solver="scale", time_limit=5, workers=1))
    plan = build_plan(problem, solution)
    pools = problem.cases["pool"].to_numpy()
    officer_index = {o: k for k, o in enumerate(problem.officer_ids)}
    received = np.zeros((problem.n_pools, problem.n_officers), dtype=np.int64)
    released = np.zeros(problem.n_held, dtype=np.int64)
    held = problem.cases["held"].to_numpy()
    for row, (officer, pool) in enumerate(zip(plan["officer_id"], pools, strict=True)):
        if held[row] is not None and not np.isnan(held[row]):
            if officer != problem.officer_ids[problem.held_officer[int(held[row])]]:
                released[int(held[row])] += 1
            else:
                continue
        if officer is not None and pool is not None and not np.isnan(pool):
            received[int(pool), officer_index[officer]] += 1
    expected = np.zeros_like(received)
    np.add.at(expected, (solution.flow_pool, solution.flow_officer), solution.flow_count)
    assert (released == solution.released).all()
    assert (received == expected).all()
    assert plan["moved"].sum() == int(
        (
            plan["previous_officer_id"].is_not_null()
            & plan["officer_id"].is_not_null()
            & (plan["previous_officer_id"] != plan["officer_id"])
        ).sum()
    )
