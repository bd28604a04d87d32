"""Class-level heuristics: the water fill, greedy constructions, LP rounding, and local searches
that lower the peak and even out the rest.

All of them work on whole classes with counts, so their cost depends on the number of classes and
officers, never on the number of cases.
"""

from __future__ import annotations

import logging
import math
import time
from typing import NamedTuple

import numpy as np

from assigncli import interrupt
from assigncli.problem import NO_CAP, FloatArray, IntArray
from assigncli.solvers.component import BALANCE_LEVELS, Component, State, cancel_round_trips

_log = logging.getLogger(__name__)

_EPS = 1e-9
# A zero-hour case still needs a home: it is placed as if it cost this much (about 4 ms), which
# spreads such cases over the least utilized officers instead of dividing by zero.
_MIN_COST = 1e-6
# Up to this many cases, the water fill places them one at a time (cheaper than a bisection).
_ONE_BY_ONE = 8


class Fill(NamedTuple):
    keep: FloatArray  # own cases each officer keeps
    take: FloatArray  # other cases each officer takes


def water_fill(
    load: FloatArray,
    available: FloatArray,
    room: FloatArray,
    cost: float,
    units: float,
    *,
    own: FloatArray | None = None,
    own_cost: float | None = None,
    integral: bool = True,
) -> Fill:
    """Place `units` equal cases at the lowest common utilization level, in one batch.

    Officer k first keeps its `own[k]` cases (`own_cost` hours each: no handoff), then takes
    others' cases (`cost` hours each), as long as its utilization stays at or below a level λ;
    `room[k]` caps what it ends with (keep + take; inf when uncapped). λ is found by bisection;
    the cases left over (at most one per officer at λ) go one per officer where they end lowest,
    ties to the lower index. This is what handing the cases one at a time to whoever ends least
    utilized yields, without a loop per case. With `integral=False` the units are divisible
    (hours, say) and every officer below λ is filled exactly up to it.

    Returns (own cases kept, other cases taken) per officer; they may sum to less than `units`
    when the rooms run out.
    """
    n = len(load)
    own_count = np.zeros(n) if own is None else np.asarray(own, dtype=np.float64)
    other_cost = max(float(cost), _MIN_COST)
    keep_cost = other_cost if own_cost is None else max(float(own_cost), _MIN_COST)
    cap = np.minimum(np.where(np.isinf(room), units, room), units)
    cap = np.maximum(cap, 0.0)
    own_cap = np.minimum(own_count, cap)
    if n == 0 or units <= 0:
        return Fill(np.zeros(n), np.zeros(n))
    if cap.sum() <= units:
        return Fill(own_cap, cap - own_cap)
    safe = np.where(available > 0, available, 1.0)
    if integral and units <= _ONE_BY_ONE:
        return _one_by_one(load, safe, cap, own_cap, keep_cost, other_cost, int(units))
    rnd = np.floor if integral else (lambda x: x)

    def placed(level: float) -> tuple[FloatArray, FloatArray]:
        head = level * safe - load
        keep = np.clip(rnd(head / keep_cost + (_EPS if integral else 0.0)), 0, own_cap)
        rest = head - keep * keep_cost
        other = np.clip(rnd(rest / other_cost + (_EPS if integral else 0.0)), 0, cap - keep)
        other = np.where(keep >= own_cap, other, 0.0)
        return keep, other

    lo = float(np.min(load / safe)) - 1.0
    hi = float(np.max((load + cap * max(other_cost, keep_cost)) / safe)) + 1.0
    for _ in range(200):
        mid = (lo + hi) / 2
        keep, other = placed(mid)
        if keep.sum() + other.sum() >= units:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 1e-13 * max(1.0, abs(hi)):
            break
    keep, other = placed(lo)
    if not integral:
        # Between lo and hi the total crosses `units`: scale the last slice to hit it exactly.
        keep_hi, other_hi = placed(hi)
        below, above = keep.sum() + other.sum(), keep_hi.sum() + other_hi.sum()
        t = (units - below) / (above - below) if above > below else 0.0
        return Fill(keep + t * (keep_hi - keep), other + t * (other_hi - other))
    short = round(float(units - keep.sum() - other.sum()))
    order = np.arange(n)
    while short > 0:
        nxt_own = keep < own_cap
        step = np.where(nxt_own, keep_cost, other_cost)
        full = keep + other >= cap
        if full.all():
            break
        after = np.where(full, np.inf, (load + keep * keep_cost + other * other_cost + step) / safe)
        chosen = np.lexsort((order, after))[: min(short, int((~full).sum()))]
        keep[chosen[nxt_own[chosen]]] += 1
        other[chosen[~nxt_own[chosen]]] += 1
        short -= len(chosen)
    return Fill(keep, other)


