"""Tests of the effort model: rules, conditions, audit, summary and the default model."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assigncli.config import AdjustRule, BaseRule, Config, EffortModel, SkillRule, default_config
from assigncli.contract import EFFORT_COLUMNS
from assigncli.effort import (
    EFFORT_AUDIT_COLUMNS,
    RULE_SUMMARY_COLUMNS,
    SKIPPED_RULES_CODE,
    effort_audit,
    effort_rule_summary,
    estimate_effort,
)
from assigncli.errors import ConfigError, IssueLog
from tests.oracles import CONDITIONS, Row, reference_effort

TIMES = "\u00d7"


def make_config(
    base: Sequence[BaseRule] = (),
    adjust: Sequence[AdjustRule] = (),
    skills: Sequence[SkillRule] = (),
    default_hours: float = 0.5,
) -> Config:
    return Config(
        effort=EffortModel(default_hours, tuple(base), tuple(adjust)),
        skills=tuple(skills),
        source="test.toml",
    )


def make_cases(n: int, **attributes: Sequence[Any] | pl.Series) -> pl.DataFrame:
    """A validated case table of n rows with the given attribute columns."""
    columns: dict[str, Any] = {
        "case_id": [f"C{i}" for i in range(n)],
        "office": ["north"] * n,
        "current_officer_id": pl.Series([None] * n, dtype=pl.String),
        "locked": [False] * n,
        "required_skills": pl.Series([[]] * n, dtype=pl.List(pl.String)),
        "effort_hours": pl.Series([None] * n, dtype=pl.Float64),
    }
    frame = pl.DataFrame(columns)
    extra = [pl.Series(name, values) for name, values in attributes.items()]
    return frame.with_columns(extra) if extra else frame


# --------------------------------------------------------------------------------------------
# estimate_effort
# --------------------------------------------------------------------------------------------


def test_first_matching_base_rule_wins() -> None:
    """When several base rules match, the first in file order sets the hours and the label."""
    config = make_config(
        base=[
            BaseRule("tier = 'a'", 6.0, "a"),
            BaseRule("tier IN ('a', 'b')", 2.0, "a or b"),
            BaseRule("TRUE", 1.0, "anything"),
        ]
    )
    out = estimate_effort(make_cases(3, tier=["a", "b", "c"]), config)
    assert out["effort_hours"].to_list() == [6.0, 2.0, 1.0]
    assert out["effort_base"].to_list() == ["a", "a or b", "anything"]
    assert out["effort_source"].to_list() == ["rule"] * 3


def test_default_hours_when_no_base_rule_matches() -> None:
    """A case no base rule matches gets default_hours, source 'default' and no base label."""
    config = make_config(base=[BaseRule("tier = 'a'", 6.0, "a")], default_hours=0.75)
    out = estimate_effort(make_cases(2, tier=["a", "z"]), config)
    assert out["effort_hours"].to_list() == [6.0, 0.75]
    assert out["effort_source"].to_list() == ["rule", "default"]
    assert out["effort_base"].to_list() == ["a", None]
    assert out["effort_base_hours"].to_list() == [6.0, 0.75]


def test_every_matching_adjustment_applies_in_file_order() -> None:
    """Adjustments apply in order as hours * multiply + add, so their order changes the result."""
    double_then_add = make_config(
        base=[BaseRule("TRUE", 2.0, "all")],
        adjust=[AdjustRule("x", "double", multiply=2.0), AdjustRule("y", "plus one", add=1.0)],
    )
    add_then_double = make_config(
        base=[BaseRule("TRUE", 2.0, "all")],
        adjust=[AdjustRule("y", "plus one", add=1.0), AdjustRule("x", "double", multiply=2.0)],
    )
    cases = make_cases(4, x=[True, True, False, False], y=[True, False, True, False])
    first = estimate_effort(cases, double_then_add)
    second = estimate_effort(cases, add_then_double)
    assert first["effort_hours"].to_list() == [5.0, 4.0, 3.0, 2.0]
    assert second["effort_hours"].to_list() == [6.0, 4.0, 3.0, 2.0]
    assert first["effort_adjustments"].to_list() == [
        ["double", "plus one"],
        ["double"],
        ["plus one"],
        [],
    ]
    assert second["effort_adjustments"].to_list()[0] == ["plus one", "double"]
    assert first["effort_base_hours"].to_list() == [2.0] * 4


def test_adjustments_apply_to_default_hours() -> None:
    """Cases on default hours are adjusted like cases on rule hours."""
    config = make_config(adjust=[AdjustRule("x", "double", multiply=2.0)], default_hours=0.5)
    out = estimate_effort(make_cases(1, x=[True]), config)
    assert out["effort_hours"].to_list() == [1.0]
    assert out["effort_source"].to_list() == ["default"]


def test_negative_add_never_goes_below_zero() -> None:
    """An adjustment with a negative add floors the hours at zero."""
    config = make_config(
        base=[BaseRule("TRUE", 1.0, "all")], adjust=[AdjustRule("TRUE", "discount", add=-5.0)]
    )
    assert estimate_effort(make_cases(1), config)["effort_hours"].to_list() == [0.0]


def test_explicit_effort_overrides_rules_and_adjustments() -> None:
    """A non-null input effort_hours is kept as is: no base rule, no adjustment applies to it."""
    config = make_config(
        base=[BaseRule("TRUE", 6.0, "all")],
        adjust=[AdjustRule("TRUE", "heavy", multiply=3.0, add=1.0)],
    )
    cases = make_cases(2).with_columns(effort_hours=pl.Series([2.5, None]))
    out = estimate_effort(cases, config)
    assert out["effort_hours"].to_list() == [2.5, 19.0]
    assert out["effort_source"].to_list() == ["explicit", "rule"]
    assert out["effort_base"].to_list() == [None, "all"]
    assert out["effort_base_hours"].to_list() == [2.5, 6.0]
    assert out["effort_adjustments"].to_list() == [[], ["heavy"]]


def test_explicit_zero_effort_is_explicit() -> None:
    """An explicit estimate of zero hours is a real estimate, not a missing one."""
    config = make_config(base=[BaseRule("TRUE", 6.0, "all")])
    cases = make_cases(1).with_columns(effort_hours=pl.Series([0.0]))
    assert estimate_effort(cases, config)["effort_source"].to_list() == ["explicit"]


def test_null_attributes_do_not_match() -> None:
    """A null attribute matches neither a condition nor its negation."""
    config = make_config(
        base=[BaseRule("flag", 5.0, "flag"), BaseRule("NOT flag", 3.0, "not flag")],
        adjust=[
            AdjustRule("kind = 'x'", "x", add=1.0),
            AdjustRule("NOT (kind = 'x')", "not x", add=2.0),
        ],
        skills=[SkillRule("flag OR NOT flag", "s", "any flag")],
        default_hours=1.0,
    )
    out = estimate_effort(
        make_cases(1, flag=pl.Series([None], dtype=pl.Boolean), kind=[None]), config
    )
    row = out.row(0, named=True)
    assert row["effort_source"] == "default"
    assert row["effort_hours"] == 1.0
    assert row["effort_adjustments"] == []
    assert row["required_skills"] == []


def test_skill_rules_union_with_input_required_skills() -> None:
    """required_skills is the input list plus every matching skill rule, sorted and unique."""
    config = make_config(
        skills=[
            SkillRule("ns", "national_security", "ns"),
            SkillRule("gps", "gps_monitoring", "gps"),
            SkillRule("ns", "lang:es", "spanish"),
        ]
    )
    cases = make_cases(
        4, ns=[True, False, True, False], gps=[True, False, False, False]
    ).with_columns(
        required_skills=pl.Series(
            [["lang:es"], ["zeta", "alpha", "zeta"], None, []], dtype=pl.List(pl.String)
        )
    )
    out = estimate_effort(cases, config)
    assert out["required_skills"].to_list() == [
        ["gps_monitoring", "lang:es", "national_security"],
        ["alpha", "zeta"],
        ["lang:es", "national_security"],
        [],
    ]


def test_skill_rules_apply_to_explicit_cases() -> None:
    """A case with explicit hours still gets the skills its attributes require."""
    config = make_config(skills=[SkillRule("ns", "national_security", "ns")])
    cases = make_cases(1, ns=[True]).with_columns(effort_hours=pl.Series([4.0]))
    assert estimate_effort(cases, config)["required_skills"].to_list() == [["national_security"]]


def test_output_has_contract_columns_and_keeps_the_rest() -> None:
    """The result has every EFFORT_COLUMNS column with its dtype, and the input columns in place."""
    cases = make_cases(2, tier=["a", "b"])
    out = estimate_effort(cases, make_config(base=[BaseRule("tier = 'a'", 1.0, "a")]))
    for name, dtype in EFFORT_COLUMNS.items():
        assert out.schema[name] == dtype
    assert out.schema["effort_base_hours"] == pl.Float64()
    assert out.columns[: len(cases.columns)] == cases.columns
    assert out["case_id"].to_list() == ["C0", "C1"]


def test_works_without_optional_columns() -> None:
    """Cases without effort_hours or required_skills columns get rule hours and rule skills."""
    cases = pl.DataFrame({"case_id": ["A", "B"], "office": ["x", "x"], "ns": [True, False]})
    config = make_config(skills=[SkillRule("ns", "national_security", "ns")], default_hours=2.0)
    out = estimate_effort(cases, config)
    assert out["effort_hours"].to_list() == [2.0, 2.0]
    assert out["required_skills"].to_list() == [["national_security"], []]


def test_empty_model_gives_default_hours() -> None:
    """A config without rules gives every case the default hours and no adjustments."""
    out = estimate_effort(make_cases(2), make_config(default_hours=0.25))
    assert out["effort_hours"].to_list() == [0.25, 0.25]
    assert out["effort_adjustments"].to_list() == [[], []]


def one_of_each_config() -> Config:
    return make_config(
        base=[BaseRule("ns", 2.0, "ns")],
        adjust=[AdjustRule("ns", "x", multiply=2.0)],
        skills=[SkillRule("ns", "national_security", "ns")],
    )


def test_empty_case_table() -> None:
    """Zero cases give zero rows with the effort columns."""
    out = estimate_effort(make_cases(0, ns=pl.Series([], dtype=pl.Boolean)), one_of_each_config())
    assert out.height == 0
    assert set(EFFORT_COLUMNS) <= set(out.columns)


def test_many_adjust_rules_beyond_one_pattern_key() -> None:
    """More adjust rules than fit one 63-bit pattern key still apply and are listed in order."""
    n_rules = 70
    adjust = [AdjustRule(f"k >= {i}", f"r{i}", add=1.0) for i in range(n_rules)]
    config = make_config(base=[BaseRule("TRUE", 0.0, "zero")], adjust=adjust)
    out = estimate_effort(make_cases(3, k=[-1, 64, 69]), config)
    assert out["effort_hours"].to_list() == [0.0, 65.0, 70.0]
    assert out["effort_adjustments"].to_list()[1] == [f"r{i}" for i in range(65)]


def test_rule_errors_name_the_config_location() -> None:
    """An unknown column in a rule reports the config file, rule kind, position and name."""
    config = make_config(
        adjust=[AdjustRule("ok", "fine", add=1.0), AdjustRule("nope", "bad one", add=1.0)]
    )
    with pytest.raises(ConfigError) as err:
        estimate_effort(make_cases(1, ok=[True]), config)
    assert err.value.message.startswith(
        "test.toml: effort.adjust #2 'bad one' (when 'nope'): unknown column 'nope'"
    )
    assert "[" not in err.value.message


def test_failure_on_data_names_the_rule() -> None:
    """A condition that fails only on actual values (a bad CAST) is a ConfigError naming it,
    without quoting the case's value."""
    config = make_config(base=[BaseRule("CAST(code AS INT) > 3", 1.0, "numeric code")])
    with pytest.raises(ConfigError, match="numeric code") as err:
        estimate_effort(make_cases(1, code=["secret-abc"]), config)
    assert "TRY_CAST" in err.value.message
    assert "secret-abc" not in err.value.message


