"""`assign staffing`: how many officers each office needs at a target utilization, with the proof.

Two answers, side by side, per office (and per skill for the arithmetic):

* **The weighted-caseload arithmetic** of workload studies: the steady-state hours of the office's
  cases (effort only: a move's handoff hours are paid once, not every cycle) over the hours one
  officer gives at the target, ``target × hours per officer``, where hours per officer is the
  office's mean available hours per full-time officer (time away included). An officer covering
  several offices counts as an equal share of one officer in each. Skill-restricted hours are
  counted the same way against the officers holding the skill.
* **The optimizer's answer**: the fewest officers of a profile (office, skills, capacity hours;
  by default the office's median officer) to add so that the optimal plan's highest utilization is
  at most the target. It is found by search over k with the solver's certificates: a plan at or
  below the target proves that k suffice; a lower bound above the target proves that k do not.

Offices are searched one by one on two subproblems built from the roster and cases:

* the *sufficiency* problem keeps each officer in their home office only (the first listed), with
  the locked cases they hold wherever those come from; plans of different offices then never share
  an officer, so their union is a plan of the whole docket, and every office's plan at or below the
  target makes the whole docket's plan at or below it;
* the *bound* problem takes the office's cases and every officer who covers the office, with full
  capacity and their locked loads: any plan of the whole docket puts at least this load on these
  officers, so its lower bound is a lower bound of the whole docket's peak.

When no officer is shared between offices both are the same problem and the answer is exact: k
suffice and k − 1 cannot. When officers are shared, k suffice, and k − 1 is proven insufficient
only where the bound problem says so; otherwise the report says that minimality is not proven.

The search runs on the sufficiency problem: it starts from the fluid estimate (the office's peak
scales with its hours over its capacity), brackets on the LP path's certificates (the LP bound
falls as officers are added) and bisects; the bound problem is solved once, for the claim about
k − 1. Where a bound above the target does not move as officers are added, the bottleneck is
work the profile's officers may not take (a skill they lack, locks, caps), and the search stops
and says so. Offices run side by side on the available cores.

Staffing is steady state: every subproblem is solved with ``handoff_hours = 0``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import polars as pl

from assigncli.check import check_plan
from assigncli.config import Config
from assigncli.contract import (
    CASES_OPTIONAL,
    CASES_REQUIRED,
    ROSTER_OPTIONAL,
    ROSTER_REQUIRED,
    available_hours_expr,
)
from assigncli.errors import AssignError, UsageError
from assigncli.plan import build_plan
from assigncli.problem import UNASSIGNABLE, build_problem
from assigncli.solvers.solve import SolveOptions, solve

__all__ = [
    "ALL_SKILLS",
    "Allocation",
    "OfficeAnswer",
    "Probe",
    "Profile",
    "ProfileSpec",
    "StaffingOptions",
    "StaffingResult",
    "achievable_caseload",
    "allocate_officers",
    "arithmetic",
    "case_type",
    "office_profile",
    "staff",
    "staffing_arithmetic_gap",
]

log = logging.getLogger(__name__)

ALL_SKILLS = ""  # the `skill` of an office's row that counts every case
NEW_OFFICER_PREFIX = "+new"  # ids of the officers the search adds: "+new:NYC:0001"
_TOL = 1e-9
# Offices up to this many cases get a second opinion from the real solver (`auto`: CP-SAT on
# small components) where the LP path's plan and bound straddle the target. Larger offices keep
# the LP path's answer: CP-SAT would spend its whole time limit there for a bound that rarely
# beats the LP's, and their rounded LP plans are within a case or two of optimal.
REPROBE_CASES = 5_000
# Above this many added officers, the search's solves take them as one officer of their hours
# together (the same LP bound, a far smaller model); the answer is confirmed with them apart.
AGGREGATE_ABOVE = 8
# Dockets up to this many cases get the joint proof for offices that share officers (one solve of
# the whole docket per such office); above it, those offices' k − 1 claims rest on their own
# bound problems.
JOINT_PROOF_CASES = 200_000
Progress = Callable[[str], None]


# --- options and profiles ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileSpec:
    """What the user fixed of the new officers' profile; the rest comes from the office."""

    skills: tuple[str, ...] | None = None
    capacity_hours: float | None = None

    def __post_init__(self) -> None:
        if self.capacity_hours is not None and not (
            math.isfinite(self.capacity_hours) and self.capacity_hours > 0
        ):
            raise UsageError(f"profile capacity_hours must be > 0, not {self.capacity_hours!r}")


@dataclass(frozen=True)
class Profile:
    """One new officer: covers `office`, holds `skills`, `capacity_hours` a cycle, no time away."""

    office: str
    skills: tuple[str, ...]
    capacity_hours: float
    source: str  # how it was chosen, for the report

    @property
    def label(self) -> str:
        return ";".join(self.skills) if self.skills else "(no skills)"


@dataclass(frozen=True)
class StaffingOptions:
    target: float = 0.85
    profile: ProfileSpec = field(default_factory=ProfileSpec)
    offices: tuple[str, ...] = ()  # search only these offices (empty: every office with cases)
    officers: int | None = None  # the reverse question: where N new officers do the most good
    optimize: bool = True  # False: the arithmetic and the caseload only
    time_limit: float = 10.0  # per solve
    seed: int = 0
    workers: int = 0
    case_type: str | None = None  # column that names the case type (default: the base rule)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.target) and 0 < self.target <= 10):
            raise UsageError(f"--target must be a utilization in (0, 10], not {self.target!r}")
        if self.officers is not None and self.officers < 0:
            raise UsageError(f"--officers must be >= 0, not {self.officers}")

    def solve_options(self, solver: Literal["auto", "exact", "scale"]) -> SolveOptions:
        return SolveOptions(
            solver=solver, time_limit=self.time_limit, seed=self.seed, workers=self.workers
        )


# --- the arithmetic ------------------------------------------------------------------------------


def _officer_shares(roster: pl.DataFrame, config: Config) -> pl.DataFrame:
    """One row per (active officer, office covered): the officer's share of one officer there."""
    return (
        roster.filter(pl.col("active"))
        .with_columns(available_hours_expr(config.cycle_days))
        .with_columns((1.0 / pl.col("office").list.len()).alias("share"))
        .explode("office")
        .select("officer_id", "office", "skills", "capacity_hours", "available_hours", "share")
    )