def _one_by_one(
    load: FloatArray,
    safe: FloatArray,
    cap: FloatArray,
    own_cap: FloatArray,
    keep_cost: float,
    other_cost: float,
    units: int,
) -> Fill:
    """A few cases: each to whoever ends lowest, literally (the first lowest on a tie)."""
    keep = np.zeros(len(load))
    take = np.zeros(len(load))
    current = load.astype(np.float64).copy()
    for _ in range(units):
        own_next = keep < own_cap
        step = np.where(own_next, keep_cost, other_cost)
        after = np.where(keep + take < cap, (current + step) / safe, np.inf)
        k = int(np.argmin(after))
        if not np.isfinite(after[k]):
            break
        if own_next[k]:
            keep[k] += 1
        else:
            take[k] += 1
        current[k] += step[k]
    return Fill(keep, take)


def _room(comp: Component, count: FloatArray) -> FloatArray:
    room = np.where(comp.cap == NO_CAP, np.inf, comp.cap - count)
    return np.maximum(room, 0.0)


def _cap_releases(comp: Component, released: IntArray) -> None:
    """Officers over their case cap release their lightest held cases first (in place)."""
    count = comp.counts(released, np.zeros(comp.n_arcs))
    over = np.where(comp.cap == NO_CAP, 0, np.maximum(count - comp.cap, 0)).astype(np.int64)
    if over.any():
        for h in np.argsort(comp.held_effort, kind="stable"):
            o = comp.held_officer[h]
            if over[o] > 0:
                k = min(int(over[o]), int(comp.held_count[h] - released[h]))
                released[h] += k
                over[o] -= k


def greedy(comp: Component) -> State:
    """The current assignment repaired: keep what can stay, then hand out pools heaviest first to
    the least-utilized officer. Officers over their case cap release their lightest held cases
    first; overloaded officers do not shed cases here (the searches do that)."""
    released = np.zeros(comp.n_held, dtype=np.int64)
    flow = np.zeros(comp.n_arcs, dtype=np.int64)
    unassigned = np.zeros(comp.n_pools, dtype=np.int64)
    _cap_releases(comp, released)
    load = comp.loads(released, flow)
    count = comp.counts(released, flow)
    inflow = comp.pool_inflow(released).astype(np.int64)
    safe_avail = np.where(comp.measured, comp.available, 1.0)
    # Heaviest first; at equal cost, cases that had an officer before new ones.
    for p in np.lexsort((np.arange(comp.n_pools), ~comp.pool_handoff, -comp.pool_cost)):
        arcs = comp.pool_arcs(int(p))
        officers = comp.arc_officer[arcs]
        cost = float(comp.pool_cost[p])
        fill = water_fill(
            load[officers], safe_avail[officers], _room(comp, count)[officers], cost, int(inflow[p])
        )
        take = fill.take.astype(np.int64)
        flow[arcs] += take
        load[officers] += take * cost
        count[officers] += take
        unassigned[p] = int(inflow[p] - take.sum())
    state = State(released, flow, unassigned)
    cancel_round_trips(comp, state)
    return state


def lpt(comp: Component) -> State:
    """Longest effort first: every case that may move, heaviest pool first, goes to the officer
    whose utilization after taking it is lowest (handoff hours counted for everyone but the
    case's own officer, who keeps it at its effort). Locked cases stay, as everywhere."""
    state = lpt_within(comp)
    assert state is not None  # neither a ceiling nor a deadline to stop it
    return state


