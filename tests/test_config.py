"""Tests of the config: loading, discovery, defaults, every validation error and its message."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from assigncli.cli import app
from assigncli.config import (
    BUILTIN_SOURCE,
    DEFAULT_CONFIG_NAME,
    NUMBER_RANGES,
    AdjustRule,
    BaseRule,
    Config,
    EffortModel,
    default_config,
    load_config,
)
from assigncli.errors import EXIT_CONFIG, ConfigError


def write(tmp_path: Path, text: str, name: str = "model.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    message = err.value.message
    assert "\n" not in message  # one plain line
    assert "[[" not in message and "[effort" not in message  # no TOML brackets in locators
    return message


# --------------------------------------------------------------------------------------------
# loading and discovery
# --------------------------------------------------------------------------------------------


def test_builtin_model_is_marked_builtin() -> None:
    """The shipped model loads, says where it came from, and is the lenient built-in."""
    config = default_config()
    assert (config.source, config.builtin) == (BUILTIN_SOURCE, True)
    assert config.effort.base and config.effort.adjust and config.skills
    assert len(config.sha256) == 64


def test_discovery_uses_local_assign_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --config, ./assign.toml is used when present (strict), else the built-in model."""
    monkeypatch.chdir(tmp_path)
    assert load_config(None).builtin
    write(tmp_path, "cycle_days = 14\n", DEFAULT_CONFIG_NAME)
    local = load_config(None)
    assert (local.source, local.cycle_days, local.builtin) == (DEFAULT_CONFIG_NAME, 14.0, False)


def test_a_directory_named_assign_toml_is_not_a_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discovery only picks a file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / DEFAULT_CONFIG_NAME).mkdir()
    assert load_config(None).builtin


def test_explicit_path_is_strict_even_for_a_copy_of_the_builtin(tmp_path: Path) -> None:
    """A copy of the built-in model passed by path is the user's own config: strict."""
    text = (Path(__file__).parents[1] / "src/assigncli/default_model.toml").read_text()
    config = load_config(write(tmp_path, text))
    assert not config.builtin
    assert config.effort == default_config().effort


def test_missing_keys_fall_back_to_defaults(tmp_path: Path) -> None:
    """An empty file is a model with default cycle, handoff and hours, and no rules."""
    config = load_config(write(tmp_path, ""))
    assert (config.cycle_days, config.handoff_hours, config.effort.default_hours) == (
        28.0,
        1.5,
        0.5,
    )
    assert (config.effort.base, config.effort.adjust, config.skills) == ((), (), ())


def test_rule_name_defaults_to_its_condition(tmp_path: Path) -> None:
    """A rule without a name is labelled by its condition; source defaults to empty."""
    config = load_config(write(tmp_path, '[[effort.base]]\nwhen = "flag"\nhours = 2\n'))
    (rule,) = config.effort.base
    assert (rule.name, rule.when, rule.hours, rule.source) == ("flag", "flag", 2.0, "")


def test_to_dict_round_trips_the_rules(tmp_path: Path) -> None:
    """The manifest form lists every figure and rule."""
    path = write(
        tmp_path,
        'handoff_hours = 2\n[[effort.adjust]]\nname = "a"\nwhen = "x"\nmultiply = 1.5\n',
    )
    data = load_config(path).to_dict()
    assert data["handoff_hours"] == 2.0
    assert data["effort"]["adjust"] == [
        {"when": "x", "name": "a", "multiply": 1.5, "add": 0.0, "source": ""}
    ]


# --------------------------------------------------------------------------------------------
# file errors
# --------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    """A --config path that does not exist says so."""
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_directory_and_binary_file(tmp_path: Path) -> None:
    """A directory or a non-UTF-8 file is a plain 'cannot read config' message."""
    with pytest.raises(ConfigError, match="cannot read config: is a directory"):
        load_config(tmp_path)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"cycle_days = 28\n\xff\xfe")
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte 17\)"):
        load_config(binary)


def test_toml_syntax_error_is_one_line_with_position(tmp_path: Path) -> None:
    """Broken TOML names the file, line and column, and what is wrong, on one line."""
    message = config_error(tmp_path, "cycle_days = 28\nhandoff_hours = = 1\n")
    assert message.endswith("model.toml, line 2, column 17: not valid TOML: invalid value")


