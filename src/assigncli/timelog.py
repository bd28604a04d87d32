"""Time logs for calibrating the effort model: read, validate, and generate them.

Workload studies log time in one of two shapes:

- **per case** (``case_id, period, hours``, optionally ``officer_id``: who logged the entry):
  officers log the hours they spent on each case in a period (one period is one planning cycle);
- **per officer** (``officer_id, period, hours``): officers log their total casework hours per
  period, and a *held* table (``case_id, officer_id, period``, or past plans each labelled with
  its period) says which cases each officer held in that period.

A bad log is treated like a bad case file: every problem is listed with file, column and rows,
and `load_time_log` raises `InputError` (exit 3). The generator writes both shapes from a known
model, with the noise real logs have, so that a fit can be checked against the truth.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from assigncli.config import Config
from assigncli.effort import estimate_effort
from assigncli.errors import InputError, InputIssue, IssueLog, UsageError
from assigncli.read import FORMATS, read_table

logger = logging.getLogger(__name__)

Shape = Literal["per_case", "per_officer"]

PER_CASE_COLUMNS = ("case_id", "period", "hours")
PER_OFFICER_COLUMNS = ("officer_id", "period", "hours")
HELD_COLUMNS = ("case_id", "officer_id", "period")
HOURS_PER_DAY = 24.0  # no entry can exceed the hours a period has
MAX_ROWS_SHOWN = 5
_ROW = "__assigncli_row"

# Generator assumptions (documented in README): per-entry noise, officer speed and gaps.
NOISE_SIGMA = 0.5  # lognormal spread of one case's hours around its expected hours
SPEED_SIGMA = 0.15  # lognormal spread of officer speed (1.0 = the model's hours)
MISSING_SHARE = 0.05  # entries nobody logged
MOVE_SHARE = 0.10  # cases that change officer (within their office) from one period to the next
SPECIALIZATION_SIGMA = 1.0  # lognormal spread of an officer's affinity for each kind of case
_BALANCING_ROUNDS = 50


@dataclass(frozen=True)
class HeldSource:
    """Where the per-officer shape learns which cases an officer held: a file with a ``period``
    column, or a past plan (``case_id, officer_id``) labelled with its period."""

    path: Path
    period: str | None = None

    @classmethod
    def parse(cls, text: str) -> HeldSource:
        """``PATH`` (a file with a period column) or ``PERIOD=PATH`` (a past plan)."""
        if Path(text).is_file() or "=" not in text:
            return cls(Path(text))
        period, _, path = text.partition("=")
        if not period.strip() or not path.strip():
            raise UsageError(f"--held {text!r}: expected PATH or PERIOD=PATH")
        return cls(Path(path), period.strip())


@dataclass(frozen=True, eq=False)
class TimeLog:
    """A validated time log. `entries` has ``case_id`` (per case) or ``officer_id`` (per officer),
    then ``period`` and ``hours``; `held` (per officer only) has ``case_id, officer_id, period``.
    Ids and periods are text; hours are finite Float64 ≥ 0."""

    shape: Shape
    entries: pl.DataFrame
    held: pl.DataFrame | None
    file: str
    problems: tuple[InputIssue, ...] = ()

    @property
    def periods(self) -> int:
        return int(self.entries["period"].n_unique())


# --------------------------------------------------------------------------------------------
# Reading and validation
# --------------------------------------------------------------------------------------------


def load_time_log(
    path: Path,
    cases: pl.DataFrame,
    *,
    cycle_days: float,
    held: Sequence[HeldSource] = (),
    max_hours: float | None = None,
) -> TimeLog:
    """Read and validate a time log against the validated `cases`; InputError lists every error.

    The shape follows the columns: ``case_id`` means per case, ``officer_id`` per officer (which
    needs `held`). `max_hours` bounds one entry (default: the hours in a period,
    ``cycle_days × 24``); more is a typo or a unit mistake, not a measurement.
    """
    issues = IssueLog()
    file = str(path)
    limit = cycle_days * HOURS_PER_DAY if max_hours is None else max_hours
    raw = _read(path, "time log", issues)
    if raw is None:
        issues.raise_if_errors(file)
    assert raw is not None
    if "case_id" in raw.columns:
        shape: Shape = "per_case"
        columns = PER_CASE_COLUMNS
    elif "officer_id" in raw.columns:
        shape = "per_officer"
        columns = PER_OFFICER_COLUMNS
    else:
        issues.add(
            InputIssue(
                "error",
                file,
                "a time log needs 'case_id, period, hours' (per case) or 'officer_id, period, "
                f"hours' (per officer); found: {', '.join(raw.columns)}",
                column="case_id",
                code="missing_column",
            )
        )
        issues.raise_if_errors(file)
        raise AssertionError  # unreachable: an error was logged
    entries = _check_entries(raw, file, columns, limit, issues)
    if entries is not None and shape == "per_case" and "officer_id" in raw.columns:
        # Optional: who logged the entry, so that the fit resamples officers, not cases.
        entries = entries.with_columns(raw.select(_text("officer_id").fill_null("")).to_series())
    if entries is None:
        issues.raise_if_errors(file)
    assert entries is not None
    known = cases.select(pl.col("case_id").cast(pl.String()))

    held_table: pl.DataFrame | None = None
    if shape == "per_case":
        _flag_unknown_cases(entries, known, file, issues)
    else:
        if not held:
            raise UsageError(
                f"{file} is a per-officer time log (officer_id, period, hours): name the cases "
                "each officer held with --held FILE (case_id, officer_id, period) or "
                "--held PERIOD=PLAN (a past plan)"
            )
        held_table = _load_held(held, known, issues)
        if held_table is not None:
            _flag_periods_without_cases(entries, held_table, file, issues)
    issues.raise_if_errors(file)
    return TimeLog(
        shape,
        entries.drop(_ROW),
        held_table,
        file,
        tuple(issues.warnings),
    )


def _read(path: Path, what: str, issues: IssueLog) -> pl.DataFrame | None:
    """The raw table, or None with the problem logged; messages say `what` the file is."""
    file = str(path)
    problem: InputIssue | None = None
    if not path.exists():
        problem = InputIssue("error", file, f"{what} not found", code="missing_file")
    elif path.suffix.lower() not in FORMATS:
        got = f"'{path.suffix}'" if path.suffix else "no extension"
        problem = InputIssue(
            "error",
            file,
            f"unsupported file type ({got}); expected one of {', '.join(FORMATS)}",
            code="unknown_extension",
        )
    if problem is not None:
        issues.add(problem)
        return None
    try:
        return read_table(path, "cases")
    except InputError as exc:
        for p in exc.problems:
            issues.add(dataclasses.replace(p, message=p.message.replace("cases file", what)))
        return None


def _missing_columns(
    raw: pl.DataFrame, file: str, columns: Sequence[str], issues: IssueLog
) -> bool:
    missing = [c for c in columns if c not in raw.columns]
    for c in missing:
        issues.add(
            InputIssue(
                "error",
                file,
                f"missing required column '{c}' (expected columns: {', '.join(columns)}; "
                f"found: {', '.join(raw.columns)})",
                column=c,
                code="missing_column",
            )
        )
    return bool(missing)


def _text(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.String()).str.strip_chars()


def _flag(
    frame: pl.DataFrame,
    mask: pl.Expr | None,
    file: str,
    column: str | None,
    code: str,
    message: str,
    issues: IssueLog,
    *,
    shown: pl.Expr | None = None,
    severity: Literal["error", "warning"] = "error",
) -> int:
    """Log one issue for the rows where `mask` holds (every row of `frame` when None), with a
    few of their values; return their count."""
    if mask is not None:
        mask = mask.fill_null(False)
        if not frame.height or not frame.select(mask.any()).item():
            return 0  # clean data costs one cheap pass per rule
        frame = frame.filter(mask)
    if not frame.height:
        return 0
    if shown is not None:
        values = frame.select(shown.unique(maintain_order=True).head(3).cast(pl.String()))
        message += "; found " + ", ".join(repr(v) for v in values.to_series())
    issues.add(
        InputIssue(
            severity,
            file,
            message,
            column=column,
            rows=tuple(int(r) for r in frame[_ROW].head(MAX_ROWS_SHOWN)),
            row_count=frame.height,
            code=code,
        )
    )
    return frame.height


def _unknown_cases(frame: pl.DataFrame, known: pl.DataFrame) -> pl.DataFrame:
    """Rows of `frame` whose case_id is not a known case (a join: fast at millions of rows)."""
    return (
        frame.filter(pl.col("case_id").is_not_null() & (pl.col("case_id") != ""))
        .join(known, on="case_id", how="anti")
        .sort(_ROW)
    )


def _duplicated(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Rows of `frame` whose `keys` appear on more than one row."""
    # Equal keys hash equal, so distinct hashes prove there is no repeat: one cheap pass on
    # clean data instead of grouping millions of strings.
    if frame.select(pl.struct(keys).hash().n_unique()).item() == frame.height:
        return frame.clear()
    repeated = frame.group_by(keys).len().filter(pl.col("len") > 1).drop("len")
    if not repeated.height:
        return frame.clear()
    return frame.join(repeated, on=keys, how="semi").sort(_ROW)


