"""Turn a class-level solution into the per-case plan (vectorized: ranks on integer codes).

Within a held class the first cases (in input order) stay and the rest are released; within a pool,
members are handed to officers in blocks following the cumulative flows. Every case of a class
is interchangeable, so any such order realizes the same loads.

At national scale the plan is built from the integer codes of Problem.cases (status, officer,
held class, pool) with array arithmetic; text columns are gathers from short lists (officer ids,
reason texts), which share the strings instead of copying them per case.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import polars as pl

from assigncli.contract import PLAN_COLUMNS
from assigncli.problem import CaseStatus, IntArray, Problem, status_codes
from assigncli.read import chunked_like
from assigncli.result import OPTIMAL_GAP, Solution, SolveStatus, relative_gap, status_of
from assigncli.solvers.component import (
    Component,
    State,
    build_component,
)
from assigncli.solvers.heuristics import lpt_within
from assigncli.solvers.lns import better, objective_key
from assigncli.solvers.solve import combine_states

logger = logging.getLogger(__name__)

# Reason texts shared with the baselines, which explain their plans in the same words.
REASON_LOCKED = "locked: stays with its officer"
REASON_FULL = "unassigned: every eligible officer is at max_cases"

# Reason texts that do not depend on the case, by code (see _reason_codes).
_FIXED_REASONS = (
    REASON_LOCKED,
    "kept: stays with its current officer",
    REASON_FULL,
    "new case: assigned where it balances load",
)
_R_LOCKED, _R_KEPT, _R_UNASSIGNED, _R_NEW = range(len(_FIXED_REASONS))


def build_plan(problem: Problem, solution: Solution) -> pl.DataFrame:
    """The plan table (contract.PLAN_COLUMNS), one row per input case in input order."""
    cases = problem.cases
    status = status_codes(cases)
    current = cases["officer"].fill_null(-1).to_numpy()
    held = cases["held"].fill_null(-1).to_numpy()

    # Most cases stay where they are (locked or kept); the rest, a few percent, are decided on
    # their own: pool members go where the flows send them, unassignable cases nowhere.
    kept = _kept(status, held, problem.held_count, solution.released)
    del held
    final = np.where((status == CaseStatus.LOCKED) | kept, current, -1).astype(np.int64)
    decided = np.flatnonzero(~kept & (status != CaseStatus.LOCKED))
    member_pool = cases["pool"].gather(pl.Series(decided, dtype=pl.Int64)).fill_null(-1).to_numpy()
    members = member_pool >= 0
    final[decided[members]] = _receivers(member_pool[members], problem.n_pools, solution)

    officer_ids = pl.Series("officer_id", problem.officer_ids, dtype=pl.String)
    has_current = cases["current_officer_id"].is_not_null().to_numpy()
    moved = (final >= 0) & has_current & (final != current)
    plan = pl.DataFrame(
        [
            chunked_like(column, cases["case_id"])
            for column in (
                cases["case_id"],
                # Compacted first: a gather from the column as built reads many times slower.
                officer_ids.rechunk().gather(_nullable(final)),
                cases["current_officer_id"].alias("previous_officer_id"),
                pl.Series("moved", moved),
                cases["effort_hours"],
                cases["locked"],
                _reasons(problem, status, decided, final, current),
            )
        ]
    )
    if plan.schema == pl.Schema(PLAN_COLUMNS):
        return plan
    return plan.cast(dict(PLAN_COLUMNS))  # type: ignore[arg-type]


def _ranks(keys: IntArray, n_keys: int) -> IntArray:
    """Rank of each element among the elements with the same key, in array order (0, 1, ...)."""
    order = np.argsort(keys, kind="stable")
    counts = np.bincount(keys, minlength=n_keys)
    starts = np.cumsum(counts) - counts
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(len(keys)) - starts[keys[order]]
    return rank


def _kept(
    status: npt.NDArray[np.uint8], held: IntArray, held_count: IntArray, released: IntArray
) -> npt.NDArray[np.bool_]:
    """Held cases that stay: the first (count - released) of each held class, in input order.

    Most classes release nothing, so only the cases of classes that do are ranked.
    """
    kept: npt.NDArray[np.bool_] = status == CaseStatus.HELD
    # -1 (not held) reads the appended 0.
    releasing = np.flatnonzero(kept & (np.append(released, 0)[held] > 0))
    if len(releasing):
        classes = held[releasing]
        rank = _ranks(classes, len(held_count))
        kept[releasing] = rank < (held_count - released)[classes]
    return kept


def _receivers(member_pool: IntArray, n_pools: int, solution: Solution) -> IntArray:
    """Officer receiving each pool member (in input order), -1 when the flows run out.

    The flows of each pool, by officer, cover consecutive ranks of its members; laid end to end
    over all pools they form one axis, on which each member finds its flow by binary search.
    """
    count = solution.flow_count.astype(np.int64)
    positive = count > 0
    flow_pool = solution.flow_pool.astype(np.int64)[positive]
    flow_officer = solution.flow_officer.astype(np.int64)[positive]
    count = count[positive]
    order = np.lexsort((flow_officer, flow_pool))
    flow_pool, flow_officer, count = flow_pool[order], flow_officer[order], count[order]
    ends = np.cumsum(count)
    total = np.bincount(flow_pool, weights=count, minlength=n_pools).astype(np.int64)
    offset = np.cumsum(total) - total

    if len(ends) == 0:
        return np.full(len(member_pool), -1, dtype=np.int64)
    rank = _ranks(member_pool, n_pools)
    served = rank < total[member_pool]
    flow = np.searchsorted(ends, offset[member_pool] + rank, side="right")
    return np.where(served, flow_officer[np.minimum(flow, len(ends) - 1)], -1)


def _reasons(
    problem: Problem,
    status: npt.NDArray[np.uint8],
    decided: IntArray,
    final: IntArray,
    current: IntArray,
) -> pl.Series:
    """The reason of every plan row, gathered from the distinct reason texts.

    `decided` are the rows that neither keep a lock nor stay in their held class.
    """
    code = np.where(status == CaseStatus.LOCKED, _R_LOCKED, _R_KEPT)
    d_status, d_final, d_current = status[decided], final[decided], current[decided]
    assigned = d_final >= 0
    # Quoting the problem's reason (-2: nobody can take the case, -3: why the previous officer
    # cannot keep it); a move to balance load names the previous officer, on the roster (held).
    code[decided] = np.select(
        [
            ~assigned & (d_status == CaseStatus.UNASSIGNABLE),
            ~assigned,
            d_status == CaseStatus.ORPHAN,
            d_status == CaseStatus.NEW,
            d_final == d_current,
        ],
        [-2, _R_UNASSIGNED, -3, _R_NEW, _R_KEPT],
        len(_FIXED_REASONS) + d_current,
    )
    reason = problem.cases["reason"]
    nobody = np.flatnonzero(code == -2)
    orphans = np.flatnonzero(code == -3)
    # Orphans and unassignable cases share a few distinct reasons (one per previous officer and
    # cause): the table holds each once, so that the gather below reads a short table.
    nobody_texts, nobody_at = _distinct("unassignable: " + reason.gather(_indices(nobody)))
    orphan_texts, orphan_at = _distinct("moved: " + reason.gather(_indices(orphans)))
    texts = pl.concat(
        [
            pl.Series(_FIXED_REASONS, dtype=pl.String),
            "moved to balance load from " + pl.Series(problem.officer_ids, dtype=pl.String),
            nobody_texts,
            orphan_texts,
        ]
    )
    first = len(_FIXED_REASONS) + problem.n_officers
    code[nobody] = first + nobody_at
    code[orphans] = first + len(nobody_texts) + orphan_at
    # One compact chunk and 32-bit indices: a gather from a table of strings built piecewise,
    # over several chunks or with 64-bit indices costs many times more at millions of rows.
    return texts.rechunk().gather(pl.Series(code, dtype=pl.UInt32)).alias("reason")


def _indices(rows: IntArray) -> pl.Series:
    return pl.Series(rows, dtype=pl.Int64)


def _distinct(texts: pl.Series) -> tuple[pl.Series, IntArray]:
    """The distinct `texts` in order of first appearance, and each text's position among them."""
    distinct = texts.unique(maintain_order=True)
    positions = texts.replace_strict(
        distinct, pl.int_range(len(distinct), dtype=pl.Int64, eager=True), return_dtype=pl.Int64
    )
    return distinct, positions.to_numpy()