def lpt_within(
    comp: Component, ceiling: float = math.inf, *, deadline: float = math.inf
) -> State | None:
    """`lpt`, abandoned with None once the peak among measured officers passes `ceiling` (then
    it cannot beat a plan at `ceiling` with every case placed: loads only grow as it places
    cases) or when time.perf_counter() passes `deadline`."""
    released = np.zeros(comp.n_held, dtype=np.int64)
    flow = np.zeros(comp.n_arcs, dtype=np.int64)
    unassigned = np.zeros(comp.n_pools, dtype=np.int64)
    load = comp.base_hours.astype(np.float64).copy()
    count = comp.base_count.astype(np.float64).copy()
    safe_avail = np.where(comp.measured, comp.available, 1.0)
    limit = ceiling * (1 + 1e-9) + 1e-12  # beyond floating-point noise, as `lns.better` reads it
    capped = comp.cap != NO_CAP
    # Pools by decreasing effort of their cases (a held class's effort is its pool's minus the
    # handoff); at equal effort, cases that had an officer before new ones, then pool order.
    effort = comp.pool_cost.copy()
    effort[comp.held_pool] = comp.held_effort
    order = np.lexsort((np.arange(comp.n_pools), ~comp.pool_handoff, -effort))
    for step, p in enumerate(order.tolist()):
        if step % 256 == 255 and time.perf_counter() > deadline:
            _log.info("longest effort first ran out of time after %d of %d pools", step, len(order))
            return None
        arcs = comp.pool_arcs(p)
        officers = comp.arc_officer[arcs]
        held = comp.held_into(p)
        # A held class's officer is eligible for its group, hence one of the pool's arcs.
        by_officer = np.argsort(officers, kind="stable")
        held_at = by_officer[np.searchsorted(officers[by_officer], comp.held_officer[held])]
        own = np.zeros(len(arcs))
        np.add.at(own, held_at, comp.held_count[held])
        units = int(comp.pool_fixed[p] + comp.held_count[held].sum())
        cost = float(comp.pool_cost[p])
        own_cost = float(comp.held_effort[held[0]]) if len(held) else cost
        # Room on the pool's officers only (what `_room` gives them, without every officer's).
        room = np.where(
            capped[officers], np.maximum(comp.cap[officers] - count[officers], 0.0), np.inf
        )
        fill = water_fill(
            load[officers], safe_avail[officers], room, cost, units, own=own, own_cost=own_cost
        )
        keep = fill.keep.astype(np.int64)
        take = fill.take.astype(np.int64)
        # One held class per (officer, pool): what the officer keeps is what stays of it.
        released[held] = comp.held_count[held] - keep[held_at]
        flow[arcs] += take
        load[officers] += keep * own_cost + take * cost
        count[officers] += keep + take
        unassigned[p] = units - int(keep.sum() + take.sum())
        measured = comp.measured[officers]
        if (
            math.isfinite(ceiling)
            and measured.any()
            and float((load[officers] / safe_avail[officers])[measured].max()) > limit
        ):
            return None
    state = State(released, flow, unassigned)
    cancel_round_trips(comp, state)
    return state


def round_state(comp: Component, released: FloatArray, flow: FloatArray, target: int = 0) -> State:
    """Turn a fractional LP state into integers that respect pool balance and case caps.

    `target` is the number of cases that must stay unassigned at best (level 1 of the LP, which is
    integral); rounding that leaves more is repaired along augmenting paths.
    """
    # Capped officers round their releases up: with flows rounded down, no count can then exceed
    # what the LP (which respects every cap) gave that officer.
    capped = (comp.cap != NO_CAP)[comp.held_officer]
    rounded = np.where(capped, np.ceil(released - 1e-7), np.round(released))
    rel = np.clip(rounded, 0, comp.held_count).astype(np.int64)
    inflow = comp.pool_inflow(rel).astype(np.int64)
    out = np.floor(flow + 1e-7).astype(np.int64)
    count = comp.counts(rel, out)
    room = _room(comp, count)
    load = comp.loads(rel, out)
    safe_avail = np.where(comp.measured, comp.available, 1.0)
    unassigned = np.zeros(comp.n_pools, dtype=np.int64)
    outflow = comp.pool_outflow(out).astype(np.int64)
    # Heaviest pools first, as longest effort first would: the cases left over after flooring
    # (every case of a pool that the LP split) then pack best.
    short = np.flatnonzero(outflow != inflow)
    for p in short[np.lexsort((short, -comp.pool_cost[short]))]:
        arcs = comp.pool_arcs(int(p))
        gap = int(inflow[p] - outflow[p])
        cost = float(comp.pool_cost[p])
        if gap > 0:
            officers = comp.arc_officer[arcs]
            take = water_fill(
                load[officers], safe_avail[officers], room[officers], cost, gap
            ).take.astype(np.int64)
            out[arcs] += take
            load[officers] += take * cost
            room[officers] -= take
            unassigned[p] = gap - int(take.sum())
        else:
            # More handed out than there is: take back from the most utilized receivers.
            excess = -gap
            while excess > 0:
                with_flow = arcs[out[arcs] > 0]
                util = load[comp.arc_officer[with_flow]] / safe_avail[comp.arc_officer[with_flow]]
                a = with_flow[int(np.argmax(util))]
                k = min(excess, int(out[a]))
                out[a] -= k
                load[comp.arc_officer[a]] -= k * cost
                room[comp.arc_officer[a]] += k
                excess -= k
    state = State(rel, out, unassigned)
    if comp.capped and int(unassigned.sum()) > target:
        state = repair_unassigned(comp, state, target)
    cancel_round_trips(comp, state)
    return state


