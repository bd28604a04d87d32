"""The model configuration: cycle, handoff cost, effort rules and skill rules, loaded from TOML.

Missing keys fall back to the built-in defaults; unknown keys are errors (a typo must not silently
change a plan). Every number must be finite and inside the range NUMBER_RANGES states, and every
condition must parse (see condition.py) when the file is loaded, before any data is read.
Messages are plain text: they name the file, the key or rule, and what was expected.
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from assigncli.condition import ConditionError, parse_condition
from assigncli.errors import ConfigError

DEFAULT_CONFIG_NAME = "assign.toml"
BUILTIN_SOURCE = "built-in"

# Supported range of every number in the config: (key, lowest, highest, lowest is allowed).
NUMBER_RANGES: dict[str, tuple[float, float, bool]] = {
    "cycle_days": (0.0, 366.0, False),
    "handoff_hours": (0.0, 1_000.0, True),
    "default_hours": (0.0, 1_000.0, True),
    "hours": (0.0, 1_000.0, True),
    "multiply": (0.0, 100.0, True),
    "add": (-1_000.0, 1_000.0, True),
}
_MAX_QUOTED = 60  # characters of a rule name or condition quoted in a message


@dataclass(frozen=True)
class BaseRule:
    """Sets the base hours of a case; the first matching base rule wins."""

    when: str
    hours: float
    name: str
    source: str = ""

    def __post_init__(self) -> None:
        check_range("hours", self.hours, f"effort.base rule {quoted(self.name)}")


@dataclass(frozen=True)
class AdjustRule:
    """Scales (multiply) and/or shifts (add) the hours of every case it matches, in file order."""

    when: str
    name: str
    multiply: float = 1.0
    add: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        where = f"effort.adjust rule {quoted(self.name)}"
        check_range("multiply", self.multiply, where)
        check_range("add", self.add, where)


@dataclass(frozen=True)
class SkillRule:
    """Cases matching `when` need an officer holding skill `require`."""

    when: str
    require: str
    name: str
    source: str = ""


@dataclass(frozen=True)
class EffortModel:
    default_hours: float = 0.5
    base: tuple[BaseRule, ...] = ()
    adjust: tuple[AdjustRule, ...] = ()

    def __post_init__(self) -> None:
        check_range("default_hours", self.default_hours, "effort")


@dataclass(frozen=True)
class Config:
    cycle_days: float = 28.0
    handoff_hours: float = 1.5
    effort: EffortModel = field(default_factory=EffortModel)
    skills: tuple[SkillRule, ...] = ()
    source: str = BUILTIN_SOURCE  # where this config came from (path or "built-in")
    sha256: str = ""  # hash of the TOML text, for the manifest
    # The built-in model must run on any case file of the data contract: its rules on columns
    # the file lacks are skipped with a warning. A user's own config stays strict.
    builtin: bool = False

    def __post_init__(self) -> None:
        where = describe_source(self.source)
        check_range("cycle_days", self.cycle_days, where)
        check_range("handoff_hours", self.handoff_hours, where)
        # Labels identify rules in the audit and the summary, so they must be unambiguous.
        groups = [
            ("effort.base", [r.name for r in self.effort.base]),
            ("effort.adjust", [r.name for r in self.effort.adjust]),
            ("skills", [r.name for r in self.skills]),
        ]
        for kind, names in groups:
            seen: dict[str, int] = {}
            for i, name in enumerate(names, start=1):
                if name in seen:
                    raise ConfigError(
                        f"{where}: {kind} #{seen[name]} and #{i} are both named {quoted(name)}; "
                        "give each rule a distinct name so that the audit can tell them apart"
                    )
                seen[name] = i

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "sha256": self.sha256,
            "cycle_days": self.cycle_days,
            "handoff_hours": self.handoff_hours,
            "effort": {
                "default_hours": self.effort.default_hours,
                "base": [vars(r) for r in self.effort.base],
                "adjust": [vars(r) for r in self.effort.adjust],
            },
            "skills": [vars(r) for r in self.skills],
        }


def describe_source(source: str) -> str:
    """How messages name a config: its path, or 'built-in model'."""
    return "built-in model" if source == BUILTIN_SOURCE else source


def quoted(text: str) -> str:
    """`text` in single quotes for a message, shortened when long."""
    flat = " ".join(text.split())
    if len(flat) > _MAX_QUOTED:
        flat = flat[: _MAX_QUOTED - 3] + "..."
    return f"'{flat}'"


def rule_location(source: str, kind: str, index: int, name: str = "", when: str = "") -> str:
    """E.g. "assign.toml: effort.base #2 'final order' (when 'final_order')"."""
    where = f"{describe_source(source)}: {kind} #{index}"
    if name:
        where += f" {quoted(name)}"
        if when and " ".join(when.split()) != " ".join(name.split()):
            where += f" (when {quoted(when)})"
    return where


def _range_text(key: str) -> str:
    low, high, closed = NUMBER_RANGES[key]
    return f"{'from' if closed else 'above'} {low:g} to {high:g}"


def _number(table: dict[str, Any], key: str, where: str, default: float | None = None) -> float:
    if key not in table:
        if default is None:
            raise ConfigError(f"{where}: missing required key '{key}'")
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: '{key}' must be a number, got {_shown(value)}")
    number = float(value)
    check_range(key, number, where)
    return number


def check_range(key: str, value: float, where: str) -> None:
    """ConfigError unless `value` is finite and inside NUMBER_RANGES[key]."""
    low, high, closed = NUMBER_RANGES[key]
    inside = math.isfinite(value) and (value >= low if closed else value > low) and value <= high
    if not inside:
        raise ConfigError(
            f"{where}: '{key}' is {_shown(value)}; supported: a number {_range_text(key)}"
        )


def _shown(value: object) -> str:
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return str(value)
    text = repr(value)
    return text if len(text) <= _MAX_QUOTED else text[: _MAX_QUOTED - 3] + "..."


def _text(table: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    if key not in table:
        if default is None:
            raise ConfigError(f"{where}: missing required key '{key}'")
        return default
    value = table[key]
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise ConfigError(f"{where}: '{key}' must be a non-empty string, got {_shown(value)}")
    return value


def _check_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _rules(raw: Any, source: str, kind: str) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise ConfigError(
            f"{describe_source(source)}: {kind} must be an array of tables, one table per rule"
        )
    return raw


def _condition(rule: dict[str, Any], source: str, kind: str, index: int) -> tuple[str, str]:
    """The rule's condition and name, the condition checked against the grammar and limits."""
    where = rule_location(source, kind, index)
    when = _text(rule, "when", where)
    name = _text(rule, "name", where, when)
    try:
        parse_condition(when)
    except ConditionError as exc:
        location = rule_location(source, kind, index, name, when)
        raise ConfigError(f"{location}: {exc.message}") from None
    return when, name


