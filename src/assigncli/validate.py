"""Check roster and case tables against the data contract and normalize them.

Every rule is a boolean polars expression that is true on the rows breaking it. All rules of a
file are evaluated together (one pass to parse, one to flag, one to count), so a user sees every
problem of both files at once and a national docket (7.5 million cases) validates in seconds.

What comes out has exactly the dtypes of `contract`, with optional columns filled with their
defaults; later steps never re-check types.

Decisions on lenient input, so that ordinary exports load without hand-editing:
- booleans accept true/false, t/f, yes/no, y/n and 1/0 in any case;
- integer ids (a Parquet int column, an Excel number cell) are read as their decimal text;
- a whole number written as "5.0" is a valid `max_cases`;
- a plain string where a list is expected (CSV, Excel, and also Parquet) is split on ';', so a
  Parquet `office` column of plain strings means one office per officer (or several, ';'-joined);
- list elements are stripped and empty elements dropped (repeats are harmless and kept);
- a column name that differs from a contract column only in case, spaces or dashes is not
  accepted (names are case-sensitive) but is pointed out, so that a 'Locked' column is not
  silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import polars as pl

from assigncli import contract
from assigncli.config import Config
from assigncli.errors import InputError, InputIssue, IssueLog
from assigncli.read import Role, Source, chunked_like, other_sheets, read_source

MAX_ROWS_SHOWN = 5  # rows named in one message
MAX_VALUES_SHOWN = 3  # offending values quoted in one message
MAX_OFFICE_WARNINGS = 20  # uncovered offices reported one by one; the rest are summed up

_INTERNAL = "__assigncli_"  # prefix of the working columns added during validation
_ROW = _INTERNAL + "row"  # 1-based data row, carried through validation only
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
_BOOL_TEXT: dict[str, bool] = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}
# Largest integer a float64 holds exactly; beyond it "whole number" is meaningless.
_MAX_EXACT_INT = float(contract.MAX_WHOLE)

Kind = contract.Kind


@dataclass(frozen=True, eq=False)
class Inputs:
    """Validated, normalized inputs of one run; `problems` holds the warnings found."""

    roster: pl.DataFrame
    cases: pl.DataFrame
    problems: tuple[InputIssue, ...]
    roster_file: str
    cases_file: str


@dataclass(frozen=True, eq=False)
class Validation:
    """Everything `assign validate` reports: all problems, and the tables when a file was clean."""

    roster: pl.DataFrame | None  # None when the roster has errors
    cases: pl.DataFrame | None  # None when the case file has errors
    problems: tuple[InputIssue, ...]  # errors and warnings of both files, in discovery order
    roster_file: str
    cases_file: str

    @property
    def errors(self) -> tuple[InputIssue, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[InputIssue, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_inputs(self) -> Inputs:
        """The validated inputs; InputError listing every problem if any is an error."""
        errors = self.errors
        if errors or self.roster is None or self.cases is None:
            noun = "problem" if len(errors) == 1 else "problems"
            raise InputError(
                f"{self.roster_file}, {self.cases_file}: {len(errors)} {noun} found",
                list(self.problems),
            )
        return Inputs(self.roster, self.cases, self.problems, self.roster_file, self.cases_file)


# --------------------------------------------------------------------------------------------
# Entry points


def check_inputs(
    roster_path: Path, cases_path: Path, config: Config, *, sheet: str | None = None
) -> Validation:
    """Read, validate and cross-check both files, collecting every problem; never raises InputError.

    A file that cannot be read does not stop the other from being validated. ``sheet`` names the
    worksheet of Excel inputs (default: the first).
    """
    issues = IssueLog()
    roster_file, cases_file = str(roster_path), str(cases_path)
    roster_raw = _read_logged(roster_path, "roster", issues, sheet)
    cases_raw = _read_logged(cases_path, "cases", issues, sheet)
    roster = None
    if roster_raw is not None:
        with _on_sheet(issues, roster_raw):
            roster = validate_roster(roster_raw.frame, roster_file, config.cycle_days, issues)
    cases = None
    if cases_raw is not None:
        with _on_sheet(issues, cases_raw):
            cases = validate_cases(cases_raw.frame, cases_file, issues)
    if roster is not None and cases is not None:
        cross_check(roster, cases, roster_file, cases_file, issues, cycle_days=config.cycle_days)
    return Validation(roster, cases, tuple(issues.problems), roster_file, cases_file)


def load_inputs(
    roster_path: Path, cases_path: Path, config: Config, *, sheet: str | None = None
) -> Inputs:
    """Read and validate both files; raise InputError listing every problem if any is an error."""
    return check_inputs(roster_path, cases_path, config, sheet=sheet).to_inputs()


def load_cases(
    cases_path: Path, *, sheet: str | None = None
) -> tuple[pl.DataFrame, tuple[InputIssue, ...]]:
    """Read and validate a case file alone (for `assign effort`); InputError on any error."""
    issues = IssueLog()
    raw = _read_logged(cases_path, "cases", issues, sheet)
    cases = None
    if raw is not None:
        with _on_sheet(issues, raw):
            cases = validate_cases(raw.frame, str(cases_path), issues)
    issues.raise_if_errors(str(cases_path))
    assert cases is not None  # no errors logged means the table validated
    return cases, tuple(issues.problems)


def _read_logged(path: Path, role: Role, issues: IssueLog, sheet: str | None) -> Source | None:
    try:
        return read_source(path, role, sheet)
    except InputError as exc:
        for problem in exc.problems:
            issues.add(problem)
        return None


@contextmanager
def _on_sheet(issues: IssueLog, source: Source) -> Iterator[None]:
    """Problems found while validating an Excel table name its sheet; a missing column also
    lists the workbook's other sheets (the data may be on another one than the first)."""
    start = len(issues.problems)
    yield
    if source.sheet is None:
        return
    others = other_sheets(source.sheet, source.sheets)
    for i in range(start, len(issues.problems)):
        problem = issues.problems[i]
        message = problem.message + (others if problem.code == "missing_column" else "")
        issues.problems[i] = replace(problem, sheet=source.sheet, message=message)


