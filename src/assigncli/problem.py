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

import numpy as np
import numpy.typing as npt
import polars as pl

from assigncli.config import Config
from assigncli.contract import available_hours_expr

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

NO_CAP = -1  # max_cases sentinel: the officer has no case cap

# Case status values (the `status` column of Problem.cases).
LOCKED = "locked"
HELD = "held"
ORPHAN = "orphan"
NEW = "new"
UNASSIGNABLE = "unassignable"


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

    # Per case: case_id, row, status, officer (current, index or null), group, held, pool,
    # effort_hours, current_officer_id, locked (honoured lock), reason (orphan/unassignable reason).
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
    """Group validated, effort-annotated cases into solver classes (vectorized; no per-case loop)."""
    officers = _officer_table(roster, config)
    n_off = officers.height
    id_to_idx = officers.select(
        pl.col("officer_id").alias("current_officer_id"),
        pl.col("officer").cast(pl.Int64).alias("cur"),
        pl.col("active").alias("cur_active"),
        pl.col("available_hours").alias("cur_available"),
        pl.col("office").alias("cur_offices"),
        pl.col("skills").alias("cur_skills"),
        pl.col("cap").alias("cur_cap"),
    )

    base = cases.select(
        "case_id",
        "office",
        "current_officer_id",
        "locked",
        pl.col("required_skills").list.unique().list.sort(),
        "effort_hours",
    ).with_row_index("row")

    groups = base.select("office", "required_skills").unique(maintain_order=True)
    groups = groups.with_row_index("group")
    eligible, group_reason = _group_eligibility(groups, officers)

    frame = (
        base.join(groups, on=["office", "required_skills"], how="left")
        .join(id_to_idx, on="current_officer_id", how="left")
        .with_columns(pl.col("group").cast(pl.Int64))
    )

    # Is the current officer eligible for the case's group? Join on the (group, officer) edge list.
    edge_group = np.repeat(np.arange(len(eligible), dtype=np.int64), [len(e) for e in eligible])
    edge_officer = np.fromiter(
        (o for e in eligible for o in e), dtype=np.int64, count=len(edge_group)
    )
    edges = pl.DataFrame(
        {"group": edge_group, "cur": edge_officer, "cur_eligible": np.ones(len(edge_group), bool)}
    )
    frame = frame.join(edges, on=["group", "cur"], how="left").with_columns(
        pl.col("cur_eligible").fill_null(False)
    )
    has_eligible = pl.DataFrame(
        {
            "group": np.arange(len(eligible), dtype=np.int64),
            "group_ok": np.array([bool(e) for e in eligible], dtype=bool),
            "group_reason": pl.Series(group_reason, dtype=pl.String),
        }
    )
    frame = frame.join(has_eligible, on="group", how="left")

    honoured = pl.col("locked") & pl.col("cur").is_not_null() & pl.col("cur_active")
    status = (
        pl.when(honoured)
        .then(pl.lit(LOCKED))
        .when(~pl.col("group_ok"))
        .then(pl.lit(UNASSIGNABLE))
        .when(pl.col("cur_eligible"))
        .then(pl.lit(HELD))
        .when(pl.col("current_officer_id").is_not_null())
        .then(pl.lit(ORPHAN))
        .otherwise(pl.lit(NEW))
    )
    cur = pl.col("current_officer_id")
    orphan_reason = (
        pl.when(pl.col("cur").is_null())
        .then(pl.format("previous officer {} is not on the roster", cur))
        .when(~pl.col("cur_active"))
        .then(pl.format("previous officer {} is inactive", cur))
        .when(pl.col("cur_available") <= 0)
        .then(pl.format("previous officer {} is away all cycle", cur))
        .when(~pl.col("cur_offices").list.contains(pl.col("office")))
        .then(pl.format("previous officer {} does not cover office {}", cur, pl.col("office")))
        .when(pl.col("cur_cap") == 0)
        .then(pl.format("previous officer {} has max_cases = 0", cur))
        .otherwise(
            pl.format(
                "previous officer {} lacks required skill(s) {}",
                cur,
                pl.col("required_skills").list.set_difference(pl.col("cur_skills")).list.join(", "),
            )
        )
    )
    frame = frame.with_columns(status.alias("status")).with_columns(
        pl.when(pl.col("status") == UNASSIGNABLE)
        .then(pl.col("group_reason"))
        .when(pl.col("status") == ORPHAN)
        .then(orphan_reason)
        .otherwise(None)
        .alias("reason"),
        (pl.col("status") == LOCKED).alias("locked"),
    )

    # Locked loads.
    locked = (
        frame.filter(pl.col("status") == LOCKED)
        .group_by("cur")
        .agg(pl.col("effort_hours").sum().alias("hours"), pl.len().alias("count"))
    )
    locked_hours = np.zeros(n_off)
    locked_count = np.zeros(n_off, dtype=np.int64)
    if locked.height:
        idx = locked["cur"].to_numpy()
        locked_hours[idx] = locked["hours"].to_numpy()
        locked_count[idx] = locked["count"].to_numpy()

    # Pools: (group, effort, handoff). Held classes feed the handoff pool of their group and effort.
    movable = frame.filter(pl.col("status").is_in([HELD, ORPHAN, NEW]))
    pool_keys = (
        movable.select(
            "group",
            "effort_hours",
            (pl.col("status") != NEW).alias("handoff"),
            (pl.col("status") != HELD).cast(pl.Int64).alias("fixed"),
        )
        .group_by("group", "effort_hours", "handoff")
        .agg(pl.col("fixed").sum())
        .sort("group", "effort_hours", "handoff")
        .with_row_index("pool")
        .with_columns(pl.col("pool").cast(pl.Int64))
    )
    frame = frame.join(
        pool_keys.select("group", "effort_hours", "handoff", "pool"),
        left_on=["group", "effort_hours", (pl.col("status") != NEW)],
        right_on=["group", "effort_hours", "handoff"],
        how="left",
    ).with_columns(
        pl.when(pl.col("status").is_in([HELD, ORPHAN, NEW])).then(pl.col("pool")).alias("pool")
    )

    held_keys = (
        frame.filter(pl.col("status") == HELD)
        .group_by("cur", "pool")
        .agg(pl.len().alias("count"), pl.col("effort_hours").first())
        .sort("cur", "pool")
        .with_row_index("held")
        .with_columns(pl.col("held").cast(pl.Int64))
    )
    frame = frame.join(held_keys.select("cur", "pool", "held"), on=["cur", "pool"], how="left")
    frame = frame.with_columns(
        pl.when(pl.col("status") == HELD).then(pl.col("held")).alias("held")
    ).sort("row")

    # Components: officers linked through shared eligibility groups.
    uf = _UnionFind(n_off)
    for members in eligible:
        for other in members[1:]:
            uf.union(members[0], other)
    roots = np.array([uf.find(i) for i in range(n_off)], dtype=np.int64)
    _, component = np.unique(roots, return_inverse=True)

    group_sizes = np.array([len(e) for e in eligible], dtype=np.int64)
    group_ptr = np.concatenate([[0], np.cumsum(group_sizes)]).astype(np.int64)

    return Problem(
        officer_ids=tuple(officers["officer_id"].to_list()),
        officer_office=tuple(officers["office"].list.join(";").to_list()),
        capacity=officers["capacity_hours"].to_numpy().astype(np.float64),
        available=officers["available_hours"].to_numpy().astype(np.float64),
        max_cases=officers["cap"].to_numpy().astype(np.int64),
        receives=officers["receives"].to_numpy().astype(bool),
        locked_hours=locked_hours,
        locked_count=locked_count,
        officer_component=component.astype(np.int64),
        group_office=tuple(groups["office"].to_list()),
        group_skills=tuple(tuple(s) for s in groups["required_skills"].to_list()),
        group_ptr=group_ptr,
        group_officers=edge_officer,
        held_officer=held_keys["cur"].to_numpy().astype(np.int64),
        held_pool=held_keys["pool"].to_numpy().astype(np.int64),
        held_count=held_keys["count"].to_numpy().astype(np.int64),
        held_effort=held_keys["effort_hours"].to_numpy().astype(np.float64),
        pool_group=pool_keys["group"].to_numpy().astype(np.int64),
        pool_effort=pool_keys["effort_hours"].to_numpy().astype(np.float64),
        pool_handoff=pool_keys["handoff"].to_numpy().astype(bool),
        pool_fixed=pool_keys["fixed"].to_numpy().astype(np.int64),
        handoff_hours=config.handoff_hours,
        n_components=int(component.max()) + 1 if n_off else 0,
        cases=frame.select(
            "case_id",
            "row",
            "status",
            pl.col("cur").alias("officer"),
            "group",
            "held",
            "pool",
            "effort_hours",
            "current_officer_id",
            "locked",
            "reason",
        ),
    )


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