def arithmetic(
    roster: pl.DataFrame, cases: pl.DataFrame, config: Config, target: float
) -> pl.DataFrame:
    """The workload-study arithmetic per office (skill "") and per (office, skill).

    Columns: office, skill, cases, hours (steady-state effort), officers_on_roster (full-time
    equivalents), available_hours, hours_per_officer (the office's mean available hours per
    officer), officers_needed = ⌈hours / (target × hours_per_officer)⌉, gap = needed − on roster,
    utilization (hours / available hours today; null without available hours).
    """
    shares = _officer_shares(roster, config)
    overall = (
        float(shares["available_hours"].sum()) / float(shares["share"].sum())
        if shares.height
        else 0.0
    )
    office_cases = cases.group_by("office").agg(
        pl.len().cast(pl.Int64).alias("cases"), pl.col("effort_hours").sum().alias("hours")
    )
    office_staff = shares.group_by("office").agg(
        pl.col("share").sum().alias("officers_on_roster"),
        (pl.col("share") * pl.col("available_hours")).sum().alias("available_hours"),
    )
    offices = (
        office_cases.join(office_staff, on="office", how="full", coalesce=True)
        .with_columns(
            pl.col("cases").fill_null(0),
            pl.col("hours", "officers_on_roster", "available_hours").fill_null(0.0),
            pl.lit(ALL_SKILLS).alias("skill"),
        )
        .with_columns(
            pl.when(pl.col("available_hours") > 0)
            .then(pl.col("available_hours") / pl.col("officers_on_roster"))
            .otherwise(pl.lit(overall if overall > 0 else None, dtype=pl.Float64))
            .alias("hours_per_officer")
        )
    )
    per_office = offices.select("office", "hours_per_officer")
    skill_cases = (
        cases.select("office", "effort_hours", "required_skills")
        .explode("required_skills")
        .drop_nulls("required_skills")
        .group_by("office", pl.col("required_skills").alias("skill"))
        .agg(pl.len().cast(pl.Int64).alias("cases"), pl.col("effort_hours").sum().alias("hours"))
    )
    skill_staff = (
        shares.explode("skills")
        .drop_nulls("skills")
        .group_by("office", pl.col("skills").alias("skill"))
        .agg(
            pl.col("share").sum().alias("officers_on_roster"),
            (pl.col("share") * pl.col("available_hours")).sum().alias("available_hours"),
        )
    )
    skills = (
        skill_cases.join(skill_staff, on=["office", "skill"], how="left")
        .with_columns(pl.col("officers_on_roster", "available_hours").fill_null(0.0))
        .join(per_office, on="office", how="left")
    )
    columns = [
        "office",
        "skill",
        "cases",
        "hours",
        "officers_on_roster",
        "available_hours",
        "hours_per_officer",
    ]
    table = pl.concat([offices.select(columns), skills.select(columns)], how="vertical_relaxed")
    return (
        table.with_columns(
            pl.when(pl.col("hours_per_officer") > 0)
            .then((pl.col("hours") / (target * pl.col("hours_per_officer")) - _TOL).ceil())
            .clip(lower_bound=0)
            .cast(pl.Int64)
            .alias("officers_needed")
        )
        .with_columns(
            (pl.col("officers_needed") - pl.col("officers_on_roster")).alias("gap"),
            pl.when(pl.col("available_hours") > 0)
            .then(pl.col("hours") / pl.col("available_hours"))
            .alias("utilization"),
        )
        .sort("office", "skill")
    )


def staffing_arithmetic_gap(table: pl.DataFrame) -> float:
    """Officers the arithmetic says are missing, summed over offices (surpluses not netted)."""
    rows = table.filter(pl.col("skill") == ALL_SKILLS)
    return float(rows.select(pl.col("gap").clip(lower_bound=0).sum()).item() or 0.0)


def case_type(cases: pl.DataFrame, column: str | None) -> pl.Series:
    """The case type of each case: `column`, or the base rule that set its hours."""
    if column is not None:
        if column not in cases.columns:
            raise UsageError(
                f"--case-type: no column {column!r} in the case file "
                f"(columns: {', '.join(cases.columns)})"
            )
        return cases[column].cast(pl.String).fill_null("(none)").alias("case_type")
    if "effort_base" in cases.columns and "effort_source" in cases.columns:
        return (
            cases.select(
                pl.when(pl.col("effort_source") == "rule")
                .then(pl.col("effort_base"))
                .otherwise(pl.col("effort_source").cast(pl.String))
                .fill_null("(none)")
                .alias("case_type")
            )
        ).to_series()
    return pl.Series("case_type", ["(all)"] * cases.height, dtype=pl.String)


def achievable_caseload(
    cases: pl.DataFrame, table: pl.DataFrame, target: float, types: pl.Series
) -> pl.DataFrame:
    """Cases and hours one officer can carry at the target, per office and case type.

    The office row (case_type "(all)") is the office's own mix; a type row is a caseload of that
    type only. Columns: office, case_type, cases, hours, hours_per_case, share_of_hours,
    hours_per_officer_at_target, cases_per_officer_at_target, cases_per_officer_now (the type's
    cases over the officers on the roster).
    """
    per_office = table.filter(pl.col("skill") == ALL_SKILLS).select(
        "office", "hours_per_officer", "officers_on_roster", pl.col("hours").alias("_office_hours")
    )
    frame = cases.select("office", "effort_hours").with_columns(types)
    by_type = frame.group_by("office", "case_type").agg(
        pl.len().cast(pl.Int64).alias("cases"), pl.col("effort_hours").sum().alias("hours")
    )
    mix = frame.group_by("office").agg(
        pl.lit("(all)").alias("case_type"),
        pl.len().cast(pl.Int64).alias("cases"),
        pl.col("effort_hours").sum().alias("hours"),
    )
    return (
        pl.concat([mix.select(by_type.columns), by_type])
        .join(per_office, on="office", how="left")
        .with_columns(
            (pl.col("hours") / pl.col("cases")).alias("hours_per_case"),
            pl.when(pl.col("_office_hours") > 0)
            .then(pl.col("hours") / pl.col("_office_hours"))
            .alias("share_of_hours"),
            (target * pl.col("hours_per_officer")).alias("hours_per_officer_at_target"),
        )
        .with_columns(
            pl.when(pl.col("hours_per_case") > 0)
            .then(pl.col("hours_per_officer_at_target") / pl.col("hours_per_case"))
            .alias("cases_per_officer_at_target"),
            pl.when(pl.col("officers_on_roster") > 0)
            .then(pl.col("cases") / pl.col("officers_on_roster"))
            .alias("cases_per_officer_now"),
        )
        .select(
            "office",
            "case_type",
            "cases",
            "hours",
            "hours_per_case",
            "share_of_hours",
            "hours_per_officer_at_target",
            "cases_per_officer_at_target",
            "cases_per_officer_now",
        )
        .sort(
            "office",
            pl.col("case_type") != "(all)",
            pl.col("hours"),
            descending=[False, False, True],
        )
    )


# --- profiles ------------------------------------------------------------------------------------