def _nullable(index: IntArray) -> pl.Series:
    """`index` as a 32-bit column, null where it is -1."""
    values = pl.Series("index", index, dtype=pl.Int32)
    return values.to_frame().select(pl.when(values >= 0).then(values)).to_series()


# --- the longest-effort-first candidate ----------------------------------------------------------


# What longest effort first costs, measured on 2 cores (loaded): a fixed part per pool, and per
# eligible officer of a pool: little where the pool is a few cases (placed one by one), more where
# a water level is bisected (`heuristics.water_fill`). 50k continuous-effort cases: 3.3 s
# estimated 3.0; the 7.5M docket: 2.7–3.6 s, estimated 2.9.
LPT_SECONDS_PER_POOL = 40e-6
LPT_SECONDS_PER_ARC_FEW = 0.6e-6
LPT_SECONDS_PER_ARC_MANY = 3.2e-6
_FEW_UNITS = 8  # heuristics.water_fill places up to this many cases one at a time


def lpt_seconds(problem: Problem) -> float:
    """Estimated seconds `with_lpt` takes on `problem` (longest effort first on every pool)."""
    units = problem.pool_fixed + np.bincount(
        problem.held_pool, weights=problem.held_count, minlength=problem.n_pools
    ).astype(np.int64)
    arcs = np.diff(problem.group_ptr)[problem.pool_group]
    few = units <= _FEW_UNITS
    return float(
        LPT_SECONDS_PER_POOL * problem.n_pools
        + LPT_SECONDS_PER_ARC_FEW * arcs[few].sum()
        + LPT_SECONDS_PER_ARC_MANY * arcs[~few].sum()
    )


