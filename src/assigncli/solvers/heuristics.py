"""Class-level heuristics: a greedy construction, LP rounding and a local search that lowers the peak.

All of them work on whole classes with counts, so their cost depends on the number of classes and
officers, never on the number of cases.
"""

from __future__ import annotations

import time

import numpy as np

from assigncli import interrupt
from assigncli.problem import NO_CAP, FloatArray, IntArray
from assigncli.solvers.component import Component, State, cancel_round_trips

_EPS = 1e-9


def _room(comp: Component, count: FloatArray) -> FloatArray:
    room = np.where(comp.cap == NO_CAP, np.inf, comp.cap - count)
    return np.maximum(room, 0.0)


def water_fill(
    load: FloatArray,
    available: FloatArray,
    room: FloatArray,
    cost: float,
    units: int,
) -> IntArray:
    """Give `units` cases of `cost` hours one at a time to whoever ends lowest — in one batch.

    Equivalent to repeatedly choosing the officer whose utilization after taking the case is lowest
    (ties to the lower index); done by a bisection on the common utilization level instead of a
    loop per case. Returns the number of cases each officer takes (may sum to less than `units`
    when rooms run out).
    """
    n = len(load)
    take = np.zeros(n, dtype=np.int64)
    if units <= 0 or n == 0:
        return take
    finite_room = np.where(np.isinf(room), units, room).astype(np.int64)
    finite_room = np.minimum(finite_room, units)
    if finite_room.sum() <= units:
        return finite_room
    if cost <= 0:
        # Free cases: utilization does not change; spread evenly in index order.
        order = np.argsort(-finite_room, kind="stable")
        left = units
        for i in order:
            k = min(int(finite_room[i]), left)
            take[i] = k
            left -= k
            if left == 0:
                break
        return take

    if units < n:
        # Rounding residues are a few cases over many officers: when nobody's second case ends
        # below the units-th lowest first case, the answer is those lowest first cases, found by
        # one partition instead of a bisection.
        first = np.where(finite_room > 0, (load + cost) / available, np.inf)
        kth = float(np.partition(first, units - 1)[units - 1])
        if np.isfinite(kth):
            first_k = np.clip(np.floor((kth * available - load) / cost + _EPS), 0, finite_room)
            if int(first_k.sum()) == units:
                return first_k.astype(np.int64)

    def taken(level: float) -> IntArray:
        k = np.floor((level * available - load) / cost + _EPS)
        return np.clip(k, 0, finite_room).astype(np.int64)

    lo = float(np.min(load / available)) - 1.0
    hi = float(np.max((load + finite_room * cost) / available)) + 1.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if taken(mid).sum() >= units:
            hi = mid
        else:
            lo = mid
        if hi - lo < 1e-12 * max(1.0, abs(hi)):
            break
    take = taken(lo)
    short = units - int(take.sum())
    if short > 0:
        # Hand the remaining cases to those whose next case ends lowest.
        nxt = np.where(take < finite_room, (load + (take + 1) * cost) / available, np.inf)
        order = np.lexsort((np.arange(n), nxt))[:short]
        take[order] += 1
    return take


