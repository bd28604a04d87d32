"""Exact search for small hard components: binary search on the peak over bin-packing models.

The decision "peak ≤ t" is bin packing: officer o's load may not exceed t × available(o). The
CP-SAT model is the component's own class model — released cases per held class, cases per
pool → officer arc, unassigned cases per pool — so held cases (kept at their effort, or moved at
effort + handoff), locked loads, eligibility, case caps and the move budget are all exact; only the
objective is replaced by the capacities. Pools are small in the components this is for (a pool is
the cases of one eligibility group and one effort), so per-class counts are per-case decisions in
all but name, while pools that do aggregate keep the model small.

Hours are integer milli-hours rounded down (`bounds.to_units`): the model is then a relaxation of
the real problem, so a model proved infeasible at capacities c proves every plan has some officer
above c, even where the rounding is inexact. Plans it finds are measured in real hours.

Symmetry among identical officers (same available hours, cap, locked load and eligibility, no held
cases) is broken by ordering their loads; hints come from the incumbent, its identical officers
permuted into that order. Budgets are CP-SAT deterministic time (`max_deterministic_time`), split
across the probes; the wall clock (`deadline`) is only a safety net.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from assigncli import interrupt
from assigncli.problem import NO_CAP, IntArray
from assigncli.solvers.bounds import (
    PACKING,
    UNIT,
    Bound,
    combinatorial_bound,
    exact_units,
    min_unassigned,
    to_units,
)
from assigncli.solvers.component import Component, State, cancel_round_trips, evaluate

# The decision model grows with arcs + held classes; above this the search is not attempted.
PACKING_SIZE_LIMIT = 100_000
# Relative slack on capacities (float rounding of peak × available), and the tolerance at which a
# plan counts as equal to the bound.
_CAP_SLACK = 1e-10
OPTIMAL_TOL = 1e-9
# A probe gets this share of the remaining work (the first probe at the bound a larger one), and
# never less than `_MIN_PROBE_WORK`.
_FIRST_SHARE = 0.5
_PROBE_SHARE = 0.35
_MIN_PROBE_WORK = 0.02
_MAX_PROBES = 64
_IMPROVE_SHARE = 0.5
# The per-case model up to this many case–officer pairs (booleans); the class model above it.
PER_CASE_LIMIT = 60_000
# Arc-flow graphs up to this many arcs; the per-case model beyond.
ARC_FLOW_LIMIT = 40_000


@dataclass(frozen=True)
class PackingResult:
    state: State
    bound: float  # proven lower bound on the peak
    optimal: bool  # the state's peak equals the bound
    argument: str  # which argument proved the bound


@dataclass(frozen=True)
class Probe:
    status: str  # "feasible" | "infeasible" | "unknown"
    state: State | None
    work: float  # deterministic time used


def identical_officers(comp: Component) -> list[IntArray]:
    """Classes (two or more officers, ascending) that no constraint tells apart: equal available
    hours, cap, locked hours and count, the same eligibility, and no held cases."""
    member = np.zeros((max(comp.n_groups, 1), comp.n_officers), dtype=bool)
    member[comp.pool_group[comp.arc_pool], comp.arc_officer] = True
    holds = np.zeros(comp.n_officers, dtype=bool)
    holds[comp.held_officer] = True
    classes: dict[tuple[object, ...], list[int]] = {}
    for o in np.flatnonzero(comp.measured & ~holds):
        key = (
            float(comp.available[o]),
            int(comp.cap[o]),
            float(comp.base_hours[o]),
            int(comp.base_count[o]),
            member[:, o].tobytes(),
        )
        classes.setdefault(key, []).append(int(o))
    return [np.array(c, dtype=np.int64) for c in classes.values() if len(c) > 1]


def _arc_lookup(comp: Component) -> tuple[IntArray, IntArray]:
    key = comp.arc_pool * comp.n_officers + comp.arc_officer
    order = np.argsort(key, kind="stable")
    return key[order], order


def sorted_hint(comp: Component, state: State, classes: list[IntArray]) -> State:
    """The same plan with each class of identical officers relabelled by descending load, so that
    it satisfies the model's symmetry-breaking order."""
    if not classes:
        return state
    load = comp.loads(state.released, state.flow)
    target = np.arange(comp.n_officers)
    for members in classes:
        ranked = members[np.argsort(-load[members], kind="stable")]
        target[ranked] = members
    keys, order = _arc_lookup(comp)
    new_key = comp.arc_pool * comp.n_officers + target[comp.arc_officer]
    arcs = order[np.searchsorted(keys, new_key)]
    flow = np.zeros_like(state.flow)
    flow[arcs] = state.flow
    return State(state.released.copy(), flow, state.unassigned.copy())