# --------------------------------------------------------------------------------------------
# keys, types and rules
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cycle_dayz = 28\n", "model.toml: unknown key(s) cycle_dayz; allowed: cycle_days,"),
        ("[effort]\ndefault = 1\n", "model.toml: effort: unknown key(s) default; allowed:"),
        ("effort = 3\n", "model.toml: effort must be a table"),
        ("[effort]\nbase = 3\n", "model.toml: effort.base must be an array of tables"),
        ("skills = [1]\n", "model.toml: skills must be an array of tables"),
        (
            '[[effort.base]]\nwhen = "x"\nhours = 1\nweight = 2\n',
            "model.toml: effort.base #1: unknown key(s) weight; allowed: hours, name, source, when",
        ),
        ("[[effort.base]]\nhours = 1\n", "model.toml: effort.base #1: missing required key 'when'"),
        ('[[effort.base]]\nwhen = "x"\n', "model.toml: effort.base #1 'x': missing required key"),
        (
            '[[effort.base]]\nwhen = "  "\nhours = 1\n',
            "model.toml: effort.base #1: 'when' must be a non-empty string, got '  '",
        ),
        (
            '[[effort.base]]\nwhen = "x"\nhours = "6"\n',
            "model.toml: effort.base #1 'x': 'hours' must be a number, got '6'",
        ),
        (
            '[[effort.base]]\nwhen = "x"\nhours = true\n',
            "'hours' must be a number, got True",
        ),
        (
            '[[effort.adjust]]\nwhen = "x"\n',
            "model.toml: effort.adjust #1: needs 'multiply' or 'add'",
        ),
        (
            '[[skills]]\nname = "ns"\nwhen = "x"\n',
            "model.toml: skills #1 'ns': missing required key 'require'",
        ),
        (
            '[[skills]]\nwhen = "x"\nrequire = 5\n',
            "model.toml: skills #1 'x': 'require' must be a non-empty string, got 5",
        ),
        (
            '[[effort.base]]\nname = "n"\nwhen = "docket = = 1"\nhours = 1\n',
            "model.toml: effort.base #1 'n' (when 'docket = = 1'): does not parse: expected a "
            "value at character 10, found '='",
        ),
        (
            '[[effort.adjust]]\nname = "leak"\nwhen = "docket IN (SELECT a FROM read_csv(\'/etc/passwd\'))"\nadd = 1\n',
            "model.toml: effort.adjust #1 'leak' (when 'docket IN (SELECT a FROM "
            "read_csv('/etc/passwd'))'): subqueries are not allowed",
        ),
        (
            '[[effort.base]]\nwhen = "a"\nhours = 1\n[[effort.base]]\nname = "a"\nwhen = "b"\nhours = 2\n',
            "model.toml: effort.base #1 and #2 are both named 'a'; give each rule a distinct name",
        ),
        (
            '[[skills]]\nwhen = "count(*) > 3"\nrequire = "s"\n',
            "model.toml: skills #1 'count(*) > 3': count() is an aggregate over all cases, "
            "not allowed",
        ),
    ],
)
def test_validation_errors(tmp_path: Path, text: str, expected: str) -> None:
    """Each mistake is a ConfigError naming the file, the key or rule, and what was expected."""
    assert expected in config_error(tmp_path, text)


def test_conditions_are_checked_when_the_file_loads(tmp_path: Path) -> None:
    """A condition that is not allowed fails at load, before any data is read."""
    message = config_error(
        tmp_path, '[[effort.base]]\nname = "clock"\nwhen = "now() > 1"\nhours = 1\n'
    )
    assert "effort.base #1 'clock'" in message
    assert "now() is not deterministic, not allowed" in message


def test_long_conditions_are_shortened_in_messages(tmp_path: Path) -> None:
    """A long condition is quoted in part, so that one message stays one readable line."""
    when = " OR ".join(f"n = {i}" for i in range(200)) + " OR"
    message = config_error(tmp_path, f'[[effort.base]]\nwhen = "{when}"\nhours = 1\n')
    assert len(message) < 300
    assert "..." in message


