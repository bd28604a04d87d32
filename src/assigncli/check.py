"""Independent plan checker: recomputes feasibility, loads and utilization from the inputs alone.

Nothing here imports a solver (no OR-Tools): the checker must stay true whatever algorithm
produced the plan, so that the tests can run it over every solver path. It trusts only the roster,
the cases (after effort estimation) and the config; every derived plan column is recomputed.

Decisions a reader of the plan should know (the semantics themselves are in the common brief):

- ``plan.locked`` is true iff the lock is *honoured*: the input ``locked`` flag is set and the
  current officer is on the roster and active. A lock that could not be kept shows ``false``
  there (the input flag is still in the case file, and ``reason`` says why the case moved).
- ``plan.moved`` is true iff the case had an officer and the plan gives it to a different officer.
  A case left unassigned is not moved (nobody receives it, so no handoff is due), whatever its
  previous officer; its ``reason`` explains what happened instead.
- An unassigned case must have a non-empty ``reason`` (the design forbids silent drops).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from assigncli.config import Config
from assigncli.contract import (
    OFFICER_SUMMARY_COLUMNS,
    PLAN_COLUMNS,
    available_hours_expr,
    with_defaults,
)
from assigncli.read import chunked_like

_SHOWN = 5  # ids quoted per violation, enough to find the pattern without flooding the terminal
_EFFORT_TOLERANCE = 1e-9

__all__ = ["CheckReport", "check_plan", "officer_summary"]


@dataclass(frozen=True, eq=False)
class CheckReport:
    """What the checker found. ``ok`` iff ``violations`` is empty.

    ``officers`` has one row per roster officer: officer_id, available_hours, cases, load,
    utilization (null when available_hours == 0), moved_in. Utilization extremes are taken over the
    officers with available_hours > 0 (None when there are none); ``moves``, ``assigned`` and
    ``unassigned`` count plan rows, with ``moves`` recomputed from the inputs rather than read from
    the plan's ``moved`` column.
    """

    ok: bool
    violations: tuple[str, ...]  # one line per broken rule, for people
    violation_counts: dict[str, int]  # the same rules by code: how many cases or officers
    officers: pl.DataFrame
    max_utilization: float | None
    min_utilization: float | None
    moves: int
    assigned: int
    unassigned: int


# --- normalized inputs ---------------------------------------------------------------------------

_EMPTY_LIST = pl.lit([], dtype=pl.List(pl.String()))


def _officers(roster: pl.DataFrame, config: Config) -> pl.DataFrame:
    """Roster with every optional column present and defaulted, plus available_hours.

    An officer's row number in this frame is its *position*: the integer key used instead of
    officer_id strings on the per-case side, which is several times faster at national scale.
    """
    columns = [
        pl.col("officer_id"),
        pl.col("office").fill_null(_EMPTY_LIST),
        pl.col("capacity_hours"),
        *with_defaults(roster, "roster", ("skills", "unavailable_days", "max_cases", "active")),
    ]
    return roster.select(columns).with_columns(available_hours_expr(config.cycle_days))


def _cases(cases: pl.DataFrame) -> pl.DataFrame:
    """The case columns the checker needs, optional ones defaulted."""
    missing = {"case_id", "office", "effort_hours"} - set(cases.columns)
    if missing:
        raise ValueError(f"cases lack column(s) {sorted(missing)}; estimate effort before checking")
    columns = [
        pl.col("case_id"),
        pl.col("office"),
        pl.col("effort_hours"),
        # Shared, not copied, when there is nothing to fill (millions of cases).
        *with_defaults(cases, "cases", ("current_officer_id", "locked", "required_skills")),
    ]
    return cases.select(columns)


def _position_of(expr: pl.Expr, keys: pl.Series) -> pl.Expr:
    """Position of each value in the unique ``keys``, null when absent or null."""
    if (
        keys.dtype == pl.String()
        and len(keys)
        and not keys.null_count()
        and keys.n_unique() == len(keys)
    ):
        # An Enum over the keys is the fastest string lookup: its physical value is the position.
        return expr.cast(pl.Enum(keys), strict=False).to_physical().cast(pl.UInt32())
    positions = pl.int_range(0, len(keys), eager=True, dtype=pl.UInt32())
    return expr.replace_strict(keys, positions, default=None, return_dtype=pl.UInt32())


def _moved_expr(officer: str, previous: str) -> pl.Expr:
    """A case moves iff it had an officer and the plan gives it to another officer."""
    return (pl.col(officer) != pl.col(previous)).fill_null(False)


def _case_positions(plan: pl.DataFrame, cases: pl.DataFrame) -> pl.Series | None:
    """Position in ``cases`` of each plan row's case (null: unknown case).

    None when the plan lists exactly the cases in input order, the usual case, which then needs no
    join at all. Otherwise the join runs on 64-bit hashes of the ids (several times faster than on
    strings); a hash collision is detected by comparing the matched ids, and then the join is redone
    on the strings.
    """
    if plan.height == cases.height and plan["case_id"].equals(cases["case_id"]):
        return None
    for key in (pl.col("case_id").hash(), pl.col("case_id")):
        located = (
            plan.lazy()
            .select(key.alias("_key"))
            .with_row_index("_row")
            .join(
                cases.lazy().select(key.alias("_key")).with_row_index("_case"),
                on="_key",
                how="left",
            )
            .sort("_row")
            .collect()
        )
        positions = located["_case"]
        if (
            located.height == plan.height
            and (
                cases["case_id"].gather(positions).eq_missing(plan["case_id"]) | positions.is_null()
            ).all()
        ):
            return positions
    raise ValueError("case_id is not unique in the case table; validate the cases first")


def _plan_rows(plan: pl.DataFrame, cases: pl.DataFrame, officers: pl.DataFrame) -> pl.DataFrame:
    """Plan rows beside their case's input attributes and their officer's roster position.

    Added columns: _row, _case (null: unknown case), known, current, case_office, required_skills,
    effort_in, locked_in, _officer (null: unassigned or not on the roster), moved_now.
    """
    positions = _case_positions(plan, cases)
    sources = {
        "current": "current_officer_id",
        "case_office": "office",
        "required_skills": "required_skills",
        "effort_in": "effort_hours",
        "locked_in": "locked",
    }
    rows = pl.int_range(0, plan.height, eager=True, dtype=pl.UInt32())
    if positions is None:
        case_pos = rows
        attributes = [cases[src].alias(dst) for dst, src in sources.items()]
    else:
        case_pos = positions
        attributes = [cases[src].gather(positions).alias(dst) for dst, src in sources.items()]
    # Every added column in the plan's chunks: a table mixing chunk layouts is copied whole by
    # the next operation (see chunked_like).
    like = plan.to_series(0)
    added = [rows.alias("_row"), case_pos.alias("_case"), *attributes]
    return plan.with_columns(chunked_like(column, like) for column in added).with_columns(
        known=pl.col("_case").is_not_null(),
        _officer=_position_of(pl.col("officer_id"), officers["officer_id"]),
        moved_now=_moved_expr("officer_id", "current"),
    )


def _loads(officers: pl.DataFrame, held: pl.LazyFrame, handoff_hours: float) -> pl.LazyFrame:
    """The one load computation: per roster officer, cases held, moved-in count, load, utilization.

    ``held`` has one row per case an officer holds: _officer (roster position), effort_hours,
    moved. Officers holding nothing get zeros; utilization is null without available hours.
    """
    per_officer = held.group_by("_officer").agg(
        cases=pl.len().cast(pl.Int64()),
        moved_in=pl.col("moved").sum().cast(pl.Int64()),
        effort=pl.col("effort_hours").sum(),
    )
    return (
        officers.lazy()
        .select("officer_id", "available_hours")
        .with_row_index("_officer")
        .join(per_officer, on="_officer", how="left", maintain_order="left")
        .with_columns(pl.col("cases", "moved_in").fill_null(0), pl.col("effort").fill_null(0.0))
        .with_columns(load=pl.col("effort") + handoff_hours * pl.col("moved_in"))
        .with_columns(
            utilization=pl.when(pl.col("available_hours") > 0).then(
                pl.col("load") / pl.col("available_hours")
            )
        )
        .select("officer_id", "available_hours", "cases", "load", "utilization", "moved_in")
    )


def _held_after(rows: pl.DataFrame) -> pl.LazyFrame:
    """What each roster officer holds after the plan, effort and moves taken from the inputs."""
    return (
        rows.lazy()
        .filter(pl.col("known") & pl.col("_officer").is_not_null())
        .select("_officer", effort_hours=pl.col("effort_in"), moved=pl.col("moved_now"))
    )


def officer_summary(
    roster: pl.DataFrame,
    cases: pl.DataFrame,
    plan: pl.DataFrame,
    config: Config,
    *,
    checked: CheckReport | None = None,
) -> pl.DataFrame:
    """Before/after table per roster officer, with contract.OFFICER_SUMMARY_COLUMNS.

    Before is the status quo: each case with its current officer, no handoffs (cases whose current
    officer is not on the roster are ignored). After is the plan, with effort taken from ``cases``
    and moves recomputed, so that the table never echoes a wrong plan column. ``checked``, the
    report of `check_plan` on these same tables, already holds the after loads (recomputed the
    same way): passing it saves recomputing them.
    """
    officers = _officers(roster, config)
    case_frame = _cases(cases)
    before_held = (
        case_frame.lazy()
        .select(
            _officer=_position_of(pl.col("current_officer_id"), officers["officer_id"]),
            effort_hours=pl.col("effort_hours"),
            moved=pl.lit(False),
        )
        .filter(pl.col("_officer").is_not_null())
    )
    if checked is not None and checked.officers.height == officers.height:
        before = _loads(officers, before_held, config.handoff_hours).collect()
        after = checked.officers
    else:
        rows = _plan_rows(plan.select("case_id", "officer_id"), case_frame, officers)
        before, after = pl.collect_all(
            [
                _loads(officers, before_held, config.handoff_hours),
                _loads(officers, _held_after(rows), config.handoff_hours),
            ]
        )
    columns = [
        officers["officer_id"],
        officers["office"],
        officers["capacity_hours"],
        officers["available_hours"],
    ]
    for frame, when in ((before, "before"), (after, "after")):
        columns += [
            frame["cases"].alias(f"cases_{when}"),
            frame["load"].alias(f"load_{when}"),
            frame["utilization"].alias(f"utilization_{when}"),
        ]
    table = pl.DataFrame(columns)
    return table.select(pl.col(name).cast(dtype) for name, dtype in OFFICER_SUMMARY_COLUMNS.items())


# --- violations ----------------------------------------------------------------------------------


@dataclass
class _Violations:
    """Every broken rule, as a line for people and a count by code for programs."""

    lines: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, code: str, count: int, noun: str, what: str, examples: list[str]) -> None:
        plural = noun if count == 1 else noun + "s"
        shown = ", ".join(examples)
        more = ", …" if count > len(examples) else ""
        self.lines.append(f"{code}: {count} {plural} {what} (first: {shown}{more})")
        self.counts[code] = count

    def add_line(self, code: str, text: str) -> None:
        self.lines.append(f"{code}: {text}")
        self.counts[code] = self.counts.get(code, 0) + 1


def _first(frame: pl.DataFrame) -> pl.DataFrame:
    """The first few rows in input order (joins do not keep it), for examples in messages."""
    return frame.bottom_k(_SHOWN, by="_row").sort("_row")


def _conform_plan(plan: pl.DataFrame, violations: _Violations) -> pl.DataFrame:
    """The plan with contract columns and dtypes; a schema problem is itself a violation."""
    problems = []
    columns = []
    for name, dtype in PLAN_COLUMNS.items():
        if name not in plan.columns:
            problems.append(f"'{name}' missing")
            columns.append(pl.lit(None, dtype=dtype).alias(name))
        elif plan.schema[name] != dtype:
            problems.append(f"'{name}' is {plan.schema[name]}, expected {dtype}")
            columns.append(pl.col(name).cast(dtype, strict=False))
        else:
            columns.append(pl.col(name))
    if problems:
        violations.add_line("plan_schema", "; ".join(problems))
    return plan.select(columns)


# Per-row checks: (code, what the flagged rows did wrong, whether to show the officer too).
_ROW_CHECKS: tuple[tuple[str, str, bool], ...] = (
    ("unknown_case", "with a case_id not in the case file", False),
    ("unknown_officer", "assigned to an officer who is not on the roster", True),
    ("lock_broken", "with an honoured lock not kept on their current officer", True),
    ("inactive_officer", "assigned to an inactive officer", True),
    ("unavailable_officer", "assigned to an officer with no available hours", True),
    ("office_mismatch", "assigned to an officer who does not hold the case's office", True),
    ("skill_mismatch", "assigned to an officer lacking a required skill", True),
    ("zero_max_cases", "assigned to an officer whose max_cases is 0", True),
    ("previous_mismatch", "whose previous_officer_id is not the input current officer", False),
    ("moved_mismatch", "whose moved flag is wrong", False),
    ("effort_mismatch", "whose effort_hours differ from the estimated effort", False),
    ("locked_mismatch", "whose locked flag differs from whether the lock is honoured", False),
    ("unassigned_without_reason", "left unassigned without a reason", False),
)


def _holding_keys(officers: pl.DataFrame, column: str, values: pl.Series) -> pl.Series:
    """Integer key (officer position, value position) of every value an officer holds in
    ``column`` (offices or skills), so that membership is a hash lookup on integers."""
    return (
        officers.select(pl.col(column))
        .with_row_index("_officer")
        .explode(column)
        .select(_pair_key(pl.col(column), values))
        .to_series()
        .drop_nulls()
    )


def _pair_key(value: pl.Expr, values: pl.Series) -> pl.Expr:
    """Key of (row's officer position, value's position in ``values``); null if either is."""
    return pl.col("_officer").cast(pl.UInt64()) * max(len(values), 1) + _position_of(value, values)


def _flag_rows(rows: pl.DataFrame, officers: pl.DataFrame) -> pl.DataFrame:
    """Add one boolean column per entry of _ROW_CHECKS (plus ``honoured``) to the plan rows."""
    offices = officers["office"].explode().drop_nulls().unique(maintain_order=True)
    skills = officers["skills"].explode().drop_nulls().unique(maintain_order=True)
    active_ids = officers.filter(pl.col("active"))["officer_id"]

    def officers_where(condition: pl.Expr) -> pl.Series:
        # Roster positions of the officers breaking a rule: a per-case test is then a lookup in
        # a short list, not a gather of the officer's attributes onto millions of rows.
        positions = pl.int_range(pl.len(), dtype=pl.UInt32()).alias("_o")
        return officers.select(positions.filter(condition.fill_null(False)))["_o"]

    known = pl.col("known")
    assigned = pl.col("officer_id").is_not_null()
    officer = pl.col("_officer")
    on_roster = officer.is_not_null()
    honoured = pl.col("honoured")
    office_key = _pair_key(pl.col("case_office"), offices)
    effort_equal = (pl.col("effort_hours") - pl.col("effort_in")).abs() <= _EFFORT_TOLERANCE * (
        pl.max_horizontal(pl.lit(1.0), pl.col("effort_in").abs())
    )
    # Text tests on the few rows they concern (unassigned, locked), not on millions of rows.
    unexplained = (
        rows.filter(pl.col("officer_id").is_null())
        .filter(pl.col("reason").is_null() | (pl.col("reason").str.strip_chars() == ""))
        .get_column("_row")
    )
    locks_honoured = (
        rows.filter(pl.col("locked_in").fill_null(False))
        .filter(pl.col("current").is_in(active_ids.implode()))
        .get_column("_row")
    )
    # An honoured lock kept on its officer is exempt from eligibility (a warning, not an error).
    judged = known & on_roster & ~(honoured & pl.col("officer_id").eq(pl.col("current")))
    flags = {
        "unknown_case": ~known,
        "unknown_officer": assigned & ~on_roster,
        "lock_broken": known & honoured & pl.col("officer_id").ne_missing(pl.col("current")),
        "inactive_officer": judged & officer.is_in(officers_where(~pl.col("active")).implode()),
        "unavailable_officer": judged
        & officer.is_in(
            officers_where(pl.col("active") & (pl.col("available_hours") <= 0)).implode()
        ),
        "office_mismatch": judged
        & ~office_key.is_in(_holding_keys(officers, "office", offices).implode()).fill_null(False),
        "zero_max_cases": judged
        & officer.is_in(officers_where(pl.col("max_cases") == 0).implode()),
        "previous_mismatch": known & ~pl.col("previous_officer_id").eq_missing(pl.col("current")),
        "moved_mismatch": known & pl.col("moved").ne_missing(pl.col("moved_now")),
        "effort_mismatch": known & ~effort_equal.fill_null(False),
        "locked_mismatch": known & pl.col("locked").ne_missing(honoured),
        "unassigned_without_reason": known & pl.col("_row").is_in(unexplained.implode()),
    }
    flagged = (
        rows.lazy()
        .with_columns(honoured=pl.col("_row").is_in(locks_honoured.implode()))
        .with_columns(
            _judged=judged.fill_null(False),
            **{code: expr.fill_null(False) for code, expr in flags.items()},
        )
        .collect()
    )
    # Skills are checked on the exploded (case, required skill) pairs: most cases need none.
    skill_keys = _holding_keys(officers, "skills", skills)
    lacking = (
        flagged.lazy()
        .filter(pl.col("_judged") & (pl.col("required_skills").list.len() > 0))
        .select("_row", "_officer", "required_skills")
        .explode("required_skills")
        .filter(
            ~_pair_key(pl.col("required_skills"), skills)
            .is_in(skill_keys.implode())
            .fill_null(False)
        )
        .select("_row")
        .unique()
        .collect()
        .to_series()
    )
    return flagged.with_columns(skill_mismatch=pl.col("_row").is_in(lacking.implode()))


def _over_cap(rows: pl.DataFrame, officers: pl.DataFrame, loads: pl.DataFrame) -> pl.DataFrame:
    """Officers holding more cases than max_cases allows.

    Locked cases count towards the cap, but an honoured lock is never broken for it: when the locked
    cases alone exceed the cap (a warning at validation), the officer may keep exactly those and
    receive nothing else. So the allowed count is max(max_cases, locked cases kept).
    """
    kept_locks = (
        rows.lazy()
        .filter(pl.col("honoured") & (pl.col("officer_id") == pl.col("current")))
        .group_by("_officer")
        .agg(locked=pl.len().cast(pl.Int64()))
    )
    return (
        loads.lazy()
        .with_row_index("_officer")
        .with_columns(max_cases=officers["max_cases"])
        .join(kept_locks, on="_officer", how="left", maintain_order="left")
        .with_columns(allowed=pl.max_horizontal("max_cases", pl.col("locked").fill_null(0)))
        .filter(pl.col("max_cases").is_not_null() & (pl.col("cases") > pl.col("allowed")))
        .collect()
    )


def _unassigned_with_room(
    rows: pl.DataFrame, officers: pl.DataFrame, loads: pl.DataFrame
) -> pl.DataFrame:
    """Unassigned cases for which some eligible officer still has room under max_cases.

    Eligibility is decided on the distinct needs (office, required skills), few even on a national
    docket; the cases are then matched to the placeable needs by a hash of the need, checked to be
    collision-free (else the exact, slower join on the list column is used).
    """
    with_room = (
        officers.with_columns(cases=loads["cases"])
        .filter(
            pl.col("active")
            & (pl.col("available_hours") > 0)
            & (pl.col("max_cases").is_null() | (pl.col("cases") < pl.col("max_cases")))
        )
        .select("office", "skills")
        .explode("office")
    )
    need = ["case_office", "required_skills"]
    unassigned = (
        rows.lazy()
        .filter(pl.col("known") & pl.col("officer_id").is_null() & ~pl.col("honoured"))
        .select("_row", "case_id", *need)
        .collect()
    )
    needs = unassigned.select(need).unique()
    placeable = (
        needs.join(with_room, left_on="case_office", right_on="office", how="inner")
        .filter(pl.col("required_skills").list.set_difference(pl.col("skills")).list.len() == 0)
        .select(need)
        .unique()
    )
    if placeable.is_empty():
        return unassigned.clear()
    need_hash = pl.struct(need).hash()
    hashes = unassigned.select(need_hash).to_series()
    if hashes.n_unique() == needs.height:
        placeable_hashes = placeable.select(need_hash).to_series()
        return unassigned.filter(hashes.is_in(placeable_hashes.implode()))
    return unassigned.join(placeable, on=need, how="semi")


def _coverage_violations(rows: pl.DataFrame, cases: pl.DataFrame, violations: _Violations) -> None:
    """Cases listed more than once, and cases missing from the plan."""
    positions = rows["_case"].drop_nulls()
    distinct = positions.n_unique()
    if distinct < positions.len():
        per_case = (
            rows.filter(pl.col("_case").is_not_null() & pl.col("_case").is_duplicated())
            .group_by("case_id")
            .agg(pl.len(), pl.col("_row").min())
            .sort("_row")
        )
        examples = [f"{c} ({n} times)" for c, n, _ in per_case.head(_SHOWN).iter_rows()]
        violations.add("duplicate_case", per_case.height, "case", "listed more than once", examples)
    if distinct < cases.height:
        missing = (
            cases.select("case_id")
            .with_row_index("_row")
            .filter(~pl.col("_row").is_in(positions.implode()))
        )
        violations.add(
            "missing_case",
            missing.height,
            "case",
            "absent from the plan",
            [str(c) for c in _first(missing)["case_id"]],
        )


def check_plan(
    roster: pl.DataFrame, cases: pl.DataFrame, plan: pl.DataFrame, config: Config
) -> CheckReport:
    """Recompute a plan's feasibility and loads from the inputs; report every violation.

    ``roster`` and ``cases`` are validated tables (unique ids; cases after effort estimation, so
    ``effort_hours`` and ``required_skills`` are final); ``plan`` has contract.PLAN_COLUMNS.
    Checked:

    - every input case appears exactly once; no unknown case ids;
    - an assigned officer is on the roster;
    - an honoured lock stays on its officer; any other case sits with an ELIGIBLE officer (active,
      available hours > 0, holds the office and every required skill, max_cases null or > 0);
    - no officer holds more than max_cases cases, locked ones included (when honoured locks alone
      exceed the cap, the officer keeps them and receives nothing else);
    - previous_officer_id, moved, effort_hours and locked agree with the inputs (see module doc);
    - an unassigned case has a reason and is unassignable: it has no eligible officer, or every
      eligible officer is at max_cases in this plan. This is a necessary condition only: whether a
      different plan could have placed more cases (by moving others away) is the solver's
      objective, not something a per-case check can decide.

    Each violation is one line: ``code: count nouns what (first: ids)``. A plan that lists the
    cases in input order takes a fast path without a join on case_id.
    """
    violations = _Violations()
    plan_frame = _conform_plan(plan, violations)
    officers = _officers(roster, config)
    case_frame = _cases(cases)

    rows = _flag_rows(_plan_rows(plan_frame, case_frame, officers), officers)
    loads = _loads(officers, _held_after(rows), config.handoff_hours).collect()

    _coverage_violations(rows, case_frame, violations)
    counts = rows.select(pl.col(code).sum() for code, _, _ in _ROW_CHECKS).row(0, named=True)
    for code, what, show_officer in _ROW_CHECKS:
        if not counts[code]:
            continue
        flagged = _first(rows.filter(pl.col(code)))
        if show_officer:
            examples = [
                f"{c} → {o}" for c, o in flagged.select("case_id", "officer_id").iter_rows()
            ]
        else:
            examples = [str(c) for c in flagged["case_id"]]
        noun = "plan row" if code == "unknown_case" else "case"
        violations.add(code, counts[code], noun, what, examples)

    over_cap = _over_cap(rows, officers, loads)
    if over_cap.height:
        examples = [
            f"{o} holds {n} > {m}"
            for o, n, m in over_cap.select("officer_id", "cases", "allowed")
            .head(_SHOWN)
            .iter_rows()
        ]
        violations.add("max_cases_exceeded", over_cap.height, "officer", "over max_cases", examples)

    stranded = _unassigned_with_room(rows, officers, loads)
    if stranded.height:
        violations.add(
            "unassigned_with_room",
            stranded.height,
            "case",
            "left unassigned although an eligible officer has room",
            [str(c) for c in _first(stranded)["case_id"]],
        )

    staffed = loads.filter(pl.col("available_hours") > 0)["utilization"]
    totals = rows.select(
        moves=pl.col("moved_now").sum(),
        assigned=pl.col("officer_id").is_not_null().sum(),
        unassigned=pl.col("officer_id").is_null().sum(),
    ).row(0, named=True)
    return CheckReport(
        ok=not violations.lines,
        violations=tuple(violations.lines),
        violation_counts=dict(violations.counts),
        officers=loads,
        max_utilization=_optional_float(staffed.max()),
        min_utilization=_optional_float(staffed.min()),
        moves=int(totals["moves"]),
        assigned=int(totals["assigned"]),
        unassigned=int(totals["unassigned"]),
    )


def _optional_float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
