"""Naive baselines: the ways cases are assigned without an optimizer, as real per-case plans.

Every baseline is a plan in `contract.PLAN_COLUMNS` over the same inputs and eligibility rules as the
optimized plan (office, required skills, locks, inactive and away officers, `max_cases`), so that
one metrics module and the independent checker can judge them all alike:

* **status quo** — every case stays with its officer of record if that officer is on the roster and
  active; new cases and orphans (officer left or inactive) are dealt round-robin in case order.
  Where today's assignment already breaks a rule (the officer lacks the case's office or skill, is
  away all cycle, has ``max_cases = 0``, or holds more than ``max_cases``), the case is *kept* and
  the break is counted: the status quo is what happens if nobody re-plans, rule breaks included.
  This is the one baseline that may fail the checker, and only on those rules.
* **round-robin** — every case that is not locked is dealt to the eligible officers of its
  eligibility group in turn, in case order, effort and current officer ignored.
* **equal count** — every officer ends with as nearly the same number of cases as eligibility
  allows (the classic caseload cap), effort ignored; an officer keeps its own cases up to its share.
* **arbitrary** — each case that is not locked goes to an eligible officer drawn at random (seeded).
* **greedy by effort** — longest effort first, each case to the eligible officer whose utilization
  after taking it is lowest, the handoff hours counted when the officer is not the current one.

Shared rules: honoured locks stay; unassignable cases stay unassigned with their reason; officers who
are inactive, away all cycle or capped at zero receive nothing (they are not eligible); nobody goes
over `max_cases` (a case whose eligible officers are all full stays unassigned, with that reason).
Eligibility groups that share officers are served most constrained first (fewest eligible
officers), so that specialists are not filled up by cases anybody could take.

Everything works on index arrays and per-group slices (a loop over groups or pools, never over
cases), so a national docket takes seconds (1M cases: about 0.2–1.5 s per baseline).

Greedy by effort works on classes of identical cases: pools (same eligibility group and effort;
cases that would move and new cases apart) are taken heaviest first, moving cases before new ones of
the same effort, most constrained group first. The cases of one pool are placed together by a water
fill on a common utilization level in which each officer first keeps its own cases (no handoff),
then takes others' (with handoff); the last cases go one per officer to whoever ends lowest. For new
cases this is exactly the case-by-case rule (tested against it). With current officers it differs in
one way, on purpose: case by case, an officer's case can move to a colleague who has not yet been
handed their own cases of the same effort, and then that colleague's cases move on in turn; the
batch resolves each batch at once, so it moves fewer cases and peaks no higher (also tested).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from assigncli.contract import PLAN_COLUMNS
from assigncli.plan import REASON_FULL, REASON_LOCKED
from assigncli.problem import (
    LOCKED,
    NO_CAP,
    UNASSIGNABLE,
    BoolArray,
    CaseStatus,
    FloatArray,
    IntArray,
    Problem,
)
from assigncli.solvers.heuristics import water_fill

__all__ = [
    "BASELINES",
    "BASELINE_LABELS",
    "BaselinePlan",
    "arbitrary",
    "build_baselines",
    "equal_count",
    "greedy_effort",
    "round_robin",
    "status_quo",
]

BASELINES: tuple[str, ...] = (
    "status_quo",
    "round_robin",
    "equal_count",
    "arbitrary",
    "greedy_effort",
)
BASELINE_LABELS: dict[str, str] = {
    "status_quo": "status quo",
    "round_robin": "round-robin",
    "equal_count": "equal count",
    "arbitrary": "arbitrary",
    "greedy_effort": "greedy by effort",
}


@dataclass(frozen=True, eq=False)
class BaselinePlan:
    """One baseline: its key, a label for people, and the per-case plan."""

    name: str
    label: str
    plan: pl.DataFrame


# --- shared state --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Cases:
    """Per-case index arrays (input order) taken once from Problem.cases."""

    status: IntArray
    officer: IntArray  # current officer index, -1 when none or not on the roster
    group: IntArray
    pool: IntArray  # -1 for locked and unassignable cases
    effort: FloatArray
    had_officer: BoolArray  # a current officer is named (on the roster or not)
    n: int

    @classmethod
    def of(cls, problem: Problem) -> _Cases:
        frame = problem.cases.select(
            pl.col("status").to_physical().cast(pl.Int64),
            pl.col("officer").fill_null(-1).cast(pl.Int64),
            pl.col("group").fill_null(-1).cast(pl.Int64),
            pl.col("pool").fill_null(-1).cast(pl.Int64),
            pl.col("effort_hours").cast(pl.Float64),
            pl.col("current_officer_id").is_not_null().alias("had_officer"),
        )
        return cls(
            status=frame["status"].to_numpy(),
            officer=frame["officer"].to_numpy(),
            group=frame["group"].to_numpy(),
            pool=frame["pool"].to_numpy(),
            effort=frame["effort_hours"].to_numpy(),
            had_officer=frame["had_officer"].to_numpy(),
            n=frame.height,
        )

    @property
    def movable(self) -> BoolArray:
        """Cases a baseline decides: neither locked nor unassignable."""
        return np.isin(self.status, (CaseStatus.HELD, CaseStatus.ORPHAN, CaseStatus.NEW))

    @property
    def owner(self) -> IntArray:
        """The officer who may keep each case (its current, eligible officer), else -1."""
        return np.where(self.status == CaseStatus.HELD, self.officer, -1)


@dataclass
class _Desk:
    """What each officer holds while a baseline is built: hours, cases and room under max_cases."""

    load: FloatArray
    count: IntArray
    room: FloatArray  # inf when uncapped

    @classmethod
    def locked_only(cls, problem: Problem) -> _Desk:
        desk = cls(problem.locked_hours.copy(), problem.locked_count.copy(), np.zeros(0))
        desk.room = _room(problem, desk.count)
        return desk

    def add(self, officers: IntArray, counts: IntArray, hours: FloatArray) -> None:
        np.add.at(self.count, officers, counts)
        np.add.at(self.load, officers, hours)
        np.subtract.at(self.room, officers, counts)


def _room(problem: Problem, count: IntArray) -> FloatArray:
    capped = problem.max_cases != NO_CAP
    return np.where(capped, np.maximum(problem.max_cases - count, 0), np.inf).astype(np.float64)


def _group_order(problem: Problem) -> IntArray:
    """Eligibility groups, most constrained (fewest eligible officers) first."""
    sizes = np.diff(problem.group_ptr)
    return np.lexsort((np.arange(len(sizes)), sizes)).astype(np.int64)


def _rows_by_group(cases: _Cases, mask: BoolArray, n_groups: int) -> tuple[IntArray, IntArray]:
    """Rows where `mask` holds, sorted by group (input order within a group), and group offsets."""
    rows = np.flatnonzero(mask)
    rows = rows[np.argsort(cases.group[rows], kind="stable")]
    ptr = np.searchsorted(cases.group[rows], np.arange(n_groups + 1))
    return rows.astype(np.int64), ptr.astype(np.int64)


def _hours(problem: Problem, cases: _Cases, rows: IntArray, officers: IntArray) -> FloatArray:
    """Hours each case adds to the officer who receives it: effort, plus handoff if it moves."""
    moves = cases.had_officer[rows] & (cases.officer[rows] != officers)
    return cases.effort[rows] + np.where(moves, problem.handoff_hours, 0.0)


# --- dealing -------------------------------------------------------------------------------------


def _round_robin_slots(room: FloatArray, m: int) -> IntArray:
    """Officer (local index) of each of `m` cases dealt in turn; -1 once every officer is full.

    Round r goes to the officers with room for more than r cases, in order; the rounds where that set
    does not change are dealt at once, so the work is per distinct room, not per case.
    """
    out = np.full(m, -1, dtype=np.int64)
    rounds = np.minimum(room, m).astype(np.int64)
    dealt, done = 0, 0
    for level in np.unique(rounds[rounds > 0]):
        members = np.flatnonzero(rounds >= level)
        take = min((int(level) - done) * len(members), m - dealt)
        out[dealt : dealt + take] = members[np.arange(take) % len(members)]
        dealt += take
        done = int(level)
        if dealt >= m:
            break
    return out


def _deal_round_robin(
    problem: Problem, cases: _Cases, desk: _Desk, mask: BoolArray, result: IntArray
) -> None:
    """Deal the cases in `mask` round-robin within their group, in case order (fills `result`)."""
    n_groups = len(problem.group_office)
    rows, ptr = _rows_by_group(cases, mask, n_groups)
    for g in _group_order(problem):
        members = rows[ptr[g] : ptr[g + 1]]
        if len(members) == 0:
            continue
        eligible = problem.eligible(int(g))
        slots = _round_robin_slots(desk.room[eligible], len(members))
        given = slots >= 0
        officers = eligible[slots[given]]
        result[members[given]] = officers
        desk.add(
            officers,
            np.ones(len(officers), dtype=np.int64),
            _hours(problem, cases, members[given], officers),
        )


def _realize(
    cases: _Cases,
    batch: IntArray,
    owner: IntArray,
    order: IntArray,
    keep: tuple[IntArray, IntArray, IntArray],
    fill: tuple[IntArray, IntArray, IntArray],
) -> IntArray:
    """Per-case officers from class-level counts (vectorized).

    `batch[i]` is the batch of case i (-1: not decided here) and `owner[i]` its current officer if it
    may keep it (-1 otherwise). `keep` = (batch, owner, count): that many of the owner's cases of the
    batch stay, first in `order`. `fill` = (batch, officer, count): the other cases of the batch, in
    `order`, go to those officers in blocks of that many. Cases beyond every block stay unassigned.
    """
    result = np.full(cases.n, -1, dtype=np.int64)
    rows = np.flatnonzero(batch >= 0)
    if len(rows) == 0:
        return result
    n_off = int(max(owner.max(initial=-1), fill[1].max(initial=-1))) + 2
    rows = rows[np.lexsort((order[rows], owner[rows], batch[rows]))]
    b, o = batch[rows], owner[rows]
    start = np.r_[True, (b[1:] != b[:-1]) | (o[1:] != o[:-1])]
    first = np.flatnonzero(start)
    rank = np.arange(len(rows)) - first[np.cumsum(start) - 1]
    limit = _lookup(keep[0] * n_off + keep[1] + 1, keep[2], b * n_off + o + 1)
    kept = (o >= 0) & (rank < limit)
    result[rows[kept]] = o[kept]

    others = rows[~kept]
    if len(others) == 0 or len(fill[0]) == 0:
        return result
    others = others[np.lexsort((order[others], batch[others]))]
    b = batch[others]
    start = np.r_[True, b[1:] != b[:-1]]
    first = np.flatnonzero(start)
    rank = np.arange(len(others)) - first[np.cumsum(start) - 1]

    f_order = np.lexsort((fill[1], fill[0]))
    f_batch, f_officer, f_count = fill[0][f_order], fill[1][f_order], fill[2][f_order]
    slots = np.repeat(f_officer, f_count)
    batches, at = np.unique(f_batch, return_index=True)
    offset = np.concatenate([[0], np.cumsum(f_count)])[at]
    total = np.add.reduceat(f_count, at)
    pos = np.searchsorted(batches, b)
    found = pos < len(batches)
    found[found] = batches[pos[found]] == b[found]
    ok = found.copy()
    ok[found] = rank[found] < total[pos[found]]
    result[others[ok]] = slots[offset[pos[ok]] + rank[ok]]
    return result


def _lookup(keys: IntArray, values: IntArray, query: IntArray) -> IntArray:
    """values[keys == q] for each q (0 where absent); `keys` need not be sorted."""
    if len(keys) == 0:
        return np.zeros(len(query), dtype=np.int64)
    order = np.argsort(keys)
    sorted_keys = keys[order]
    pos = np.minimum(np.searchsorted(sorted_keys, query), len(keys) - 1)
    hit = sorted_keys[pos] == query
    return np.where(hit, values[order][pos], 0).astype(np.int64)


# --- plans ---------------------------------------------------------------------------------------


def _plan(
    problem: Problem,
    officer: IntArray,
    label: str,
    how: str,
    *,
    breaks: BoolArray | None = None,
) -> pl.DataFrame:
    """The plan table for per-case officer indices (-1: unassigned), with a reason per case."""
    ids = pl.Series("ids", problem.officer_ids, dtype=pl.String)
    index = pl.Series("officer", np.where(officer >= 0, officer, 0))
    officer_id = ids.gather(index) if len(ids) else pl.Series(dtype=pl.String)
    frame = problem.cases.select(
        "case_id", "status", "current_officer_id", "effort_hours", "locked", "reason"
    ).with_columns(
        officer_id=pl.when(pl.Series(officer >= 0)).then(officer_id.alias("officer_id")),
        breaks=pl.Series(breaks if breaks is not None else np.zeros(len(officer), dtype=bool)),
    )
    assigned = pl.col("officer_id").is_not_null()
    stays = assigned & (pl.col("officer_id") == pl.col("current_officer_id")).fill_null(False)
    reason = (
        pl.when(pl.col("status") == LOCKED)
        .then(pl.lit(REASON_LOCKED))
        .when(pl.col("breaks"))
        .then(pl.format(f"{label}: kept although {{}}", pl.col("reason")))
        .when(pl.col("status") == UNASSIGNABLE)
        .then(pl.format("unassignable: {}", pl.col("reason")))
        .when(~assigned)
        .then(pl.lit(REASON_FULL))
        .when(stays)
        .then(pl.lit(f"{label}: stays with its current officer"))
        .otherwise(pl.lit(f"{label}: {how}"))
    )
    moved = assigned & pl.col("current_officer_id").is_not_null() & ~stays
    plan = frame.select(
        "case_id",
        "officer_id",
        pl.col("current_officer_id").alias("previous_officer_id"),
        moved.alias("moved"),
        "effort_hours",
        "locked",
        reason.alias("reason"),
    )
    return plan.cast(dict(PLAN_COLUMNS))  # type: ignore[arg-type]


def _locked_result(cases: _Cases) -> IntArray:
    return np.where(cases.status == CaseStatus.LOCKED, cases.officer, -1).astype(np.int64)


def status_quo(problem: Problem, active: BoolArray) -> pl.DataFrame:
    """Cases stay with their officer if on the roster and active (rule breaks included); new and
    orphaned cases are dealt round-robin in case order. `active` is per roster officer."""
    cases = _Cases.of(problem)
    on_roster = cases.officer >= 0
    stays = on_roster & active[np.where(on_roster, cases.officer, 0)]
    result = np.where(stays, cases.officer, -1).astype(np.int64)
    desk = _Desk.locked_only(problem)
    kept = stays & (cases.status != CaseStatus.LOCKED)
    np.add.at(desk.count, result[kept], 1)
    np.add.at(desk.load, result[kept], cases.effort[kept])
    desk.room = _room(problem, desk.count)
    _deal_round_robin(problem, cases, desk, cases.movable & ~stays, result)
    breaks = stays & (
        (cases.status == CaseStatus.ORPHAN) | (cases.status == CaseStatus.UNASSIGNABLE)
    )
    return _plan(
        problem,
        result,
        "status quo",
        "new or orphaned case dealt round-robin",
        breaks=breaks,
    )


def round_robin(problem: Problem) -> pl.DataFrame:
    """Every case that is not locked dealt in turn to its group's eligible officers, in case order."""
    cases = _Cases.of(problem)
    result = _locked_result(cases)
    _deal_round_robin(problem, cases, _Desk.locked_only(problem), cases.movable, result)
    return _plan(problem, result, "round-robin", "dealt in turn, in case order")


