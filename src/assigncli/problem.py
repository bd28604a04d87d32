"""Build the immutable problem the solvers see: officers, and cases grouped into classes.

Cases that are interchangeable for the solver are grouped, which keeps the model exact while making
its size independent of the number of cases:

* an honoured **locked** case is a constant load on its officer;
* a **held** class is the cases of one officer that the officer may keep (it is eligible for them),
  with the same eligibility group and effort: the solver chooses how many to *release*;
* a **pool** collects cases that go to an officer chosen by the solver: new cases, *orphans* (whose
  officer cannot keep them: left, inactive, away all cycle, lacks the office or a skill) and released
  cases. A pool is keyed by eligibility group, effort and whether the receiving officer pays the
  handoff hours, so every case in it costs the same hours to every eligible officer.

Eligibility groups are (office, required skills) pairs; their eligible officers are precomputed once.
Connected components of the eligibility graph are independent subproblems.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from assigncli.config import Config
from assigncli.contract import available_hours_expr
from assigncli.read import chunked_like, row_positions

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

NO_CAP = -1  # max_cases sentinel: the officer has no case cap


class CaseStatus(IntEnum):
    """What a case is to the solver; the values are the physical codes of the `status` Enum."""

    LOCKED = 0  # an honoured lock: a constant load on its officer
    HELD = 1  # its current officer may keep it; the solver decides whether to release it
    ORPHAN = 2  # its current officer cannot keep it: it must move
    NEW = 3  # no current officer
    UNASSIGNABLE = 4  # no officer is eligible for it


# The `status` column of Problem.cases is an Enum of these labels, in CaseStatus order.
STATUSES = tuple(s.name.lower() for s in CaseStatus)
LOCKED, HELD, ORPHAN, NEW, UNASSIGNABLE = STATUSES
STATUS_DTYPE = pl.Enum(STATUSES)


def status_codes(cases: pl.DataFrame) -> npt.NDArray[np.uint8]:
    """Per case, its CaseStatus code (the physical value of the `status` column)."""
    return cases["status"].cast(STATUS_DTYPE).to_physical().to_numpy()


_STATUS_VALUES = pl.Series("status", STATUSES, dtype=STATUS_DTYPE)


@dataclass(frozen=True)
class Problem:
    """Everything a solver needs, as index arrays. Built once by `build_problem`; never mutated."""

    # Officers (index i).
    officer_ids: tuple[str, ...]
    officer_office: tuple[str, ...]  # offices joined with ';', for reports
    capacity: FloatArray
    available: FloatArray  # hours this cycle; 0 for inactive officers and those away all cycle
    max_cases: IntArray  # NO_CAP when uncapped
    receives: BoolArray  # may receive non-locked cases (active, available > 0, max_cases != 0)
    locked_hours: FloatArray
    locked_count: IntArray
    officer_component: IntArray

    # Eligibility groups (index g): office + required skills, eligible officers in CSR form.
    group_office: tuple[str, ...]
    group_skills: tuple[tuple[str, ...], ...]
    group_ptr: IntArray
    group_officers: IntArray

    # Held classes (index h).
    held_officer: IntArray
    held_pool: IntArray
    held_count: IntArray
    held_effort: FloatArray

    # Pools (index p).
    pool_group: IntArray
    pool_effort: FloatArray
    pool_handoff: BoolArray
    pool_fixed: IntArray  # new and orphan cases in the pool (released cases come on top)

    handoff_hours: float
    n_components: int

    # Per case, in input order: case_id, row (UInt32), status (STATUS_DTYPE), officer (current
    # officer's index, null when none or not on the roster), group, held, pool (Int32, null when
    # not applicable), effort_hours, current_officer_id, locked (honoured lock), reason (why an
    # orphan must move or an unassignable case has nobody; null for every other case).
    cases: pl.DataFrame

    @property
    def n_officers(self) -> int:
        return len(self.officer_ids)

    @property
    def n_pools(self) -> int:
        return len(self.pool_group)

    @property
    def n_held(self) -> int:
        return len(self.held_officer)

    @property
    def pool_cost(self) -> FloatArray:
        """Hours a case of each pool adds to the officer who receives it."""
        return self.pool_effort + np.where(self.pool_handoff, self.handoff_hours, 0.0)

    @property
    def forced_moves(self) -> int:
        """Cases that must move whatever the plan: their officer cannot keep them."""
        return int(self.pool_fixed[self.pool_handoff].sum())

    @property
    def n_unassignable(self) -> int:
        """Cases no officer is eligible for: they never reach the solver."""
        return int((self.cases["status"] == UNASSIGNABLE).sum())

    def eligible(self, group: int) -> IntArray:
        return self.group_officers[self.group_ptr[group] : self.group_ptr[group + 1]]

    def _pool_anchor(self) -> IntArray:
        """One eligible officer per pool (every pool has at least one): its component."""
        return self.group_officers[self.group_ptr[self.pool_group]]

    def components(self) -> list[ComponentIndex]:
        """Index sets of every component that has something to decide (a pool or held class)."""
        pool_comp = self.officer_component[self._pool_anchor()]
        held_comp = self.officer_component[self.held_officer]
        order_o = np.argsort(self.officer_component, kind="stable")
        order_p = np.argsort(pool_comp, kind="stable")
        order_h = np.argsort(held_comp, kind="stable")
        n = self.n_components
        split_o = np.searchsorted(self.officer_component[order_o], np.arange(n + 1))
        split_p = np.searchsorted(pool_comp[order_p], np.arange(n + 1))
        split_h = np.searchsorted(held_comp[order_h], np.arange(n + 1))
        parts = []
        for c in range(n):
            pools = order_p[split_p[c] : split_p[c + 1]]
            held = order_h[split_h[c] : split_h[c + 1]]
            if len(pools) == 0 and len(held) == 0:
                continue
            parts.append(ComponentIndex(order_o[split_o[c] : split_o[c + 1]], pools, held))
        return parts


@dataclass(frozen=True)
class ComponentIndex:
    """Indices (into Problem arrays) of one independent subproblem."""

    officers: IntArray
    pools: IntArray
    held: IntArray


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def _officer_table(roster: pl.DataFrame, config: Config) -> pl.DataFrame:
    return (
        roster.with_row_index("officer")
        .with_columns(
            available_hours_expr(config.cycle_days),
            pl.col("max_cases").fill_null(NO_CAP).alias("cap"),
        )
        .with_columns(
            (pl.col("active") & (pl.col("available_hours") > 0) & (pl.col("cap") != 0)).alias(
                "receives"
            )
        )
    )


def _group_eligibility(
    groups: pl.DataFrame, officers: pl.DataFrame
) -> tuple[list[list[int]], list[str | None]]:
    """Eligible officers of each (office, skills) group, and why a group has none."""
    by_office: dict[str, list[tuple[int, frozenset[str], bool, float, bool, int]]] = {}
    for row in officers.select(
        "officer", "office", "skills", "active", "available_hours", "receives", "cap"
    ).iter_rows():
        idx, offices, skills, active, available, receives, cap = row
        entry = (
            int(idx),
            frozenset(skills),
            bool(active),
            float(available),
            bool(receives),
            int(cap),
        )
        for office in offices:
            by_office.setdefault(office, []).append(entry)

    eligible: list[list[int]] = []
    reasons: list[str | None] = []
    for office, skills in groups.select("office", "required_skills").iter_rows():
        need = frozenset(skills)
        members = by_office.get(office, [])
        chosen = [m[0] for m in members if m[4] and need <= m[1]]
        eligible.append(chosen)
        if chosen:
            reasons.append(None)
            continue
        skill_text = ", ".join(sorted(need))
        active = [m for m in members if m[2]]
        skilled = [m for m in active if need <= m[1]]
        if not members:
            reasons.append(f"no officer on the roster covers office {office}")
        elif not active:
            reasons.append(f"every officer covering office {office} is inactive")
        elif not skilled:
            reasons.append(f"no active officer in office {office} holds skill(s) {skill_text}")
        elif all(m[3] <= 0 for m in skilled):
            reasons.append(
                f"every qualified officer in office {office} is away all cycle"
                + (f" (skills: {skill_text})" if need else "")
            )
        else:
            reasons.append(f"every qualified officer in office {office} has max_cases = 0")
    return eligible, reasons


def build_problem(roster: pl.DataFrame, cases: pl.DataFrame, config: Config) -> Problem:
    """Group validated, effort-annotated cases into solver classes (vectorized; no per-case loop).

    At national scale (millions of cases) the cases are touched only through integer codes: each
    case gets its eligibility group and its current officer's index once (one hash pass on the
    strings each), and every later step is array arithmetic on those codes. Reason texts are
    built for orphan and unassignable cases only.
    """
    officers = _officer_table(roster, config)
    n_off = officers.height
    n = cases.height

    groups, group = _case_groups(cases)
    eligible, group_reason = _group_eligibility(groups, officers)
    group_sizes = np.array([len(e) for e in eligible], dtype=np.int64)
    edge_group = np.repeat(np.arange(len(eligible), dtype=np.int64), group_sizes)
    edge_officer = np.fromiter(
        (o for e in eligible for o in e), dtype=np.int64, count=len(edge_group)
    )

    # Per-case codes. An officer index of -1 (no officer, or not on the roster) reads the
    # sentinel appended to per-officer arrays, so no case needs a branch.
    cur = _officer_index(cases, officers)
    active = np.append(officers["active"].to_numpy().astype(bool), False)
    locked_in = cases["locked"].fill_null(False).to_numpy().astype(bool)
    effort = cases["effort_hours"].cast(pl.Float64).to_numpy()
    has_current = cases["current_officer_id"].is_not_null().to_numpy().astype(bool)

    # Rank, in (officer, group) order, of the eligibility edge from each case's group to its
    # current officer; -1 when that officer is not eligible for the group.
    edge_order = np.lexsort((edge_group, edge_officer))
    cur_edge = _edge_rank(group, cur, edge_group[edge_order], edge_officer[edge_order], n_off)
    status = np.select(
        [
            locked_in & active[cur],
            group_sizes[group] == 0,
            cur_edge >= 0,
            has_current,
        ],
        [CaseStatus.LOCKED, CaseStatus.UNASSIGNABLE, CaseStatus.HELD, CaseStatus.ORPHAN],
        CaseStatus.NEW,
    ).astype(np.uint8)

    # Locked loads, summed by polars group_by: its summation order fixes the hours to the bit,
    # which the plans' reproducibility depends on.
    is_locked = status == CaseStatus.LOCKED
    locked = (
        pl.DataFrame({"cur": cur[is_locked], "hours": effort[is_locked]})
        .group_by("cur")
        .agg(pl.col("hours").sum(), pl.len().alias("count"))
    )
    locked_hours = np.zeros(n_off)
    locked_count = np.zeros(n_off, dtype=np.int64)
    locked_hours[locked["cur"].to_numpy()] = locked["hours"].to_numpy()
    locked_count[locked["cur"].to_numpy()] = locked["count"].to_numpy()

    # Pools: (group, effort, handoff), numbered in that order. Held classes feed the handoff pool
    # of their group and effort. Efforts are ranked among their distinct values so that the key
    # is one integer whose order is the pool order.
    movable = (
        (status == CaseStatus.HELD) | (status == CaseStatus.ORPHAN) | (status == CaseStatus.NEW)
    )
    m_status = status[movable]
    m_effort = pl.Series(effort[movable], dtype=pl.Float64)
    efforts = np.sort(m_effort.unique().to_numpy())
    n_eff = max(len(efforts), 1)
    # In place: each temporary of millions of keys is fresh memory, slow to fault in.
    m_key = group[movable].astype(np.int64)
    m_key *= n_eff
    m_key += _positions(m_effort, efforts)
    m_key *= 2
    m_key += m_status != CaseStatus.NEW
    del m_effort
    pool_keys, m_pool = _dense_rank(m_key)
    del m_key
    n_pools = len(pool_keys)
    pool_fixed = np.bincount(m_pool[m_status != CaseStatus.HELD], minlength=n_pools).astype(
        np.int64
    )
    pool_effort = efforts[(pool_keys // 2) % n_eff] if n_pools else np.zeros(0)
    pool_handoff = (pool_keys % 2).astype(bool)
    pool_group = pool_keys // (2 * n_eff)
    pool = np.full(n, -1, dtype=np.int32)
    pool[movable] = m_pool
    del m_pool, m_status

    # Held classes: (officer, pool), numbered in that order. A held case's pool is a handoff
    # pool of its group, so the key is (its edge in (officer, group) order, the pool's place
    # among its group's handoff pools): a narrow range, ranked by a lookup table.
    is_held = status == CaseStatus.HELD
    handoff_pools = np.flatnonzero(pool_handoff)
    hp_group = pool_group[handoff_pools]
    hp_first = np.searchsorted(hp_group, np.arange(len(eligible) + 1))
    hp_local = np.arange(len(handoff_pools)) - hp_first[hp_group]
    width = int(hp_local.max()) + 1 if len(hp_local) else 1
    local = np.full(n_pools, -1, dtype=np.int64)
    local[handoff_pools] = hp_local
    held_keys, h_index = _dense_rank(
        cur_edge[is_held].astype(np.int64) * width + local[pool[is_held]]
    )
    held = np.full(n, -1, dtype=np.int32)
    held[is_held] = h_index
    held_count = np.bincount(h_index, minlength=len(held_keys)).astype(np.int64)
    held_edge = held_keys // width
    held_officer = edge_officer[edge_order][held_edge]
    held_pool = handoff_pools[hp_first[edge_group[edge_order][held_edge]] + held_keys % width]
    del h_index

    # Components: officers linked through shared eligibility groups.
    uf = _UnionFind(n_off)
    for members in eligible:
        for other in members[1:]:
            uf.union(members[0], other)
    roots = np.array([uf.find(i) for i in range(n_off)], dtype=np.int64)
    _, component = np.unique(roots, return_inverse=True)

    group_ptr = np.concatenate([[0], np.cumsum(group_sizes)]).astype(np.int64)
    reason = _reasons(cases, officers, groups, group_reason, group, cur, status)

    return Problem(
        officer_ids=tuple(officers["officer_id"].to_list()),
        officer_office=tuple(officers["office"].list.join(";").to_list()),
        capacity=officers["capacity_hours"].to_numpy().astype(np.float64),
        available=officers["available_hours"].to_numpy().astype(np.float64),
        max_cases=officers["cap"].to_numpy().astype(np.int64),
        receives=officers["receives"].to_numpy().astype(bool),
        locked_hours=locked_hours.astype(np.float64),
        locked_count=locked_count,
        officer_component=component.astype(np.int64),
        group_office=tuple(groups["office"].to_list()),
        group_skills=tuple(tuple(s) for s in groups["required_skills"].to_list()),
        group_ptr=group_ptr,
        group_officers=edge_officer,
        held_officer=held_officer.astype(np.int64),
        held_pool=held_pool.astype(np.int64),
        held_count=held_count,
        held_effort=pool_effort[held_pool].astype(np.float64),
        pool_group=pool_group.astype(np.int64),
        pool_effort=pool_effort.astype(np.float64),
        pool_handoff=pool_handoff,
        pool_fixed=pool_fixed,
        handoff_hours=config.handoff_hours,
        n_components=int(component.max()) + 1 if n_off else 0,
        cases=pl.DataFrame(
            [
                chunked_like(column, cases["case_id"])
                for column in (
                    cases["case_id"],
                    pl.Series("row", np.arange(n, dtype=np.uint32)),
                    _STATUS_VALUES.gather(pl.Series(status)).alias("status"),
                    _nullable("officer", cur),
                    pl.Series("group", group),
                    _nullable("held", held),
                    _nullable("pool", pool),
                    cases["effort_hours"],
                    cases["current_officer_id"],
                    pl.Series("locked", is_locked),
                    reason,
                )
            ]
        ),
    )


def _case_groups(cases: pl.DataFrame) -> tuple[pl.DataFrame, IntArray]:
    """The eligibility groups (office, sorted distinct skills) in order of first appearance, and
    the group of every case.

    Sorting each case's skill list costs seconds per million cases, yet only a few hundred
    distinct (office, skills) pairs exist: they are normalized once each, and each case finds its
    pair through a 64-bit hash, checked to be collision-free (else through an exact join).
    """
    need = cases.select("office", "required_skills")
    pairs = _distinct_pairs(need)
    normalized = pairs.with_columns(pl.col("required_skills").list.unique().list.sort())
    # A group first appears with the first of its pairs, so this keeps first-appearance order.
    groups = normalized.unique(maintain_order=True)
    pair_group = row_positions(normalized, groups).cast(pl.Int32).to_numpy()
    return groups, pair_group[_pair_of_case(need, pairs)]


def _distinct_pairs(need: pl.DataFrame) -> pl.DataFrame:
    """The distinct (office, required_skills) rows of `need`, in order of first appearance:
    `need.unique(maintain_order=True)`, four times faster on a national docket.

    Most cases need no skill: those rows are told apart by office alone (a hash of strings), and
    only the few others by their lists; the two parts are merged back by first row.
    """
    no_skill = (pl.col("required_skills").list.len() == 0).fill_null(False)
    rows = need.lazy().with_row_index("_first")
    parts = [
        rows.filter(no_skill).unique(subset="office", keep="first", maintain_order=True),
        rows.filter(~no_skill).unique(
            subset=["office", "required_skills"], keep="first", maintain_order=True
        ),
    ]
    return pl.concat(parts).sort("_first").drop("_first").collect()


def _pair_of_case(need: pl.DataFrame, pairs: pl.DataFrame) -> IntArray:
    """Index in `pairs` (the distinct rows of `need`) of every row of `need`."""
    key = pl.struct(pl.all()).hash()
    pair_keys = pairs.select(key).to_series()
    if pair_keys.n_unique() == pairs.height:
        found = _positions(need.select(key).to_series(), pair_keys.to_numpy(), exact=False)
        if (found >= 0).all():
            return found
    return row_positions(need, pairs).cast(pl.Int64).to_numpy()


def _positions(values: pl.Series, keys: npt.NDArray[np.generic], *, exact: bool = True) -> IntArray:
    """Position in the distinct `keys` of every value (a hash lookup); -1 for a value not found
    (only when `exact` is False: otherwise every value must be a key)."""
    positions = values.replace_strict(
        pl.Series(keys, dtype=values.dtype),
        pl.int_range(len(keys), dtype=pl.Int64, eager=True),
        default=None if exact else -1,
        return_dtype=pl.Int64,
    )
    return positions.to_numpy()


# A lookup table over the range of the keys is the fastest way to rank them, up to this many
# cells (4 bytes each); wider ranges use a hash lookup of the distinct keys.
_DENSE_RANK_CELLS = 1 << 25


def _dense_rank(keys: IntArray) -> tuple[IntArray, IntArray]:
    """The sorted distinct `keys`, and the rank of every key among them."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    low, high = int(keys.min()), int(keys.max())
    if high - low < _DENSE_RANK_CELLS:
        present = np.zeros(high - low + 1, dtype=bool)
        present[keys - low] = True
        rank = np.cumsum(present, dtype=np.int32) - 1
        return np.flatnonzero(present).astype(np.int64) + low, rank[keys - low].astype(np.int64)
    distinct = np.sort(pl.Series(keys, dtype=pl.Int64).unique().to_numpy())
    return distinct, _positions(pl.Series(keys, dtype=pl.Int64), distinct)


