"""`solve(problem, options) -> Solution`: the one entry point to every solver path.

Each connected component of the eligibility graph is solved on its own, in five steps:

1. **bound** — the grouped LP (GLOP), level by level: its peak is a proven lower bound, and its
   solution, rounded, a candidate plan; integer-aware bounds (`bounds`) may lift the bound;
2. **candidates** — the rounded LP, longest effort first (`heuristics.lpt`) and the current
   assignment repaired (`heuristics.greedy`); the best in the objective order is kept;
3. **polish** — local search on the peak, then pool-by-pool re-levelling for balance;
4. **packing** — on small components with few heavy cases per officer, binary search on the
   peak with a bin-packing model (`packing`);
5. **search** — large-neighbourhood search (`lns`) until the gap is closed or the budget spent.

The paths differ only in where they start: `exact` gives the search the whole component as its
first neighbourhood (CP-SAT over every class, whose bound is then a proof); `scale` solves the LP
over officer types on the largest components and starts from small neighbourhoods. `auto` picks
per component by model size. Budgets: with one worker, deterministic units (reproducible plans);
with more, the wall clock. The deadline is always the safety net.
"""

from __future__ import annotations

import logging
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from assigncli import interrupt
from assigncli.problem import NO_CAP, ComponentIndex, IntArray, Problem
from assigncli.result import (
    Certificate,
    ComponentReport,
    Solution,
    SolveStatus,
    relative_gap,
    status_of,
)
from assigncli.solvers.bounds import lower_bound
from assigncli.solvers.component import (
    Component,
    State,
    build_component,
    cancel_round_trips,
    evaluate,
)
from assigncli.solvers.heuristics import (
    greedy,
    local_search,
    lpt,
    rebalance,
    repair_unassigned,
    round_state,
)
from assigncli.solvers.lns import ROUND_CHARGE, Key, Lns, objective_key
from assigncli.solvers.lp import ComponentLP
from assigncli.solvers.packing import solve_peak

log = logging.getLogger(__name__)

SolverChoice = Literal["auto", "exact", "scale"]

# `auto` starts the search with the whole component (`exact`) when its class model has at most
# this many variables (pool→officer arcs plus held classes). Above it one round over the whole
# component costs seconds without closing the gap; small neighbourhoods make faster progress.
EXACT_SIZE_LIMIT = 6_000
# ... and at most this many cases: CP-SAT's search degrades with integer class counts in the
# thousands, where rounding the LP is already within a case or two of the optimum.
EXACT_CASE_LIMIT = 50_000
# Above this many variables, the scale path's LP groups officers by type (see lp.py).
AGGREGATE_SIZE_LIMIT = 400_000
# Every component gets at least this much time (or what is left), however small its share.
MIN_COMPONENT_SECONDS = 2.0
# With one worker, a component's budget is this many units of CP-SAT deterministic time per
# second of its share of the time limit: the search then stops at the same point on an idle and
# on a loaded machine (below one, so that a loaded machine still reaches it before the clock).
DETERMINISTIC_RATE = 0.1
# The LP gets a column per arc (not per eligibility group) up to this many arcs.
PER_ARC_LIMIT = 50_000
# Bin packing takes over the peak on components with at most this many cases, and at most this
# many per officer (heavy-case teams).
PACKING_CASE_LIMIT = 2_000
PACKING_CASES_PER_OFFICER = 12


@dataclass(frozen=True)
class SolveOptions:
    solver: SolverChoice = "auto"
    time_limit: float = 60.0
    seed: int = 0
    workers: int = 0  # 0: every core
    max_moves: int | None = None  # budget for discretionary moves (forced moves are not counted)
    aggregate_size_limit: int = AGGREGATE_SIZE_LIMIT
    # With one worker: deterministic work units per second of the time limit (see
    # DETERMINISTIC_RATE); the wall clock stays the safety net.
    work_rate: float = DETERMINISTIC_RATE
    # The seconds the deterministic budget is sized for, when `time_limit` is what the clock left
    # (the pipeline's case: reading took a load-dependent time); None: `time_limit`.
    work_limit: float | None = None

    def work_seconds(self) -> float:
        return self.time_limit if self.work_limit is None else self.work_limit

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
    engine: Lns | None = None  # the search, to resume when time is left over
    work: float = 0.0  # deterministic work the search used


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


