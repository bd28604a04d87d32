"""`solve(problem, options) -> Solution`: the one entry point to every solver path.

Each connected component of the eligibility graph is solved on its own:

* **exact** — CP-SAT over classes with integer counts (levels 1–4 of the design), warm-started
  from the greedy plan polished by local search, with the grouped LP as lower bound;
* **scale** — the grouped LP (GLOP) level by level, rounded to integers and polished by local
  search on the peak officers; the LP peak is the lower bound.

`auto` picks per component by model size. Both paths return the same class-level `State`, and the
certificate always compares the plan's real peak utilization with a proven lower bound.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from assigncli.problem import ComponentIndex, IntArray, Problem
from assigncli.result import (
    Certificate,
    ComponentReport,
    Solution,
    SolveStatus,
    relative_gap,
    status_of,
)
from assigncli.solvers.component import (
    Component,
    State,
    build_component,
    cancel_round_trips,
    evaluate,
)
from assigncli.solvers.cpsat import ComponentCPSAT
from assigncli.solvers.heuristics import greedy, local_search, round_state
from assigncli.solvers.lp import ComponentLP

log = logging.getLogger(__name__)

SolverChoice = Literal["auto", "exact", "scale"]

# `auto` solves a component exactly when its class model has at most this many variables
# (pool→officer arcs plus held classes). Above it, CP-SAT rarely closes the gap in time, while the
# LP path is within a fraction of a percent of the bound.
EXACT_SIZE_LIMIT = 20_000
# ... and at most this many cases: CP-SAT's search degrades with integer class counts in the
# thousands, where rounding the LP is already within a case or two of the optimum.
EXACT_CASE_LIMIT = 50_000
# Above this many variables, the scale path's LP groups officers by type (see lp.py).
AGGREGATE_SIZE_LIMIT = 400_000
# Every component gets at least this much time (or what is left), however small its share.
MIN_COMPONENT_SECONDS = 2.0


@dataclass(frozen=True)
class SolveOptions:
    solver: SolverChoice = "auto"
    time_limit: float = 60.0
    seed: int = 0
    workers: int = 0  # 0: every core
    max_moves: int | None = None  # budget for discretionary moves (forced moves are not counted)
    aggregate_size_limit: int = AGGREGATE_SIZE_LIMIT

    def resolved_workers(self) -> int:
        return self.workers if self.workers > 0 else max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class _ComponentResult:
    comp: Component
    state: State
    method: str
    status: SolveStatus
    bound: float
    argument: str  # which argument gave `bound`
    seconds: float
    steps: dict[str, float]  # seconds per step (lp, round, polish, cp-sat), in order


class _StepClock:
    """Seconds spent in each step of one component's solve, for `--verbose`."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self._last = time.perf_counter()

    def done(self, step: str) -> None:
        now = time.perf_counter()
        self.steps[step] = self.steps.get(step, 0.0) + now - self._last
        self._last = now


class Progress(Protocol):
    """Solver progress: a message and, when known, the incumbent's peak utilization and the
    proven lower bound (over the whole problem, not one component)."""

    def __call__(
        self, message: str, /, *, peak: float | None = None, bound: float | None = None
    ) -> None: ...


def _budget_split(
    problem: Problem, parts: list[ComponentIndex], max_moves: int | None
) -> list[int | None]:
    """Split a global move budget across components in proportion to the cases they may move."""
    if max_moves is None:
        return [None] * len(parts)
    movable = np.array([int(problem.held_count[p.held].sum()) for p in parts], dtype=np.float64)
    if movable.sum() == 0:
        return [0] * len(parts)
    share = np.floor(max_moves * movable / movable.sum()).astype(np.int64)
    leftover = max_moves - int(share.sum())
    for k in np.argsort(-movable)[:leftover]:
        share[k] += 1
    return [int(s) for s in share]


