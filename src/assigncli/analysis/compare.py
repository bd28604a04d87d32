"""`assign compare`: the optimized plan beside the naive baselines, one metric table for all.

`compare_files` runs the whole plan pipeline (read, validate, effort, group, solve, check), then builds
every baseline over the same problem and evaluates each plan with `metrics.evaluate_plan`. Every
baseline must pass the independent checker, except the status quo, whose rule breaks are today's
and are counted instead (see `baselines`). Plans come in a fixed order: the status quo, the naive
baselines, greedy by effort, then the optimized plan.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from assigncli.analysis.baselines import BASELINES, build_baselines
from assigncli.analysis.metrics import (
    METRICS,
    MetricSpec,
    PlanEvaluation,
    PlanMetrics,
    evaluate_plan,
)
from assigncli.check import check_plan
from assigncli.config import Config
from assigncli.errors import AssignError, InputIssue
from assigncli.pipeline import (
    Phase,
    PhaseClock,
    PlanRun,
    finish_seconds,
    run_plan,
)
from assigncli.problem import ORPHAN
from assigncli.solvers.solve import Progress, SolveOptions

__all__ = [
    "OPTIMIZED",
    "ComparedPlan",
    "Comparison",
    "compare_files",
    "compare_with_baselines",
]

OPTIMIZED = "optimized"
OPTIMIZED_LABEL = "optimized"
STATUS_QUO = "status_quo"
# Building, checking and evaluating the five baselines and the plan (`assign compare -v`, 100k
# cases on 2 busy cores: 3.1 s), kept out of the solver's share of the time limit.
_BASELINES_SECONDS = 0.5
_BASELINES_SECONDS_PER_CASE = 2.5e-5


@dataclass(frozen=True, eq=False)
class ComparedPlan:
    """One plan of a comparison, with its evaluation and its moves split by cause."""

    name: str
    label: str
    kind: Literal["baseline", "optimized"]
    plan: pl.DataFrame
    evaluation: PlanEvaluation
    forced_moves: int  # cases whose officer cannot keep them (left, inactive, unqualified)

    @property
    def metrics(self) -> PlanMetrics:
        return self.evaluation.metrics

    @property
    def violations(self) -> tuple[str, ...]:
        return self.evaluation.check.violations

    @property
    def other_moves(self) -> int:
        return self.metrics.moves - self.forced_moves


@dataclass(frozen=True, eq=False)
class Comparison:
    """The optimized plan and the baselines, evaluated alike."""

    run: PlanRun
    plans: tuple[ComparedPlan, ...]
    phases: tuple[Phase, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.plans)

    def plan(self, name: str) -> ComparedPlan:
        for p in self.plans:
            if p.name == name:
                return p
        raise KeyError(name)

    def value(self, name: str, metric: str) -> float | None:
        value = getattr(self.plan(name).metrics, metric)
        return None if value is None else float(value)

    def best(self, spec: MetricSpec) -> tuple[str, ...]:
        """Plans with the best value of a metric (ties included); none when no direction is better.

        Every plan competes, the status quo too, so that no other column beats a marked value;
        whether a plan keeps the rules is its own metric (`rule_breaks`).
        """
        if spec.better is None:
            return ()
        values = {n: self.value(n, spec.key) for n in self.names}
        known = {n: v for n, v in values.items() if v is not None and math.isfinite(v)}
        if not known:
            return ()
        target = min(known.values()) if spec.better == "lower" else max(known.values())
        tolerance = 1e-9 * max(1.0, abs(target))
        return tuple(n for n, v in known.items() if abs(v - target) <= tolerance)

    def table(self) -> pl.DataFrame:
        """Metrics as rows, plans as columns (values as floats; see metrics.METRICS for units)."""
        data: dict[str, list[Any]] = {"metric": [s.key for s in METRICS]}
        for name in self.names:
            data[name] = [self.value(name, s.key) for s in METRICS]
        schema: dict[str, Any] = {"metric": pl.String, **dict.fromkeys(self.names, pl.Float64)}
        return pl.DataFrame(data, schema=schema)

    def to_dict(self) -> dict[str, Any]:
        cert = self.run.solution.certificate
        return {
            "plans": [
                {
                    "name": p.name,
                    "label": p.label,
                    "kind": p.kind,
                    "metrics": p.metrics.to_dict(),
                    "forced_moves": p.forced_moves,
                    "rule_breaks": dict(p.evaluation.breaks),
                    "violations": list(p.violations),
                }
                for p in self.plans
            ],
            "metrics": {s.key: {n: self.value(n, s.key) for n in self.names} for s in METRICS},
            "best": {s.key: list(self.best(s)) for s in METRICS if s.better is not None},
            "certificate": cert.to_dict(),
            "offices": self.plan(self.names[-1]).evaluation.offices.to_dicts(),
        }


def _forced_moves(run: PlanRun, plan: pl.DataFrame) -> int:
    """Moved cases whose officer could not keep them (both tables are in input order)."""
    status = run.problem.cases["status"]
    return int((plan["moved"] & (status == ORPHAN)).sum())


def compare_with_baselines(
    run: PlanRun,
    *,
    baselines: Sequence[str] = BASELINES,
    seed: int | None = None,
    clock: PhaseClock | None = None,
) -> Comparison:
    """Build and evaluate the baselines beside an already solved plan run.

    A baseline other than the status quo that fails the checker is a bug, reported as such.
    """
    clock = clock or PhaseClock()
    roster, cases, config = run.inputs.roster, run.cases, run.config
    with clock.phase("baselines"):
        built = build_baselines(
            run.problem,
            roster,
            seed=run.options.seed if seed is None else seed,
            names=baselines,
        )
    compared: list[ComparedPlan] = []
    with clock.phase("metrics"):
        for baseline in built:
            report = check_plan(roster, cases, baseline.plan, config)
            if not report.ok and baseline.name != STATUS_QUO:
                raise AssignError(
                    f"internal error: the {baseline.label} baseline failed the independent check: "
                    + "; ".join(report.violations)
                )
            compared.append(
                ComparedPlan(
                    baseline.name,
                    baseline.label,
                    "baseline",
                    baseline.plan,
                    evaluate_plan(roster, cases, baseline.plan, config, check=report),
                    _forced_moves(run, baseline.plan),
                )
            )
        compared.append(
            ComparedPlan(
                OPTIMIZED,
                OPTIMIZED_LABEL,
                "optimized",
                run.plan,
                evaluate_plan(roster, cases, run.plan, config, check=run.check),
                _forced_moves(run, run.plan),
            )
        )
    return Comparison(run, tuple(compared), tuple(clock.phases))


def compare_files(
    roster_path: Path,
    cases_path: Path,
    config: Config,
    options: SolveOptions,
    *,
    clock: PhaseClock | None = None,
    progress: Progress | None = None,
    on_warnings: Callable[[tuple[InputIssue, ...]], None] | None = None,
    extra_seconds: float = 0.0,
    sheet: str | None = None,
) -> Comparison:
    """Solve one cycle and compare it with every baseline, all within `options.time_limit`
    (`extra_seconds`: the caller's own work after the comparison, e.g. a report). Raises
    AssignError subclasses."""
    clock = clock or PhaseClock()
    run = run_plan(
        roster_path,
        cases_path,
        config,
        options,
        clock=clock,
        progress=progress,
        on_warnings=on_warnings,
        reserve=lambda n: baselines_seconds(n) + extra_seconds,
        sheet=sheet,
    )
    return compare_with_baselines(run, clock=clock)


def baselines_seconds(n_cases: int) -> float:
    """Estimated seconds to build, check and evaluate every baseline (and the plan itself)."""
    return finish_seconds(n_cases) + _BASELINES_SECONDS + _BASELINES_SECONDS_PER_CASE * n_cases