def equal_count(problem: Problem) -> pl.DataFrame:
    """Case counts as equal as eligibility allows, effort ignored; own cases kept up to the share."""
    cases = _Cases.of(problem)
    desk = _Desk.locked_only(problem)
    movable = cases.movable
    owner = cases.owner
    batch = np.where(movable, cases.group, -1)
    n_groups = len(problem.group_office)
    rows, ptr = _rows_by_group(cases, movable, n_groups)
    keeps: list[tuple[int, IntArray, IntArray]] = []
    fills: list[tuple[int, IntArray, IntArray]] = []
    for g in _group_order(problem):
        members = rows[ptr[g] : ptr[g + 1]]
        if len(members) == 0:
            continue
        eligible = problem.eligible(int(g))
        own = _own_counts(owner[members], eligible)
        take = water_fill(
            desk.count[eligible].astype(np.float64),
            np.ones(len(eligible)),
            desk.room[eligible],
            1.0,
            len(members),
        ).take.astype(np.int64)
        keep = np.minimum(own, take)
        keeps.append((int(g), eligible, keep))
        fills.append((int(g), eligible, take - keep))
        desk.add(eligible, take, np.zeros(len(eligible)))
    officer = _realize(cases, batch, owner, np.arange(cases.n), _stack(keeps), _stack(fills))
    result = np.where(movable, officer, _locked_result(cases))
    return _plan(problem, result, "equal count", "evens out case counts")