def repair_unassigned(comp: Component, state: State, target: int) -> State:
    """Re-assign cases left unassigned, along augmenting paths through full officers.

    A case of pool p is given to an eligible officer with room; failing that, an eligible but full
    officer passes one of its cases (received from a pool, or its own, released) to another
    officer, breadth first. Stops when `target` cases remain unassigned (the level-1 optimum,
    which the LP proves) or no pool with unassigned cases has a path left.
    """
    state = state.copy()
    count = comp.counts(state.released, state.flow)
    room = _room(comp, count)
    stuck: set[int] = set()
    while int(state.unassigned.sum()) > target:
        open_pools = [p for p in np.flatnonzero(state.unassigned > 0).tolist() if p not in stuck]
        if not open_pools:
            break
        p0 = open_pools[0]
        # parent[o] = (kind, source, arc): officer o receives one unit along `arc`, taken from
        # the previous officer's arc `source` (kind "arc") or held class `source` (kind "held").
        parent: dict[int, tuple[str, int, int]] = {}
        frontier: list[int] = []
        for a in comp.pool_arcs(p0).tolist():
            o = int(comp.arc_officer[a])
            if o not in parent:
                parent[o] = ("start", -1, a)
                frontier.append(o)
        end = next((o for o in frontier if room[o] >= 1), None)
        while end is None and frontier:
            nxt: list[int] = []
            for o in frontier:
                sources = [
                    ("arc", int(a), int(comp.arc_pool[a]))
                    for a in comp.arcs_of(o).tolist()
                    if state.flow[a] > 0
                ]
                sources += [
                    ("held", int(h), int(comp.held_pool[h]))
                    for h in comp.held_of(o).tolist()
                    if state.released[h] < comp.held_count[h]
                ]
                for kind, src, q in sources:
                    for b in comp.pool_arcs(q).tolist():
                        k = int(comp.arc_officer[b])
                        if k not in parent:
                            parent[k] = (kind, src, b)
                            nxt.append(k)
                            if room[k] >= 1 and end is None:
                                end = k
            frontier = nxt
        if end is None:
            stuck.add(p0)
            continue
        node = end
        room[end] -= 1
        while True:
            kind, src, into_arc = parent[node]
            state.flow[into_arc] += 1
            if kind == "start":
                state.unassigned[p0] -= 1
                break
            if kind == "arc":
                state.flow[src] -= 1
                node = int(comp.arc_officer[src])
            else:
                state.released[src] += 1
                node = int(comp.held_officer[src])
    return state