def test_try_cast_reads_bad_values_as_null() -> None:
    """TRY_CAST turns a value that does not convert into null, which does not match."""
    config = make_config(base=[BaseRule("TRY_CAST(code AS INT) > 3", 1.0, "numeric code")])
    out = estimate_effort(make_cases(3, code=["abc", "7", "2"]), config)
    assert out["effort_source"].to_list() == ["default", "rule", "default"]


def test_duplicate_rule_names_are_rejected() -> None:
    """Two rules of one kind with the same name would make the audit ambiguous."""
    with pytest.raises(ConfigError, match="both named 'same'"):
        make_config(adjust=[AdjustRule("a", "same", add=1.0), AdjustRule("b", "same", add=2.0)])


def mixed_skill_cases() -> pl.DataFrame:
    """Cases with and without skills of their own (unsorted, repeated, null), explicit hours."""
    return make_cases(
        6,
        ns=[True, False, None, True, False, True],
        gps=[False, True, True, None, False, True],
    ).with_columns(
        pl.Series(
            "required_skills",
            [["z", "a", "z"], [], None, ["gps"], ["b"], []],
            dtype=pl.List(pl.String),
        ),
        pl.Series("effort_hours", [None, 3.0, None, None, 0.0, None], dtype=pl.Float64),
    )


