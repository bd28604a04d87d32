"""Robustness of a fixed plan: exact scalings, the budgeted peak, reproducible Monte Carlo."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from assigncli.analysis.robustness import (
    RobustnessOptions,
    assess_robustness,
    bertsimas_sim_gamma,
    budgeted_loads,
    scale_limits,
)
from assigncli.check import check_plan
from assigncli.cli import app
from assigncli.config import Config, load_config
from assigncli.effort import estimate_effort
from assigncli.pipeline import PlanRun, run_plan
from assigncli.render.report import CHART_IDS
from assigncli.solvers.solve import SolveOptions
from assigncli.validate import load_inputs
from assigncli.write import write_table
from tests.test_report import CHROMIUM, _dump_dom, _Marks

MODEL = """
cycle_days = 28
handoff_hours = 1.5

[effort]
default_hours = 0.5

[[effort.base]]
name = "detained"
when = "docket = 'detained'"
hours = 3.0

[[effort.base]]
name = "pending"
when = "docket = 'pending'"
hours = 1.0

[[effort.adjust]]
name = "conviction"
when = "crim"
multiply = 1.5

[[effort.adjust]]
name = "gps"
when = "gps"
multiply = 1.2
add = 0.75

[[skills]]
name = "gps skill"
when = "gps"
require = "gps"
"""


def _files(tmp_path: Path, model: str = MODEL, seed: int = 1) -> tuple[Path, Path, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_off, n = 6, 90
    officers = [f"P{i}" for i in range(n_off)]
    roster = pl.DataFrame(
        {
            "officer_id": officers,
            "office": [["A"]] * n_off,
            "capacity_hours": rng.uniform(20, 40, n_off).round(1),
            "skills": [["gps"] if i % 2 else [] for i in range(n_off)],
            "unavailable_days": [0.0, 7.0, 0.0, 0.0, 14.0, 0.0],
        }
    )
    explicit = rng.random(n) < 0.1
    cases = pl.DataFrame(
        {
            "case_id": [f"c{i:03d}" for i in range(n)],
            "office": ["A"] * n,
            "current_officer_id": [officers[k] for k in rng.integers(0, n_off, n)],
            "effort_hours": pl.Series(
                np.where(explicit, rng.uniform(0.5, 4, n).round(2), np.nan)
            ).fill_nan(None),
            "docket": rng.choice(["detained", "pending", "other"], n),
            "crim": rng.random(n) < 0.3,
            "gps": rng.random(n) < 0.2,
        }
    )
    write_table(roster, tmp_path / "roster.csv")
    write_table(cases, tmp_path / "cases.csv")
    (tmp_path / "model.toml").write_text(model)
    return tmp_path / "roster.csv", tmp_path / "cases.csv", tmp_path / "model.toml"


def _run(tmp_path: Path, options: RobustnessOptions, model: str = MODEL) -> PlanRun:
    roster, cases, config = _files(tmp_path, model)
    return run_plan(
        roster,
        cases,
        load_config(config),
        SolveOptions(time_limit=2.0, workers=1, seed=1),
        robustness=options,
    )


def _scaled(config: Config, kind: str, rule: str, s: float) -> Config:
    """The config with one figure's hours multiplied by s (as robustness defines it)."""
    effort = config.effort
    if kind == "base":
        base = tuple(replace(r, hours=r.hours * s) if r.name == rule else r for r in effort.base)
        return replace(config, effort=replace(effort, base=base))
    if kind == "default":
        return replace(config, effort=replace(effort, default_hours=effort.default_hours * s))
    if kind == "adjust":
        adjust = tuple(
            replace(r, multiply=1 + (r.multiply - 1) * s, add=r.add * s) if r.name == rule else r
            for r in effort.adjust
        )
        return replace(config, effort=replace(effort, adjust=adjust))
    if kind == "handoff":
        return replace(config, handoff_hours=config.handoff_hours * s)
    return config


def _peak_with(run: PlanRun, kind: str, rule: str, s: float) -> float:
    """Re-estimate effort with the figure scaled and re-check the same assignment."""
    config = _scaled(run.config, kind, rule, s)
    inputs = load_inputs(Path(run.inputs.roster_file), Path(run.inputs.cases_file), config)
    raw = inputs.cases
    if kind == "explicit":
        raw = raw.with_columns(pl.col("effort_hours") * s)
    cases = estimate_effort(raw, config, audit=False)
    if kind == "skill":
        skill = rule.removeprefix("cases needing ")
        needs = pl.col("required_skills").list.contains(skill)
        cases = cases.with_columns(
            effort_hours=pl.when(needs).then(pl.col("effort_hours") * s).otherwise("effort_hours")
        )
    plan = run.plan.with_columns(effort_hours=cases["effort_hours"])
    report = check_plan(inputs.roster, cases, plan, config)
    assert report.ok, report.violations
    assert report.max_utilization is not None
    return report.max_utilization


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> PlanRun:
    return _run(tmp_path_factory.mktemp("robust"), RobustnessOptions(draws=200, seed=3))


