"""Metrics of a plan, computed one way for every plan: the optimized one and each baseline.

Loads come from the independent checker (`check.check_plan`), so a metric never disagrees with the
certificate or the officer summary about what an officer carries. Definitions:

* **utilization** statistics (highest, 90th percentile, median, lowest, standard deviation, Gini) are
  over officers with available hours (as in the checker); an officer away all cycle has no
  utilization, but the hours they hold still count as overtime;
* **officers over capacity**: load above available hours (away officers holding anything included);
* **overtime hours**: Σ max(0, load − available hours) over officers;
* **moves**: cases whose officer differs from their current officer (the checker's count);
* **unassigned**: cases without an officer (no eligible officer, or every one is at `max_cases`);
* **rule breaks**: cases held by an officer who may not hold them (office, skill, inactive, away
  all cycle, ``max_cases = 0``; one count per rule broken) plus cases beyond `max_cases`. Only the
  status quo can have any: every other plan must pass the checker;
* **transition hours**: the one-time handoff hours the plan's moves cost (``handoff_hours`` per
  moved case), paid in this cycle only;
* **staffing**: per office (a case counts toward its own office, an officer toward their first
  office), the work is the steady-state effort of the office's cases, unassigned ones included:
  one-time handoff hours are not work that recurs, so they are the separate transition hours and
  the staffing need is the same whichever plan holds the cases. Officers needed = ⌈work / mean available hours of the office's active
  officers⌉ (absences and rotations included, so the figure is in roster officers at today's
  availability; an office without active officers uses the agency-wide mean). The staffing gap is
  officers needed minus active officers on the roster, summed over offices.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from assigncli.check import CheckReport, check_plan
from assigncli.config import Config
from assigncli.contract import with_defaults

__all__ = [
    "METRICS",
    "RULE_CODES",
    "MetricSpec",
    "PlanEvaluation",
    "PlanMetrics",
    "evaluate_plan",
    "gini",
    "rule_breaks",
]

_OVER = 1e-9  # relative tolerance: a load equal to capacity up to rounding is not "over"

# Checker codes for a case held by an officer who may not hold it (see check._ROW_CHECKS).
RULE_CODES: tuple[str, ...] = (
    "inactive_officer",
    "unavailable_officer",
    "office_mismatch",
    "skill_mismatch",
    "zero_max_cases",
)


@dataclass(frozen=True)
class PlanMetrics:
    highest_utilization: float | None
    p90_utilization: float | None
    median_utilization: float | None
    lowest_utilization: float | None
    utilization_std: float | None
    utilization_gini: float | None
    officers_over_capacity: int
    overtime_hours: float
    moves: int
    transition_hours: float
    unassigned: int
    rule_breaks: int
    officers_needed: int | None
    officers_on_roster: int
    staffing_gap: int | None

    def to_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


Better = Literal["lower", "higher"]
Kind = Literal["pct", "ratio", "count", "hours"]


@dataclass(frozen=True)
class MetricSpec:
    """How a metric is shown: label, which direction is better (None: neither) and its kind."""

    key: str
    label: str
    better: Better | None
    kind: Kind
    help: str

    def format(self, value: float | None, *, unit: bool = True, compact: bool = False) -> str:
        """The value for people: percent, ratio, count, or hours (with " h" when `unit`);
        `compact` writes counts and hours from 100,000 up as 901k or 2.02M (narrow terminals)."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "–"
        if compact and self.kind in ("count", "hours") and abs(value) >= 100_000:
            text = f"{value / 1e6:.3g}M" if abs(value) >= 1e6 else f"{value / 1e3:.0f}k"
            return text + (" h" if unit and self.kind == "hours" else "")
        if self.kind == "pct":
            return f"{value:.0%}"
        if self.kind == "ratio":
            return f"{value:.3f}"
        if self.kind == "hours":
            return f"{value:,.0f} h" if unit else f"{value:,.0f}"
        return f"{int(value):,}"


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "highest_utilization",
        "highest utilization",
        "lower",
        "pct",
        "the busiest officer's load over their available hours",
    ),
    MetricSpec(
        "p90_utilization", "90th percentile", "lower", "pct", "nine officers in ten are at or below"
    ),
    MetricSpec("median_utilization", "median", None, "pct", "the middle officer"),
    MetricSpec(
        "lowest_utilization", "lowest utilization", "higher", "pct", "the least busy officer"
    ),
    MetricSpec(
        "utilization_std",
        "std of utilization",
        "lower",
        "pct",
        "spread of utilization across officers",
    ),
    MetricSpec(
        "utilization_gini",
        "Gini of utilization",
        "lower",
        "ratio",
        "0: perfectly even, 1: one does all",
    ),
    MetricSpec(
        "officers_over_capacity",
        "officers over 100%",
        "lower",
        "count",
        "officers whose load exceeds their available hours",
    ),
    MetricSpec(
        "overtime_hours",
        "overtime hours",
        "lower",
        "hours",
        "hours of load above available capacity, summed over officers",
    ),
    MetricSpec(
        "moves", "moves", "lower", "count", "cases that change officer (each costs handoff hours)"
    ),
    MetricSpec(
        "transition_hours",
        "one-time transition hours",
        "lower",
        "hours",
        "handoff hours the plan's moves cost once, this cycle (not part of staffing need)",
    ),
    MetricSpec("unassigned", "unassigned cases", "lower", "count", "cases nobody may take"),
    MetricSpec(
        "rule_breaks",
        "rule breaks",
        "lower",
        "count",
        "cases held against office, skill, availability or case-cap rules",
    ),
    MetricSpec(
        "officers_needed",
        "officers needed at 100%",
        "lower",
        "count",
        "per office: steady-state effort / mean available hours per officer, rounded up "
        "(one-time handoff hours excluded)",
    ),
    MetricSpec(
        "officers_on_roster", "officers on roster", None, "count", "active officers on the roster"
    ),
    MetricSpec(
        "staffing_gap",
        "staffing gap",
        "lower",
        "count",
        "officers needed minus officers on roster",
    ),
)