class PackingModel:
    """The bin-packing decision model of one component; capacities are set per probe."""

    def __init__(
        self,
        comp: Component,
        *,
        max_moves: int | None,
        max_unassigned: int,
        workers: int,
        seed: int,
    ) -> None:
        self.comp = comp
        self.workers = workers
        self.seed = seed
        model = cp_model.CpModel()
        self.model = model
        self.released = [model.new_int_var(0, int(n), "") for n in comp.held_count]
        self.flow = [model.new_int_var(0, int(comp.pool_size[p]), "") for p in comp.arc_pool]
        self.unassigned = [
            model.new_int_var(0, int(comp.pool_size[p]) if comp.capped else 0, "")
            for p in range(comp.n_pools)
        ]
        self._add_pool_balance()
        effort = to_units(comp.held_effort)
        cost = to_units(comp.pool_cost)
        base = to_units(comp.base_hours)
        self.loads = self._add_loads_and_caps(effort, cost, base)
        if max_moves is not None:
            model.add(cp_model.LinearExpr.sum(self.released) <= max_moves)
        if comp.capped:
            model.add(cp_model.LinearExpr.sum(self.unassigned) <= max_unassigned)
        top = int(base.sum() + (comp.held_count * effort).sum() + (comp.pool_size * cost).sum())
        self.capacity = [model.new_int_var(0, top, "") for _ in range(comp.n_officers)]
        for o in np.flatnonzero(comp.measured):
            model.add(self.loads[o] <= self.capacity[o])
        self.classes = identical_officers(comp)
        for members in self.classes:
            for a, b in itertools.pairwise(members):
                model.add(self.loads[a] >= self.loads[b])
        self.index = np.array(
            [v.index for v in self.released + self.flow + self.unassigned], dtype=np.int64
        )

    def _add_pool_balance(self) -> None:
        """Every case of a pool — new, orphan or released into it — goes to one eligible officer
        or stays unassigned."""
        comp = self.comp
        into = [np.flatnonzero(comp.held_pool == p) for p in range(comp.n_pools)]
        for p in range(comp.n_pools):
            arcs = range(comp.arc_ptr[p], comp.arc_ptr[p + 1])
            self.model.add(
                cp_model.LinearExpr.sum([self.flow[a] for a in arcs] + [self.unassigned[p]])
                == int(comp.pool_fixed[p])
                + cp_model.LinearExpr.sum([self.released[h] for h in into[p]])
            )

    def _add_loads_and_caps(
        self, effort: IntArray, cost: IntArray, base: IntArray
    ) -> list[cp_model.LinearExprT]:
        """Each officer's load in units (locked + kept held + received), and the case caps."""
        comp, model = self.comp, self.model
        held_by = np.argsort(comp.held_officer, kind="stable")
        held_split = np.searchsorted(comp.held_officer[held_by], np.arange(comp.n_officers + 1))
        arcs_by = np.argsort(comp.arc_officer, kind="stable")
        arc_split = np.searchsorted(comp.arc_officer[arcs_by], np.arange(comp.n_officers + 1))
        loads: list[cp_model.LinearExprT] = []
        for o in range(comp.n_officers):
            h = held_by[held_split[o] : held_split[o + 1]]
            a = arcs_by[arc_split[o] : arc_split[o + 1]]
            fixed = int(base[o] + (comp.held_count[h] * effort[h]).sum())
            variables = [self.released[i] for i in h] + [self.flow[i] for i in a]
            coefs = [-int(effort[i]) for i in h] + [int(cost[comp.arc_pool[i]]) for i in a]
            loads.append(cp_model.LinearExpr.weighted_sum(variables, coefs) + fixed)
            if comp.cap[o] != NO_CAP:
                kept = int(comp.base_count[o] + comp.held_count[h].sum())
                model.add(
                    cp_model.LinearExpr.sum([self.flow[i] for i in a])
                    - cp_model.LinearExpr.sum([self.released[i] for i in h])
                    + kept
                    <= int(comp.cap[o])
                )
        return loads

    def improve(
        self, capacity: IntArray, floor: int, *, work: float, deadline: float, hint: State
    ) -> tuple[State | None, int]:
        """Not offered over classes: the caller's neighbourhood search does that job."""
        return None, floor

    def probe(
        self, capacity: IntArray, *, work: float, deadline: float, hint: State | None
    ) -> Probe:
        """Is there a plan with every measured officer's load (units) within `capacity`?"""
        proto = self.model.proto
        for o, c in enumerate(capacity):
            domain = proto.variables[self.capacity[o].index].domain
            domain.clear()
            domain.extend([int(c), int(c)])
        self.model.clear_hints()  # type: ignore[no-untyped-call]
        if hint is not None:
            hinted = sorted_hint(self.comp, hint, self.classes)
            values = np.concatenate([hinted.released, hinted.flow, hinted.unassigned])
            variables = self.released + self.flow + self.unassigned
            for var, value in zip(variables, values.tolist(), strict=True):
                self.model.add_hint(var, int(value))
        solver = _solver(work, deadline, self.workers, self.seed)
        status = _solve(solver, self.model)
        used = float(solver.deterministic_time)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            values = np.asarray(solver.response_proto.solution, dtype=np.int64)[self.index]
            n_h, n_a = self.comp.n_held, self.comp.n_arcs
            state = State(values[:n_h], values[n_h : n_h + n_a], values[n_h + n_a :])
            cancel_round_trips(self.comp, state)
            return Probe("feasible", state, used)
        if status == cp_model.INFEASIBLE:
            return Probe("infeasible", None, used)
        return Probe("unknown", None, used)