def _officer_index(cases: pl.DataFrame, officers: pl.DataFrame) -> npt.NDArray[np.int32]:
    """Roster index of each case's current officer; -1 when none or not on the roster."""
    ids = officers["officer_id"]
    current = cases["current_officer_id"]
    if ids.len() and not ids.null_count() and ids.n_unique() == ids.len():
        # An Enum over the roster ids is the fastest lookup: its physical value is the index.
        index = current.cast(pl.Enum(ids), strict=False).to_physical().cast(pl.Int32)
    else:
        table = officers.select(
            pl.col("officer_id").alias("current_officer_id"), pl.col("officer").cast(pl.Int32)
        )
        index = current.to_frame().join(
            table, on="current_officer_id", how="left", maintain_order="left"
        )["officer"]
    return index.fill_null(-1).to_numpy()


# Dense (group × officer) edge tables up to this many cells (4 bytes each); a hash lookup beyond.
_DENSE_EDGE_CELLS = 1 << 25


def _edge_rank(
    group: npt.NDArray[np.signedinteger[Any]],
    officer: npt.NDArray[np.signedinteger[Any]],
    edge_group: IntArray,
    edge_officer: IntArray,
    n_off: int,
) -> npt.NDArray[np.signedinteger[Any]]:
    """Position in the edge list of each (case group, officer) pair; -1 when it is no edge or
    the officer is -1."""
    n_groups = max(
        int(group.max()) + 1 if len(group) else 0,
        int(edge_group.max()) + 1 if len(edge_group) else 0,
    )
    if n_groups * (n_off + 1) <= _DENSE_EDGE_CELLS:
        # One column more than officers, left at -1, is where officer -1 lands.
        table = np.full((n_groups, n_off + 1), -1, dtype=np.int32)
        table[edge_group, edge_officer] = np.arange(len(edge_group), dtype=np.int32)
        ranks: npt.NDArray[np.signedinteger[Any]] = table[group, officer]
        return ranks
    stride = n_off + 1
    edges = pl.Series(edge_group * stride + edge_officer, dtype=pl.Int64)
    keys = pl.Series(group.astype(np.int64) * stride + officer, dtype=pl.Int64)
    rank: IntArray = keys.replace_strict(
        edges, pl.int_range(len(edges), dtype=pl.Int64, eager=True), default=-1
    ).to_numpy()
    return np.where(officer >= 0, rank, -1)


