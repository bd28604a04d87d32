"""Lower bounds on a component's peak utilization, valid for every component shape.

Each argument returns ``(value, name)``; `lower_bound` keeps the strongest, so the certificate can
say which argument proved it. Every bound is a bound on the lexicographic optimum: the lowest peak
among plans that leave at most ``max_unassigned`` cases unassigned (by default the fewest that the
case caps force, which every optimal plan leaves when there is no move budget).

Arguments, weakest first:

* **hall** — for a set N of officers, every case whose eligible officers all lie in N, and N's
  locked load, are carried by N: peak ≥ hours / available(N). N ranges over the eligible set of
  each eligibility group and the whole component (not every subset);
* **largest case** — every case lands somewhere: peak ≥ min over its eligible officers of
  (locked load + the case's hours there) / available;
* **pigeonhole**, **martello_toth_l2**, **fekete_schepers_dff** — the classical P‖Cmax bounds,
  on a set N of officers with equal available hours (the cases confined to N as jobs, each
  officer's locked load as one more job), on the decision "peak ≤ t" as bin packing with bins of
  t × available;
* **packing** — for small components, the smallest peak that a bin-packing CP-SAT model
  (eligibility, caps, locks, held cases and the move structure included) does not prove
  infeasible within a small deterministic-time budget (see `packing.py`).

Hours are counted in integer milli-hours (`UNIT`), rounded *down*, so that the integer problem is a
relaxation of the real one and a refutation in it is a proof. Held cases count at their cheapest
(kept by their officer, without handoff hours); that, dropping cases an officer set may but need
not take, and ignoring case caps are relaxations too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.graph.python import max_flow

from assigncli.problem import NO_CAP, BoolArray, FloatArray, IntArray
from assigncli.solvers.component import Component

UNIT = 1000  # integer hours scale: milli-hours
# Bounds are shaved by this relative margin so that float rounding can never push one above the
# true optimum; it is far below the 1e-9 at which the certificate calls a plan optimal.
SHAVE = 1e-10
# Fekete–Schepers u^(k) for k up to this, and at most this many ε thresholds per capacity tested.
DFF_MAX_K = 12
DFF_MAX_EPS = 64
MAX_OFFICER_SETS = 500
# `lower_bound` runs the packing argument only on components up to these sizes.
PACKING_MAX_CASES = 400
PACKING_MAX_OFFICERS = 50

# Argument names, as the certificate reports them.
HALL = "hall"
LARGEST = "largest_case"
PIGEONHOLE = "pigeonhole"
L2 = "martello_toth_l2"
DFF = "fekete_schepers_dff"
PACKING = "packing"
NONE = "none"


@dataclass(frozen=True)
class Bound:
    value: float
    argument: str


def _best(*bounds: tuple[float, str]) -> tuple[float, str]:
    best = (0.0, NONE)
    for value, name in bounds:
        if value > best[0]:
            best = (value, name)
    return best


def to_units(hours: FloatArray) -> IntArray:
    """Hours as integer milli-hours, rounded down (a relaxation: no load grows)."""
    return np.floor(np.asarray(hours, np.float64) * UNIT + 1e-6).astype(np.int64)


def exact_units(hours: FloatArray) -> bool:
    scaled = np.asarray(hours, np.float64) * UNIT
    return bool(np.all(np.abs(scaled - np.round(scaled)) < 1e-6))


# -- the component as jobs -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Jobs:
    """Every case of a component as a class with a count, its cheapest hours and its group."""

    count: IntArray
    hours: FloatArray
    group: IntArray
    member: BoolArray  # (groups × officers): officers eligible for each group


def _jobs(comp: Component) -> _Jobs:
    member = np.zeros((comp.n_groups, comp.n_officers), dtype=bool)
    member[comp.pool_group[comp.arc_pool], comp.arc_officer] = True
    return _Jobs(
        count=np.concatenate([comp.pool_fixed, comp.held_count]).astype(np.int64),
        hours=np.concatenate([comp.pool_cost, comp.held_effort]).astype(np.float64),
        group=np.concatenate([comp.pool_group, comp.pool_group[comp.held_pool]]).astype(np.int64),
        member=member,
    )


def _officer_sets(comp: Component, jobs: _Jobs) -> list[BoolArray]:
    """The officer sets the bounds look at: all officers, and each group's eligible officers
    (the largest groups first, up to `MAX_OFFICER_SETS`: each set costs a pass over the groups)."""
    everyone = comp.measured.copy()
    sets = {everyone.tobytes(): everyone}
    for g in np.argsort(-jobs.member.sum(axis=1), kind="stable")[:MAX_OFFICER_SETS]:
        row = jobs.member[g]
        sets.setdefault(row.tobytes(), row)
    return [s & comp.measured for s in sets.values() if (s & comp.measured).any()]


def _confined(jobs: _Jobs, officers: BoolArray) -> BoolArray:
    """Job classes whose eligible officers all lie in `officers`."""
    inside = np.asarray(~(jobs.member & ~officers[None, :]).any(axis=1), dtype=bool)
    confined: BoolArray = inside[jobs.group] & (jobs.count > 0)
    return confined


def min_unassigned(comp: Component) -> int:
    """The fewest cases a plan must leave unassigned (case caps), as a max flow.

    Source → each pool (its new and orphan cases) and each held class (its cases); a held class →
    its officer (kept) or its pool (released); pool → each eligible officer; officer → sink, up to
    the room under the cap.
    """
    total = int(comp.pool_fixed.sum() + comp.held_count.sum())
    if not comp.capped or total == 0:
        return 0
    n_p, n_h, n_o = comp.n_pools, comp.n_held, comp.n_officers
    source, sink = 0, 1
    pool_node = 2 + np.arange(n_p)
    held_node = 2 + n_p + np.arange(n_h)
    officer_node = 2 + n_p + n_h + np.arange(n_o)
    big = total + 1
    room = np.where(comp.cap == NO_CAP, big, np.maximum(comp.cap - comp.base_count, 0))
    tails = np.concatenate(
        [
            np.full(n_p, source),
            np.full(n_h, source),
            held_node,
            held_node,
            pool_node[comp.arc_pool],
            officer_node,
        ]
    )
    heads = np.concatenate(
        [
            pool_node,
            held_node,
            officer_node[comp.held_officer],
            pool_node[comp.held_pool],
            officer_node[comp.arc_officer],
            np.full(n_o, sink),
        ]
    )
    capacities = np.concatenate(
        [
            comp.pool_fixed,
            comp.held_count,
            comp.held_count,
            comp.held_count,
            np.full(comp.n_arcs, big),
            room,
        ]
    ).astype(np.int64)
    flow = max_flow.SimpleMaxFlow()
    flow.add_arcs_with_capacity(tails.astype(np.int32), heads.astype(np.int32), capacities)
    status = flow.solve(source, sink)
    if status != flow.OPTIMAL:
        raise RuntimeError(f"max flow failed with status {status}")
    return total - int(flow.optimal_flow())


def _smallest_sum(count: IntArray, hours: FloatArray, k: int) -> float:
    """Sum of the `k` smallest hours in the multiset (hours[i] repeated count[i] times)."""
    if k <= 0:
        return 0.0
    order = np.argsort(hours, kind="stable")
    c, h = count[order], hours[order]
    taken = np.minimum(c, np.maximum(k - (np.cumsum(c) - c), 0))
    return float((taken * h).sum())


# -- the simple arguments ------------------------------------------------------------------------


def hall_bound(comp: Component, max_unassigned: int = 0) -> tuple[float, str]:
    """Peak ≥ (locked hours of N + hours of the cases confined to N) / available hours of N.

    Proof: the cases whose eligible officers all lie in N are carried by N (all but at most
    `max_unassigned` of them, so at least the cheapest rest), and N's loads sum to at most the
    peak times N's available hours. N runs over each group's officers and the whole component;
    single officers give the locked-load bound base / available.
    """
    if not comp.measured.any():
        return 0.0, NONE
    util = comp.base_hours[comp.measured] / comp.available[comp.measured]
    best = float(util.max()) if util.size else 0.0
    jobs = _jobs(comp)
    for officers in _officer_sets(comp, jobs):
        inside = _confined(jobs, officers)
        n = int(jobs.count[inside].sum())
        hours = _smallest_sum(jobs.count[inside], jobs.hours[inside], n - max_unassigned)
        value = (float(comp.base_hours[officers].sum()) + hours) / float(
            comp.available[officers].sum()
        )
        best = max(best, value)
    return best * (1 - SHAVE), HALL


def largest_case_bound(comp: Component, max_unassigned: int = 0) -> tuple[float, str]:
    """Peak ≥ the (max_unassigned + 1)-th largest, over cases, of the lowest utilization that
    the case alone gives any eligible officer on top of the officer's locked load.

    Proof: every case but at most `max_unassigned` is assigned, and the officer taking case j
    ends at least at (locked + hours of j there) / available. A held case costs its effort at its
    own officer and effort + handoff at any other (a pool's cost already includes the handoff
    when every eligible officer pays it).
    """
    if comp.n_arcs == 0 and comp.n_held == 0:
        return 0.0, NONE
    safe = np.where(comp.measured, comp.available, 1.0)
    per_arc = (comp.base_hours[comp.arc_officer] + comp.pool_cost[comp.arc_pool]) / safe[
        comp.arc_officer
    ]
    has_arcs = comp.arc_ptr[1:] > comp.arc_ptr[:-1]
    pool_min = np.full(comp.n_pools, np.inf)
    if comp.n_arcs:
        starts = comp.arc_ptr[:-1][has_arcs]
        pool_min[has_arcs] = np.minimum.reduceat(per_arc, starts)
    keep = (comp.base_hours[comp.held_officer] + comp.held_effort) / safe[comp.held_officer]
    held_min = np.minimum(pool_min[comp.held_pool], keep)
    values = np.concatenate([pool_min, held_min])
    counts = np.concatenate([comp.pool_fixed, comp.held_count]).astype(np.int64)
    ok = np.isfinite(values) & (counts > 0)
    values, counts = values[ok], counts[ok]
    if int(counts.sum()) <= max_unassigned:
        return 0.0, NONE
    order = np.argsort(-values, kind="stable")
    cum = np.cumsum(counts[order])
    at = int(np.searchsorted(cum, max_unassigned + 1))
    return float(values[order][at]) * (1 - SHAVE), LARGEST


# -- P‖Cmax bounds on officers with equal available hours ----------------------------------------


@dataclass(frozen=True)
class Machines:
    """Identical bins: `m` officers of `available` units each; jobs as distinct sizes (integer
    units, sorted descending) with counts."""

    m: int
    available: float  # in units (available hours × UNIT)
    size: IntArray
    count: IntArray

    @property
    def n(self) -> int:
        return int(self.count.sum())


def machines(size: IntArray, count: IntArray, m: int, available: float) -> Machines:
    keep = count > 0
    size, count = size[keep], count[keep]
    values, inverse = np.unique(size, return_inverse=True)
    total = np.bincount(inverse, weights=count, minlength=len(values)).astype(np.int64)
    return Machines(m, available, values[::-1].copy(), total[::-1].copy())


def pigeonhole_units(mach: Machines) -> int:
    """max over k ≥ 0 of the sum of the k + 1 smallest among the k·m + 1 largest jobs.

    Proof: k·m + 1 jobs on m machines put at least k + 1 of them on one machine, whose load is
    then at least the sum of the k + 1 smallest of them (k = 0: the largest job; k = 1:
    p_m + p_{m+1}). This is the lifting of the largest-job bound to the k·m + 1 largest jobs.
    """
    n = mach.n
    if n == 0:
        return 0
    cum = np.cumsum(mach.count)
    cum_hours = np.cumsum(mach.count * mach.size)

    def prefix(j: IntArray) -> IntArray:
        """Sum of the j largest jobs."""
        i = np.searchsorted(cum, j, side="right")
        full = np.where(i > 0, cum_hours[np.maximum(i - 1, 0)], 0)
        done = np.where(i > 0, cum[np.maximum(i - 1, 0)], 0)
        part = (j - done) * mach.size[np.minimum(i, len(mach.size) - 1)]
        return np.asarray(full + np.where(j > done, part, 0), dtype=np.int64)

    k = np.arange(0, (n - 1) // mach.m + 1, dtype=np.int64)
    last = k * mach.m + 1
    return int((prefix(last) - prefix(last - k - 1)).max())


def l2_refutes(mach: Machines, capacity: int) -> bool:
    """Martello–Toth L2 for bin packing at bin size `capacity` exceeds m.

    L2 = max over K ∈ [0, C/2] of |J1 ∪ J2| + max(0, ⌈(p(J3) − (|J2|·C − p(J2))) / C⌉), with
    J1 = {p > C − K}, J2 = {C − K ≥ p > C/2}, J3 = {C/2 ≥ p ≥ K}. Proof: jobs above C/2 need a bin
    each; a J1 job leaves less than K free, so no J3 job joins it; the J3 jobs fit at best into
    the free room of the J2 bins and then need new bins.
    """
    size, count = mach.size[::-1], mach.count[::-1]  # ascending
    if len(size) == 0:
        return False
    if size[-1] > capacity:
        return True
    big = 2 * size > capacity
    n_big = int(count[big].sum())
    if n_big > mach.m:
        return True
    small = ~big
    ks = np.concatenate([[0], size[small]])
    # For each K: J2 = big jobs with size ≤ C − K; J3 = small jobs with size ≥ K.
    c_big, s_big = count[big], size[big]
    cum_c_big = np.concatenate([[0], np.cumsum(c_big)])
    cum_h_big = np.concatenate([[0], np.cumsum(c_big * s_big)])
    j2_end = np.searchsorted(s_big, capacity - ks, side="right")
    n_j2 = cum_c_big[j2_end]
    h_j2 = cum_h_big[j2_end]
    c_small, s_small = count[small], size[small]
    cum_h_small = np.concatenate([[0], np.cumsum(c_small * s_small)])
    j3_start = np.searchsorted(s_small, ks, side="left")
    h_j3 = cum_h_small[-1] - cum_h_small[j3_start]
    excess = h_j3 - (n_j2 * capacity - h_j2)
    extra = np.maximum(0, -(-excess // capacity))
    return bool(n_big + int(extra.max()) > mach.m)


def dff_refutes(mach: Machines, capacity: int) -> bool:
    """A Fekete–Schepers dual feasible function sums above m over the jobs.

    With x = p / C, f_ε(x) = 1 above 1 − ε, x on [ε, 1 − ε], 0 below ε (ε ≤ 1/2), and
    u_k(y) = y when (k + 1)·y is an integer, else ⌊(k + 1)·y⌋ / k. Both are dual feasible (jobs
    that fit one bin have values summing to at most 1), so their composition is too, and a
    feasible packing into m bins has Σ u_k(f_ε(p_j / C)) ≤ m. Evaluated in integers (× k·C).
    """
    size, count = mach.size, mach.count
    if len(size) == 0:
        return False
    if size[0] > capacity:
        return True
    eps = np.concatenate([[0], np.unique(size[2 * size <= capacity])])
    if len(eps) > DFF_MAX_EPS:
        eps = eps[np.linspace(0, len(eps) - 1, DFF_MAX_EPS).astype(np.int64)]
    # v = C · f_ε(p / C), one row per ε.
    s = size[None, :]
    e = eps[:, None]
    v = np.where(s > capacity - e, capacity, np.where(s >= e, s, 0))
    for k in range(1, DFF_MAX_K + 1):
        scaled = (k + 1) * v
        value = np.where(scaled % capacity == 0, k * v, (scaled // capacity) * capacity)
        if bool(((value * count[None, :]).sum(axis=1) > mach.m * k * capacity).any()):
            return True
    return False


def _refuting_argument(mach: Machines, capacity: int) -> str | None:
    if capacity < 0 or (mach.n and int(mach.size[0]) > capacity):
        return PIGEONHOLE
    if int((mach.size * mach.count).sum()) > mach.m * capacity:
        return HALL
    if l2_refutes(mach, capacity):
        return L2
    if dff_refutes(mach, capacity):
        return DFF
    return None


def identical_bound_units(mach: Machines) -> tuple[int, str]:
    """The least makespan (in units) that pigeonhole, L2 and the DFFs do not refute.

    A binary search on the integer capacity C between the simple bounds and a list-scheduling
    upper bound; a refuted C proves the makespan is at least C + 1 (loads are integers), whether
    or not the refutation tests are monotone in C.
    """
    if mach.n == 0:
        return 0, NONE
    total = int((mach.size * mach.count).sum())
    simple = max(pigeonhole_units(mach), -(-total // mach.m))
    best_name = PIGEONHOLE if pigeonhole_units(mach) >= -(-total // mach.m) else HALL
    lo = simple - 1  # refuted by the simple bounds
    hi = total // mach.m + int(mach.size[0])  # list scheduling reaches it: never refuted
    name = best_name
    while hi - lo > 1:
        mid = (lo + hi) // 2
        refuted = _refuting_argument(mach, mid)
        if refuted is not None:
            lo, name = mid, refuted if mid >= simple else best_name
        else:
            hi = mid
    return lo + 1, name


def identical_bound(comp: Component, max_unassigned: int = 0) -> tuple[float, str]:
    """P‖Cmax bounds on every officer set N (a group's eligible officers, or all of them) whose
    officers have equal available hours: jobs are the cases confined to N at their cheapest,
    plus each officer's locked load as one job (it could only sit on one machine; letting it
    move is a relaxation). Skipped when cases may stay unassigned."""
    if max_unassigned > 0 or not comp.measured.any():
        return 0.0, NONE
    jobs = _jobs(comp)
    best = (0.0, NONE)
    for officers in _officer_sets(comp, jobs):
        available = comp.available[officers]
        if float(available.max()) != float(available.min()):
            continue
        inside = _confined(jobs, officers)
        base = to_units(comp.base_hours[officers])
        size = np.concatenate([to_units(jobs.hours[inside]), base])
        count = np.concatenate([jobs.count[inside], (base > 0).astype(np.int64)])
        units = float(available[0]) * UNIT
        mach = machines(size, count, int(officers.sum()), units)
        value, name = identical_bound_units(mach)
        if value > 0:
            best = _best(best, (value / units * (1 - SHAVE), name))
    return best


def combinatorial_bound(comp: Component, max_unassigned: int | None = None) -> Bound:
    """The best of the closed-form arguments (no search)."""
    u = min_unassigned(comp) if max_unassigned is None else max_unassigned
    value, name = _best(hall_bound(comp, u), largest_case_bound(comp, u), identical_bound(comp, u))
    return Bound(value, name)


def lower_bound(
    comp: Component,
    *,
    work: float = 1.0,
    workers: int = 1,
    max_unassigned: int | None = None,
    seed: int = 0,
) -> Bound:
    """The best proven lower bound on the component's peak utilization, and its argument.

    `work` is CP-SAT deterministic time for the packing argument (0 skips it), which runs on
    components of at most `PACKING_MAX_CASES` cases and `PACKING_MAX_OFFICERS` officers.
    `max_unassigned`: the most cases the plans considered may leave unassigned (default: the
    fewest the caps force, the level-1 optimum without a move budget; under a move budget pass
    the unassigned count of a plan within the budget).
    """
    u = min_unassigned(comp) if max_unassigned is None else max_unassigned
    best = combinatorial_bound(comp, u)
    cases = int(comp.pool_fixed.sum() + comp.held_count.sum())
    small = cases <= PACKING_MAX_CASES and comp.n_officers <= PACKING_MAX_OFFICERS
    if work > 0 and small and comp.measured.any():
        # packing builds its search on the bounds above, so it is imported here.
        from assigncli.solvers import packing

        refuted = packing.refute_below(
            comp, best, work=work, workers=workers, max_unassigned=u, seed=seed
        )
        if refuted.value > best.value:
            best = refuted
    return best