def local_search(
    comp: Component,
    state: State,
    deadline: float,
    max_moves: int | None = None,
    floor: float = 0.0,
    max_steps: int = 1_000_000,
) -> State:
    """Lower the peak utilization by moving single cases off the most utilized officer.

    A step takes one case from the peak officer — a case it received from a pool, or one of its own
    held cases (released, paying the handoff) — and gives it to the eligible officer that ends
    lowest; it is taken only if both end strictly below the old peak. `max_moves` caps the number
    of released held cases. Stops at a local optimum, at `floor` (a lower bound: nothing to gain
    below it), after `max_steps` steps (the deterministic budget), or at `deadline`
    (time.perf_counter(), the safety net).
    """
    state = state.copy()
    if comp.n_officers == 0 or not comp.measured.any():
        return state
    load = comp.loads(state.released, state.flow)
    count = comp.counts(state.released, state.flow)
    safe_avail = np.where(comp.measured, comp.available, 1.0)
    util = np.where(comp.measured, load / safe_avail, -np.inf)
    room = _room(comp, count)

    moves_left = np.inf if max_moves is None else max_moves - int(state.released.sum())
    steps = 0
    while steps < max_steps:
        steps += 1
        if steps % 64 == 0 and (time.perf_counter() > deadline or interrupt.stop_requested()):
            break
        i = int(np.argmax(util))
        peak = float(util[i])
        if peak <= floor * (1 + 1e-12):
            break
        best: tuple[float, str, int, int] | None = None  # (resulting max, kind, source, arc)
        for a in comp.arcs_of(i).tolist():
            if state.flow[a] <= 0:
                continue
            p = int(comp.arc_pool[a])
            cost = float(comp.pool_cost[p])
            targets = comp.pool_arcs(p)
            best = _best_target(
                comp, util, load, safe_avail, room, targets, i, cost, cost, peak, best, "arc", a
            )
            # Undo a release: the case goes home, where it costs its effort and no handoff.
            for h in comp.held_into(p).tolist():
                if state.released[h] <= 0:
                    continue
                j = int(comp.held_officer[h])
                if j != i and room[j] < 1:
                    continue
                gain = float(comp.held_effort[h])
                after_j = (load[j] + gain) / safe_avail[j] if j != i else -np.inf
                after_i = (load[i] - cost + (gain if j == i else 0.0)) / safe_avail[i]
                result = max(after_i, after_j)
                if result < peak * (1 - 1e-12) and (best is None or result < best[0]):
                    best = (result, "return", h, a)
        if moves_left > 0:
            for h in comp.held_of(i).tolist():
                if state.released[h] >= comp.held_count[h]:
                    continue
                p = int(comp.held_pool[h])
                lose = float(comp.held_effort[h])
                best = _best_target(
                    comp,
                    util,
                    load,
                    safe_avail,
                    room,
                    comp.pool_arcs(p),
                    i,
                    lose,
                    float(comp.pool_cost[p]),
                    peak,
                    best,
                    "held",
                    h,
                )
        if best is None:
            break
        _, kind, src, target = best
        if kind == "return":
            j = int(comp.held_officer[src])
            lose = float(comp.pool_cost[comp.arc_pool[target]])
            gain = float(comp.held_effort[src])
            limit = min(int(state.flow[target]), int(state.released[src]))
        else:
            j = int(comp.arc_officer[target])
            gain = float(comp.pool_cost[comp.arc_pool[target]])
            if kind == "arc":
                lose = gain
                limit = int(state.flow[src])
            else:
                lose = float(comp.held_effort[src])
                limit = int(comp.held_count[src] - state.released[src])
                limit = int(min(limit, moves_left))
        if j != i:
            limit = int(min(limit, room[j]))
        # Move as many cases at once as bring the two officers level (at least one): with
        # thousands of identical cases per class, single steps would take far too long.
        step = _level_count(
            load[i], safe_avail[i], lose, load[j], safe_avail[j], gain, limit, j == i
        )
        if kind == "return":
            state.flow[target] -= step
            state.released[src] -= step
            moves_left += step
        else:
            if kind == "arc":
                state.flow[src] -= step
            else:
                state.released[src] += step
                moves_left -= step
            state.flow[target] += step
        load[i] -= lose * step
        load[j] += gain * step
        room[i] += step
        room[j] -= step
        util[i] = load[i] / safe_avail[i]
        util[j] = load[j] / safe_avail[j]
    cancel_round_trips(comp, state)
    return state