def arbitrary(problem: Problem, seed: int = 0) -> pl.DataFrame:
    """Each case that is not locked goes to an eligible officer drawn at random (seeded)."""
    rng = np.random.default_rng(seed)
    cases = _Cases.of(problem)
    desk = _Desk.locked_only(problem)
    movable = cases.movable
    n_groups = len(problem.group_office)
    _, ptr = _rows_by_group(cases, movable, n_groups)
    fills: list[tuple[int, IntArray, IntArray]] = []
    for g in _group_order(problem):
        m = int(ptr[g + 1] - ptr[g])
        if m == 0:
            continue
        eligible = problem.eligible(int(g))
        take = _random_counts(rng, desk.room[eligible], m)
        fills.append((int(g), eligible, take))
        desk.add(eligible, take, np.zeros(len(eligible)))
    # A random order inside each group makes the blocks of counts a random draw per case.
    order = rng.permutation(cases.n).astype(np.int64)
    no_owner = np.full(cases.n, -1, dtype=np.int64)
    batch = np.where(movable, cases.group, -1)
    empty = (np.zeros(0, dtype=np.int64),) * 3
    officer = _realize(cases, batch, no_owner, order, empty, _stack(fills))
    result = np.where(movable, officer, _locked_result(cases))
    return _plan(problem, result, "arbitrary", "drawn at random among eligible officers")