def _solve_exact(
    comp: Component,
    seconds: float,
    planned: float,
    options: SolveOptions,
    max_moves: int | None,
    workers: int,
    progress: Progress | None = None,
) -> _ComponentResult:
    start = time.perf_counter()
    deadline = start + seconds
    clock = _StepClock()
    # The LP gives the bound and, rounded and polished, a warm start that is usually within a
    # few cases of optimal; greedy is the fallback when the LP runs out of time.
    lp = ComponentLP(comp, max_moves).solve(levels=4, deadline=start + seconds * 0.3)
    lp_peak = lp.peak if lp.levels_solved >= 2 else None
    clock.done("lp")
    candidates = [_budgeted(comp, greedy(comp), max_moves)]
    if lp.levels_solved >= 1:
        target = round(comp.pool_size.sum() - lp.assigned)
        candidates.append(round_state(comp, lp.released, lp.flow, target))
    clock.done("round")
    polish_until = start + seconds * 0.4
    polished = [
        local_search(comp, c, polish_until, max_moves, floor=lp_peak or 0.0) for c in candidates
    ]
    warm = min(polished, key=lambda st: _rank(comp, st))
    clock.done("polish")
    if progress is not None:
        progress("CP-SAT", peak=evaluate(comp, warm).peak, bound=lp_peak)
    model = ComponentCPSAT(
        comp,
        max_moves=max_moves,
        seed=options.seed,
        workers=workers,
        log=(lambda line: log.debug("cp-sat: %s", line))
        if log.isEnabledFor(logging.DEBUG)
        else None,
        improved=(
            (
                lambda peak, bound: progress(
                    "CP-SAT", peak=peak, bound=max(bound or 0.0, lp_peak or 0.0) or None
                )
            )
            if progress is not None
            else None
        ),
    )
    # CP-SAT's share of the planned time (not of what the clock left), as deterministic work.
    result = model.solve(warm, deadline, lp_peak, work=planned * 0.8)
    state = result.state
    cancel_round_trips(comp, state)
    lp_bound = lp_peak or 0.0
    bound, argument = (lp_bound, "lp") if lp_bound >= result.bound else (result.bound, "cp-sat")
    clock.done("cp-sat")
    # CP-SAT stops on its own only with a proof; otherwise its budget (or the clock) ran out.
    status = _status(comp, state, bound, budget_spent=result.status != "optimal")
    return _ComponentResult(
        comp, state, "exact", status, bound, argument, time.perf_counter() - start, clock.steps
    )


def _status(comp: Component, state: State, bound: float, *, budget_spent: bool) -> SolveStatus:
    return status_of(relative_gap(evaluate(comp, state).peak, bound), budget_spent=budget_spent)


def _rank(comp: Component, state: State) -> tuple[int, float]:
    """Level 1 then level 2: fewer unassigned cases first, then the lower peak."""
    return int(state.unassigned.sum()), evaluate(comp, state).peak


def _budgeted(comp: Component, state: State, max_moves: int | None) -> State:
    if max_moves is not None and int(state.released.sum()) > max_moves:
        return _within_budget(comp, state, max_moves)
    return state


def _within_budget(comp: Component, state: State, max_moves: int) -> State:
    """Greedy may release more than the budget when caps force it; keep what the budget allows."""
    excess = int(state.released.sum()) - max_moves
    for h in np.argsort(-comp.held_effort):
        if excess <= 0:
            break
        k = min(excess, int(state.released[h]))
        if k:
            state.released[h] -= k
            excess -= k
    return round_state(comp, state.released.astype(np.float64), state.flow.astype(np.float64))


