"""`assign explain`: explanations agree with the plan and with the independent checker."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from assigncli.analysis.explain import (
    CaseExplanation,
    PlanContext,
    explain_cases,
    explain_officer,
    group_bounds,
    load_plan_context,
    manifest_path,
)
from assigncli.check import check_plan
from assigncli.cli import app
from assigncli.errors import InputError
from assigncli.generate import write_dataset
from assigncli.solvers.component import BALANCE_LEVELS
from assigncli.write import file_sha256, write_table

TOLERANCE = 1e-9


def _plan(roster: Path, cases: Path, out: Path, *extra: str) -> Path:
    plan = out / "plan.csv"
    result = CliRunner().invoke(
        app,
        [
            "plan",
            str(roster),
            str(cases),
            "--out",
            str(plan),
            "--time-limit",
            "2",
            "--workers",
            "1",
            "--quiet",
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return plan


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated docket (caps, locks, absences, skills, orphans) and its plan."""
    out = tmp_path_factory.mktemp("explain")
    roster, cases = write_dataset(out, n_cases=500, n_officers=14, n_offices=2, seed=4, fmt="csv")
    return _plan(roster, cases, out)


@pytest.fixture(scope="module")
def ctx(planned: Path) -> PlanContext:
    return load_plan_context(planned, audit=True)


def _moved_plan(ctx: PlanContext, case_id: str, officer_id: str | None) -> pl.DataFrame:
    """The plan with one case given to another officer, its derived columns recomputed."""
    plan = ctx.plan
    target = pl.col("case_id") == case_id
    return plan.with_columns(
        officer_id=pl.when(target).then(pl.lit(officer_id)).otherwise(pl.col("officer_id"))
    ).with_columns(
        moved=pl.when(target)
        .then(
            (pl.col("officer_id") != pl.col("previous_officer_id")).fill_null(False)
            & pl.col("officer_id").is_not_null()
        )
        .otherwise(pl.col("moved"))
    )


def _penalty(officers: pl.DataFrame, ctx: PlanContext) -> float:
    """The solver's balance penalty of a plan's loads, at the original plan's component peaks
    (solvers.component.Component.penalty summed over components)."""
    load = officers["load"].to_numpy()
    available = officers["available_hours"].to_numpy()
    staffed = available > 0
    component = ctx.problem.officer_component
    peak = np.zeros(component.max() + 1)
    np.maximum.at(peak, component[staffed], ctx.utilization[staffed])
    levels = np.asarray(BALANCE_LEVELS)[:, None]
    over = load[None, :] - levels * (peak[component] * available)[None, :]
    return float(np.clip(over[:, staffed], 0.0, None).sum())


def _all_explanations(ctx: PlanContext, k: int = 4) -> list[CaseExplanation]:
    explained, missing = explain_cases(ctx, ctx.plan["case_id"].to_list(), alternatives=k)
    assert not missing
    return explained


def test_every_alternative_is_eligible_and_its_numbers_are_a_re_evaluation(
    ctx: PlanContext,
) -> None:
    """Each alternative passes the checker once applied, and its utilization, peak, lowest,
    spread and moves equal the checker's re-evaluation of the modified plan."""
    explained = _all_explanations(ctx)
    checked = 0
    for e in explained[::7]:
        for alt in (*e.alternatives, *([e.keep] if e.keep else [])):
            modified = _moved_plan(ctx, e.case_id, alt.officer_id)
            report = check_plan(ctx.roster, ctx.cases, modified, ctx.config)
            assert report.ok, report.violations
            officers = report.officers
            util = officers.filter(pl.col("available_hours") > 0)["utilization"].to_numpy()
            assert report.max_utilization == pytest.approx(alt.peak_after, abs=TOLERANCE)
            assert report.min_utilization == pytest.approx(alt.lowest_after, abs=TOLERANCE)
            assert float(util.std()) == pytest.approx(alt.std_after, abs=TOLERANCE)
            assert report.moves == ctx.check.moves + alt.moves_delta
            assert _penalty(report.officers, ctx) - _penalty(ctx.check.officers, ctx) == (
                pytest.approx(alt.balance_delta, abs=1e-7)
            )
            by_id = dict(zip(officers["officer_id"], officers["utilization"], strict=True))
            assert by_id[alt.officer_id] == pytest.approx(alt.utilization_after, abs=TOLERANCE)
            if e.officer_id is not None and alt.officer_after is not None:
                assert by_id[e.officer_id] == pytest.approx(alt.officer_after, abs=TOLERANCE)
            checked += 1
    assert checked > 20