def office_profile(roster: pl.DataFrame, office: str, spec: ProfileSpec) -> Profile:
    """The new officer for `office`: what `spec` fixes, else the office's median officer.

    The median officer has the median capacity_hours of the active officers covering the office
    and holds every skill that at least half of them hold (the agency's median where the office has
    no active officer).
    """
    active = roster.filter(pl.col("active"))
    covering = active.filter(pl.col("office").list.contains(office))
    pool = covering if covering.height else active
    where = f"office {office}" if covering.height else "the agency"
    capacity = spec.capacity_hours
    if capacity is None:
        capacity = float(pool["capacity_hours"].median()) if pool.height else 0.0  # type: ignore[arg-type]
    if capacity <= 0:
        raise UsageError(
            f"office {office}: no active officer to take a profile from; give --capacity-hours"
        )
    skills = spec.skills
    if skills is None:
        counts = pool.select(pl.col("skills").list.unique()).explode("skills").drop_nulls()
        counted = counts.group_by("skills").len()
        half = pool.height / 2
        skills = tuple(sorted(counted.filter(pl.col("len") >= half)["skills"].to_list()))
        source = f"median officer of {where} ({pool.height} active)"
    else:
        source = "given"
    if spec.capacity_hours is not None and spec.skills is None:
        source = f"given capacity; skills of the median officer of {where}"
    elif spec.capacity_hours is None and spec.skills is not None:
        source = f"given skills; capacity of the median officer of {where}"
    return Profile(office, tuple(sorted(set(skills))), float(capacity), source)


def _new_officers(roster: pl.DataFrame, profile: Profile, k: int, start: int = 0) -> pl.DataFrame:
    schema = {**ROSTER_REQUIRED, **ROSTER_OPTIONAL}
    ids = [f"{NEW_OFFICER_PREFIX}:{profile.office}:{start + j + 1:04d}" for j in range(k)]
    return pl.DataFrame(
        {
            "officer_id": ids,
            "office": [[profile.office]] * k,
            "capacity_hours": [profile.capacity_hours] * k,
            "skills": [list(profile.skills)] * k,
            "unavailable_days": [0.0] * k,
            "max_cases": pl.Series([None] * k, dtype=pl.Int64),
            "active": [True] * k,
        },
        schema=schema,
    ).select(roster.columns)


# --- subproblems ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Subproblems:
    """The two problems of one office (see the module docstring); one when nothing is shared."""

    office: str
    suff_roster: pl.DataFrame
    suff_cases: pl.DataFrame
    bound_roster: pl.DataFrame
    bound_cases: pl.DataFrame
    shared_officers: int  # officers homed here who cover other offices, or covering from elsewhere
    exact: bool  # both problems are the same: the answer is proven minimal when the bound says so


def _honoured_lock(cases: pl.DataFrame, roster: pl.DataFrame) -> pl.Series:
    active_ids = roster.filter(pl.col("active"))["officer_id"]
    return (
        cases.select(
            pl.col("locked").fill_null(False)
            & pl.col("current_officer_id").is_in(active_ids.implode()).fill_null(False)
        )
        .to_series()
        .alias("_honoured")
    )


@dataclass(frozen=True, eq=False)
class _Docket:
    """The inputs split once for every office's subproblems: cases by office (contract columns
    only), and the honoured locks apart, since they travel with their officer."""

    roster: pl.DataFrame  # with _home (first office)
    by_office: dict[str, pl.DataFrame]  # unlocked or lock-not-honoured cases, by case office
    locks: pl.DataFrame  # honoured locks, with _lock_home and _lock_offices of their officer

    @classmethod
    def of(cls, roster: pl.DataFrame, cases: pl.DataFrame) -> _Docket:
        homed = roster.with_columns(pl.col("office").list.first().alias("_home"))
        columns = [c for c in (*CASES_REQUIRED, *CASES_OPTIONAL) if c in cases.columns]
        slim = cases.select(columns).with_columns(_honoured_lock(cases, roster))
        free = slim.filter(~pl.col("_honoured")).drop("_honoured")
        locks = (
            slim.filter(pl.col("_honoured"))
            .drop("_honoured")
            .join(
                homed.select(
                    pl.col("officer_id").alias("current_officer_id"),
                    pl.col("_home").alias("_lock_home"),
                    pl.col("office").alias("_lock_offices"),
                ),
                on="current_officer_id",
                how="left",
                maintain_order="left",
            )
        )
        parts = free.partition_by("office", as_dict=True, maintain_order=True)
        by_office = {str(key[0]): frame for key, frame in parts.items()}
        return cls(homed, by_office, locks)

    def subproblems(self, office: str) -> _Subproblems:
        roster, locks = self.roster, self.locks
        base_cols = [c for c in roster.columns if c != "_home"]
        case_cols = [c for c in locks.columns if not c.startswith("_")]
        free = self.by_office.get(office)
        if free is None:
            free = locks.clear().select(case_cols)
        homed = roster.filter(pl.col("_home") == office)
        suff_roster = homed.with_columns(pl.lit([office]).alias("office")).select(base_cols)
        suff_cases = pl.concat(
            [free, locks.filter(pl.col("_lock_home") == office).select(case_cols)]
        )
        covering = roster.filter(pl.col("office").list.contains(office))
        bound_roster = covering.with_columns(pl.lit([office]).alias("office")).select(base_cols)
        bound_cases = pl.concat(
            [
                free,
                locks.filter(pl.col("_lock_offices").list.contains(office)).select(case_cols),
            ]
        )
        shared = int((homed["office"].list.len() > 1).sum()) + (covering.height - homed.height)
        exact = (
            shared == 0
            and suff_cases.height == bound_cases.height
            and suff_roster.height == bound_roster.height
        )
        return _Subproblems(
            office, suff_roster, suff_cases, bound_roster, bound_cases, shared, exact
        )


# --- probes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One solve of an office's problem with k officers added."""

    k: int
    objective: float  # the plan's peak utilization (sufficiency problem)
    lower_bound: float  # proven bound on the sufficiency problem's peak
    unassigned: int
    status: str
    solver: str
    seconds: float
    checked: bool = False  # the plan passed the independent checker

    def sufficient(self, target: float, unassigned_floor: int) -> bool:
        return self.objective <= target * (1 + _TOL) and self.unassigned <= unassigned_floor

    def insufficient(self, target: float) -> bool:
        return self.lower_bound > target * (1 + _TOL)

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "objective": self.objective,
            "lower_bound": self.lower_bound,
            "unassigned": self.unassigned,
            "status": self.status,
            "solver": self.solver,
            "seconds": round(self.seconds, 3),
            "checked": self.checked,
        }


