"""Large-neighbourhood search: the improvement engine every solver path ends with.

A round frees the cases of a set of officers (a *neighbourhood*), re-solves them exactly with
CP-SAT while everything else stays put, and keeps the result when it improves the objective order
(assigned, peak, balance, moves). Neighbourhoods vary:

* **peak** — the most utilized officers and officers that could take their cases (sharing a pool
  with them), the least utilized first, with a random tie-break;
* **random** — a random officer and officers connected to it through eligibility;
* **low** — the least utilized officers and the busiest officers they could relieve.

A peak round minimizes the neighbourhood's highest utilization, then re-balances the same
neighbourhood under the new peak; a balance round only re-balances. A neighbourhood that is the
whole component is the exact model of the component: its CP-SAT bound is then a proof for the
component.

The neighbourhood size adapts: it grows after a round that CP-SAT solved to optimality (there is
room for more) and shrinks after one that ran out of budget without improving. Budgets are in
deterministic units (CP-SAT's deterministic time, a charge per round), so that with one worker and
a seed the search takes the same steps on an idle and on a loaded machine; the wall-clock deadline
only stops it as a safety net. The search ends when the peak meets the lower bound and balance
stalls, or when the budget or the time is spent.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from assigncli import interrupt
from assigncli.problem import FloatArray, IntArray
from assigncli.result import OPTIMAL_GAP
from assigncli.solvers.component import (
    Component,
    State,
    cancel_round_trips,
    evaluate,
    make_component,
)
from assigncli.solvers.cpsat import CpsatModel, Goal

_log = logging.getLogger(__name__)

# Every round costs at least this much of the budget, so that the loop always ends.
ROUND_CHARGE = 0.01
# ... and this much per variable of its model (about the idle build time, in CP-SAT's units).
BUILD_CHARGE_PER_VAR = 1e-5
# Neighbourhood size (model variables): where it starts, and its limits.
START_SIZE = 1_500
MIN_SIZE = 200
MAX_SIZE = 30_000
# Building a model costs about this much per variable (Python side, a loaded machine): a round
# that could not finish building before the deadline is not started that large.
BUILD_SECONDS_PER_VAR = 2e-4
PART_SIZE = 4_000  # a neighbourhood that is not the whole component grows to this at most
# Balance rounds without improvement (once the peak meets its bound) after which balance stalls.
BALANCE_STALL = 12

Key = tuple[int, float, float, int]


def objective_key(comp: Component, state: State) -> Key:
    """(unassigned, peak, balance penalty, moves): lower is better, compared in that order."""
    ev = evaluate(comp, state)
    return ev.unassigned, ev.peak, comp.penalty(ev.load, ev.peak), ev.moves


def better(a: Key, b: Key) -> bool:
    """Whether `a` improves on `b` in the objective order, beyond floating-point noise."""
    if a[0] != b[0]:
        return a[0] < b[0]
    if not math.isclose(a[1], b[1], rel_tol=1e-9, abs_tol=1e-12):
        return a[1] < b[1]
    if not math.isclose(a[2], b[2], rel_tol=1e-9, abs_tol=1e-6):
        return a[2] < b[2]
    return a[3] < b[3]


@dataclass(frozen=True)
class Piece:
    """A neighbourhood cut out of a component: a component of its own over the freed cases."""

    comp: Component
    officers: IntArray  # parent indices of the neighbourhood's officers
    arcs: IntArray  # parent arcs into those officers (the sub-component's arcs, in order)
    held: IntArray  # parent held classes of those officers
    pools: IntArray  # parent pools with an arc into the neighbourhood
    start: State  # the parent state restricted to the piece
    whole: bool  # the neighbourhood is the whole component


def cut(comp: Component, state: State, officers: IntArray) -> Piece:
    """Free every movable case of `officers` (and the unassigned cases they could take)."""
    officers = np.unique(officers).astype(np.int64)
    inside = np.zeros(comp.n_officers, dtype=bool)
    inside[officers] = True
    local_officer = np.full(comp.n_officers, -1, dtype=np.int64)
    local_officer[officers] = np.arange(len(officers))
    held = np.flatnonzero(inside[comp.held_officer]).astype(np.int64)
    arcs = np.flatnonzero(inside[comp.arc_officer]).astype(np.int64)  # in pool order
    pools = np.unique(comp.arc_pool[arcs]).astype(np.int64)
    n_pools = len(pools)
    arc_pool = np.searchsorted(pools, comp.arc_pool[arcs]).astype(np.int64)
    held_pool = np.searchsorted(pools, comp.held_pool[held]).astype(np.int64)
    flow = state.flow[arcs]
    released = state.released[held]
    unassigned = state.unassigned[pools]
    # What the neighbourhood must place: what it received and left unassigned, less what its own
    # officers released (those releases may have gone outside: the balance then asks for them).
    fixed = (
        np.bincount(arc_pool, weights=flow, minlength=n_pools)
        + unassigned
        - np.bincount(held_pool, weights=released, minlength=n_pools)
    ).astype(np.int64)
    size = fixed + np.bincount(held_pool, weights=comp.held_count[held], minlength=n_pools).astype(
        np.int64
    )
    sub = make_component(
        index=comp.index,
        available=comp.available[officers],
        cap=comp.cap[officers],
        base_hours=comp.base_hours[officers],
        base_count=comp.base_count[officers],
        measured=comp.measured[officers],
        held_officer=local_officer[comp.held_officer[held]],
        held_pool=held_pool,
        held_count=comp.held_count[held],
        held_effort=comp.held_effort[held],
        pool_cost=comp.pool_cost[pools],
        pool_fixed=fixed,
        pool_size=size,
        pool_group=comp.pool_group[pools],
        pool_handoff=comp.pool_handoff[pools],
        arc_pool=arc_pool,
        arc_officer=local_officer[comp.arc_officer[arcs]],
        arc_ptr=np.searchsorted(arc_pool, np.arange(n_pools + 1)).astype(np.int64),
    )
    start = State(released.copy(), flow.copy(), unassigned.copy())
    return Piece(sub, officers, arcs, held, pools, start, len(officers) == comp.n_officers)


def paste(comp: Component, state: State, piece: Piece, sub_state: State) -> State:
    """`state` with the piece's decisions replaced by `sub_state`."""
    new = state.copy()
    new.released[piece.held] = sub_state.released
    new.flow[piece.arcs] = sub_state.flow
    new.unassigned[piece.pools] = sub_state.unassigned
    cancel_round_trips(comp, new)
    return new