# --------------------------------------------------------------------------------------------
# Column specifications: the contract's schema table, with the cycle length for day ranges


@dataclass(frozen=True)
class _Column:
    """A contract column as validation uses it: the range resolved against the cycle length."""

    name: str
    dtype: pl.DataType
    kind: contract.Kind
    required: bool
    default: object
    expected: str  # what a valid value looks like, range included
    low: float | None
    high: float | None

    @classmethod
    def of(cls, col: contract.Column, cycle_days: float) -> _Column:
        low, high = col.bounds(cycle_days)
        return cls(
            col.name, col.dtype, col.kind, col.required, col.default, col.describe(cycle_days),
            low, high,
        )  # fmt: skip


def _roster_columns(cycle_days: float) -> list[_Column]:
    return [_Column.of(c, cycle_days) for c in contract.ROSTER_SCHEMA]


_CASE_COLUMNS = [_Column.of(c, 0.0) for c in contract.CASES_SCHEMA]


# --------------------------------------------------------------------------------------------
# Parsing: raw column (text from CSV/Excel, native from Parquet) -> contract dtype


@dataclass(frozen=True)
class _Parsed:
    value: pl.Expr  # contract dtype; null where the cell is empty or unparseable
    absent: pl.Expr  # the cell is empty: null or blank text
    checked: bool  # whether a present cell can fail to parse (text to number, bool...)
    shown: pl.Expr | None  # the raw cell, quoted in messages


# A ';'-list cell that needs more than a split: blank, padded, or with an empty element.
_UNTIDY_LIST = r"^\s*$|^\s|\s$|\s;|;\s|;;|^;|;$"