class _OfficeSearch:
    """Solves one office's problems for any k, remembering every probe."""

    def __init__(
        self,
        sub: _Subproblems,
        profile: Profile,
        config: Config,
        options: StaffingOptions,
        added: pl.DataFrame | None = None,
    ) -> None:
        self.sub = sub
        self.profile = profile
        # Steady state: a move's handoff hours are paid once, not every cycle.
        self.config = replace(config, handoff_hours=0.0)
        self.options = options
        self.added = added  # officers already added (the reverse question), before the profile's
        self.probes: dict[tuple[int, str], Probe] = {}
        # Cases nobody may take even beside the profile's officers (a skill the profile lacks),
        # known after the first probe at k = 0.
        self.unassignable_floor = 0
        self._floor_known = False
        # (k1, k2, bound): the bound stayed above the target from k1 to k2 added officers.
        self.plateau: tuple[int, int, float] | None = None
        self._solved: dict[tuple[int, str], tuple[pl.DataFrame, Any, Any]] = {}
        self._whole: dict[tuple[int, str], float] = {}

    def _roster(self, base: pl.DataFrame, k: int, *, real: bool = False) -> pl.DataFrame:
        parts = [base]
        start = 0
        if self.added is not None and self.added.height:
            parts.append(self.added.select(base.columns))
            start = self.added.height
        if k > AGGREGATE_ABOVE and not real:
            # k identical uncapped officers are one officer of k times the hours to the LP (split
            # its load evenly and back), so the bound is the same at a fraction of the model; its
            # plan is not a plan of k officers, so answers are confirmed with them (`real`).
            big = replace(self.profile, capacity_hours=self.profile.capacity_hours * k)
            parts.append(_new_officers(base, big, 1, start))
        elif k:
            parts.append(_new_officers(base, self.profile, k, start))
        return pl.concat(parts) if len(parts) > 1 else base

    def probe(self, k: int, solver: str = "scale") -> Probe:
        """Solve the office with k officers added; `solver` "scale" or "auto", "/real" appended
        for k separate officers where the search would aggregate them."""
        key = (k, solver)
        if key in self.probes:
            return self.probes[key]
        started = time.perf_counter()
        name, _, real = solver.partition("/")
        opts = self.options.solve_options("auto" if name == "auto" else "scale")
        roster = self._roster(self.sub.suff_roster, k, real=bool(real))
        cases = self.sub.suff_cases
        problem = build_problem(roster, cases, self.config)
        status = problem.cases["status"]
        # Cases nobody on this roster may take: they never reach the solver.
        nobody = int((status == UNASSIGNABLE).sum())
        if self.added is None and (k == 0 or not self._floor_known):
            if k == 0:
                have = pl.Series(
                    [list(self.profile.skills)] * cases.height, dtype=pl.List(pl.String)
                )
                lacks = cases["required_skills"].list.set_difference(have).list.len() > 0
                self.unassignable_floor = int(((status == UNASSIGNABLE) & lacks).sum())
            else:
                # Beside k uncapped officers of the profile, nobody may take exactly those.
                self.unassignable_floor = nobody
            self._floor_known = True
        solution = solve(problem, opts)
        cert = solution.certificate
        bound = cert.lower_bound
        result = Probe(
            k=k,
            objective=cert.objective,
            lower_bound=bound,
            # Pool cases left over plus cases nobody may take, counted here whatever the
            # certificate's own count includes.
            unassigned=int(solution.unassigned.sum()) + nobody,
            status=cert.status,
            solver=solver,
            seconds=time.perf_counter() - started,
        )
        self.probes[key] = result
        self._solved[key] = (roster, problem, solution)
        # Only the latest solve is kept for the checker: memory stays one problem's worth.
        for old in [o for o in self._solved if o != key]:
            del self._solved[old]
        return result

    def whole_bound(self, k: int, solver: Literal["auto", "exact", "scale"] = "scale") -> float:
        """A proven lower bound on the whole docket's peak with k officers added here: the bound
        problem's (every officer covering the office, at full capacity). The search itself runs on
        the sufficiency problem; this settles the claim that k − 1 cannot."""
        if self.sub.exact:
            return self.probe(k, solver).lower_bound
        key = (k, solver)
        if key not in self._whole:
            broad = build_problem(
                self._roster(self.sub.bound_roster, k), self.sub.bound_cases, self.config
            )
            opts = self.options.solve_options(solver)
            self._whole[key] = solve(broad, opts).certificate.lower_bound
        return self._whole[key]

    def checked(self, k: int, solver: str = "scale") -> Probe:
        """The probe at k with k separate officers, its plan built per case and passed through the
        independent checker."""
        if k > AGGREGATE_ABOVE and not solver.endswith("/real"):
            solver += "/real"
        key = (k, solver)
        probe = self.probe(k, solver)
        if probe.checked:
            return probe
        if key not in self._solved:
            del self.probes[key]
            probe = self.probe(k, solver)
        roster, problem, solution = self._solved[key]
        plan = build_plan(problem, solution)
        report = check_plan(roster, self.sub.suff_cases, plan, self.config)
        if not report.ok:
            raise AssignError(
                f"internal error: the staffing plan of office {self.sub.office} failed the "
                "independent check: " + "; ".join(report.violations)
            )
        peak = max(probe.objective, report.max_utilization or 0.0)
        probe = replace(probe, objective=peak, checked=True)
        self.probes[key] = probe
        return probe

    def decide(self, k: int, target: float, floor_unassigned: int) -> Probe:
        """The LP path's probe at k; where its plan is above the target but its bound is not, the
        real solver's too (exact on small offices), merged: the lower plan, the higher bound."""
        p = self.probe(k)
        if p.sufficient(target, floor_unassigned) or p.insufficient(target):
            return p
        if self.sub.suff_cases.height <= REPROBE_CASES:
            self.probe(k, "auto")
        best = self.best(k)
        assert best is not None
        return best

    def solver_that_suffices(self, k: int, target: float, floor_unassigned: int) -> str:
        for solver in ("scale/real", "auto/real", "scale", "auto"):
            p = self.probes.get((k, solver))
            if p is not None and p.sufficient(target, floor_unassigned):
                return solver
        return "scale"

    def best(self, k: int) -> Probe | None:
        """The most informative probe at k so far: the lowest plan, the highest bound."""
        found = [p for (kk, _), p in self.probes.items() if kk == k]
        if not found:
            return None
        low = min(found, key=lambda p: p.objective)
        high = max(p.lower_bound for p in found)
        return replace(low, lower_bound=max(high, low.lower_bound))


# --- the optimizer's answer ----------------------------------------------------------------------


