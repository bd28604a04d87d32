"""The grouped linear program of one component, solved level by level with GLOP.

Every case of a class is interchangeable, so this LP is exactly the per-case LP relaxation
(aggregating identical columns does not change its value), and its peak is a true lower bound on
the highest utilization of any plan. Levels, in the design's priority order:

1. assign as many cases as possible (only when case caps exist; a network flow, so integral);
2. minimize the peak utilization U — its value is the certificate's lower bound;
3. minimize the balance penalty with U fixed;
4. minimize discretionary moves with U and the penalty fixed.

Officers without a case cap are aggregated further, which is what keeps the model small at national
scale. Such an officer only sees hours, so instead of one column per (pool, officer) it gets one per
(eligibility group, officer): the hours it receives from the group. Each pool sends a count to "the
uncapped officers of its group" as a whole, and the group's hours balance ties the two together.
Any solution of this model splits back into per-pool counts with the same loads (each officer
takes every pool in proportion to its hours), so the optimum is unchanged. Capped officers keep
per-pool columns, because their case count depends on which pools they take.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import linear_solver_pb2, pywraplp

from assigncli.component import BALANCE_LEVELS, Component
from assigncli.problem import NO_CAP, BoolArray, FloatArray, IntArray

# The peak and penalty found by a level are relaxed by this much before the next level, so that
# numerical noise never makes the next level infeasible.
_LEVEL_SLACK = 1e-7


@dataclass(frozen=True)
class LPResult:
    status: str  # "optimal" | "not_solved"
    assigned: float  # cases assigned (level 1)
    peak: float  # level 2: the lower bound on the highest utilization
    released: FloatArray
    flow: FloatArray  # per arc of the component, in cases
    unassigned: FloatArray
    levels_solved: int


@dataclass(frozen=True)
class _Columns:
    """How the component's arcs and pools map onto LP columns and rows."""

    capped_arcs: IntArray  # arcs to capped officers: one count column each
    edge_group: IntArray  # (group, receiving unit) edges: one hours column each
    edge_unit: IntArray
    arc_edge: IntArray  # per arc: its edge, or -1 for arcs to capped officers
    counted_pools: IntArray  # pools that need a count balance row (their group has capped officers)
    shared_pools: IntArray  # counted pools whose group also has uncapped officers: a count column
    pool_shared: BoolArray  # per pool: its group has uncapped officers