@dataclass(frozen=True, eq=False)
class PlanEvaluation:
    """A plan's metrics with the tables behind them.

    ``officers``: officer_id, office (first office), available_hours, cases, load, utilization.
    ``offices``: office, cases, work_hours (steady-state effort), transition_hours (one-time
    handoffs), officers, available_hours, mean_available_hours, officers_needed, staffing_gap,
    utilization (work / available hours).
    """

    metrics: PlanMetrics
    check: CheckReport
    officers: pl.DataFrame
    offices: pl.DataFrame
    breaks: dict[str, int]  # rule breaks by checker code, plus "over_max_cases"


def gini(values: npt.ArrayLike) -> float:
    """Gini coefficient of non-negative values (0: all equal); 0 for no values or all zero."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = len(x)
    total = float(x.sum())
    if n == 0 or total <= 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float((2.0 * (ranks * x).sum()) / (n * total) - (n + 1) / n)


def rule_breaks(report: CheckReport) -> dict[str, int]:
    """Cases per eligibility rule broken, as the checker counted them."""
    return {code: n for code, n in report.violation_counts.items() if code in RULE_CODES}


def evaluate_plan(
    roster: pl.DataFrame,
    cases: pl.DataFrame,
    plan: pl.DataFrame,
    config: Config,
    *,
    check: CheckReport | None = None,
) -> PlanEvaluation:
    """Every metric of one plan (contract.PLAN_COLUMNS) over validated, effort-annotated inputs.

    ``check`` is the checker's report on this very plan, if already computed.
    """
    report = check if check is not None else check_plan(roster, cases, plan, config)
    officers = _officer_table(roster, report)
    offices = _office_table(officers, cases, plan, config)
    breaks = rule_breaks(report)
    over_cap = _over_max_cases(roster, plan, officers)
    if over_cap:
        breaks["over_max_cases"] = over_cap

    measured = officers.filter(pl.col("available_hours") > 0)["utilization"].drop_nulls()
    util = measured.to_numpy().astype(np.float64)
    over = officers.filter(pl.col("load") > pl.col("available_hours") * (1 + _OVER) + _OVER).height
    overtime = float(
        officers.select(
            (pl.col("load") - pl.col("available_hours")).clip(lower_bound=0).sum()
        ).item()
    )
    needed_values = offices["officers_needed"]
    needed = None if needed_values.null_count() else int(needed_values.sum())
    on_roster = int(offices["officers"].sum())
    metrics = PlanMetrics(
        highest_utilization=float(util.max()) if util.size else None,
        p90_utilization=float(np.quantile(util, 0.9)) if util.size else None,
        median_utilization=float(np.median(util)) if util.size else None,
        lowest_utilization=float(util.min()) if util.size else None,
        utilization_std=float(util.std()) if util.size else None,
        utilization_gini=gini(util) if util.size else None,
        officers_over_capacity=over,
        overtime_hours=overtime,
        moves=report.moves,
        transition_hours=float(offices["transition_hours"].sum()),
        unassigned=report.unassigned,
        rule_breaks=sum(breaks.values()),
        officers_needed=needed,
        officers_on_roster=on_roster,
        staffing_gap=None if needed is None else needed - on_roster,
    )
    return PlanEvaluation(metrics, report, officers, offices, breaks)


def _officer_table(roster: pl.DataFrame, report: CheckReport) -> pl.DataFrame:
    """Checker loads beside each officer's first office and active flag (roster order)."""
    info = roster.select(
        "officer_id",
        pl.col("office").list.first().alias("office"),
        *with_defaults(roster, "roster", ("active",)),
    )
    loads = report.officers.select("officer_id", "available_hours", "cases", "load", "utilization")
    return info.join(loads, on="officer_id", how="left", maintain_order="left")