@dataclass(frozen=True)
class OfficeAnswer:
    """The optimizer's answer for one office, with its certificate and the reasons it differs."""

    office: str
    target: float
    profile: Profile
    arithmetic_gap: int  # officers to add by the arithmetic (⌈gap⌉, at least 0)
    officers_to_add: int | None  # None: not reached within the search limit
    plan_peak: float | None  # the checked plan's peak with officers_to_add added
    peak_now: float | None  # the optimal plan's peak today (k = 0), plan value
    bound_now: float | None
    fewer_bound: float | None  # the proven bound with one officer fewer
    minimal: bool  # k − 1 proven insufficient (or k = 0)
    exact: bool  # no shared officer: the two subproblems are one
    search_limit: int
    plateau: tuple[int, int, float] | None
    probes: tuple[Probe, ...]
    reasons: tuple[str, ...]
    unassignable: int  # cases no officer of the roster or of the profile may take
    # The k − 1 bound comes from the whole docket with every other office's answer added (shared
    # officers counted once): one fewer here cannot, given the others.
    joint: bool = False

    @property
    def sentence(self) -> str:
        k = self.officers_to_add
        if k is None and self.plateau is not None:
            k1, k2, bound = self.plateau
            return (
                f"no number of officers of this profile reaches {_pct(self.target)}: the bound "
                f"stays at {_pct(bound)} from {k1} to {k2} added (work they cannot take"
                + (")" if self.exact else "; shared officers kept in their home office)")
            )
        if k is None:
            at_limit = [p.lower_bound for p in self.probes if p.k == self.search_limit]
            bound = max(at_limit) if at_limit else float("nan")
            return (
                f"no number of officers of this profile up to {self.search_limit} reaches "
                f"{_pct(self.target)} (bound with {self.search_limit}: {_pct(bound)})"
            )
        noun = "officer" if k == 1 else "officers"
        head = f"{k} {noun} suffice (plan at {_pct(self.plan_peak)})"
        if k == 0:
            return head.replace("0 officers suffice", "no officer needed")
        if self.minimal:
            given = ", with the other offices' additions" if self.joint else ""
            return f"{head}; {k - 1} cannot (bound {_pct(self.fewer_bound)}{given})"
        return (
            f"{head}; minimality not proven: the bound with {k - 1} is "
            f"{_pct(self.fewer_bound)}, not above the target"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "office": self.office,
            "profile": {
                "office": self.profile.office,
                "skills": list(self.profile.skills),
                "capacity_hours": self.profile.capacity_hours,
                "source": self.profile.source,
            },
            "arithmetic_gap": self.arithmetic_gap,
            "officers_to_add": self.officers_to_add,
            "plan_peak": self.plan_peak,
            "peak_now": self.peak_now,
            "bound_now": self.bound_now,
            "fewer_bound": self.fewer_bound,
            "minimal": self.minimal,
            "exact": self.exact,
            "search_limit": self.search_limit,
            "plateau": list(self.plateau) if self.plateau else None,
            "answer": self.sentence,
            "reasons": list(self.reasons),
            "unassignable": self.unassignable,
            "joint_bound": self.joint,
            "probes": [p.to_dict() for p in self.probes],
        }


def _pct(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.1%}"


def _next_guess(probe: Probe, target: float, hours_per_new: float, base_hours: float) -> int:
    """Where the fluid model puts the answer from one probe: the peak scales with the hours over
    the capacity, so k grows until (base + k × new hours) × target = peak × today's capacity.

    The peak is the bound where it is above the target (the bound is set by work the new officers
    share), else the plan's (a plan above a bound below the target: integer cases, so the plan is
    what has to come down)."""
    peak = max(probe.lower_bound if probe.lower_bound > target else probe.objective, 0.0)
    total = base_hours + probe.k * hours_per_new
    needed = peak * total / target
    return probe.k + math.ceil((needed - total) / hours_per_new - _TOL)


def _mean_bound(sub: _Subproblems, config: Config) -> float:
    """A proven lower bound on today's peak of the office's sufficiency problem, without a solve:
    the hours of unlocked cases with no required skill over the hours of the officers who may
    receive them (every such case goes to one of them; locked cases only add load). 0 where case caps could leave such cases unassigned."""
    roster = sub.suff_roster.with_columns(available_hours_expr(config.cycle_days))
    if roster.filter(pl.col("max_cases").is_not_null()).height:
        return 0.0
    available = float(roster.filter(pl.col("active"))["available_hours"].sum())
    plain = sub.suff_cases.filter(
        (pl.col("required_skills").list.len() == 0) & ~pl.col("locked").fill_null(False)
    )
    hours = float(plain["effort_hours"].sum()) if plain.height else 0.0
    return hours / available if available > 0 else 0.0


def _base_hours(search: _OfficeSearch) -> float:
    roster = search.sub.suff_roster
    return float(roster.select(available_hours_expr(search.config.cycle_days).sum()).item() or 0.0)


def _search(
    search: _OfficeSearch,
    target: float,
    start: int,
    limit: int,
    floor_unassigned: int,
    lo: int = -1,
) -> int | None:
    """Smallest k (≤ limit) whose plan reaches the target; None when none does.

    ``lo`` is the largest k known not to suffice, ``hi`` the smallest known to suffice. Inside the
    bracket, probes alternate between the fluid estimate and bisection, so the bracket at least
    halves every second probe. The estimate comes from the probe at ``lo``, whose bound is above
    the target: there the bound is set by work the new officers share, so scaling their hours
    predicts it (a bound below the target may be set by something they cannot relieve). A probe
    that neither suffices nor is proven insufficient counts as not sufficient: the search looks
    higher, and the caller re-examines k − 1.

    While no k suffices, the search grows k; a bound that does not move between two probes above
    the target is a bottleneck the profile's officers cannot relieve (the LP bound is the largest
    of several ratios, and only those that include the new officers fall as they are added), so
    the search stops there and records it in `search.plateau`.
    """
    hi: int | None = None
    k = max(lo + 1, min(start, limit))
    capacity_new = search.profile.capacity_hours
    base_hours = _base_hours(search)
    bisect = False
    checked_plateau = False
    below: Probe | None = search.best(lo) if lo >= 0 else None
    last_low: Probe | None = below
    while True:
        p = search.decide(k, target, search.unassignable_floor)
        if p.sufficient(target, search.unassignable_floor):
            hi = k
        else:
            if (
                below is not None
                and below.k < k
                and below.unassigned == p.unassigned
                and p.insufficient(target)
                and p.lower_bound >= below.lower_bound * (1 - 1e-9)
            ):
                search.plateau = (below.k, k, p.lower_bound)
                return None
            lo = k
            last_low = p
            if p.insufficient(target):
                below = p
        if hi is not None and hi - lo <= 1:
            return hi
        if hi is None:
            if k >= limit:
                return None
            if p.insufficient(target) and p.lower_bound > target * 1.02 and not checked_plateau:
                # Well above the target after the estimate's jump: one officer more tells whether
                # the bound still moves (cheaper than the next jump when it does not).
                checked_plateau = True
                k = min(limit, k + 1)
                continue
            guess = _next_guess(p, target, capacity_new, base_hours)
            # At least a quarter more each time while the bound is above the target, so that a
            # poor estimate costs few probes.
            grow = k // 4 if p.insufficient(target) else 0
            k = min(limit, max(k + 1, guess, k + grow))
            continue
        # From the highest k that does not suffice: its plan or bound is what must come down.
        ref = last_low if last_low is not None else p
        guess = _next_guess(ref, target, capacity_new, base_hours)
        k = min(max(guess, lo + 1), hi - 1) if not bisect else (lo + hi) // 2
        bisect = not bisect