def greedy(comp: Component) -> State:
    """Keep what can stay, then hand out pools heaviest first to the least-utilized officer.

    Officers over their case cap release their lightest held cases first. Overloaded officers do
    not shed cases here; the local search does that.
    """
    released = np.zeros(comp.n_held, dtype=np.int64)
    flow = np.zeros(comp.n_arcs, dtype=np.int64)
    unassigned = np.zeros(comp.n_pools, dtype=np.int64)

    count = comp.counts(released, flow)
    over = np.where(comp.cap == NO_CAP, 0, np.maximum(count - comp.cap, 0)).astype(np.int64)
    if over.any():
        for h in np.argsort(comp.held_effort, kind="stable"):
            o = comp.held_officer[h]
            if over[o] > 0:
                k = min(int(over[o]), int(comp.held_count[h]))
                released[h] += k
                over[o] -= k

    load = comp.loads(released, flow)
    count = comp.counts(released, flow)
    inflow = comp.pool_inflow(released).astype(np.int64)
    safe_avail = np.where(comp.measured, comp.available, 1.0)
    for p in np.argsort(-comp.pool_cost, kind="stable"):
        arcs = np.arange(comp.arc_ptr[p], comp.arc_ptr[p + 1])
        officers = comp.arc_officer[arcs]
        cost = float(comp.pool_cost[p])
        take = water_fill(
            load[officers], safe_avail[officers], _room(comp, count)[officers], cost, int(inflow[p])
        )
        flow[arcs] += take
        load[officers] += take * cost
        count[officers] += take
        unassigned[p] = int(inflow[p] - take.sum())
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
    for p in np.flatnonzero(outflow != inflow):
        arcs = np.arange(comp.arc_ptr[p], comp.arc_ptr[p + 1])
        gap = int(inflow[p] - outflow[p])
        cost = float(comp.pool_cost[p])
        if gap > 0:
            officers = comp.arc_officer[arcs]
            take = water_fill(load[officers], safe_avail[officers], room[officers], cost, gap)
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
    """Re-assign cases left over by rounding, along augmenting paths through full officers.

    A case of pool p is given to an eligible officer with room; failing that, an eligible but full
    officer passes one of its cases (received from a pool, or its own, released) to another
    officer, breadth first. Stops when `target` cases remain unassigned (the level-1 optimum,
    which the LP proves) or no path exists.
    """
    state = state.copy()
    count = comp.counts(state.released, state.flow)
    room = _room(comp, count)
    arcs_of_officer: list[list[int]] = [[] for _ in range(comp.n_officers)]
    for a, o in enumerate(comp.arc_officer.tolist()):
        arcs_of_officer[o].append(a)
    held_of_officer: list[list[int]] = [[] for _ in range(comp.n_officers)]
    for h, o in enumerate(comp.held_officer.tolist()):
        held_of_officer[o].append(h)
    while int(state.unassigned.sum()) > target:
        p0 = int(np.flatnonzero(state.unassigned > 0)[0])
        # parent[o] = (kind, source, arc): officer o receives one unit along `arc`, taken from
        # the previous officer's arc `source` (kind "arc") or held class `source` (kind "held").
        parent: dict[int, tuple[str, int, int]] = {}
        frontier: list[int] = []
        for a in range(comp.arc_ptr[p0], comp.arc_ptr[p0 + 1]):
            o = int(comp.arc_officer[a])
            if o not in parent:
                parent[o] = ("start", -1, a)
                frontier.append(o)
        end = next((o for o in frontier if room[o] >= 1), None)
        while end is None and frontier:
            nxt: list[int] = []
            for o in frontier:
                sources = [
                    ("arc", a, int(comp.arc_pool[a]))
                    for a in arcs_of_officer[o]
                    if state.flow[a] > 0
                ]
                sources += [
                    ("held", h, int(comp.held_pool[h]))
                    for h in held_of_officer[o]
                    if state.released[h] < comp.held_count[h]
                ]
                for kind, src, q in sources:
                    for b in range(comp.arc_ptr[q], comp.arc_ptr[q + 1]):
                        k = int(comp.arc_officer[b])
                        if k not in parent:
                            parent[k] = (kind, src, b)
                            nxt.append(k)
                            if room[k] >= 1 and end is None:
                                end = k
            frontier = nxt
        if end is None:
            break
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
) -> State:
    """Lower the peak utilization by moving single cases off the most utilized officer.

    A step takes one case from the peak officer — a case it received from a pool, or one of its own
    held cases (released, paying the handoff) — and gives it to the eligible officer that ends
    lowest; it is taken only if both end strictly below the old peak. `max_moves` caps the number
    of released held cases. Stops at a local optimum, at `floor` (a lower bound: nothing to gain
    below it), or at `deadline` (time.perf_counter()).
    """
    state = state.copy()
    if comp.n_officers == 0 or not comp.measured.any():
        return state
    load = comp.loads(state.released, state.flow)
    count = comp.counts(state.released, state.flow)
    safe_avail = np.where(comp.measured, comp.available, 1.0)
    util = np.where(comp.measured, load / safe_avail, -np.inf)
    room = _room(comp, count)

    arcs_of_officer: list[list[int]] = [[] for _ in range(comp.n_officers)]
    for a, o in enumerate(comp.arc_officer.tolist()):
        arcs_of_officer[o].append(a)
    held_of_officer: list[list[int]] = [[] for _ in range(comp.n_officers)]
    for h, o in enumerate(comp.held_officer.tolist()):
        held_of_officer[o].append(h)
    held_of_pool: list[list[int]] = [[] for _ in range(comp.n_pools)]
    for h, p in enumerate(comp.held_pool.tolist()):
        held_of_pool[p].append(h)

    moves_left = np.inf if max_moves is None else max_moves - int(state.released.sum())
    steps = 0
    while True:
        steps += 1
        if steps % 64 == 0 and (time.perf_counter() > deadline or interrupt.stop_requested()):
            break
        i = int(np.argmax(util))
        peak = float(util[i])
        if peak <= floor * (1 + 1e-12):
            break
        best: tuple[float, str, int, int] | None = None  # (resulting max, kind, source, arc)
        for a in arcs_of_officer[i]:
            if state.flow[a] <= 0:
                continue
            p = int(comp.arc_pool[a])
            cost = float(comp.pool_cost[p])
            targets = np.arange(comp.arc_ptr[p], comp.arc_ptr[p + 1])
            best = _best_target(
                comp, util, load, safe_avail, room, targets, i, cost, cost, peak, best, "arc", a
            )
            # Undo a release: the case goes home, where it costs its effort and no handoff.
            for h in held_of_pool[p]:
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
            for h in held_of_officer[i]:
                if state.released[h] >= comp.held_count[h]:
                    continue
                p = int(comp.held_pool[h])
                targets = np.arange(comp.arc_ptr[p], comp.arc_ptr[p + 1])
                lose = float(comp.held_effort[h])
                best = _best_target(
                    comp,
                    util,
                    load,
                    safe_avail,
                    room,
                    targets,
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