def _parse(raw_column: pl.Series, kind: Kind, *, tidy: bool = False) -> _Parsed | None:
    """How to turn `raw_column` into `kind`; None if its dtype can never be valid.

    The column is passed (not just its dtype) so that list cleaning, the costliest step, can be
    skipped when the data is already tidy, which is the common case. `tidy` says that a String
    column has no blank cell and nothing to strip (see _untidy_text).
    """
    name, dtype = raw_column.name, raw_column.dtype
    raw, shown = pl.col(name), pl.col(name)
    if isinstance(dtype, pl.Categorical | pl.Enum | pl.Null):
        raw, dtype = raw.cast(pl.String), pl.String()
        raw_column = raw_column.cast(pl.String)

    if isinstance(dtype, pl.String):
        if kind == "text" and tidy:
            # Nothing to strip and no blank cell: the column is its own parsed value, shared
            # rather than copied (millions of ids in a national docket).
            return _Parsed(raw, raw.is_null(), False, shown)
        text = raw.str.strip_chars()
        absent = text.fill_null("") == ""
        if kind == "list":
            tidy = not raw_column.str.contains(_UNTIDY_LIST).any()
            # A blank cell is an absent list (null), not a list of one blank element.
            items: pl.Expr = pl.when(~absent).then(raw.str.split(contract.LIST_SEPARATOR))
            return _Parsed(items if tidy else _clean_list(items), absent, False, shown)
        parsers: dict[Kind, Callable[[pl.Expr], pl.Expr]] = {
            "text": lambda t: pl.when(t != "").then(t),
            "float": lambda t: t.cast(pl.Float64, strict=False),
            "int": lambda t: _whole(t.cast(pl.Float64, strict=False)),
            "bool": lambda t: t.str.to_lowercase().replace_strict(
                _BOOL_TEXT, default=None, return_dtype=pl.Boolean
            ),
        }
        return _Parsed(parsers[kind](text), absent, kind != "text", shown)

    absent = raw.is_null()
    if kind == "text" and dtype.is_integer():
        return _Parsed(raw.cast(pl.String), absent, False, shown)
    if kind == "float" and dtype.is_numeric():
        return _Parsed(raw.cast(pl.Float64), absent, False, shown)
    if kind == "int" and dtype.is_numeric():
        value = (
            raw.cast(pl.Int64, strict=False) if dtype.is_integer() else _whole(raw.cast(pl.Float64))
        )
        return _Parsed(value, absent, True, shown)
    if kind == "bool" and isinstance(dtype, pl.Boolean):
        return _Parsed(raw, absent, False, shown)
    if kind == "bool" and dtype.is_numeric():
        return _Parsed(pl.when(raw == 1).then(True).when(raw == 0).then(False), absent, True, shown)
    if kind == "list" and isinstance(dtype, pl.Array):
        raw, dtype = raw.arr.to_list(), pl.List(dtype.inner)
        raw_column = raw_column.arr.to_list()
    if kind == "list" and isinstance(dtype, pl.List) and _castable_to_text(dtype.inner):
        items = raw.cast(pl.List(pl.String))
        elements = raw_column.cast(pl.List(pl.String)).explode(
            empty_as_null=False, keep_nulls=False
        )
        untidy = elements.is_null() | (elements == "") | (elements.str.strip_chars() != elements)
        return _Parsed(_clean_list(items) if untidy.any() else items, absent, False, None)
    return None


def _untidy_text(name: str) -> pl.Expr:
    """Whether some cell of String column `name` is blank or has surrounding whitespace."""
    length = pl.col(name).str.len_bytes()
    return ((length == 0) | (pl.col(name).str.strip_chars().str.len_bytes() != length)).any()


def _castable_to_text(dtype: object) -> bool:
    if not isinstance(dtype, pl.DataType):  # polars stores instances; a bare class never occurs
        return False
    return (
        isinstance(dtype, pl.String | pl.Categorical | pl.Enum | pl.Null | pl.Boolean)
        or dtype.is_numeric()
    )


def _whole(number: pl.Expr) -> pl.Expr:
    """Int64 where `number` is a finite whole number of safe size, else null."""
    ok = number.is_finite() & (number == number.floor()) & (number.abs() <= _MAX_EXACT_INT)
    return pl.when(ok).then(number).cast(pl.Int64)


def _clean_list(items: pl.Expr) -> pl.Expr:
    element = pl.element().str.strip_chars()
    return items.list.eval(element.filter(element != ""))


# --------------------------------------------------------------------------------------------
# Rules


@dataclass(frozen=True)
class _Rule:
    code: str
    column: str | None
    flag: pl.Expr  # true on every row breaking the rule
    message: str
    shown: pl.Expr | None = None  # values quoted in the message (elementwise: applied after filter)
    severity: Literal["error", "warning"] = "error"
    duplicates_of: str | None = None  # name the repeated values of this column in the message
    precheck: pl.Expr | None = None  # scalar; when false no row can break the rule


def _value(name: str) -> pl.Expr:
    """The parsed value of contract column `name` inside the validation frame."""
    return pl.col(f"{_INTERNAL}v_{name}")


def _raw(name: str) -> pl.Expr:
    """The cell of column `name` as the file had it, for quoting in messages."""
    return pl.col(name)