def with_lpt(
    problem: Problem,
    solution: Solution,
    max_moves: int | None = None,
    *,
    deadline: float = math.inf,
) -> Solution:
    """`solution`, with each component whose plan longest effort first beats replaced by it.

    Longest effort first (`heuristics.lpt`) is cheap on classes of identical cases and respects
    eligibility, locks and case caps by construction; it is the plan anyone can compute, so the
    written plan is never worse than it. It is kept for a component only when it is strictly
    better in the solver's objective order (unassigned, peak, balance, moves), so a plan that
    already matches it is returned unchanged, to the bit.

    Skipped, with the reason logged: components whose plan is at its proven lower bound (no plan
    has a lower peak) and, under a move budget (`max_moves`), every swap that would take the
    plan's discretionary moves past the budget — longest effort first ignores where cases are,
    and trimming its releases to the budget would make it another heuristic. `deadline`
    (time.perf_counter()) is a safety net: a candidate not finished by then is dropped.
    """
    parts = problem.components()
    if not parts:
        return solution
    cert = solution.certificate
    flows = _FlowLookup(problem, solution)
    comps = [build_component(problem, part) for part in parts]
    states = [flows.state_of(comp) for comp in comps]
    moves = sum(int(state.released.sum()) for state in states)
    allowance = (
        None if max_moves is None else max_moves + sum(comp.cap_forced_releases() for comp in comps)
    )
    swapped: list[int] = []
    reports = solution.components if len(solution.components) == len(comps) else None
    for k, (comp, state) in enumerate(zip(comps, states, strict=True)):
        current = objective_key(comp, state)
        bound = reports[k].bound if reports is not None else cert.lower_bound
        if current[0] == 0 and current[1] <= bound * (1 + OPTIMAL_GAP):
            continue  # every case placed at the proven bound: nothing can have a lower peak
        # With every case placed, only a lower peak could make the candidate better: it is
        # abandoned as soon as its peak passes the plan's (loads only grow as it places cases).
        candidate = lpt_within(comp, current[1] if current[0] == 0 else math.inf, deadline=deadline)
        if candidate is None or not better(objective_key(comp, candidate), current):
            continue
        extra = int(candidate.released.sum()) - int(state.released.sum())
        if allowance is not None and moves + extra > allowance:
            logger.info(
                "component %d: longest effort first would beat the plan but needs %d more "
                "moves than the budget of %d allows; skipped",
                k + 1,
                moves + extra - allowance,
                max_moves,
            )
            continue
        moves += extra
        states[k] = candidate
        swapped.append(k)
    if not swapped:
        return solution
    logger.info("longest effort first beats the plan on %d component(s)", len(swapped))
    return _reassembled(problem, solution, comps, states, swapped)