@dataclass(frozen=True)
class LnsResult:
    state: State
    bound: float  # the best lower bound known at the end (the input's, or CP-SAT's on the whole)
    rounds: int
    improvements: int
    work: float  # budget used, in deterministic units
    exhausted: bool  # stopped by the budget or the clock, not by a proof and stalled balance


class Lns:
    """The search over one component, from `state`, with `bound` a proven bound on its peak."""

    def __init__(
        self,
        comp: Component,
        state: State,
        bound: float,
        *,
        max_moves: int | None,
        seed: int,
        workers: int,
        progress: Callable[..., None] | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.comp = comp
        self.state = state
        self.key = objective_key(comp, state)
        self.bound = bound
        self.max_moves = max_moves
        self.seed = seed
        self.workers = workers
        self.rng = np.random.default_rng(seed)
        self.progress = progress
        self.log = log
        self.vars_of = np.diff(comp.officer_arc_ptr) + np.diff(comp.officer_held_ptr)

    # -- neighbourhoods ----------------------------------------------------------------------

    def _util(self) -> FloatArray:
        comp = self.comp
        load = comp.loads(self.state.released, self.state.flow)
        return np.where(comp.measured, comp.utilization(load), -np.inf)

    def _neighbours(self, officers: IntArray) -> IntArray:
        """Officers sharing a pool with any of `officers`."""
        comp = self.comp
        arcs = np.concatenate(
            [comp.arcs_of(int(o)) for o in officers.tolist()] or [np.zeros(0, np.int64)]
        )
        pools = np.unique(comp.arc_pool[arcs])
        if not len(pools):
            return np.zeros(0, dtype=np.int64)
        starts, ends = comp.arc_ptr[pools], comp.arc_ptr[pools + 1]
        lengths = ends - starts
        idx = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        return np.unique(comp.arc_officer[idx])

    def _grow(
        self, seed_officers: IntArray, size: int, score: Callable[[IntArray], FloatArray]
    ) -> IntArray:
        """From `seed_officers`, add connected officers lowest `score` first until the model
        reaches `size` variables (at least two officers when there are two)."""
        chosen = list(dict.fromkeys(seed_officers.tolist()))
        total = int(self.vars_of[chosen].sum())
        in_set = np.zeros(self.comp.n_officers, dtype=bool)
        in_set[chosen] = True
        frontier = self._neighbours(np.array(chosen, dtype=np.int64))
        while total < size or len(chosen) < 2:
            frontier = frontier[~in_set[frontier]]
            if not len(frontier):
                # Connected officers exhausted (the component is this small).
                break
            ranked = frontier[np.argsort(score(frontier), kind="stable")]
            added: list[int] = []
            for o in ranked.tolist():
                if (total >= size and len(chosen) >= 2) or len(added) >= 4:
                    break
                chosen.append(o)
                added.append(o)
                in_set[o] = True
                total += int(self.vars_of[o])
            frontier = np.union1d(frontier, self._neighbours(np.array(added, dtype=np.int64)))
        return np.array(chosen, dtype=np.int64)

    def _pick(self, kind: str, size: int) -> IntArray:
        comp, rng = self.comp, self.rng
        util = self._util()
        measured = np.flatnonzero(comp.measured)
        spread = float(util[measured].max() - util[measured].min()) if len(measured) else 0.0
        noise = rng.random(comp.n_officers) * max(spread, 1e-9) * 0.25
        if kind == "peak":
            peak = float(util.max())
            top = np.flatnonzero(util >= peak * (1 - 1e-9))[:8]
            return self._grow(top, size, lambda o: util[o] + noise[o])
        if kind == "low":
            low = int(measured[np.argmin(util[measured] + noise[measured])])
            return self._grow(np.array([low]), size, lambda o: -util[o] + noise[o])
        first = int(rng.integers(comp.n_officers))
        order = rng.random(comp.n_officers)
        return self._grow(np.array([first]), size, lambda o: order[o])

    # -- rounds ------------------------------------------------------------------------------

    def _moves_left(self, piece: Piece) -> int | None:
        if self.max_moves is None:
            return None
        outside = int(self.state.released.sum()) - int(piece.start.released.sum())
        return self.max_moves - outside

    def _round(
        self, kind: str, size: int, work: float, seconds: float
    ) -> tuple[Goal, bool, bool, float]:
        """One neighbourhood; returns (its goal, improved, solved to optimality, work used)."""
        comp = self.comp
        officers = (
            np.arange(comp.n_officers) if size >= self.vars_of.sum() else self._pick(kind, size)
        )
        piece = cut(comp, self.state, officers)
        moves = self._moves_left(piece)
        goal: Goal = "balance" if kind == "low" or self._peak_closed() else "peak"
        # Over the whole component the peak goes alone: a proof there is the component's bound.
        model = CpsatModel(
            piece.comp,
            goal,
            piece.start,
            max_moves=moves,
            ceiling=self.key[1],
            lower=self.bound,
            with_balance=not piece.whole,
        )
        result = model.solve(
            work=work, seconds=seconds, workers=self.workers, seed=self.seed, log=self.log
        )
        # Building the model is work too (CP-SAT does not count it): charged by its size.
        used = ROUND_CHARGE + BUILD_CHARGE_PER_VAR * int(self.vars_of[officers].sum())
        used += result.deterministic_time
        if goal == "peak" and piece.whole and result.bound > self.bound:
            self.bound = min(result.bound, self.key[1])
        if result.state is None:
            return goal, False, result.proven, used
        candidate = paste(comp, self.state, piece, result.state)
        key = objective_key(comp, candidate)
        if better(key, self.key):
            self.state, self.key = candidate, key
            return goal, True, result.proven, used
        return goal, False, result.proven, used

    def _peak_closed(self) -> bool:
        peak = self.key[1]
        return peak <= 0 or (self.bound > 0 and (peak - self.bound) / self.bound < OPTIMAL_GAP)

    def run(
        self, work: float, deadline: float, *, whole_first: bool, max_rounds: int = 100_000
    ) -> LnsResult:
        """Rounds until the budget (`work` deterministic units, `max_rounds` rounds) is spent, the
        clock passes `deadline` (time.perf_counter()), or the peak is proven and balance stalls."""
        comp = self.comp
        total_vars = int(self.vars_of.sum())
        if comp.n_officers == 0 or total_vars == 0 or not comp.measured.any():
            return LnsResult(self.state, self.bound, 0, 0, 0.0, False)
        size = total_vars if whole_first and total_vars <= MAX_SIZE else min(START_SIZE, total_vars)
        if size == total_vars and deadline - time.perf_counter() < BUILD_SECONDS_PER_VAR * size:
            # The safety net: too little time left to even build the whole model.
            size = min(START_SIZE, total_vars)
        used, rounds, improvements, stall = 0.0, 0, 0, 0
        settled: set[Goal] = set()
        kinds = ("peak", "peak", "random", "peak", "low")
        exhausted = True
        while used < work and rounds < max_rounds:
            now = time.perf_counter()
            if now >= deadline or interrupt.stop_requested():
                break
            if self._peak_closed() and stall >= BALANCE_STALL:
                exhausted = False
                break
            kind = kinds[rounds % len(kinds)]
            if self._peak_closed():
                kind = "low" if rounds % 2 else "random"
            # A round's share of the budget: enough for CP-SAT on its size, never the rest.
            round_work = min(work - used, max(0.03, size / 20_000.0))
            goal, improved, proven, spent = self._round(kind, size, round_work, deadline - now)
            _log.debug(
                "lns round %d %s size %d: improved %s proven %s work %.3f wall %.2f peak %.4f%%",
                rounds,
                kind,
                size,
                improved,
                proven,
                spent,
                time.perf_counter() - now,
                100 * self.key[1],
            )
            used += spent
            rounds += 1
            whole = size >= total_vars
            if improved:
                improvements += 1
                stall = 0
            else:
                stall += 1
            if improved:
                settled.clear()
            elif whole and proven:
                settled.add(goal)
            if "balance" in settled and ("peak" in settled or self._peak_closed()):
                # The whole component solved to optimality for each goal, with nothing to gain.
                exhausted = False
                break
            if proven and size < total_vars:
                # Grow into the whole component only when it fits a round; else stay moderate.
                grown = int(size * 1.25) + 1
                size = (
                    total_vars
                    if grown >= total_vars and total_vars <= MAX_SIZE
                    else min(grown, PART_SIZE, total_vars)
                )
            elif not proven and not improved:
                size = max(MIN_SIZE, int(size * 0.8))
            if self.progress is not None and (improved or rounds % 20 == 0):
                self.progress(f"search round {rounds}", peak=self.key[1], bound=self.bound)
        _log.debug(
            "lns stopped after %d rounds by %s (work %.2f of %.2f)",
            rounds,
            "the budget"
            if used >= work or rounds >= max_rounds
            else ("the proof" if not exhausted else "the clock or Ctrl-C"),
            used,
            work,
        )
        return LnsResult(self.state, self.bound, rounds, improvements, used, exhausted)