def _validate(
    raw: pl.DataFrame,
    file: str,
    *,
    columns: Sequence[_Column],
    role_rules: Sequence[_Rule],
    issues: IssueLog,
) -> pl.DataFrame | None:
    """Parse every contract column, apply the generic and the role's rules, report, normalize."""
    errors_before = len(issues.errors)
    names = {c.name for c in columns}
    reserved = [name for name in raw.columns if name.startswith(_INTERNAL)]
    if reserved:
        issues.add(
            InputIssue(
                "error",
                file,
                f"column names starting with '{_INTERNAL}' are reserved; rename the column",
                column=reserved[0],
                code="reserved_column",
            )
        )
        return None
    near = _near_misses(raw.columns, columns)

    # Text columns that need no stripping are used as they are; one select tests them all at
    # once (in parallel).
    text_columns = [
        c.name
        for c in columns
        if c.kind == "text" and isinstance(raw.schema.get(c.name), pl.String)
    ]
    untidy = (
        raw.select(_untidy_text(name).alias(name) for name in text_columns).row(0)
        if text_columns
        else ()
    )
    tidy = {name: not flag for name, flag in zip(text_columns, untidy, strict=True)}

    parsed_exprs: list[pl.Expr] = []
    rules: list[_Rule] = []
    present: set[str] = set()  # contract columns found with a usable dtype
    for col in columns:
        dtype = col.dtype
        target = _value(col.name)
        if col.name not in raw.columns:
            if col.required:
                issues.add(_missing_column(file, col, raw.columns, near.get(col.name)))
            elif col.name in near:
                # Without this, a 'Locked' column would silently release every lock in the file.
                issues.add(
                    InputIssue(
                        "warning",
                        file,
                        f"column '{near[col.name]}' is ignored: column names are case-sensitive; "
                        f"rename it to '{col.name}' to use it",
                        column=near[col.name],
                        code="column_name",
                    )
                )
            parsed_exprs.append(pl.lit(col.default, dtype=dtype).alias(target.meta.output_name()))
            continue
        parsed = _parse(raw[col.name], col.kind, tidy=tidy.get(col.name, False))
        if parsed is None:
            issues.add(
                InputIssue(
                    "error",
                    file,
                    f"expected {col.expected}, but the column has type {raw.schema[col.name]}",
                    column=col.name,
                    code="wrong_type",
                )
            )
            parsed_exprs.append(pl.lit(None, dtype=dtype).alias(target.meta.output_name()))
            continue
        present.add(col.name)
        parsed_exprs.append(parsed.value.alias(target.meta.output_name()))
        if parsed.checked:
            # On the parsed column, so the parse is not redone for the flag.
            invalid = ~parsed.absent & target.is_null()
            rules.append(
                _Rule("wrong_type", col.name, invalid, f"expected {col.expected}", parsed.shown)
            )
        if col.required:
            # A text or list value is null exactly when its cell is empty: testing the parsed
            # column is much cheaper than redoing the parse's stripping.
            absent = target.is_null() if col.kind in ("text", "list") else parsed.absent
            rules.append(
                _Rule("missing_value", col.name, absent, f"empty; expected {col.expected}")
            )

    # A rule on a column that is absent or unusable would only repeat the column-level error.
    rules.extend(rule for rule in role_rules if rule.column in present)
    # Report column by column, in contract order, whatever order the rules were written in.
    order = {c.name: i for i, c in enumerate(columns)}
    rules.sort(key=lambda rule: order.get(rule.column or "", len(order)))
    frame = raw.with_row_index(_ROW, offset=1).with_columns(parsed_exprs)
    _apply_rules(frame, rules, file, issues)

    if len(issues.errors) > errors_before:
        return None
    out = [
        _value(c.name).fill_null(pl.lit(c.default, dtype=c.dtype)).alias(c.name)
        if c.default is not None
        else _value(c.name).alias(c.name)
        for c in columns
    ]
    extras = [c for c in raw.columns if c not in names]
    return frame.select(*out, *extras)