def _silent(message: str, /, *, peak: float | None = None, bound: float | None = None) -> None:
    pass


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


def _extra_bound(comp: Component, work: float, workers: int, seed: int) -> tuple[float, str]:
    """Integer-aware lower bounds (P||Cmax-type, Hall-type, feasibility) from `bounds`."""
    found = lower_bound(comp, work=work, workers=workers, seed=seed)
    return float(found.value), str(found.argument)


def _packing(
    comp: Component,
    state: State,
    *,
    work: float,
    workers: int,
    seed: int,
    deadline: float,
    max_moves: int | None,
) -> tuple[State, float, bool, str]:
    """The exact search for small hard components (binary search on the peak), from `packing`."""
    found = solve_peak(
        comp, state, work=work, workers=workers, seed=seed, deadline=deadline, max_moves=max_moves
    )
    return found.state, float(found.bound), bool(found.optimal), str(found.argument)


def _is_packing_shaped(comp: Component) -> bool:
    """Few heavy cases per officer: where bin packing beats neighbourhood search."""
    cases = int(comp.pool_size.sum() + comp.held_count.sum())
    measured = int(comp.measured.sum())
    return (
        measured > 0
        and cases <= PACKING_CASE_LIMIT
        and cases <= PACKING_CASES_PER_OFFICER * measured
    )


@dataclass(frozen=True)
class _Budget:
    """One component's budget: deterministic work (the stop rule) and a wall deadline (the
    safety net)."""

    start: float
    deadline: float
    work: float  # CP-SAT deterministic time for the whole component solve
    deterministic: bool

    def at(self, fraction: float) -> float:
        """The wall time `fraction` of the way to the deadline."""
        return self.start + (self.deadline - self.start) * fraction