def _random_counts(rng: np.random.Generator, room: FloatArray, m: int) -> IntArray:
    """How many of `m` cases each officer gets when each picks an officer with room at random."""
    take = np.zeros(len(room), dtype=np.int64)
    left = m
    while left > 0:
        free = room - take
        open_ = np.flatnonzero(free >= 1)
        if len(open_) == 0:
            break
        draw = rng.multinomial(left, np.full(len(open_), 1.0 / len(open_)))
        got = np.minimum(draw, np.where(np.isinf(free[open_]), left, free[open_])).astype(np.int64)
        take[open_] += got
        left -= int(got.sum())
    return take


def greedy_effort(problem: Problem) -> pl.DataFrame:
    """Longest effort first to the least-utilized eligible officer after adding it (handoff hours
    counted when the officer is not the current one), pool by pool."""
    cases = _Cases.of(problem)
    desk = _Desk.locked_only(problem)
    movable = cases.movable
    owner = cases.owner
    batch = np.where(movable, cases.pool, -1)
    group_rank = np.empty(len(problem.group_office), dtype=np.int64)
    group_rank[_group_order(problem)] = np.arange(len(group_rank))
    pools = np.lexsort(
        (~problem.pool_handoff, group_rank[problem.pool_group], -problem.pool_effort)
    )
    held_order = np.argsort(problem.held_pool, kind="stable")
    held_ptr = np.searchsorted(problem.held_pool[held_order], np.arange(problem.n_pools + 1))
    keeps: list[tuple[int, IntArray, IntArray]] = []
    fills: list[tuple[int, IntArray, IntArray]] = []
    for p in pools:
        eligible = problem.eligible(int(problem.pool_group[p]))
        classes = held_order[held_ptr[p] : held_ptr[p + 1]]
        own = _own_counts(problem.held_officer[classes], eligible, problem.held_count[classes])
        units = int(problem.pool_fixed[p]) + int(problem.held_count[classes].sum())
        effort = float(problem.pool_effort[p])
        cost = float(problem.pool_cost[p])
        fill = water_fill(
            desk.load[eligible],
            problem.available[eligible],
            desk.room[eligible],
            cost,
            units,
            own=own.astype(np.float64),
            own_cost=effort,
        )
        keep, other = fill.keep.astype(np.int64), fill.take.astype(np.int64)
        keeps.append((int(p), eligible, keep))
        fills.append((int(p), eligible, other))
        desk.add(eligible, keep + other, keep * effort + other * cost)
    officer = _realize(cases, batch, owner, np.arange(cases.n), _stack(keeps), _stack(fills))
    result = np.where(movable, officer, _locked_result(cases))
    return _plan(problem, result, "greedy by effort", "least-utilized eligible officer")


