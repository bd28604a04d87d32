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

On the largest components (`by_type`), uncapped officers eligible for the same groups form a type
with one capacity row, U·ΣA − Σ kept hours ≥ hours received; an officer whose own cases exceed a
proven floor of the peak also keeps a row of its own. The type's hours split back by a water level
over its officers, so this too is exact for levels 1, 2 and 4. Level 3 penalizes each type's total
load instead of each officer's (the water level then evens out the type's officers).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.linear_solver import linear_solver_pb2, pywraplp

from assigncli import interrupt
from assigncli.problem import NO_CAP, BoolArray, FloatArray, IntArray
from assigncli.solvers.component import BALANCE_LEVELS, Component, csr
from assigncli.solvers.heuristics import water_fill

# The peak and penalty found by a level are relaxed by this much before the next level, so that
# numerical noise never makes the next level infeasible.
_LEVEL_SLACK = 1e-7
# Levels 3 and 4 are attempted only with at least this multiple of level 2's solve time left.
_LEVEL_TIME_RATIO = {3: 2.5, 4: 1.2}
# ... and at least this many simplex iterations plus ten per row (level 2 may have needed
# almost none).
_MIN_LEVEL_ITERATIONS = 10_000


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


@dataclass(frozen=True)
class _LPVariables:
    """Column indices of each block, and the officer sets they were built for."""

    released: IntArray
    capped_flow: IntArray
    shared: IntArray
    edge_hours: IntArray
    unassigned: IntArray
    peak: int
    load: IntArray
    load_officers: IntArray  # officers with a load column, in column order
    own: BoolArray  # officers with rows of their own (all, unless by type)
    capped_pool: IntArray  # pool and officer of each capped_flow column
    capped_officer: IntArray


class _ModelBuilder:
    """Columns, rows and coefficients as numpy blocks, turned into one MPModelProto: building
    a 300k-column LP through per-coefficient calls takes seconds, this takes a fraction."""

    def __init__(self) -> None:
        self.lower: list[FloatArray] = []
        self.upper: list[FloatArray] = []
        self.row_lower: list[FloatArray] = []
        self.row_upper: list[FloatArray] = []
        self.entries: list[tuple[IntArray, IntArray, FloatArray]] = []
        self.blocks: dict[str, slice] = {}
        self.n_columns = 0
        self.n_rows = 0

    def columns(self, name: str, lower: npt.ArrayLike, upper: npt.ArrayLike) -> IntArray:
        n = len(np.asarray(lower))
        self.blocks[name] = slice(self.n_columns, self.n_columns + n)
        self.lower.append(np.asarray(lower, dtype=np.float64))
        self.upper.append(np.asarray(upper, dtype=np.float64))
        self.n_columns += n
        return np.arange(self.n_columns - n, self.n_columns, dtype=np.int64)

    def rows(self, lower: npt.ArrayLike, upper: npt.ArrayLike) -> IntArray:
        n = len(np.asarray(lower))
        self.row_lower.append(np.asarray(lower, dtype=np.float64))
        self.row_upper.append(np.asarray(upper, dtype=np.float64))
        self.n_rows += n
        return np.arange(self.n_rows - n, self.n_rows, dtype=np.int64)

    def terms(self, rows: IntArray, columns: IntArray, coefficients: npt.ArrayLike) -> None:
        coef = np.broadcast_to(np.asarray(coefficients, dtype=np.float64), rows.shape)
        if (rows < 0).any():  # pragma: no cover - a row index was not created
            raise ValueError("coefficient for a missing row")
        self.entries.append((rows.astype(np.int64), columns.astype(np.int64), coef.copy()))

    def proto(self) -> linear_solver_pb2.MPModelProto:
        model = linear_solver_pb2.MPModelProto()
        lower = np.concatenate(self.lower) if self.lower else np.zeros(0)
        upper = np.concatenate(self.upper) if self.upper else np.zeros(0)
        add_variable = model.variable.add
        for lo, hi in zip(lower.tolist(), upper.tolist(), strict=True):
            add_variable(lower_bound=lo, upper_bound=hi)
        rows = np.concatenate([e[0] for e in self.entries])
        cols = np.concatenate([e[1] for e in self.entries])
        coef = np.concatenate([e[2] for e in self.entries])
        keep = coef != 0
        rows, cols, coef = rows[keep], cols[keep], coef[keep]
        order = np.lexsort((cols, rows))
        rows, cols, coef = rows[order], cols[order], coef[order]
        bounds = np.searchsorted(rows, np.arange(self.n_rows + 1))
        row_lower = np.concatenate(self.row_lower) if self.row_lower else np.zeros(0)
        row_upper = np.concatenate(self.row_upper) if self.row_upper else np.zeros(0)
        col_list, coef_list = cols.tolist(), coef.tolist()
        add_row = model.constraint.add
        for r, (lo, hi) in enumerate(zip(row_lower.tolist(), row_upper.tolist(), strict=True)):
            a, b = int(bounds[r]), int(bounds[r + 1])
            add_row(
                lower_bound=lo, upper_bound=hi, var_index=col_list[a:b], coefficient=coef_list[a:b]
            )
        return model