def mixed_skill_config() -> Config:
    return make_config(
        base=[BaseRule("ns", 2.0, "ns")],
        adjust=[AdjustRule("ns", "x", multiply=2.0), AdjustRule("gps", "g", add=0.5)],
        skills=[SkillRule("ns", "national_security", "ns"), SkillRule("gps", "gps", "gps")],
    )


def test_cases_with_skills_of_their_own_and_explicit_hours() -> None:
    """Cases with skills of their own (treated apart for speed) get the union, sorted, unique."""
    cases, config = mixed_skill_cases(), mixed_skill_config()
    out = estimate_effort(cases, config)
    assert out["required_skills"].to_list() == [
        ["a", "national_security", "z"],
        ["gps"],
        ["gps"],
        ["gps", "national_security"],
        ["b"],
        ["gps", "national_security"],
    ]
    assert out["effort_hours"].to_list() == [4.0, 3.0, 1.0, 4.0, 0.0, 4.5]
    assert out["effort_source"].to_list() == [
        "rule",
        "explicit",
        "default",
        "rule",
        "explicit",
        "rule",
    ]


def test_without_audit_only_hours_and_skills_are_set() -> None:
    """audit=False sets effort_hours and required_skills as the full estimate does, nothing else."""
    cases, config = mixed_skill_cases(), mixed_skill_config()
    lean = estimate_effort(cases, config, audit=False)
    full = estimate_effort(cases, config)
    assert lean.columns == cases.columns
    assert lean.equals(full.select(cases.columns))