def _solve_scale(
    comp: Component,
    seconds: float,
    max_moves: int | None,
    aggregate_above: int = AGGREGATE_SIZE_LIMIT,
    progress: Progress | None = None,
) -> _ComponentResult:
    start = time.perf_counter()
    deadline = start + seconds
    clock = _StepClock()
    say = progress or _silent
    # On the largest components the LP groups interchangeable officers by type (see lp.py).
    by_type = comp.size > aggregate_above
    lp_model = ComponentLP(comp, max_moves, by_type=by_type)
    lp = lp_model.solve(levels=4, deadline=start + seconds * 0.8, progress=say)
    bound = lp.peak if lp.levels_solved >= 2 else 0.0
    clock.done("lp")
    if lp.levels_solved >= 1:
        target = round(comp.pool_size.sum() - lp.assigned)
        state = round_state(comp, lp.released, lp.flow, target)
        clock.done("round")
        say("polishing the rounded LP", peak=evaluate(comp, state).peak, bound=bound)
        polished = local_search(comp, state, deadline, max_moves, floor=bound)
        if _rank(comp, polished) <= _rank(comp, state):
            state = polished
    else:
        # The LP ran out of time: greedy, polished, is the plan; there is no bound.
        state = _budgeted(comp, greedy(comp), max_moves)
        clock.done("round")
        say("LP out of time; polishing the greedy plan", peak=evaluate(comp, state).peak)
        state = local_search(comp, state, deadline, max_moves, bound)
    clock.done("polish")
    status = _status(comp, state, bound, budget_spent=lp.levels_solved < 2)
    return _ComponentResult(
        comp, state, "scale", status, bound, "lp", time.perf_counter() - start, clock.steps
    )


def _silent(message: str, /, *, peak: float | None = None, bound: float | None = None) -> None:
    pass


