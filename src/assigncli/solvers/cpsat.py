"""The exact CP-SAT model of a component (or of a neighbourhood cut out of one), over classes with
integer counts.

Integer scale: hours in milli-hours (`HOURS_SCALE`), utilization in units of 1e-7 (`UTIL_SCALE`,
fine enough that a proven optimum reads as a zero gap at the certificate's precision).
Class counts are integers, so this model is the per-case problem itself, not a relaxation: any
solution turns into per-case assignments. With continuous per-case effort every pool holds one
case and the model is the textbook per-case model; where cases aggregate, one variable counts a
whole class.

The model is composed like PyJobShop's CP-SAT backend: `Variables` (counts, peak, balance
excess), `Constraints` (a list of small steps) and `Objective` (the two objectives the search
uses), put together by `CpsatModel`. Two objectives, in the design's priority order:

* `peak` — the highest utilization of the modelled officers, then the balance penalty against
  the given peak;
* `balance` — with every officer at or below the given peak: the balance penalty, then the moves.

Level 1 (assign as many cases as the caps allow) is a network flow that the LP and the
augmenting-path repair solve exactly; here it is a constraint: never more unassigned cases than
the starting plan.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from ortools.sat.python import cp_model

from assigncli import interrupt
from assigncli.problem import NO_CAP, IntArray
from assigncli.solvers.component import BALANCE_LEVELS, Component, State

HOURS_SCALE = 1000
UTIL_SCALE = 10_000_000

Goal = Literal["peak", "balance"]
# A weighted objective must stay well inside 64 bits; beyond this the peak goes alone.
_OBJECTIVE_LIMIT = 1 << 60


def scaled(values: np.ndarray) -> tuple[IntArray, bool]:
    """Values in milli-hours, and whether the scaling was exact."""
    s = np.round(values * HOURS_SCALE)
    exact = bool(np.all(np.abs(s - values * HOURS_SCALE) < 1e-6))
    return s.astype(np.int64), exact


@dataclass(frozen=True)
class CpsatResult:
    state: State | None  # None when CP-SAT found nothing (never worse than the hint otherwise)
    proven: bool  # the objective is optimal for this model
    bound: float  # level 2: proven lower bound on the modelled officers' peak (utilization)
    deterministic_time: float


class Variables:
    """Integer counts for every class decision, the peak, and (for balance) excess hours."""

    def __init__(self, model: cp_model.CpModel, comp: Component) -> None:
        self.released = [model.new_int_var(0, int(n), "") for n in comp.held_count]
        size = np.maximum(comp.pool_size, 0)
        self.flow = [model.new_int_var(0, int(size[p]), "") for p in comp.arc_pool]
        self.unassigned = [
            model.new_int_var(0, int(size[p]) if comp.capped else 0, "")
            for p in range(comp.n_pools)
        ]
        self.peak: cp_model.IntVar | None = None
        self.excess: list[cp_model.IntVar] = []
        self.excess_at: list[tuple[int, int]] = []  # (officer, threshold) of each excess variable
        self.excess_cap: list[int] = []  # the most each excess variable can be

    def decisions(self) -> list[cp_model.IntVar]:
        return self.released + self.flow + self.unassigned


class Constraints:
    """The feasibility rules of a plan, each one step."""

    def __init__(self, model: cp_model.CpModel, comp: Component, v: Variables) -> None:
        self.model, self.comp, self.v = model, comp, v
        effort, exact_effort = scaled(comp.held_effort)
        cost, exact_cost = scaled(comp.pool_cost)
        base, exact_base = scaled(comp.base_hours)
        self.exact_scale = exact_effort and exact_cost and exact_base
        self.effort, self.cost, self.base = effort, cost, base
        self.available = np.round(comp.available * HOURS_SCALE).astype(np.int64)
        self.loads: list[cp_model.LinearExprT] = []

    def add_all(self, max_moves: int | None, max_unassigned: int) -> None:
        self._pool_balance()
        self._officer_loads()
        self._case_caps()
        self._move_budget(max_moves)
        self._unassigned_limit(max_unassigned)

    def _pool_balance(self) -> None:
        """Every case of a pool goes to exactly one eligible officer or stays unassigned:
        Σ flows + unassigned = fixed + Σ released into the pool."""
        comp, v = self.comp, self.v
        for p in range(comp.n_pools):
            arcs = comp.pool_arcs(p).tolist()
            into = comp.held_into(p).tolist()
            self.model.add(
                cp_model.LinearExpr.sum([v.flow[a] for a in arcs] + [v.unassigned[p]])
                - cp_model.LinearExpr.sum([v.released[h] for h in into])
                == int(comp.pool_fixed[p])
            )

    def _officer_loads(self) -> None:
        """Each officer's load in milli-hours: locked + kept held cases + received cases."""
        comp, v = self.comp, self.v
        for o in range(comp.n_officers):
            h, a = comp.held_of(o), comp.arcs_of(o)
            fixed = int(self.base[o] + (comp.held_count[h] * self.effort[h]).sum())
            variables = [v.released[i] for i in h.tolist()] + [v.flow[i] for i in a.tolist()]
            coefs = [-int(self.effort[i]) for i in h] + [
                int(self.cost[comp.arc_pool[i]]) for i in a
            ]
            self.loads.append(cp_model.LinearExpr.weighted_sum(variables, coefs) + fixed)

    def _case_caps(self) -> None:
        """No officer ends with more than max_cases cases (locked cases included)."""
        comp, v = self.comp, self.v
        for o in np.flatnonzero(comp.cap != NO_CAP).tolist():
            h, a = comp.held_of(o), comp.arcs_of(o)
            kept = int(comp.base_count[o] + comp.held_count[h].sum())
            count = cp_model.LinearExpr.sum(
                [v.flow[i] for i in a.tolist()]
            ) - cp_model.LinearExpr.sum([v.released[i] for i in h.tolist()])
            self.model.add(count + kept <= int(comp.cap[o]))

    def _move_budget(self, max_moves: int | None) -> None:
        """At most `max_moves` discretionary moves (released held cases)."""
        if max_moves is not None:
            self.model.add(cp_model.LinearExpr.sum(self.v.released) <= max(0, max_moves))

    def _unassigned_limit(self, max_unassigned: int) -> None:
        """Level 1 is settled before: never more cases unassigned than the starting plan."""
        if self.comp.capped:
            self.model.add(cp_model.LinearExpr.sum(self.v.unassigned) <= max_unassigned)

    def _most_load(self) -> IntArray:
        """The most hours each officer can end with (every case it could hold or receive)."""
        comp = self.comp
        most = self.base.copy()
        np.add.at(most, comp.held_officer, comp.held_count * self.effort)
        np.add.at(
            most,
            comp.arc_officer,
            np.maximum(comp.pool_size, 0)[comp.arc_pool] * self.cost[comp.arc_pool],
        )
        return most

    def add_peak(self, upper_units: int | None, lower_units: int) -> cp_model.IntVar:
        """The peak variable, in utilization units: A_o · peak ≥ UTIL_SCALE · load_o."""
        comp = self.comp
        measured = self.available[comp.measured]
        top = max(1, int(measured.min())) if measured.size else 1
        most = int(self.base.sum() + (comp.held_count * self.effort).sum())
        most += int((np.maximum(comp.pool_size, 0) * self.cost).sum())
        high = most * UTIL_SCALE // top + 1 if upper_units is None else upper_units
        peak = self.model.new_int_var(min(lower_units, high), high, "peak")
        for o in np.flatnonzero(comp.measured).tolist():
            self.model.add(int(self.available[o]) * peak >= UTIL_SCALE * self.loads[o])
        self.v.peak = peak
        return peak

    def add_ceiling(self, peak: float, start_loads: IntArray) -> None:
        """Every measured officer at or below `peak` (utilization), in the model's scale; never
        below the start's own load (rounding to milli-hours must not make the start infeasible)."""
        comp = self.comp
        for o in np.flatnonzero(comp.measured).tolist():
            limit = max(math.floor(peak * int(self.available[o])), int(start_loads[o]))
            self.model.add(self.loads[o] <= limit)

    def add_excess(self, peak: float) -> None:
        """Excess hours above each balance level × `peak`, per measured officer."""
        comp, v = self.comp, self.v
        most = self._most_load()
        for o in np.flatnonzero(comp.measured).tolist():
            for level in BALANCE_LEVELS:
                limit = math.floor(level * peak * int(self.available[o]))
                top = max(0, int(most[o]) - limit)
                s = self.model.new_int_var(0, top, "")
                v.excess_cap.append(top)
                self.model.add(s >= self.loads[o] - limit)
                v.excess.append(s)
                v.excess_at.append((o, limit))


