"""Time logs: generation in both shapes, and the guard rails that turn a bad log into exit 3."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from assigncli.cli import app
from assigncli.config import default_config
from assigncli.errors import InputError, UsageError
from assigncli.generate import write_dataset
from assigncli.timelog import (
    GeneratedLogs,
    HeldSource,
    generate_time_logs,
    load_time_log,
    true_hours,
)
from assigncli.validate import load_inputs

CONFIG = default_config()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pl.DataFrame, pl.DataFrame]:
    out = tmp_path_factory.mktemp("timelog")
    roster_path, cases_path = write_dataset(
        out, n_cases=1500, n_officers=30, n_offices=2, seed=4, fmt="csv"
    )
    inputs = load_inputs(roster_path, cases_path, CONFIG)
    return roster_path, cases_path, inputs.roster, inputs.cases


@pytest.fixture(scope="module")
def logs(data: tuple[Path, Path, pl.DataFrame, pl.DataFrame]) -> GeneratedLogs:
    return generate_time_logs(data[3], data[2], CONFIG, periods=3, seed=9)


def _write(tmp_path: Path, name: str, frame: pl.DataFrame) -> Path:
    path = tmp_path / name
    frame.write_csv(path)
    return path


def _problems(path: Path, cases: pl.DataFrame, **kwargs: object) -> dict[str, list[str]]:
    with pytest.raises(InputError) as caught:
        load_time_log(path, cases, cycle_days=28.0, **kwargs)  # type: ignore[arg-type]
    found: dict[str, list[str]] = {}
    for p in caught.value.problems:
        if p.severity == "error":
            found.setdefault(p.code, []).append(p.render())
    return found


# --------------------------------------------------------------------------------------------
# Generation


def test_generated_logs_have_both_shapes_and_their_columns(logs: GeneratedLogs) -> None:
    """Per case (with who logged it), per officer, and the held table, with the documented columns."""
    assert logs.per_case.columns == ["case_id", "period", "hours", "officer_id"]
    assert logs.per_officer.columns == ["officer_id", "period", "hours"]
    assert logs.held.columns == ["case_id", "officer_id", "period"]
    assert logs.held.height == 1500 * 3  # every case is held by someone in every period
    assert logs.per_case["hours"].min() >= 0  # type: ignore[operator]


def test_generated_logs_miss_some_entries(logs: GeneratedLogs) -> None:
    """About 5% of the entries of each shape are missing, as in real logs."""
    share = 1 - logs.per_case.height / (1500 * 3)
    assert 0.02 < share < 0.09
    officer_periods = logs.held.select("officer_id", "period").unique().height
    assert logs.per_officer.height < officer_periods


def test_generated_hours_average_to_the_model(
    data: tuple[Path, Path, pl.DataFrame, pl.DataFrame],
) -> None:
    """Noise and officer speed have mean 1: logged hours average to the model's expected hours."""
    cases, roster = data[3], data[2]
    logs = generate_time_logs(cases, roster, CONFIG, periods=20, seed=1, missing_share=0.0)
    expected = float(true_hours(cases, CONFIG).sum()) * 20
    assert logs.per_case["hours"].sum() == pytest.approx(expected, rel=0.03)
    assert logs.per_officer["hours"].sum() == pytest.approx(logs.per_case["hours"].sum(), rel=1e-3)


def test_generated_logs_are_reproducible(
    data: tuple[Path, Path, pl.DataFrame, pl.DataFrame], logs: GeneratedLogs
) -> None:
    """The same seed gives the same logs; another seed gives other hours."""
    again = generate_time_logs(data[3], data[2], CONFIG, periods=3, seed=9)
    assert again.per_case.equals(logs.per_case)
    other = generate_time_logs(data[3], data[2], CONFIG, periods=3, seed=10)
    assert not other.per_case["hours"].equals(logs.per_case["hours"])


def test_officers_specialize(
    logs: GeneratedLogs, data: tuple[Path, Path, pl.DataFrame, pl.DataFrame]
) -> None:
    """Officers' case mixes differ more than random assignment would make them (affinity)."""
    cases = data[3].select("case_id", "final_order")
    share = (
        logs.held.filter(pl.col("period") == "cycle-01")
        .join(cases, on="case_id")
        .group_by("officer_id")
        .agg(pl.col("final_order").mean(), pl.len())
        .filter(pl.col("len") >= 20)
    )
    assert share["final_order"].std() > 0.05  # type: ignore[operator]


def test_generation_rejects_bad_settings(
    data: tuple[Path, Path, pl.DataFrame, pl.DataFrame],
) -> None:
    """Zero periods or a missing share of 1 are usage errors."""
    with pytest.raises(UsageError):
        generate_time_logs(data[3], data[2], CONFIG, periods=0)
    with pytest.raises(UsageError):
        generate_time_logs(data[3], data[2], CONFIG, missing_share=1.0)