def _check_entries(
    raw: pl.DataFrame, file: str, columns: Sequence[str], limit: float, issues: IssueLog
) -> pl.DataFrame | None:
    """The log's key and hours columns, parsed; None when a column is missing."""
    if _missing_columns(raw, file, columns, issues):
        return None
    key = columns[0]
    frame = raw.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64()).alias(_ROW),
        _text(key).alias(key),
        _text("period").alias("period"),
        pl.col("hours").alias("__raw_hours"),
        pl.col("hours").cast(pl.Float64(), strict=False).alias("hours"),
    )
    for name in (key, "period"):
        _flag(
            frame,
            pl.col(name).is_null() | (pl.col(name) == ""),
            file,
            name,
            "empty_value",
            f"'{name}' must not be empty",
            issues,
        )
    raw_hours = pl.col("__raw_hours")
    empty = raw_hours.is_null() | (raw_hours.cast(pl.String()).str.strip_chars() == "")
    _flag(frame, empty, file, "hours", "empty_value", "hours must not be empty", issues)
    _flag(
        frame,
        ~empty & pl.col("hours").is_null(),
        file,
        "hours",
        "not_a_number",
        "hours must be a number",
        issues,
        shown=raw_hours,
    )
    hours = pl.col("hours")
    _flag(
        frame,
        hours.is_nan() | hours.is_infinite(),
        file,
        "hours",
        "not_finite",
        "hours must be a finite number (not NaN or infinity)",
        issues,
        shown=hours,
    )
    _flag(
        frame,
        hours.is_finite() & (hours < 0),
        file,
        "hours",
        "negative",
        "hours must be >= 0",
        issues,
        shown=hours,
    )
    _flag(
        frame,
        hours.is_finite() & (hours > limit),
        file,
        "hours",
        "absurd_hours",
        f"hours above {limit:g} (more than a period has: check the unit and the period length)",
        issues,
        shown=hours,
    )
    _flag(
        _duplicated(frame.filter(pl.col(key).is_not_null()), [key, "period"]),
        None,
        file,
        key,
        "duplicate_entry",
        f"more than one row for the same ({key}, period): add them up into one row",
        issues,
        shown=pl.format("{} in period {}", pl.col(key), pl.col("period")),
    )
    return frame.drop("__raw_hours")