class ComponentLP:
    """Builds the LP once; each level changes the objective and adds constraints (GLOP resumes)."""

    def __init__(
        self,
        comp: Component,
        max_moves: float | None = None,
        by_type: bool = False,
        per_arc: bool = False,
    ) -> None:
        self.comp = comp
        self.by_type = by_type
        solver = pywraplp.Solver.CreateSolver("GLOP")
        if solver is None:  # pragma: no cover - GLOP ships with every OR-Tools wheel
            raise RuntimeError("GLOP is not available in this OR-Tools build")
        self.solver = solver
        self.deadline = float("inf")
        uncapped = comp.cap == NO_CAP
        if by_type:
            self.unit = officer_types(comp)
        elif per_arc:
            # One count column per arc, as for capped officers: a vertex of this LP leaves only a
            # few pools split, where the hours columns split every pool over its whole group.
            self.unit = np.full(comp.n_officers, -1, dtype=np.int64)
        else:
            self.unit = np.where(uncapped, np.arange(comp.n_officers), -1).astype(np.int64)
        cols = self.cols = _columns(comp, self.unit)
        # A case can only stay unassigned when its pool reaches no officer without a cap; unless
        # such pools exist, level 1 (a full LP solve) is skipped.
        reaches_uncapped = np.zeros(comp.n_pools, dtype=bool)
        reaches_uncapped[comp.arc_pool[uncapped[comp.arc_officer]]] = True
        self.unassigned_pools = cols.counted_pools[~reaches_uncapped[cols.counted_pools]]
        self.may_leave_unassigned = len(self.unassigned_pools) > 0
        direct = np.ones(comp.n_pools, dtype=bool)
        direct[cols.counted_pools] = False
        self.direct_pools = np.flatnonzero(direct).astype(np.int64)
        self.type_available: FloatArray = np.zeros(0)
        nothing_moves = (np.zeros(comp.n_held), np.zeros(comp.n_arcs))
        self.fixed_load = comp.loads(*nothing_moves)
        self.fixed_count = comp.counts(*nothing_moves)
        model = _ModelBuilder()
        load_officers = self._build(model, max_moves)
        error = solver.LoadModelFromProto(model.proto())
        if error:  # pragma: no cover - the model is built from validated arrays
            raise RuntimeError(f"GLOP rejected the LP: {error}")
        variables = solver.variables()
        blocks = model.blocks
        self.released = variables[blocks["released"]]
        self.capped_flow = variables[blocks["capped_flow"]]
        self.shared = variables[blocks["shared"]]
        self.edge_hours = variables[blocks["edge_hours"]]
        self.unassigned = variables[blocks["unassigned"]]
        self.peak = variables[blocks["peak"].start]
        self.type_load = variables[blocks["type_load"]] if "type_load" in blocks else []
        load_vars = variables[blocks["load"]]
        self.load: list[pywraplp.Variable | None] = [None] * comp.n_officers
        for o, var in zip(load_officers.tolist(), load_vars, strict=True):
            self.load[o] = var

    def _build(self, model: _ModelBuilder, max_moves: float | None) -> IntArray:
        """Every column and row as arrays: one sparse triplet list, loaded in one call. Returns
        the officers that have a load column, in column order."""
        v = self._variables(model)
        self._pool_balance(model, v)
        self._group_balance(model, v)
        self._officer_loads(model, v)
        if self.by_type:
            self._type_capacity(model, v)
        self._case_caps(model, v)
        self._move_budget(model, v, max_moves)
        return v.load_officers

    def _variables(self, model: _ModelBuilder) -> _LPVariables:
        """The columns: releases, counts to capped officers, counts shared by a group's uncapped
        officers, hours per (group, receiving unit), unassigned counts, the peak and the loads."""
        comp, cols = self.comp, self.cols
        size = comp.pool_size.astype(np.float64)
        group_hours = np.bincount(
            comp.pool_group, weights=size * comp.pool_cost, minlength=comp.n_groups
        )
        own = (self.unit < 0) if self.by_type else np.ones(comp.n_officers, dtype=bool)
        load_officers = np.flatnonzero(own & comp.measured)
        capped_pool = comp.arc_pool[cols.capped_arcs]
        return _LPVariables(
            released=model.columns("released", np.zeros(comp.n_held), comp.held_count),
            capped_flow=model.columns("capped_flow", np.zeros(len(capped_pool)), size[capped_pool]),
            shared=model.columns(
                "shared", np.zeros(len(cols.shared_pools)), size[cols.shared_pools]
            ),
            edge_hours=model.columns(
                "edge_hours", np.zeros(len(cols.edge_group)), group_hours[cols.edge_group]
            ),
            unassigned=model.columns(
                "unassigned", np.zeros(len(self.unassigned_pools)), size[self.unassigned_pools]
            ),
            peak=int(model.columns("peak", np.zeros(1), np.full(1, np.inf))[0]),
            load=model.columns(
                "load", np.zeros(len(load_officers)), np.full(len(load_officers), np.inf)
            ),
            load_officers=load_officers,
            own=own,
            capped_pool=capped_pool,
            capped_officer=comp.arc_officer[cols.capped_arcs],
        )

    def _pool_balance(self, model: _ModelBuilder, v: _LPVariables) -> None:
        """Pool balance (cases), for pools of groups with capped officers:
        capped flows + shared + unassigned - released into it = fixed."""
        comp, cols = self.comp, self.cols
        pool_row = np.full(comp.n_pools, -1, dtype=np.int64)
        fixed = comp.pool_fixed[cols.counted_pools].astype(np.float64)
        pool_row[cols.counted_pools] = model.rows(fixed, fixed)
        model.terms(pool_row[self.unassigned_pools], v.unassigned, 1.0)
        model.terms(pool_row[cols.shared_pools], v.shared, 1.0)
        model.terms(pool_row[v.capped_pool], v.capped_flow, 1.0)
        into_counted = pool_row[comp.held_pool] >= 0
        model.terms(pool_row[comp.held_pool[into_counted]], v.released[into_counted], -1.0)

    def _group_balance(self, model: _ModelBuilder, v: _LPVariables) -> None:
        """Group balance (hours): what uncapped officers receive = what the pools send them.
        Pools of groups without capped officers send everything: no column or row of their own."""
        comp, cols, cost = self.comp, self.cols, self.comp.pool_cost
        direct = self.direct_pools
        direct_hours = np.bincount(
            comp.pool_group[direct],
            weights=comp.pool_fixed[direct] * cost[direct],
            minlength=comp.n_groups,
        )
        group_row = np.full(comp.n_groups, -1, dtype=np.int64)
        groups = np.unique(cols.edge_group)
        group_row[groups] = model.rows(direct_hours[groups], direct_hours[groups])
        model.terms(group_row[cols.edge_group], v.edge_hours, 1.0)
        model.terms(
            group_row[comp.pool_group[cols.shared_pools]], v.shared, -cost[cols.shared_pools]
        )
        counted = np.zeros(comp.n_pools, dtype=bool)
        counted[cols.counted_pools] = True
        h_direct = ~counted[comp.held_pool]
        pools = comp.held_pool[h_direct]
        model.terms(group_row[comp.pool_group[pools]], v.released[h_direct], -cost[pools])

    def _officer_loads(self, model: _ModelBuilder, v: _LPVariables) -> None:
        """Officer loads: load_o = fixed_o + Σ movable terms, as a variable, so that the peak
        and balance rows refer to it with one coefficient; and load_o ≤ U·A_o."""
        comp, cols = self.comp, self.cols
        officers = v.load_officers
        load_row = np.full(comp.n_officers, -1, dtype=np.int64)
        fixed_load = self.fixed_load[officers]
        load_row[officers] = model.rows(fixed_load, fixed_load)
        model.terms(load_row[officers], v.load, 1.0)
        peak_rows = model.rows(np.full(len(officers), -np.inf), np.zeros(len(officers)))
        model.terms(peak_rows, v.load, 1.0)
        model.terms(peak_rows, np.full(len(officers), v.peak), -comp.available[officers])
        held_own = load_row[comp.held_officer] >= 0
        model.terms(
            load_row[comp.held_officer[held_own]], v.released[held_own], comp.held_effort[held_own]
        )
        with_row = load_row[v.capped_officer] >= 0
        model.terms(
            load_row[v.capped_officer[with_row]],
            v.capped_flow[with_row],
            -comp.pool_cost[v.capped_pool[with_row]],
        )
        if not self.by_type:
            model.terms(load_row[cols.edge_unit], v.edge_hours, -1.0)

    def _type_capacity(self, model: _ModelBuilder, v: _LPVariables) -> None:
        """Officers of a type share one capacity row: U·ΣA - Σ kept hours ≥ what the type
        receives. An officer also needs a row of its own only if its own cases could take it
        above the peak; none can when they fit under a proven lower bound of the peak."""
        comp, cols = self.comp, self.cols
        typed = np.flatnonzero(~v.own)
        n_types = int(self.unit.max()) + 1 if len(typed) else 0
        t = self.unit[typed]
        type_available = np.bincount(t, weights=comp.available[typed], minlength=n_types)
        type_fixed = np.bincount(t, weights=self.fixed_load[typed], minlength=n_types)
        self.type_available = type_available.astype(np.float64)
        # type load = fixed - released hours + received hours, as a variable (for level 3).
        type_load = model.columns("type_load", np.zeros(n_types), np.full(n_types, np.inf))
        type_rows = model.rows(type_fixed, type_fixed)
        model.terms(type_rows, type_load, 1.0)
        model.terms(type_rows[cols.edge_unit], v.edge_hours, -1.0)
        held_typed = ~v.own[comp.held_officer]
        model.terms(
            type_rows[self.unit[comp.held_officer[held_typed]]],
            v.released[held_typed],
            comp.held_effort[held_typed],
        )
        type_peak = model.rows(np.full(n_types, -np.inf), np.zeros(n_types))
        model.terms(type_peak, type_load, 1.0)
        model.terms(type_peak, np.full(n_types, v.peak), -type_available)
        floor = self.peak_floor()
        kept = typed[self.fixed_load[typed] > floor * comp.available[typed]]
        kept_row = np.full(comp.n_officers, -1, dtype=np.int64)
        kept_row[kept] = model.rows(self.fixed_load[kept], np.full(len(kept), np.inf))
        model.terms(kept_row[kept], np.full(len(kept), v.peak), comp.available[kept])
        held_kept = kept_row[comp.held_officer] >= 0
        model.terms(
            kept_row[comp.held_officer[held_kept]],
            v.released[held_kept],
            comp.held_effort[held_kept],
        )

    def _case_caps(self, model: _ModelBuilder, v: _LPVariables) -> None:
        """Case caps count every case the officer ends with."""
        comp = self.comp
        capped = np.flatnonzero(comp.cap != NO_CAP)
        count_row = np.full(comp.n_officers, -1, dtype=np.int64)
        count_row[capped] = model.rows(
            np.full(len(capped), -np.inf), comp.cap[capped] - self.fixed_count[capped]
        )
        held_capped = count_row[comp.held_officer] >= 0
        model.terms(count_row[comp.held_officer[held_capped]], v.released[held_capped], -1.0)
        counted = count_row[v.capped_officer] >= 0
        model.terms(count_row[v.capped_officer[counted]], v.capped_flow[counted], 1.0)

    def _move_budget(self, model: _ModelBuilder, v: _LPVariables, max_moves: float | None) -> None:
        """At most `max_moves` discretionary moves."""
        if max_moves is not None:
            budget = model.rows(np.full(1, -np.inf), np.full(1, float(max_moves)))
            model.terms(np.full(len(v.released), budget[0]), v.released, 1.0)

    def peak_floor(self) -> float:
        """A proven lower bound on the peak: every hour that must be worked, over every hour
        available (cases that may stay unassigned are left out)."""
        comp = self.comp
        # Officers without available hours hold only locked cases and are not in the peak.
        hours = float(comp.base_hours[comp.measured].sum())
        hours += float((comp.held_count * comp.held_effort).sum())
        hours += float((comp.pool_fixed * comp.pool_cost).sum())
        pools = self.unassigned_pools
        hours -= float((comp.pool_size[pools] * comp.pool_cost[pools]).sum())
        available = float(comp.available[comp.measured].sum())
        return max(0.0, hours / available) if available > 0 else 0.0

    def _solve(self) -> int:
        """Solve the current model; returns the pywraplp status (NOT_SOLVED past the deadline)."""
        left = self.deadline - time.perf_counter()
        if left <= 0 or interrupt.stop_requested():
            return int(pywraplp.Solver.NOT_SOLVED)
        if left != float("inf"):
            self.solver.SetTimeLimit(max(1, int(left * 1000)))
        with interrupt.register(self.solver.InterruptSolve):
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
        progress: Callable[..., None] | None = None,
        deterministic: bool = False,
    ) -> LPResult:
        """Solve levels 1..`levels` (2 gives the bound only) by `deadline` (time.perf_counter()).

        `balance=False` skips level 3; level 4 then keeps only the peak. The result holds the
        solution of the last level that solved; a level cut short leaves it unchanged.

        Levels 3 and 4 get simplex iterations in proportion to what level 2 needed (a budget that
        does not depend on the machine's load). Unless `deterministic`, they are also skipped when
        the time left is short of what they took at most in measurements; with it, the deadline
        is only the safety net.
        """
        solver, comp = self.solver, self.comp
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
        peak_started = time.perf_counter()
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
            peak_started = time.perf_counter()
            status = self._solve()
        if status != optimal:
            return self._result("not_solved", 1 if self._snapshot is not None else 0)
        peak_seconds = time.perf_counter() - peak_started
        peak_iterations = int(solver.iterations())
        self._peak = float(self.peak.solution_value()) if comp.measured.any() else 0.0
        self._take_snapshot()
        if progress is not None:
            progress("LP solved", bound=self._peak)
        if levels <= 2:
            return self._result("optimal", 2)

        fixed_peak = self._peak * (1 + _LEVEL_SLACK) + 1e-12
        self.peak.SetBounds(0.0, fixed_peak)
        solved = 2

        # Levels 3 and 4 start from level 2's basis; measured, they took up to about 2 and 1
        # times level 2's time. Started without that much time left they would only be cut short.
        def time_left_for(level: int) -> bool:
            iterations = max(
                _MIN_LEVEL_ITERATIONS + 10 * self.solver.NumConstraints(),
                int(_LEVEL_TIME_RATIO[level] * peak_iterations),
            )
            self.solver.SetSolverSpecificParametersAsString(
                f"max_number_of_iterations: {iterations}"
            )
            if deterministic:
                return self.deadline > time.perf_counter()
            needed = _LEVEL_TIME_RATIO[level] * peak_seconds
            return self.deadline - time.perf_counter() >= needed

        if balance and time_left_for(3):
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

        if not time_left_for(4):
            return self._result("optimal", solved)
        self._objective([(r, 1.0) for r in self.released], maximize=False)
        if self._solve() == optimal:
            self._take_snapshot()
            solved = 4
        return self._result("optimal", solved)

    def _balance_rows(self, fixed_peak: float) -> list[pywraplp.Variable]:
        """Excess variables s_{o,l} >= load_o - level_l * peak * A_o, one per officer and level;
        by type, one per type and level on the type's total load (its officers are levelled
        among themselves when the type's hours are split back)."""
        solver, comp = self.solver, self.comp
        excess: list[pywraplp.Variable] = []
        units = [
            (load, float(comp.available[o])) for o, load in enumerate(self.load) if load is not None
        ]
        units += list(zip(self.type_load, self.type_available.tolist(), strict=True))
        for load, available in units:
            for level in BALANCE_LEVELS:
                s = solver.NumVar(0.0, solver.infinity(), "")
                excess.append(s)
                link = solver.Constraint(-solver.infinity(), level * fixed_peak * available)
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
        shared[direct] = comp.pool_inflow(released)[direct]
        free = np.flatnonzero(cols.arc_edge >= 0)
        if len(free) == 0:
            return flow
        hours = np.clip(_values(values, self.edge_hours), 0.0, None)
        group_total = np.bincount(cols.edge_group, weights=hours, minlength=comp.n_groups)
        edge_count = np.bincount(cols.edge_group, minlength=comp.n_groups).astype(np.float64)
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
        officers up to one common utilization, lowest first (the water fill, in hours)."""
        comp, unit = self.comp, self.unit
        kept = comp.loads(released, np.zeros(comp.n_arcs))
        n_types = int(unit.max()) + 1
        received = np.bincount(self.cols.edge_unit, weights=hours, minlength=n_types)
        fraction = np.zeros(comp.n_officers)
        members_ptr, members = csr(np.where(unit >= 0, unit, n_types), n_types + 1)
        for t in range(n_types):
            officers = members[members_ptr[t] : members_ptr[t + 1]]
            if not len(officers):
                continue
            avail = comp.available[officers]
            if received[t] > 0:
                take = water_fill(
                    kept[officers],
                    avail,
                    np.full(len(officers), np.inf),
                    1.0,
                    received[t],
                    integral=False,
                ).take
                total = float(take.sum())
            else:
                take, total = np.zeros(len(officers)), 0.0
            # A type that receives no hours may still receive zero-cost cases: split by capacity.
            fraction[officers] = take / total if total > 0 else avail / avail.sum()
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