# --------------------------------------------------------------------------------------------
# audit and summary
# --------------------------------------------------------------------------------------------


def test_audit_spells_out_each_number() -> None:
    """The audit table lists base rule, base hours, each adjustment with its effect, and skills."""
    config = make_config(
        base=[BaseRule("TRUE", 2.0, "all")],
        adjust=[
            AdjustRule("x", "criminal", multiply=1.4),
            AdjustRule("x", "embassy", add=1.0),
            AdjustRule("x", "both", multiply=2.0, add=-0.5),
        ],
        skills=[SkillRule("x", "national_security", "ns")],
    )
    cases = make_cases(2, x=[True, False]).with_columns(
        required_skills=pl.Series([["lang:es"], []], dtype=pl.List(pl.String))
    )
    audit = effort_audit(estimate_effort(cases, config), config)
    assert audit.schema == pl.Schema(EFFORT_AUDIT_COLUMNS)
    first = audit.row(0, named=True)
    assert (
        first["effort_adjustments"]
        == f"criminal ({TIMES}1.4);embassy (+1.0);both ({TIMES}2.0, -0.5)"
    )
    assert first["required_skills"] == "lang:es;national_security"
    assert first["effort_base"] == "all"
    assert first["effort_base_hours"] == 2.0
    assert first["effort_hours"] == pytest.approx((2.0 * 1.4 + 1.0) * 2.0 - 0.5)
    assert audit.row(1, named=True)["effort_adjustments"] == ""


