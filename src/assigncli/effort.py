"""Effort estimation: expected officer hours per cycle for every case, from the config's rules.

A case's hours come from exactly one of three sources:

- ``explicit``: the input row has a non-null ``effort_hours``. It overrides the rules entirely:
  no base rule and **no adjustment** is applied to it, because an analyst who typed a number
  meant that number.
- ``rule``: the first base rule (in file order) whose condition holds gives the base hours.
- ``default``: no base rule holds; the base hours are ``[effort] default_hours``.

Rule and default hours then go through every adjust rule whose condition holds, in file order:
``hours = max(0, hours * multiply + add)``. Skill rules add their ``require`` to the case's
``required_skills`` whatever the effort source.

Conditions are compiled by condition.py into polars expressions (never evaluated as Python, never
handed to a SQL engine). A condition that is null for a row (a missing attribute) does not match,
as in a SQL ``WHERE``. A rule of the built-in model that reads a column the case file lacks does
not apply, and one warning names those rules; a user's own config must fit the case file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from assigncli.condition import ConditionError, UnknownColumnsError, compile_condition
from assigncli.config import AdjustRule, Config, quoted, rule_location
from assigncli.errors import ConfigError, InputIssue, IssueLog
from assigncli.read import chunked_like, row_positions

__all__ = [
    "EFFORT_AUDIT_COLUMNS",
    "RULE_SUMMARY_COLUMNS",
    "SKIPPED_RULES_CODE",
    "effort_audit",
    "effort_rule_summary",
    "estimate_effort",
]

log = logging.getLogger(__name__)

# Columns of the table `assign effort` writes, in order.
EFFORT_AUDIT_COLUMNS: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "office": pl.String(),
    "effort_source": pl.String(),
    "effort_base": pl.String(),
    "effort_base_hours": pl.Float64(),
    "effort_adjustments": pl.String(),  # rules applied with their effect, see effort_audit
    "effort_hours": pl.Float64(),
    "required_skills": pl.String(),  # ';'-joined
}

# Columns of effort_rule_summary, in order.
RULE_SUMMARY_COLUMNS: dict[str, pl.DataType] = {
    "kind": pl.String(),  # explicit | base | default | adjust | skill
    "rule": pl.String(),
    "when": pl.String(),
    "effect": pl.String(),
    "cases": pl.Int64(),
    "hours": pl.Float64(),
}

# InputIssue code of the warning that built-in rules were skipped for missing columns.
SKIPPED_RULES_CODE = "builtin_rules_skipped"

_EMPTY_LIST = pl.lit([], dtype=pl.List(pl.String()))
_BITS_PER_KEY = 63
_LOOKUP_LIMIT = 1 << 22  # largest bit key looked up in a table rather than by hash
# Measured on 1M and 7.5M synthetic cases (polars 2.1): the in-memory engine runs this plan of
# wide row-wise expressions and order-keeping joins about twice as fast as the streaming one.
_ENGINE: Literal["in-memory"] = "in-memory"
_TIMES = "\u00d7"  # multiplication sign, as in 'criminal conviction (\u00d71.4)'

RuleKind = Literal["effort.base", "effort.adjust", "skills"]


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Skipped:
    """A built-in rule that does not apply: the case table lacks columns it reads (`missing`),
    or a column it reads holds another type of value (`mismatch`, what is wrong)."""

    kind: RuleKind
    name: str
    missing: tuple[str, ...] = ()
    mismatch: str = ""


@dataclass(frozen=True)
class _Masks:
    """Every rule's condition as a Boolean expression, in config order (skipped: never true)."""

    base: list[pl.Expr]
    adjust: list[pl.Expr]
    skills: list[pl.Expr]
    skipped: list[_Skipped]