def parse_config(
    data: dict[str, Any], source: str = BUILTIN_SOURCE, text: str = "", *, builtin: bool = False
) -> Config:
    """Build a Config from parsed TOML, validating every key and value."""
    top = describe_source(source)
    _check_keys(data, {"cycle_days", "handoff_hours", "effort", "skills"}, top)
    cycle_days = _number(data, "cycle_days", top, 28.0)
    handoff = _number(data, "handoff_hours", top, 1.5)

    effort_raw = data.get("effort", {})
    if not isinstance(effort_raw, dict):
        raise ConfigError(f"{top}: effort must be a table of keys (default_hours, base, adjust)")
    _check_keys(effort_raw, {"default_hours", "base", "adjust"}, f"{top}: effort")
    default_hours = _number(effort_raw, "default_hours", f"{top}: effort", 0.5)

    base: list[BaseRule] = []
    for i, rule in enumerate(_rules(effort_raw.get("base"), source, "effort.base"), start=1):
        _check_keys(
            rule, {"when", "hours", "name", "source"}, rule_location(source, "effort.base", i)
        )
        when, name = _condition(rule, source, "effort.base", i)
        where = rule_location(source, "effort.base", i, name)
        hours = _number(rule, "hours", where)
        base.append(BaseRule(when, hours, name, _text(rule, "source", where, "")))

    adjust: list[AdjustRule] = []
    for i, rule in enumerate(_rules(effort_raw.get("adjust"), source, "effort.adjust"), start=1):
        located = rule_location(source, "effort.adjust", i)
        _check_keys(rule, {"when", "multiply", "add", "name", "source"}, located)
        if "multiply" not in rule and "add" not in rule:
            raise ConfigError(f"{located}: needs 'multiply' or 'add'")
        when, name = _condition(rule, source, "effort.adjust", i)
        where = rule_location(source, "effort.adjust", i, name)
        multiply = _number(rule, "multiply", where, 1.0)
        add = _number(rule, "add", where, 0.0)
        adjust.append(AdjustRule(when, name, multiply, add, _text(rule, "source", where, "")))

    skills: list[SkillRule] = []
    for i, rule in enumerate(_rules(data.get("skills"), source, "skills"), start=1):
        _check_keys(rule, {"when", "require", "name", "source"}, rule_location(source, "skills", i))
        when, name = _condition(rule, source, "skills", i)
        where = rule_location(source, "skills", i, name)
        require = _text(rule, "require", where)
        skills.append(SkillRule(when, require, name, _text(rule, "source", where, "")))

    digest = hashlib.sha256(text.encode()).hexdigest() if text else ""
    return Config(
        cycle_days=cycle_days,
        handoff_hours=handoff,
        effort=EffortModel(default_hours, tuple(base), tuple(adjust)),
        skills=tuple(skills),
        source=source,
        sha256=digest,
        builtin=builtin,
    )


_TOML_POSITION = re.compile(
    r"^(?P<what>.*?)\s*\(at (?P<where>line \d+, column \d+|end of document)\)$"
)


def _parse_text(text: str, source: str, *, builtin: bool = False) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "syntax error"
        match = _TOML_POSITION.match(first)
        if match is None:
            raise ConfigError(f"{describe_source(source)}: not valid TOML: {first}") from None
        what = match["what"][:1].lower() + match["what"][1:]
        raise ConfigError(
            f"{describe_source(source)}, {match['where']}: not valid TOML: {what}"
        ) from None
    return parse_config(data, source, text, builtin=builtin)


def default_config() -> Config:
    """The built-in immigration-docket model shipped with the package (see default_model.toml)."""
    text = resources.files("assigncli").joinpath("default_model.toml").read_text(encoding="utf-8")
    return _parse_text(text, BUILTIN_SOURCE, builtin=True)


def load_config(path: Path | None) -> Config:
    """Load `path`; without one, `./assign.toml` if present, else the built-in model."""
    if path is None:
        local = Path(DEFAULT_CONFIG_NAME)
        if not local.is_file():
            return default_config()
        path = local
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: cannot read config: not UTF-8 text (byte {exc.start + 1})"
        ) from None
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        raise ConfigError(f"{path}: cannot read config: {reason}") from None
    return _parse_text(text, str(path))