def _solve_component(
    comp: Component,
    budget: _Budget,
    method: str,
    options: SolveOptions,
    max_moves: int | None,
    workers: int,
    progress: Progress | None,
) -> _ComponentResult:
    """Bound, candidates, polish, then the search until the budget is spent or the gap closed."""
    clock = _StepClock()
    say = progress or _silent
    cp_log = (
        (lambda line: log.debug("cp-sat: %s", line)) if log.isEnabledFor(logging.DEBUG) else None
    )
    # 1. The LP: the bound, and (rounded) a candidate. On the largest components it groups
    # interchangeable officers by type (see lp.py).
    by_type = method == "scale" and comp.size > options.aggregate_size_limit
    # Small classes (per-case effort): per-arc columns, whose vertex rounds with few splits.
    per_arc = not by_type and comp.n_arcs <= PER_ARC_LIMIT
    lp = ComponentLP(comp, max_moves, by_type=by_type, per_arc=per_arc).solve(
        levels=4,
        deadline=budget.at(0.8 if method == "scale" else 0.4),
        deterministic=budget.deterministic,
        progress=say,
    )
    bound, argument = (lp.peak, "lp") if lp.levels_solved >= 2 else (0.0, "none")
    clock.done("lp")
    log.debug(
        "LP levels solved: %d of 4 (by type: %s, per arc: %s)", lp.levels_solved, by_type, per_arc
    )
    extra, extra_argument = _extra_bound(
        comp, work=budget.work * 0.1, workers=workers, seed=options.seed
    )
    if extra > bound:
        bound, argument = extra, extra_argument
    clock.done("bounds")

    # 2. Candidates: the rounded LP, longest effort first, the current assignment repaired.
    # On the largest components the constructions cost seconds per pass and lose to the LP by
    # far: the rounded LP alone starts there (greedy when the LP ran out of time).
    # Ties go to the first: the constructions, whose order is readable, then the rounded LP.
    candidates: list[State] = []
    if not by_type:
        candidates.append(_budgeted(comp, lpt(comp), max_moves))
    if not by_type or lp.levels_solved < 1:
        candidates.append(_budgeted(comp, greedy(comp), max_moves))
    if lp.levels_solved >= 1:
        target = round(comp.pool_size.sum() - lp.assigned)
        candidates.append(round_state(comp, lp.released, lp.flow, target))
    if comp.capped:
        least = min(int(c.unassigned.sum()) for c in candidates)
        candidates = [
            repair_unassigned(comp, c, least) if int(c.unassigned.sum()) > least else c
            for c in candidates
        ]
    clock.done("candidates")
    # 3. Polish each: the peak by local search, then the rest by re-filling pools.
    # Local search runs to its local optimum (a step count as the deterministic budget).
    steps = 1_000_000
    best = min(candidates, key=lambda st: _rank(comp, st))
    state = local_search(comp, best, budget.at(0.6), max_moves, floor=bound, max_steps=steps)
    state = rebalance(comp, state, max_pools=4 * comp.n_pools + 100, deadline=budget.at(0.9))
    clock.done("polish")
    say("searching from the best candidate", peak=evaluate(comp, state).peak, bound=bound)

    # 4. Small hard components: the exact search on the peak by bin packing.
    if _is_packing_shaped(comp) and time.perf_counter() < budget.deadline:
        found = _packing(
            comp,
            state,
            work=budget.work * 0.5,
            workers=workers,
            seed=options.seed,
            deadline=budget.at(0.6),
            max_moves=max_moves,
        )
        packed, packed_bound, _optimal, packed_argument = found
        if _rank(comp, packed) < _rank(comp, state):
            state = packed
        if packed_bound > bound:
            bound, argument = packed_bound, packed_argument
        clock.done("packing")

    # 5. The search, on every path, until the gap is closed or the budget is spent.
    engine = Lns(
        comp,
        state,
        bound,
        max_moves=max_moves,
        seed=options.seed,
        workers=workers,
        progress=say,
        log=cp_log,
    )
    used = sum(clock.steps.values())
    work = budget.work if budget.deterministic else math.inf
    # The whole component first only where one round over it is affordable.
    whole_first = method == "exact" and comp.size <= EXACT_SIZE_LIMIT
    result = engine.run(work, budget.deadline, whole_first=whole_first)
    state = result.state
    cancel_round_trips(comp, state)
    if result.bound > bound:
        bound, argument = result.bound, "cp-sat"
    clock.done("search")
    log.debug(
        "component search: %d rounds, %d improvements (%.1f s before)",
        result.rounds,
        result.improvements,
        used,
    )
    status = _status(comp, state, bound, budget_spent=result.exhausted)
    return _ComponentResult(
        comp,
        state,
        method,
        status,
        bound,
        argument,
        time.perf_counter() - budget.start,
        clock.steps,
        engine=engine if result.exhausted else None,
        work=result.work,
    )


def _status(comp: Component, state: State, bound: float, *, budget_spent: bool) -> SolveStatus:
    return status_of(relative_gap(evaluate(comp, state).peak, bound), budget_spent=budget_spent)


def _rank(comp: Component, state: State) -> Key:
    """The objective order: unassigned, peak, balance, moves."""
    return objective_key(comp, state)


def _budgeted(comp: Component, state: State, max_moves: int | None) -> State:
    if max_moves is not None and int(state.released.sum()) > max_moves:
        return _within_budget(comp, state, max_moves)
    return state


