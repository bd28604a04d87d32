"""One independent subproblem in local indices, and the arithmetic every solver shares.

A *state* assigns the classes of a component:

* ``released[h]`` — how many cases of held class ``h`` leave their officer (the rest stay);
* ``flow[a]`` — how many cases of arc ``a``'s pool go to arc ``a``'s officer;
* ``unassigned[p]`` — cases of pool ``p`` that no officer takes (only when case caps bind).

Pool balance: ``Σ flow over p's arcs + unassigned[p] = fixed[p] + Σ released into p``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assigncli.problem import NO_CAP, BoolArray, ComponentIndex, FloatArray, IntArray, Problem

# Balance level: hours above these fractions of the peak utilization are penalized, each once, so
# the penalty is a convex piecewise-linear function of every officer's utilization. It pushes load
# from officers near the peak to the least loaded ones, and counts handoff hours like any others,
# so a needless move only ever adds to it.
# The levels start low (a tenth of the peak) so that the penalty's slope rises step by step over
# the whole range of utilizations, like a quadratic: it lifts the least utilized officers too, not
# only the busiest ones.
BALANCE_LEVELS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)


@dataclass(frozen=True)
class Component:
    index: ComponentIndex
    # officers (local o)
    available: FloatArray
    cap: IntArray  # NO_CAP when uncapped
    base_hours: FloatArray  # locked hours
    base_count: IntArray  # locked cases
    measured: BoolArray  # available > 0: counts toward utilization objectives
    # held classes (local h)
    held_officer: IntArray
    held_pool: IntArray
    held_count: IntArray
    held_effort: FloatArray
    # pools (local p)
    pool_cost: FloatArray
    pool_fixed: IntArray
    pool_size: IntArray  # fixed + every held case that could be released into it
    pool_group: IntArray  # local eligibility group: pools of one group share their officers
    pool_handoff: BoolArray  # its cases had an officer: whoever receives one pays the handoff
    # arcs pool → eligible officer (local a), sorted by pool
    arc_pool: IntArray
    arc_officer: IntArray
    arc_ptr: IntArray  # arcs of pool p: arc_ptr[p] : arc_ptr[p + 1]
    # adjacency, built once: arcs and held classes of each officer, held classes of each pool
    officer_arc_ptr: IntArray  # arcs into officer o: officer_arcs[officer_arc_ptr[o] : ...]
    officer_arcs: IntArray
    officer_held_ptr: IntArray
    officer_held: IntArray
    pool_held_ptr: IntArray
    pool_held: IntArray

    def arcs_of(self, officer: int) -> IntArray:
        return self.officer_arcs[self.officer_arc_ptr[officer] : self.officer_arc_ptr[officer + 1]]

    def held_of(self, officer: int) -> IntArray:
        return self.officer_held[
            self.officer_held_ptr[officer] : self.officer_held_ptr[officer + 1]
        ]

    def pool_arcs(self, pool: int) -> IntArray:
        return np.arange(self.arc_ptr[pool], self.arc_ptr[pool + 1], dtype=np.int64)

    def held_into(self, pool: int) -> IntArray:
        return self.pool_held[self.pool_held_ptr[pool] : self.pool_held_ptr[pool + 1]]

    @property
    def n_officers(self) -> int:
        return len(self.available)

    @property
    def n_pools(self) -> int:
        return len(self.pool_cost)

    @property
    def n_held(self) -> int:
        return len(self.held_officer)

    @property
    def n_groups(self) -> int:
        return int(self.pool_group.max()) + 1 if len(self.pool_group) else 0

    @property
    def n_arcs(self) -> int:
        return len(self.arc_pool)

    @property
    def capped(self) -> bool:
        return bool((self.cap != NO_CAP).any())

    @property
    def size(self) -> int:
        """Variables of the exact model: a rough measure of difficulty."""
        return self.n_arcs + self.n_held

    # -- arithmetic on states --------------------------------------------------------------

    def loads(self, released: IntArray | FloatArray, flow: IntArray | FloatArray) -> FloatArray:
        kept = (self.held_count - released) * self.held_effort
        n = self.n_officers
        # bincount, not np.add.at: the same sums, an order of magnitude faster on 1M arcs.
        return (
            self.base_hours
            + np.bincount(self.held_officer, weights=kept, minlength=n)
            + np.bincount(
                self.arc_officer, weights=flow * self.pool_cost[self.arc_pool], minlength=n
            )
        )

    def counts(self, released: IntArray | FloatArray, flow: IntArray | FloatArray) -> FloatArray:
        n = self.n_officers
        kept = (self.held_count - released).astype(np.float64)
        count = self.base_count.astype(np.float64)
        count += np.bincount(self.held_officer, weights=kept, minlength=n)
        count += np.bincount(self.arc_officer, weights=np.asarray(flow, np.float64), minlength=n)
        return count

    def utilization(self, load: FloatArray) -> FloatArray:
        """Load over available hours; officers without available hours read as 0 (unmeasured)."""
        safe = np.where(self.measured, self.available, 1.0)
        return np.where(self.measured, load / safe, 0.0)

    def pool_inflow(self, released: IntArray | FloatArray) -> FloatArray:
        inflow = self.pool_fixed.astype(np.float64)
        inflow += np.bincount(
            self.held_pool, weights=np.asarray(released, np.float64), minlength=self.n_pools
        )
        return inflow

    def pool_outflow(self, flow: IntArray | FloatArray) -> FloatArray:
        out = np.zeros(self.n_pools)
        out += np.bincount(
            self.arc_pool, weights=np.asarray(flow, np.float64), minlength=self.n_pools
        )
        return out

    def penalty(self, load: FloatArray, peak: float) -> float:
        """The balance penalty: Σ over officers and levels of hours above level × peak."""
        over = load[None, :] - np.asarray(BALANCE_LEVELS)[:, None] * peak * self.available[None, :]
        return float(np.clip(over[:, self.measured], 0.0, None).sum())

    def cap_forced_releases(self) -> int:
        """Held cases that must be released whatever the plan: officers holding more than
        their case cap."""
        kept = self.counts(np.zeros(self.n_held), np.zeros(self.n_arcs))
        over = np.where(self.cap == NO_CAP, 0.0, np.maximum(kept - self.cap, 0.0))
        return int(over.sum())

    def own_arc(self) -> IntArray:
        """For each held class, the arc from its pool back to its own officer (-1 if none)."""
        key = self.arc_pool * self.n_officers + self.arc_officer
        order = np.argsort(key)
        want = self.held_pool * self.n_officers + self.held_officer
        pos = np.searchsorted(key[order], want)
        pos = np.minimum(pos, len(key) - 1) if len(key) else pos
        found = np.zeros(len(want), dtype=bool)
        if len(key):
            found = key[order][pos] == want
        return np.where(found, order[pos] if len(key) else -1, -1).astype(np.int64)


def build_component(problem: Problem, index: ComponentIndex) -> Component:
    """Restrict `problem` to one component, renumbering officers, pools and held classes."""
    officers, pools, held = index.officers, index.pools, index.held
    local_officer = np.full(problem.n_officers, -1, dtype=np.int64)
    local_officer[officers] = np.arange(len(officers))
    local_pool = np.full(problem.n_pools, -1, dtype=np.int64)
    local_pool[pools] = np.arange(len(pools))

    groups = problem.pool_group[pools]
    _, local_group = np.unique(groups, return_inverse=True)
    starts, ends = problem.group_ptr[groups], problem.group_ptr[groups + 1]
    sizes = ends - starts
    arc_pool = np.repeat(np.arange(len(pools), dtype=np.int64), sizes)
    offsets = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    arc_global = problem.group_officers[np.repeat(starts, sizes) + offsets]
    arc_officer = local_officer[arc_global]
    arc_ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    held_pool = local_pool[problem.held_pool[held]]
    pool_size = problem.pool_fixed[pools].astype(np.int64).copy()
    np.add.at(pool_size, held_pool, problem.held_count[held])

    available = problem.available[officers]
    held_officer = local_officer[problem.held_officer[held]]
    return make_component(
        index=index,
        available=available,
        # Locked cases stay even beyond max_cases; the cap then only stops new ones.
        cap=np.where(
            problem.max_cases[officers] == NO_CAP,
            NO_CAP,
            np.maximum(problem.max_cases[officers], problem.locked_count[officers]),
        ),
        base_hours=problem.locked_hours[officers],
        base_count=problem.locked_count[officers],
        measured=available > 0,
        held_officer=held_officer,
        held_pool=held_pool,
        held_count=problem.held_count[held],
        held_effort=problem.held_effort[held],
        pool_cost=problem.pool_cost[pools],
        pool_fixed=problem.pool_fixed[pools],
        pool_size=pool_size,
        pool_group=local_group.astype(np.int64),
        pool_handoff=problem.pool_handoff[pools],
        arc_pool=arc_pool,
        arc_officer=arc_officer.astype(np.int64),
        arc_ptr=arc_ptr,
    )


def csr(keys: IntArray, n: int) -> tuple[IntArray, IntArray]:
    """(ptr, items): the indices of `keys` grouped by key value 0..n-1, each group in index order."""
    order = np.argsort(keys, kind="stable").astype(np.int64)
    ptr = np.searchsorted(keys[order], np.arange(n + 1)).astype(np.int64)
    return ptr, order


def make_component(
    *,
    index: ComponentIndex,
    available: FloatArray,
    cap: IntArray,
    base_hours: FloatArray,
    base_count: IntArray,
    measured: BoolArray,
    held_officer: IntArray,
    held_pool: IntArray,
    held_count: IntArray,
    held_effort: FloatArray,
    pool_cost: FloatArray,
    pool_fixed: IntArray,
    pool_size: IntArray,
    pool_group: IntArray,
    pool_handoff: BoolArray,
    arc_pool: IntArray,
    arc_officer: IntArray,
    arc_ptr: IntArray,
) -> Component:
    """A component with its adjacency derived once from the arrays above."""
    n_officers, n_pools = len(available), len(pool_cost)
    officer_arc_ptr, officer_arcs = csr(arc_officer, n_officers)
    officer_held_ptr, officer_held = csr(held_officer, n_officers)
    pool_held_ptr, pool_held = csr(held_pool, n_pools)
    return Component(
        index=index,
        available=available,
        cap=cap,
        base_hours=base_hours,
        base_count=base_count,
        measured=measured,
        held_officer=held_officer,
        held_pool=held_pool,
        held_count=held_count,
        held_effort=held_effort,
        pool_cost=pool_cost,
        pool_fixed=pool_fixed,
        pool_size=pool_size,
        pool_group=pool_group,
        pool_handoff=pool_handoff,
        arc_pool=arc_pool,
        arc_officer=arc_officer,
        arc_ptr=arc_ptr,
        officer_arc_ptr=officer_arc_ptr,
        officer_arcs=officer_arcs,
        officer_held_ptr=officer_held_ptr,
        officer_held=officer_held,
        pool_held_ptr=pool_held_ptr,
        pool_held=pool_held,
    )


@dataclass
class State:
    """A class-level assignment of one component (mutable while a heuristic works on it)."""

    released: IntArray
    flow: IntArray
    unassigned: IntArray

    def copy(self) -> State:
        return State(self.released.copy(), self.flow.copy(), self.unassigned.copy())


def cancel_round_trips(comp: Component, state: State) -> None:
    """A case released by an officer and handed back to the same officer never moved: undo both."""
    own = comp.own_arc()
    has = own >= 0
    if not has.any():
        return
    h = np.flatnonzero(has)
    a = own[h]
    back = np.minimum(state.released[h], state.flow[a])
    state.released[h] -= back
    state.flow[a] -= back


@dataclass(frozen=True)
class Evaluation:
    load: FloatArray
    count: FloatArray
    peak: float  # highest utilization among measured officers (0 if none)
    floor: float  # lowest utilization among measured officers
    moves: int  # discretionary moves (released held cases); forced moves are constant
    unassigned: int


def evaluate(comp: Component, state: State) -> Evaluation:
    load = comp.loads(state.released, state.flow)
    count = comp.counts(state.released, state.flow)
    util = comp.utilization(load)[comp.measured]
    return Evaluation(
        load=load,
        count=count,
        peak=float(util.max()) if util.size else 0.0,
        floor=float(util.min()) if util.size else 0.0,
        moves=int(state.released.sum()),
        unassigned=int(state.unassigned.sum()),
    )