def _nullable(name: str, index: npt.NDArray[np.signedinteger[Any]]) -> pl.Series:
    """An Int32 column holding `index`, null where it is -1."""
    values = pl.Series(name, index.astype(np.int32, copy=False))
    return values.to_frame().select(pl.when(values >= 0).then(values).alias(name)).to_series()


def _reasons(
    cases: pl.DataFrame,
    officers: pl.DataFrame,
    groups: pl.DataFrame,
    group_reason: list[str | None],
    group: npt.NDArray[np.signedinteger[Any]],
    cur: npt.NDArray[np.signedinteger[Any]],
    status: npt.NDArray[np.uint8],
) -> pl.Series:
    """Why each orphan must move and why each unassignable case has nobody; null for the rest.

    Built on the orphan rows only (a few percent of the cases) and handed out by a gather; of the
    orphans whose officer is on the roster, on one row per (officer, group), whose reason they
    share (a national docket's half million orphans have some 25,000 such pairs).
    """
    orphans = np.flatnonzero(status == CaseStatus.ORPHAN)
    orphan_rows, orphan_text = _reason_rows(orphans, cur[orphans], group[orphans])
    attributes = officers.select(
        pl.col("active").alias("cur_active"),
        pl.col("available_hours").alias("cur_available"),
        pl.col("office").alias("cur_offices"),
        pl.col("skills").alias("cur_skills"),
        pl.col("cap").alias("cur_cap"),
    )
    orphan_cur = cur[orphan_rows]
    orphan_group = group[orphan_rows]
    on_roster = pl.Series(orphan_cur >= 0)
    frame = pl.DataFrame(
        [
            cases["current_officer_id"].gather(orphan_rows),
            groups["office"].gather(orphan_group),
            groups["required_skills"].gather(orphan_group),
        ]
    ).with_columns(
        attributes.select(
            pl.when(on_roster).then(pl.all().gather(pl.Series(np.maximum(orphan_cur, 0))))
        )
        if attributes.height
        else attributes.clear(len(orphan_rows))
    )
    who = pl.col("current_officer_id")
    orphan_reason = (
        pl.when(pl.col("cur_active").is_null())
        .then(pl.format("previous officer {} is not on the roster", who))
        .when(~pl.col("cur_active"))
        .then(pl.format("previous officer {} is inactive", who))
        .when(pl.col("cur_available") <= 0)
        .then(pl.format("previous officer {} is away all cycle", who))
        .when(~pl.col("cur_offices").list.contains(pl.col("office")))
        .then(pl.format("previous officer {} does not cover office {}", who, pl.col("office")))
        .when(pl.col("cur_cap") == 0)
        .then(pl.format("previous officer {} has max_cases = 0", who))
        .otherwise(
            pl.format(
                "previous officer {} lacks required skill(s) {}",
                who,
                pl.col("required_skills").list.set_difference(pl.col("cur_skills")).list.join(", "),
            )
        )
    )
    texts = pl.concat(
        [
            frame.select(orphan_reason).to_series().cast(pl.String),
            pl.Series(group_reason, dtype=pl.String),
        ]
    )
    index = np.full(len(status), -1, dtype=np.int64)
    index[orphans] = orphan_text
    unassignable = status == CaseStatus.UNASSIGNABLE
    index[unassignable] = len(orphan_rows) + group[unassignable]
    # Compacted first: a gather from a table of strings built piecewise reads far slower.
    return texts.rechunk().gather(_nullable("reason", index)).alias("reason")