def test_cli_generate_writes_time_logs(tmp_path: Path) -> None:
    """`assign generate --time-log` writes the three tables beside roster and cases."""
    result = CliRunner().invoke(
        app,
        ["generate", "--cases", "400", "--officers", "8", "--offices", "2", "--format", "csv",
         "--out-dir", str(tmp_path), "--time-log", "--periods", "2", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("timelog_cases.csv", "timelog_officers.csv", "held.csv"):
        assert (tmp_path / name).is_file()
    assert pl.read_csv(tmp_path / "timelog_cases.csv")["period"].n_unique() == 2


# --------------------------------------------------------------------------------------------
# Reading good logs


def test_good_logs_load_in_both_shapes(
    tmp_path: Path, data: tuple[Path, Path, pl.DataFrame, pl.DataFrame], logs: GeneratedLogs
) -> None:
    """A generated per-case and per-officer log validate cleanly; the shape follows the columns."""
    cases = data[3]
    per_case = load_time_log(_write(tmp_path, "pc.csv", logs.per_case), cases, cycle_days=28)
    assert per_case.shape == "per_case"
    assert per_case.entries.height == logs.per_case.height
    assert per_case.periods == 3
    held = _write(tmp_path, "held.csv", logs.held)
    per_officer = load_time_log(
        _write(tmp_path, "po.csv", logs.per_officer), cases, cycle_days=28, held=[HeldSource(held)]
    )
    assert per_officer.shape == "per_officer"
    assert per_officer.held is not None and per_officer.held.height == logs.held.height
    # Officer-periods that logged nothing are a warning, not an error.
    assert [p.code for p in per_officer.problems] == ["missing_entries"]


def test_past_plans_label_their_period(
    tmp_path: Path, data: tuple[Path, Path, pl.DataFrame, pl.DataFrame], logs: GeneratedLogs
) -> None:
    """`--held PERIOD=PLAN` reads a plan (case_id, officer_id, …) as the holdings of that period."""
    sources = []
    for period in ("cycle-01", "cycle-02", "cycle-03"):
        plan = logs.held.filter(pl.col("period") == period).select(
            "case_id", "officer_id", pl.lit(False).alias("moved")
        )
        path = _write(tmp_path, f"plan-{period}.csv", plan)
        sources.append(HeldSource.parse(f"{period}={path}"))
    assert sources[0].period == "cycle-01"
    log = load_time_log(
        _write(tmp_path, "po.csv", logs.per_officer), data[3], cycle_days=28, held=sources
    )
    assert log.held is not None and log.held.height == logs.held.height


# --------------------------------------------------------------------------------------------
# Guard rails: every bad log is exit 3 with file, column and rows


def test_bad_entries_are_each_named_with_their_rows(
    tmp_path: Path, data: tuple[Path, Path, pl.DataFrame, pl.DataFrame]
) -> None:
    """Unknown case, negative, absurd, non-finite, non-numeric and empty hours, duplicates."""
    ids = data[3]["case_id"].to_list()
    log = pl.DataFrame(
        {
            "case_id": [ids[0], "NOPE", ids[1], ids[2], ids[3], ids[4], ids[5], ids[5], ids[6], ids[7]],
            "period": ["p1"] * 10,
            "hours": ["1.0", "1.0", "-2", "5000", "nan", "inf", "1", "2", "abc", ""],
        }
    )  # fmt: skip
    found = _problems(_write(tmp_path, "bad.csv", log), data[3])
    assert set(found) == {
        "unknown_case",
        "negative",
        "absurd_hours",
        "not_finite",
        "not_a_number",
        "empty_value",
        "duplicate_entry",
    }
    assert "row 2" in found["unknown_case"][0] and "'NOPE'" in found["unknown_case"][0]
    assert "column 'hours', row 3" in found["negative"][0]
    assert "above 672" in found["absurd_hours"][0]
    assert "rows 5, 6" in found["not_finite"][0]
    assert "rows 7, 8" in found["duplicate_entry"][0]


def test_max_hours_sets_the_absurd_limit(
    tmp_path: Path, data: tuple[Path, Path, pl.DataFrame, pl.DataFrame]
) -> None:
    """--max-hours lowers the bound: a 30-hour case-period is absurd for a 10-hour limit."""
    log = pl.DataFrame(
        {"case_id": data[3]["case_id"][:2], "period": ["p", "p"], "hours": [3.0, 30.0]}
    )
    found = _problems(_write(tmp_path, "log.csv", log), data[3], max_hours=10.0)
    assert list(found) == ["absurd_hours"]


def test_missing_columns_name_both_shapes(
    tmp_path: Path, data: tuple[Path, Path, pl.DataFrame, pl.DataFrame]
) -> None:
    """A log with neither id column says what either shape needs; a missing 'hours' is named."""
    found = _problems(
        _write(tmp_path, "a.csv", pl.DataFrame({"id": ["x"], "hours": [1.0]})), data[3]
    )
    assert "per case" in found["missing_column"][0] and "per officer" in found["missing_column"][0]
    found = _problems(
        _write(tmp_path, "b.csv", pl.DataFrame({"case_id": ["x"], "period": ["p"]})), data[3]
    )
    assert "'hours'" in found["missing_column"][0]


def test_unreadable_logs_say_time_log(
    tmp_path: Path, data: tuple[Path, Path, pl.DataFrame, pl.DataFrame]
) -> None:
    """Missing file, wrong extension and empty file are reported as a time log's problems."""
    assert "time log not found" in _problems(tmp_path / "none.csv", data[3])["missing_file"][0]
    (tmp_path / "log.txt").write_text("case_id,period,hours\n")
    assert "unknown_extension" in _problems(tmp_path / "log.txt", data[3])
    (tmp_path / "empty.csv").write_text("case_id,period,hours\n")
    assert "empty" in _problems(tmp_path / "empty.csv", data[3])


def test_per_officer_log_needs_held_cases(
    tmp_path: Path, data: tuple[Path, Path, pl.DataFrame, pl.DataFrame], logs: GeneratedLogs
) -> None:
    """Without --held a per-officer log is a usage error that says what to pass."""
    path = _write(tmp_path, "po.csv", logs.per_officer)
    with pytest.raises(UsageError, match="--held"):
        load_time_log(path, data[3], cycle_days=28)


def test_periods_without_cases_are_errors(
    tmp_path: Path, data: tuple[Path, Path, pl.DataFrame, pl.DataFrame], logs: GeneratedLogs
) -> None:
    """Hours logged for an officer-period in which the officer held no case."""
    extra = pl.DataFrame({"officer_id": ["OFF00001"], "period": ["cycle-99"], "hours": [40.0]})
    path = _write(tmp_path, "po.csv", pl.concat([logs.per_officer, extra]))
    held = _write(tmp_path, "held.csv", logs.held)
    found = _problems(path, data[3], held=[HeldSource(held)])
    assert list(found) == ["period_without_cases"]
    assert "cycle-99" in found["period_without_cases"][0]


def test_bad_held_files_are_errors(
    tmp_path: Path, data: tuple[Path, Path, pl.DataFrame, pl.DataFrame], logs: GeneratedLogs
) -> None:
    """A held file with unknown cases, a case held twice in a period, or no period column."""
    held = pl.concat(
        [logs.held, logs.held.head(1), pl.DataFrame({"case_id": ["GHOST"], "officer_id": ["OFF00001"], "period": ["cycle-01"]})]
    )  # fmt: skip
    log = _write(tmp_path, "po.csv", logs.per_officer)
    found = _problems(log, data[3], held=[HeldSource(_write(tmp_path, "held.csv", held))])
    assert set(found) == {"unknown_case", "duplicate_entry"}
    plan = _write(tmp_path, "plan.csv", logs.held.select("case_id", "officer_id"))
    found = _problems(log, data[3], held=[HeldSource(plan)])
    assert "PERIOD=PATH" in " ".join(found["missing_column"])


def test_held_source_parsing(tmp_path: Path) -> None:
    """An existing path is a file; PERIOD=PATH labels a plan; an empty label is a usage error."""
    existing = tmp_path / "a=b.csv"
    existing.write_text("x\n")
    assert HeldSource.parse(str(existing)) == HeldSource(existing)
    assert HeldSource.parse("2026-01=plan.csv") == HeldSource(Path("plan.csv"), "2026-01")
    with pytest.raises(UsageError):
        HeldSource.parse("=plan.csv")


def test_cli_bad_log_exits_3_and_writes_nothing(
    tmp_path: Path, data: tuple[Path, Path, pl.DataFrame, pl.DataFrame]
) -> None:
    """`assign effort fit` on a bad log: exit 3, the problem on stderr, no fitted TOML."""
    ids = data[3]["case_id"].to_list()
    log = _write(
        tmp_path,
        "log.csv",
        pl.DataFrame({"case_id": [ids[0], ids[1]], "period": ["p", "p"], "hours": [1.0, -1.0]}),
    )
    out = tmp_path / "fitted.toml"
    result = CliRunner().invoke(app, ["effort", "fit", str(data[1]), str(log), "--out", str(out)])
    assert result.exit_code == 3
    assert "column 'hours', row 2" in result.output
    assert not out.exists()
