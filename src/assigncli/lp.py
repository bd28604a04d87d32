"""The grouped linear program of one component, solved level by level with GLOP.

Because every case of a class is interchangeable, this LP is exactly the per-case LP relaxation
(aggregating identical columns does not change its value), so its peak is a true lower bound on
the highest utilization of any plan. Levels, in the design's priority order:

1. assign as many cases as possible (only when case caps exist; a network flow, so integral);
2. minimize the peak utilization U — its value is the certificate's lower bound;
3. minimize the balance penalty with U fixed;
4. minimize discretionary moves with U and the penalty fixed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import pywraplp

from assigncli.component import BALANCE_LEVELS, Component
from assigncli.problem import NO_CAP, FloatArray

# The peak and penalty found by a level are relaxed by this much before the next level, so that
# numerical noise never makes the next level infeasible.
_LEVEL_SLACK = 1e-7


@dataclass(frozen=True)
class LPResult:
    status: str  # "optimal" | "not_solved"
    assigned: float  # cases assigned (level 1)
    peak: float  # level 2: the lower bound on the highest utilization
    released: FloatArray
    flow: FloatArray
    unassigned: FloatArray
    levels_solved: int


class ComponentLP:
    """Builds the LP once; each level changes the objective and adds one constraint."""

    def __init__(self, comp: Component, max_moves: float | None = None) -> None:
        self.comp = comp
        solver = pywraplp.Solver.CreateSolver("GLOP")
        if solver is None:  # pragma: no cover - GLOP ships with every OR-Tools wheel
            raise RuntimeError("GLOP is not available in this OR-Tools build")
        self.solver = solver
        self.deadline = float("inf")
        inf = solver.infinity()
        self.released = [solver.NumVar(0.0, float(n), "") for n in comp.held_count]
        self.flow = [solver.NumVar(0.0, float(comp.pool_size[p]), "") for p in comp.arc_pool]
        self.unassigned = [
            solver.NumVar(0.0, float(comp.pool_size[p]) if comp.capped else 0.0, "")
            for p in range(comp.n_pools)
        ]
        self.peak = solver.NumVar(0.0, inf, "peak")

        # Pool balance: Σ flow + unassigned - Σ released into the pool = fixed.
        pool_rows = []
        for p in range(comp.n_pools):
            row = solver.Constraint(float(comp.pool_fixed[p]), float(comp.pool_fixed[p]))
            for a in range(comp.arc_ptr[p], comp.arc_ptr[p + 1]):
                row.SetCoefficient(self.flow[a], 1.0)
            row.SetCoefficient(self.unassigned[p], 1.0)
            pool_rows.append(row)
        for h in range(comp.n_held):
            pool_rows[int(comp.held_pool[h])].SetCoefficient(self.released[h], -1.0)

        # Officer loads: load_o = fixed_o + Σ movable terms, as a variable, so that the peak and
        # balance rows refer to it with one coefficient instead of restating every term.
        fixed_load = comp.base_hours.copy()
        np.add.at(fixed_load, comp.held_officer, comp.held_count * comp.held_effort)
        fixed_count = comp.base_count.astype(np.float64)
        np.add.at(fixed_count, comp.held_officer, comp.held_count)
        self.load: list[pywraplp.Variable | None] = []
        load_rows: list[pywraplp.Constraint | None] = []
        count_rows: list[pywraplp.Constraint | None] = []
        for o in range(comp.n_officers):
            if comp.measured[o]:
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
            if comp.cap[o] != NO_CAP:
                count_rows.append(solver.Constraint(-inf, float(comp.cap[o] - fixed_count[o])))
            else:
                count_rows.append(None)
        for h in range(comp.n_held):
            o = int(comp.held_officer[h])
            lrow = load_rows[o]
            if lrow is not None:
                lrow.SetCoefficient(self.released[h], float(comp.held_effort[h]))
            crow = count_rows[o]
            if crow is not None:
                crow.SetCoefficient(self.released[h], -1.0)
        cost = comp.pool_cost[comp.arc_pool]
        for a in range(comp.n_arcs):
            o = int(comp.arc_officer[a])
            lrow = load_rows[o]
            if lrow is not None:
                lrow.SetCoefficient(self.flow[a], -float(cost[a]))
            crow = count_rows[o]
            if crow is not None:
                crow.SetCoefficient(self.flow[a], 1.0)

        if max_moves is not None:
            budget = solver.Constraint(-inf, float(max_moves))
            for var in self.released:
                budget.SetCoefficient(var, 1.0)

    def _solve(self) -> bool:
        left = self.deadline - time.perf_counter()
        if left <= 0:
            return False
        if left != float("inf"):
            self.solver.SetTimeLimit(max(1, int(left * 1000)))
        status = self.solver.Solve()
        return bool(status == pywraplp.Solver.OPTIMAL)

    def _objective(self, terms: list[tuple[pywraplp.Variable, float]], maximize: bool) -> None:
        objective = self.solver.Objective()
        objective.Clear()
        for var, coef in terms:
            objective.SetCoefficient(var, coef)
        if maximize:
            objective.SetMaximization()
        else:
            objective.SetMinimization()

    def solve(self, levels: int = 4, deadline: float = float("inf")) -> LPResult:
        """Solve levels 1..`levels` (2 gives the bound only) by `deadline` (time.perf_counter())."""
        solver, comp = self.solver, self.comp
        self.deadline = deadline
        solved = 0
        assigned = float(comp.pool_size.sum())
        if comp.capped:
            self._objective([(u, 1.0) for u in self.unassigned], maximize=False)
            if not self._solve():
                return self._result("not_solved", assigned, 0.0, solved)
            total_unassigned = solver.Objective().Value()
            assigned -= total_unassigned
            cap_row = solver.Constraint(-solver.infinity(), total_unassigned + 1e-6)
            for u in self.unassigned:
                cap_row.SetCoefficient(u, 1.0)
        solved = 1

        if not comp.measured.any():
            return self._result("optimal", assigned, 0.0, solved)
        self._objective([(self.peak, 1.0)], maximize=False)
        if not self._solve():
            return self._result("not_solved", assigned, 0.0, solved)
        peak = float(self.peak.solution_value())
        solved = 2
        if levels <= 2:
            return self._result("optimal", assigned, peak, solved)

        fixed_peak = peak * (1 + _LEVEL_SLACK) + 1e-12
        self.peak.SetBounds(0.0, fixed_peak)
        excess: list[pywraplp.Variable] = []
        for o, load in enumerate(self.load):
            if load is None:
                continue
            for level in BALANCE_LEVELS:
                s = solver.NumVar(0.0, solver.infinity(), "")
                excess.append(s)
                # s >= load_o - level * peak * A_o
                link = solver.Constraint(
                    -solver.infinity(), level * fixed_peak * float(comp.available[o])
                )
                link.SetCoefficient(load, 1.0)
                link.SetCoefficient(s, -1.0)
        self._objective([(s, 1.0) for s in excess], maximize=False)
        if not self._solve():
            return self._result("optimal", assigned, peak, solved)
        penalty = solver.Objective().Value()
        solved = 3
        if levels <= 3:
            return self._result("optimal", assigned, peak, solved)

        limit = solver.Constraint(-solver.infinity(), penalty * (1 + _LEVEL_SLACK) + 1e-9)
        for s in excess:
            limit.SetCoefficient(s, 1.0)
        self._objective([(r, 1.0) for r in self.released], maximize=False)
        if self._solve():
            solved = 4
        return self._result("optimal", assigned, peak, solved)

    def _result(self, status: str, assigned: float, peak: float, solved: int) -> LPResult:
        ok = solved >= 1
        return LPResult(
            status=status,
            assigned=assigned,
            peak=peak,
            released=np.array([v.solution_value() if ok else 0.0 for v in self.released]),
            flow=np.array([v.solution_value() if ok else 0.0 for v in self.flow]),
            unassigned=np.array([v.solution_value() if ok else 0.0 for v in self.unassigned]),
            levels_solved=solved,
        )
