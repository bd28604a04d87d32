"""The main job as one library call: read → validate → effort → group → solve → plan → check.

Everything `assign plan` does is here, callable from Python; the CLI only renders and writes.
Each phase is timed, with resident and peak memory, for `--verbose` and the benchmarks.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl
import psutil

from assigncli import __version__
from assigncli.analysis.robustness import Robustness, RobustnessOptions, assess_robustness
from assigncli.check import CheckReport, check_plan, officer_summary
from assigncli.config import Config
from assigncli.effort import estimate_effort
from assigncli.errors import AssignError, InputIssue, IssueLog
from assigncli.plan import build_plan
from assigncli.problem import Problem, build_problem, describe
from assigncli.result import Solution
from assigncli.solvers.solve import SolveOptions, solve
from assigncli.validate import Inputs, load_inputs


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: float
    rss_mb: float  # resident memory at the end of the phase
    peak_mb: float  # peak resident memory of the process so far

    def to_dict(self) -> dict[str, object]:
        return {
            "phase": self.name,
            "seconds": round(self.seconds, 3),
            "rss_mb": round(self.rss_mb, 1),
            "peak_mb": round(self.peak_mb, 1),
        }


def peak_rss_mb() -> float:
    """Peak resident set size of this process (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@dataclass
class PhaseClock:
    """Times named phases; `on_start` lets a progress display show the current phase."""

    on_start: Callable[[str], None] | None = None
    phases: list[Phase] = field(default_factory=list)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if self.on_start is not None:
            self.on_start(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            rss = psutil.Process().memory_info().rss / (1024 * 1024)
            self.phases.append(Phase(name, time.perf_counter() - start, rss, peak_rss_mb()))


@dataclass(frozen=True)
class PlanRun:
    """Everything one `assign plan` produced, before anything is written."""

    inputs: Inputs  # its cases are `cases`: validated, with effort_hours and required_skills set
    config: Config
    options: SolveOptions
    cases: pl.DataFrame  # validated cases with effort_hours and required_skills estimated
    problem: Problem
    solution: Solution
    plan: pl.DataFrame
    officers: pl.DataFrame
    check: CheckReport
    phases: tuple[Phase, ...]
    robustness: Robustness | None = None
    sheet: str | None = None  # the worksheet read from Excel inputs (None: the first)

    @property
    def warnings(self) -> tuple[InputIssue, ...]:
        return self.inputs.problems


def run_plan(
    roster_path: Path,
    cases_path: Path,
    config: Config,
    options: SolveOptions,
    *,
    clock: PhaseClock | None = None,
    progress: Callable[[str], None] | None = None,
    sheet: str | None = None,
    robustness: RobustnessOptions | None = None,
    robustness_progress: Callable[[int, int], None] | None = None,
) -> PlanRun:
    """Solve one planning cycle. Raises AssignError subclasses for every user-caused failure.

    ``sheet`` names the worksheet read from Excel inputs (default: the first). With
    ``robustness``, the fixed plan is then evaluated under wrong effort figures
    (`analysis.robustness`); ``robustness_progress`` receives (draws done, draws).
    """
    clock = clock or PhaseClock()
    with clock.phase("read+validate"):
        inputs = load_inputs(roster_path, cases_path, config, sheet=sheet)
    with clock.phase("effort"):
        # Planning needs the hours and skills only, not the audit columns of `assign effort`.
        # Robustness replays the effort model per pattern, which the audit columns name.
        model_issues = IssueLog()
        cases = estimate_effort(
            inputs.cases,
            config,
            audit=robustness is not None,
            issues=model_issues,
            cases_file=inputs.cases_file,
        )
        # The validated table without effort would only hold its replaced columns in memory.
        inputs = replace(inputs, cases=cases, problems=(*inputs.problems, *model_issues.problems))
    with clock.phase("group"):
        problem = build_problem(inputs.roster, cases, config)
    with clock.phase("solve"):
        solution = solve(problem, options, progress)
    with clock.phase("disaggregate"):
        plan = build_plan(problem, solution)
    with clock.phase("check"):
        report = check_plan(inputs.roster, cases, plan, config)
        if not report.ok:
            # A plan that fails the independent checker is a bug, never something to write.
            raise AssignError(
                "internal error: the plan failed the independent check: "
                + "; ".join(report.violations)
            )
        officers = officer_summary(inputs.roster, cases, plan, config, checked=report)
    assessed = None
    if robustness is not None:
        with clock.phase("robustness"):
            ids = pl.Series(problem.officer_ids, dtype=pl.String)
            final = plan["officer_id"].cast(pl.Enum(ids), strict=False).to_physical()
            assessed = assess_robustness(
                cases,
                final.cast(pl.Int64).fill_null(-1).to_numpy(),
                plan["moved"].to_numpy(),
                problem.available,
                problem.officer_ids,
                config,
                robustness,
                progress=robustness_progress,
            )
    return PlanRun(
        inputs=inputs,
        config=config,
        options=options,
        cases=cases,
        problem=problem,
        solution=solution,
        plan=plan,
        officers=officers,
        check=report,
        phases=tuple(clock.phases),
        robustness=assessed,
        sheet=sheet,
    )


def manifest(run: PlanRun, input_hashes: dict[str, str], outputs: dict[str, str]) -> dict[str, Any]:
    """The run manifest: inputs, config, versions, seed, certificate, sizes and timings."""
    from importlib.metadata import version

    cert = run.solution.certificate
    return {
        "assigncli_version": __version__,
        "versions": {
            "python": sys.version.split()[0],
            "polars": pl.__version__,
            "ortools": version("ortools"),
        },
        "created_unix": round(time.time(), 3),
        "inputs": input_hashes,
        # Where the inputs were read, resolved, so that `assign explain` can re-read and re-hash them.
        "input_files": {
            "roster": str(Path(run.inputs.roster_file).resolve()),
            "cases": str(Path(run.inputs.cases_file).resolve()),
            "sheet": run.sheet,
        },
        "outputs": outputs,
        "config": run.config.to_dict(),
        "options": {
            "solver": run.options.solver,
            "time_limit": run.options.time_limit,
            "seed": run.options.seed,
            "workers": run.options.resolved_workers(),
            "max_moves": run.options.max_moves,
        },
        "certificate": cert.to_dict(),
        "checked": {
            "ok": run.check.ok,
            "max_utilization": run.check.max_utilization,
            "min_utilization": run.check.min_utilization,
            "moves": run.check.moves,
            "assigned": run.check.assigned,
            "unassigned": run.check.unassigned,
        },
        "problem": describe(run.problem),
        "components": [c.to_dict() for c in run.solution.components],
        "phases": [p.to_dict() for p in run.phases],
        "warnings": [p.to_dict() for p in run.warnings],
        **({"robustness": run.robustness.to_dict()} if run.robustness is not None else {}),
    }