def _apply_rules(frame: pl.DataFrame, rules: Sequence[_Rule], file: str, issues: IssueLog) -> None:
    """Count the rows breaking each rule in one pass; sample rows and values of failing rules only.

    Clean data, the common case at national scale, costs one pass of boolean sums.
    """
    # Cheap whole-column tests (one n_unique instead of a per-row is_duplicated) rule out
    # most rules on clean data before any per-row work.
    prechecks = [(i, r.precheck) for i, r in enumerate(rules) if r.precheck is not None]
    passed = frame.select(e.alias(str(i)) for i, e in prechecks).row(0) if prechecks else ()
    skip = {i for (i, _), ok in zip(prechecks, passed, strict=True) if not ok}
    rules = [rule for i, rule in enumerate(rules) if i not in skip]
    if not rules:
        return
    counts = frame.select(
        rule.flag.fill_null(False).sum().alias(str(i)) for i, rule in enumerate(rules)
    ).row(0)
    failing = [(rule, int(n)) for rule, n in zip(rules, counts, strict=True) if n]
    if not failing:
        return

    samples: list[pl.Expr] = []
    for i, (rule, _) in enumerate(failing):
        flag = rule.flag.fill_null(False)
        samples.append(pl.col(_ROW).filter(flag).head(MAX_ROWS_SHOWN).implode().alias(f"r{i}"))
        if rule.shown is not None and rule.duplicates_of is None:
            # Filter before casting: only failing cells are turned into text.
            values = rule.shown.filter(flag).unique(maintain_order=True).head(MAX_VALUES_SHOWN)
            samples.append(values.cast(pl.String).implode().alias(f"v{i}"))
    summary = frame.select(samples).row(0, named=True)

    for i, (rule, count) in enumerate(failing):
        message = rule.message
        if rule.duplicates_of is not None:
            message += _describe_duplicates(
                frame.filter(rule.flag.fill_null(False)), rule.duplicates_of
            )
        elif rule.shown is not None:
            message += "; found " + ", ".join(_quote(v) for v in summary[f"v{i}"])
        issues.add(
            InputIssue(
                rule.severity,
                file,
                message,
                column=rule.column,
                rows=tuple(int(r) for r in summary[f"r{i}"]),
                row_count=count,
                code=rule.code,
            )
        )


def _describe_duplicates(failing: pl.DataFrame, name: str) -> str:
    groups = failing.group_by(_value(name), maintain_order=True).agg(
        pl.col(_ROW).head(MAX_ROWS_SHOWN).alias("rows"), pl.len().alias("n")
    )
    parts = [
        f"{_quote(value)} on rows {', '.join(str(r) for r in rows)}"
        + (" ..." if n > len(rows) else "")
        for value, rows, n in groups.head(MAX_VALUES_SHOWN).iter_rows()
    ]
    more = groups.height - len(parts)
    tail = f" (and {more} more repeated values)" if more > 0 else ""
    return ": " + "; ".join(parts) + tail


def _quote(value: object) -> str:
    return "empty" if value is None else repr(str(value))


# What to do about an out-of-range value, beyond stating the range.
_RANGE_HINTS = {
    "capacity_hours": " (set active to false for an officer with no time)",
    "unavailable_days": " (the cycle length)",
}


def _roster_rules(cycle_days: float) -> list[_Rule]:
    office = _value("office")
    # The same arithmetic as contract.available_hours_expr, on the parsed values.
    available = _value("capacity_hours") * (1.0 - _value("unavailable_days") / cycle_days)
    return [
        _duplicate_rule("officer_id"),
        _Rule(
            "empty_list",
            "office",
            office.list.len() == 0,
            "no office listed; an officer needs at least one (separate several with ';')",
        ),
        *_range_rules(_roster_columns(cycle_days)),
        _Rule(
            "out_of_range",
            "unavailable_days",
            available.is_finite()
            & (available > 0)
            & (available < contract.MIN_CAPACITY_HOURS)
            & _value("active").fill_null(True),
            f"leaves less than {contract.MIN_CAPACITY_HOURS:g} available hours"
            " (capacity_hours × (1 − unavailable_days / cycle_days)); for an officer away all"
            f" cycle write {cycle_days:g}",
            _raw("unavailable_days"),
        ),
    ]


