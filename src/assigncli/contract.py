"""The data contract: column names, dtypes and defaults of the roster and case tables.

After validation every table has exactly these dtypes, whatever file format it came from, so that
later steps never re-check types.
"""

from __future__ import annotations

import polars as pl

LIST_SEPARATOR = ";"  # list columns in CSV/Excel: "lang:es;gps_monitoring"

ROSTER_REQUIRED: dict[str, pl.DataType] = {
    "officer_id": pl.String(),
    "office": pl.List(pl.String()),
    "capacity_hours": pl.Float64(),
}
ROSTER_OPTIONAL: dict[str, pl.DataType] = {
    "skills": pl.List(pl.String()),
    "unavailable_days": pl.Float64(),
    "max_cases": pl.Int64(),
    "active": pl.Boolean(),
}
CASES_REQUIRED: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "office": pl.String(),
}
CASES_OPTIONAL: dict[str, pl.DataType] = {
    "current_officer_id": pl.String(),
    "locked": pl.Boolean(),
    "required_skills": pl.List(pl.String()),
    "effort_hours": pl.Float64(),
}

# Columns the library adds to the case table after effort estimation.
EFFORT_COLUMNS: dict[str, pl.DataType] = {
    "effort_hours": pl.Float64(),  # final hours per cycle used by the solver
    "effort_source": pl.String(),  # "explicit" | "rule" | "default"
    "effort_base": pl.String(),  # label of the base rule that matched (null: default/explicit)
    "effort_adjustments": pl.List(pl.String()),  # labels of adjustments applied, in order
    "required_skills": pl.List(pl.String()),  # explicit ∪ skill-rule requirements, sorted, unique
}

PLAN_COLUMNS: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "officer_id": pl.String(),  # null: unassignable (see reason)
    "previous_officer_id": pl.String(),
    "moved": pl.Boolean(),
    "effort_hours": pl.Float64(),
    "locked": pl.Boolean(),
    "reason": pl.String(),
}

OFFICER_SUMMARY_COLUMNS: dict[str, pl.DataType] = {
    "officer_id": pl.String(),
    "office": pl.String(),  # offices joined with ';'
    "capacity_hours": pl.Float64(),
    "available_hours": pl.Float64(),
    "cases_before": pl.Int64(),
    "cases_after": pl.Int64(),
    "load_before": pl.Float64(),
    "load_after": pl.Float64(),
    "utilization_before": pl.Float64(),  # null when available_hours == 0
    "utilization_after": pl.Float64(),
}


def available_hours_expr(cycle_days: float) -> pl.Expr:
    """capacity × (1 − unavailable_days / cycle_days); zero for inactive officers."""
    return (
        pl.when(pl.col("active"))
        .then(pl.col("capacity_hours") * (1.0 - pl.col("unavailable_days") / cycle_days))
        .otherwise(0.0)
        .clip(lower_bound=0.0)
        .alias("available_hours")
    )