def _reason_rows(
    rows: IntArray,
    cur: npt.NDArray[np.signedinteger[Any]],
    group: npt.NDArray[np.signedinteger[Any]],
) -> tuple[IntArray, IntArray]:
    """The rows whose reason texts are built, and for each of `rows` the position of its text
    among them: one row per (officer, group) for officers on the roster (the reason depends on
    nothing else), every row of the others (it names their officer id)."""
    n_groups = int(group.max()) + 1 if len(group) else 1
    on_roster = cur >= 0
    _, pair = _dense_rank(cur[on_roster].astype(np.int64) * n_groups + group[on_roster])
    n_pairs = int(pair.max()) + 1 if len(pair) else 0
    first = np.zeros(n_pairs, dtype=np.int64)
    first[pair[::-1]] = np.flatnonzero(on_roster)[::-1]  # the first row of each pair
    shown = np.sort(np.concatenate([first, np.flatnonzero(~on_roster)]))
    text = np.empty(len(rows), dtype=np.int64)
    text[shown] = np.arange(len(shown))
    text[on_roster] = text[first[pair]]
    return rows[shown], text


def describe(problem: Problem) -> dict[str, int]:
    """Sizes of the grouped problem, for logs and the manifest."""
    status = problem.cases["status"].value_counts()
    counts = dict(zip(status["status"].to_list(), status["count"].to_list(), strict=True))
    return {
        "cases": problem.cases.height,
        "officers": problem.n_officers,
        "eligibility_groups": len(problem.group_office),
        "held_classes": problem.n_held,
        "pools": problem.n_pools,
        "components": problem.n_components,
        **{f"cases_{k}": int(counts.get(k, 0)) for k in (LOCKED, HELD, ORPHAN, NEW, UNASSIGNABLE)},
    }
