"""The main job as library calls: read → validate → effort → group → solve → plan → check
(`run_plan`), then the plan, officer summary and manifest committed together (`write_plan`).

Everything `assign plan` does is here, callable from Python; the CLI only parses and renders.
Each phase is timed, with resident and peak memory, for `--verbose` and the benchmarks.

`--time-limit` bounds the whole run: the clock starts with the command, and the solver gets what
is left once the inputs are read, validated, estimated and grouped, less an estimate of what
building, checking and writing the plan will take (`finish_seconds`). A stop request
(`interrupt`, Ctrl-C) is honoured between phases and before anything is committed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl
import psutil

from assigncli import __version__, interrupt
from assigncli.analysis.robustness import Robustness, RobustnessOptions, assess_robustness
from assigncli.check import CheckReport, check_plan, officer_summary
from assigncli.config import Config
from assigncli.effort import estimate_effort
from assigncli.errors import AssignError, InputError, InputIssue, IssueLog
from assigncli.plan import build_plan, lpt_seconds, with_lpt
from assigncli.problem import Problem, build_problem, describe
from assigncli.result import Solution
from assigncli.solvers.solve import Progress, SolveOptions, solve
from assigncli.validate import Inputs, load_inputs
from assigncli.write import OutputPaths, Writer, output_paths, write_plan_set

logger = logging.getLogger(__name__)

# What building, checking and writing the plan take after the solve, kept out of the solver's
# share of the time limit: a fixed part plus a part per case. Measured on 2 cores at 7.5M cases
# (issue 17): 2.7 s with the machine idle, 4.1 s with a load average of 2.3; 0.5 µs a case
# (3.75 s) leaves a loaded national run a few tenths over its limit and an idle one 1 s under
# (0.6 µs left an idle national run 2.4 s of its 15 s unused).
FINISH_SECONDS = 0.3
FINISH_SECONDS_PER_CASE = 0.5e-6
# Longest effort first runs as a final candidate when its estimated time is at most this share
# of the limit; its time comes out of the solver's wall-clock share only (the deterministic
# budget, and so every one-worker plan, does not depend on it).
LPT_SHARE = 0.15
# The solver's share never drops below this: even a run whose reading took all the time gets a
# greedy plan polished for a moment rather than no plan.
MIN_SOLVE_SECONDS = 0.2


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
    """Times named phases from the start of the run (`started`, time.perf_counter()); `on_start`
    lets a progress display show the current phase. A stop request ends the run at the next
    phase boundary (interrupt.InterruptError)."""

    on_start: Callable[[str], None] | None = None
    phases: list[Phase] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @contextmanager
    def phase(self, name: str, *, committing: bool = False) -> Iterator[None]:
        """Time the block as phase `name`; `committing`: the block ends by committing output,
        after which a stop request no longer applies."""
        interrupt.check()
        logger.info("%s (%.1f s since the start)", name, self.elapsed())
        if self.on_start is not None:
            self.on_start(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            rss = psutil.Process().memory_info().rss / (1024 * 1024)
            self.phases.append(Phase(name, time.perf_counter() - start, rss, peak_rss_mb()))
        if not committing:
            interrupt.check()


def finish_seconds(n_cases: int) -> float:
    """Estimated seconds to build, check and write the plan of `n_cases` cases."""
    return FINISH_SECONDS + FINISH_SECONDS_PER_CASE * n_cases


def solve_budget(time_limit: float, elapsed: float, reserve: float) -> float:
    """The solver's share of `time_limit` seconds when `elapsed` have gone and `reserve` are
    kept for what follows the solve."""
    return max(MIN_SOLVE_SECONDS, time_limit - elapsed - reserve)


@dataclass(frozen=True)
class PlanRun:
    """Everything one `assign plan` produced, before anything is written."""

    inputs: Inputs  # its cases are `cases`: validated, with effort_hours and required_skills set
    config: Config
    options: SolveOptions  # as asked; the solver ran with `solve_seconds` of its time limit
    cases: pl.DataFrame  # validated cases with effort_hours and required_skills estimated
    problem: Problem
    solution: Solution
    plan: pl.DataFrame
    officers: pl.DataFrame
    check: CheckReport
    phases: tuple[Phase, ...]
    input_hashes: Mapping[str, str] = field(default_factory=dict)  # SHA-256 of the bytes read
    solve_seconds: float = 0.0  # the solver's share of the time limit
    robustness: Robustness | None = None
    sheet: str | None = None  # the worksheet read from Excel inputs (None: the first)

    @property
    def warnings(self) -> tuple[InputIssue, ...]:
        return self.inputs.problems


def _sha256(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None  # the reader reports why the file cannot be read


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def _read_hashed(
    roster_path: Path, cases_path: Path, config: Config, sheet: str | None
) -> tuple[Inputs, dict[str, str]]:
    """Read and validate both inputs, hashing each file's bytes beside the read (hashlib releases
    the GIL). A file replaced or rewritten while it was read is an input error: the hash would
    not be that of what was read."""
    paths = {"roster": roster_path, "cases": cases_path}
    before = {role: _identity(path) for role, path in paths.items()}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="assigncli-hash") as pool:
        hashing: dict[str, Future[str | None]] = {
            role: pool.submit(_sha256, path) for role, path in paths.items()
        }
        inputs = load_inputs(roster_path, cases_path, config, sheet=sheet)
        hashes = {role: future.result() for role, future in hashing.items()}
    for role, path in paths.items():
        digest = hashes[role]
        if digest is None or _identity(path) != before[role]:
            problem = InputIssue(
                "error",
                str(path),
                "the file changed while it was being read; run again once it is complete",
                code="changed_while_read",
            )
            raise InputError(problem.render(), [problem])
    return inputs, {role: str(digest) for role, digest in hashes.items()}


def run_plan(
    roster_path: Path,
    cases_path: Path,
    config: Config,
    options: SolveOptions,
    *,
    clock: PhaseClock | None = None,
    progress: Progress | None = None,
    on_warnings: Callable[[tuple[InputIssue, ...]], None] | None = None,
    reserve: Callable[[int], float] = finish_seconds,
    sheet: str | None = None,
    robustness: RobustnessOptions | None = None,
    robustness_progress: Callable[[int, int], None] | None = None,
) -> PlanRun:
    """Solve one planning cycle within `options.time_limit` seconds from `clock.started`.

    `on_warnings` receives the inputs' warnings before the solve starts; `reserve(n_cases)` is
    the time kept for what follows the solve (the caller's own work included). Raises AssignError
    subclasses for every user-caused failure, interrupt.InterruptError on a stop request.
    ``sheet`` names the worksheet read from Excel inputs (default: the first). With
    ``robustness``, the fixed plan is then evaluated under wrong effort figures
    (`analysis.robustness`; its time belongs in `reserve`); ``robustness_progress`` receives
    (draws done, draws).
    """
    clock = clock or PhaseClock()
    with clock.phase("read+validate"):
        inputs, hashes = _read_hashed(roster_path, cases_path, config, sheet)
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
    if on_warnings is not None and inputs.problems:
        on_warnings(inputs.problems)
    with clock.phase("group"):
        problem = build_problem(inputs.roster, cases, config)
    # Longest effort first as a final candidate, where it costs a small share of the limit (on a
    # national docket it takes seconds and ends tens of percent above the plan).
    lpt_cost = lpt_seconds(problem)
    lpt_reserve = lpt_cost if lpt_cost <= LPT_SHARE * options.time_limit else None
    if lpt_reserve is None:
        logger.info(
            "longest effort first skipped: about %.1f s, over %.0f%% of the %g s limit",
            lpt_cost,
            100 * LPT_SHARE,
            options.time_limit,
        )
    budget = solve_budget(
        options.time_limit, clock.elapsed(), reserve(cases.height) + (lpt_reserve or 0.0)
    )
    if budget <= MIN_SOLVE_SECONDS:
        logger.warning(
            "the time limit of %g s is used up before the solve (%.1f s so far, %.1f s needed "
            "after it): the solver gets its minimum and the plan may be far from the bound",
            options.time_limit,
            clock.elapsed(),
            reserve(cases.height),
        )
    with clock.phase("solve"):
        # The clock decides the deadline; the deterministic budget must not depend on how long
        # reading took, so it is sized from the limit less what comes after the solve.
        work_limit = max(MIN_SOLVE_SECONDS, options.time_limit - reserve(cases.height))
        solution = solve(
            problem, replace(options, time_limit=budget, work_limit=work_limit), progress
        )
    with clock.phase("disaggregate"):
        # Never worse than longest effort first on the same cases (kept only if it is better).
        if lpt_reserve is not None:
            # The clock is only the safety net: the estimate keeps it from binding.
            deadline = clock.started + options.time_limit - reserve(cases.height)
            solution = with_lpt(problem, solution, options.max_moves, deadline=deadline)
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
        input_hashes=hashes,
        solve_seconds=budget,
        robustness=assessed,
        sheet=sheet,
    )


def plan_outputs(out: Path) -> OutputPaths:
    """Where a plan written to `out` goes; OutputError for an unsupported format, before any work."""
    return output_paths(out)


def write_plan(
    run: PlanRun,
    out: Path,
    *,
    report: tuple[Path, Writer] | None = None,
    clock: PhaseClock | None = None,
) -> tuple[PlanRun, dict[str, str]]:
    """Write the plan to `out`, the officer summary and the manifest beside it, and the `report`
    (path, writer) if given, as one set (see `write.write_plan_set`).

    Returns the run with the write phase in its timings, and the files written by role. A stop
    requested before the commit raises interrupt.InterruptError and leaves nothing behind.
    """
    clock = clock or PhaseClock()
    paths = output_paths(out)
    files = {
        "plan": str(paths.plan),
        "officers": str(paths.officers),
        "manifest": str(paths.manifest),
    }
    if report is not None:
        files["report"] = str(report[0])
    with clock.phase("write", committing=True):
        # The manifest's phases end with what came before the write; the write is timed, not listed.
        info = manifest(replace(run, phases=tuple(clock.phases)), run.input_hashes, files)
        write_plan_set(
            paths, run.plan, run.officers, info, report=report, before_commit=interrupt.check
        )
    return replace(run, phases=tuple(clock.phases)), files


def manifest(
    run: PlanRun, input_hashes: Mapping[str, str], outputs: Mapping[str, str]
) -> dict[str, Any]:
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
        "inputs": dict(input_hashes),
        # Where the inputs were read, resolved, so that `assign explain` can re-read and re-hash them.
        "input_files": {
            "roster": str(Path(run.inputs.roster_file).resolve()),
            "cases": str(Path(run.inputs.cases_file).resolve()),
            "sheet": run.sheet,
        },
        "outputs": dict(outputs),
        "config": run.config.to_dict(),
        "options": {
            "solver": run.options.solver,
            "time_limit": run.options.time_limit,
            "solve_seconds": round(run.solve_seconds, 3),
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