def _compile_kind(
    config: Config, schema: pl.Schema, kind: RuleKind, rules: Sequence[tuple[str, str]]
) -> tuple[list[pl.Expr], list[_Skipped]]:
    masks: list[pl.Expr] = []
    skipped: list[_Skipped] = []
    for i, (when, name) in enumerate(rules, start=1):
        try:
            masks.append(compile_condition(when, schema))
        except ConditionError as exc:
            if not config.builtin:
                location = rule_location(config.source, kind, i, name, when)
                raise ConfigError(f"{location}: {exc.message}") from None
            # The built-in conditions are known to parse, so what fails here is the fit to this
            # case table. Broadcast to the table's height even in a select of only literals.
            masks.append(pl.repeat(False, pl.len(), dtype=pl.Boolean()))
            if isinstance(exc, UnknownColumnsError):
                skipped.append(_Skipped(kind, name, missing=exc.names))
            else:
                skipped.append(_Skipped(kind, name, mismatch=exc.message))
    return masks, skipped


def _compile_rules(config: Config, schema: pl.Schema) -> _Masks:
    """Conditions of the base, adjust and skill rules, with errors located in the config."""
    base, skipped_base = _compile_kind(
        config, schema, "effort.base", [(r.when, r.name) for r in config.effort.base]
    )
    adjust, skipped_adjust = _compile_kind(
        config, schema, "effort.adjust", [(r.when, r.name) for r in config.effort.adjust]
    )
    skills, skipped_skills = _compile_kind(
        config, schema, "skills", [(r.when, r.name) for r in config.skills]
    )
    return _Masks(base, adjust, skills, [*skipped_base, *skipped_adjust, *skipped_skills])


def _skipped_warning(
    skipped: Sequence[_Skipped], cases_file: str, *, rules_decide: bool
) -> InputIssue | None:
    """One warning naming the skipped built-in rules and the columns they need.

    Base and adjust rules only matter when some case has no explicit effort_hours
    (`rules_decide`); skill rules apply to every case.
    """
    relevant = [s for s in skipped if rules_decide or s.kind == "skills"]
    if not relevant:
        return None
    parts: list[str] = []
    absent = [s for s in relevant if s.missing]
    if absent:
        missing = list(dict.fromkeys(name for s in absent for name in s.missing))
        by_kind: dict[str, list[str]] = {}
        for s in absent:
            by_kind.setdefault(s.kind, []).append(quoted(s.name))
        rules = "; ".join(f"{kind} {', '.join(names)}" for kind, names in by_kind.items())
        columns = "column" if len(missing) == 1 else "columns"
        parts.append(f"the case file has no {columns} {', '.join(missing)}: {rules}")
    parts += [f"{s.kind} {quoted(s.name)}: {s.mismatch}" for s in relevant if s.mismatch]
    noun = "rule does" if len(relevant) == 1 else "rules do"
    message = (
        f"{len(relevant)} built-in model {noun} not apply, because {'; and '.join(parts)}. "
        "Add or fix the columns, give effort_hours, or use a config of your own (--config)"
    )
    return InputIssue(severity="warning", file=cases_file, message=message, code=SKIPPED_RULES_CODE)


def _temp_prefix(schema: pl.Schema) -> str:
    """A column-name prefix that no input column starts with, for intermediate columns."""
    prefix = "__assigncli_effort_"
    while any(name.startswith(prefix) for name in schema.names()):
        prefix = "_" + prefix
    return prefix


def _first_match(branches: Sequence[tuple[pl.Expr, pl.Expr]], otherwise: pl.Expr) -> pl.Expr:
    """Value of the first branch whose mask holds, as one vectorized when/then expression."""
    # Folded from the last branch so that the first one is tested first.
    expr = otherwise
    for mask, value in reversed(branches):
        expr = pl.when(mask).then(value).otherwise(expr)
    return expr