def _flag_unknown_cases(
    frame: pl.DataFrame, known: pl.DataFrame, file: str, issues: IssueLog
) -> None:
    _flag(
        _unknown_cases(frame, known),
        None,
        file,
        "case_id",
        "unknown_case",
        "case id not in the case file (the fit needs each case's attributes)",
        issues,
        shown=pl.col("case_id"),
    )


def _load_held(
    sources: Sequence[HeldSource], known: pl.DataFrame, issues: IssueLog
) -> pl.DataFrame | None:
    """Every source's (case_id, officer_id, period) rows, checked; None when one is unusable."""
    parts: list[pl.DataFrame] = []
    ok = True
    for source in sources:
        file = str(source.path)
        raw = _read(source.path, "held-cases file", issues)
        if raw is None:
            ok = False
            continue
        needed = ("case_id", "officer_id") if source.period is not None else HELD_COLUMNS
        if _missing_columns(raw, file, needed, issues):
            if source.period is None and "period" not in raw.columns:
                issues.add(
                    InputIssue(
                        "error",
                        file,
                        "a past plan has no period column: label it, --held PERIOD=PATH",
                        column="period",
                        code="missing_column",
                    )
                )
            ok = False
            continue
        period = pl.lit(source.period) if source.period is not None else _text("period")
        frame = raw.select(
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64()).alias(_ROW),
            _text("case_id").alias("case_id"),
            _text("officer_id").alias("officer_id"),
            period.alias("period"),
        )
        # A plan lists unassignable cases with an empty officer: nobody held them.
        frame = frame.filter(pl.col("officer_id").is_not_null() & (pl.col("officer_id") != ""))
        _flag(
            frame,
            pl.col("case_id").is_null() | (pl.col("case_id") == ""),
            file,
            "case_id",
            "empty_value",
            "'case_id' must not be empty",
            issues,
        )
        _flag(
            frame,
            pl.col("period").is_null() | (pl.col("period") == ""),
            file,
            "period",
            "empty_value",
            "'period' must not be empty",
            issues,
        )
        _flag_unknown_cases(frame, known, file, issues)
        _flag(
            _duplicated(frame, ["case_id", "period"]),
            None,
            file,
            "case_id",
            "duplicate_entry",
            "a case is held by more than one officer (or listed twice) in one period",
            issues,
            shown=pl.format("{} in period {}", pl.col("case_id"), pl.col("period")),
        )
        parts.append(frame.with_columns(pl.lit(file).alias("__file")))
    if not ok or not parts:
        return None
    held = pl.concat(parts)
    across = _duplicated(held, ["case_id", "period"])
    if len(parts) > 1 and across.height:
        first = across.row(0, named=True)
        issues.add(
            InputIssue(
                "error",
                first["__file"],
                f"case {first['case_id']!r} in period {first['period']!r} is held in more than "
                "one --held file",
                column="case_id",
                rows=(int(first[_ROW]),),
                row_count=across.height,
                code="duplicate_entry",
            )
        )
    return held.select(HELD_COLUMNS)