def _case_rules() -> list[_Rule]:
    office, current, locked = _value("office"), _value("current_officer_id"), _value("locked")
    sep = contract.LIST_SEPARATOR
    return [
        _duplicate_rule("case_id"),
        _Rule(
            "multiple_offices",
            "office",
            office.str.contains(sep, literal=True),
            f"a case belongs to exactly one office; '{sep}' is not allowed",
            _raw("office"),
        ),
        # Applies even without a current_officer_id column: every lock then lacks an officer.
        _Rule(
            "locked_without_officer",
            "locked",
            locked & current.is_null(),
            "locked is true but current_officer_id is empty: a lock needs an officer",
        ),
        *_range_rules(_CASE_COLUMNS),
    ]


def _range_rules(columns: Sequence[_Column]) -> list[_Rule]:
    """Every number of the contract is finite and inside its documented range."""
    rules = []
    for col in columns:
        if col.low is None and col.high is None:
            continue
        value = _value(col.name)
        hint = _RANGE_HINTS.get(col.name, "")
        if col.kind == "float":
            rules.append(
                _Rule(
                    "not_finite",
                    col.name,
                    value.is_not_null() & ~value.is_finite(),
                    f"must be a finite number: {col.expected}",
                    _raw(col.name),
                )
            )
        outside = pl.lit(False)
        if col.low is not None:
            outside |= value < col.low
        if col.high is not None:
            outside |= value > col.high
        if col.kind == "float":
            outside &= value.is_finite()
        rules.append(
            _Rule(
                "out_of_range",
                col.name,
                outside,
                f"out of range; expected {col.expected}{hint}",
                _raw(col.name),
            )
        )
    return rules


def _duplicate_rule(name: str) -> _Rule:
    value = _value(name)
    return _Rule(
        "duplicate_id",
        name,
        value.is_not_null() & value.is_duplicated(),
        "must be unique (surrounding spaces are ignored)",
        duplicates_of=name,
        # Distinct 64-bit hashes prove distinct values at a fraction of the cost of counting
        # distinct strings; equal hashes (a repeat, or rarely a collision) run the exact rule.
        precheck=value.drop_nulls().hash().n_unique() < value.count(),
    )


def _missing_column(file: str, col: _Column, found: Sequence[str], near: str | None) -> InputIssue:
    message = f"required column '{col.name}' is missing (expected {col.expected})"
    if near is not None:
        message += f"; found '{near}': column names are case-sensitive, rename it"
    elif len(found) == 1 and any(sep in found[0] for sep in (";", "\t", "|")):
        message += "; the header looks like one column: the file must be comma-separated"
    return InputIssue("error", file, message, column=col.name, code="missing_column")


def _canonical(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip()).lower()


def _near_misses(found: Sequence[str], columns: Sequence[_Column]) -> dict[str, str]:
    """Absent contract column -> a column that is probably it ('Locked', 'office ')."""
    expected = {c.name for c in columns}
    candidates = {_canonical(name): name for name in found if name not in expected}
    return {
        c.name: candidates[c.name] for c in columns if c.name not in found and c.name in candidates
    }


# --------------------------------------------------------------------------------------------
# Public validators


def validate_roster(
    raw: pl.DataFrame, file: str, cycle_days: float, issues: IssueLog
) -> pl.DataFrame | None:
    """The normalized roster, or None when it has errors (all of them added to `issues`)."""
    columns, rules = _roster_columns(cycle_days), _roster_rules(cycle_days)
    return _validate(raw, file, columns=columns, role_rules=rules, issues=issues)


def validate_cases(raw: pl.DataFrame, file: str, issues: IssueLog) -> pl.DataFrame | None:
    """The normalized case table (extra columns kept as read), or None when it has errors."""
    rules = _case_rules()
    return _validate(raw, file, columns=_CASE_COLUMNS, role_rules=rules, issues=issues)