def _level_count(
    load_i: float,
    avail_i: float,
    lose: float,
    load_j: float,
    avail_j: float,
    gain: float,
    limit: int,
    same: bool,
) -> int:
    """How many cases to move from i to j so that i ends no lower than j (at least one)."""
    if same or limit <= 1:
        return max(1, min(limit, 1))
    # (load_i - k·lose)/avail_i >= (load_j + k·gain)/avail_j
    denominator = lose * avail_j + gain * avail_i
    if denominator <= 0:
        return 1
    k = int((load_i * avail_j - load_j * avail_i) / denominator)
    return max(1, min(k, limit))


def _best_target(
    comp: Component,
    util: FloatArray,
    load: FloatArray,
    safe_avail: FloatArray,
    room: FloatArray,
    targets: IntArray,
    source: int,
    lose: float,
    gain: float,
    peak: float,
    best: tuple[float, str, int, int] | None,
    kind: str,
    src: int,
) -> tuple[float, str, int, int] | None:
    officers = comp.arc_officer[targets]
    ok = (officers != source) & (room[officers] >= 1) & comp.measured[officers]
    if not ok.any():
        return best
    after_j = np.where(ok, (load[officers] + gain) / safe_avail[officers], np.inf)
    k = int(np.argmin(after_j))
    after_i = (load[source] - lose) / safe_avail[source]
    result = max(float(after_j[k]), after_i)
    if result < peak * (1 - 1e-12) and (best is None or result < best[0]):
        return (result, kind, src, int(targets[k]))
    return best


def penalty_of(load: FloatArray, available: FloatArray, peak: float) -> FloatArray:
    """Per officer, the balance penalty (hours above each balance level × peak), for measured
    officers (`available` > 0); 0 for the others."""
    levels = np.asarray(BALANCE_LEVELS)
    over = load[None, :] - levels[:, None] * peak * available[None, :]
    return np.where(available > 0, np.clip(over, 0.0, None).sum(axis=0), 0.0)


def rebalance(comp: Component, state: State, max_pools: int, deadline: float) -> State:
    """Even out the load, pool by pool: each pool's cases are taken back from the officers that
    received them and water-filled again over its eligible officers, given everything else.

    A re-fill is kept only when it raises neither the peak nor the balance penalty of the officers
    it touches. Pools go heaviest first, in sweeps, until a sweep changes nothing, `max_pools`
    re-fills were tried (the deterministic budget) or `deadline` passes (the safety net).
    """
    state = state.copy()
    if not comp.measured.any() or comp.n_arcs == 0:
        return state
    load = comp.loads(state.released, state.flow)
    count = comp.counts(state.released, state.flow)
    safe_avail = np.where(comp.measured, comp.available, 1.0)
    avail = np.where(comp.measured, comp.available, 0.0)
    util = np.where(comp.measured, load / safe_avail, 0.0)
    peak = float(util.max())
    order = np.lexsort((np.arange(comp.n_pools), -comp.pool_cost))
    tried = 0
    changed = True
    while changed and tried < max_pools:
        changed = False
        for p in order.tolist():
            if tried >= max_pools:
                break
            if tried % 32 == 0 and (time.perf_counter() > deadline or interrupt.stop_requested()):
                return _finish(comp, state)
            arcs = comp.pool_arcs(p)
            current = state.flow[arcs]
            units = int(current.sum())
            if units == 0 or len(arcs) < 2:
                continue
            tried += 1
            officers = comp.arc_officer[arcs]
            cost = float(comp.pool_cost[p])
            without = load[officers] - current * cost
            room = _room(comp, count)[officers] + current
            take = water_fill(without, safe_avail[officers], room, cost, units).take
            take = take.astype(np.int64)
            if np.array_equal(take, current) or int(take.sum()) != units:
                continue
            after = without + take * cost
            before_pen = penalty_of(load[officers], avail[officers], peak).sum()
            after_pen = penalty_of(after, avail[officers], peak).sum()
            after_peak = float(
                np.max(np.where(comp.measured[officers], after / safe_avail[officers], 0.0))
            )
            if after_peak > peak * (1 + 1e-12) or after_pen >= before_pen - 1e-9:
                continue
            state.flow[arcs] = take
            load[officers] = after
            count[officers] += take - current
            changed = True
    return _finish(comp, state)


def _finish(comp: Component, state: State) -> State:
    cancel_round_trips(comp, state)
    return state