def _reasons(
    sub: _Subproblems,
    profile: Profile,
    config: Config,
    target: float,
    table: pl.DataFrame,
    answer: int | None,
    arith_gap: int,
    unassignable: int,
) -> list[str]:
    """Where eligibility, skills, locks and time away make the optimizer differ from arithmetic."""
    reasons: list[str] = []
    office = sub.office
    roster = sub.bound_roster.with_columns(available_hours_expr(config.cycle_days))
    cases = sub.bound_cases
    row = table.filter((pl.col("office") == office) & (pl.col("skill") == ALL_SKILLS))
    per_officer = (
        float(row["hours_per_officer"][0]) if row.height and row["hours_per_officer"][0] else 0.0
    )
    if answer is not None and answer != arith_gap:
        direction = "more" if answer > arith_gap else "fewer"
        reasons.append(
            f"the optimizer adds {answer}, the arithmetic {arith_gap}: {abs(answer - arith_gap)} "
            f"{direction}, for the reasons below"
        )
    locked = (
        cases.filter(pl.col("locked").fill_null(False))
        .group_by("current_officer_id")
        .agg(pl.col("effort_hours").sum().alias("locked_hours"))
        .join(
            roster.select(pl.col("officer_id").alias("current_officer_id"), "available_hours"),
            on="current_officer_id",
        )
        .with_columns(
            pl.when(pl.col("available_hours") > 0)
            .then(pl.col("locked_hours") / pl.col("available_hours"))
            .otherwise(pl.lit(float("inf")))
            .alias("share")
        )
        .filter(pl.col("share") > target * (1 + _TOL))
        .sort("share", descending=True)
    )
    if locked.height:
        worst = locked.row(0, named=True)
        reasons.append(
            f"locks: {locked.height} officer(s) hold locked cases above {target:.0%} of their "
            f"hours (worst {worst['current_officer_id']}: {_pct(worst['share'])}); no hire "
            "lowers them, so the target is out of reach for any k"
        )
    away = roster.filter(pl.col("active") & (pl.col("unavailable_days") > 0))
    if away.height and per_officer > 0:
        lost = float((away["capacity_hours"] - away["available_hours"]).sum())
        reasons.append(
            f"time away: {away.height} officer(s) are away part of the cycle ({lost:,.0f} h lost); "
            f"the arithmetic counts a roster officer at {per_officer:,.0f} h, a new officer "
            f"brings {profile.capacity_hours:,.0f} h"
        )
    elif per_officer > 0 and abs(profile.capacity_hours - per_officer) > 0.05 * per_officer:
        reasons.append(
            f"capacity: a new officer brings {profile.capacity_hours:,.0f} h, a roster officer "
            f"averages {per_officer:,.0f} h"
        )
    skills = table.filter((pl.col("office") == office) & (pl.col("skill") != ALL_SKILLS))
    for s in skills.iter_rows(named=True):
        need = s["hours"]
        have = s["available_hours"]
        if need <= target * have * (1 + _TOL):
            continue
        lacks = s["skill"] not in profile.skills
        reasons.append(
            f"skill {s['skill']}: {need:,.1f} h of cases need it, its officers have "
            f"{have:,.1f} h ({target:.0%}: {target * have:,.1f} h); "
            + (
                "the profile lacks it, so added officers cannot take these cases"
                if lacks
                else "the added officers must hold it (the profile does)"
            )
        )
    if sub.shared_officers:
        reasons.append(
            f"eligibility: {sub.shared_officers} officer(s) are shared with another office; the "
            "plan behind the answer keeps each in their home office, the bound counts them here"
        )
    capped = roster.filter(pl.col("max_cases").is_not_null())
    if capped.height:
        reasons.append(
            f"caps: {capped.height} officer(s) have max_cases; their hours beyond the cap are "
            "not usable, which the arithmetic does not see"
        )
    inactive = roster.filter(~pl.col("active"))
    if inactive.height:
        reasons.append(
            f"roster: {inactive.height} inactive officer(s) count in neither answer; their "
            "cases must move"
        )
    if cases.height:
        largest = float(cases["effort_hours"].max())  # type: ignore[arg-type]
        if largest > target * profile.capacity_hours:
            reasons.append(
                f"case size: the largest case ({largest:,.1f} h) exceeds one new officer's "
                f"{target:.0%} ({target * profile.capacity_hours:,.1f} h)"
            )
    if unassignable:
        reasons.append(
            f"{unassignable} case(s) no officer of the roster or of the profile may take "
            "(office or skills): left out of the peak and of the answer"
        )
    return reasons