def test_rule_summary_counts_and_hours() -> None:
    """The summary gives per rule the cases it touched and the hours it accounts for."""
    config = make_config(
        base=[BaseRule("tier = 'a'", 4.0, "a"), BaseRule("tier = 'b'", 2.0, "b")],
        adjust=[
            AdjustRule("x", "double", multiply=2.0),
            AdjustRule("tier = 'zzz'", "never", add=1.0),
        ],
        skills=[SkillRule("x", "s", "needs s")],
        default_hours=1.0,
    )
    cases = make_cases(4, tier=["a", "b", "c", "a"], x=[True, False, True, True]).with_columns(
        effort_hours=pl.Series([None, None, None, 10.0])
    )
    summary = effort_rule_summary(estimate_effort(cases, config), config)
    assert summary.schema == pl.Schema(RULE_SUMMARY_COLUMNS)
    rows = {(r["kind"], r["rule"]): (r["cases"], r["hours"]) for r in summary.iter_rows(named=True)}
    assert rows == {
        ("explicit", "explicit effort_hours"): (1, 10.0),
        ("base", "a"): (1, 4.0),
        ("base", "b"): (1, 2.0),
        ("default", "default_hours"): (1, 1.0),
        ("adjust", "double"): (2, 5.0),  # a: 4 -> 8, default: 1 -> 2; the explicit row is untouched
        ("adjust", "never"): (0, 0.0),
        ("skill", "needs s"): (3, 8.0 + 2.0 + 10.0),
    }
    assert summary["effect"].to_list()[-3:] == [f"{TIMES}2.0", "+1.0", "requires s"]


# --------------------------------------------------------------------------------------------
# the default model
# --------------------------------------------------------------------------------------------

DEFAULT_MODEL_COLUMNS: dict[str, list[Any]] = {
    "docket": ["non_detained", "non_detained", "non_detained", "detained", "detained", None],
    "final_order": [False, True, True, False, True, None],
    "criminal_conviction": [False, False, True, False, True, None],
    "country_cooperation": [
        "cooperative",
        "cooperative",
        "uncooperative",
        "cooperative",
        "uncooperative",
        None,
    ],
    "travel_document_needed": [False, True, True, False, True, None],
    "monitoring": ["none", "none", "gps", "none", "none", None],
    "national_security_flag": [False, False, False, False, True, None],
}


def test_default_model_runs_on_the_docket_columns() -> None:
    """The built-in model loads and gives the hours and skills documented in default_model.md."""
    config = default_config()
    assert (config.cycle_days, config.handoff_hours) == (28.0, 1.5)
    out = estimate_effort(make_cases(6, **DEFAULT_MODEL_COLUMNS), config)
    expected = [0.5, 1.3, (0.8 + 0.5 + 1.0) * 1.4 + 0.75, 1.0, (1.0 + 0.5 + 1.0) * 1.4 * 1.5, 0.5]
    assert out["effort_hours"].to_list() == pytest.approx(expected)
    assert out["effort_source"].to_list() == ["rule"] * 5 + ["default"]
    assert out["required_skills"].to_list() == [
        [],
        [],
        ["gps_monitoring"],
        [],
        ["national_security"],
        [],
    ]


def test_default_model_names_a_source_for_every_rule() -> None:
    """Every rule of the built-in model says where its figure comes from."""
    config = default_config()
    rules: list[BaseRule | AdjustRule | SkillRule] = [
        *config.effort.base,
        *config.effort.adjust,
        *config.skills,
    ]
    assert rules
    assert all(rule.source.strip() for rule in rules)


def test_default_model_weighs_cases_as_calibrated() -> None:
    """Detained, final-order, travel-document, uncooperative, criminal cases outweigh plain ones."""
    config = default_config()
    plain = {name: values[0] for name, values in DEFAULT_MODEL_COLUMNS.items()}
    variants: list[dict[str, Any]] = [
        {"docket": "detained"},
        {"final_order": True},
        {"travel_document_needed": True},
        {"country_cooperation": "uncooperative", "final_order": True},
        {"criminal_conviction": True},
        {"monitoring": "gps"},
    ]
    rows = [plain] + [plain | change for change in variants]
    cases = make_cases(len(rows), **{k: [r[k] for r in rows] for k in plain})
    hours = estimate_effort(cases, config)["effort_hours"].to_list()
    assert all(h > hours[0] for h in hours[1:])


