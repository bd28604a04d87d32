"""Why a case went to its officer, and what an officer's load is made of (`assign explain`).

Everything is recomputed from the plan's inputs, never taken on trust from the plan file: the
manifest beside the plan names the roster, the case file and their SHA-256 hashes; the files are
re-read, re-hashed (a changed input is refused), validated, their effort re-estimated with the
config recorded in the manifest, and the plan is re-checked by the independent checker, whose
per-officer loads are the numbers every explanation starts from.

A case's **counterfactual** is exact: moving case *c* from officer *a* to officer *b* changes two
loads, ``a`` loses the case's effort (and the handoff hours it paid if *c* was moved to it) and
``b`` gains the effort (plus the handoff hours, unless *b* is the case's previous officer). The
plan's peak, lowest utilization and standard deviation of utilization after the move are computed
from those two changed loads and the others unchanged (the same officers and definitions as
`check.check_plan`: officers with available hours). Alternatives are the officers who may hold the
case (active, available hours, office, skills) and have room under ``max_cases`` in this plan;
they are ranked by the peak after the move, then the standard deviation, then their own
utilization.

A **group bound** is the simplest proof of why a peak cannot be lower: for the officers ``S`` who
may hold a case of eligibility group *g* (office + required skills), the hours that only they may
take — the cases of every group whose eligible officers all belong to ``S``, with the handoff hours
of those that must move, and the locked cases of ``S`` — divided by the available hours of ``S``.
No plan can keep every officer of ``S`` below it (caps only make it worse).
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from assigncli.check import CheckReport, check_plan
from assigncli.config import Config, default_config, parse_config
from assigncli.contract import LIST_SEPARATOR, PLAN_COLUMNS
from assigncli.effort import effort_rule_summary, estimate_effort
from assigncli.errors import InputError, InputIssue, IssueLog, OutputError, UsageError
from assigncli.problem import NO_CAP, CaseStatus, Problem, build_problem, status_codes
from assigncli.solvers.component import BALANCE_LEVELS
from assigncli.validate import load_inputs
from assigncli.write import file_sha256, restore_formulas, verify_plan_set

__all__ = [
    "AVAILABILITY_TOLERANCE",
    "DEFAULT_ALTERNATIVES",
    "Alternative",
    "CaseExplanation",
    "Eligibility",
    "GroupBound",
    "OfficerExplanation",
    "PlanContext",
    "explain_cases",
    "explain_officer",
    "load_plan_context",
    "manifest_path",
    "read_case_ids",
    "read_plan",
]

DEFAULT_ALTERNATIVES = 3
AVAILABILITY_TOLERANCE = 1e-9  # an officer within this of the peak utilization is "at the peak"
# CSV and Excel plans hold effort at 4 decimals; more than this from the inputs' estimate means
# the plan was made from other inputs or edited.
_EFFORT_READ_TOLERANCE = 1e-4
_MAX_PAIR_ROWS = 4_000_000  # (case, candidate officer) rows evaluated at once
_SHOWN = 5
_LOCKED, _HELD, _ORPHAN, _NEW, _UNASSIGNABLE = (
    int(CaseStatus.LOCKED),
    int(CaseStatus.HELD),
    int(CaseStatus.ORPHAN),
    int(CaseStatus.NEW),
    int(CaseStatus.UNASSIGNABLE),
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Continuity of a case, in plain words (the keys are stable: JSON and table output).
CONTINUITY = {
    "locked": "locked: stays with its officer",
    "kept": "stayed with its officer",
    "new": "a new case (no previous officer)",
    "moved_forced": "moved, forced: its previous officer cannot keep it",
    "moved_cap": "moved, forced by a case cap: its previous officer held more than max_cases",
    "moved_choice": "moved by the plan's choice, to balance load",
    "unassigned": "left unassigned",
}


def manifest_path(plan: Path) -> Path:
    """``out/plan.csv`` → ``out/plan.manifest.json`` (as `assign plan` writes it)."""
    return plan.with_name(f"{plan.stem}.manifest.json")


# --------------------------------------------------------------------------------------------
# Loading: manifest, inputs (hash-checked), plan (re-checked)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PlanContext:
    """A plan with everything needed to explain it, recomputed from its inputs.

    Officer arrays are in roster order (the checker's officer table): ``load``, ``available``,
    ``utilization`` (NaN without available hours), ``cases`` held, ``moved_in``, ``cap``
    (``problem.NO_CAP`` when uncapped). ``final`` and ``previous`` are per case (input order) roster
    indices, -1 for none or not on the roster; ``had_officer`` is whether the case had a previous
    officer at all.
    """

    plan_path: Path
    manifest: dict[str, Any]
    config: Config
    roster: pl.DataFrame
    cases: pl.DataFrame  # validated, effort estimated (with audit columns when asked)
    plan: pl.DataFrame  # in case order, effort_hours from the inputs
    problem: Problem
    check: CheckReport
    load: FloatArray
    available: FloatArray
    utilization: FloatArray
    cases_held: IntArray
    moved_in: IntArray
    cap: IntArray
    final: IntArray
    previous: IntArray
    had_officer: npt.NDArray[np.bool_]
    status: npt.NDArray[np.uint8]  # per case, its problem.CaseStatus code
    warnings: tuple[InputIssue, ...]
    seconds: dict[str, float]

    @functools.cached_property
    def group(self) -> IntArray:
        """Per case, its eligibility group (-1: none)."""
        return self.problem.cases["group"].fill_null(-1).to_numpy().astype(np.int64)

    @functools.cached_property
    def effort(self) -> FloatArray:
        return self.plan["effort_hours"].to_numpy().astype(np.float64)

    @functools.cached_property
    def cases_before(self) -> IntArray:
        """Cases each officer held before the plan (their cases of record)."""
        prev = self.previous[self.previous >= 0]
        return np.bincount(prev, minlength=self.problem.n_officers).astype(np.int64)

    @functools.cached_property
    def bounds(self) -> list[GroupBound]:
        return group_bounds(self)

    @property
    def officer_ids(self) -> tuple[str, ...]:
        return self.problem.officer_ids

    @property
    def staffed(self) -> npt.NDArray[np.bool_]:
        mask: npt.NDArray[np.bool_] = self.available > 0
        return mask

    @property
    def peak(self) -> float:
        return float(np.nanmax(self.utilization)) if self.staffed.any() else math.nan

    @property
    def peak_officer(self) -> str | None:
        if not self.staffed.any():
            return None
        return self.officer_ids[int(np.nanargmax(self.utilization))]

    @property
    def lowest(self) -> float:
        return float(np.nanmin(self.utilization)) if self.staffed.any() else math.nan

    @property
    def std(self) -> float:
        util = self.utilization[self.staffed]
        return float(util.std()) if util.size else math.nan

    @property
    def certificate(self) -> dict[str, Any]:
        cert = self.manifest.get("certificate")
        return cert if isinstance(cert, dict) else {}

    def officer_index(self, officer_id: str) -> int:
        try:
            return self.officer_ids.index(officer_id)
        except ValueError:
            raise UsageError(f"officer {officer_id!r} is not on the plan's roster") from None


def _fail(file: Path | str, message: str, code: str = "explain") -> InputError:
    issue = InputIssue("error", str(file), message, code=code)
    return InputError(f"{file}: {message}", [issue])


def _read_manifest(plan: Path) -> dict[str, Any]:
    path = manifest_path(plan)
    if not plan.is_file():
        raise _fail(plan, "plan file not found", "missing_file")
    if not path.is_file():
        raise _fail(
            path,
            f"the manifest of {plan} is missing; explain needs the manifest that `assign plan` "
            "writes beside the plan",
            "missing_manifest",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _fail(path, f"cannot read the manifest: {exc}", "bad_manifest") from None
    if not isinstance(data, dict):
        raise _fail(path, "the manifest is not a JSON object", "bad_manifest")
    return data


def _input_files(manifest: dict[str, Any], where: Path) -> dict[str, tuple[Path, str]]:
    """Role → (path, recorded sha256) for the roster and the case file."""
    files = manifest.get("input_files")
    hashes = manifest.get("inputs")
    if not isinstance(files, dict) or not isinstance(hashes, dict):
        raise _fail(
            where,
            "the manifest does not name its input files (an older assigncli wrote it); "
            "rerun `assign plan` to explain this plan",
            "bad_manifest",
        )
    found: dict[str, tuple[Path, str]] = {}
    for role in ("roster", "cases"):
        path, digest = files.get(role), hashes.get(role)
        if not isinstance(path, str) or not isinstance(digest, str):
            raise _fail(where, f"the manifest lacks the {role} file or its hash", "bad_manifest")
        found[role] = (Path(path), digest)
    return found


def _verify_inputs(files: dict[str, tuple[Path, str]]) -> None:
    """Refuse (InputError, exit 3) when an input is missing or differs from what was planned."""
    issues = []
    for role, (path, recorded) in files.items():
        if not path.is_file():
            issues.append(
                InputIssue(
                    "error",
                    str(path),
                    f"the {role} file the plan was made from is missing",
                    code="input_missing",
                )
            )
            continue
        try:
            now = file_sha256(path)
        except OutputError as exc:
            issues.append(InputIssue("error", str(path), exc.message, code="input_unreadable"))
            continue
        if now != recorded:
            issues.append(
                InputIssue(
                    "error",
                    str(path),
                    f"the {role} file has changed since the plan was made (sha256 {now[:12]}…, "
                    f"the manifest records {recorded[:12]}…); rerun `assign plan` to explain "
                    "a plan of these inputs",
                    code="input_changed",
                )
            )
    if issues:
        raise InputError("the plan's inputs no longer match its manifest", issues)


def _verify_set(plan: Path) -> None:
    """Refuse a plan whose files are not the set its manifest records (another run's plan, an
    edited file, an interrupted commit)."""
    check = verify_plan_set(plan)
    if check.complete:
        return
    problems = [InputIssue("error", str(plan), p, code="plan_set") for p in check.problems]
    if check.pending_commit:
        problems.append(
            InputIssue(
                "error",
                str(plan),
                "a commit of this plan set was interrupted; running `assign plan` again (or "
                "assigncli.write.recover_plan_set) completes it",
                code="plan_set",
            )
        )
    raise InputError(f"{plan}: the plan set is not the one its manifest records", problems)


def _config(manifest: dict[str, Any], where: Path) -> Config:
    """The config the plan was made with, as the manifest records it."""
    raw = manifest.get("config")
    if not isinstance(raw, dict):
        raise _fail(where, "the manifest has no config", "bad_manifest")
    source = str(raw.get("source", "built-in"))
    if source == "built-in":
        builtin = default_config()
        if raw.get("sha256") and builtin.sha256 != raw.get("sha256"):
            raise _fail(
                where,
                "the plan was made with another version of the built-in model (its hash "
                "differs); rerun `assign plan` to explain it",
                "config_changed",
            )
        return builtin
    data = {k: v for k, v in raw.items() if k not in ("source", "sha256")}
    try:
        return parse_config(data, source)
    except Exception as exc:
        raise _fail(
            where, f"the manifest's config cannot be read back: {exc}", "bad_manifest"
        ) from None


def read_plan(path: Path) -> pl.DataFrame:
    """A plan file (any table format) with contract.PLAN_COLUMNS, or InputError naming the file.

    Cells neutralized against spreadsheet formulas (a leading ``'``) are read back as written.
    """
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pl.read_parquet(path)
        elif suffix == ".csv":
            frame = pl.read_csv(path, schema_overrides=dict(PLAN_COLUMNS))
        elif suffix == ".xlsx":
            frame = pl.read_excel(path, schema_overrides=dict(PLAN_COLUMNS))
        else:
            raise _fail(path, f"unsupported plan format ({suffix or 'no extension'})")
    except InputError:
        raise
    except Exception as exc:
        raise _fail(path, f"cannot read the plan: {str(exc).splitlines()[0]}") from None
    missing = [c for c in PLAN_COLUMNS if c not in frame.columns]
    if missing:
        raise _fail(path, f"not a plan: missing column(s) {', '.join(missing)}", "bad_plan")
    try:
        frame = frame.select(pl.col(c).cast(t) for c, t in PLAN_COLUMNS.items())
    except pl.exceptions.PolarsError as exc:
        raise _fail(path, f"not a plan: {str(exc).splitlines()[0]}", "bad_plan") from None
    if suffix == ".csv":
        frame = restore_formulas(frame)
    return frame


def _align_plan(plan: pl.DataFrame, cases: pl.DataFrame, where: Path) -> pl.DataFrame:
    """The plan in case order with the inputs' effort; refuse one that belongs to other inputs."""
    if plan.height == cases.height and plan["case_id"].equals(cases["case_id"]):
        aligned = plan
    else:
        if plan["case_id"].n_unique() != plan.height:
            raise _fail(where, "the plan lists a case more than once", "bad_plan")
        aligned = cases.select("case_id").join(
            plan, on="case_id", how="left", maintain_order="left"
        )
    estimate = cases["effort_hours"]
    gap = (aligned["effort_hours"] - estimate).abs()
    off = (gap > _EFFORT_READ_TOLERANCE * estimate.abs().clip(1.0, None)).fill_null(False)
    if off.any():
        shown = ", ".join(aligned.filter(off)["case_id"].head(_SHOWN).to_list())
        raise _fail(
            where,
            f"{int(off.sum()):,} case(s) carry effort_hours that differ from the inputs' estimate "
            f"(first: {shown}): the plan was edited or made from other inputs",
            "plan_mismatch",
        )
    return aligned.with_columns(effort_hours=estimate)


def load_plan_context(
    plan_path: Path, *, audit: bool = False, progress: Callable[[str], None] | None = None
) -> PlanContext:
    """Read a plan, its manifest and its inputs; verify them; recompute its loads.

    ``audit`` keeps the effort audit columns (needed to explain an officer's load). Raises
    InputError (exit 3) for a missing or changed input, a missing manifest, or a plan that no longer
    passes the independent checker against its inputs.
    """
    seconds: dict[str, float] = {}
    say = progress or (lambda _msg: None)

    def lap(name: str, start: float) -> float:
        now = time.perf_counter()
        seconds[name] = round(now - start, 3)
        return now

    t = time.perf_counter()
    manifest = _read_manifest(plan_path)
    where = manifest_path(plan_path)
    _verify_set(plan_path)
    files = _input_files(manifest, where)
    config = _config(manifest, where)
    say("hashing the inputs")
    _verify_inputs(files)
    t = lap("hash", t)
    say("reading the inputs")
    sheet = manifest["input_files"].get("sheet")
    inputs = load_inputs(
        files["roster"][0],
        files["cases"][0],
        config,
        sheet=sheet if isinstance(sheet, str) else None,
    )
    t = lap("read+validate", t)
    say("estimating effort")
    # Warnings of the model (built-in rules skipped) were the plan's; they are kept, not repeated.
    model_issues = IssueLog()
    cases = estimate_effort(
        inputs.cases, config, audit=audit, issues=model_issues, cases_file=inputs.cases_file
    )
    t = lap("effort", t)
    say("reading the plan")
    plan = _align_plan(read_plan(plan_path), cases, plan_path)
    t = lap("read plan", t)
    say("checking the plan")
    report = check_plan(inputs.roster, cases, plan, config)
    if not report.ok:
        raise InputError(
            f"{plan_path}: the plan does not pass the independent check against its inputs "
            "(edited, or made from other inputs)",
            [
                InputIssue("error", str(plan_path), v, code="plan_mismatch")
                for v in report.violations
            ],
        )
    problem = build_problem(inputs.roster, cases, config)
    t = lap("check", t)

    officers = report.officers
    index = pl.Series(problem.officer_ids, dtype=pl.String)
    final = _roster_index(plan["officer_id"], index)
    previous = _roster_index(plan["previous_officer_id"], index)
    util = officers["utilization"].cast(pl.Float64).fill_null(math.nan).to_numpy()
    return PlanContext(
        plan_path=plan_path,
        manifest=manifest,
        config=config,
        roster=inputs.roster,
        cases=cases,
        plan=plan,
        problem=problem,
        check=report,
        load=officers["load"].to_numpy().astype(np.float64),
        available=officers["available_hours"].to_numpy().astype(np.float64),
        utilization=util.astype(np.float64),
        cases_held=officers["cases"].to_numpy().astype(np.int64),
        moved_in=officers["moved_in"].to_numpy().astype(np.int64),
        cap=problem.max_cases,
        final=final,
        previous=previous,
        had_officer=plan["previous_officer_id"].is_not_null().to_numpy(),
        status=status_codes(problem.cases),
        warnings=(*inputs.problems, *model_issues.problems),
        seconds=seconds,
    )


def _roster_index(ids: pl.Series, roster_ids: pl.Series) -> IntArray:
    """Roster index of each id; -1 for null or an id not on the roster."""
    index = ids.cast(pl.Enum(roster_ids), strict=False).to_physical().cast(pl.Int64)
    return index.fill_null(-1).to_numpy()


def read_case_ids(path: Path) -> list[str]:
    """Case ids from a file: a table with a ``case_id`` column (.csv, .parquet, .xlsx), or plain
    text with one id per line (.txt). UsageError when the file cannot serve."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise UsageError(f"--cases {path}: file not found")
    try:
        if suffix == ".txt":
            lines = path.read_text(encoding="utf-8").splitlines()
            return [s.strip() for s in lines if s.strip()]
        if suffix == ".csv":
            frame = pl.read_csv(path, schema_overrides={"case_id": pl.String})
        elif suffix == ".parquet":
            frame = pl.read_parquet(path)
        elif suffix == ".xlsx":
            frame = pl.read_excel(path, schema_overrides={"case_id": pl.String})
        else:
            raise UsageError(f"--cases {path}: use .csv, .parquet, .xlsx or .txt")
    except UsageError:
        raise
    except Exception as exc:
        raise UsageError(f"--cases {path}: cannot read: {str(exc).splitlines()[0]}") from None
    if "case_id" not in frame.columns:
        raise UsageError(f"--cases {path}: needs a 'case_id' column (found: {frame.columns})")
    return frame["case_id"].cast(pl.String).drop_nulls().unique(maintain_order=True).to_list()


# --------------------------------------------------------------------------------------------
# Case explanations
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Eligibility:
    """Officers of the roster by the first reason they cannot hold the case (each counted once)."""

    roster: int
    outside_office: int
    inactive: int
    away: int  # active, no available hours this cycle
    lacking_skill: int
    lacking_by_skill: dict[str, int]  # officers lacking each required skill (may overlap)
    cap_zero: int
    eligible: int  # may hold the case
    at_cap: int  # of the eligible, other than its officer: at max_cases in this plan


@dataclass(frozen=True)
class Alternative:
    """The plan with this one case moved to ``officer_id`` (everything else unchanged)."""

    officer_id: str
    utilization_before: float
    utilization_after: float
    hours: float  # what the case costs this officer (effort, plus handoff unless it is theirs)
    officer_after: float | None  # the case's own officer's utilization after giving it up
    peak_after: float
    lowest_after: float
    std_after: float
    balance_delta: float  # change of the plan's balance penalty (hours), at today's peak
    moves_delta: int
    previous: bool  # the case's previous officer (the move keeps it where it was)

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class GroupBound:
    """No plan keeps all of these officers below ``bound`` (see the module docstring)."""

    office: str
    skills: tuple[str, ...]
    officers: int
    hours: float
    available_hours: float
    bound: float
    highest: float  # the highest utilization among these officers in this plan

    @property
    def label(self) -> str:
        skills = " + ".join(self.skills)
        return (
            f"the {skills} officers of {self.office}" if skills else f"the {self.office} officers"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**vars(self), "skills": list(self.skills), "label": self.label}


@dataclass(frozen=True)
class CaseExplanation:
    case_id: str
    office: str
    required_skills: tuple[str, ...]
    effort_hours: float
    previous_officer_id: str | None
    officer_id: str | None
    continuity: str  # a key of CONTINUITY
    reason: str
    eligibility: Eligibility
    load: float | None
    available_hours: float | None
    utilization: float | None
    at_peak: bool
    plan_peak: float
    plan_peak_officer: str | None
    plan_lowest: float
    plan_std: float
    plan_moves: int
    alternatives: tuple[Alternative, ...]
    keep: Alternative | None  # back to the previous officer, when the plan moved it by choice
    keep_blocked: str | None  # why the previous officer cannot take it back, when that is so
    group_bound: GroupBound | None
    tightest_bound: GroupBound | None
    certificate: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items()}
        out["required_skills"] = list(self.required_skills)
        out["continuity_text"] = CONTINUITY[self.continuity]
        out["eligibility"] = dict(vars(self.eligibility))
        out["alternatives"] = [a.to_dict() for a in self.alternatives]
        out["keep"] = self.keep.to_dict() if self.keep else None
        out["group_bound"] = self.group_bound.to_dict() if self.group_bound else None
        out["tightest_bound"] = self.tightest_bound.to_dict() if self.tightest_bound else None
        finite: dict[str, Any] = _finite(out)
        return finite


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _case_rows(ctx: PlanContext, case_ids: Sequence[str]) -> tuple[IntArray, list[str]]:
    """Row of each requested case (input order of the request), and the ids not in the plan."""
    wanted = pl.DataFrame({"case_id": pl.Series(list(case_ids), dtype=pl.String)})
    # A scan for the few wanted ids, not a hash table of millions of case ids.
    ids = ctx.cases["case_id"]
    hits = ids.is_in(wanted["case_id"].implode()).arg_true()
    located = pl.DataFrame({"case_id": ids.gather(hits), "_row": hits.cast(pl.Int64)})
    found = (
        wanted.with_row_index("_ask")
        .join(located, on="case_id", how="left", maintain_order="left")
        .sort("_ask")
    )
    missing = found.filter(pl.col("_row").is_null())["case_id"].to_list()
    rows = found["_row"].drop_nulls().cast(pl.Int64).to_numpy()
    return rows, missing


class _Officers:
    """Per-officer facts the counterfactuals share: top and bottom utilizations, centred sums."""

    def __init__(self, ctx: PlanContext) -> None:
        staffed = ctx.staffed
        self.n = int(staffed.sum())
        util = np.where(staffed, ctx.utilization, np.nan)
        idx = np.flatnonzero(staffed)
        order = idx[np.argsort(util[idx], kind="stable")]
        pad = np.full(3, -1, dtype=np.int64)
        self.top = np.concatenate([order[::-1][:3], pad])[:3]
        self.bottom = np.concatenate([order[:3], pad])[:3]
        self.util = util
        # The plan's balance penalty is measured against each component's own peak.
        component = ctx.problem.officer_component
        comp_peak = np.zeros(int(component.max()) + 1 if len(component) else 0)
        np.maximum.at(comp_peak, component[staffed], util[staffed])
        self.component_peak = comp_peak[component]
        self.mean = float(np.nanmean(util)) if self.n else 0.0
        centred = np.nan_to_num(util - self.mean)
        self.d1 = float(centred.sum())
        self.d2 = float((centred**2).sum())

    def extreme_excluding(
        self, order: IntArray, a: IntArray, b: IntArray, fill: float
    ) -> FloatArray:
        """Utilization of the first officer in ``order`` that is neither a nor b (fill: none)."""
        out = np.full(len(a), fill)
        done = np.zeros(len(a), dtype=bool)
        for k in order:
            if k < 0:
                break
            take = ~done & (a != k) & (b != k)
            out[take] = self.util[k]
            done |= take
        return out


def _pair_metrics(
    ctx: PlanContext, facts: _Officers, rows: IntArray, a: IntArray, b: IntArray
) -> dict[str, FloatArray]:
    """Exact plan metrics after moving case ``rows[i]`` from officer ``a[i]`` (-1: unassigned)
    to officer ``b[i]``."""
    h = ctx.config.handoff_hours
    effort = ctx.effort[rows]
    prev = ctx.previous[rows]
    had = ctx.had_officer[rows]
    paid_a = had & (prev != a)
    paid_b = had & (prev != b)
    assigned = a >= 0
    a_safe = np.where(assigned, a, 0)
    load_a = np.where(assigned, ctx.load[a_safe] - effort - h * paid_a, np.nan)
    avail_a = np.where(assigned, ctx.available[a_safe], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        util_a = np.where(assigned & (avail_a > 0), load_a / avail_a, np.nan)
    cost_b = effort + h * paid_b
    util_b = (ctx.load[b] + cost_b) / ctx.available[b]
    a_staffed = ~np.isnan(util_a)
    old_a = np.where(a_staffed, facts.util[a_safe], 0.0)

    peak = np.fmax(facts.extreme_excluding(facts.top, a, b, -np.inf), util_b)
    peak = np.fmax(peak, util_a)
    lowest = np.fmin(facts.extreme_excluding(facts.bottom, a, b, np.inf), util_b)
    lowest = np.fmin(lowest, util_a)
    m = facts.mean
    d1 = facts.d1 - (facts.util[b] - m) + (util_b - m)
    d2 = facts.d2 - (facts.util[b] - m) ** 2 + (util_b - m) ** 2
    d1 = d1 + np.where(a_staffed, (np.nan_to_num(util_a) - m) - (old_a - m), 0.0)
    d2 = d2 + np.where(a_staffed, (np.nan_to_num(util_a) - m) ** 2 - (old_a - m) ** 2, 0.0)
    n = max(facts.n, 1)
    std = np.sqrt(np.maximum(d2 / n - (d1 / n) ** 2, 0.0))
    moves = paid_b.astype(np.int64) - np.where(assigned, paid_a, False).astype(np.int64)
    peak_b = facts.component_peak[b]
    balance = _penalty(ctx.load[b] + cost_b, ctx.available[b], peak_b) - _penalty(
        ctx.load[b], ctx.available[b], peak_b
    )
    balance += np.where(
        a_staffed,
        _penalty(np.nan_to_num(load_a), np.nan_to_num(avail_a), peak_b)
        - _penalty(ctx.load[a_safe], np.nan_to_num(avail_a), peak_b),
        0.0,
    )
    return {
        "balance": balance,
        "hours": cost_b,
        "util_b": util_b,
        "util_a": util_a,
        "peak": peak,
        "lowest": lowest,
        "std": std,
        "moves": moves,
    }


def _penalty(load: FloatArray, available: FloatArray, peak: FloatArray) -> FloatArray:
    """The solver's balance penalty of each officer: hours above every BALANCE_LEVELS share
    of its component's peak (solvers.component.Component.penalty, per officer)."""
    levels = np.asarray(BALANCE_LEVELS)[:, None]
    over = load[None, :] - levels * (peak * available)[None, :]
    total: FloatArray = np.clip(over, 0.0, None).sum(axis=0)
    return total


def _candidates(ctx: PlanContext, rows: IntArray) -> tuple[IntArray, IntArray]:
    """(position in rows, officer) of every eligible officer with room, other than its own."""
    problem = ctx.problem
    group = ctx.group[rows]
    movable = (ctx.status[rows] != _LOCKED) & (group >= 0)
    g = np.where(movable, group, 0).astype(np.int64)
    starts = problem.group_ptr[g]
    sizes = np.where(movable, problem.group_ptr[g + 1] - starts, 0)
    owner = np.repeat(np.arange(len(rows)), sizes)
    offsets = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    officer = problem.group_officers[np.repeat(starts, sizes) + offsets]
    room = (ctx.cap[officer] == NO_CAP) | (ctx.cases_held[officer] < ctx.cap[officer])
    keep = room & (officer != ctx.final[rows][owner])
    return owner[keep], officer[keep]


def _alternatives(
    ctx: PlanContext, rows: IntArray, k: int
) -> tuple[list[list[Alternative]], list[Alternative | None]]:
    """The best ``k`` alternatives of every requested case, and the move back to its previous
    officer (None when it has none, stayed, or that officer may not take it)."""
    facts = _Officers(ctx)
    best: list[list[Alternative]] = [[] for _ in rows]
    back: list[Alternative | None] = [None] * len(rows)
    if not len(rows):
        return best, back
    group = ctx.group[rows]
    sizes = np.diff(ctx.problem.group_ptr)[np.maximum(group, 0)]
    # Chunks of requested cases so that the (case, candidate) rows stay bounded in memory.
    bounds = np.searchsorted(np.cumsum(sizes), np.arange(0, sizes.sum() + 1, _MAX_PAIR_ROWS))
    edges = sorted({0, *bounds.tolist(), len(rows)})
    ids = ctx.officer_ids
    for lo, hi in itertools.pairwise(edges):
        part = rows[lo:hi]
        owner, officer = _candidates(ctx, part)
        if not len(owner):
            continue
        a = ctx.final[part][owner]
        m = _pair_metrics(ctx, facts, part[owner], a, officer)
        # The plan's own priorities: the peak, then its balance penalty; then the spread.
        rounded = np.round(m["peak"], 12)
        order = np.lexsort((m["util_b"], m["std"], np.round(m["balance"], 9), rounded, owner))
        owner_sorted = owner[order]
        first = np.searchsorted(owner_sorted, owner_sorted, side="left")
        rank = np.arange(len(order)) - first
        prev = ctx.previous[part][owner]
        chosen = order[rank < k]
        is_back = np.flatnonzero((officer == prev) & (prev >= 0))

        # `order` sorts each case's candidates best first, so `chosen` keeps that order.
        for j in chosen.tolist():
            best[lo + int(owner[j])].append(_alternative(ids, facts, m, officer, prev, j))
        for j in is_back.tolist():
            back[lo + int(owner[j])] = _alternative(ids, facts, m, officer, prev, j)
    return best, back


def _alternative(
    ids: tuple[str, ...],
    facts: _Officers,
    m: dict[str, FloatArray],
    officer: IntArray,
    prev: IntArray,
    j: int,
) -> Alternative:
    return Alternative(
        officer_id=ids[int(officer[j])],
        utilization_before=float(facts.util[officer[j]]),
        utilization_after=float(m["util_b"][j]),
        hours=float(m["hours"][j]),
        officer_after=None if math.isnan(m["util_a"][j]) else float(m["util_a"][j]),
        peak_after=float(m["peak"][j]),
        lowest_after=float(m["lowest"][j]),
        std_after=float(m["std"][j]),
        balance_delta=float(m["balance"][j]),
        moves_delta=int(m["moves"][j]),
        previous=bool(officer[j] == prev[j]),
    )


def _eligibility(ctx: PlanContext, rows: IntArray) -> list[Eligibility]:
    """Eligibility counts per requested case, computed once per distinct (office, skills)."""
    roster = ctx.roster
    n = roster.height
    offices = roster["office"].fill_null([]).to_list()
    skills = roster["skills"].fill_null([]).to_list() if "skills" in roster.columns else [[]] * n
    active = (
        roster["active"].fill_null(True).to_numpy().astype(bool)
        if "active" in roster.columns
        else np.ones(n, dtype=bool)
    )
    available = ctx.available > 0
    cap = ctx.cap
    group = ctx.group[rows]
    final = ctx.final[rows]
    office_sets = [set(o) for o in offices]
    skill_sets = [set(s) for s in skills]
    full_now = (cap != NO_CAP) & (ctx.cases_held >= cap)
    cache: dict[int, tuple[Eligibility, npt.NDArray[np.bool_]]] = {}
    for g in np.unique(group).tolist():
        office = ctx.problem.group_office[g]
        need = ctx.problem.group_skills[g]
        covers = np.fromiter((office in s for s in office_sets), dtype=bool, count=n)
        has = {
            s: np.fromiter((s in held for held in skill_sets), dtype=bool, count=n) for s in need
        }
        all_skills = np.ones(n, dtype=bool)
        for mask in has.values():
            all_skills &= mask
        on_duty = covers & active & available
        eligible = on_duty & all_skills & (cap != 0)
        counts = Eligibility(
            roster=n,
            outside_office=int((~covers).sum()),
            inactive=int((covers & ~active).sum()),
            away=int((covers & active & ~available).sum()),
            lacking_skill=int((on_duty & ~all_skills).sum()),
            lacking_by_skill={s: int((on_duty & ~mask).sum()) for s, mask in has.items()},
            cap_zero=int((on_duty & all_skills & (cap == 0)).sum()),
            eligible=int(eligible.sum()),
            at_cap=int((eligible & full_now).sum()),
        )
        cache[g] = (counts, eligible)
    # The case's own officer is not "another officer at the cap": one fewer where it is one.
    own = np.maximum(final, 0)
    out = []
    for g, mine, i in zip(group.tolist(), final.tolist(), own.tolist(), strict=True):
        counts, eligible = cache[g]
        if mine >= 0 and eligible[i] and full_now[i]:
            counts = replace(counts, at_cap=counts.at_cap - 1)
        out.append(counts)
    return out


def group_bounds(ctx: PlanContext) -> list[GroupBound]:
    """The bound of every eligibility group with officers (see the module docstring)."""
    problem = ctx.problem
    n_groups = len(problem.group_office)
    status = ctx.status
    movable = np.isin(status, (_HELD, _ORPHAN, _NEW)) & (ctx.final >= 0)
    group = ctx.group[movable]
    handoff = (status[movable] == _ORPHAN) * ctx.config.handoff_hours
    hours = np.bincount(group, weights=ctx.effort[movable] + handoff, minlength=n_groups)
    # Group × officer membership; g' nests in g when none of its officers is outside g.
    sizes = np.diff(problem.group_ptr)
    member = np.zeros((n_groups, problem.n_officers), dtype=np.float64)
    member[np.repeat(np.arange(n_groups), sizes), problem.group_officers] = 1.0
    outside = member @ (1.0 - member).T  # [g', g]: officers of g' not in g
    nested = (outside == 0) & (sizes > 0)[:, None]
    inside_hours = hours @ nested  # per g: hours of every group nested in it
    locked = member @ problem.locked_hours
    available_hours = member @ ctx.available
    bounds = []
    for g in np.flatnonzero(sizes > 0).tolist():
        officers = problem.eligible(g)
        total = float(inside_hours[g] + locked[g])
        available = float(available_hours[g])
        bounds.append(
            GroupBound(
                office=problem.group_office[g],
                skills=problem.group_skills[g],
                officers=len(officers),
                hours=total,
                available_hours=available,
                bound=total / available if available > 0 else math.inf,
                highest=float(np.nanmax(ctx.utilization[officers])),
            )
        )
    return bounds


def _continuity(ctx: PlanContext, rows: IntArray, before: IntArray) -> list[str]:
    status = ctx.status[rows]
    final, prev, had = ctx.final[rows], ctx.previous[rows], ctx.had_officer[rows]
    p = np.maximum(prev, 0)
    over_cap = (prev >= 0) & (ctx.cap[p] != NO_CAP) & (before[p] > ctx.cap[p])
    keys = np.select(
        [
            status == _LOCKED,
            (final < 0) | (status == _UNASSIGNABLE),
            ~had,
            final == prev,
            status == _ORPHAN,
            over_cap,
        ],
        ["locked", "unassigned", "new", "kept", "moved_forced", "moved_cap"],
        "moved_choice",
    )
    return [str(k) for k in keys.tolist()]


def explain_cases(
    ctx: PlanContext, case_ids: Sequence[str], *, alternatives: int = DEFAULT_ALTERNATIVES
) -> tuple[list[CaseExplanation], list[str]]:
    """Explanations of the requested cases (in request order), and the ids not in the plan."""
    rows, missing = _case_rows(ctx, case_ids)
    bounds = ctx.bounds
    by_group = {(b.office, b.skills): b for b in bounds}
    tightest = max(bounds, key=lambda b: b.bound, default=None)
    best, back = _alternatives(ctx, rows, alternatives)
    eligibility = _eligibility(ctx, rows)
    before = ctx.cases_before
    continuity = _continuity(ctx, rows, before)
    peak, lowest, std = ctx.peak, ctx.lowest, ctx.std
    picked = ctx.plan[rows.tolist()] if len(rows) else ctx.plan.clear()
    skills = ctx.cases["required_skills"].gather(pl.Series(rows, dtype=pl.Int64)).to_list()
    groups = ctx.group[rows]
    out = []
    for i, row in enumerate(picked.iter_rows(named=True)):
        f = int(ctx.final[rows[i]])
        p = int(ctx.previous[rows[i]])
        g = int(groups[i])
        bound = (
            by_group.get((ctx.problem.group_office[g], ctx.problem.group_skills[g]))
            if g >= 0
            else None
        )
        keep_blocked = None
        if continuity[i] in ("moved_choice", "moved_cap") and back[i] is None and p >= 0:
            keep_blocked = (
                f"{ctx.officer_ids[p]} is at max_cases ({int(ctx.cap[p])}) in this plan"
                if ctx.cap[p] != NO_CAP and ctx.cases_held[p] >= ctx.cap[p]
                else f"{ctx.officer_ids[p]} may not hold it"
            )
        if continuity[i] == "moved_cap":
            keep_blocked = (
                f"{ctx.officer_ids[p]} held {int(before[p]):,} cases with max_cases "
                f"{int(ctx.cap[p]):,}: {int(before[p] - ctx.cap[p]):,} had to go; which ones is "
                "the plan's choice"
            )
        util = float(ctx.utilization[f]) if f >= 0 else math.nan
        out.append(
            CaseExplanation(
                case_id=row["case_id"],
                office=ctx.cases["office"][int(rows[i])],
                required_skills=tuple(skills[i] or ()),
                effort_hours=float(row["effort_hours"]),
                previous_officer_id=row["previous_officer_id"],
                officer_id=row["officer_id"],
                continuity=continuity[i],
                reason=row["reason"] or "",
                eligibility=eligibility[i],
                load=float(ctx.load[f]) if f >= 0 else None,
                available_hours=float(ctx.available[f]) if f >= 0 else None,
                utilization=None if math.isnan(util) else util,
                at_peak=bool(f >= 0 and util >= peak - AVAILABILITY_TOLERANCE),
                plan_peak=peak,
                plan_peak_officer=ctx.peak_officer,
                plan_lowest=lowest,
                plan_std=std,
                plan_moves=ctx.check.moves,
                alternatives=tuple(best[i]),
                keep=back[i] if continuity[i] in ("moved_choice", "moved_cap") else None,
                keep_blocked=keep_blocked,
                group_bound=bound,
                tightest_bound=tightest,
                certificate=ctx.certificate,
            )
        )
    return out, missing


def explanation_table(explanations: Sequence[CaseExplanation]) -> pl.DataFrame:
    """One row per explained case, for --cases FILE --out (CSV, Excel or Parquet)."""
    records = []
    for e in explanations:
        alt = e.alternatives[0] if e.alternatives else None
        b = e.group_bound
        records.append(
            {
                "case_id": e.case_id,
                "office": e.office,
                "required_skills": LIST_SEPARATOR.join(e.required_skills),
                "effort_hours": e.effort_hours,
                "previous_officer_id": e.previous_officer_id,
                "officer_id": e.officer_id,
                "continuity": e.continuity,
                "reason": e.reason,
                "officers_on_roster": e.eligibility.roster,
                "officers_eligible": e.eligibility.eligible,
                "eligible_at_cap": e.eligibility.at_cap,
                "outside_office": e.eligibility.outside_office,
                "inactive": e.eligibility.inactive,
                "away_all_cycle": e.eligibility.away,
                "lacking_skill": e.eligibility.lacking_skill,
                "max_cases_zero": e.eligibility.cap_zero,
                "utilization": e.utilization,
                "at_peak": e.at_peak,
                "plan_peak": e.plan_peak,
                "group_bound": b.bound if b else None,
                "best_alternative": alt.officer_id if alt else None,
                "alternative_utilization": alt.utilization_after if alt else None,
                "alternative_peak": alt.peak_after if alt else None,
                "alternative_std": alt.std_after if alt else None,
                "keep_peak": e.keep.peak_after if e.keep else None,
            }
        )
    schema = {
        "case_id": pl.String,
        "office": pl.String,
        "required_skills": pl.String,
        "effort_hours": pl.Float64,
        "previous_officer_id": pl.String,
        "officer_id": pl.String,
        "continuity": pl.String,
        "reason": pl.String,
        "officers_on_roster": pl.Int64,
        "officers_eligible": pl.Int64,
        "eligible_at_cap": pl.Int64,
        "outside_office": pl.Int64,
        "inactive": pl.Int64,
        "away_all_cycle": pl.Int64,
        "lacking_skill": pl.Int64,
        "max_cases_zero": pl.Int64,
        "utilization": pl.Float64,
        "at_peak": pl.Boolean,
        "plan_peak": pl.Float64,
        "group_bound": pl.Float64,
        "best_alternative": pl.String,
        "alternative_utilization": pl.Float64,
        "alternative_peak": pl.Float64,
        "alternative_std": pl.Float64,
        "keep_peak": pl.Float64,
    }
    return pl.DataFrame(records, schema=schema, orient="row")


# --------------------------------------------------------------------------------------------
# Officer explanations
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfficerExplanation:
    officer_id: str
    offices: tuple[str, ...]
    skills: tuple[str, ...]
    active: bool
    capacity_hours: float
    unavailable_days: float
    cycle_days: float
    available_hours: float
    max_cases: int | None
    cases: int
    load: float
    utilization: float | None
    rank: int | None  # 1 = busiest among officers with available hours
    ranked: int
    at_peak: bool
    plan_peak: float
    composition: list[dict[str, Any]]  # effort by rule (kind, rule, effect, cases, hours)
    handoff_hours: float
    locked: dict[str, Any]  # cases, hours
    kept: dict[str, Any]
    new: dict[str, Any]
    moved_in: dict[str, Any]  # cases, hours (effort), handoff hours, by reason, from whom
    moved_out: dict[str, Any]  # cases, hours, by reason, to whom
    cases_before: int
    load_before: float

    def to_dict(self) -> dict[str, Any]:
        out = dict(vars(self))
        out["offices"] = list(self.offices)
        out["skills"] = list(self.skills)
        finite: dict[str, Any] = _finite(out)
        return finite


def _counts(frame: pl.DataFrame, column: str, limit: int = _SHOWN) -> list[dict[str, Any]]:
    """Rows of ``frame`` counted by ``column``, largest first (at most ``limit`` and the rest)."""
    if frame.is_empty():
        return []
    counted = (
        frame.group_by(column)
        .agg(pl.len().alias("cases"), pl.col("effort_hours").sum().alias("hours"))
        .sort(["cases", column], descending=[True, False], nulls_last=True)
    )
    shown = counted.head(limit).to_dicts()
    rest = counted.slice(limit)
    if rest.height:
        shown.append(
            {
                column: f"{rest.height:,} other{'s' if rest.height > 1 else ''}",
                "cases": int(rest["cases"].sum()),
                "hours": float(rest["hours"].sum()),
            }
        )
    return shown


def explain_officer(ctx: PlanContext, officer_id: str) -> OfficerExplanation:
    """What an officer's load is made of, where their cases came from and went."""
    i = ctx.officer_index(officer_id)
    roster = ctx.roster.row(i, named=True)
    config = ctx.config
    holds = ctx.final == i
    frame = ctx.plan.with_columns(status=pl.Series(ctx.status))
    held = ctx.cases.filter(pl.Series(holds))
    if "effort_base_hours" in held.columns:
        summary = effort_rule_summary(held, config)
        composition = summary.filter((pl.col("cases") > 0) & (pl.col("kind") != "skill")).to_dicts()
        needs = summary.filter((pl.col("cases") > 0) & (pl.col("kind") == "skill")).to_dicts()
        composition += needs
    else:
        composition = []
    mine = frame.filter(pl.Series(holds))
    locked = mine.filter(pl.col("status") == _LOCKED)
    moved_in = mine.filter(pl.col("moved"))
    new = mine.filter(pl.col("previous_officer_id").is_null())
    kept = mine.filter(~pl.col("moved") & pl.col("previous_officer_id").is_not_null())
    kept = kept.filter(pl.col("status") != _LOCKED)
    was_mine = ctx.previous == i
    out = frame.filter(pl.Series(was_mine & ~holds))
    moved_in_why = moved_in.with_columns(
        why=pl.when(pl.col("status") == _ORPHAN)
        .then(pl.lit("forced: previous officer cannot keep it"))
        .otherwise(pl.lit("to balance load"))
    )
    staffed = ctx.staffed
    util = ctx.utilization[i] if staffed[i] else math.nan
    rank = int((ctx.utilization[staffed] > util).sum()) + 1 if staffed[i] else None
    peak = ctx.peak
    before_load = float(ctx.plan.filter(pl.Series(was_mine))["effort_hours"].sum())
    return OfficerExplanation(
        officer_id=officer_id,
        offices=tuple(roster["office"] or ()),
        skills=tuple(roster.get("skills") or ()),
        active=bool(roster.get("active", True)),
        capacity_hours=float(roster["capacity_hours"]),
        unavailable_days=float(roster.get("unavailable_days") or 0.0),
        cycle_days=config.cycle_days,
        available_hours=float(ctx.available[i]),
        max_cases=None if ctx.cap[i] == NO_CAP else int(ctx.cap[i]),
        cases=int(ctx.cases_held[i]),
        load=float(ctx.load[i]),
        utilization=None if math.isnan(util) else float(util),
        rank=rank,
        ranked=int(staffed.sum()),
        at_peak=bool(staffed[i] and util >= peak - AVAILABILITY_TOLERANCE),
        plan_peak=peak,
        composition=composition,
        handoff_hours=float(ctx.moved_in[i] * config.handoff_hours),
        locked={"cases": locked.height, "hours": float(locked["effort_hours"].sum())},
        kept={"cases": kept.height, "hours": float(kept["effort_hours"].sum())},
        new={"cases": new.height, "hours": float(new["effort_hours"].sum())},
        moved_in={
            "cases": moved_in.height,
            "hours": float(moved_in["effort_hours"].sum()),
            "handoff_hours": float(moved_in.height * config.handoff_hours),
            "why": _counts(moved_in_why, "why"),
            "from": _counts(moved_in, "previous_officer_id"),
        },
        moved_out={
            "cases": out.height,
            "hours": float(out["effort_hours"].sum()),
            "why": _counts(out, "reason"),
            "to": _counts(
                out.with_columns(pl.col("officer_id").fill_null("(unassigned)")), "officer_id"
            ),
        },
        cases_before=int(was_mine.sum()),
        load_before=before_load,
    )
