"""Independent reference computations, written per case: for the solver tests (without the
solver's grouping) who may take each case, the per-case LP relaxation and exhaustive search; for
the effort tests the effort model applied one row at a time.

They loop in Python on purpose: they are oracles for tiny instances, not production code.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl
from ortools.linear_solver import pywraplp

from assigncli.check import CheckReport
from assigncli.config import Config


@dataclass(frozen=True)
class Flat:
    officers: list[str]
    available: list[float]
    cap: list[int | None]
    # per case: effort, previous officer id (None: new case; may be off the roster),
    # locked officer index (None), eligible officer indices
    effort: list[float]
    current: list[str | None]
    locked_to: list[int | None]
    eligible: list[list[int]]


def flatten(roster: pl.DataFrame, cases: pl.DataFrame, config: Config) -> Flat:
    officers = roster["officer_id"].to_list()
    index = {o: i for i, o in enumerate(officers)}
    available = []
    for row in roster.iter_rows(named=True):
        a = row["capacity_hours"] * (1 - row["unavailable_days"] / config.cycle_days)
        available.append(max(0.0, a) if row["active"] else 0.0)
    caps = roster["max_cases"].to_list()
    effort, current, locked_to, eligible = [], [], [], []
    for row in cases.iter_rows(named=True):
        cur = (
            index.get(row["current_officer_id"]) if row["current_officer_id"] is not None else None
        )
        effort.append(row["effort_hours"])
        current.append(row["current_officer_id"])
        honoured = row["locked"] and cur is not None and roster["active"][cur]
        locked_to.append(cur if honoured else None)
        ok = []
        for i, o in enumerate(roster.iter_rows(named=True)):
            if (
                o["active"]
                and available[i] > 0
                and (caps[i] is None or caps[i] > 0)
                and row["office"] in o["office"]
                and set(row["required_skills"]) <= set(o["skills"])
            ):
                ok.append(i)
        eligible.append(ok)
    return Flat(officers, available, caps, effort, current, locked_to, eligible)


def _cost(flat: Flat, j: int, i: int, handoff: float) -> float:
    moved = flat.current[j] is not None and flat.current[j] != flat.officers[i]
    return flat.effort[j] + (handoff if moved else 0.0)


def per_case_lp_bound(flat: Flat, handoff: float) -> tuple[float, float]:
    """(most cases assignable, lowest possible peak utilization) of the per-case LP relaxation."""
    solver = pywraplp.Solver.CreateSolver("GLOP")
    n_off = len(flat.officers)
    x: dict[tuple[int, int], pywraplp.Variable] = {}
    load_terms: list[list[tuple[pywraplp.Variable, float]]] = [[] for _ in range(n_off)]
    count_terms: list[list[pywraplp.Variable]] = [[] for _ in range(n_off)]
    fixed_load = [0.0] * n_off
    fixed_count = [0] * n_off
    assign_terms = []
    for j in range(len(flat.effort)):
        locked_to = flat.locked_to[j]
        if locked_to is not None:
            fixed_load[locked_to] += flat.effort[j]
            fixed_count[locked_to] += 1
            continue
        row = solver.Constraint(0.0, 1.0)
        for i in flat.eligible[j]:
            v = solver.NumVar(0.0, 1.0, "")
            x[j, i] = v
            row.SetCoefficient(v, 1.0)
            load_terms[i].append((v, _cost(flat, j, i, handoff)))
            count_terms[i].append(v)
            assign_terms.append(v)
    for i in range(n_off):
        cap = flat.cap[i]
        if cap is not None:
            c = solver.Constraint(-solver.infinity(), max(cap, fixed_count[i]) - fixed_count[i])
            for v in count_terms[i]:
                c.SetCoefficient(v, 1.0)
    objective = solver.Objective()
    for v in assign_terms:
        objective.SetCoefficient(v, 1.0)
    objective.SetMaximization()
    assert solver.Solve() == pywraplp.Solver.OPTIMAL
    most = objective.Value()
    keep = solver.Constraint(most - 1e-7, solver.infinity())
    for v in assign_terms:
        keep.SetCoefficient(v, 1.0)
    peak = solver.NumVar(0.0, solver.infinity(), "peak")
    for i in range(n_off):
        if flat.available[i] > 0:
            c = solver.Constraint(-solver.infinity(), -fixed_load[i])
            c.SetCoefficient(peak, -flat.available[i])
            for v, cost in load_terms[i]:
                c.SetCoefficient(v, cost)
    objective.Clear()
    objective.SetCoefficient(peak, 1.0)
    objective.SetMinimization()
    assert solver.Solve() == pywraplp.Solver.OPTIMAL
    return most, peak.solution_value()


def brute_force(flat: Flat, handoff: float) -> tuple[int, float]:
    """(fewest unassigned, lowest peak) over every assignment: only for a handful of cases."""
    free = [j for j in range(len(flat.effort)) if flat.locked_to[j] is None]
    choices = [[*flat.eligible[j], None] for j in free]
    best: tuple[int, float] | None = None
    for combo in itertools.product(*choices):
        load = [0.0] * len(flat.officers)
        count = [0] * len(flat.officers)
        for j in range(len(flat.effort)):
            locked_to = flat.locked_to[j]
            if locked_to is not None:
                load[locked_to] += flat.effort[j]
                count[locked_to] += 1
        unassigned = 0
        for j, i in zip(free, combo, strict=True):
            if i is None:
                unassigned += 1
                continue
            load[i] += _cost(flat, j, i, handoff)
            count[i] += 1
        if any(
            cap is not None and count[i] > max(cap, _locked(flat, i))
            for i, cap in enumerate(flat.cap)
        ):
            continue
        peak = max(
            (load[i] / flat.available[i] for i in range(len(load)) if flat.available[i] > 0),
            default=0.0,
        )
        key = (unassigned, peak)
        if best is None or key < best:
            best = key
    assert best is not None
    return best


def _locked(flat: Flat, i: int) -> int:
    return sum(1 for j in range(len(flat.effort)) if flat.locked_to[j] == i)


def assert_valid(report: CheckReport) -> None:
    """Fail with every violation the independent checker found."""
    if not report.ok:
        raise AssertionError("plan violates its constraints:\n" + "\n".join(report.violations))


Truth = bool | None
Row = dict[str, Any]


def sql_and(p: Truth, q: Truth) -> Truth:
    if p is False or q is False:
        return False
    return None if p is None or q is None else True


def sql_or(p: Truth, q: Truth) -> Truth:
    if p is True or q is True:
        return True
    return None if p is None or q is None else False


def sql_not(p: Truth) -> Truth:
    return None if p is None else not p


# Conditions the effort property test draws rules from, each with its truth per row written out
# in Python (SQL's three-valued logic; None is unknown, which does not match).
CONDITIONS: list[tuple[str, Callable[[Row], Truth]]] = [
    ("a = 'x'", lambda r: None if r["a"] is None else r["a"] == "x"),
    ("a IN ('x', 'z')", lambda r: None if r["a"] is None else r["a"] in ("x", "z")),
    ("a LIKE 'y%'", lambda r: None if r["a"] is None else r["a"].startswith("y")),
    ("a IS NULL", lambda r: r["a"] is None),
    ("b", lambda r: r["b"]),
    ("NOT b", lambda r: sql_not(r["b"])),
    ("n > 2", lambda r: None if r["n"] is None else r["n"] > 2),
    ("b AND n >= 1", lambda r: sql_and(r["b"], None if r["n"] is None else r["n"] >= 1)),
    ("b OR a = 'y'", lambda r: sql_or(r["b"], None if r["a"] is None else r["a"] == "y")),
    ("TRUE", lambda r: True),
    ("a NOT IN ('x', 'y')", lambda r: None if r["a"] is None else r["a"] not in ("x", "y")),
    ("n BETWEEN 1 AND 3", lambda r: None if r["n"] is None else 1 <= r["n"] <= 3),
    (
        "a = 'x' OR a = 'z' OR n = 7",
        lambda r: sql_or(
            None if r["a"] is None else r["a"] in ("x", "z"),
            None if r["n"] is None else r["n"] == 7,
        ),
    ),
    (
        "NOT (a = 'y' OR a IN ('yy') OR b)",
        lambda r: sql_not(sql_or(None if r["a"] is None else r["a"] in ("y", "yy"), r["b"])),
    ),
]


def reference_effort(
    rows: list[Row], config: Config, conditions: dict[str, Callable[[Row], Truth]]
) -> list[Row]:
    """The effort model written plainly, one row at a time: the oracle for the property test."""
    out = []
    for row in rows:

        def holds(sql: str, row: Row = row) -> bool:
            return conditions[sql](row) is True

        skills = set(row["required_skills"] or [])
        skills |= {rule.require for rule in config.skills if holds(rule.when)}
        if row["effort_hours"] is not None:
            result = {
                "effort_hours": row["effort_hours"],
                "effort_source": "explicit",
                "effort_base": None,
                "effort_base_hours": row["effort_hours"],
                "effort_adjustments": [],
            }
        else:
            base = next((rule for rule in config.effort.base if holds(rule.when)), None)
            hours = config.effort.default_hours if base is None else base.hours
            result = {
                "effort_source": "default" if base is None else "rule",
                "effort_base": None if base is None else base.name,
                "effort_base_hours": hours,
                "effort_adjustments": [],
            }
            for rule in config.effort.adjust:
                if holds(rule.when):
                    hours = max(0.0, hours * rule.multiply + rule.add)
                    result["effort_adjustments"].append(rule.name)
            result["effort_hours"] = hours
        result["required_skills"] = sorted(skills)
        out.append(result)
    return out