# --------------------------------------------------------------------------------------------
# numeric ranges
# --------------------------------------------------------------------------------------------

NUMBER_CASES = [
    ("handoff_hours = {v}\n", "handoff_hours", ""),
    ("cycle_days = {v}\n", "cycle_days", ""),
    ("[effort]\ndefault_hours = {v}\n", "default_hours", "model.toml: effort: "),
    ('[[effort.base]]\nname = "b"\nwhen = "x"\nhours = {v}\n', "hours", "effort.base #1 'b': "),
    (
        '[[effort.adjust]]\nname = "a"\nwhen = "x"\nmultiply = {v}\n',
        "multiply",
        "effort.adjust #1 'a': ",
    ),
    ('[[effort.adjust]]\nname = "a"\nwhen = "x"\nadd = {v}\n', "add", "effort.adjust #1 'a': "),
]


@pytest.mark.parametrize(("template", "key", "where"), NUMBER_CASES)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e300"])
def test_non_finite_and_absurd_numbers_state_the_range(
    tmp_path: Path, template: str, key: str, where: str, value: str
) -> None:
    """nan, inf and absurd values are refused, naming the field and the supported range."""
    message = config_error(tmp_path, template.format(v=value))
    high = NUMBER_RANGES[key][1]
    assert f"'{key}' is " in message
    assert f"to {high:g}" in message
    assert where in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cycle_days = 0\n", "'cycle_days' is 0; supported: a number above 0 to 366"),
        ("cycle_days = 400\n", "'cycle_days' is 400; supported: a number above 0 to 366"),
        ("handoff_hours = -1\n", "'handoff_hours' is -1; supported: a number from 0 to 1000"),
        ("[effort]\ndefault_hours = -0.5\n", "'default_hours' is -0.5; supported: a number from"),
        (
            '[[effort.adjust]]\nwhen = "x"\nmultiply = -1\n',
            "'multiply' is -1; supported: a number from 0 to 100",
        ),
        (
            '[[effort.adjust]]\nwhen = "x"\nadd = -5000\n',
            "'add' is -5000; supported: a number from -1000 to 1000",
        ),
    ],
)
def test_out_of_range_numbers(tmp_path: Path, text: str, expected: str) -> None:
    """Negative, zero-where-positive and too large values name the field and the range."""
    assert expected in config_error(tmp_path, text)


def test_models_built_in_python_are_checked_too() -> None:
    """Config and rule objects refuse out-of-range numbers at construction, naming the field."""
    with pytest.raises(ConfigError, match="'handoff_hours' is nan; supported: a number from 0"):
        Config(handoff_hours=math.nan)
    with pytest.raises(ConfigError, match=r"effort\.base rule 'b': 'hours' is inf"):
        BaseRule("x", math.inf, "b")
    with pytest.raises(ConfigError, match=r"effort\.adjust rule 'a': 'multiply' is -1"):
        AdjustRule("x", "a", multiply=-1.0)
    with pytest.raises(ConfigError, match="effort: 'default_hours' is 5000"):
        EffortModel(default_hours=5000.0)


def test_range_edges_are_accepted(tmp_path: Path) -> None:
    """The ends of each supported range load."""
    config = load_config(
        write(
            tmp_path,
            "cycle_days = 366\nhandoff_hours = 0\n[effort]\ndefault_hours = 1000\n"
            '[[effort.adjust]]\nwhen = "x"\nmultiply = 100\nadd = -1000\n',
        )
    )
    assert config.cycle_days == 366.0
    assert config.effort.adjust[0].add == -1000.0
    assert all(math.isfinite(v) for v in (config.handoff_hours, config.effort.default_hours))


# --------------------------------------------------------------------------------------------
# the command line
# --------------------------------------------------------------------------------------------

ROSTER = "officer_id,office,capacity_hours\nA,NYC,100\nB,NYC,80\nC,BOS;NYC,60\n"


def small_files(tmp_path: Path, cases: str) -> tuple[Path, Path]:
    return write(tmp_path, ROSTER, "roster.csv"), write(tmp_path, cases, "cases.csv")


