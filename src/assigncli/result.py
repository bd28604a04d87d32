"""What a solve returns: the class-level solution and its certificate, validated at construction.

One source of truth for each number the user reads: the status is derived from the gap (a plan is
`optimal` exactly when its gap is zero at the reported precision), and the count of unassigned
cases includes the cases nobody is eligible for, not only those the solver left over.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum

import numpy as np

from assigncli.problem import IntArray

# Gaps are reported to three decimals of a percent; below this the gap is zero at that precision.
OPTIMAL_GAP = 5e-6


class SolveStatus(StrEnum):
    """How the search ended."""

    OPTIMAL = "optimal"  # the plan's peak equals the proven lower bound
    TIME_LIMIT = "time_limit"  # the time budget ran out before a proof; the best plan is returned
    FEASIBLE = "feasible"  # the search ended on its own without a proof (no budget left to use)


def relative_gap(objective: float, bound: float) -> float:
    """(objective − bound) / bound, zero when the bound is reached, infinite without a bound."""
    if objective <= bound or objective == 0:
        return 0.0
    if bound <= 0:
        return math.inf
    gap = (objective - bound) / bound
    return 0.0 if gap < OPTIMAL_GAP else gap


def status_of(gap: float, *, budget_spent: bool) -> SolveStatus:
    """The status a gap earns: optimal at zero gap, else by whether the budget ran out."""
    if gap == 0.0:
        return SolveStatus.OPTIMAL
    return SolveStatus.TIME_LIMIT if budget_spent else SolveStatus.FEASIBLE


@dataclass(frozen=True)
class Certificate:
    """What the plan reached and what is proven: the reader's reason to trust it."""

    status: SolveStatus
    objective: float  # highest utilization of any officer (real hours)
    lower_bound: float  # proven: no plan can have a lower highest utilization
    bound_argument: str  # which argument gave the lower bound (e.g. "lp", "cp-sat", "max case")
    gap: float  # relative_gap(objective, lower_bound)
    method: str  # the solver paths used, e.g. "exact", "scale", "exact+scale", "none"
    min_utilization: float
    balance_penalty: float  # hours above the balance levels (see solvers.component)
    discretionary_moves: int
    forced_moves: int
    unassigned: int  # every case without an officer: none eligible, all full, or left over
    components: int
    time_seconds: float

    def __post_init__(self) -> None:
        for name in ("objective", "lower_bound", "min_utilization", "balance_penalty"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"certificate {name} must be finite and ≥ 0, got {value}")
        if self.lower_bound > self.objective * (1 + 1e-9) + 1e-12:
            raise ValueError(
                f"lower bound {self.lower_bound} exceeds the objective {self.objective}"
            )
        expected = relative_gap(self.objective, self.lower_bound)
        if not (self.gap == expected or math.isclose(self.gap, expected, rel_tol=1e-12)):
            raise ValueError(f"gap {self.gap} does not match objective and bound ({expected})")
        if (self.status is SolveStatus.OPTIMAL) != (self.gap == 0.0):
            raise ValueError(f"status {self.status} contradicts gap {self.gap}")
        for name in ("discretionary_moves", "forced_moves", "unassigned", "components"):
            if getattr(self, name) < 0:
                raise ValueError(f"certificate {name} must be ≥ 0")

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


@dataclass(frozen=True)
class ComponentReport:
    """One component's solve, for `--verbose` and the manifest."""

    officers: int
    pools: int
    held_classes: int
    arcs: int
    method: str
    status: SolveStatus
    peak: float
    bound: float
    seconds: float
    steps: dict[str, float]  # seconds per step (lp, round, polish, cp-sat, ...), in order

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["status"] = self.status.value
        data["seconds"] = round(self.seconds, 3)
        data["steps"] = {k: round(v, 3) for k, v in self.steps.items()}
        return data


@dataclass(frozen=True)
class FrontierPoint:
    """One plan on the continuity frontier: what a move budget buys.

    Utilizations are fractions of available hours. `peak` is in the *this cycle* frame (own
    effort plus handoff hours of cases moved in); `lowest_steady` and `spread_steady` are in the
    *steady state* frame (own effort only): `spread_steady` is the highest minus the lowest
    steady-state utilization. `max_moves` is the budget the point was solved under (None: no
    budget); `moves` the discretionary moves the plan makes (never above the budget).
    """

    max_moves: int | None
    peak: float
    lowest_steady: float
    spread_steady: float
    moves: int
    handoff_hours: float
    chosen: bool = False  # the plan that was written

    def __post_init__(self) -> None:
        for name in ("peak", "lowest_steady", "spread_steady", "handoff_hours"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"frontier {name} must be finite and ≥ 0, got {value}")
        if self.moves < 0:
            raise ValueError("frontier moves must be ≥ 0")
        if self.max_moves is not None and self.moves > self.max_moves:
            raise ValueError(
                f"frontier point makes {self.moves} moves over its budget {self.max_moves}"
            )

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Solution:
    """Class-level result: how many of each class go where, with the certificate."""

    released: IntArray  # per held class (global index)
    flow_pool: IntArray
    flow_officer: IntArray
    flow_count: IntArray
    unassigned: IntArray  # per pool (global index)
    certificate: Certificate
    components: tuple[ComponentReport, ...] = field(default=())
    # The continuity frontier (move budgets from 0 to none), when it was computed.
    frontier: tuple[FrontierPoint, ...] = field(default=())

    def __post_init__(self) -> None:
        n = len(self.flow_pool)
        if len(self.flow_officer) != n or len(self.flow_count) != n:
            raise ValueError("flow arrays must have one entry per arc")
        for name in ("released", "flow_count", "unassigned"):
            values = getattr(self, name)
            if len(values) and int(np.min(values)) < 0:
                raise ValueError(f"solution {name} must be ≥ 0")