def test_alternatives_are_ranked_as_the_plan_decides(ctx: PlanContext) -> None:
    """The best alternative comes first: by peak, then balance penalty, then spread."""
    for e in _all_explanations(ctx):
        keys = [
            (round(a.peak_after, 12), round(a.balance_delta, 9), a.std_after)
            for a in e.alternatives
        ]
        assert keys == sorted(keys)
        assert all(a.officer_id != e.officer_id for a in e.alternatives)


def test_eligibility_counts_cover_the_roster_and_match_the_problem(ctx: PlanContext) -> None:
    """Every officer is counted once, and the eligible count is the problem's eligible set."""
    explained = _all_explanations(ctx, k=1)
    groups = ctx.problem.cases["group"].to_numpy()
    for i, e in enumerate(explained):
        el = e.eligibility
        parts = el.outside_office + el.inactive + el.away + el.lacking_skill + el.cap_zero
        assert parts + el.eligible == el.roster == ctx.roster.height
        assert el.eligible == len(ctx.problem.eligible(int(groups[i])))
        assert el.at_cap <= el.eligible


def test_continuity_agrees_with_the_plan(ctx: PlanContext) -> None:
    """Locked cases have no alternatives, kept cases did not move, moved ones did."""
    explained = _all_explanations(ctx, k=2)
    seen = set()
    for e in explained:
        seen.add(e.continuity)
        if e.continuity == "locked":
            assert not e.alternatives and e.officer_id == e.previous_officer_id
        elif e.continuity == "kept":
            assert e.officer_id == e.previous_officer_id
        elif e.continuity.startswith("moved"):
            assert e.officer_id != e.previous_officer_id and e.officer_id is not None
        elif e.continuity == "unassigned":
            assert e.officer_id is None and e.reason
        elif e.continuity == "new":
            assert e.previous_officer_id is None
        if e.keep is not None:
            assert e.keep.officer_id == e.previous_officer_id and e.keep.moves_delta == -1
    assert {"locked", "kept", "new", "moved_forced"} <= seen


def test_group_bounds_are_valid_lower_bounds(ctx: PlanContext) -> None:
    """No group bound exceeds the highest utilization among its officers in the plan, nor the
    certificate's proven bound (the LP satisfies every group's aggregate)."""
    bounds = group_bounds(ctx)
    assert bounds
    certified = ctx.certificate["lower_bound"]
    for b in bounds:
        assert b.bound <= b.highest + TOLERANCE
        assert b.bound <= certified + 1e-6


def test_at_peak_marks_the_busiest_officer(ctx: PlanContext) -> None:
    """A case of the peak officer says it is at the peak; the others say how far below."""
    explained = _all_explanations(ctx, k=0)
    at_peak = {e.officer_id for e in explained if e.at_peak}
    assert at_peak == {ctx.peak_officer}


def test_officer_load_adds_up(ctx: PlanContext) -> None:
    """Hours by rule plus handoff hours are the officer's load; case counts add up."""
    for officer_id in ctx.officer_ids:
        o = explain_officer(ctx, officer_id)
        effort = sum(r["hours"] for r in o.composition if r["kind"] != "skill")
        assert effort + o.handoff_hours == pytest.approx(o.load, abs=1e-9)
        parts = o.locked["cases"] + o.kept["cases"] + o.moved_in["cases"] + o.new["cases"]
        assert parts == o.cases
        i = ctx.officer_ids.index(officer_id)
        gone = int(((ctx.previous == i) & (ctx.final != i)).sum())
        assert o.moved_out["cases"] == gone == sum(r["cases"] for r in o.moved_out["why"])
        assert o.handoff_hours == pytest.approx(o.moved_in["cases"] * ctx.config.handoff_hours)
        expected = o.capacity_hours * (1 - o.unavailable_days / o.cycle_days) if o.active else 0.0
        assert o.available_hours == pytest.approx(max(expected, 0.0))