def _flag_periods_without_cases(
    entries: pl.DataFrame, held: pl.DataFrame, file: str, issues: IssueLog
) -> None:
    holdings = held.select("officer_id", "period").unique()
    _flag(
        entries.join(holdings, on=["officer_id", "period"], how="anti").sort(_ROW),
        None,
        file,
        "officer_id",
        "period_without_cases",
        "hours logged for an officer and period with no held cases (check --held and the period labels)",
        issues,
        shown=pl.format("{} in period {}", pl.col("officer_id"), pl.col("period")),
    )
    unlogged = holdings.join(entries, on=["officer_id", "period"], how="anti").height
    if unlogged:
        issues.add(
            InputIssue(
                "warning",
                file,
                f"{unlogged:,} officer-periods hold cases but logged no hours; they are left out",
                column="officer_id",
                code="missing_entries",
            )
        )


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GeneratedLogs:
    """Synthetic time logs of both shapes for the same cases, officers and periods."""

    per_case: pl.DataFrame  # case_id, period, hours, officer_id (who logged the entry)
    per_officer: pl.DataFrame  # officer_id, period, hours
    held: pl.DataFrame  # case_id, officer_id, period
    speed: pl.DataFrame  # officer_id, speed: the truth behind the officer effect


def true_hours(cases: pl.DataFrame, config: Config) -> np.ndarray:
    """Expected hours per case under `config`'s rules (explicit ``effort_hours`` ignored: the
    rules are the truth a generated log is drawn from)."""
    rules_only = cases.drop("effort_hours", strict=False)
    return estimate_effort(rules_only, config, audit=False)["effort_hours"].to_numpy()


def period_label(index: int) -> str:
    return f"cycle-{index + 1:02d}"


