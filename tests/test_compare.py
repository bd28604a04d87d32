"""`assign compare`: the optimized plan beside the baselines, as a library call and on the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from assigncli.analysis.compare import OPTIMIZED, Comparison, compare_files
from assigncli.analysis.metrics import METRICS, RULE_CODES
from assigncli.cli import app
from assigncli.config import default_config
from assigncli.generate import write_dataset
from assigncli.solvers.solve import SolveOptions

OPTIONS = SolveOptions(time_limit=3.0, workers=1)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("compare")
    return write_dataset(out, n_cases=800, n_officers=14, n_offices=2, seed=5, fmt="csv")


@pytest.fixture(scope="module")
def comparison(dataset: tuple[Path, Path]) -> Comparison:
    return compare_files(dataset[0], dataset[1], default_config(), OPTIONS)


def test_compare_lists_every_baseline_then_the_optimized_plan(comparison: Comparison) -> None:
    """Status quo first, the naive baselines, greedy, and the optimized plan last."""
    assert comparison.names == (
        "status_quo",
        "round_robin",
        "equal_count",
        "arbitrary",
        "greedy_effort",
        OPTIMIZED,
    )
    for compared in comparison.plans:
        assert compared.plan.height == comparison.run.plan.height


def test_only_the_status_quo_may_break_rules(comparison: Comparison) -> None:
    """Every other plan passed the checker; the status quo's breaks are eligibility rules only."""
    for compared in comparison.plans:
        if compared.name == "status_quo":
            codes = {line.split(":", 1)[0] for line in compared.violations}
            assert codes <= {*RULE_CODES, "max_cases_exceeded"}
        else:
            assert compared.violations == ()
            assert compared.metrics.rule_breaks == 0


def test_optimized_plan_peaks_lower_than_naive_assignment(comparison: Comparison) -> None:
    """Effort-weighted assignment beats round-robin, equal count and arbitrary on the busiest
    officer and on officers over capacity."""
    best = comparison.plan(OPTIMIZED).metrics
    for name in ("round_robin", "equal_count", "arbitrary"):
        naive = comparison.plan(name).metrics
        assert best.highest_utilization is not None and naive.highest_utilization is not None
        assert best.highest_utilization <= naive.highest_utilization
        assert best.officers_over_capacity <= naive.officers_over_capacity


def test_forced_moves_are_the_same_for_every_lawful_plan(comparison: Comparison) -> None:
    """A case whose officer cannot keep it moves under every plan that keeps the rules."""
    forced = {p.forced_moves for p in comparison.plans if p.metrics.rule_breaks == 0}
    assert len(forced) == 1
    for compared in comparison.plans:
        assert 0 <= compared.forced_moves <= compared.metrics.moves


def test_no_column_beats_a_best_mark(comparison: Comparison) -> None:
    """A best mark sits on the best value among all plans (ties included), the status quo too:
    no other column holds a better value (regression: moves 690 marked against the status
    quo's 77)."""
    specs = {s.key: s for s in METRICS}
    assert comparison.best(specs["median_utilization"]) == ()
    assert comparison.best(specs["officers_on_roster"]) == ()
    for spec in METRICS:
        if spec.better is None:
            continue
        values = {n: comparison.value(n, spec.key) for n in comparison.names}
        known = [v for v in values.values() if v is not None]
        best = min(known) if spec.better == "lower" else max(known)
        marked = set(comparison.best(spec))
        assert marked == {n for n, v in values.items() if v is not None and abs(v - best) < 1e-9}


def test_table_has_a_row_per_metric_and_a_column_per_plan(comparison: Comparison) -> None:
    """The metric table: metrics as rows, plans as columns, values from each plan's metrics."""
    table = comparison.table()
    assert table["metric"].to_list() == [s.key for s in METRICS]
    assert table.columns == ["metric", *comparison.names]
    row = table.filter(pl.col("metric") == "moves").row(0, named=True)
    assert row[OPTIMIZED] == comparison.plan(OPTIMIZED).metrics.moves


def test_comparison_dict_is_plain_json(comparison: Comparison) -> None:
    """to_dict() serializes without NaN or custom types."""
    payload = json.loads(json.dumps(comparison.to_dict(), allow_nan=False))
    assert [p["name"] for p in payload["plans"]] == list(comparison.names)
    assert set(payload["metrics"]) == {s.key for s in METRICS}


def test_cli_compare_prints_the_side_by_side_table(dataset: tuple[Path, Path]) -> None:
    """`assign compare` exits 0 and prints every plan and metric."""
    result = CliRunner().invoke(
        app,
        ["compare", str(dataset[0]), str(dataset[1]), "--time-limit", "2"],
        env={"COLUMNS": "160"},  # a wide terminal: no header is cut short
    )
    assert result.exit_code == 0, result.output
    for text in ("highest utilization", "staffing gap", "round-robin", "optimized", "* "):
        assert text in result.stdout


def test_cli_compare_json_and_report(dataset: tuple[Path, Path], tmp_path: Path) -> None:
    """--json prints one JSON object naming the report that --report wrote."""
    report = tmp_path / "out" / "compare.html"
    result = CliRunner().invoke(
        app,
        [
            "compare",
            str(dataset[0]),
            str(dataset[1]),
            "--time-limit",
            "2",
            "--json",
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["status"] == "ok"
    assert payload["files"] == {"report": str(report)}
    assert payload["best"]["highest_utilization"]
    assert report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_cli_compare_rejects_a_report_that_is_not_html(dataset: tuple[Path, Path]) -> None:
    """--report must name an .html file (usage error, exit 2)."""
    result = CliRunner().invoke(
        app, ["compare", str(dataset[0]), str(dataset[1]), "--report", "report.csv"]
    )
    assert result.exit_code == 2


def test_cli_compare_on_bad_input_writes_nothing(tmp_path: Path) -> None:
    """Invalid input: exit 3 and no report file."""
    roster = tmp_path / "roster.csv"
    roster.write_text("officer_id,office,capacity_hours\nA,N,-5\n", encoding="utf-8")
    cases = tmp_path / "cases.csv"
    cases.write_text("case_id,office\nc1,N\n", encoding="utf-8")
    report = tmp_path / "compare.html"
    result = CliRunner().invoke(app, ["compare", str(roster), str(cases), "--report", str(report)])
    assert result.exit_code == 3
    assert not report.exists()


def test_cli_plan_report_is_written_with_the_plan(
    dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    """`assign plan --report` writes the HTML report beside the plan, summary and manifest."""
    out = tmp_path / "plan.csv"
    report = tmp_path / "plan.html"
    result = CliRunner().invoke(
        app,
        [
            "plan",
            str(dataset[0]),
            str(dataset[1]),
            "--out",
            str(out),
            "--time-limit",
            "2",
            "--report",
            str(report),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["files"]["report"] == str(report)
    assert out.exists() and report.exists()
    assert "status quo" in report.read_text(encoding="utf-8")


def test_cli_plan_writes_nothing_when_the_report_cannot_be_written(
    dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    """A report path that is a directory fails the whole batch: exit 5, no plan file."""
    out = tmp_path / "plan.csv"
    blocked = tmp_path / "blocked.html"
    blocked.mkdir()
    result = CliRunner().invoke(
        app,
        [
            "plan",
            str(dataset[0]),
            str(dataset[1]),
            "--out",
            str(out),
            "--time-limit",
            "2",
            "--report",
            str(blocked),
        ],
    )
    assert result.exit_code == 5, result.output
    assert not out.exists()
