"""`assign sweep SCENARIOS.toml`: many what-if plans (or staffing answers) on modified inputs.

A scenario changes the inputs of one run — hires, departures, time away, effort rule multipliers,
handoff hours, a move budget — and runs a full plan (solve, per-case plan, independent check,
metrics) or the staffing search on them. One row per scenario goes into one results table, which
is rewritten atomically (temporary file, then rename) after every scenario, so an interrupted sweep
keeps what it finished and `--resume` skips it. A scenario that fails is reported in its row; the
sweep goes on.

Engines: local processes (`concurrent.futures.ProcessPoolExecutor`, forkserver or spawn: no fork of
a process that holds solver threads) or Ray. Either way the base inputs (validated roster and cases,
the config) are shipped once — to each process as its initializer's argument, or to Ray's object
store with one `ray.put` — and every scenario receives only its own small description. Cores are
split between scenarios running side by side and solver threads inside each. With a seed and one
solver thread per scenario, every engine gives the same table (the `seconds` column aside).

The file format is documented in `examples/scenarios.toml`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import multiprocessing
import os
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import polars as pl

from assigncli.config import AdjustRule, Config, load_config
from assigncli.contract import ROSTER_OPTIONAL, ROSTER_REQUIRED
from assigncli.errors import AssignError, ConfigError, UsageError

__all__ = [
    "RESULT_SCHEMA",
    "BaseInputs",
    "Hire",
    "Scenario",
    "SweepFile",
    "apply_scenario",
    "load_sweep",
    "run_scenario",
    "run_sweep",
    "split_cores",
]

log = logging.getLogger(__name__)

Mode = Literal["plan", "staffing"]
Engine = Literal["processes", "ray"]

RESULT_SCHEMA: dict[str, Any] = {
    "index": pl.Int64,
    "scenario": pl.String,
    "mode": pl.String,
    "status": pl.String,  # "ok" | "failed"
    "error": pl.String,
    "peak": pl.Float64,  # highest utilization of the plan (checker's value)
    "bound": pl.Float64,  # proven lower bound on it
    "gap": pl.Float64,
    "moves": pl.Int64,
    "transition_hours": pl.Float64,
    "over_100": pl.Int64,  # officers whose load exceeds their available hours
    "unassigned": pl.Int64,
    "officers_added": pl.Int64,  # hires of the scenario
    "departures": pl.Int64,
    "max_moves": pl.Int64,
    "handoff_hours": pl.Float64,
    "staffing_gap": pl.Float64,  # the arithmetic's missing officers at the target, all offices
    "officers_to_add": pl.Int64,  # staffing mode: the optimizer's answer, all offices
    "staffing_peak": pl.Float64,  # staffing mode: the peak of the plan behind that answer
    "hash": pl.String,  # the scenario's description: --resume reruns a changed scenario
    "seconds": pl.Float64,
}
# Columns that depend on the machine, not on the inputs: left out when tables are compared.
TIMING_COLUMNS = ("seconds",)

_SCENARIO_KEYS = {
    "name",
    "mode",
    "hire",
    "depart",
    "time_away",
    "effort",
    "effort_scale",
    "handoff_hours",
    "max_moves",
    "target",
}
_SERIES_KEYS = _SCENARIO_KEYS | {"vary", "values"}
_VARY = ("max_moves", "handoff_hours", "effort_scale", "hire_count", "time_away_days", "target")


# --- the file ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hire:
    office: str
    count: int
    capacity_hours: float | None = None  # None: the office's median officer
    skills: tuple[str, ...] | None = None  # None: skills held by half the office's officers


@dataclass(frozen=True)
class Departure:
    officer_ids: tuple[str, ...] = ()
    office: str | None = None  # with count: the first `count` active officers of the office
    count: int = 0


@dataclass(frozen=True)
class TimeAway:
    days: float
    office: str | None = None  # None with no officers: everybody
    officer_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    index: int
    name: str
    mode: Mode = "plan"
    hires: tuple[Hire, ...] = ()
    departures: tuple[Departure, ...] = ()
    time_away: tuple[TimeAway, ...] = ()
    effort: tuple[tuple[str, float], ...] = ()  # rule name → multiplier of its hours
    effort_scale: float = 1.0
    handoff_hours: float | None = None
    max_moves: int | None = None
    target: float | None = None

    @property
    def digest(self) -> str:
        text = json.dumps({k: v for k, v in asdict(self).items() if k != "index"}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SweepFile:
    path: Path
    roster: Path
    cases: Path
    config: Path | None
    time_limit: float
    seed: int
    target: float
    scenarios: tuple[Scenario, ...]


class _Where:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {where}: {message}")


def _num(
    w: _Where,
    where: str,
    table: Mapping[str, Any],
    key: str,
    *,
    low: float | None = None,
    integer: bool = False,
    strict_low: bool = False,
) -> float | int | None:
    if key not in table:
        return None
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise w.fail(where, f"'{key}' must be a number, got {value!r}")
    if integer and (not isinstance(value, int)):
        raise w.fail(where, f"'{key}' must be a whole number, got {value!r}")
    if low is not None and (value <= low if strict_low else value < low):
        raise w.fail(where, f"'{key}' must be {'>' if strict_low else '>='} {low:g}, got {value!r}")
    return value


def _strings(w: _Where, where: str, value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise w.fail(where, f"'{key}' must be a list of non-empty strings, got {value!r}")
    return tuple(v.strip() for v in value)


def _tables(w: _Where, where: str, value: Any, key: str) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise w.fail(where, f"'{key}' must be a table or an array of tables, got {value!r}")
    return value


def _check_keys(w: _Where, where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise w.fail(
            where, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _hires(w: _Where, where: str, raw: Any) -> tuple[Hire, ...]:
    hires = []
    for k, h in enumerate(_tables(w, where, raw, "hire")):
        at = f"{where} hire #{k + 1}"
        _check_keys(w, at, h, {"office", "count", "capacity_hours", "skills"})
        if not isinstance(h.get("office"), str) or not h["office"].strip():
            raise w.fail(at, "'office' must name an office")
        count = _num(w, at, h, "count", low=0, integer=True)
        cap = _num(w, at, h, "capacity_hours", low=0, strict_low=True)
        skills = _strings(w, at, h["skills"], "skills") if "skills" in h else None
        hires.append(
            Hire(
                h["office"].strip(),
                int(count if count is not None else 1),
                None if cap is None else float(cap),
                skills,
            )
        )
    return tuple(hires)


def _departures(w: _Where, where: str, raw: Any) -> tuple[Departure, ...]:
    if isinstance(raw, str) or (isinstance(raw, list) and all(isinstance(v, str) for v in raw)):
        return (Departure(officer_ids=_strings(w, where, raw, "depart")),)
    out = []
    for k, d in enumerate(_tables(w, where, raw, "depart")):
        at = f"{where} depart #{k + 1}"
        _check_keys(w, at, d, {"office", "count", "officers"})
        ids = _strings(w, at, d["officers"], "officers") if "officers" in d else ()
        office = d.get("office")
        if office is not None and (not isinstance(office, str) or not office.strip()):
            raise w.fail(at, "'office' must name an office")
        count = _num(w, at, d, "count", low=0, integer=True)
        if not ids and (office is None or count is None):
            raise w.fail(at, "give 'officers' (ids), or 'office' and 'count'")
        out.append(Departure(ids, office.strip() if office else None, int(count or 0)))
    return tuple(out)


def _time_away(w: _Where, where: str, raw: Any) -> tuple[TimeAway, ...]:
    out = []
    for k, t in enumerate(_tables(w, where, raw, "time_away")):
        at = f"{where} time_away #{k + 1}"
        _check_keys(w, at, t, {"days", "office", "officers"})
        days = _num(w, at, t, "days", low=0)
        if days is None:
            raise w.fail(at, "'days' (days away to add) is required")
        office = t.get("office")
        if office is not None and (not isinstance(office, str) or not office.strip()):
            raise w.fail(at, "'office' must name an office")
        ids = _strings(w, at, t["officers"], "officers") if "officers" in t else ()
        out.append(TimeAway(float(days), office.strip() if office else None, ids))
    return tuple(out)


def _scenario(
    w: _Where, where: str, raw: Mapping[str, Any], index: int, name: str, default_mode: Mode
) -> Scenario:
    mode = raw.get("mode", default_mode)
    if mode not in ("plan", "staffing"):
        raise w.fail(where, f"'mode' must be 'plan' or 'staffing', got {mode!r}")
    effort: list[tuple[str, float]] = []
    if "effort" in raw:
        if not isinstance(raw["effort"], dict):
            raise w.fail(where, "'effort' must be a table of rule name = multiplier")
        for rule, m in raw["effort"].items():
            if (
                isinstance(m, bool)
                or not isinstance(m, int | float)
                or m < 0
                or not math.isfinite(m)
            ):
                raise w.fail(where, f"effort multiplier of rule {rule!r} must be a number >= 0")
            effort.append((str(rule), float(m)))
    scale = _num(w, where, raw, "effort_scale", low=0)
    handoff = _num(w, where, raw, "handoff_hours", low=0)
    moves = _num(w, where, raw, "max_moves", low=0, integer=True)
    target = _num(w, where, raw, "target", low=0, strict_low=True)
    return Scenario(
        index=index,
        name=name,
        mode=mode,
        hires=_hires(w, where, raw["hire"]) if "hire" in raw else (),
        departures=_departures(w, where, raw["depart"]) if "depart" in raw else (),
        time_away=_time_away(w, where, raw["time_away"]) if "time_away" in raw else (),
        effort=tuple(effort),
        effort_scale=1.0 if scale is None else float(scale),
        handoff_hours=None if handoff is None else float(handoff),
        max_moves=None if moves is None else int(moves),
        target=None if target is None else float(target),
    )


def _expand_series(
    w: _Where, where: str, raw: Mapping[str, Any]
) -> Iterator[tuple[str, dict[str, Any]]]:
    vary, values = raw.get("vary"), raw.get("values")
    if vary not in _VARY:
        raise w.fail(where, f"'vary' must be one of {', '.join(_VARY)}, got {vary!r}")
    if not isinstance(values, list) or not values:
        raise w.fail(where, "'values' must be a non-empty list")
    base = {k: v for k, v in raw.items() if k not in ("vary", "values", "name")}
    for value in values:
        item = dict(base)
        if vary == "hire_count":
            if "hire" not in base:
                raise w.fail(where, "vary = 'hire_count' needs a 'hire' table (office, ...)")
            item["hire"] = [dict(h, count=value) for h in _tables(w, where, base["hire"], "hire")]
        elif vary == "time_away_days":
            if "time_away" not in base:
                raise w.fail(where, "vary = 'time_away_days' needs a 'time_away' table")
            item["time_away"] = [
                dict(t, days=value) for t in _tables(w, where, base["time_away"], "time_away")
            ]
        else:
            item[vary] = value
        yield f"{vary}={value}", item


def load_sweep(path: Path) -> SweepFile:
    """Parse and check a scenario file; ConfigError (exit 4) naming the place of any mistake."""
    w = _Where(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: scenario file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the scenario file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    _check_keys(w, "top level", data, {"sweep", "scenario", "series"})
    head = data.get("sweep")
    if not isinstance(head, dict):
        raise w.fail("[sweep]", "missing: the table naming roster and cases")
    _check_keys(
        w, "[sweep]", head, {"roster", "cases", "config", "mode", "time_limit", "seed", "target"}
    )
    folder = path.parent

    def file_of(key: str, required: bool) -> Path | None:
        if key not in head:
            if required:
                raise w.fail("[sweep]", f"'{key}' (a file path) is required")
            return None
        if not isinstance(head[key], str) or not head[key].strip():
            raise w.fail("[sweep]", f"'{key}' must be a file path")
        p = Path(head[key])
        return p if p.is_absolute() else folder / p

    roster, cases = file_of("roster", True), file_of("cases", True)
    assert roster is not None and cases is not None
    mode = head.get("mode", "plan")
    if mode not in ("plan", "staffing"):
        raise w.fail("[sweep]", f"'mode' must be 'plan' or 'staffing', got {mode!r}")
    time_limit = _num(w, "[sweep]", head, "time_limit", low=0, strict_low=True)
    seed = _num(w, "[sweep]", head, "seed", low=0, integer=True)
    target = _num(w, "[sweep]", head, "target", low=0, strict_low=True)

    scenarios: list[Scenario] = []
    names: set[str] = set()

    def add(where: str, raw: Mapping[str, Any], name: str) -> None:
        if name in names:
            raise w.fail(where, f"scenario name {name!r} is used twice")
        names.add(name)
        scenarios.append(_scenario(w, where, raw, len(scenarios), name, mode))

    raw_scenarios = data.get("scenario", [])
    if not isinstance(raw_scenarios, list) or not all(isinstance(s, dict) for s in raw_scenarios):
        raise w.fail("[[scenario]]", "must be an array of tables")
    for k, raw in enumerate(raw_scenarios):
        where = f"[[scenario]] #{k + 1}"
        _check_keys(w, where, raw, _SCENARIO_KEYS)
        name = raw.get("name", f"scenario {k + 1}")
        if not isinstance(name, str) or not name.strip():
            raise w.fail(where, "'name' must be a non-empty string")
        add(where, raw, name.strip())
    raw_series = data.get("series", [])
    if not isinstance(raw_series, list) or not all(isinstance(s, dict) for s in raw_series):
        raise w.fail("[[series]]", "must be an array of tables")
    for k, raw in enumerate(raw_series):
        where = f"[[series]] #{k + 1}"
        _check_keys(w, where, raw, _SERIES_KEYS)
        name = raw.get("name", f"series {k + 1}")
        if not isinstance(name, str) or not name.strip():
            raise w.fail(where, "'name' must be a non-empty string")
        for suffix, item in _expand_series(w, where, raw):
            add(f"{where} ({suffix})", item, f"{name.strip()}: {suffix}")
    if not scenarios:
        raise w.fail("top level", "no [[scenario]] or [[series]]: nothing to run")
    return SweepFile(
        path=path,
        roster=roster,
        cases=cases,
        config=file_of("config", False),
        time_limit=float(time_limit) if time_limit is not None else 10.0,
        seed=int(seed or 0),
        target=float(target) if target is not None else 0.85,
        scenarios=tuple(scenarios),
    )


# --- applying a scenario -------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BaseInputs:
    """What every scenario starts from: validated roster and cases (before effort), the config."""

    roster: pl.DataFrame
    cases: pl.DataFrame
    config: Config
    time_limit: float
    seed: int
    target: float


def check_against_inputs(sweep: SweepFile, base: BaseInputs, path: Path) -> None:
    """Names a scenario uses (officers, offices, rules) must exist: ConfigError otherwise."""
    ids = set(base.roster["officer_id"].to_list())
    offices = set(base.roster["office"].explode().to_list()) | set(
        base.cases["office"].unique().to_list()
    )
    rules = {r.name for r in base.config.effort.base} | {r.name for r in base.config.effort.adjust}
    for s in sweep.scenarios:
        where = f"{path}: scenario {s.name!r}"
        for d in s.departures:
            missing = sorted(set(d.officer_ids) - ids)
            if missing:
                raise ConfigError(
                    f"{where}: depart: officer(s) not on the roster: {', '.join(missing)}"
                )
            if d.office is not None and d.office not in offices:
                raise ConfigError(f"{where}: depart: unknown office {d.office!r}")
        for t in s.time_away:
            missing = sorted(set(t.officer_ids) - ids)
            if missing:
                raise ConfigError(
                    f"{where}: time_away: officer(s) not on the roster: {', '.join(missing)}"
                )
            if t.office is not None and t.office not in offices:
                raise ConfigError(f"{where}: time_away: unknown office {t.office!r}")
        for h in s.hires:
            if h.office not in offices:
                raise ConfigError(
                    f"{where}: hire: unknown office {h.office!r} (offices: {', '.join(sorted(offices))})"
                )
        for rule, _ in s.effort:
            if rule not in rules:
                raise ConfigError(
                    f"{where}: effort: no rule named {rule!r} in {base.config.source} "
                    f"(rules: {', '.join(sorted(rules))})"
                )


def _scaled_config(config: Config, scenario: Scenario) -> Config:
    factors = dict(scenario.effort)
    base = tuple(
        replace(r, hours=r.hours * factors[r.name]) if r.name in factors else r
        for r in config.effort.base
    )
    adjust: list[AdjustRule] = []
    for r in config.effort.adjust:
        m = factors.get(r.name)
        # The hours a rule contributes scale: an added term by m, a multiplier's excess over 1 by m.
        adjust.append(
            r if m is None else replace(r, add=r.add * m, multiply=1 + (r.multiply - 1) * m)
        )
    effort = replace(config.effort, base=base, adjust=tuple(adjust))
    out = replace(config, effort=effort)
    if scenario.handoff_hours is not None:
        out = replace(out, handoff_hours=scenario.handoff_hours)
    return out


def apply_scenario(
    base: BaseInputs, scenario: Scenario
) -> tuple[pl.DataFrame, pl.DataFrame, Config, int]:
    """The scenario's roster, effort-annotated cases and config, and the number of departures."""
    from assigncli.analysis.staffing import ProfileSpec, office_profile
    from assigncli.effort import estimate_effort

    roster = base.roster
    departed = 0
    for d in scenario.departures:
        leave = set(d.officer_ids)
        if d.office is not None and d.count:
            homed = roster.filter(
                pl.col("active") & (pl.col("office").list.first() == d.office)
            ).sort("officer_id")
            leave |= set(homed["officer_id"].head(d.count).to_list())
        mask = pl.col("officer_id").is_in(list(leave)) & pl.col("active")
        departed += int(roster.select(mask.sum()).item())
        roster = roster.with_columns(
            pl.when(mask).then(False).otherwise(pl.col("active")).alias("active")
        )
    cycle = base.config.cycle_days
    for t in scenario.time_away:
        who = pl.lit(True)
        if t.officer_ids:
            who = pl.col("officer_id").is_in(list(t.officer_ids))
        elif t.office is not None:
            who = pl.col("office").list.contains(t.office)
        roster = roster.with_columns(
            pl.when(who)
            .then((pl.col("unavailable_days") + t.days).clip(upper_bound=cycle))
            .otherwise(pl.col("unavailable_days"))
            .alias("unavailable_days")
        )
    hires = []
    for n, h in enumerate(scenario.hires):
        if not h.count:
            continue
        profile = office_profile(base.roster, h.office, ProfileSpec(h.skills, h.capacity_hours))
        hires.append(
            pl.DataFrame(
                {
                    "officer_id": [f"+hire:{n + 1}:{h.office}:{j + 1:04d}" for j in range(h.count)],
                    "office": [[h.office]] * h.count,
                    "capacity_hours": [profile.capacity_hours] * h.count,
                    "skills": [list(profile.skills)] * h.count,
                    "unavailable_days": [0.0] * h.count,
                    "max_cases": pl.Series([None] * h.count, dtype=pl.Int64),
                    "active": [True] * h.count,
                },
                schema={**ROSTER_REQUIRED, **ROSTER_OPTIONAL},
            ).select(roster.columns)
        )
    if hires:
        roster = pl.concat([roster, *hires])
    config = _scaled_config(base.config, scenario)
    cases = estimate_effort(base.cases, config, audit=False)
    if scenario.effort_scale != 1.0:
        cases = cases.with_columns(pl.col("effort_hours") * scenario.effort_scale)
    return roster, cases, config, departed


