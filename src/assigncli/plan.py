"""Turn a class-level solution into the per-case plan (vectorized: ranks on integer codes).

Within a held class the first cases (in input order) stay and the rest are released; within a pool,
members are handed to officers in blocks following the cumulative flows. Every case of a class
is interchangeable, so any such order realizes the same loads.

At national scale the plan is built from the integer codes of Problem.cases (status, officer,
held class, pool) with array arithmetic; text columns are gathers from short lists (officer ids,
reason texts), which share the strings instead of copying them per case.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from assigncli.contract import PLAN_COLUMNS
from assigncli.problem import CaseStatus, IntArray, Problem, status_codes
from assigncli.read import chunked_like
from assigncli.result import Solution

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
                officer_ids.gather(_nullable(final)),
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
    texts = pl.concat(
        [
            pl.Series(_FIXED_REASONS, dtype=pl.String),
            "moved to balance load from " + pl.Series(problem.officer_ids, dtype=pl.String),
            "unassignable: " + reason.gather(pl.Series(nobody, dtype=pl.Int64)),
            "moved: " + reason.gather(pl.Series(orphans, dtype=pl.Int64)),
        ]
    )
    first = len(_FIXED_REASONS) + problem.n_officers
    code[nobody] = first + np.arange(len(nobody))
    code[orphans] = first + len(nobody) + np.arange(len(orphans))
    # One chunk and 32-bit indices: a gather over several chunks or with 64-bit indices costs
    # several times more at millions of rows.
    return texts.rechunk().gather(pl.Series(code, dtype=pl.UInt32)).alias("reason")


def _nullable(index: IntArray) -> pl.Series:
    """`index` as a 32-bit column, null where it is -1."""
    values = pl.Series("index", index, dtype=pl.Int32)
    return values.to_frame().select(pl.when(values >= 0).then(values)).to_series()