def _columns(comp: Component, unit: IntArray) -> _Columns:
    """`unit[o]`: the receiving unit of uncapped officer o (itself, or its type); -1 if capped."""
    arc_capped = unit[comp.arc_officer] < 0
    n_units = max(1, int(unit.max()) + 1 if len(unit) else 1)
    free = ~arc_capped
    key = comp.pool_group[comp.arc_pool] * n_units + unit[comp.arc_officer]
    edges, inverse = np.unique(key[free], return_inverse=True)
    arc_edge = np.full(comp.n_arcs, -1, dtype=np.int64)
    arc_edge[free] = inverse
    edge_group = (edges // n_units).astype(np.int64)
    group_shared = np.zeros(comp.n_groups, dtype=bool)
    group_shared[edge_group] = True
    group_capped = np.zeros(comp.n_groups, dtype=bool)
    group_capped[comp.pool_group[comp.arc_pool[arc_capped]]] = True
    pool_shared = group_shared[comp.pool_group]
    counted = group_capped[comp.pool_group]
    return _Columns(
        capped_arcs=np.flatnonzero(arc_capped).astype(np.int64),
        edge_group=edge_group,
        edge_unit=(edges % n_units).astype(np.int64),
        arc_edge=arc_edge,
        counted_pools=np.flatnonzero(counted).astype(np.int64),
        shared_pools=np.flatnonzero(counted & pool_shared).astype(np.int64),
        pool_shared=pool_shared,
    )


def officer_types(comp: Component) -> IntArray:
    """Type of each uncapped, measured officer: officers eligible for exactly the same groups
    share one. -1 for capped or unmeasured officers (they keep columns of their own)."""
    own = (comp.cap == NO_CAP) & comp.measured
    types = np.full(comp.n_officers, -1, dtype=np.int64)
    arcs = own[comp.arc_officer]
    pairs = np.unique(
        comp.arc_officer[arcs] * max(1, comp.n_groups) + comp.pool_group[comp.arc_pool[arcs]]
    )
    officer, group = pairs // max(1, comp.n_groups), pairs % max(1, comp.n_groups)
    splits = np.flatnonzero(np.diff(officer)) + 1
    seen: dict[bytes, int] = {}
    for members, groups in zip(np.split(officer, splits), np.split(group, splits), strict=True):
        if len(members):
            types[members[0]] = seen.setdefault(groups.tobytes(), len(seen))
    return types


class ComponentLP:
    """Builds the LP once; each level changes the objective and adds constraints (GLOP resumes)."""

    def __init__(
        self, comp: Component, max_moves: float | None = None, by_type: bool = False
    ) -> None:
        self.comp = comp
        self.by_type = by_type
        solver = pywraplp.Solver.CreateSolver("GLOP")
        if solver is None:  # pragma: no cover - GLOP ships with every OR-Tools wheel
            raise RuntimeError("GLOP is not available in this OR-Tools build")
        self.solver = solver
        self.deadline = float("inf")
        inf = solver.infinity()
        uncapped = comp.cap == NO_CAP
        if by_type:
            self.unit = officer_types(comp)
        else:
            self.unit = np.where(uncapped, np.arange(comp.n_officers), -1).astype(np.int64)
        cols = self.cols = _columns(comp, self.unit)
        size = comp.pool_size.astype(np.float64)
        cost = comp.pool_cost
        group_hours = np.zeros(comp.n_groups)
        np.add.at(group_hours, comp.pool_group, size * cost)

        self.released = [solver.NumVar(0.0, float(n), "") for n in comp.held_count]
        self.capped_flow = [
            solver.NumVar(0.0, float(size[p]), "") for p in comp.arc_pool[cols.capped_arcs]
        ]
        self.shared = [solver.NumVar(0.0, float(size[p]), "") for p in cols.shared_pools]
        self.edge_hours = [solver.NumVar(0.0, float(group_hours[g]), "") for g in cols.edge_group]
        # A case can only stay unassigned when its pool reaches no officer without a cap; unless
        # such pools exist, level 1 (a full LP solve) is skipped.
        unassignable = cols.counted_pools[~cols.pool_shared[cols.counted_pools]]
        self.may_leave_unassigned = len(unassignable) > 0
        self.unassigned_pools = unassignable
        self.unassigned = [solver.NumVar(0.0, float(size[p]), "") for p in unassignable]
        self.peak = solver.NumVar(0.0, inf, "peak")

        # Pool balance (cases), for pools of groups with capped officers:
        # capped flows + shared + unassigned - released into it = fixed.
        pool_rows: dict[int, pywraplp.Constraint] = {
            p: solver.Constraint(float(comp.pool_fixed[p]), float(comp.pool_fixed[p]))
            for p in cols.counted_pools.tolist()
        }
        for p, var in zip(unassignable.tolist(), self.unassigned, strict=True):
            pool_rows[p].SetCoefficient(var, 1.0)
        for p, var in zip(cols.shared_pools.tolist(), self.shared, strict=True):
            pool_rows[p].SetCoefficient(var, 1.0)
        for a, var in zip(cols.capped_arcs.tolist(), self.capped_flow, strict=True):
            pool_rows[int(comp.arc_pool[a])].SetCoefficient(var, 1.0)

        # Group balance (hours): what uncapped officers receive = what the pools send them. Pools
        # of groups without capped officers send everything, so they need no column or row.
        direct = ~np.isin(np.arange(comp.n_pools), cols.counted_pools)
        direct_hours = np.zeros(comp.n_groups)
        np.add.at(direct_hours, comp.pool_group[direct], comp.pool_fixed[direct] * cost[direct])
        group_rows: dict[int, pywraplp.Constraint] = {}
        for g in np.unique(cols.edge_group).tolist():
            group_rows[g] = solver.Constraint(float(direct_hours[g]), float(direct_hours[g]))
        for g, var in zip(cols.edge_group.tolist(), self.edge_hours, strict=True):
            group_rows[g].SetCoefficient(var, 1.0)
        for p, var in zip(cols.shared_pools.tolist(), self.shared, strict=True):
            group_rows[int(comp.pool_group[p])].SetCoefficient(var, -float(cost[p]))
        for h, var in enumerate(self.released):
            p = int(comp.held_pool[h])
            row = pool_rows.get(p)
            if row is not None:
                row.SetCoefficient(var, -1.0)
            else:
                group_rows[int(comp.pool_group[p])].SetCoefficient(var, -float(cost[p]))
        self.direct_pools = np.flatnonzero(direct).astype(np.int64)

        # Officer loads: load_o = fixed_o + Σ movable terms, as a variable, so that the peak and
        # balance rows refer to it with one coefficient instead of restating every term.
        fixed_load = comp.base_hours + np.bincount(
            comp.held_officer, weights=comp.held_count * comp.held_effort, minlength=comp.n_officers
        )
        fixed_count = comp.base_count + np.bincount(
            comp.held_officer, weights=comp.held_count, minlength=comp.n_officers
        )
        self.fixed_load = fixed_load
        # By type, officers of a type share one capacity row: U·ΣA - Σ kept hours >= what the
        # type receives. An officer also needs a row of its own only if its own cases could take
        # it above the peak; none can when they fit under a proven lower bound of the peak.
        own = (self.unit < 0) if by_type else np.ones(comp.n_officers, dtype=bool)
        n_types = int(self.unit.max()) + 1 if by_type and comp.n_officers else 0
        type_rows: list[pywraplp.Constraint] = []
        if by_type:
            type_available = np.bincount(
                self.unit[~own], weights=comp.available[~own], minlength=n_types
            )
            type_fixed = np.bincount(self.unit[~own], weights=fixed_load[~own], minlength=n_types)
            for t in range(n_types):
                row = solver.Constraint(float(type_fixed[t]), inf)
                row.SetCoefficient(self.peak, float(type_available[t]))
                type_rows.append(row)
        floor = self.peak_floor()
        self.load: list[pywraplp.Variable | None] = []
        load_rows: list[pywraplp.Constraint | None] = []
        count_rows: list[pywraplp.Constraint | None] = []
        kept_rows: dict[int, pywraplp.Constraint] = {}
        for o in range(comp.n_officers):
            if own[o] and comp.measured[o]:
                var = solver.NumVar(0.0, inf, "")
                row = solver.Constraint(float(fixed_load[o]), float(fixed_load[o]))
                row.SetCoefficient(var, 1.0)  # load - Σ terms = fixed
                peak_row = solver.Constraint(-inf, 0.0)
                peak_row.SetCoefficient(var, 1.0)
                peak_row.SetCoefficient(self.peak, -float(comp.available[o]))
                self.load.append(var)
                load_rows.append(row)
            else:
                self.load.append(None)
                load_rows.append(None)
                if not own[o] and fixed_load[o] > floor * comp.available[o]:
                    row = solver.Constraint(float(fixed_load[o]), inf)  # kept hours <= U·A_o
                    row.SetCoefficient(self.peak, float(comp.available[o]))
                    kept_rows[o] = row
            if comp.cap[o] != NO_CAP:
                count_rows.append(solver.Constraint(-inf, float(comp.cap[o] - fixed_count[o])))
            else:
                count_rows.append(None)
        for h, var in enumerate(self.released):
            o = int(comp.held_officer[h])
            effort = float(comp.held_effort[h])
            lrow = load_rows[o]
            if lrow is not None:
                lrow.SetCoefficient(var, effort)
            elif not own[o]:
                type_rows[int(self.unit[o])].SetCoefficient(var, effort)
                krow = kept_rows.get(o)
                if krow is not None:
                    krow.SetCoefficient(var, effort)
            crow = count_rows[o]
            if crow is not None:
                crow.SetCoefficient(var, -1.0)
        for a, var in zip(cols.capped_arcs.tolist(), self.capped_flow, strict=True):
            o = int(comp.arc_officer[a])
            lrow = load_rows[o]
            if lrow is not None:
                lrow.SetCoefficient(var, -float(cost[comp.arc_pool[a]]))
            crow = count_rows[o]
            if crow is not None:
                crow.SetCoefficient(var, 1.0)
        for u, var in zip(cols.edge_unit.tolist(), self.edge_hours, strict=True):
            urow = type_rows[u] if by_type else load_rows[u]
            if urow is not None:
                urow.SetCoefficient(var, -1.0)

        if max_moves is not None:
            budget = solver.Constraint(-inf, float(max_moves))
            for var in self.released:
                budget.SetCoefficient(var, 1.0)

    def peak_floor(self) -> float:
        """A proven lower bound on the peak: every hour that must be worked, over every hour
        available (cases that may stay unassigned are left out)."""
        comp = self.comp
        hours = float(comp.base_hours.sum() + (comp.held_count * comp.held_effort).sum())
        hours += float((comp.pool_fixed * comp.pool_cost).sum())
        pools = self.unassigned_pools
        hours -= float((comp.pool_size[pools] * comp.pool_cost[pools]).sum())
        available = float(comp.available[comp.measured].sum())
        return max(0.0, hours / available) if available > 0 else 0.0

    @property
    def n_columns(self) -> int:
        return int(self.solver.NumVariables())

    def _solve(self) -> int:
        """Solve the current model; returns the pywraplp status (NOT_SOLVED past the deadline)."""
        left = self.deadline - time.perf_counter()
        if left <= 0:
            return int(pywraplp.Solver.NOT_SOLVED)
        if left != float("inf"):
            self.solver.SetTimeLimit(max(1, int(left * 1000)))
        return int(self.solver.Solve())

    def _objective(self, terms: list[tuple[pywraplp.Variable, float]], maximize: bool) -> None:
        objective = self.solver.Objective()
        objective.Clear()
        for var, coef in terms:
            objective.SetCoefficient(var, coef)
        if maximize:
            objective.SetMaximization()
        else:
            objective.SetMinimization()

    def solve(
        self,
        levels: int = 4,
        deadline: float = float("inf"),
        balance: bool = True,
        progress: Callable[[str], None] | None = None,
    ) -> LPResult:
        """Solve levels 1..`levels` (2 gives the bound only) by `deadline` (time.perf_counter()).

        `balance=False` skips level 3, whose penalty rows multiply the model's size on the largest
        components; level 4 then keeps only the peak. The result holds the solution of the last
        level that solved; a level cut short by the deadline leaves it unchanged.
        """
        solver, comp = self.solver, self.comp
        balance = balance and not self.by_type  # per-officer loads exist only by officer
        self.deadline = deadline
        self._assigned = float(comp.pool_size.sum())
        self._peak = 0.0
        self._snapshot: tuple[FloatArray, FloatArray, FloatArray] | None = None
        optimal = pywraplp.Solver.OPTIMAL
        self._objective([(self.peak, 1.0)], maximize=False)
        # Level 1 usually ends with every case assigned. Trying level 2 with nothing left over
        # first proves that on the way; level 1 is solved on its own only when that is infeasible.
        for u in self.unassigned:
            u.SetUb(0.0)
        status = self._solve()
        if status == pywraplp.Solver.INFEASIBLE and self.may_leave_unassigned:
            for u, p in zip(self.unassigned, self.unassigned_pools.tolist(), strict=True):
                u.SetUb(float(comp.pool_size[p]))
            self._objective([(u, 1.0) for u in self.unassigned], maximize=False)
            if self._solve() != optimal:
                return self._result("not_solved", 0)
            total_unassigned = solver.Objective().Value()
            self._assigned -= total_unassigned
            self._take_snapshot()
            cap_row = solver.Constraint(-solver.infinity(), total_unassigned + 1e-6)
            for u in self.unassigned:
                cap_row.SetCoefficient(u, 1.0)
            self._objective([(self.peak, 1.0)], maximize=False)
            status = self._solve()
        if status != optimal:
            return self._result("not_solved", 1 if self._snapshot is not None else 0)
        self._peak = float(self.peak.solution_value()) if comp.measured.any() else 0.0
        self._take_snapshot()
        if progress is not None:
            progress(f"LP bound {self._peak:.2%}")
        if levels <= 2:
            return self._result("optimal", 2)

        fixed_peak = self._peak * (1 + _LEVEL_SLACK) + 1e-12
        self.peak.SetBounds(0.0, fixed_peak)
        solved = 2
        if balance:
            excess = self._balance_rows(fixed_peak)
            self._objective([(s, 1.0) for s in excess], maximize=False)
            if self._solve() != optimal:
                return self._result("optimal", solved)
            penalty = solver.Objective().Value()
            self._take_snapshot()
            solved = 3
            if levels <= 3:
                return self._result("optimal", solved)
            limit = solver.Constraint(-solver.infinity(), penalty * (1 + _LEVEL_SLACK) + 1e-9)
            for s in excess:
                limit.SetCoefficient(s, 1.0)
        elif levels <= 3:
            return self._result("optimal", solved)

        self._objective([(r, 1.0) for r in self.released], maximize=False)
        if self._solve() == optimal:
            self._take_snapshot()
            solved = 4
        return self._result("optimal", solved)

    def _balance_rows(self, fixed_peak: float) -> list[pywraplp.Variable]:
        """Excess variables s_{o,l} >= load_o - level_l * peak * A_o, one per officer and level."""
        solver, comp = self.solver, self.comp
        excess: list[pywraplp.Variable] = []
        for o, load in enumerate(self.load):
            if load is None:
                continue
            for level in BALANCE_LEVELS:
                s = solver.NumVar(0.0, solver.infinity(), "")
                excess.append(s)
                link = solver.Constraint(
                    -solver.infinity(), level * fixed_peak * float(comp.available[o])
                )
                link.SetCoefficient(load, 1.0)
                link.SetCoefficient(s, -1.0)
        return excess

    def _take_snapshot(self) -> None:
        response = linear_solver_pb2.MPSolutionResponse()
        self.solver.FillSolutionResponseProto(response)
        values = np.array(response.variable_value, dtype=np.float64)
        self._snapshot = (
            _values(values, self.released),
            self._arc_flow(values),
            self._unassigned(values),
        )

    def _result(self, status: str, solved: int) -> LPResult:
        comp = self.comp
        if self._snapshot is None or solved < 1:
            empty = np.zeros
            return LPResult(
                status,
                self._assigned,
                0.0,
                empty(comp.n_held),
                empty(comp.n_arcs),
                empty(comp.n_pools),
                0,
            )
        released, flow, unassigned = self._snapshot
        return LPResult(
            status=status,
            assigned=self._assigned,
            peak=self._peak if solved >= 2 else 0.0,
            released=released,
            flow=flow,
            unassigned=unassigned,
            levels_solved=solved,
        )

    def _arc_flow(self, values: FloatArray) -> FloatArray:
        """Cases per arc: capped arcs as solved; what each pool sends to the uncapped officers of
        its group is split over them in proportion to the hours they receive from the group."""
        comp, cols = self.comp, self.cols
        flow = np.zeros(comp.n_arcs)
        flow[cols.capped_arcs] = _values(values, self.capped_flow)
        shared = np.zeros(comp.n_pools)
        shared[cols.shared_pools] = _values(values, self.shared)
        released = _values(values, self.released)
        direct = self.direct_pools
        into = comp.pool_fixed.astype(np.float64)
        np.add.at(into, comp.held_pool, released)
        shared[direct] = into[direct]
        free = np.flatnonzero(cols.arc_edge >= 0)
        if len(free) == 0:
            return flow
        hours = np.clip(_values(values, self.edge_hours), 0.0, None)
        group_total = np.zeros(comp.n_groups)
        np.add.at(group_total, cols.edge_group, hours)
        edge_count = np.bincount(cols.edge_group, minlength=len(group_total)).astype(np.float64)
        edge = cols.arc_edge[free]
        group = cols.edge_group[edge]
        # Groups that receive no hours (only zero-cost cases) split their pools evenly.
        share = np.where(
            group_total[group] > 0,
            hours[edge] / np.where(group_total[group] > 0, group_total[group], 1.0),
            1.0 / edge_count[group],
        )
        if self.by_type:
            share = share * self._within_type(released, hours)[comp.arc_officer[free]]
        flow[free] = shared[comp.arc_pool[free]] * share
        return flow

    def _within_type(self, released: FloatArray, hours: FloatArray) -> FloatArray:
        """Each typed officer's share of what its type receives: the type's hours fill its
        officers up to one common utilization, lowest first (a water level per type)."""
        comp, unit = self.comp, self.unit
        typed = unit >= 0
        n_types = int(unit.max()) + 1
        kept = self.fixed_load - np.bincount(
            comp.held_officer, weights=released * comp.held_effort, minlength=comp.n_officers
        )
        received = np.bincount(self.cols.edge_unit, weights=hours, minlength=n_types)
        t = unit[typed]
        avail, own = comp.available[typed], kept[typed]
        util = own / avail
        lo = np.full(n_types, np.inf)
        np.minimum.at(lo, t, util)
        hi = np.full(n_types, -np.inf)
        np.maximum.at(hi, t, util)
        hi = hi + received / np.bincount(t, weights=avail, minlength=n_types)
        lo = np.where(np.isfinite(lo), lo, 0.0)
        hi = np.where(np.isfinite(hi), hi, 0.0)
        for _ in range(60):
            mid = (lo + hi) / 2
            filled = np.bincount(
                t, weights=np.maximum(0.0, mid[t] * avail - own), minlength=n_types
            )
            low = filled < received
            lo = np.where(low, mid, lo)
            hi = np.where(low, hi, mid)
        take = np.maximum(0.0, hi[t] * avail - own)
        total = np.bincount(t, weights=take, minlength=n_types)
        fraction = np.zeros(comp.n_officers)
        fraction[typed] = np.where(total[t] > 0, take / np.where(total[t] > 0, total[t], 1.0), 0.0)
        return fraction

    def _unassigned(self, values: FloatArray) -> FloatArray:
        unassigned = np.zeros(self.comp.n_pools)
        unassigned[self.unassigned_pools] = _values(values, self.unassigned)
        return unassigned


def _values(values: FloatArray, variables: list[pywraplp.Variable]) -> FloatArray:
    """The solution values of `variables`, which were created one after another."""
    if not variables:
        return np.zeros(0)
    first = variables[0].index()
    return values[first : first + len(variables)].copy()
