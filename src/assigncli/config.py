"""The model configuration: cycle, handoff cost, effort rules and skill rules, loaded from TOML.

Missing keys fall back to the built-in defaults; unknown keys are errors (a typo must not silently
change a plan).
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from assigncli.errors import ConfigError

DEFAULT_CONFIG_NAME = "assign.toml"


@dataclass(frozen=True)
class BaseRule:
    """Sets the base hours of a case; the first matching base rule wins."""

    when: str
    hours: float
    name: str
    source: str = ""


@dataclass(frozen=True)
class AdjustRule:
    """Scales (multiply) and/or shifts (add) the hours of every case it matches, in file order."""

    when: str
    name: str
    multiply: float = 1.0
    add: float = 0.0
    source: str = ""


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


@dataclass(frozen=True)
class Config:
    cycle_days: float = 28.0
    handoff_hours: float = 1.5
    effort: EffortModel = field(default_factory=EffortModel)
    skills: tuple[SkillRule, ...] = ()
    source: str = "built-in"  # where this config came from (path or "built-in")
    sha256: str = ""  # hash of the TOML text, for the manifest

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


def _number(table: dict[str, Any], key: str, where: str, default: float | None = None) -> float:
    if key not in table:
        if default is None:
            raise ConfigError(f"{where}: missing required key '{key}'")
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: '{key}' must be a number, got {value!r}")
    return float(value)


def _text(table: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    if key not in table:
        if default is None:
            raise ConfigError(f"{where}: missing required key '{key}'")
        return default
    value = table[key]
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise ConfigError(f"{where}: '{key}' must be a non-empty string, got {value!r}")
    return value


def _check_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _rules(raw: Any, where: str) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise ConfigError(f"{where} must be an array of tables ([[{where}]])")
    return raw


def parse_config(data: dict[str, Any], source: str = "built-in", text: str = "") -> Config:
    """Build a Config from parsed TOML, validating every key and value."""
    _check_keys(data, {"cycle_days", "handoff_hours", "effort", "skills"}, source)
    cycle_days = _number(data, "cycle_days", source, 28.0)
    if cycle_days <= 0:
        raise ConfigError(f"{source}: 'cycle_days' must be > 0, got {cycle_days:g}")
    handoff = _number(data, "handoff_hours", source, 1.5)
    if handoff < 0:
        raise ConfigError(f"{source}: 'handoff_hours' must be >= 0, got {handoff:g}")

    effort_raw = data.get("effort", {})
    if not isinstance(effort_raw, dict):
        raise ConfigError(f"{source}: [effort] must be a table")
    _check_keys(effort_raw, {"default_hours", "base", "adjust"}, f"{source} [effort]")
    default_hours = _number(effort_raw, "default_hours", f"{source} [effort]", 0.5)
    if default_hours < 0:
        raise ConfigError(f"{source} [effort]: 'default_hours' must be >= 0")

    base: list[BaseRule] = []
    for i, rule in enumerate(_rules(effort_raw.get("base"), "effort.base")):
        where = f"{source} [[effort.base]] #{i + 1}"
        _check_keys(rule, {"when", "hours", "name", "source"}, where)
        when = _text(rule, "when", where)
        hours = _number(rule, "hours", where)
        if hours < 0:
            raise ConfigError(f"{where}: 'hours' must be >= 0, got {hours:g}")
        base.append(
            BaseRule(
                when, hours, _text(rule, "name", where, when), _text(rule, "source", where, "")
            )
        )

    adjust: list[AdjustRule] = []
    for i, rule in enumerate(_rules(effort_raw.get("adjust"), "effort.adjust")):
        where = f"{source} [[effort.adjust]] #{i + 1}"
        _check_keys(rule, {"when", "multiply", "add", "name", "source"}, where)
        if "multiply" not in rule and "add" not in rule:
            raise ConfigError(f"{where}: needs 'multiply' or 'add'")
        when = _text(rule, "when", where)
        multiply = _number(rule, "multiply", where, 1.0)
        add = _number(rule, "add", where, 0.0)
        if multiply < 0:
            raise ConfigError(f"{where}: 'multiply' must be >= 0, got {multiply:g}")
        adjust.append(
            AdjustRule(
                when,
                _text(rule, "name", where, when),
                multiply,
                add,
                _text(rule, "source", where, ""),
            )
        )

    skills: list[SkillRule] = []
    for i, rule in enumerate(_rules(data.get("skills"), "skills")):
        where = f"{source} [[skills]] #{i + 1}"
        _check_keys(rule, {"when", "require", "name", "source"}, where)
        when = _text(rule, "when", where)
        require = _text(rule, "require", where)
        skills.append(
            SkillRule(
                when, require, _text(rule, "name", where, when), _text(rule, "source", where, "")
            )
        )

    digest = hashlib.sha256(text.encode()).hexdigest() if text else ""
    return Config(
        cycle_days=cycle_days,
        handoff_hours=handoff,
        effort=EffortModel(default_hours, tuple(base), tuple(adjust)),
        skills=tuple(skills),
        source=source,
        sha256=digest,
    )


def _parse_text(text: str, source: str) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    return parse_config(data, source, text)


def default_config() -> Config:
    """The built-in immigration-docket model shipped with the package (see default_model.toml)."""
    text = resources.files("assigncli").joinpath("default_model.toml").read_text(encoding="utf-8")
    return _parse_text(text, "built-in")


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
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    return _parse_text(text, str(path))
