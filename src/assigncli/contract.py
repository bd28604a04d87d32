"""The data contract: one schema table per input, the output columns, and the numeric ranges.

`validate` parses and checks inputs from `ROSTER_SCHEMA` and `CASES_SCHEMA`; `check` and
`analysis.metrics` fill absent optional columns from the same table, so a default or a dtype is
stated once. After validation every table has exactly these dtypes, whatever file format it came
from, so that later steps never re-check types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

LIST_SEPARATOR = ";"  # list columns in CSV/Excel: "lang:es;gps_monitoring"

Kind = Literal["text", "float", "int", "bool", "list"]

# Supported ranges of input numbers. Beyond them the arithmetic stops being meaningful (a capacity
# of 1e-300 hours, an effort of 1e308) long before it overflows, so they are contract errors.
MIN_CAPACITY_HOURS = 0.01
MAX_HOURS = 10_000.0  # capacity or effort per cycle; a 28-day cycle has 672 hours
MAX_WHOLE = 2**53  # largest integer a float64 holds exactly: the ceiling of max_cases

# Spreadsheet outputs (CSV, Excel) round floats to these decimals; Parquet keeps every bit.
HOURS_DECIMALS = 4
UTILIZATION_DECIMALS = 6


@dataclass(frozen=True)
class Column:
    """One contract column: how it is parsed, whether it must be there, what fills it, its range.

    ``low``/``high`` are inclusive bounds of a number; ``high_is_cycle`` makes the upper bound the
    config's ``cycle_days``. ``expected`` says what a valid value looks like, for messages.
    """

    name: str
    dtype: pl.DataType
    kind: Kind
    required: bool
    default: object = None
    expected: str = ""
    low: float | None = None
    high: float | None = None
    high_is_cycle: bool = False
    note: str = ""  # said after the range, e.g. what an empty cell means

    def bounds(self, cycle_days: float) -> tuple[float | None, float | None]:
        return self.low, (cycle_days if self.high_is_cycle else self.high)

    def describe(self, cycle_days: float) -> str:
        """``expected``, with the range spelled out for numbers."""
        low, high = self.bounds(cycle_days)
        if low is None and high is None:
            return self.expected + self.note
        return f"{self.expected} in [{_number(low)}, {_number(high)}]{self.note}"


def _number(value: float | None) -> str:
    if value is None:
        return "∞"
    return f"{value:,.0f}" if value == int(value) else f"{value:g}"


_STRINGS = pl.List(pl.String())

ROSTER_SCHEMA: tuple[Column, ...] = (
    Column("officer_id", pl.String(), "text", True, expected="a non-empty officer id"),
    Column("office", _STRINGS, "list", True, expected="one or more offices separated by ';'"),
    Column(
        "capacity_hours",
        pl.Float64(),
        "float",
        True,
        expected="a number of hours per cycle",
        low=MIN_CAPACITY_HOURS,
        high=MAX_HOURS,
    ),
    Column("skills", _STRINGS, "list", False, [], "skills separated by ';'"),
    Column(
        "unavailable_days",
        pl.Float64(),
        "float",
        False,
        0.0,
        "a number of days",
        low=0.0,
        high_is_cycle=True,
    ),
    Column("max_cases", pl.Int64(), "int", False, None, "a whole number", low=0, high=MAX_WHOLE),
    Column("active", pl.Boolean(), "bool", False, True, "true or false"),
)

CASES_SCHEMA: tuple[Column, ...] = (
    Column("case_id", pl.String(), "text", True, expected="a non-empty case id"),
    Column("office", pl.String(), "text", True, expected="the name of one office"),
    Column(
        "current_officer_id",
        pl.String(),
        "text",
        False,
        None,
        "an officer id, or empty for a new case",
    ),
    Column("locked", pl.Boolean(), "bool", False, False, "true or false"),
    Column("required_skills", _STRINGS, "list", False, [], "skills separated by ';'"),
    Column(
        "effort_hours",
        pl.Float64(),
        "float",
        False,
        None,
        "a number of hours per cycle",
        low=0.0,
        high=MAX_HOURS,
        note=", or empty to use the effort rules",
    ),
)

ROSTER_REQUIRED: dict[str, pl.DataType] = {c.name: c.dtype for c in ROSTER_SCHEMA if c.required}
ROSTER_OPTIONAL: dict[str, pl.DataType] = {c.name: c.dtype for c in ROSTER_SCHEMA if not c.required}
CASES_REQUIRED: dict[str, pl.DataType] = {c.name: c.dtype for c in CASES_SCHEMA if c.required}
CASES_OPTIONAL: dict[str, pl.DataType] = {c.name: c.dtype for c in CASES_SCHEMA if not c.required}


def schema(role: Literal["roster", "cases"]) -> tuple[Column, ...]:
    return ROSTER_SCHEMA if role == "roster" else CASES_SCHEMA


def column(role: Literal["roster", "cases"], name: str) -> Column:
    """The contract column `name` of `role` (KeyError if the contract has none)."""
    for col in schema(role):
        if col.name == name:
            return col
    raise KeyError(f"the {role} contract has no column {name!r}")


def default_expr(role: Literal["roster", "cases"], name: str) -> pl.Expr:
    """The contract default of an optional column, typed, named `name` (null if it has none)."""
    col = column(role, name)
    return pl.lit(col.default, dtype=col.dtype).alias(name)


def with_defaults(
    frame: pl.DataFrame, role: Literal["roster", "cases"], names: tuple[str, ...]
) -> list[pl.Expr]:
    """`names` as columns of `frame`, absent ones and null cells filled with the contract default.

    A column with nothing to fill is passed through untouched (shared, not copied).
    """
    exprs = []
    for name in names:
        col = column(role, name)
        if name not in frame.columns:
            exprs.append(default_expr(role, name))
        elif col.default is not None and frame[name].null_count():
            exprs.append(pl.col(name).fill_null(default_expr(role, name)))
        else:
            exprs.append(pl.col(name))
    return exprs


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
    "office": pl.List(pl.String()),  # a native list; ';'-joined only in CSV/Excel
    "capacity_hours": pl.Float64(),
    "available_hours": pl.Float64(),
    "cases_before": pl.Int64(),
    "cases_after": pl.Int64(),
    "load_before": pl.Float64(),
    "load_after": pl.Float64(),
    "utilization_before": pl.Float64(),  # null when available_hours == 0
    "utilization_after": pl.Float64(),
}


def spreadsheet_decimals(name: str) -> int | None:
    """Decimals a float output column gets in CSV/Excel, by its name: a utilization (``*utilization*``)
    6, hours (``*hours``) and loads (``load*``, in hours) 4; any other float as computed."""
    if "utilization" in name:
        return UTILIZATION_DECIMALS
    if name.endswith("hours") or name.startswith("load"):
        return HOURS_DECIMALS
    return None


def available_hours_expr(cycle_days: float) -> pl.Expr:
    """capacity × (1 − unavailable_days / cycle_days); zero for inactive officers."""
    return (
        pl.when(pl.col("active"))
        .then(pl.col("capacity_hours") * (1.0 - pl.col("unavailable_days") / cycle_days))
        .otherwise(0.0)
        .clip(lower_bound=0.0)
        .alias("available_hours")
    )