def generate_time_logs(
    cases: pl.DataFrame,
    roster: pl.DataFrame,
    config: Config,
    *,
    periods: int = 3,
    seed: int = 0,
    noise_sigma: float = NOISE_SIGMA,
    speed_sigma: float = SPEED_SIGMA,
    missing_share: float = MISSING_SHARE,
    move_share: float = MOVE_SHARE,
    specialization_sigma: float = SPECIALIZATION_SIGMA,
) -> GeneratedLogs:
    """Time logs drawn from `config`'s figures for validated `cases` and `roster`.

    One entry is ``expected hours × officer speed × noise``: noise is lognormal with mean 1 and
    log-sd `noise_sigma`, speed per officer lognormal with mean 1 and log-sd `speed_sigma`. Each
    case goes to an officer of its office drawn in proportion to the officer's affinity for its
    kind (lognormal, log-sd `specialization_sigma`; the status quo's caseloads are not used, as
    they can exceed the hours a period has), and changes officer within its office with
    probability `move_share` per period. A share `missing_share` of the entries
    of each shape is dropped, as nobody logged them. Hours are rounded to 0.01 h.
    """
    if periods < 1:
        raise UsageError(f"periods must be >= 1, got {periods}")
    for name, value in (("missing_share", missing_share), ("move_share", move_share)):
        if not 0.0 <= value < 1.0:
            raise UsageError(f"{name} must be in [0, 1), got {value}")
    rng = np.random.default_rng([seed, 13])
    mean = true_hours(cases, config)
    n = cases.height

    officers = roster
    if "active" in roster.columns and roster["active"].any():
        officers = roster.filter(pl.col("active"))
    ids = officers["officer_id"].cast(pl.String())
    n_officers = ids.len()
    if n_officers == 0:
        raise UsageError("the roster has no officer to log time")
    offices = officers.select(pl.int_range(pl.len()).alias("o"), pl.col("office")).explode("office")
    offices = offices.sort("office", "o").with_row_index("pos")
    pool = np.concatenate([offices["o"].to_numpy(), np.arange(n_officers)])
    ranges = offices.group_by("office").agg(
        pl.col("pos").min().alias("start"), pl.len().alias("count")
    )
    located = cases.select(pl.col("office")).join(
        ranges, on="office", how="left", maintain_order="left"
    )
    # Cases of an office nobody covers are spread over every officer.
    start = located["start"].fill_null(offices.height).to_numpy().astype(np.int64)
    count = located["count"].fill_null(n_officers).to_numpy().astype(np.int64)

    # Officers specialize (detained units, monitoring desks, removals): each officer has an
    # affinity per kind of case (its base rule and adjustments), and a case goes to an officer
    # of its office with probability in proportion to it. Besides being realistic, unequal case
    # mixes are what lets a per-officer log tell the figures apart.
    with_effort = estimate_effort(cases.drop("effort_hours", strict=False), config)
    kind = (
        with_effort.select(
            pl.struct(
                pl.col("effort_base").fill_null(""),
                pl.col("effort_adjustments").list.join(";"),
            ).rank("dense")
        )
        .to_series()
        .to_numpy()
        .astype(np.int64)
        - 1
    )
    n_kinds = int(kind.max()) + 1 if n else 1
    affinity = np.exp(rng.normal(0.0, specialization_sigma, (n_officers, n_kinds)))
    group = start * n_kinds + kind  # (office range, kind): cases that draw alike
    groups, first_of_group, group_of_case = np.unique(group, return_index=True, return_inverse=True)
    group_hours = np.bincount(group_of_case, weights=mean, minlength=groups.size)
    order = np.argsort(group_of_case, kind="stable")
    bounds = np.searchsorted(group_of_case[order], np.arange(groups.size + 1))
    # Per office, the officers' affinities are rescaled until every officer expects the same
    # hours (Sinkhorn balancing): specialization changes the mix of a caseload, not its size,
    # so no officer is asked to log more hours than a period has.
    weights_of_group: list[np.ndarray] = [np.empty(0)] * groups.size
    for office_start in np.unique(start[first_of_group]):
        members = np.flatnonzero(start[first_of_group] == office_start)
        first = first_of_group[members[0]]
        candidates = pool[office_start : office_start + count[first]]
        kinds = kind[first_of_group[members]]
        table = affinity[np.ix_(candidates, kinds)]
        scale = np.ones(candidates.size)
        for _ in range(_BALANCING_ROUNDS):
            shares = table * scale[:, None]
            shares /= shares.sum(axis=0, keepdims=True)
            load = shares @ group_hours[members]
            scale *= load.mean() / np.maximum(load, 1e-12)
        for column, g in enumerate(members):
            weights_of_group[g] = np.cumsum(table[:, column] * scale)

    def draw_officer() -> np.ndarray:
        chosen = np.empty(n, dtype=np.int64)
        u = rng.random(n)
        for g in range(groups.size):
            members = order[bounds[g] : bounds[g + 1]]
            first = members[0]
            candidates = pool[start[first] : start[first] + count[first]]
            weights = weights_of_group[g]
            picked = np.searchsorted(weights, u[members] * weights[-1], side="right")
            chosen[members] = candidates[np.minimum(picked, candidates.size - 1)]
        return chosen

    officer = draw_officer()

    speed = np.exp(rng.normal(0.0, speed_sigma, n_officers) - speed_sigma**2 / 2)
    case_ids = cases["case_id"].cast(pl.String())
    per_case_parts: list[pl.DataFrame] = []
    held_parts: list[pl.DataFrame] = []
    for p in range(periods):
        if p:
            moves = rng.random(n) < move_share
            officer = np.where(moves, draw_officer(), officer)
        noise = np.exp(rng.normal(0.0, noise_sigma, n) - noise_sigma**2 / 2)
        hours = mean * speed[officer] * noise
        label = period_label(p)
        held_parts.append(
            pl.DataFrame({"case_id": case_ids, "officer_id": ids.gather(officer), "period": label})
        )
        per_case_parts.append(
            pl.DataFrame({"case_id": case_ids, "period": label, "hours": hours, "o": officer})
        )

    logged = pl.concat(per_case_parts)
    held = pl.concat(held_parts)
    totals = logged.group_by("o", "period").agg(pl.col("hours").sum()).sort("period", "o")
    per_officer = pl.DataFrame(
        {
            "officer_id": ids.gather(totals["o"]),
            "period": totals["period"],
            "hours": totals["hours"].round(2),
        }
    )
    per_officer = per_officer.filter(pl.Series(rng.random(per_officer.height) >= missing_share))
    kept = logged.filter(pl.Series(rng.random(logged.height) >= missing_share))
    per_case = pl.DataFrame(
        {
            "case_id": kept["case_id"],
            "period": kept["period"],
            "hours": kept["hours"].round(2),
            "officer_id": ids.gather(kept["o"]),
        }
    )
    return GeneratedLogs(
        per_case=per_case,
        per_officer=per_officer,
        held=held,
        speed=pl.DataFrame({"officer_id": ids, "speed": speed}),
    )