def _empty_row(scenario: Scenario) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(RESULT_SCHEMA)
    row.update(
        index=scenario.index,
        scenario=scenario.name,
        mode=scenario.mode,
        hash=scenario.digest,
        officers_added=sum(h.count for h in scenario.hires),
        max_moves=scenario.max_moves,
    )
    return row


def run_scenario(base: BaseInputs, scenario: Scenario, workers: int = 1) -> dict[str, Any]:
    """One scenario, end to end; a failure becomes the row's status and error, never a raise."""
    started = time.perf_counter()
    row = _empty_row(scenario)
    try:
        row.update(_run(base, scenario, workers))
        row["status"] = "ok"
        # Loads are summed by multi-threaded aggregations whose order can move the last bit of a
        # ratio; results are reported to 1e-12, so that the same scenario gives the same row.
        for column, dtype in RESULT_SCHEMA.items():
            if dtype == pl.Float64 and column != "seconds" and isinstance(row.get(column), float):
                row[column] = round(row[column], 12)
    except AssignError as exc:
        row.update(status="failed", error=exc.message)
    except Exception as exc:  # a bug in one scenario must not stop the others
        row.update(status="failed", error=f"internal error: {type(exc).__name__}: {exc}")
    row["seconds"] = round(time.perf_counter() - started, 3)
    return row