class _FlowLookup:
    """The solution's flows, found by (pool, officer): a component's state in its own arcs."""

    def __init__(self, problem: Problem, solution: Solution) -> None:
        self.n_officers = problem.n_officers
        self.released = solution.released
        self.unassigned = solution.unassigned
        key = solution.flow_pool.astype(np.int64) * self.n_officers + solution.flow_officer
        self.order = np.argsort(key, kind="stable")
        self.keys = key[self.order]
        self.counts = solution.flow_count.astype(np.int64)[self.order]

    def state_of(self, comp: Component) -> State:
        index = comp.index
        want = index.pools[comp.arc_pool] * self.n_officers + index.officers[comp.arc_officer]
        pos = np.minimum(np.searchsorted(self.keys, want), max(len(self.keys) - 1, 0))
        found = self.keys[pos] == want if len(self.keys) else np.zeros(len(want), dtype=bool)
        flow = np.where(found, self.counts[pos] if len(self.keys) else 0, 0).astype(np.int64)
        return State(
            self.released[index.held].astype(np.int64),
            flow,
            self.unassigned[index.pools].astype(np.int64),
        )


def _reassembled(
    problem: Problem,
    solution: Solution,
    comps: list[Component],
    states: list[State],
    swapped: list[int],
) -> Solution:
    """The solution with the states of components `swapped` replaced, certificate recomputed the
    way the solver assembles it (`solve.combine_states`), the bound kept."""
    combined = combine_states(problem, comps, states)
    reports = list(solution.components)
    for k in swapped:
        if k < len(reports):
            report = reports[k]
            reports[k] = replace(
                report,
                method=report.method + "+lpt",
                status=status_of(
                    relative_gap(combined.peaks[k], report.bound),
                    budget_spent=report.status is SolveStatus.TIME_LIMIT,
                ),
                peak=combined.peaks[k],
            )
    peak = combined.peak
    cert = solution.certificate
    bound = cert.lower_bound
    if peak < bound <= peak * (1 + 1e-6):
        bound = peak  # the LP's tolerance, as the solver reads it
    gap = relative_gap(peak, bound)
    certificate = replace(
        cert,
        status=status_of(gap, budget_spent=cert.status is SolveStatus.TIME_LIMIT),
        objective=peak,
        lower_bound=bound,
        gap=gap,
        min_utilization=combined.floor,
        balance_penalty=combined.penalty,
        discretionary_moves=combined.moves,
        unassigned=int(combined.unassigned.sum()) + problem.n_unassignable,
    )
    return replace(
        solution,
        released=combined.released,
        flow_pool=combined.flow_pool,
        flow_officer=combined.flow_officer,
        flow_count=combined.flow_count,
        unassigned=combined.unassigned,
        certificate=certificate,
        components=tuple(reports),
    )