def _apply_adjustment(hours: pl.Expr, mask: pl.Expr, rule: AdjustRule) -> pl.Expr:
    # Written as hours * factor + offset (factor 1, offset 0 where the rule does not match)
    # so that `hours` appears once: a when/then/otherwise on it would double the expression
    # tree with every rule.
    if rule.multiply != 1.0:
        hours = hours * pl.when(mask).then(pl.lit(rule.multiply)).otherwise(pl.lit(1.0))
    if rule.add != 0.0:
        hours = hours + pl.when(mask).then(pl.lit(rule.add)).otherwise(pl.lit(0.0))
    if rule.add < 0.0:
        # multiply >= 0 is enforced by the config, so only a negative add can go below zero.
        hours = hours.clip(lower_bound=0.0)
    return hours


# --------------------------------------------------------------------------------------------
# Estimation
# --------------------------------------------------------------------------------------------


def _pattern_keys(
    masks: Sequence[str], prefix: str, zero: pl.Expr | None = None
) -> tuple[list[pl.Expr], list[str], list[pl.Expr]]:
    """Pack boolean mask columns into UInt64 bit keys (63 masks per key).

    Returns the key expressions, their column names, and for each mask an expression that tests
    its bit on the key columns. Rows where `zero` holds get key 0 (no mask set).
    """
    keys: list[pl.Expr] = []
    names: list[str] = []
    for chunk_start in range(0, len(masks), _BITS_PER_KEY):
        chunk = masks[chunk_start : chunk_start + _BITS_PER_KEY]
        name = f"{prefix}{chunk_start // _BITS_PER_KEY}"
        key = pl.sum_horizontal(
            [
                pl.col(m).cast(pl.UInt64()) * pl.lit(1 << bit, dtype=pl.UInt64())
                for bit, m in enumerate(chunk)
            ]
        )
        if zero is not None:
            key = pl.when(zero).then(pl.lit(0, dtype=pl.UInt64())).otherwise(key)
        keys.append(key.alias(name))
        names.append(name)
    tests = [
        (pl.col(names[i // _BITS_PER_KEY]) & pl.lit(1 << (i % _BITS_PER_KEY), dtype=pl.UInt64()))
        != 0
        for i in range(len(masks))
    ]
    return keys, names, tests


def _rule_columns(
    masks: _Masks, schema: pl.Schema
) -> tuple[str, list[str], list[str], list[str], list[pl.Expr], pl.Expr]:
    """Temp-column prefix; names and expressions of every rule's condition (base, adjust,
    skill); and the explicit ``effort_hours`` as Float64 (null literal without the column)."""
    tmp = _temp_prefix(schema)
    base_cols = [f"{tmp}base_{i}" for i in range(len(masks.base))]
    adjust_cols = [f"{tmp}adjust_{i}" for i in range(len(masks.adjust))]
    skill_cols = [f"{tmp}skill_{i}" for i in range(len(masks.skills))]
    named = [
        mask.alias(name)
        for mask, name in zip(
            [*masks.base, *masks.adjust, *masks.skills],
            [*base_cols, *adjust_cols, *skill_cols],
            strict=True,
        )
    ]
    if "effort_hours" in schema:
        explicit_hours = pl.col("effort_hours").cast(pl.Float64())
    else:
        explicit_hours = pl.lit(None, dtype=pl.Float64())
    return tmp, base_cols, adjust_cols, skill_cols, named, explicit_hours


def estimate_effort(
    cases: pl.DataFrame,
    config: Config,
    *,
    audit: bool = True,
    issues: IssueLog | None = None,
    cases_file: str = "cases",
) -> pl.DataFrame:
    """The cases with effort columns set by the rules of `config`.

    Sets (or replaces) ``effort_hours`` (final hours per cycle), ``effort_source``
    (``explicit`` | ``rule`` | ``default``), ``effort_base`` (label of the first matching base
    rule; null for explicit and default rows), ``effort_base_hours`` (hours before
    adjustments; the explicit value for explicit rows), ``effort_adjustments`` (labels of the
    adjust rules applied, in order; empty for explicit rows, which adjustments never touch) and
    ``required_skills`` (input skills plus every matching skill rule's ``require``, sorted, unique).
    Every other column is kept as it was. Raises ConfigError for a rule that cannot be applied
    to these cases.

    With ``audit=False`` only ``effort_hours`` and ``required_skills`` are set: what planning
    needs, without the audit columns' time and memory at national scale.

    Rules of the built-in model on columns the cases lack do not apply; the one warning that
    says so (code SKIPPED_RULES_CODE, naming `cases_file`) goes to `issues`, or to the log
    without one.

    The rules are evaluated on a narrow frame of conditions, and the new columns are attached
    to the cases without copying the columns they already have.
    """
    masks = _compile_rules(config, cases.schema)
    if masks.skipped:
        rules_decide = "effort_hours" not in cases.columns or cases["effort_hours"].null_count() > 0
        warning = _skipped_warning(masks.skipped, cases_file, rules_decide=rules_decide)
        if warning is not None:
            if issues is None:
                log.warning("%s", warning.render())
            else:
                issues.add(warning)
    try:
        return _estimate_eager(cases, config, masks, audit=audit)
    except pl.exceptions.PolarsError:
        _blame_rule(cases, config, masks)
        raise


def _estimate_eager(
    cases: pl.DataFrame, config: Config, compiled: _Masks, *, audit: bool
) -> pl.DataFrame:
    schema = cases.schema
    rules = config.effort
    n_base = len(rules.base)
    tmp, base_cols, adjust_cols, skill_cols, masks, explicit_hours = _rule_columns(compiled, schema)
    explicit_col = f"{tmp}explicit"
    explicit = pl.col(explicit_col)
    rule_hours_col = f"{tmp}rule_hours"
    base_code_col = f"{tmp}base_code"
    input_col = f"{tmp}input_skills"
    if "required_skills" in schema:
        input_skills = pl.col("required_skills").fill_null(_EMPTY_LIST)
    else:
        input_skills = _EMPTY_LIST

    rule_hours = _first_match(
        [(pl.col(c), pl.lit(float(r.hours))) for c, r in zip(base_cols, rules.base, strict=True)],
        pl.lit(float(rules.default_hours)),
    )
    adjusted = pl.col(rule_hours_col)
    for c, r in zip(adjust_cols, rules.adjust, strict=True):
        adjusted = _apply_adjustment(adjusted, pl.col(c), r)
    # The base rule as a small code (n_base: none) rather than its label: labels are handed
    # out below from one short list, sharing the text instead of copying it per case.
    base_code = _first_match(
        [(pl.col(c), pl.lit(i, dtype=pl.UInt32())) for i, c in enumerate(base_cols)],
        pl.lit(n_base, dtype=pl.UInt32()),
    )
    adjust_keys, adjust_key_cols, adjust_bits = _pattern_keys(
        adjust_cols, f"{tmp}adjust_key_", explicit
    )
    skill_keys, skill_key_cols, skill_bits = _pattern_keys(skill_cols, f"{tmp}skill_key_")

    audit_columns: list[pl.Expr | str] = [
        pl.when(explicit)
        .then(pl.lit("explicit"))
        .when(pl.col(base_code_col) < n_base)
        .then(pl.lit("rule"))
        .otherwise(pl.lit("default"))
        .alias("effort_source"),
        pl.when(explicit)
        .then(pl.lit(n_base, dtype=pl.UInt32()))
        .otherwise(pl.col(base_code_col))
        .alias(base_code_col),
        pl.when(explicit)
        .then(explicit_hours)
        .otherwise(pl.col(rule_hours_col))
        .alias("effort_base_hours"),
        *adjust_key_cols,
    ]
    narrow = (
        cases.lazy()
        .select(*masks, explicit_hours.alias("effort_hours"), input_skills.alias(input_col))
        .with_columns(
            explicit_hours.is_not_null().alias(explicit_col),
            rule_hours.alias(rule_hours_col),
            base_code.alias(base_code_col),
        )
        .with_columns(*(adjust_keys if audit else []), *skill_keys)
        .select(
            pl.when(explicit).then(explicit_hours).otherwise(adjusted).alias("effort_hours"),
            *(audit_columns if audit else []),
            *skill_key_cols,
            input_col,
        )
        .collect(engine=_ENGINE)
    )

    def required(skills: pl.Expr) -> pl.Expr:
        return (
            pl.concat_list(
                [
                    skills,
                    *(
                        pl.when(bit).then(pl.lit(r.require))
                        for bit, r in zip(skill_bits, config.skills, strict=True)
                    ),
                ]
            )
            .list.drop_nulls()
            .list.unique()
            .list.sort()
        )

    required_skills = _required_skills(narrow, input_col, skill_key_cols, required)
    if not audit:
        return _attach(cases, narrow["effort_hours"], required_skills.alias("required_skills"))

    labels = pl.Series([r.name for r in rules.base] + [None], dtype=pl.String())
    effort_base = labels.gather(narrow[base_code_col])
    if adjust_key_cols:
        applied = pl.concat_list(
            [
                pl.when(bit).then(pl.lit(r.name))
                for bit, r in zip(adjust_bits, rules.adjust, strict=True)
            ]
        ).list.drop_nulls()
        adjustments = _by_pattern(narrow.select(adjust_key_cols), applied)
    else:
        adjustments = pl.repeat(_EMPTY_LIST, narrow.height, eager=True)
    return _attach(
        cases,
        narrow["effort_hours"],
        narrow["effort_source"],
        effort_base.alias("effort_base"),
        narrow["effort_base_hours"],
        adjustments.alias("effort_adjustments"),
        required_skills.alias("required_skills"),
    )


def _attach(cases: pl.DataFrame, *columns: pl.Series) -> pl.DataFrame:
    """`cases` with `columns` set, laid out in the same chunks as the cases (see chunked_like)."""
    if not cases.width:
        return cases.with_columns(columns)
    like = cases.to_series(0)
    return cases.with_columns(chunked_like(column, like) for column in columns)


def _by_pattern(keys: pl.DataFrame, value: pl.Expr) -> pl.Series:
    """`value` per row, computed once per distinct row of `keys` and handed out by a gather.

    A few distinct patterns cover millions of cases, and a gather from one short column shares
    its text instead of copying it per case.
    """
    values, index = _patterns(keys, value, keys.height)
    return values.gather(index)


def _patterns(keys: pl.DataFrame, value: pl.Expr, height: int) -> tuple[pl.Series, pl.Series]:
    """`value` on each distinct row of `keys` (one chunk), and each row's index among them
    (UInt32). `height` is the number of rows, which a frame without columns does not hold."""
    if keys.width == 0:
        return pl.select(value).to_series().rechunk(), pl.zeros(
            height, dtype=pl.UInt32(), eager=True
        )
    if keys.width == 1 and keys.dtypes[0] == pl.UInt64() and keys.height:
        # Bit keys of a few rules are small integers: a lookup table beats hashing them.
        column = keys.to_series()
        largest = column.max()
        if isinstance(largest, int) and largest < _LOOKUP_LIMIT:
            present = np.zeros(largest + 1, dtype=bool)
            present[column.cast(pl.UInt32()).to_numpy()] = True
            found = np.flatnonzero(present)
            table = np.zeros(largest + 1, dtype=np.uint32)
            table[found] = np.arange(len(found), dtype=np.uint32)
            distinct = pl.DataFrame({keys.columns[0]: pl.Series(found, dtype=pl.UInt64())})
            values = distinct.select(value).to_series().rechunk()
            return values, pl.Series(table).gather(column.cast(pl.UInt32()))
    distinct = keys.unique()
    values = distinct.select(value).to_series().rechunk()
    return values, row_positions(keys, distinct)


def _required_skills(
    narrow: pl.DataFrame,
    input_col: str,
    key_cols: list[str],
    required: Callable[[pl.Expr], pl.Expr],
) -> pl.Series:
    """``required_skills`` of every case: its own skills plus those its skill rules require.

    Most cases list no skill of their own; their requirement depends on the skill rules they
    match alone (a small integer key). Only cases with skills of their own are matched on their
    list, which costs far more per case.
    """
    own = narrow[input_col].list.len().fill_null(0) > 0
    # Every case is first looked up as if it had no skill of its own (cheap), then the few that
    # do are overwritten.
    bare_values, index = _patterns(narrow.select(key_cols), required(_EMPTY_LIST), narrow.height)
    values = bare_values.cast(pl.List(pl.String()))
    if own.any():
        with_own = narrow.select(input_col, *key_cols).filter(own)
        own_values, own_index = _patterns(with_own, required(pl.col(input_col)), with_own.height)
        index = index.cast(pl.UInt32()).scatter(
            own.arg_true(), own_index.cast(pl.UInt32()) + bare_values.len()
        )
        values = pl.concat([values, own_values.cast(pl.List(pl.String()))]).rechunk()
    return values.gather(index)


def _blame_rule(cases: pl.DataFrame, config: Config, masks: _Masks) -> None:
    """Raise a ConfigError naming the first rule whose condition fails on these rows, if any.

    The message does not quote the failing value: case attributes stay out of messages.
    """
    located: list[tuple[RuleKind, int, str, str, pl.Expr]] = [
        *(
            ("effort.base", i, r.name, r.when, m)
            for i, (r, m) in enumerate(zip(config.effort.base, masks.base, strict=True), start=1)
        ),
        *(
            ("effort.adjust", i, r.name, r.when, m)
            for i, (r, m) in enumerate(
                zip(config.effort.adjust, masks.adjust, strict=True), start=1
            )
        ),
        *(
            ("skills", i, r.name, r.when, m)
            for i, (r, m) in enumerate(zip(config.skills, masks.skills, strict=True), start=1)
        ),
    ]
    for kind, i, name, when, mask in located:
        try:
            cases.select(mask)
        except pl.exceptions.PolarsError as exc:
            text = str(exc)
            if "conversion" in text and "failed" in text:
                reason = "a value cannot be converted by CAST (TRY_CAST reads such values as null)"
            else:
                reason = f"cannot be evaluated on the case data ({type(exc).__name__})"
            location = rule_location(config.source, kind, i, name, when)
            raise ConfigError(f"{location}: {reason}") from None


# --------------------------------------------------------------------------------------------
# Audit and summary
# --------------------------------------------------------------------------------------------


def _number(value: float) -> str:
    return str(float(value))


def _effect(rule: AdjustRule) -> str:
    parts = []
    if rule.multiply != 1.0:
        parts.append(f"{_TIMES}{_number(rule.multiply)}")
    if rule.add != 0.0:
        parts.append(("+" if rule.add >= 0 else "-") + _number(abs(rule.add)))
    return ", ".join(parts) or "no change"


def _require_effort_columns(frame: pl.DataFrame, what: str) -> None:
    missing = [
        c
        for c in (
            "effort_hours",
            "effort_source",
            "effort_base",
            "effort_base_hours",
            "effort_adjustments",
        )
        if c not in frame.columns
    ]
    if missing:
        raise ValueError(
            f"{what} needs the output of estimate_effort; missing: {', '.join(missing)}"
        )


def effort_audit(cases_with_effort: pl.DataFrame, config: Config) -> pl.DataFrame:
    """The per-case table `assign effort` writes (columns: EFFORT_AUDIT_COLUMNS).

    Adjustments are written as ``label (\u00d71.4);label (+1.0)`` in the order they were applied,
    so that an analyst can recompute every number from effort_base_hours.
    """
    _require_effort_columns(cases_with_effort, "effort_audit")
    described = {r.name: f"{r.name} ({_effect(r)})" for r in config.effort.adjust}
    adjustments = pl.col("effort_adjustments")
    if described:
        adjustments = adjustments.list.eval(pl.element().replace(described))
    skills = (
        pl.col("required_skills").fill_null(_EMPTY_LIST).list.join(";")
        if "required_skills" in cases_with_effort.columns
        else pl.lit("")
    )
    return cases_with_effort.select(
        pl.col("case_id"),
        pl.col("office"),
        pl.col("effort_source"),
        pl.col("effort_base"),
        pl.col("effort_base_hours"),
        adjustments.list.join(";").alias("effort_adjustments"),
        pl.col("effort_hours"),
        skills.alias("required_skills"),
    )


def effort_rule_summary(cases_with_effort: pl.DataFrame, config: Config) -> pl.DataFrame:
    """Per rule, how many cases it touched and the hours it accounts for (RULE_SUMMARY_COLUMNS).

    Rows, in this order: explicit estimates; every base rule (cases it decided, their base
    hours); the default; every adjust rule (cases it applied to, the hours it added, negative
    when it removed hours); every skill rule (cases it matched, their total hours). The
    ``hours`` of all rows but the skill rows add up to the total effort; skill rows overlap them
    and say how much work needs that skill. Rules that matched nothing are listed too: a rule
    that never fires often has a typo in a value.
    """
    _require_effort_columns(cases_with_effort, "effort_rule_summary")
    rules = config.effort
    source = pl.col("effort_source")
    # (kind, rule, when, effect, cases expression, hours expression) per output row
    rows: list[tuple[str, str, str, str, pl.Expr, pl.Expr]] = []

    def count(mask: pl.Expr, hours: str) -> tuple[pl.Expr, pl.Expr]:
        return mask.sum(), pl.col(hours).filter(mask).sum()

    explicit = source == "explicit"
    rows.append(
        ("explicit", "explicit effort_hours", "", "as given", *count(explicit, "effort_hours"))
    )
    for base_rule in rules.base:
        decided = pl.col("effort_base") == base_rule.name
        effect = f"{_number(base_rule.hours)} h"
        rows.append(
            ("base", base_rule.name, base_rule.when, effect, *count(decided, "effort_base_hours"))
        )
    default = source == "default"
    effect = f"{_number(rules.default_hours)} h"
    rows.append(("default", "default_hours", "", effect, *count(default, "effort_base_hours")))

    # Replay the adjustments from the base hours to split the total into per-rule increments.
    frame = cases_with_effort.lazy()
    tmp = _temp_prefix(cases_with_effort.schema)
    previous = "effort_base_hours"
    for i, adjust_rule in enumerate(rules.adjust):
        applied = pl.col("effort_adjustments").list.contains(pl.lit(adjust_rule.name))
        current = f"{tmp}after_{i}"
        frame = frame.with_columns(
            _apply_adjustment(pl.col(previous), applied, adjust_rule).alias(current)
        )
        increment = (pl.col(current) - pl.col(previous)).sum()
        rows.append(
            (
                "adjust",
                adjust_rule.name,
                adjust_rule.when,
                _effect(adjust_rule),
                applied.sum(),
                increment,
            )
        )
        previous = current

    skill_masks, _ = _compile_kind(
        config,
        cases_with_effort.schema,
        "skills",
        [(r.when, r.name) for r in config.skills],
    )
    for skill_rule, matched in zip(config.skills, skill_masks, strict=True):
        effect = f"requires {skill_rule.require}"
        rows.append(
            ("skill", skill_rule.name, skill_rule.when, effect, *count(matched, "effort_hours"))
        )

    aggregations = [
        expr.alias(f"{i}_{what}")
        for i, row in enumerate(rows)
        for what, expr in (("cases", row[4]), ("hours", row[5]))
    ]
    totals = frame.select(aggregations).collect(engine=_ENGINE).row(0)
    return pl.DataFrame(
        [(*row[:4], totals[2 * i], totals[2 * i + 1]) for i, row in enumerate(rows)],
        schema=RULE_SUMMARY_COLUMNS,
        orient="row",
    )