def _run(base: BaseInputs, scenario: Scenario, workers: int) -> dict[str, Any]:
    from assigncli.analysis.metrics import evaluate_plan
    from assigncli.analysis.staffing import (
        StaffingOptions,
        arithmetic,
        staff,
        staffing_arithmetic_gap,
    )
    from assigncli.check import check_plan
    from assigncli.plan import build_plan
    from assigncli.problem import build_problem
    from assigncli.solvers.solve import SolveOptions, solve

    roster, cases, config, departed = apply_scenario(base, scenario)
    target = scenario.target if scenario.target is not None else base.target
    out: dict[str, Any] = {
        "departures": departed,
        "handoff_hours": config.handoff_hours,
        "staffing_gap": staffing_arithmetic_gap(arithmetic(roster, cases, config, target)),
    }
    if scenario.mode == "staffing":
        result = staff(
            roster,
            cases,
            config,
            StaffingOptions(
                target=target, time_limit=base.time_limit, seed=base.seed, workers=workers
            ),
        )
        peaks = [a.peak_now for a in result.answers if a.peak_now is not None]
        bounds = [a.bound_now for a in result.answers if a.bound_now is not None]
        peak, bound = (max(peaks) if peaks else None), (max(bounds) if bounds else None)
        out.update(
            peak=peak,
            bound=bound,
            gap=None if peak is None or not bound else max(0.0, (peak - bound) / bound),
            officers_to_add=result.officers_to_add,
            staffing_peak=result.plan_peak,
        )
        return out
    options = SolveOptions(
        time_limit=base.time_limit, seed=base.seed, workers=workers, max_moves=scenario.max_moves
    )
    problem = build_problem(roster, cases, config)
    solution = solve(problem, options)
    plan = build_plan(problem, solution)
    report = check_plan(roster, cases, plan, config)
    if not report.ok:
        raise AssignError(
            "internal error: the plan failed the independent check: " + "; ".join(report.violations)
        )
    metrics = evaluate_plan(roster, cases, plan, config, check=report).metrics
    cert = solution.certificate
    out.update(
        peak=metrics.highest_utilization,
        bound=cert.lower_bound,
        gap=cert.gap if math.isfinite(cert.gap) else None,
        moves=metrics.moves,
        transition_hours=metrics.transition_hours,
        over_100=metrics.officers_over_capacity,
        unassigned=metrics.unassigned,
    )
    return out