# --------------------------------------------------------------------------------------------
# property: the vectorized model equals a row-by-row reference
# --------------------------------------------------------------------------------------------

condition_index = st.integers(min_value=0, max_value=len(CONDITIONS) - 1)
hours_value = st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5, 6.0])

row_strategy = st.fixed_dictionaries(
    {
        "a": st.sampled_from(["x", "y", "yy", "z", None]),
        "b": st.sampled_from([True, False, None]),
        "n": st.sampled_from([0, 1, 2, 3, 7, None]),
        "effort_hours": st.sampled_from([None, None, None, 0.0, 2.5]),
        "required_skills": st.sampled_from([None, [], ["s2"], ["s3", "s1", "s3"]]),
    }
)


@st.composite
def models(draw: st.DrawFn) -> Config:
    base = [
        BaseRule(CONDITIONS[draw(condition_index)][0], draw(hours_value), f"base{i}")
        for i in range(draw(st.integers(0, 4)))
    ]
    adjust = [
        AdjustRule(
            CONDITIONS[draw(condition_index)][0],
            f"adjust{i}",
            multiply=draw(st.sampled_from([1.0, 0.5, 1.4, 2.0])),
            add=draw(st.sampled_from([0.0, 1.0, -0.75, 0.25])),
        )
        for i in range(draw(st.integers(0, 5)))
    ]
    skills = [
        SkillRule(
            CONDITIONS[draw(condition_index)][0],
            draw(st.sampled_from(["s1", "s2", "s4"])),
            f"skill{i}",
        )
        for i in range(draw(st.integers(0, 3)))
    ]
    return make_config(base, adjust, skills, default_hours=draw(hours_value))


@settings(deadline=None, max_examples=150)
@given(rows=st.lists(row_strategy, max_size=12), config=models())
def test_estimate_effort_matches_reference(rows: list[Row], config: Config) -> None:
    """On random cases and rules, the vectorized model equals the row-by-row reference."""
    cases = make_cases(len(rows)).with_columns(
        pl.Series("a", [r["a"] for r in rows], dtype=pl.String),
        pl.Series("b", [r["b"] for r in rows], dtype=pl.Boolean),
        pl.Series("n", [r["n"] for r in rows], dtype=pl.Int64),
        pl.Series("effort_hours", [r["effort_hours"] for r in rows], dtype=pl.Float64),
        pl.Series(
            "required_skills", [r["required_skills"] for r in rows], dtype=pl.List(pl.String)
        ),
    )
    out = estimate_effort(cases, config)
    expected = reference_effort(rows, config, dict(CONDITIONS))
    assert out["case_id"].to_list() == [f"C{i}" for i in range(len(rows))]
    for got, want in zip(out.iter_rows(named=True), expected, strict=True):
        for column in ("effort_source", "effort_base", "effort_adjustments", "required_skills"):
            assert got[column] == want[column], column
        for column in ("effort_hours", "effort_base_hours"):
            assert math.isclose(got[column], want[column], rel_tol=1e-12, abs_tol=1e-12), column

    # The summary's hours (skill rows aside) account for the whole effort, rule by rule.
    summary = effort_rule_summary(out, config).filter(pl.col("kind") != "skill")
    assert math.isclose(
        summary["hours"].sum(), out["effort_hours"].sum(), rel_tol=1e-9, abs_tol=1e-9
    )


# --------------------------------------------------------------------------------------------
# the built-in model on case files without its attribute columns
# --------------------------------------------------------------------------------------------