def answer_office(
    sub: _Subproblems,
    profile: Profile,
    config: Config,
    options: StaffingOptions,
    table: pl.DataFrame,
    progress: Progress | None = None,
) -> OfficeAnswer:
    """Fewest officers of `profile` for the office's optimal plan to reach the target."""
    target = options.target
    say = progress or (lambda _m: None)
    search = _OfficeSearch(sub, profile, config, options)
    row = table.filter((pl.col("office") == sub.office) & (pl.col("skill") == ALL_SKILLS))
    gap = float(row["gap"][0]) if row.height else 0.0
    arith = max(0, math.ceil(gap - _TOL))
    hours = float(sub.suff_cases["effort_hours"].sum()) if sub.suff_cases.height else 0.0
    # A safety net: the plateau test stops a search the profile cannot win long before.
    limit = max(64, 8 * math.ceil(hours / (target * profile.capacity_hours)) + 8)
    base_hours = _base_hours(search)
    overloaded = _mean_bound(sub, config)
    now: Probe | None = None
    if overloaded > target * 1.05:
        # No plan today can reach the target (its busiest officer carries at least the mean), so
        # the search starts from the fluid estimate without solving today's plan.
        today = Probe(0, overloaded, overloaded, 0, "arithmetic", "none", 0.0)
        start = max(1, _next_guess(today, target, profile.capacity_hours, base_hours))
        say(f"office {sub.office}: today at least {_pct(overloaded)}")
        k = _search(search, target, start, limit, 0, 0)
    else:
        search.probe(0)
        now = search.decide(0, target, search.unassignable_floor)
        say(f"office {sub.office}: today {_pct(now.objective)} (bound {_pct(now.lower_bound)})")
        enough_now = now.sufficient(target, search.unassignable_floor)
        start = (
            0
            if enough_now
            else max(1, _next_guess(now, target, profile.capacity_hours, base_hours))
        )
        k = _search(search, target, start, limit, 0, -1 if enough_now else 0)
    floor = search.unassignable_floor
    plan_peak: float | None = None
    fewer: float | None = None
    minimal = False
    if k is not None:
        # The answer's plan, per case, through the independent checker.
        final = search.checked(k, search.solver_that_suffices(k, target, floor).split("/")[0])
        # The search may have judged k on officers taken together: one more at a time until k
        # separate officers reach the target.
        while not final.sufficient(target, floor) and k < limit:
            k += 1
            final = search.checked(k)
    if k is not None:
        plan_peak = final.objective
        if k == 0:
            minimal = True
        else:
            fewer = search.whole_bound(k - 1)
            if sub.exact:
                known = search.best(k - 1)
                fewer = max(fewer, known.lower_bound if known is not None else 0.0)
            if fewer <= target * (1 + _TOL) and sub.suff_cases.height <= REPROBE_CASES:
                # The LP bound does not settle k − 1: ask the real solver for its strongest bound
                # (CP-SAT's own bound where the office is small enough for the exact path).
                fewer = max(fewer, search.whole_bound(k - 1, "auto"))
            minimal = fewer > target * (1 + _TOL)
    probes = tuple(sorted(search.probes.values(), key=lambda p: (p.k, p.solver)))
    say(
        f"office {sub.office}: "
        + (f"{k} officer(s) suffice" if k is not None else "target not reached")
    )
    reasons = _reasons(sub, profile, config, target, table, k, arith, floor)
    return OfficeAnswer(
        office=sub.office,
        target=target,
        profile=profile,
        arithmetic_gap=arith,
        officers_to_add=k,
        plan_peak=plan_peak,
        peak_now=now.objective if now is not None else None,
        bound_now=now.lower_bound if now is not None else overloaded,
        fewer_bound=fewer,
        minimal=minimal,
        exact=sub.exact,
        search_limit=limit,
        plateau=search.plateau,
        probes=probes,
        reasons=tuple(reasons),
        unassignable=floor,
    )


def _joint_proofs(
    answers: list[OfficeAnswer],
    profiles: dict[str, Profile],
    roster: pl.DataFrame,
    cases: pl.DataFrame,
    config: Config,
    options: StaffingOptions,
) -> list[OfficeAnswer]:
    """Where an office shares officers and its own bound problem left k − 1 open, bound the whole
    docket with every answer added and one fewer in that office: above the target, one fewer
    cannot, given the others' additions (the shared officers are counted once, not per office)."""
    if any(a.officers_to_add is None for a in answers):
        return answers
    steady = replace(config, handoff_hours=0.0)

    def bound_with(counts: dict[str, int], solver: Literal["auto", "scale"]) -> float:
        parts = [roster]
        for office, k in counts.items():
            if k:
                parts.append(_new_officers(roster, profiles[office], k))
        problem = build_problem(pl.concat(parts), cases, steady)
        return solve(problem, options.solve_options(solver)).certificate.lower_bound

    counts = {a.office: a.officers_to_add or 0 for a in answers}
    out = []
    for a in answers:
        if a.minimal or a.exact or not a.officers_to_add:
            out.append(a)
            continue
        fewer = {**counts, a.office: counts[a.office] - 1}
        bound = bound_with(fewer, "scale")
        if bound <= a.target * (1 + _TOL) and cases.height <= REPROBE_CASES:
            bound = max(bound, bound_with(fewer, "auto"))
        proven = bound > a.target * (1 + _TOL)
        out.append(replace(a, minimal=True, joint=True, fewer_bound=bound) if proven else a)
    return out


# --- the reverse question ------------------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    """Where N new officers do the most good: counts per office × skills, with the peaks."""

    officers: int
    table: (
        pl.DataFrame
    )  # office, skills, capacity_hours, officers, peak_before, peak_after, bound_after
    peak_before: float
    peak_after: float
    bound_after: float
    unplaced: int  # officers no office could use to lower its peak

    def to_dict(self) -> dict[str, Any]:
        return {
            "officers": self.officers,
            "peak_before": self.peak_before,
            "peak_after": self.peak_after,
            "bound_after": self.bound_after,
            "unplaced": self.unplaced,
            "placements": self.table.to_dicts(),
        }


def _variants(base: Profile, table: pl.DataFrame) -> list[Profile]:
    """The median officer, and the median officer with each further skill the office's cases need."""
    needed = table.filter((pl.col("office") == base.office) & (pl.col("skill") != ALL_SKILLS))[
        "skill"
    ].to_list()
    out = [base]
    for s in sorted(set(needed) - set(base.skills)):
        out.append(
            replace(base, skills=tuple(sorted({*base.skills, s})), source=base.source + f" + {s}")
        )
    return out