def _moved(cases: pl.DataFrame, plan: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
    """Cases (office, effort) beside whether the plan moves each one, recomputed from the inputs."""
    base = cases.select(
        "case_id",
        "office",
        "effort_hours",
        *with_defaults(cases, "cases", ("current_officer_id",)),
    )
    aligned = plan.height == base.height and bool((plan["case_id"] == base["case_id"]).all())
    if aligned:
        officer = plan["officer_id"]
    else:
        officer = base.join(
            plan.select("case_id", "officer_id"), on="case_id", how="left", maintain_order="left"
        )["officer_id"]
    moved = (
        base.select(
            (
                officer.is_not_null()
                & pl.col("current_officer_id").is_not_null()
                & (officer != pl.col("current_officer_id"))
            ).fill_null(False)
        )
        .to_series()
        .alias("moved")
    )
    return base, moved


def _office_table(
    officers: pl.DataFrame, cases: pl.DataFrame, plan: pl.DataFrame, config: Config
) -> pl.DataFrame:
    base, moved = _moved(cases, plan)
    work = (
        base.with_columns(moved)
        .group_by("office")
        .agg(
            pl.len().cast(pl.Int64).alias("cases"),
            pl.col("effort_hours").sum().alias("work_hours"),
            (config.handoff_hours * pl.col("moved").sum()).alias("transition_hours"),
        )
    )
    staff = (
        officers.filter(pl.col("active"))
        .group_by("office")
        .agg(
            pl.len().cast(pl.Int64).alias("officers"),
            pl.col("available_hours").sum().alias("available_hours"),
        )
    )
    active = officers.filter(pl.col("active"))
    overall = float(active["available_hours"].mean()) if active.height else 0.0  # type: ignore[arg-type]
    table = (
        work.join(staff, on="office", how="full", coalesce=True)
        .with_columns(
            pl.col("cases", "officers").fill_null(0),
            pl.col("work_hours", "transition_hours", "available_hours").fill_null(0.0),
        )
        .with_columns(
            pl.when(pl.col("officers") > 0)
            .then(pl.col("available_hours") / pl.col("officers"))
            .alias("mean_available_hours")
        )
        .with_columns(
            pl.when(pl.col("mean_available_hours") > 0)
            .then(pl.col("mean_available_hours"))
            .otherwise(pl.lit(overall if overall > 0 else None, dtype=pl.Float64))
            .alias("_per_officer")
        )
        .with_columns(
            (pl.col("work_hours") / pl.col("_per_officer") - 1e-9)
            .ceil()
            .clip(lower_bound=0)
            .cast(pl.Int64)
            .alias("officers_needed")
        )
        .with_columns(
            (pl.col("officers_needed") - pl.col("officers")).alias("staffing_gap"),
            pl.when(pl.col("available_hours") > 0)
            .then(pl.col("work_hours") / pl.col("available_hours"))
            .alias("utilization"),
        )
        .drop("_per_officer")
        .sort("office")
    )
    return table


def _over_max_cases(roster: pl.DataFrame, plan: pl.DataFrame, officers: pl.DataFrame) -> int:
    """Cases held beyond max_cases, where honoured locks kept on their officer may exceed it."""
    if "max_cases" not in roster.columns:
        return 0
    locks = (
        plan.filter(pl.col("locked") & (pl.col("officer_id") == pl.col("previous_officer_id")))
        .group_by("officer_id")
        .agg(pl.len().cast(pl.Int64).alias("locks"))
    )
    excess = (
        roster.select("officer_id", "max_cases")
        .filter(pl.col("max_cases").is_not_null())
        .join(officers.select("officer_id", "cases"), on="officer_id", how="left")
        .join(locks, on="officer_id", how="left")
        .select(
            (
                pl.col("cases").fill_null(0)
                - pl.max_horizontal("max_cases", pl.col("locks").fill_null(0))
            )
            .clip(lower_bound=0)
            .sum()
        )
        .item()
    )
    return int(excess or 0)