@dataclass(frozen=True)
class _Cases:
    """The component's cases one by one, in the order the symmetry breaking ranks them (hours
    descending, a pool's cases together)."""

    pool: IntArray  # the pool a case is in, or that a held case joins when released
    held: IntArray  # held class, -1 for a pool's own case
    holder: IntArray  # the held case's officer, -1 otherwise


def _cases(comp: Component) -> _Cases:
    pool = np.concatenate(
        [
            np.repeat(np.arange(comp.n_pools), comp.pool_fixed),
            np.repeat(comp.held_pool, comp.held_count),
        ]
    ).astype(np.int64)
    held = np.concatenate(
        [
            np.full(int(comp.pool_fixed.sum()), -1),
            np.repeat(np.arange(comp.n_held), comp.held_count),
        ]
    ).astype(np.int64)
    order = np.lexsort((held, pool, -comp.pool_cost[pool]))
    pool, held = pool[order], held[order]
    holder = np.full(len(held), -1, dtype=np.int64)
    holder[held >= 0] = comp.held_officer[held[held >= 0]]
    return _Cases(pool, held, holder)


class CaseModel:
    """The decision model case by case: one boolean per (case, eligible officer).

    Symmetry breaking, for each class Q of identical officers (`identical_officers`): officers of
    Q are numbered by the first case (in `_Cases` order) they take, so the r-th case eligible for Q
    goes to one of Q's first r officers; and the cases of a pool whose officers are exactly Q take
    Q's officers in nondecreasing order. Both together are valid: relabel Q by first case, then
    sort each such pool's cases by officer — its cases are consecutive in the order and all land
    in Q, so the i-th of them still lands on one of the first (its rank) officers.
    """

    def __init__(
        self,
        comp: Component,
        *,
        max_moves: int | None,
        max_unassigned: int,
        workers: int,
        seed: int,
    ) -> None:
        self.comp = comp
        self.workers = workers
        self.seed = seed
        self.cases = cases = _cases(comp)
        model = cp_model.CpModel()
        self.model = model
        n = len(cases.pool)
        effort = to_units(comp.held_effort)
        cost = to_units(comp.pool_cost)
        base = to_units(comp.base_hours)
        self.classes = identical_officers(comp)
        position = np.full(comp.n_officers, -1)
        klass = np.full(comp.n_officers, -1)
        for k, members in enumerate(self.classes):
            position[members] = np.arange(len(members))
            klass[members] = k
        rank = np.zeros(len(self.classes), dtype=np.int64)  # cases seen per class

        self.x: list[list[tuple[int, cp_model.IntVar]]] = []
        terms: list[list[tuple[cp_model.IntVar, int]]] = [[] for _ in range(comp.n_officers)]
        kept: list[cp_model.IntVar] = []
        assigned: list[cp_model.IntVar] = []
        for j in range(n):
            p = int(cases.pool[j])
            officers = comp.arc_officer[comp.arc_ptr[p] : comp.arc_ptr[p + 1]]
            seen = set()
            options: list[tuple[int, cp_model.IntVar]] = []
            for o in officers.tolist():
                k = int(klass[o])
                if k >= 0:
                    if k not in seen:
                        seen.add(k)
                        rank[k] += 1
                    if position[o] >= rank[k]:
                        continue
                var = model.new_bool_var("")
                options.append((o, var))
                if o == cases.holder[j]:
                    terms[o].append((var, int(effort[cases.held[j]])))
                    kept.append(var)
                else:
                    terms[o].append((var, int(cost[p])))
            self.x.append(options)
            if comp.capped:
                model.add_at_most_one([v for _, v in options])
                assigned.extend(v for _, v in options)
            else:
                model.add_exactly_one([v for _, v in options])
        self._break_pool_symmetry(klass, position)
        if comp.capped:
            model.add(cp_model.LinearExpr.sum(assigned) >= n - max_unassigned)
        if max_moves is not None:
            model.add(cp_model.LinearExpr.sum(kept) >= int(comp.held_count.sum()) - max_moves)
        top = int(base.sum() + (comp.held_count * effort).sum() + (comp.pool_size * cost).sum())
        self.capacity = [model.new_int_var(0, top, "") for _ in range(comp.n_officers)]
        loads = []
        for o in range(comp.n_officers):
            variables = [v for v, _ in terms[o]]
            coefs = [c for _, c in terms[o]]
            load = cp_model.LinearExpr.weighted_sum(variables, coefs) + int(base[o])
            loads.append(load)
            if comp.measured[o]:
                model.add(load <= self.capacity[o])
            if comp.cap[o] != NO_CAP:
                model.add(
                    cp_model.LinearExpr.sum(variables) + int(comp.base_count[o]) <= int(comp.cap[o])
                )
        # With equal available hours everywhere the peak is the largest load: `improve`
        # minimizes it directly.
        available = comp.available[comp.measured]
        self.span: cp_model.IntVar | None = None
        if available.size and float(available.max()) == float(available.min()):
            self.span = model.new_int_var(0, top, "span")
            for o in np.flatnonzero(comp.measured):
                model.add(self.span >= loads[o])
        if not comp.capped and comp.n_held == 0:
            # Redundant (every case costs the same anywhere), but it lets presolve and the LP
            # see the total at once.
            total = int(base.sum() + (comp.pool_fixed * cost).sum())
            model.add(cp_model.LinearExpr.sum(loads) == total)
            model.add(
                cp_model.LinearExpr.sum([self.capacity[o] for o in np.flatnonzero(comp.measured)])
                + int(base[~comp.measured].sum())
                >= total
            )

    def _break_pool_symmetry(self, klass: IntArray, position: IntArray) -> None:
        comp, cases = self.comp, self.cases
        for p in range(comp.n_pools):
            officers = comp.arc_officer[comp.arc_ptr[p] : comp.arc_ptr[p + 1]]
            k = int(klass[officers[0]]) if len(officers) else -1
            if k < 0 or len(officers) != len(self.classes[k]) or (klass[officers] != k).any():
                continue
            jobs = np.flatnonzero((cases.pool == p) & (cases.held < 0))
            for a, b in itertools.pairwise(jobs):
                index_a = cp_model.LinearExpr.weighted_sum(
                    [v for _, v in self.x[a]], [int(position[o]) for o, _ in self.x[a]]
                )
                index_b = cp_model.LinearExpr.weighted_sum(
                    [v for _, v in self.x[b]], [int(position[o]) for o, _ in self.x[b]]
                )
                self.model.add(index_a <= index_b)

    def _case_hint(self, state: State) -> IntArray:
        """The officer of every case (-1: unassigned) in a plan, relabelled to satisfy the
        symmetry breaking."""
        comp, cases = self.comp, self.cases
        who = np.full(len(cases.pool), -1, dtype=np.int64)
        # Held cases: the first `released[h]` of a class leave, the rest stay with the holder.
        for h in range(comp.n_held):
            jobs = np.flatnonzero(cases.held == h)
            who[jobs[int(state.released[h]) :]] = comp.held_officer[h]
        for p in range(comp.n_pools):
            jobs = np.flatnonzero((cases.pool == p) & (who < 0))
            arcs = np.arange(comp.arc_ptr[p], comp.arc_ptr[p + 1])
            takers = np.repeat(comp.arc_officer[arcs], state.flow[arcs])[: len(jobs)]
            who[jobs[: len(takers)]] = takers
        for members in self.classes:
            mine = np.isin(who, members)
            first = pd_unique(who[mine])
            relabel = np.arange(comp.n_officers)
            relabel[first] = members[: len(first)]
            who[mine] = relabel[who[mine]]
        for p in range(comp.n_pools):
            jobs = np.flatnonzero((cases.pool == p) & (cases.held < 0))
            who[jobs] = np.sort(who[jobs])
        return who

    def probe(
        self, capacity: IntArray, *, work: float, deadline: float, hint: State | None
    ) -> Probe:
        """Is there a plan with every measured officer's load (units) within `capacity`?"""
        proto = self.model.proto
        for o, c in enumerate(capacity):
            domain = proto.variables[self.capacity[o].index].domain
            domain.clear()
            domain.extend([int(c), int(c)])
        self.model.clear_hints()  # type: ignore[no-untyped-call]
        if hint is not None:
            who = self._case_hint(hint)
            for j, options in enumerate(self.x):
                for o, var in options:
                    self.model.add_hint(var, int(who[j] == o))
        solver = _solver(work, deadline, self.workers, self.seed)
        status = _solve(solver, self.model)
        used = float(solver.deterministic_time)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return Probe("feasible", self._read(solver), used)
        if status == cp_model.INFEASIBLE:
            return Probe("infeasible", None, used)
        return Probe("unknown", None, used)

    def improve(
        self, capacity: IntArray, floor: int, *, work: float, deadline: float, hint: State
    ) -> tuple[State | None, int]:
        """Minimize the largest load (units) within `capacity`, from `hint`: the best plan found
        (None if none) and a proven lower bound on the largest load (at least `floor`)."""
        if self.span is None:
            return None, floor
        proto = self.model.proto
        for o, c in enumerate(capacity):
            domain = proto.variables[self.capacity[o].index].domain
            domain.clear()
            domain.extend([0, int(c)])
        domain = proto.variables[self.span.index].domain
        domain.clear()
        domain.extend([int(floor), int(capacity.max())])
        self.model.clear_hints()  # type: ignore[no-untyped-call]
        who = self._case_hint(hint)
        for j, options in enumerate(self.x):
            for o, var in options:
                self.model.add_hint(var, int(who[j] == o))
        self.model.minimize(self.span)
        solver = _solver(work, deadline, self.workers, self.seed)
        status = _solve(solver, self.model)
        self.model.clear_objective()  # type: ignore[no-untyped-call]
        if status == cp_model.INFEASIBLE:
            return None, int(capacity.max()) + 1
        bound = max(floor, int(np.ceil(solver.best_objective_bound - 1e-6)))
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return self._read(solver), bound
        return None, bound

    def _read(self, solver: cp_model.CpSolver) -> State:
        comp, cases = self.comp, self.cases
        values = np.asarray(solver.response_proto.solution, dtype=np.int64)
        who = np.full(len(cases.pool), -1, dtype=np.int64)
        for j, options in enumerate(self.x):
            for o, var in options:
                if values[var.index]:
                    who[j] = o
        stays = (cases.held >= 0) & (who == cases.holder)
        leaves = (cases.held >= 0) & ~stays
        released = np.bincount(cases.held[leaves], minlength=comp.n_held).astype(np.int64)
        moving = ~stays
        keys, order = _arc_lookup(comp)
        got = moving & (who >= 0)
        arcs = order[np.searchsorted(keys, cases.pool[got] * comp.n_officers + who[got])]
        flow = np.bincount(arcs, minlength=comp.n_arcs).astype(np.int64)
        unassigned = np.bincount(cases.pool[moving & (who < 0)], minlength=comp.n_pools).astype(
            np.int64
        )
        state = State(released, flow, unassigned)
        cancel_round_trips(comp, state)
        return state