def test_builtin_model_skips_rules_on_absent_columns_with_one_warning() -> None:
    """With only a docket column, the built-in docket rules apply, the rest are skipped, and one
    warning names the skipped rules and the missing columns."""
    cases = make_cases(3, docket=["detained", "non_detained", None])
    issues = IssueLog()
    out = estimate_effort(cases, default_config(), issues=issues, cases_file="cases.csv")
    assert out["effort_hours"].to_list() == [1.0, 0.5, 0.5]
    assert out["effort_base"].to_list() == ["detained docket", "non-detained", None]
    assert len(issues.problems) == 1
    warning = issues.problems[0]
    assert (warning.severity, warning.code, warning.file) == (
        "warning",
        SKIPPED_RULES_CODE,
        "cases.csv",
    )
    assert warning.message.startswith("11 built-in model rules do not apply")
    for column in ("final_order", "criminal_conviction", "monitoring", "national_security_flag"):
        assert column in warning.message
    assert "'final order'" in warning.message
    assert "'detained docket'" not in warning.message
    assert "[" not in warning.message


def test_builtin_model_needs_no_rule_for_explicit_hours() -> None:
    """Cases that all carry effort_hours need no effort rule: only the skipped skill rules,
    which apply to every case, are reported."""
    cases = pl.DataFrame({"case_id": ["A", "B"], "office": ["x", "x"], "effort_hours": [2.0, 0.0]})
    issues = IssueLog()
    out = estimate_effort(cases, default_config(), issues=issues)
    assert out["effort_hours"].to_list() == [2.0, 0.0]
    assert out["required_skills"].to_list() == [[], []]
    (warning,) = issues.problems
    assert warning.message.startswith("2 built-in model rules do not apply")
    assert "effort.base" not in warning.message
    assert "skills 'national security flag', 'GPS monitoring'" in warning.message


def test_builtin_model_on_its_own_columns_warns_nothing() -> None:
    """A case file with every attribute the built-in model reads gets no warning."""
    issues = IssueLog()
    estimate_effort(make_cases(6, **DEFAULT_MODEL_COLUMNS), default_config(), issues=issues)
    assert issues.problems == []


def test_skipped_rules_warning_goes_to_the_log_without_an_issue_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without an issue log the warning is logged, so that no caller loses it."""
    with caplog.at_level("WARNING", logger="assigncli.effort"):
        estimate_effort(make_cases(1, docket=["detained"]), default_config())
    assert sum("built-in model rules do not apply" in r.message for r in caplog.records) == 1


def test_builtin_model_skips_rules_on_columns_of_another_type() -> None:
    """A built-in rule reading a column of another type (yes/no written as text, a numeric
    docket) does not apply either; the one warning says what is wrong with each."""
    cases = make_cases(2, docket=[1, 2], final_order=["yes", "no"])
    issues = IssueLog()
    out = estimate_effort(cases, default_config(), issues=issues)
    assert out["effort_source"].to_list() == ["default", "default"]
    (warning,) = issues.problems
    assert "the case file has no columns criminal_conviction" not in warning.message
    assert (
        "effort.base 'final order': must be a yes/no condition, but it gives 'final_order' "
        "(text, String)" in warning.message
    )
    assert "effort.base 'detained docket': '=' cannot compare 'docket'" in warning.message


def test_own_config_stays_strict_on_column_types() -> None:
    """In a user's config, a condition that does not fit the column's type is a ConfigError."""
    config = make_config(base=[BaseRule("final_order", 1.0, "final")])
    with pytest.raises(ConfigError, match="must be a yes/no condition"):
        estimate_effort(make_cases(1, final_order=["yes"]), config)


def test_audit_and_summary_work_with_skipped_builtin_rules() -> None:
    """The audit and the rule summary run on the same partial case file; skipped rules count 0."""
    config = default_config()
    out = estimate_effort(make_cases(2, docket=["detained", "non_detained"]), config)
    summary = effort_rule_summary(out, config)
    assert summary.filter(pl.col("rule") == "final order")["cases"].to_list() == [0]
    assert effort_audit(out, config).height == 2


def test_own_config_stays_strict_on_absent_columns() -> None:
    """A user's config naming a column the cases lack is a ConfigError naming the rule."""
    config = make_config(base=[BaseRule("dockett = 'detained'", 1.0, "detained")])
    with pytest.raises(ConfigError) as err:
        estimate_effort(make_cases(1, docket=["detained"]), config)
    assert err.value.message.startswith("test.toml: effort.base #1 'detained'")
    assert "unknown column 'dockett'" in err.value.message