MINIMAL_CASES = "case_id,office,effort_hours\nK1,NYC,2\nK2,NYC,3.5\nK3,BOS,1\nK4,NYC,0.5\n"
DOCKET_CASES = (
    "case_id,office,effort_hours,docket\nK1,NYC,,detained\nK2,NYC,3.5,non_detained\n"
    "K3,BOS,,non_detained\nK4,NYC,,\n"
)


@pytest.mark.parametrize("cases", [MINIMAL_CASES, DOCKET_CASES], ids=["effort_hours", "docket"])
@pytest.mark.parametrize("command", ["plan", "compare"])
def test_builtin_model_plans_an_ordinary_case_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, cases: str
) -> None:
    """`assign plan|compare` with the built-in model on cases with only case_id, office,
    effort_hours (and docket) exits 0, plans every case and warns once about skipped rules."""
    monkeypatch.chdir(tmp_path)
    roster, case_file = small_files(tmp_path, cases)
    args = [command, str(roster), str(case_file), "--time-limit", "5"]
    if command == "plan":
        args += ["--out", str(tmp_path / "out" / "plan.csv")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert text.count("built-in model rule") == 1
    assert "[]" not in text
    if command == "plan":
        plan = pl.read_csv(
            tmp_path / "out" / "plan.csv", schema_overrides={"officer_id": pl.String}
        )
        assert plan.height == 4
        assert plan["officer_id"].null_count() == 0


def test_json_lists_the_skipped_rules_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--json carries the warning with its stable code among the run's warnings."""
    monkeypatch.chdir(tmp_path)
    roster, case_file = small_files(tmp_path, DOCKET_CASES)
    out = tmp_path / "p.csv"
    result = CliRunner().invoke(
        app, ["plan", str(roster), str(case_file), "--out", str(out), "--json", "-q"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "p.manifest.json").read_text())
    codes = [w["code"] for w in manifest["warnings"]]
    assert codes.count("builtin_rules_skipped") == 1


def test_own_config_with_a_typo_column_exits_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user's config naming an absent column is exit 4 naming the rule; nothing is written."""
    monkeypatch.chdir(tmp_path)
    roster, case_file = small_files(tmp_path, DOCKET_CASES)
    model = write(
        tmp_path, '[[effort.base]]\nname = "detained"\nwhen = "dockett = \'detained\'"\nhours = 2\n'
    )
    out = tmp_path / "plan.csv"
    result = CliRunner().invoke(
        app, ["plan", str(roster), str(case_file), "--config", str(model), "--out", str(out)]
    )
    assert result.exit_code == EXIT_CONFIG
    text = " ".join(result.output.split())
    assert "model.toml: effort.base #1 'detained' (when 'dockett = 'detained''):" in text
    assert "unknown column 'dockett'" in text
    assert not out.exists()


def test_local_assign_toml_is_strict_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A discovered ./assign.toml is the user's own config: an absent column is exit 4."""
    monkeypatch.chdir(tmp_path)
    roster, case_file = small_files(tmp_path, MINIMAL_CASES)
    write(tmp_path, '[[skills]]\nwhen = "gps"\nrequire = "gps"\n', DEFAULT_CONFIG_NAME)
    result = CliRunner().invoke(app, ["plan", str(roster), str(case_file)])
    assert result.exit_code == EXIT_CONFIG
    assert "unknown column 'gps'" in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("handoff_hours = nan\n", "'handoff_hours' is nan; supported: a number from 0 to 1000"),
        ("cycle_days = = 3\n", "line 1, column 14: not valid TOML"),
        (
            "[[effort.base]]\nwhen = \"docket IN (SELECT a FROM read_csv('/etc/hostname'))\"\nhours = 1\n",
            "subqueries are not allowed",
        ),
    ],
)
def test_config_errors_exit_4_with_a_json_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: str
) -> None:
    """Config errors are exit 4, one plain message, and --json prints the error object."""
    monkeypatch.chdir(tmp_path)
    roster, case_file = small_files(tmp_path, DOCKET_CASES)
    model = write(tmp_path, text)
    result = CliRunner().invoke(
        app, ["plan", str(roster), str(case_file), "--config", str(model), "--json"]
    )
    assert result.exit_code == EXIT_CONFIG
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["exit_code"] == EXIT_CONFIG
    assert expected in payload["message"]
    assert "\n" not in payload["message"]