def _hand_made(tmp_path: Path) -> tuple[Path, Path]:
    """One office, one officer per reason a case cannot go to them, and two who can."""
    roster = pl.DataFrame(
        {
            "officer_id": ["ok1", "ok2", "other", "gone", "away", "nolang", "zero", "full"],
            "office": [["A"], ["A"], ["B"], ["A"], ["A"], ["A"], ["A"], ["A", "B"]],
            "capacity_hours": [40.0, 30.0, 40.0, 40.0, 40.0, 40.0, 40.0, 40.0],
            "skills": [["es"], ["es"], ["es"], ["es"], ["es"], [], ["es"], ["es"]],
            "unavailable_days": [0.0, 7.0, 0.0, 0.0, 28.0, 0.0, 0.0, 0.0],
            "max_cases": [None, None, None, None, None, None, 0, 1],
            "active": [True, True, True, False, True, True, True, True],
        }
    )
    cases = pl.DataFrame(
        {
            "case_id": ["c1", "c2", "c3", "c4", "c5"],
            "office": ["A", "A", "A", "B", "A"],
            "current_officer_id": ["ok1", "gone", None, "full", "ok2"],
            "locked": [False, False, False, True, False],
            "required_skills": [["es"], ["es"], [], [], ["es"]],
            "effort_hours": [6.0, 4.0, 2.0, 3.0, 5.0],
        }
    )
    write_table(roster, tmp_path / "roster.csv")
    write_table(cases, tmp_path / "cases.csv")
    # A model without rules: every case carries its own hours.
    (tmp_path / "assign.toml").write_text("cycle_days = 28\nhandoff_hours = 1.5\n")
    return tmp_path / "roster.csv", tmp_path / "cases.csv"


def _config(tmp_path: Path) -> tuple[str, str]:
    return "--config", str(tmp_path / "assign.toml")


def test_hand_made_eligibility_counts_each_reason(tmp_path: Path) -> None:
    """Office, inactive, away all cycle, lacking a skill, max_cases 0, at the cap: one each."""
    plan = _plan(*_hand_made(tmp_path), tmp_path, *_config(tmp_path))
    ctx = load_plan_context(plan)
    (e,), _ = explain_cases(ctx, ["c2"])
    el = e.eligibility
    assert (el.roster, el.outside_office, el.inactive, el.away) == (8, 1, 1, 1)
    assert (el.lacking_skill, el.lacking_by_skill, el.cap_zero) == (1, {"es": 1}, 1)
    assert el.eligible == 3  # ok1, ok2 and full (who holds its locked case: at the cap)
    assert el.at_cap == 1
    assert e.continuity == "moved_forced"
    assert "inactive" in e.reason
    assert {a.officer_id for a in e.alternatives} <= {"ok1", "ok2"} - {e.officer_id}


def test_refuses_changed_inputs_with_exit_3(planned: Path, tmp_path: Path) -> None:
    """An input edited after planning: explain refuses, exit 3, and says which file."""
    folder = tmp_path / "copy"
    shutil.copytree(planned.parent, folder)
    manifest = json.loads(manifest_path(folder / "plan.csv").read_text())
    cases = folder / "cases.csv"
    manifest["input_files"] = {"roster": str(folder / "roster.csv"), "cases": str(cases)}
    manifest_path(folder / "plan.csv").write_text(json.dumps(manifest))
    ok = CliRunner().invoke(app, ["explain", str(folder / "plan.csv"), "--officer", "OFF00001"])
    assert ok.exit_code == 0, ok.output
    cases.write_text(cases.read_text().replace("\n", "\n", 1) + "\n")
    result = CliRunner().invoke(app, ["explain", str(folder / "plan.csv"), "--officer", "OFF00001"])
    assert result.exit_code == 3
    assert "has changed since the plan was made" in result.output
    assert "cases.csv" in result.output