def test_scalings_are_exact_on_the_effort_model(run: PlanRun) -> None:
    """At each reported scaling, re-running the effort model with that figure scaled puts the
    busiest officer exactly at 100% (or at the peak + 5%); a hair more goes past it."""
    r = run.robustness
    assert r is not None
    nominal = run.check.max_utilization
    assert nominal == pytest.approx(r.nominal_peak, abs=1e-12)
    tested = 0
    for s in r.rules:
        if s.approximate or not s.cases:
            continue
        targets = [(s.scale_to_peak_rise, (1 + r.peak_rise) * r.nominal_peak)]
        if s.scale_to_full is not None:
            targets.append((s.scale_to_full, 1.0))
        for scale, level in targets:
            if not math.isfinite(scale):
                continue
            assert _peak_with(run, s.kind, s.rule, scale) == pytest.approx(level, rel=1e-9)
            assert _peak_with(run, s.kind, s.rule, scale * 1.001) > level
            tested += 1
    kinds = {s.kind for s in r.rules if s.cases}
    assert {"base", "explicit", "adjust", "handoff", "skill"} <= kinds
    assert tested >= 8


def test_scale_limits_in_closed_form() -> None:
    """a + b·s ≤ target·A: hand-computed limits, the binding officer, and the edge cases."""
    a = np.array([10.0, 20.0, 5.0])
    b = np.array([5.0, 0.0, 10.0])
    available = np.array([40.0, 30.0, 25.0])
    assert scale_limits(a, b, available, 1.0) == (2.0, 2)  # (25 − 5) / 10 < (40 − 10) / 5
    assert scale_limits(a, b, available, 0.7) == pytest.approx((1.25, 2))  # (17.5 − 5) / 10
    # Officer 1 does not depend on the figure and is over 60%: no scaling helps.
    assert scale_limits(a, b, available, 0.6) == (None, None)
    # Officer 2 is over already at s = 0.
    assert scale_limits(a, b, available, 0.15) == (None, None)
    assert scale_limits(a, np.zeros(3), available, 1.0) == (math.inf, None)
    # An officer without available hours is never measured.
    assert scale_limits(a, b, np.array([40.0, 30.0, 0.0]), 1.0) == (6.0, 0)


def test_budgeted_loads_take_the_gamma_largest_deviations() -> None:
    """Γ = 2.5 on hours 4, 3, 2, 1 takes 4 + 3 + half of 2; other officers are separate."""
    officer = np.array([0, 0, 0, 0, 1, 1, -1])
    effort = np.array([2.0, 4.0, 1.0, 3.0, 5.0, 5.0, 100.0])
    extra = budgeted_loads(officer, effort, 3, np.array([2.5, 1.0, 0.0]), 0.3)
    assert extra == pytest.approx([0.3 * 8.0, 0.3 * 5.0, 0.0])
    gamma = bertsimas_sim_gamma(np.array([0, 1, 100, 10_000]), 0.95)
    assert gamma[0] == 0 and gamma[1] == 1  # never more cases than the officer holds
    assert gamma[2] == pytest.approx(math.sqrt(200 * math.log(20)))
    assert math.exp(-(gamma[3] ** 2) / (2 * 10_000)) == pytest.approx(0.05)


def test_budgeted_peak_lies_between_nominal_and_all_cases_off(run: PlanRun) -> None:
    """The budgeted peak is at least the plan's and at most every case off by the deviation."""
    r = run.robustness
    assert r is not None
    assert r.nominal_peak <= r.budgeted.peak <= r.nominal_peak * 1.3 + 1e-12


def test_monte_carlo_is_reproducible_with_a_seed(tmp_path: Path) -> None:
    """The same seed gives the same draws; another seed gives others."""
    first = _run(tmp_path / "a", RobustnessOptions(draws=50, seed=7))
    again = _run(tmp_path / "b", RobustnessOptions(draws=50, seed=7))
    other = _run(tmp_path / "c", RobustnessOptions(draws=50, seed=8))
    peaks = [x.robustness.monte_carlo.peaks for x in (first, again, other)]  # type: ignore[union-attr]
    assert np.array_equal(peaks[0], peaks[1])
    assert not np.array_equal(peaks[0], peaks[2])


