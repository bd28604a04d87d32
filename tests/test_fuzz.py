"""Fuzz: random small instances of every shape through every solver path and the checker.

`make test` runs the first FUZZ_BATCHES batches (2 × 100 instances); `make fuzz` runs all ten
(1,000 instances). Each instance has its own seed, so a failure names the one to replay.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from assigncli.check import check_plan
from assigncli.plan import build_plan
from assigncli.problem import build_problem
from assigncli.result import SolveStatus
from assigncli.solvers.solve import SolveOptions, SolverChoice, solve
from tests.instances import random_instance
from tests.oracles import assert_valid

BATCH = 100
BATCHES = 10
RUN = int(os.environ.get("FUZZ_BATCHES", "2"))
SOLVERS: tuple[SolverChoice, ...] = ("auto", "exact", "scale")


@pytest.mark.parametrize("batch", range(min(RUN, BATCHES)))
def test_random_instances_never_crash_and_always_pass_the_checker(batch: int) -> None:
    """Every instance of the batch gives a valid plan whose certificate agrees with the checker."""
    for seed in range(batch * BATCH, (batch + 1) * BATCH):
        rng = np.random.default_rng(seed)
        inst = random_instance(
            seed,
            n_cases=int(rng.integers(1, 30)),
            n_officers=int(rng.integers(1, 6)),
            n_offices=int(rng.integers(1, 3)),
            caps=bool(rng.random() < 0.7),
            locks=bool(rng.random() < 0.7),
            handoff=float(rng.choice([0.0, 0.5, 1.5])),
            continuous_effort=bool(rng.random() < 0.5),
        )
        problem = build_problem(inst.roster, inst.cases, inst.config)
        options = SolveOptions(solver=SOLVERS[seed % 3], time_limit=1.0, workers=1, seed=seed)
        solution = solve(problem, options)
        report = check_plan(inst.roster, inst.cases, build_plan(problem, solution), inst.config)
        try:
            assert_valid(report)
            cert = solution.certificate
            assert cert.unassigned == report.unassigned
            assert cert.lower_bound <= cert.objective
            if report.max_utilization is not None:
                assert report.max_utilization == pytest.approx(cert.objective, rel=1e-9, abs=1e-12)
            assert (cert.status is SolveStatus.OPTIMAL) == (cert.gap == 0.0)
        except AssertionError as exc:
            raise AssertionError(f"fuzz seed {seed}: {exc}") from exc