def test_refuses_a_missing_manifest_or_an_edited_plan(planned: Path, tmp_path: Path) -> None:
    """No manifest: exit 3. A plan edited to break a rule: exit 3, the checker's finding shown."""
    lone = tmp_path / "plan.csv"
    shutil.copy(planned, lone)
    result = CliRunner().invoke(app, ["explain", str(lone), "--officer", "OFF00001"])
    assert result.exit_code == 3 and "manifest" in result.output
    shutil.copy(manifest_path(planned), manifest_path(lone))
    officers = planned.with_name("plan.officers.csv")
    shutil.copy(officers, lone.with_name(officers.name))
    plan = pl.read_csv(planned, schema_overrides={"officer_id": pl.String})
    plan.with_columns(
        officer_id=pl.when(pl.col("locked")).then(pl.lit("nobody")).otherwise("officer_id")
    ).write_csv(lone)
    # The manifest's hash of the plan no longer matches: not the set it records.
    result = CliRunner().invoke(
        app, ["explain", str(lone), "--officer", "OFF00001"], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 3 and "does not match the manifest" in result.output
    # Even with the hash brought in line, the checker refuses a plan that breaks a rule.
    manifest = json.loads(manifest_path(lone).read_text())
    manifest["integrity"]["files"]["plan"]["sha256"] = file_sha256(lone)
    manifest_path(lone).write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="independent check"):
        load_plan_context(lone)
    result = CliRunner().invoke(
        app, ["explain", str(lone), "--officer", "OFF00001"], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 3 and "unknown_officer" in result.output


def test_cli_case_and_officer_read_in_plain_words(planned: Path, ctx: PlanContext) -> None:
    """--case and --officer print eligibility, continuity, alternatives, bound and the load."""
    moved = ctx.plan.filter(pl.col("moved"))["case_id"][0]
    officer_id = ctx.peak_officer
    assert officer_id is not None
    result = CliRunner().invoke(
        app,
        ["explain", str(planned), "--case", moved, "--officer", officer_id],
        env={"COLUMNS": "160"},
    )
    assert result.exit_code == 0, result.output
    for text in (
        f"Case {moved}",
        "Eligibility:",
        "officers could hold it",
        "Continuity:",
        "Bound:",
        "certificate",
        f"Officer {officer_id}",
        "Available:",
        "The load by effort rule",
        "handoff",
        "at the plan's peak",
    ):
        assert text in result.stdout, text


def test_cli_json_is_one_object_with_the_numbers(planned: Path, ctx: PlanContext) -> None:
    """--json prints one JSON object: cases with eligibility and alternatives, officers."""
    first = ctx.plan["case_id"][0]
    result = CliRunner().invoke(
        app, ["explain", str(planned), "--case", first, "--officer", "OFF00002", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    (case,) = payload["cases"]
    assert case["case_id"] == first and case["eligibility"]["roster"] == ctx.roster.height
    assert payload["officers"][0]["officer_id"] == "OFF00002"
    assert not math.isnan(payload["officers"][0]["load"])


def test_cli_cases_file_writes_a_table(planned: Path, ctx: PlanContext, tmp_path: Path) -> None:
    """--cases FILE --out x.xlsx writes one row per listed case; unknown ids are a warning."""
    ids = ctx.plan["case_id"].head(25).to_list()
    listing = tmp_path / "ids.csv"
    pl.DataFrame({"case_id": [*ids, "no-such-case"]}).write_csv(listing)
    for suffix in (".csv", ".xlsx"):
        out = tmp_path / f"why{suffix}"
        result = CliRunner().invoke(
            app, ["explain", str(planned), "--cases", str(listing), "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        table = pl.read_csv(out) if suffix == ".csv" else pl.read_excel(out)
        assert table["case_id"].to_list() == ids
        assert (table["officers_eligible"] >= 0).all()
    assert "no-such-case" in result.output


def test_cli_usage_errors_exit_2(planned: Path) -> None:
    """Nothing to explain, an unknown case or officer: exit 2 with a message."""
    runner = CliRunner()
    assert runner.invoke(app, ["explain", str(planned)]).exit_code == 2
    unknown = runner.invoke(app, ["explain", str(planned), "--case", "nope"])
    assert unknown.exit_code == 2 and "nope" in unknown.output
    nobody = runner.invoke(app, ["explain", str(planned), "--officer", "nobody"])
    assert nobody.exit_code == 2 and "nobody" in nobody.output
    bad_out = runner.invoke(app, ["explain", str(planned), "--case", "x", "--out", "a.txt"])
    assert bad_out.exit_code == 5


def test_quiet_prints_nothing(planned: Path, ctx: PlanContext) -> None:
    """--quiet: no explanation on stdout (exit 0)."""
    first = ctx.plan["case_id"][0]
    result = CliRunner().invoke(app, ["explain", str(planned), "--case", first, "--quiet"])
    assert result.exit_code == 0 and result.stdout == ""


def test_unassigned_and_locked_cases_explain_themselves(tmp_path: Path) -> None:
    """A case nobody may hold says why; a locked case has no alternative."""
    roster, cases = _hand_made(tmp_path)
    frame = pl.read_csv(cases).with_columns(
        office=pl.when(pl.col("case_id") == "c3").then(pl.lit("Z")).otherwise("office")
    )
    frame.write_csv(cases)
    ctx = load_plan_context(_plan(roster, cases, tmp_path, *_config(tmp_path)))
    (nobody, locked), _ = explain_cases(ctx, ["c3", "c4"])
    assert nobody.continuity == "unassigned" and "Z" in nobody.reason
    assert nobody.eligibility.eligible == 0 and not nobody.alternatives
    assert locked.continuity == "locked" and not locked.alternatives
    assert np.isfinite(locked.plan_peak)


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx"])
def test_plans_in_every_format_explain_alike(tmp_path: Path, suffix: str) -> None:
    """A plan written as Parquet or Excel explains the same as its CSV twin."""
    roster, cases = _hand_made(tmp_path)
    csv_plan = _plan(roster, cases, tmp_path, *_config(tmp_path))
    other = tmp_path / "other"
    other.mkdir()
    result = CliRunner().invoke(
        app,
        [
            "plan",
            str(roster),
            str(cases),
            *_config(tmp_path),
            "--out",
            str(other / f"plan{suffix}"),
            "--time-limit",
            "2",
            "--workers",
            "1",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    ids = ["c1", "c2", "c3", "c5"]
    expected, _ = explain_cases(load_plan_context(csv_plan), ids)
    got, _ = explain_cases(load_plan_context(other / f"plan{suffix}"), ids)
    for a, b in zip(expected, got, strict=True):
        assert (a.officer_id, a.continuity, a.eligibility) == (
            b.officer_id,
            b.continuity,
            b.eligibility,
        )
        assert a.plan_peak == pytest.approx(b.plan_peak, abs=1e-12)


def test_cases_from_a_text_file(planned: Path, ctx: PlanContext, tmp_path: Path) -> None:
    """--cases ids.txt: one id per line, blank lines ignored."""
    ids = ctx.plan["case_id"].head(3).to_list()
    listing = tmp_path / "ids.txt"
    listing.write_text("\n".join(ids) + "\n\n")
    result = CliRunner().invoke(app, ["explain", str(planned), "--cases", str(listing), "--json"])
    assert result.exit_code == 0, result.output
    assert [c["case_id"] for c in json.loads(result.stdout)["cases"]] == ids


def test_a_case_cap_forces_a_move_and_says_so(tmp_path: Path) -> None:
    """An officer holding more cases than max_cases must release some: 'moved_cap', and the
    explanation counts how many had to go."""
    roster = pl.DataFrame(
        {
            "officer_id": ["capped", "free"],
            "office": [["A"], ["A"]],
            "capacity_hours": [40.0, 40.0],
            "max_cases": [1, None],
        }
    )
    cases = pl.DataFrame(
        {
            "case_id": ["k1", "k2", "k3"],
            "office": ["A", "A", "A"],
            "current_officer_id": ["capped", "capped", "capped"],
            "effort_hours": [1.0, 1.0, 1.0],
        }
    )
    write_table(roster, tmp_path / "roster.csv")
    write_table(cases, tmp_path / "cases.csv")
    (tmp_path / "assign.toml").write_text("cycle_days = 28\nhandoff_hours = 1.5\n")
    ctx = load_plan_context(
        _plan(tmp_path / "roster.csv", tmp_path / "cases.csv", tmp_path, *_config(tmp_path))
    )
    explained, _ = explain_cases(ctx, ["k1", "k2", "k3"])
    moved = [e for e in explained if e.continuity == "moved_cap"]
    assert len(moved) == 2 and all(e.officer_id == "free" for e in moved)
    assert all(e.keep_blocked and "2 had to go" in e.keep_blocked for e in moved)
    (stayed,) = [e for e in explained if e.continuity == "kept"]
    assert stayed.officer_id == "capped" and stayed.eligibility.at_cap == 0
    assert all(e.eligibility.at_cap == 1 for e in moved)  # "capped" is full for the others