def allocate_officers(
    n: int,
    subs: Sequence[_Subproblems],
    profiles: dict[str, Profile],
    config: Config,
    options: StaffingOptions,
    table: pl.DataFrame,
    progress: Progress | None = None,
) -> Allocation:
    """Place `n` officers greedily where they lower the highest utilization most.

    Each round gives a block of officers to the office whose plan is most utilized, of the skill
    variant (the office's profile, or it plus one skill its cases need) that lowers that office's
    peak most; an office that no variant improves is set aside. Blocks shrink as officers run
    out, so the last officers are placed one by one.
    """
    say = progress or (lambda _m: None)
    schema_roster = subs[0].suff_roster if subs else None
    added: dict[str, pl.DataFrame] = {}
    counts: dict[tuple[str, tuple[str, ...]], int] = {}
    peaks: dict[str, Probe] = {}
    searches: dict[str, _OfficeSearch] = {}
    for sub in subs:
        searches[sub.office] = _OfficeSearch(sub, profiles[sub.office], config, options)
        peaks[sub.office] = searches[sub.office].probe(0)
    before = {o: p.objective for o, p in peaks.items()}
    peak_before = max(before.values(), default=0.0)
    remaining = n
    saturated: set[str] = set()
    n_offices = max(1, len(subs))
    while remaining > 0 and len(saturated) < len(subs):
        office = max((o for o in peaks if o not in saturated), key=lambda o: peaks[o].objective)
        sub = next(s for s in subs if s.office == office)
        step = max(1, math.ceil(remaining / (2 * n_offices)))
        best: tuple[float, float, Profile, Probe] | None = None
        for variant in _variants(profiles[office], table):
            trial = _OfficeSearch(sub, variant, config, options, added.get(office))
            p = trial.probe(step)
            key = (p.objective, -p.lower_bound)
            if best is None or key < (best[0], best[1]):
                best = (p.objective, -p.lower_bound, variant, p)
        assert best is not None
        _, _, variant, probe = best
        if probe.objective >= peaks[office].objective * (1 - 1e-6):
            saturated.add(office)
            continue
        assert schema_roster is not None
        block = _new_officers(
            schema_roster, variant, step, added[office].height if office in added else 0
        )
        added[office] = pl.concat([added[office], block]) if office in added else block
        counts[(office, variant.skills)] = counts.get((office, variant.skills), 0) + step
        peaks[office] = probe
        remaining -= step
        say(f"{n - remaining}/{n} officers placed; {office} now {_pct(probe.objective)}")
    # Confirm each office that received officers with the real solver and the checker.
    final: dict[str, Probe] = {}
    for office, extra in added.items():
        sub = next(s for s in subs if s.office == office)
        confirm = _OfficeSearch(sub, profiles[office], config, options, extra)
        final[office] = confirm.checked(0)
    rows = []
    for (office, skills), count in sorted(counts.items()):
        rows.append(
            {
                "office": office,
                "skills": ";".join(skills),
                "capacity_hours": profiles[office].capacity_hours,
                "officers": count,
                "peak_before": before[office],
                "peak_after": final[office].objective,
                "bound_after": final[office].lower_bound,
            }
        )
    schema = {
        "office": pl.String,
        "skills": pl.String,
        "capacity_hours": pl.Float64,
        "officers": pl.Int64,
        "peak_before": pl.Float64,
        "peak_after": pl.Float64,
        "bound_after": pl.Float64,
    }
    after_peaks = {o: (final[o] if o in final else peaks[o]) for o in peaks}
    return Allocation(
        officers=n,
        table=pl.DataFrame(rows, schema=schema),
        peak_before=peak_before,
        peak_after=max((p.objective for p in after_peaks.values()), default=0.0),
        bound_after=max((p.lower_bound for p in after_peaks.values()), default=0.0),
        unplaced=remaining,
    )


# --- everything ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class StaffingResult:
    target: float
    table: pl.DataFrame  # the arithmetic, per office and (office, skill)
    caseload: pl.DataFrame
    answers: tuple[OfficeAnswer, ...]
    allocation: Allocation | None
    seconds: float

    def answer(self, office: str) -> OfficeAnswer | None:
        return next((a for a in self.answers if a.office == office), None)

    @property
    def officers_to_add(self) -> int | None:
        """Sum over searched offices; None when any office is out of reach."""
        if any(a.officers_to_add is None for a in self.answers):
            return None
        return sum(a.officers_to_add or 0 for a in self.answers)

    @property
    def plan_peak(self) -> float | None:
        peaks = [a.plan_peak for a in self.answers if a.plan_peak is not None]
        return max(peaks) if peaks else None

    def output_table(self) -> pl.DataFrame:
        """The `--out` table: the arithmetic's rows, with the optimizer's answer on office rows."""
        rows = [
            {
                "office": a.office,
                "skill": ALL_SKILLS,
                "profile_skills": ";".join(a.profile.skills),
                "profile_capacity_hours": a.profile.capacity_hours,
                "officers_to_add": a.officers_to_add,
                "plan_peak": a.plan_peak,
                "peak_now": a.peak_now,
                "bound_with_one_fewer": a.fewer_bound,
                "minimality_proven": a.minimal if a.officers_to_add is not None else None,
                "answer": a.sentence,
                "reasons": " | ".join(a.reasons),
            }
            for a in self.answers
        ]
        schema = {
            "office": pl.String,
            "skill": pl.String,
            "profile_skills": pl.String,
            "profile_capacity_hours": pl.Float64,
            "officers_to_add": pl.Int64,
            "plan_peak": pl.Float64,
            "peak_now": pl.Float64,
            "bound_with_one_fewer": pl.Float64,
            "minimality_proven": pl.Boolean,
            "answer": pl.String,
            "reasons": pl.String,
        }
        opt = pl.DataFrame(rows, schema=schema)
        return self.table.with_columns(pl.lit(self.target).alias("target")).join(
            opt, on=["office", "skill"], how="left", maintain_order="left"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "officers_to_add": self.officers_to_add,
            "plan_peak": self.plan_peak,
            "arithmetic_gap": staffing_arithmetic_gap(self.table),
            "arithmetic": self.table.to_dicts(),
            "offices": [a.to_dict() for a in self.answers],
            "caseload": self.caseload.to_dicts(),
            "allocation": self.allocation.to_dict() if self.allocation else None,
            "seconds": round(self.seconds, 3),
        }


def staff(
    roster: pl.DataFrame,
    cases: pl.DataFrame,
    config: Config,
    options: StaffingOptions,
    progress: Progress | None = None,
) -> StaffingResult:
    """Every staffing answer for validated, effort-annotated inputs (see the module docstring)."""
    started = time.perf_counter()
    table = arithmetic(roster, cases, config, options.target)
    types = case_type(cases, options.case_type)
    caseload = achievable_caseload(cases, table, options.target, types)
    with_cases = sorted(set(cases["office"].unique().to_list()))
    if options.offices:
        unknown = sorted(set(options.offices) - set(with_cases))
        if unknown:
            raise UsageError(
                f"--office: no cases in office(s) {', '.join(unknown)}; offices with cases: "
                + ", ".join(with_cases)
            )
        offices = list(options.offices)
    else:
        offices = with_cases
    answers: list[OfficeAnswer] = []
    allocation = None
    if options.optimize or options.officers is not None:
        docket = _Docket.of(roster, cases)
        subs = [docket.subproblems(o) for o in offices]
        profiles = {o: office_profile(roster, o, options.profile) for o in offices}
        if options.optimize:
            # Offices are independent: side by side, the cores split between them (a solve's
            # own threads are fewer, so its result is the same as with that many workers alone).
            cores = options.solve_options("scale").resolved_workers()
            parallel = max(1, min(len(subs), cores))
            inner = replace(options, workers=max(1, cores // parallel))

            def one(sub: _Subproblems) -> OfficeAnswer:
                return answer_office(sub, profiles[sub.office], config, inner, table, progress)

            if parallel > 1:
                with ThreadPoolExecutor(max_workers=parallel) as pool:
                    answers.extend(pool.map(one, subs))
            else:
                answers.extend(one(sub) for sub in subs)
            if cases.height <= JOINT_PROOF_CASES:
                answers = _joint_proofs(answers, profiles, roster, cases, config, options)
        if options.officers is not None:
            allocation = allocate_officers(
                options.officers, subs, profiles, config, options, table, progress
            )
    return StaffingResult(
        target=options.target,
        table=table,
        caseload=caseload,
        answers=tuple(answers),
        allocation=allocation,
        seconds=time.perf_counter() - started,
    )