def solve(problem: Problem, options: SolveOptions, progress: Progress | None = None) -> Solution:
    """Solve every component and assemble the class-level solution and its certificate."""
    started = time.perf_counter()
    parts = problem.components()
    budgets = _budget_split(problem, parts, options.max_moves)
    comps = [build_component(problem, part) for part in parts]
    workers = options.resolved_workers()
    total_size = sum(max(1, c.size) for c in comps) or 1

    def method_of(comp: Component) -> str:
        if options.solver == "auto":
            cases = int(comp.pool_size.sum() + comp.held_count.sum())
            small = comp.size <= EXACT_SIZE_LIMIT and cases <= EXACT_CASE_LIMIT
            return "exact" if small else "scale"
        return options.solver

    # With one component, CP-SAT gets every worker; with several, components run side by side.
    parallel = min(workers, len(comps)) if comps else 1
    inner_workers = max(1, workers // parallel)

    # The whole problem's peak is known once every component has a plan; its bound is the
    # highest of the components' bounds.
    peaks: dict[int, float] = {}
    bounds: dict[int, float] = {}

    def component_progress(k: int) -> Progress | None:
        if progress is None:
            return None
        report = progress

        def say(message: str, /, *, peak: float | None = None, bound: float | None = None) -> None:
            if peak is not None:
                peaks[k] = peak
            if bound is not None:
                bounds[k] = max(bound, bounds.get(k, 0.0))
            prefix = f"component {k + 1}/{len(comps)}: " if len(comps) > 1 else ""
            report(
                prefix + message,
                peak=max(peaks.values()) if len(peaks) == len(comps) else None,
                bound=max(bounds.values()) if bounds else None,
            )

        return say

    def run(k: int) -> _ComponentResult:
        comp = comps[k]
        elapsed = time.perf_counter() - started
        remaining = max(0.1, options.time_limit - elapsed)
        # A component's share of the time grows with its size; parallel runs share the wall clock.
        share = min(1.0, parallel * max(1, comp.size) / total_size) if len(comps) > 1 else 1.0
        planned = max(MIN_COMPONENT_SECONDS, options.time_limit * share) * 0.95
        seconds = min(remaining * 0.95, planned)
        # Releases that case caps force are not the plan's choice: they do not use the budget.
        budget = budgets[k]
        if budget is not None:
            budget += comp.cap_forced_releases()
        if method_of(comp) == "exact":
            result = _solve_exact(
                comp, seconds, planned, options, budget, inner_workers, component_progress(k)
            )
        else:
            result = _solve_scale(
                comp, seconds, budget, options.aggregate_size_limit, component_progress(k)
            )
        say = component_progress(k)
        if say is not None:
            say(f"{result.method} done", peak=evaluate(comp, result.state).peak, bound=result.bound)
        return result

    order = sorted(range(len(comps)), key=lambda k: -comps[k].size)
    if parallel > 1:
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            results_by_k = dict(zip(order, pool.map(run, order), strict=True))
    else:
        results_by_k = {k: run(k) for k in order}
    results = [results_by_k[k] for k in range(len(comps))]
    return _assemble(problem, results, time.perf_counter() - started)


def _assemble(problem: Problem, results: list[_ComponentResult], seconds: float) -> Solution:
    released = np.zeros(problem.n_held, dtype=np.int64)
    unassigned = np.zeros(problem.n_pools, dtype=np.int64)
    flow_pool: list[IntArray] = []
    flow_officer: list[IntArray] = []
    flow_count: list[IntArray] = []
    peak, floor, penalty, bound, moves = 0.0, np.inf, 0.0, 0.0, 0
    argument = "none"
    budget_spent = False
    methods: set[str] = set()
    reports: list[ComponentReport] = []
    for r in results:
        comp, state, index = r.comp, r.state, r.comp.index
        released[index.held] = state.released
        unassigned[index.pools] = state.unassigned
        keep = state.flow > 0
        flow_pool.append(index.pools[comp.arc_pool[keep]])
        flow_officer.append(index.officers[comp.arc_officer[keep]])
        flow_count.append(state.flow[keep])
        ev = evaluate(comp, state)
        if comp.measured.any():
            peak = max(peak, ev.peak)
            floor = min(floor, ev.floor)
            penalty += comp.penalty(ev.load, ev.peak)
        if r.bound > bound:
            bound, argument = r.bound, r.argument
        moves += ev.moves
        budget_spent |= r.status is SolveStatus.TIME_LIMIT
        methods.add(r.method)
        reports.append(
            ComponentReport(
                officers=comp.n_officers,
                pools=comp.n_pools,
                held_classes=comp.n_held,
                arcs=comp.n_arcs,
                method=r.method,
                status=r.status,
                peak=ev.peak,
                bound=r.bound,
                seconds=r.seconds,
                steps=dict(r.steps),
            )
        )
    # Officers outside every component (nothing to decide) still carry locked load.
    measured = problem.available > 0
    fixed_util = np.where(
        measured, problem.locked_hours / np.where(measured, problem.available, 1), 0
    )
    in_comp = np.zeros(problem.n_officers, dtype=bool)
    for r in results:
        in_comp[r.comp.index.officers] = True
    outside = measured & ~in_comp
    if outside.any():
        fixed_peak = float(fixed_util[outside].max())
        peak = max(peak, fixed_peak)
        if fixed_peak > bound:
            bound, argument = fixed_peak, "locked load"
        floor = min(floor, float(fixed_util[outside].min()))
    if not np.isfinite(floor):
        floor = 0.0
    # A bound a hair above the plan's own peak is the LP's tolerance, not a contradiction.
    if peak < bound <= peak * (1 + 1e-6):
        bound = peak
    gap = relative_gap(peak, bound)
    certificate = Certificate(
        status=status_of(gap, budget_spent=budget_spent),
        objective=peak,
        lower_bound=bound,
        bound_argument=argument,
        gap=gap,
        method="+".join(sorted(methods)) if methods else "none",
        min_utilization=floor,
        balance_penalty=penalty,
        discretionary_moves=moves,
        forced_moves=problem.forced_moves,
        unassigned=int(unassigned.sum()) + problem.n_unassignable,
        components=len(results),
        time_seconds=seconds,
    )
    empty = np.zeros(0, dtype=np.int64)
    return Solution(
        released=released,
        flow_pool=np.concatenate(flow_pool) if flow_pool else empty,
        flow_officer=np.concatenate(flow_officer) if flow_officer else empty,
        flow_count=np.concatenate(flow_count) if flow_count else empty,
        unassigned=unassigned,
        certificate=certificate,
        components=tuple(reports),
    )