def _within_budget(comp: Component, state: State, max_moves: int) -> State:
    """A construction may release more than the budget: keep what the budget allows (the
    heaviest releases stay released)."""
    excess = int(state.released.sum()) - max_moves
    # Releases a case cap forces must stay; only uncapped officers take cases back.
    uncapped = comp.cap[comp.held_officer] == NO_CAP
    for h in np.argsort(comp.held_effort, kind="stable"):
        if excess <= 0:
            break
        if not uncapped[h]:
            continue
        k = min(excess, int(state.released[h]))
        if k:
            state.released[h] -= k
            excess -= k
    return round_state(comp, state.released.astype(np.float64), state.flow.astype(np.float64))


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
        planned_work = max(MIN_COMPONENT_SECONDS, options.work_seconds() * share) * 0.95
        # Releases that case caps force are not the plan's choice: they do not use the budget.
        budget = budgets[k]
        if budget is not None:
            budget += comp.cap_forced_releases()
        start = time.perf_counter()
        budget_k = _Budget(
            start=start,
            deadline=start + seconds,
            work=planned_work * options.work_rate,
            deterministic=inner_workers == 1,
        )
        result = _solve_component(
            comp, budget_k, method_of(comp), options, budget, inner_workers, component_progress(k)
        )
        say = component_progress(k)
        if say is not None:
            say(
                f"{result.method} done (bound: {result.argument})",
                peak=evaluate(comp, result.state).peak,
                bound=result.bound,
            )
        return result

    # Side by side, the largest start first; one after the other, the smallest first, so that a
    # large component cannot use up the time of the small ones (each may hold the peak).
    order = sorted(
        range(len(comps)), key=lambda k: -comps[k].size if parallel > 1 else comps[k].size
    )
    if parallel > 1:
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            results_by_k = dict(zip(order, pool.map(run, order), strict=True))
    else:
        results_by_k = {k: run(k) for k in order}
    results = [results_by_k[k] for k in range(len(comps))]
    if len(results) > 1:
        results = _resume_peak(results, options, started, workers)
    return _assemble(problem, results, time.perf_counter() - started)


def _resume_peak(
    results: list[_ComponentResult], options: SolveOptions, started: float, workers: int
) -> list[_ComponentResult]:
    """Time and work the components left over go to the one that holds the overall peak,
    while its gap is open: only it can lower the plan's peak and gap."""
    deterministic = workers == 1
    work_left = options.work_seconds() * options.work_rate * 0.95 - sum(r.work for r in results)
    deadline = started + options.time_limit * 0.95
    results = list(results)
    while not interrupt.stop_requested():
        peaks = [evaluate(r.comp, r.state).peak for r in results]
        k = int(np.argmax(peaks))
        r = results[k]
        if r.engine is None or time.perf_counter() >= deadline:
            break
        if deterministic and work_left <= ROUND_CHARGE:
            break
        before, resumed = r.work, time.perf_counter()
        found = r.engine.run(work_left if deterministic else math.inf, deadline, whole_first=False)
        work_left -= found.work
        bound = max(r.bound, found.bound)
        argument = r.argument if bound == r.bound else "cp-sat"
        state = found.state
        cancel_round_trips(r.comp, state)
        results[k] = _ComponentResult(
            r.comp,
            state,
            r.method,
            _status(r.comp, state, bound, budget_spent=found.exhausted),
            bound,
            argument,
            r.seconds + time.perf_counter() - resumed,
            {**r.steps, "search": r.steps.get("search", 0.0) + time.perf_counter() - resumed},
            engine=r.engine if found.exhausted and found.work > 0 else None,
            work=before + found.work,
        )
        if found.work <= 0:
            break
    return results


@dataclass(frozen=True)
class Combined:
    """Component states laid into the whole problem's arrays, with the figures the certificate
    takes from them (peak and floor over every measured officer, those outside every component
    carrying their locked load; the balance penalty summed per component)."""

    released: IntArray
    unassigned: IntArray
    flow_pool: IntArray
    flow_officer: IntArray
    flow_count: IntArray
    peaks: list[float]  # per component
    peak: float
    floor: float
    outside_peak: float | None  # the highest locked-load utilization outside every component
    penalty: float
    moves: int