class Objective:
    """The two objectives; terms are added only where they carry weight."""

    @staticmethod
    def peak(model: cp_model.CpModel, v: Variables) -> int:
        """Peak first: one unit of peak outweighs the whole penalty the model can reach. Returns
        the peak's weight in the objective."""
        assert v.peak is not None
        weight = sum(v.excess_cap) + 1
        if weight * (v.peak.proto.domain[-1] + 1) >= _OBJECTIVE_LIMIT:
            model.minimize(v.peak)
            return 1
        model.minimize(v.peak * weight + cp_model.LinearExpr.sum(v.excess))
        return weight

    @staticmethod
    def balance(model: cp_model.CpModel, v: Variables, comp: Component) -> None:
        # Penalty first, then moves: a move is worth less than one milli-hour of penalty.
        weight = int(comp.held_count.sum()) + 1
        penalty = cp_model.LinearExpr.sum(v.excess)
        if comp.n_held:
            model.minimize(penalty * weight + cp_model.LinearExpr.sum(v.released))
        else:
            model.minimize(penalty)


class CpsatModel:
    """One CP-SAT model of `comp` for one goal, hinted in full from a starting state.

    `peak` minimizes the highest utilization (bounded above by the start's), then, unless not
    `with_balance`, the penalty against `ceiling` (the peak alone proves much faster: its bound
    is the component's when the model is the whole component); `balance` keeps every officer at
    or below `ceiling` and minimizes the penalty against it, then the moves.
    """

    def __init__(
        self,
        comp: Component,
        goal: Goal,
        start: State,
        *,
        max_moves: int | None,
        ceiling: float,
        lower: float = 0.0,
        with_balance: bool = True,
    ) -> None:
        self.comp, self.goal = comp, goal
        self.peak_weight = 1
        model = self.model = cp_model.CpModel()
        v = self.v = Variables(model, comp)
        c = self.c = Constraints(model, comp, v)
        c.add_all(max_moves, int(start.unassigned.sum()))
        start_loads = self.scaled_loads(start)
        if goal == "peak":
            upper = self._peak_units(start_loads)
            low = math.floor(lower * UTIL_SCALE * (1 - 1e-5)) if c.exact_scale else 0
            c.add_peak(upper, max(0, low))
            if with_balance:
                c.add_excess(ceiling)
            self.peak_weight = Objective.peak(model, v)
        else:
            c.add_ceiling(ceiling, start_loads)
            c.add_excess(ceiling)
            Objective.balance(model, v, comp)
        self._hint(start, start_loads)

    def scaled_loads(self, state: State) -> IntArray:
        """Officer loads in the model's integer scale, computed exactly as the model states them."""
        comp, c = self.comp, self.c
        load = c.base.copy()
        np.add.at(load, comp.held_officer, (comp.held_count - state.released) * c.effort)
        np.add.at(load, comp.arc_officer, state.flow * c.cost[comp.arc_pool])
        return load

    def _peak_units(self, loads: IntArray) -> int:
        comp, c = self.comp, self.c
        measured = np.flatnonzero(comp.measured)
        if not len(measured):
            return 0
        return max(-(-UTIL_SCALE * int(loads[o]) // int(c.available[o])) for o in measured.tolist())

    def _hint(self, state: State, loads: IntArray) -> None:
        """A complete hint (every variable) after clearing old ones."""
        model, v = self.model, self.v
        model.clear_hints()  # type: ignore[no-untyped-call]
        values = np.concatenate([state.released, state.flow, state.unassigned]).tolist()
        for var, value in zip(v.decisions(), values, strict=True):
            model.add_hint(var, int(value))
        if v.peak is not None:
            model.add_hint(v.peak, self._peak_units(loads))
        for s, (o, limit) in zip(v.excess, v.excess_at, strict=True):
            model.add_hint(s, max(0, int(loads[o]) - limit))

    def solve(
        self,
        *,
        work: float,
        seconds: float,
        workers: int,
        seed: int,
        log: Callable[[str], None] | None = None,
    ) -> CpsatResult:
        """Search for `work` units of deterministic time (the budget), stopped by `seconds` of
        wall time at the latest (the safety net) or by Ctrl-C."""
        solver = cp_model.CpSolver()
        params = solver.parameters
        # Ctrl-C is the CLI's to handle (see interrupt.py): CP-SAT's own handler would swallow it.
        params.catch_sigint_signal = False
        params.max_time_in_seconds = max(0.01, seconds)
        params.max_deterministic_time = max(0.01, work)
        params.num_workers = max(1, workers)
        params.random_seed = seed
        if log is not None:
            params.log_search_progress = True
            params.log_to_stdout = False
            solver.log_callback = log
        with interrupt.register(solver.stop_search):
            status = solver.solve(self.model)
        det = float(solver.response_proto.deterministic_time)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return CpsatResult(None, False, 0.0, det)
        v = self.v
        state = State(
            np.array([solver.value(x) for x in v.released], dtype=np.int64),
            np.array([solver.value(x) for x in v.flow], dtype=np.int64),
            np.array([solver.value(x) for x in v.unassigned], dtype=np.int64),
        )
        bound = 0.0
        if self.goal == "peak" and self.c.exact_scale:
            # The model's peak is the utilization rounded up to the scale, so the model's optimum
            # exceeds (bound - 1) units; available hours are rounded to milli-hours, which scales
            # each officer's true utilization by A_scaled / (1000 A) against the model's.
            comp = self.comp
            measured = comp.measured
            ratio = (
                float(np.min(self.c.available[measured] / (HOURS_SCALE * comp.available[measured])))
                if measured.any()
                else 1.0
            )
            # objective = peak × weight + excess with 0 ≤ excess < weight: peak ≥ ⌊bound / weight⌋.
            units = math.floor(solver.best_objective_bound / self.peak_weight + 1e-9)
            bound = max(0.0, (units - 1) / UTIL_SCALE * min(1.0, ratio))
        return CpsatResult(state, status == cp_model.OPTIMAL, bound, det)