# --- running many --------------------------------------------------------------------------------


def split_cores(n_scenarios: int, cores: int, workers: int = 0, jobs: int = 0) -> tuple[int, int]:
    """(scenarios side by side, solver threads each). Scenarios first: one thread each when there
    are more scenarios than cores (the solver's threads pay off less than whole scenarios do), the
    spare cores shared out as threads when there are fewer."""
    cores = max(1, cores)
    if workers <= 0:
        workers = max(1, cores // max(1, min(n_scenarios, jobs or n_scenarios)))
    if jobs <= 0:
        jobs = max(1, cores // workers)
    return max(1, min(jobs, n_scenarios)), workers


# The base inputs of this worker process, set once by its initializer.
_PROCESS_STATE: dict[str, BaseInputs] = {}


def _init_process(base: BaseInputs) -> None:
    _PROCESS_STATE["base"] = base
    # One scenario per process core: polars' own thread pool would only oversubscribe.
    logging.getLogger("assigncli").setLevel(logging.ERROR)


def _process_run(scenario: Scenario, workers: int) -> dict[str, Any]:
    return run_scenario(_PROCESS_STATE["base"], scenario, workers)


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def table_of(rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    frame = (
        pl.DataFrame([dict(r) for r in rows], schema=RESULT_SCHEMA)
        if rows
        else pl.DataFrame(schema=RESULT_SCHEMA)
    )
    return frame.sort("index")


@dataclass
class SweepRun:
    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0
    engine: str = "processes"
    jobs: int = 1
    workers: int = 1
    seconds: float = 0.0

    @property
    def table(self) -> pl.DataFrame:
        return table_of(self.rows)


def _resumable(out: Path, sweep: SweepFile) -> list[dict[str, Any]]:
    """Rows of a previous run of this sweep that finished, for scenarios that have not changed."""
    from assigncli.read import read_table

    if not out.exists():
        return []
    try:
        old = read_table(out, "cases")
    except AssignError as exc:
        raise UsageError(
            f"--resume: cannot read the previous results {out}: {exc.message}"
        ) from None
    if not {"index", "hash", "status"} <= set(old.columns):
        raise UsageError(f"--resume: {out} is not a sweep results table")
    old = old.select(
        [pl.col(c).cast(t, strict=False) for c, t in RESULT_SCHEMA.items() if c in old.columns]
    )
    wanted = {(s.index, s.digest) for s in sweep.scenarios}
    keep = [
        r
        for r in old.filter(pl.col("status") == "ok").to_dicts()
        if (r["index"], r["hash"]) in wanted
    ]
    return [{**dict.fromkeys(RESULT_SCHEMA), **r} for r in keep]


def run_sweep(
    sweep: SweepFile,
    base: BaseInputs,
    out: Path,
    *,
    engine: Engine = "processes",
    address: str | None = None,
    jobs: int = 0,
    workers: int = 0,
    resume: bool = False,
    on_row: Callable[[dict[str, Any], int, int], None] | None = None,
) -> SweepRun:
    """Run every scenario not already done, rewriting `out` atomically after each one."""
    from assigncli.write import write_table

    started = time.perf_counter()
    done = _resumable(out, sweep) if resume else []
    finished = {r["index"] for r in done}
    todo = [s for s in sweep.scenarios if s.index not in finished]
    run = SweepRun(rows=list(done), skipped=len(done), engine=engine)

    def record(row: dict[str, Any]) -> None:
        run.rows.append(row)
        write_table(run.table, out)
        if on_row is not None:
            on_row(row, len(run.rows), len(sweep.scenarios))

    if not todo:
        write_table(run.table, out)
    elif engine == "ray":
        _run_ray(todo, base, address, jobs, workers, run, record)
    else:
        _run_processes(todo, base, jobs, workers, run, record)
    run.seconds = time.perf_counter() - started
    return run


def _run_processes(
    todo: Sequence[Scenario],
    base: BaseInputs,
    jobs: int,
    workers: int,
    run: SweepRun,
    record: Callable[[dict[str, Any]], None],
) -> None:
    run.jobs, run.workers = split_cores(len(todo), os.cpu_count() or 1, workers, jobs)
    if run.jobs == 1:
        # One at a time: no process to start, the same code path per scenario.
        for s in todo:
            record(run_scenario(base, s, run.workers))
        return
    pool = ProcessPoolExecutor(
        max_workers=run.jobs, mp_context=_context(), initializer=_init_process, initargs=(base,)
    )
    try:
        pending: set[Future[dict[str, Any]]] = set()
        queue = list(todo)
        # At most a few scenarios queued ahead of the free processes: an interrupt then loses
        # only those that were running.
        while queue or pending:
            while queue and len(pending) < 2 * run.jobs:
                pending.add(pool.submit(_process_run, queue.pop(0), run.workers))
            complete, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in complete:
                record(f.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def init_local_ray(num_cpus: int | None = None) -> None:
    """Start the local Ray cluster a sweep runs on when no address is given.

    Its workers run at the command's own priority: Ray starts them at nice 15, which on a busy
    machine leaves a scenario a sliver of a core, so that its time limit (the wall-clock safety
    net) binds where the processes engine's would not, and the two engines' rows differ.
    """
    import ray

    ray.init(
        num_cpus=num_cpus or os.cpu_count() or 1,
        include_dashboard=False,
        logging_level=logging.WARNING,
        log_to_driver=False,
        _system_config={"worker_niceness": 0},
    )


def _run_ray(
    todo: Sequence[Scenario],
    base: BaseInputs,
    address: str | None,
    jobs: int,
    workers: int,
    run: SweepRun,
    record: Callable[[dict[str, Any]], None],
) -> None:
    try:
        import ray
    except ImportError:
        raise UsageError(
            "--engine ray needs Ray: pip install 'assigncli[ray]' (or use --engine processes)"
        ) from None
    started_here = not ray.is_initialized()
    if started_here:
        try:
            if address:
                ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
            else:
                init_local_ray()
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise UsageError(
                f"--engine ray: cannot connect to Ray at {address or 'local'}: {exc}"
            ) from None
    try:
        cores = int(ray.cluster_resources().get("CPU", os.cpu_count() or 1))  # type: ignore[no-untyped-call]
        run.jobs, run.workers = split_cores(len(todo), cores, workers, jobs)
        remote = ray.remote(_ray_scenario).options(num_cpus=run.workers)
        base_ref = ray.put(base)  # once: every task reads the same object
        pending: dict[Any, Scenario] = {}
        queue = list(todo)
        while queue or pending:
            while queue and len(pending) < 2 * run.jobs:
                s = queue.pop(0)
                pending[remote.remote(base_ref, s, run.workers)] = s
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                s = pending.pop(ref)
                try:
                    row = ray.get(ref)
                except Exception as exc:  # the task's process died: the scenario failed
                    row = _empty_row(s)
                    row.update(status="failed", error=f"ray: {type(exc).__name__}: {exc}")
                record(row)
    finally:
        if started_here:
            ray.shutdown()


def _ray_scenario(base: BaseInputs, scenario: Scenario, workers: int) -> dict[str, Any]:
    logging.getLogger("assigncli").setLevel(logging.ERROR)
    return run_scenario(base, scenario, workers)


def load_base(sweep: SweepFile, config_override: Path | None = None) -> BaseInputs:
    """Read and validate the sweep's inputs once."""
    from assigncli.validate import load_inputs

    config = load_config(config_override or sweep.config)
    inputs = load_inputs(sweep.roster, sweep.cases, config)
    base = BaseInputs(
        roster=inputs.roster,
        cases=inputs.cases,
        config=config,
        time_limit=sweep.time_limit,
        seed=sweep.seed,
        target=sweep.target,
    )
    check_against_inputs(sweep, base, sweep.path)
    return base