def cross_check(
    roster: pl.DataFrame,
    cases: pl.DataFrame,
    roster_file: str,
    cases_file: str,
    issues: IssueLog,
    *,
    cycle_days: float | None = None,
) -> None:
    """Warn about what supervisors meet every cycle: departed officers, broken locks, bare offices.

    Both tables must be validated. With `cycle_days`, officers away for the whole cycle do not
    count as covering an office. Skills are not checked here: skill rules add requirements later.
    """
    active = pl.col("active")
    able = active & pl.col("max_cases").fill_null(1).gt(0)
    if cycle_days is not None:
        able &= pl.col("unavailable_days") < cycle_days
    all_ids = roster["officer_id"]
    active_ids = roster.filter(active)["officer_id"]
    any_office = roster["office"].explode().drop_nulls().unique()
    able_office = roster.filter(able)["office"].explode().drop_nulls().unique()

    current, locked, office = pl.col("current_officer_id"), pl.col("locked"), pl.col("office")
    known = current.is_in(all_ids.implode()).fill_null(False)
    honoured = locked & current.is_in(active_ids.implode()).fill_null(False)
    gone = current.is_not_null() & ~known

    rules = [
        _Rule(
            "unknown_officer",
            "current_officer_id",
            gone,
            f"current officer is not on the roster {roster_file} (left?): the case must move",
            current,
            "warning",
        ),
        _Rule(
            "lock_not_honoured",
            "locked",
            locked & gone,
            "locked to an officer not on the roster: the lock cannot be kept, the case moves",
            current,
            "warning",
        ),
        _Rule(
            "lock_not_honoured",
            "locked",
            locked & known & ~honoured,
            "locked to an inactive officer: the lock cannot be kept, the case moves",
            current,
            "warning",
        ),
    ]
    frame = cases.select(
        # In the cases' chunks: a column of another layout would have the frame copied whole.
        chunked_like(
            pl.int_range(1, cases.height + 1, dtype=pl.UInt32, eager=True), cases.to_series(0)
        ).alias(_ROW),
        current,
        office,
        locked,
        honoured.alias("__honoured"),
        office.is_in(any_office.implode()).fill_null(False).alias("__held"),
        office.is_in(able_office.implode()).fill_null(False).alias("__covered"),
    )
    _apply_rules(frame, rules, cases_file, issues)
    _report_uncovered_offices(frame, roster_file, cases_file, issues)
    _report_locks_outside_office(frame, roster, cases_file, issues)


def _report_uncovered_offices(
    frame: pl.DataFrame, roster_file: str, cases_file: str, issues: IssueLog
) -> None:
    stranded = frame.filter(~pl.col("__covered") & ~pl.col("__honoured"))
    if stranded.is_empty():
        return
    by_office = (
        stranded.group_by("office", maintain_order=True)
        .agg(
            pl.col(_ROW).head(MAX_ROWS_SHOWN).alias("rows"),
            pl.len().alias("n"),
            pl.col("__held").first(),
        )
        .sort("n", descending=True, maintain_order=True)
    )
    for office, rows, n, held in by_office.head(MAX_OFFICE_WARNINGS).iter_rows():
        why = (
            "every officer holding it is inactive, away all cycle or capped at 0 cases"
            if held
            else f"no officer in {roster_file} holds this office"
        )
        issues.add(
            InputIssue(
                "warning",
                cases_file,
                f"office {_quote(office)}: {why}; {n} case(s) cannot be assigned",
                column="office",
                rows=tuple(int(r) for r in rows),
                row_count=int(n),
                code="uncovered_office",
            )
        )
    rest = by_office.slice(MAX_OFFICE_WARNINGS)
    if rest.height:
        first_rows = rest.select(pl.col("rows").explode().sort().head(MAX_ROWS_SHOWN)).to_series()
        issues.add(
            InputIssue(
                "warning",
                cases_file,
                f"{rest.height} more offices have no available officer; "
                f"their {int(rest['n'].sum())} case(s) cannot be assigned",
                column="office",
                rows=tuple(int(r) for r in first_rows),
                row_count=int(rest["n"].sum()),
                code="uncovered_office",
            )
        )


def _report_locks_outside_office(
    frame: pl.DataFrame, roster: pl.DataFrame, cases_file: str, issues: IssueLog
) -> None:
    """An honoured lock keeps its officer even outside their offices; say so: maybe a data slip."""
    locked = frame.filter(pl.col("__honoured")).select(_ROW, "current_officer_id", "office")
    if locked.is_empty():
        return
    joined = locked.join(
        roster.select("officer_id", pl.col("office").alias("__offices")),
        left_on="current_officer_id",
        right_on="officer_id",
        how="left",
    ).filter(~pl.col("__offices").list.contains(pl.col("office")))
    if joined.is_empty():
        return
    issues.add(
        InputIssue(
            "warning",
            cases_file,
            "locked case stays with an officer who does not hold its office"
            " (the lock is kept; check the office or the lock)",
            column="locked",
            rows=tuple(int(r) for r in joined[_ROW].head(MAX_ROWS_SHOWN)),
            row_count=joined.height,
            code="lock_outside_office",
        )
    )