def time_log_paths(out_dir: Path, fmt: str) -> dict[str, Path]:
    """Where `write_time_logs` puts each table."""
    return {
        "per_case": out_dir / f"timelog_cases.{fmt}",
        "per_officer": out_dir / f"timelog_officers.{fmt}",
        "held": out_dir / f"held.{fmt}",
    }


def write_time_logs(
    out_dir: Path,
    roster_path: Path,
    cases_path: Path,
    config: Config,
    *,
    fmt: str,
    periods: int = 3,
    seed: int = 0,
) -> dict[str, Path]:
    """Generate time logs for the roster and cases at these paths and write the three tables
    (see `time_log_paths`) together or not at all."""
    from assigncli.validate import load_inputs
    from assigncli.write import write_all, write_table

    inputs = load_inputs(roster_path, cases_path, config)
    logs = generate_time_logs(inputs.cases, inputs.roster, config, periods=periods, seed=seed)
    paths = time_log_paths(out_dir, fmt)
    tables = {"per_case": logs.per_case, "per_officer": logs.per_officer, "held": logs.held}
    if fmt == "xlsx":
        from assigncli.write import EXCEL_MAX_ROWS

        too_long = [k for k, t in tables.items() if t.height + 1 > EXCEL_MAX_ROWS]
        if too_long:
            raise UsageError(
                f"Excel holds at most {EXCEL_MAX_ROWS - 1:,} data rows per sheet; the {too_long[0]} time "
                f"log has {tables[too_long[0]].height:,}: use parquet or csv"
            )

    def writer(table: pl.DataFrame) -> Callable[[Path], None]:
        return lambda temp: write_table(table, temp)

    write_all([(paths[k], writer(t)) for k, t in tables.items()])
    logger.info("time logs: %s", ", ".join(f"{k} {t.height:,} rows" for k, t in tables.items()))
    return paths