def _own_counts(owners: IntArray, eligible: IntArray, weights: IntArray | None = None) -> IntArray:
    """Cases per eligible officer: `owners` are officer indices (-1: none), each counting once or
    `weights` times."""
    counts = np.zeros(len(eligible), dtype=np.int64)
    if len(eligible) == 0:
        return counts
    weight = np.ones(len(owners), dtype=np.int64) if weights is None else weights
    valid = owners >= 0
    order = np.argsort(eligible)
    pos = np.minimum(np.searchsorted(eligible[order], owners[valid]), len(eligible) - 1)
    hit = eligible[order][pos] == owners[valid]
    np.add.at(counts, order[pos[hit]], weight[valid][hit])
    return counts


def _stack(parts: list[tuple[int, IntArray, IntArray]]) -> tuple[IntArray, IntArray, IntArray]:
    """(batch, officer, count) rows of every part, without zero counts."""
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    batch = np.concatenate([np.full(len(o), b, dtype=np.int64) for b, o, _ in parts])
    officer = np.concatenate([o for _, o, _ in parts]).astype(np.int64)
    count = np.concatenate([c for _, _, c in parts]).astype(np.int64)
    keep = count > 0
    return batch[keep], officer[keep], count[keep]


# --- all of them ---------------------------------------------------------------------------------


def build_baselines(
    problem: Problem,
    roster: pl.DataFrame,
    *,
    seed: int = 0,
    names: Sequence[str] = BASELINES,
) -> list[BaselinePlan]:
    """The named baselines (default: all, in `BASELINES` order) for a built problem.

    `roster` is the validated roster the problem was built from (its `active` column tells an
    inactive officer from one away all cycle, which the status quo treats differently).
    """
    unknown = [n for n in names if n not in BASELINE_LABELS]
    if unknown:
        raise ValueError(f"unknown baseline(s) {unknown}; known: {', '.join(BASELINES)}")
    active = roster["active"].fill_null(True).to_numpy().astype(bool)
    makers: dict[str, Callable[[], pl.DataFrame]] = {
        "status_quo": lambda: status_quo(problem, active),
        "round_robin": lambda: round_robin(problem),
        "equal_count": lambda: equal_count(problem),
        "arbitrary": lambda: arbitrary(problem, seed),
        "greedy_effort": lambda: greedy_effort(problem),
    }
    return [BaselinePlan(name, BASELINE_LABELS[name], makers[name]()) for name in names]