def combine_states(problem: Problem, comps: list[Component], states: list[State]) -> Combined:
    """The one way component states become a whole-problem solution (`solve` and the final
    candidates at disaggregation both use it)."""
    released = np.zeros(problem.n_held, dtype=np.int64)
    unassigned = np.zeros(problem.n_pools, dtype=np.int64)
    flow_pool: list[IntArray] = []
    flow_officer: list[IntArray] = []
    flow_count: list[IntArray] = []
    peaks: list[float] = []
    peak, floor, penalty, moves = 0.0, np.inf, 0.0, 0
    in_comp = np.zeros(problem.n_officers, dtype=bool)
    for comp, state in zip(comps, states, strict=True):
        index = comp.index
        released[index.held] = state.released
        unassigned[index.pools] = state.unassigned
        keep = state.flow > 0
        flow_pool.append(index.pools[comp.arc_pool[keep]])
        flow_officer.append(index.officers[comp.arc_officer[keep]])
        flow_count.append(state.flow[keep])
        in_comp[index.officers] = True
        ev = evaluate(comp, state)
        peaks.append(ev.peak)
        if comp.measured.any():
            peak = max(peak, ev.peak)
            floor = min(floor, ev.floor)
            penalty += comp.penalty(ev.load, ev.peak)
        moves += ev.moves
    # Officers outside every component (nothing to decide) still carry locked load.
    measured = problem.available > 0
    outside = measured & ~in_comp
    outside_peak: float | None = None
    if outside.any():
        fixed_util = problem.locked_hours[outside] / problem.available[outside]
        outside_peak = float(fixed_util.max())
        peak = max(peak, outside_peak)
        floor = min(floor, float(fixed_util.min()))
    empty = np.zeros(0, dtype=np.int64)
    return Combined(
        released=released,
        unassigned=unassigned,
        flow_pool=np.concatenate(flow_pool) if flow_pool else empty,
        flow_officer=np.concatenate(flow_officer) if flow_officer else empty,
        flow_count=np.concatenate(flow_count) if flow_count else empty,
        peaks=peaks,
        peak=peak,
        floor=float(floor) if np.isfinite(floor) else 0.0,
        outside_peak=outside_peak,
        penalty=penalty,
        moves=moves,
    )


def _assemble(problem: Problem, results: list[_ComponentResult], seconds: float) -> Solution:
    combined = combine_states(problem, [r.comp for r in results], [r.state for r in results])
    bound, argument = 0.0, "none"
    for r in results:
        if r.bound > bound:
            bound, argument = r.bound, r.argument
    if combined.outside_peak is not None and combined.outside_peak > bound:
        bound, argument = combined.outside_peak, "locked load"
    budget_spent = any(r.status is SolveStatus.TIME_LIMIT for r in results)
    methods = {r.method for r in results}
    reports = [
        ComponentReport(
            officers=r.comp.n_officers,
            pools=r.comp.n_pools,
            held_classes=r.comp.n_held,
            arcs=r.comp.n_arcs,
            method=r.method,
            status=r.status,
            peak=peak,
            bound=r.bound,
            seconds=r.seconds,
            steps=dict(r.steps),
        )
        for r, peak in zip(results, combined.peaks, strict=True)
    ]
    peak = combined.peak
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
        min_utilization=combined.floor,
        balance_penalty=combined.penalty,
        discretionary_moves=combined.moves,
        forced_moves=problem.forced_moves,
        unassigned=int(combined.unassigned.sum()) + problem.n_unassignable,
        components=len(results),
        time_seconds=seconds,
    )
    return Solution(
        released=combined.released,
        flow_pool=combined.flow_pool,
        flow_officer=combined.flow_officer,
        flow_count=combined.flow_count,
        unassigned=combined.unassigned,
        certificate=certificate,
        components=tuple(reports),
    )