class ArcFlowModel:
    """The arc-flow model of bin packing (Valério de Carvalho) for a pure P‖Cmax component:
    every measured officer identical, one eligibility group, no held cases, caps or locked
    loads, and one pool per distinct whole number of grains.

    Nodes are the loads 0..C a bin can reach with the job sizes taken in decreasing order (a
    size's arcs start only where the larger sizes, and fewer copies of it, can lead); a bin is a
    path from 0 to C, its last stretch a loss arc. Flow m leaves 0, each size's arcs carry its
    count. Its LP relaxation is the Gilmore–Gomory bound, so CP-SAT's LP both guides and proves.
    The graph depends on C, so it is rebuilt per probe (it is small where it is used).
    """

    def __init__(self, comp: Component, grain: int, *, workers: int, seed: int) -> None:
        self.comp = comp
        self.grain = grain
        self.workers = workers
        self.seed = seed
        sizes = to_units(comp.pool_cost) // grain
        self.order = np.argsort(-sizes, kind="stable")
        self.size = sizes[self.order]
        self.count = comp.pool_fixed[self.order].astype(np.int64)
        self.m = int(comp.measured.sum())
        self.officers = np.flatnonzero(comp.measured)

    @staticmethod
    def usable(comp: Component, grain: int) -> bool:
        if comp.n_held or comp.capped or comp.n_groups != 1 or (comp.base_hours > 0).any():
            return False
        if not comp.measured.all() or np.ptp(comp.available) != 0:
            return False
        units = to_units(comp.pool_cost)
        if not exact_units(comp.pool_cost) or (units % grain).any():
            return False
        return len(np.unique(units)) == comp.n_pools and bool(
            (comp.arc_ptr[1:] - comp.arc_ptr[:-1] == comp.n_officers).all()
        )

    def graph(self, capacity: int) -> tuple[IntArray, IntArray, IntArray] | None:
        """(tail, head, type) of every item arc (type -1: loss arc), None when too large."""
        reach = np.zeros(capacity + 1, dtype=bool)
        reach[0] = True
        tails, heads, types = [], [], []
        total = 0
        for i, (s, c) in enumerate(zip(self.size.tolist(), self.count.tolist(), strict=True)):
            if s > capacity:
                return None
            cur = reach.copy()
            for _ in range(min(c, capacity // s) if s else 0):
                shifted = np.zeros_like(cur)
                shifted[s:] = cur[: capacity + 1 - s]
                grown = cur | shifted
                if np.array_equal(grown, cur):
                    break
                cur = grown
            # Arcs of size s leave every node reached with fewer than all copies of it.
            src = np.flatnonzero(cur[: capacity + 1 - s])
            tails.append(src)
            heads.append(src + s)
            types.append(np.full(len(src), i))
            total += len(src)
            if total > ARC_FLOW_LIMIT:
                return None
            reach = cur
        nodes = np.flatnonzero(reach[:capacity])
        tails.append(nodes)
        heads.append(np.full(len(nodes), capacity))
        types.append(np.full(len(nodes), -1))
        return np.concatenate(tails), np.concatenate(heads), np.concatenate(types)

    def probe(
        self, capacity: IntArray, *, work: float, deadline: float, hint: State | None
    ) -> Probe:
        cap = int(capacity[self.officers].min()) // self.grain
        built = self.graph(cap)
        if built is None:
            return Probe("skip", None, 0.0)
        tail, head, kind = built
        model = cp_model.CpModel()
        upper = np.where(kind >= 0, self.count[np.maximum(kind, 0)], self.m)
        flow = [model.new_int_var(0, int(u), "") for u in upper]
        nodes = np.unique(np.concatenate([tail, head]))
        out_of: dict[int, list[cp_model.IntVar]] = {int(u): [] for u in nodes}
        into: dict[int, list[cp_model.IntVar]] = {int(u): [] for u in nodes}
        for a, (t, h) in enumerate(zip(tail.tolist(), head.tolist(), strict=True)):
            out_of[t].append(flow[a])
            into[h].append(flow[a])
        for u in nodes.tolist():
            if u == 0:
                model.add(cp_model.LinearExpr.sum(out_of[u]) == self.m)
            elif u == cap:
                model.add(cp_model.LinearExpr.sum(into[u]) == self.m)
            else:
                model.add(cp_model.LinearExpr.sum(into[u]) == cp_model.LinearExpr.sum(out_of[u]))
        for i, c in enumerate(self.count.tolist()):
            model.add(cp_model.LinearExpr.sum([flow[a] for a in np.flatnonzero(kind == i)]) == c)
        solver = _solver(work, deadline, self.workers, self.seed)
        status = _solve(solver, model)
        used = float(solver.deterministic_time)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            values = np.array([solver.value(f) for f in flow], dtype=np.int64)
            return Probe("feasible", self._decompose(tail, head, kind, values, cap), used)
        if status == cp_model.INFEASIBLE:
            return Probe("infeasible", None, used)
        return Probe("unknown", None, used)

    def _decompose(
        self, tail: IntArray, head: IntArray, kind: IntArray, values: IntArray, cap: int
    ) -> State:
        """Split the flow into m paths from 0 to C: one officer's cases each."""
        comp = self.comp
        by_tail: dict[int, list[int]] = {}
        for a in np.flatnonzero(values > 0).tolist():
            by_tail.setdefault(int(tail[a]), []).append(a)
        left = values.copy()
        flow = np.zeros(comp.n_arcs, dtype=np.int64)
        for officer in self.officers.tolist():
            u = 0
            while u != cap:
                arcs = by_tail[u]
                a = next(x for x in arcs if left[x] > 0)
                left[a] -= 1
                if kind[a] >= 0:
                    p = int(self.order[kind[a]])
                    flow[
                        comp.arc_ptr[p]
                        + np.searchsorted(
                            comp.arc_officer[comp.arc_ptr[p] : comp.arc_ptr[p + 1]], officer
                        )
                    ] += 1
                u = int(head[a])
        return State(np.zeros(0, dtype=np.int64), flow, np.zeros(comp.n_pools, dtype=np.int64))


def pd_unique(values: IntArray) -> IntArray:
    """Distinct values in order of first appearance."""
    _, first = np.unique(values, return_index=True)
    return values[np.sort(first)]


def _solver(work: float, deadline: float, workers: int, seed: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.max_deterministic_time = max(_MIN_PROBE_WORK, work)
    params.max_time_in_seconds = max(0.01, deadline - time.perf_counter())
    params.num_workers = workers
    params.random_seed = seed
    # The full LP relaxation: on bin packing it is what proves infeasibility (the arc-flow LP is
    # the Gilmore–Gomory bound); without it a single worker rarely refutes anything.
    params.linearization_level = 2
    # Ctrl-C is the CLI's to handle (see interrupt.py): CP-SAT's own handler would swallow it.
    params.catch_sigint_signal = False
    return solver


def _solve(solver: cp_model.CpSolver, model: cp_model.CpModel) -> Any:
    """Solve, stoppable by a stop request (Ctrl-C) like every other solve."""
    with interrupt.register(solver.stop_search):
        return solver.solve(model)


class _ArcFlowFirst:
    """Arc flow where its graph is small enough for the probe's capacity, else the case model
    (built on first use)."""

    def __init__(self, arc_flow: ArcFlowModel, fallback: Callable[[], Prober]) -> None:
        self.arc_flow = arc_flow
        self.fallback = fallback
        self.other: Prober | None = None

    def probe(
        self, capacity: IntArray, *, work: float, deadline: float, hint: State | None
    ) -> Probe:
        result = self.arc_flow.probe(capacity, work=work, deadline=deadline, hint=hint)
        if result.status != "skip":
            return result
        if self.other is None:
            self.other = self.fallback()
        return self.other.probe(capacity, work=work, deadline=deadline, hint=hint)

    def improve(
        self, capacity: IntArray, floor: int, *, work: float, deadline: float, hint: State
    ) -> tuple[State | None, int]:
        if self.other is None:
            self.other = self.fallback()
        return self.other.improve(capacity, floor, work=work, deadline=deadline, hint=hint)


Prober = PackingModel | CaseModel | _ArcFlowFirst


def decision_model(
    comp: Component,
    *,
    max_moves: int | None,
    max_unassigned: int,
    workers: int,
    seed: int,
    grain: int = 1,
) -> Prober:
    """Arc flow on pure P‖Cmax components; case by case up to `PER_CASE_LIMIT` case–officer
    pairs; over classes with counts above that."""
    pairs = int(((comp.arc_ptr[1:] - comp.arc_ptr[:-1]) * comp.pool_size).sum())
    kind = CaseModel if pairs <= PER_CASE_LIMIT else PackingModel

    def build() -> PackingModel | CaseModel:
        return kind(
            comp, max_moves=max_moves, max_unassigned=max_unassigned, workers=workers, seed=seed
        )

    if ArcFlowModel.usable(comp, grain):
        return _ArcFlowFirst(ArcFlowModel(comp, grain, workers=workers, seed=seed), build)
    return build()


class _Capacities:
    """Capacities (units) of the measured officers at a peak t, and the next t that changes them.

    Every load in the model is a multiple of `grain` (the gcd of all hours in units: 1,000 when
    efforts are whole hours), so capacities are rounded down to multiples of it.
    """

    def __init__(self, comp: Component) -> None:
        self.measured = comp.measured
        self.units = np.where(comp.measured, comp.available * UNIT, 0.0)
        hours = np.concatenate(
            [to_units(comp.held_effort), to_units(comp.pool_cost), to_units(comp.base_hours)]
        )
        self.grain = max(1, int(np.gcd.reduce(hours))) if len(hours) else 1

    def at(self, t: float) -> IntArray:
        """Loads a plan of peak ≤ t may reach: ⌊t × available⌋, with slack for float rounding."""
        caps = np.floor(t * self.units * (1 + _CAP_SLACK) + 1e-5)
        caps = caps // self.grain * self.grain
        return np.where(self.measured, caps, 0).astype(np.int64)

    def below(self, peak: float) -> IntArray:
        """Loads a plan of peak strictly below `peak` may reach."""
        caps = np.ceil(peak * self.units - 1e-6) - 1
        caps = caps // self.grain * self.grain
        return np.where(self.measured, np.maximum(caps, 0), 0).astype(np.int64)

    def level(self, caps: IntArray) -> float:
        """The peak at which these capacities are reached."""
        m = self.measured
        return float(np.max(caps[m] / self.units[m]))

    def next_peak(self, caps: IntArray) -> float:
        """Every peak below this value fits within `caps`: a refutation of `caps` proves it."""
        # Loads are multiples of the grain: a plan of peak t has load ≤ t × units (up to the
        # float error of summing its hours, which the slack covers), so below this value every
        # load is at most caps.
        m = self.measured
        step = caps[m] // self.grain * self.grain + self.grain
        return float(np.min(step / (self.units[m] * (1 + _CAP_SLACK))))


def _rank(comp: Component, state: State) -> tuple[int, float]:
    return int(state.unassigned.sum()), evaluate(comp, state).peak


def _unassigned_limit(comp: Component, incumbent: State | None, max_moves: int | None) -> int:
    """The most cases a plan may leave unassigned and still be as good at level 1 as the best.

    Without a move budget the max flow gives the level-1 optimum itself. Under a budget a plan
    within it (the incumbent) is the reference: an optimum leaves no more.
    """
    inc = int(incumbent.unassigned.sum()) if incumbent is not None else None
    if max_moves is None or inc is None:
        u = min_unassigned(comp)
        return u if inc is None else min(u, inc)
    return inc


def refute_below(
    comp: Component,
    start: Bound,
    *,
    work: float,
    workers: int = 1,
    max_unassigned: int = 0,
    seed: int = 0,
    deadline: float | None = None,
) -> Bound:
    """Raise `start` to the smallest peak the packing model does not prove infeasible (within
    `work` deterministic time): a bisection between the bound and the greedy plan's peak, where an
    inconclusive probe counts as feasible."""
    from assigncli.solvers.heuristics import greedy

    if not comp.measured.any() or comp.size > PACKING_SIZE_LIMIT:
        return start
    stop = deadline if deadline is not None else time.perf_counter() + 60.0 + 10 * work
    caps = _Capacities(comp)
    model = decision_model(
        comp,
        max_moves=None,
        max_unassigned=max_unassigned,
        workers=workers,
        seed=seed,
        grain=caps.grain,
    )
    lo, argument = start.value, start.argument
    reference = greedy(comp)
    hi = evaluate(comp, reference).peak
    left = work
    for _ in range(_MAX_PROBES):
        if lo >= hi * (1 - OPTIMAL_TOL) or left < _MIN_PROBE_WORK:
            break
        if time.perf_counter() >= stop:
            break
        at_lo = caps.at(lo)
        t = (lo + hi) / 2
        capacity = np.maximum(caps.at(t), at_lo)
        probe = model.probe(capacity, work=left * _PROBE_SHARE, deadline=stop, hint=reference)
        left -= probe.work
        if probe.status == "infeasible":
            lo, argument = max(lo, caps.next_peak(capacity)), PACKING
        elif probe.state is not None:
            hi = min(t, evaluate(comp, probe.state).peak)
            reference = probe.state
        else:
            hi = t
    return Bound(lo, argument)


def solve_peak(
    comp: Component,
    incumbent: State,
    *,
    work: float,
    workers: int,
    seed: int,
    deadline: float,
    max_moves: int | None,
) -> PackingResult:
    """The lowest peak by binary search over bin-packing probes, from `incumbent`.

    Probes the proven bound first (on heavy-case teams the bound is usually the optimum, and a
    plan at it ends the search); a refuted probe lifts the bound to the next capacity step, a plan
    found lowers the incumbent, an inconclusive probe moves the next probe up towards the
    incumbent. Ends at a proof (plan = bound), out of `work` or at `deadline`. The state is only
    optimized for the peak (and level 1: never more unassigned cases than the incumbent); balance
    and moves are left to the caller's later levels.
    """
    best = incumbent.copy()
    u = _unassigned_limit(comp, incumbent, max_moves)
    start = combinatorial_bound(comp, u)
    lo, argument = start.value, start.argument
    best_rank = _rank(comp, best)

    def result() -> PackingResult:
        peak = best_rank[1]
        optimal = best_rank[0] <= u and peak <= lo * (1 + OPTIMAL_TOL) + 1e-12
        return PackingResult(best, lo, optimal, argument)

    if not comp.measured.any():
        return PackingResult(best, 0.0, best_rank[0] <= u, argument)
    if comp.size > PACKING_SIZE_LIMIT:
        return result()

    caps = _Capacities(comp)
    model = decision_model(
        comp, max_moves=max_moves, max_unassigned=u, workers=workers, seed=seed, grain=caps.grain
    )
    left = work
    # Probes climb from the bound while they refute it (by growing steps: 0, 1, 3, 7, ...
    # capacity grains above it), since on heavy-case teams the optimum is rarely more than a few
    # grains above the bound; after a plan is found or a probe is inconclusive they bisect
    # between the inconclusive level and the incumbent.
    climbing = 0  # consecutive refutations while climbing; -1 once bisecting
    improved = False
    floor = lo  # the highest peak at which a probe was inconclusive
    step = caps.grain / float(caps.units[comp.measured].min())
    for _ in range(_MAX_PROBES):
        if best_rank[0] <= u and best_rank[1] <= lo * (1 + OPTIMAL_TOL):
            break
        if left < _MIN_PROBE_WORK or time.perf_counter() >= deadline:
            break
        better = caps.below(best_rank[1]) if best_rank[0] <= u else None
        if climbing >= 0:
            jump = (2 ** max(climbing - 1, 0) - 1) * step
            capacity = caps.at(lo + jump)
            share = _FIRST_SHARE if jump == 0 else _PROBE_SHARE
        else:
            capacity, share = caps.at((max(lo, floor) + best_rank[1]) / 2), _PROBE_SHARE
            if np.array_equal(capacity, caps.at(max(lo, floor))):
                # Nothing left between the inconclusive probes and the incumbent: spend the
                # rest on the bound itself.
                capacity, share = caps.at(lo), 1.0
        if better is not None:
            capacity = np.minimum(capacity, better)
        probe = model.probe(capacity, work=left * share, deadline=deadline, hint=best)
        left -= probe.work
        if probe.status == "infeasible":
            lo, argument = max(lo, caps.next_peak(capacity)), PACKING
            climbing = climbing + 1 if climbing >= 0 else -1
        elif probe.state is not None:
            rank = _rank(comp, probe.state)
            if rank < best_rank:
                best, best_rank = probe.state, rank
            climbing = -1
        else:
            if share >= 1.0:
                break
            floor = max(floor, caps.level(capacity))
            climbing = -1
        if climbing == -1 and not improved and left >= _MIN_PROBE_WORK:
            # Once the climb stops short of a proof, minimize the peak from the incumbent (a
            # plan near the bound is what the bisection would look for, one probe at a time).
            improved = True
            if best_rank[0] <= u:
                found, span = model.improve(
                    caps.below(best_rank[1]),
                    int(caps.at(lo)[comp.measured].max()),
                    work=left * _IMPROVE_SHARE,
                    deadline=deadline,
                    hint=best,
                )
                left -= min(left, left * _IMPROVE_SHARE)
                if found is not None and _rank(comp, found) < best_rank:
                    best, best_rank = found, _rank(comp, found)
                # Equal available hours: a load bound is a peak bound.
                lo_span = (span - 1) // caps.grain * caps.grain
                # Plans no better than the incumbent have its peak: the bound is the lower one.
                lifted = min(caps.next_peak(np.full(comp.n_officers, lo_span)), best_rank[1])
                if lifted > lo:
                    lo, argument = lifted, PACKING
    return result()