def test_monte_carlo_without_noise_is_the_plan_itself(run: PlanRun) -> None:
    """With both coefficients of variation at 0, every draw is the plan's own peak."""
    ids = pl.Series(run.problem.officer_ids)
    officer = run.plan["officer_id"].cast(pl.Enum(ids)).to_physical().cast(pl.Int64)
    r = assess_robustness(
        run.cases,
        officer.fill_null(-1).to_numpy(),
        run.plan["moved"].to_numpy(),
        run.problem.available,
        run.problem.officer_ids,
        run.config,
        RobustnessOptions(draws=20, case_cv=0.0, rule_cv=0.0),
    )
    assert r.monte_carlo is not None
    assert np.allclose(r.monte_carlo.peaks, r.nominal_peak, rtol=1e-12)
    assert r.monte_carlo.p_any_over == float(r.nominal_peak > 1.0)


def test_monte_carlo_noise_keeps_the_mean_load(run: PlanRun) -> None:
    """Mean-1 factors: the draws' peaks spread around the plan's peak, not far above it."""
    mc = run.robustness.monte_carlo  # type: ignore[union-attr]
    assert mc is not None and mc.draws == 200
    assert mc.peak_p05 < mc.peak_p50 < mc.peak_p95 <= mc.peak_max
    assert 0.0 <= mc.p_any_over_low <= mc.p_any_over <= mc.p_any_over_high <= 1.0


def test_a_clipping_negative_add_is_marked_approximate(tmp_path: Path) -> None:
    """A negative add that clips cases at 0 h is not affine in its scale: marked, not hidden."""
    model = MODEL + '\n[[effort.adjust]]\nname = "discount"\nwhen = "NOT crim"\nadd = -0.6\n'
    run = _run(tmp_path, RobustnessOptions(draws=0), model)
    assert run.robustness is not None
    marks = {s.rule: s.approximate for s in run.robustness.rules}
    # Scaling a base figure moves where the clip bites too; handoff hours are untouched by it.
    assert marks["discount"] and marks["detained"] and not marks["handoff_hours"]
    assert run.robustness.monte_carlo is None


def _no_constants(name: str) -> float:
    raise AssertionError(f"not strict JSON: {name}")


def test_cli_plan_robustness_in_json_manifest_and_report(tmp_path: Path) -> None:
    """--robustness: the JSON summary, the manifest and the HTML report all carry it."""
    roster, cases, config = _files(tmp_path)
    plan, report = tmp_path / "plan.csv", tmp_path / "plan.html"
    result = CliRunner().invoke(
        app,
        [
            "plan",
            str(roster),
            str(cases),
            "--config",
            str(config),
            "--out",
            str(plan),
            "--report",
            str(report),
            "--time-limit",
            "2",
            "--robustness",
            "--mc-draws",
            "40",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout, parse_constant=_no_constants)
    assert payload["robustness"]["monte_carlo"]["draws"] == 40
    rules = payload["robustness"]["rules"]
    assert {r["kind"] for r in rules} >= {"base", "adjust", "handoff"}
    for r in rules:
        assert r["unbounded"] == (r["scale_to_peak_rise"] is None)
        assert r["already_over"] == (r["scale_to_full"] is None) or r["unbounded"]
    manifest = json.loads((tmp_path / "plan.manifest.json").read_text())
    assert manifest["robustness"]["budgeted"]["deviation"] == 0.3
    text = report.read_text()
    assert "How robust the plan is to wrong effort figures" in text
    assert 'id="robustness"' in text


def test_cli_plan_robustness_prints_the_table(tmp_path: Path) -> None:
    """Without --json the terminal shows the scaling table and the two uncertainty lines."""
    roster, cases, config = _files(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "plan",
            str(roster),
            str(cases),
            "--config",
            str(config),
            "--out",
            str(tmp_path / "plan.csv"),
            "--time-limit",
            "2",
            "--robustness",
            "--mc-draws",
            "30",
        ],
        env={"COLUMNS": "160"},
    )
    assert result.exit_code == 0, result.output
    for text in ("How far each effort figure can be wrong", "Bertsimas–Sim", "Monte Carlo"):
        assert text in result.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs it)")
def test_report_robustness_chart_draws_offline(tmp_path: Path) -> None:
    """The Monte Carlo histogram renders to SVG marks beside the other charts, offline."""
    roster, cases, config = _files(tmp_path)
    report = tmp_path / "plan.html"
    result = CliRunner().invoke(
        app,
        [
            "plan",
            str(roster),
            str(cases),
            "--config",
            str(config),
            "--out",
            str(tmp_path / "plan.csv"),
            "--report",
            str(report),
            "--time-limit",
            "2",
            "--robustness",
            "--mc-draws",
            "60",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    dom = _dump_dom(report, tmp_path)
    ids = (*CHART_IDS, "robustness")
    parser = _Marks(ids)
    parser.feed(dom)
    assert parser.body.get("data-charts-drawn") == str(len(ids))
    assert parser.svgs["robustness"] >= 1 and parser.shapes["robustness"] >= 3
