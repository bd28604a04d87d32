"""The exact CP-SAT model of one component, over classes with integer counts.

Integer scale: hours in milli-hours (`HOURS_SCALE`), utilization in units of 1e-5 (`UTIL_SCALE`).
Class counts are integers, so this model is the per-case problem itself, not a relaxation: any
solution turns into per-case assignments, and an optimum here is an optimum per case (up to the
rounding of hours to the scale).

Levels are solved one after the other, each fixing the value reached by the one before and
starting from a complete hint of the previous solution.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from assigncli import interrupt
from assigncli.problem import NO_CAP
from assigncli.solvers.component import BALANCE_LEVELS, Component, State

HOURS_SCALE = 1000
UTIL_SCALE = 100_000

# Shares of the remaining time given to levels 1-4 (a level finishing early passes time on).
_LEVEL_SHARE = {1: 0.2, 2: 0.55, 3: 0.6, 4: 1.0}


@dataclass(frozen=True)
class ExactResult:
    state: State
    status: str  # "optimal" (level 2 proven) | "feasible" | "unknown"
    bound: float  # proven lower bound on the peak from CP-SAT (0 when not exact-scaled)
    levels_solved: int


def _scaled(values: np.ndarray) -> tuple[np.ndarray, bool]:
    scaled = np.round(values * HOURS_SCALE)
    exact = bool(np.all(np.abs(scaled - values * HOURS_SCALE) < 1e-6))
    return scaled.astype(np.int64), exact


class ComponentCPSAT:
    def __init__(
        self,
        comp: Component,
        *,
        max_moves: int | None,
        seed: int,
        workers: int,
        log: Callable[[str], None] | None = None,
        improved: Callable[[float | None, float | None], None] | None = None,
    ) -> None:
        self.comp = comp
        self.seed = seed
        self.workers = workers
        self.log = log
        # (peak, bound) as utilization during level 2: on each better solution or bound.
        self.improved = improved
        model = cp_model.CpModel()
        self.model = model
        self.released = [model.new_int_var(0, int(n), "") for n in comp.held_count]
        self.flow = [model.new_int_var(0, int(comp.pool_size[p]), "") for p in comp.arc_pool]
        self.unassigned = [
            model.new_int_var(0, int(comp.pool_size[p]) if comp.capped else 0, "")
            for p in range(comp.n_pools)
        ]

        for p in range(comp.n_pools):
            arcs = range(comp.arc_ptr[p], comp.arc_ptr[p + 1])
            into = np.flatnonzero(comp.held_pool == p)
            model.add(
                sum((self.flow[a] for a in arcs), self.unassigned[p])
                == int(comp.pool_fixed[p]) + sum(self.released[h] for h in into)
            )

        effort, exact_effort = _scaled(comp.held_effort)
        cost, exact_cost = _scaled(comp.pool_cost)
        base, exact_base = _scaled(comp.base_hours)
        self.exact_scale = exact_effort and exact_cost and exact_base
        self.effort_scaled, self.cost_scaled, self.base_scaled = effort, cost, base
        held_by = [np.flatnonzero(comp.held_officer == o) for o in range(comp.n_officers)]
        arcs_by = [np.flatnonzero(comp.arc_officer == o) for o in range(comp.n_officers)]
        self.loads: list[cp_model.LinearExprT] = []
        for o in range(comp.n_officers):
            h, a = held_by[o], arcs_by[o]
            fixed = int(base[o] + (comp.held_count[h] * effort[h]).sum())
            variables = [self.released[i] for i in h] + [self.flow[i] for i in a]
            coefs = [-int(effort[i]) for i in h] + [int(cost[comp.arc_pool[i]]) for i in a]
            self.loads.append(cp_model.LinearExpr.weighted_sum(variables, coefs) + fixed)
            if comp.cap[o] != NO_CAP:
                kept = int(comp.base_count[o] + comp.held_count[h].sum())
                count = cp_model.LinearExpr.sum(
                    [self.flow[i] for i in a]
                ) - cp_model.LinearExpr.sum([self.released[i] for i in h])
                model.add(count + kept <= int(comp.cap[o]))
        if max_moves is not None:
            model.add(cp_model.LinearExpr.sum(self.released) <= max_moves)

        self.available_scaled = np.round(comp.available * HOURS_SCALE).astype(np.int64)
        measured_hours = self.available_scaled[comp.measured]
        top = max(1, int(measured_hours.min())) if measured_hours.size else 1
        max_load = int(
            base.sum() + (comp.held_count * effort).sum() + (comp.pool_size * cost).sum()
        )
        self.peak = model.new_int_var(0, max_load * UTIL_SCALE // top + 1, "peak")
        for officer in np.flatnonzero(comp.measured):
            model.add(
                int(self.available_scaled[officer]) * self.peak >= UTIL_SCALE * self.loads[officer]
            )

    def _variables(self) -> list[cp_model.IntVar]:
        return self.released + self.flow + self.unassigned

    def _hint(self, state: State, extra: dict[cp_model.IntVar, int]) -> None:
        self.model.clear_hints()  # type: ignore[no-untyped-call]
        values = np.concatenate([state.released, state.flow, state.unassigned]).tolist()
        for var, value in zip(self._variables(), values, strict=True):
            self.model.add_hint(var, int(value))
        for var, value in extra.items():
            self.model.add_hint(var, value)

    def _peak_value(self, state: State) -> int:
        load = self._scaled_loads(state)
        measured = np.flatnonzero(self.comp.measured)
        if not len(measured):
            return 0
        return max(
            math.ceil(UTIL_SCALE * int(load[o]) / int(self.available_scaled[o])) for o in measured
        )

    def _scaled_loads(self, state: State) -> list[int]:
        """Officer loads in the model's integer scale, computed exactly as the model states them."""
        comp = self.comp
        load = self.base_scaled.copy()
        np.add.at(load, comp.held_officer, (comp.held_count - state.released) * self.effort_scaled)
        np.add.at(load, comp.arc_officer, state.flow * self.cost_scaled[comp.arc_pool])
        return [int(x) for x in load]

    def _run(
        self, seconds: float, work: float, peak_level: bool = False
    ) -> tuple[cp_model.CpSolver, Any]:
        solver = cp_model.CpSolver()
        params = solver.parameters
        # Ctrl-C is the CLI's to handle (see interrupt.py): CP-SAT's own handler would swallow it.
        params.catch_sigint_signal = False
        params.max_time_in_seconds = max(0.05, seconds)
        if self.workers == 1:
            # The deterministic limit makes a single-worker run stop at the same point every
            # time; the wall-clock limit only protects the deadline on a slow or loaded machine.
            # Parallel workers are not reproducible anyway, so they use all the wall time.
            params.max_deterministic_time = max(0.05, work)
        params.num_workers = self.workers
        params.random_seed = self.seed
        if self.log is not None:
            params.log_search_progress = True
            params.log_to_stdout = False
            solver.log_callback = self.log
        callback = None
        if peak_level and self.improved is not None:
            callback = _Improved(self.improved, self._proven)
            report, proven = self.improved, self._proven
            solver.best_bound_callback = lambda bound: report(None, proven(bound))
        with interrupt.register(solver.stop_search):
            status = solver.solve(self.model, callback)
        return solver, status

    def _proven(self, objective_bound: float) -> float | None:
        """Level 2's objective bound as the utilization bound `solve` certifies, None when the
        hours are not exact on the model's scale."""
        if not self.exact_scale:
            return None
        return max(0.0, (objective_bound - 1) / UTIL_SCALE * (1 - 1e-5))

    def _read(self, solver: cp_model.CpSolver) -> State:
        return State(
            np.array([solver.value(v) for v in self.released], dtype=np.int64),
            np.array([solver.value(v) for v in self.flow], dtype=np.int64),
            np.array([solver.value(v) for v in self.unassigned], dtype=np.int64),
        )

    def solve(
        self, start: State, deadline: float, lp_peak: float | None, work: float
    ) -> ExactResult:
        """Levels 1-4 by `deadline` (time.perf_counter()), with `work` units of CP-SAT's
        deterministic time in all (split between levels as the wall time is)."""
        comp, model = self.comp, self.model
        state = start
        status_text = "feasible"
        bound = 0.0
        solved = 0
        work_left = work

        def remaining(level: int) -> tuple[float, float]:
            nonlocal work_left
            share = _LEVEL_SHARE[level]
            level_work = work_left * share
            work_left -= level_work
            return max(0.0, deadline - time.perf_counter()) * share, level_work

        # Level 1: assign as many cases as the caps allow.
        if comp.capped:
            model.minimize(cp_model.LinearExpr.sum(self.unassigned))
            self._hint(state, {})
            solver, status = self._run(*remaining(1))
            if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                # Keep the warm start unless CP-SAT assigns more: any other level-1 optimum may
                # have a far worse peak, and level 2 starts from the state kept here.
                found = self._read(solver)
                if found.unassigned.sum() < state.unassigned.sum():
                    state = found
            model.add(cp_model.LinearExpr.sum(self.unassigned) <= int(state.unassigned.sum()))
        solved = 1
        if not comp.measured.any():
            return ExactResult(state, "optimal", 0.0, solved)

        # Level 2: the peak utilization. The LP bound prunes the search when scaling is exact.
        if lp_peak is not None and self.exact_scale:
            model.add(self.peak >= math.floor(lp_peak * UTIL_SCALE * (1 - 1e-5)))
        model.minimize(self.peak)
        self._hint(state, {self.peak: self._peak_value(state)})
        solver, status = self._run(*remaining(2), peak_level=True)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            found = self._read(solver)
            if self._peak_value(found) <= self._peak_value(state):
                state = found
            status_text = "optimal" if status == cp_model.OPTIMAL else "feasible"
            if self.exact_scale:
                # The model's peak is the utilization rounded up to the scale, so the true optimum
                # exceeds (bound - 1) units; available hours are rounded too (relative 1e-5).
                bound = max(0.0, (solver.best_objective_bound - 1) / UTIL_SCALE * (1 - 1e-5))
        peak_value = self._peak_value(state)
        model.add(self.peak <= peak_value)
        solved = 2

        # Level 3: balance — hours above each fraction of the peak, summed.
        excess: list[cp_model.IntVar] = []
        thresholds: list[tuple[int, int]] = []
        for o in np.flatnonzero(comp.measured):
            for level in BALANCE_LEVELS:
                limit = math.floor(level * peak_value * int(self.available_scaled[o]) / UTIL_SCALE)
                s = model.new_int_var(0, cp_model.INT32_MAX, "")
                model.add(s >= self.loads[o] - limit)
                excess.append(s)
                thresholds.append((int(o), limit))
        model.minimize(cp_model.LinearExpr.sum(excess))
        loads = self._scaled_loads(state)
        hints = {
            s: max(0, loads[o] - limit) for s, (o, limit) in zip(excess, thresholds, strict=True)
        }
        self._hint(state, {self.peak: peak_value, **hints})
        solver, status = self._run(*remaining(3))
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            state = self._read(solver)
            solved = 3
        loads = self._scaled_loads(state)
        penalty = sum(max(0, loads[o] - limit) for o, limit in thresholds)
        model.add(cp_model.LinearExpr.sum(excess) <= penalty)

        # Level 4: fewest discretionary moves.
        model.minimize(cp_model.LinearExpr.sum(self.released))
        hints = {
            s: max(0, loads[o] - limit) for s, (o, limit) in zip(excess, thresholds, strict=True)
        }
        self._hint(state, {self.peak: peak_value, **hints})
        solver, status = self._run(*remaining(4))
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            state = self._read(solver)
            solved = 4
        return ExactResult(state, status_text, bound, solved)


class _Improved(cp_model.CpSolverSolutionCallback):
    """Reports each better peak (level 2's objective) with the bound proven so far."""

    def __init__(
        self,
        report: Callable[[float | None, float | None], None],
        proven: Callable[[float], float | None],
    ) -> None:
        super().__init__()
        self.report = report
        self.proven = proven

    def on_solution_callback(self) -> None:
        self.report(self.objective_value / UTIL_SCALE, self.proven(self.best_objective_bound))
