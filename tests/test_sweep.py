"""`assign sweep`: the scenario file, what a scenario changes, failures in a row, atomic progress
and --resume, on local processes (the Ray engine has its own module: one cluster start)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from assigncli.analysis import sweep as sweep_module
from assigncli.analysis.sweep import (
    TIMING_COLUMNS,
    BaseInputs,
    Scenario,
    apply_scenario,
    load_base,
    load_sweep,
    run_sweep,
    split_cores,
)
from assigncli.cli import app
from assigncli.errors import ConfigError
from assigncli.generate import write_dataset

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def write_scenarios(folder: Path, body: str, head: str = "") -> Path:
    path = folder / "scenarios.toml"
    path.write_text(
        '[sweep]\nroster = "roster.csv"\ncases = "cases.csv"\ntime_limit = 2\nseed = 1\n'
        + head
        + "\n"
        + body
    )
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sweep")
    write_dataset(out, n_cases=60, n_officers=5, n_offices=2, seed=2, fmt="csv")
    return out


@pytest.fixture(scope="module")
def base(folder: Path) -> BaseInputs:
    spec = write_scenarios(folder, '[[scenario]]\nname = "today"\n')
    return load_base(load_sweep(spec))


def offices_of(base: BaseInputs) -> list[str]:
    return sorted(base.cases["office"].unique().to_list())


# --- the file ------------------------------------------------------------------------------------


def test_the_example_scenario_file_loads() -> None:
    """examples/scenarios.toml parses; its series expand into one scenario per value."""
    spec = load_sweep(EXAMPLES / "scenarios.toml")
    names = [s.name for s in spec.scenarios]
    assert "today" in names and "move budget: max_moves=0" in names
    assert len(spec.scenarios) == len(set(names)) >= 15
    assert spec.roster == EXAMPLES / "roster.csv"
    hires = [s for s in spec.scenarios if s.name.startswith("hires in NYC")]
    assert [s.hires[0].count for s in hires] == [0, 1, 2, 4, 8]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[[scenario]]\nname = 3\n", "'name' must be a non-empty string"),
        ("[[scenario]]\nhires = 3\n", "unknown key(s) hires"),
        ("[[scenario]]\nmax_moves = -1\n", "'max_moves' must be >= 0"),
        ("[[scenario]]\nmax_moves = 2.5\n", "'max_moves' must be a whole number"),
        ("[[scenario]]\nhandoff_hours = 'lots'\n", "'handoff_hours' must be a number"),
        ("[[scenario]]\nmode = 'fast'\n", "'mode' must be 'plan' or 'staffing'"),
        ("[[scenario]]\nhire = [{ count = 2 }]\n", "'office' must name an office"),
        ("[[scenario]]\ntime_away = { office = 'X' }\n", "'days' (days away to add) is required"),
        ("[[scenario]]\ndepart = [{ office = 'X' }]\n", "give 'officers' (ids), or 'office'"),
        ("[[scenario]]\nname='a'\n[[scenario]]\nname='a'\n", "scenario name 'a' is used twice"),
        ("[[series]]\nvary = 'seed'\nvalues = [1]\n", "'vary' must be one of"),
        ("[[series]]\nvary = 'max_moves'\nvalues = []\n", "'values' must be a non-empty list"),
        ("[[series]]\nvary = 'hire_count'\nvalues = [1]\n", "needs a 'hire' table"),
        ("", "nothing to run"),
        ("[[scenario]\n", "not valid TOML"),
    ],
)
def test_bad_scenario_files_name_the_mistake(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_sweep(write_scenarios(tmp_path, body))
    assert message in caught.value.message
    assert str(tmp_path / "scenarios.toml") in caught.value.message


def test_a_missing_sweep_table_and_file_are_config_errors(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("[[scenario]]\n")
    with pytest.raises(ConfigError, match=r"\[sweep\]: missing"):
        load_sweep(path)
    with pytest.raises(ConfigError, match="scenario file not found"):
        load_sweep(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[[scenario]]\ndepart = ['NOBODY']\n", "officer(s) not on the roster: NOBODY"),
        ("[[scenario]]\nhire = { office = 'ZZZ' }\n", "hire: unknown office 'ZZZ'"),
        ("[[scenario]]\neffort = { 'no such rule' = 2.0 }\n", "no rule named 'no such rule'"),
    ],
)
def test_names_a_scenario_uses_must_exist(folder: Path, body: str, message: str) -> None:
    spec = write_scenarios(folder, body)
    with pytest.raises(ConfigError, match=None) as caught:
        load_base(load_sweep(spec))
    assert message in caught.value.message


def test_cli_bad_scenario_file_exits_4_and_writes_nothing(folder: Path, tmp_path: Path) -> None:
    spec = write_scenarios(folder, "[[scenario]]\nmax_moves = -3\n")
    out = tmp_path / "results.csv"
    result = CliRunner().invoke(app, ["sweep", str(spec), "--out", str(out)])
    assert result.exit_code == 4
    assert "'max_moves' must be >= 0" in " ".join(result.output.split())
    assert not out.exists()


# --- what a scenario changes ---------------------------------------------------------------------


def test_hires_departures_and_time_away_change_the_roster(base: BaseInputs) -> None:
    office = offices_of(base)[0]
    first = base.roster.filter(pl.col("office").list.first() == office).sort("officer_id")
    leaver = first["officer_id"][0]
    scenario = Scenario(
        index=0,
        name="s",
        hires=(sweep_module.Hire(office, 2, 99.0, ("lang:es",)),),
        departures=(sweep_module.Departure(officer_ids=(leaver,)),),
        time_away=(sweep_module.TimeAway(days=500.0, office=office),),
    )
    roster, _, _, departed = apply_scenario(base, scenario)
    assert roster.height == base.roster.height + 2 and departed == 1
    new = roster.filter(pl.col("officer_id").str.starts_with("+hire"))
    assert new["capacity_hours"].to_list() == [99.0, 99.0]
    assert new["skills"].to_list() == [["lang:es"], ["lang:es"]]
    assert not roster.filter(pl.col("officer_id") == leaver)["active"][0]
    covering = roster.filter(
        pl.col("office").list.contains(office) & ~pl.col("officer_id").str.starts_with("+")
    )
    # Days away are capped at the cycle.
    assert covering["unavailable_days"].max() == base.config.cycle_days


def test_effort_multipliers_scale_a_rules_hours(base: BaseInputs) -> None:
    """Scaling a base rule by 2 doubles the hours of exactly the cases it sets (no explicit
    effort, no adjustment); effort_scale multiplies every case."""
    rule = base.config.effort.base[-1].name  # the built-in model: "non-detained", most cases
    _, plain, _, _ = apply_scenario(base, Scenario(0, "plain"))
    _, doubled, _, _ = apply_scenario(base, Scenario(0, "x2", effort=((rule, 2.0),)))
    _, scaled, _, _ = apply_scenario(base, Scenario(0, "all", effort_scale=1.5))
    assert (doubled["effort_hours"] >= plain["effort_hours"] - 1e-12).all()
    assert doubled["effort_hours"].sum() > plain["effort_hours"].sum()
    assert scaled["effort_hours"].to_list() == pytest.approx(
        [h * 1.5 for h in plain["effort_hours"].to_list()]
    )


def test_split_cores_prefers_whole_scenarios() -> None:
    """More scenarios than cores: one solver thread each; fewer: the spare cores as threads."""
    assert split_cores(50, 8) == (8, 1)
    assert split_cores(2, 8) == (2, 4)
    assert split_cores(1, 2) == (1, 2)
    assert split_cores(10, 4, workers=2) == (2, 2)
    assert split_cores(10, 4, jobs=1) == (1, 4)


# --- running -------------------------------------------------------------------------------------


BODY = """
[[scenario]]
name = "today"

[[scenario]]
name = "handoff 4"
handoff_hours = 4.0

[[scenario]]
name = "staffing"
mode = "staffing"
target = 0.5

[[series]]
name = "budget"
vary = "max_moves"
values = [0, 5, 20]
"""


def test_sweep_rows_are_full_plans_checked_and_in_order(folder: Path, tmp_path: Path) -> None:
    spec = load_sweep(write_scenarios(folder, BODY))
    out = tmp_path / "results.parquet"
    run = run_sweep(spec, load_base(spec), out, jobs=1, workers=1)
    table = pl.read_parquet(out)
    assert table.drop(TIMING_COLUMNS).equals(run.table.drop(TIMING_COLUMNS))
    assert table["index"].to_list() == list(range(6))
    assert (table["status"] == "ok").all(), table.select("scenario", "error").to_dicts()
    plans = table.filter(pl.col("mode") == "plan")
    assert (plans["peak"] >= plans["bound"] - 1e-6).all()
    assert plans["moves"].null_count() == 0
    budget = table.filter(pl.col("scenario").str.starts_with("budget"))
    assert budget["max_moves"].to_list() == [0, 5, 20]
    staffing = table.filter(pl.col("mode") == "staffing").row(0, named=True)
    assert staffing["officers_to_add"] is not None and staffing["staffing_peak"] is not None
    handoff = table.filter(pl.col("scenario") == "handoff 4").row(0, named=True)
    assert handoff["handoff_hours"] == 4.0


def test_a_failed_scenario_is_reported_in_its_row_and_the_sweep_goes_on(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_sweep(write_scenarios(folder, BODY))
    real = sweep_module._run

    def flaky(base: BaseInputs, scenario: Scenario, workers: int) -> dict[str, object]:
        if scenario.name == "handoff 4":
            raise ConfigError("this scenario is broken")
        return real(base, scenario, workers)

    monkeypatch.setattr(sweep_module, "_run", flaky)
    run = run_sweep(spec, load_base(spec), tmp_path / "r.csv", jobs=1, workers=1)
    table = run.table
    failed = table.filter(pl.col("status") == "failed")
    assert failed["scenario"].to_list() == ["handoff 4"]
    assert failed["error"].to_list() == ["this scenario is broken"]
    assert (table.filter(pl.col("status") == "ok").height) == 5


def test_an_interrupted_sweep_keeps_what_it_finished_and_resume_skips_it(
    folder: Path, tmp_path: Path
) -> None:
    spec = load_sweep(write_scenarios(folder, BODY))
    base = load_base(spec)
    out = tmp_path / "results.csv"

    def stop_after_two(_row: dict[str, object], done: int, _total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, base, out, jobs=1, workers=1, on_row=stop_after_two)
    partial = pl.read_csv(out)
    assert partial.height == 2 and (partial["status"] == "ok").all()
    resumed = run_sweep(spec, base, out, jobs=1, workers=1, resume=True)
    assert resumed.skipped == 2
    fresh = run_sweep(spec, base, tmp_path / "fresh.csv", jobs=1, workers=1)
    final = pl.read_csv(out)
    assert final.height == 6
    assert final.drop(TIMING_COLUMNS).equals(
        pl.read_csv(tmp_path / "fresh.csv").drop(TIMING_COLUMNS)
    )
    assert fresh.skipped == 0


def test_resume_reruns_a_scenario_whose_description_changed(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    first = load_sweep(write_scenarios(folder, BODY))
    run_sweep(first, load_base(first), out, jobs=1, workers=1)
    changed = load_sweep(
        write_scenarios(folder, BODY.replace("handoff_hours = 4.0", "handoff_hours = 5.0"))
    )
    again = run_sweep(changed, load_base(changed), out, jobs=1, workers=1, resume=True)
    assert again.skipped == 5
    assert pl.read_csv(out).filter(pl.col("index") == 1)["handoff_hours"].to_list() == [5.0]


def test_processes_give_the_same_table_as_one_at_a_time(folder: Path, tmp_path: Path) -> None:
    """Two worker processes (forkserver), one solver thread each: the same rows as in-process."""
    spec = load_sweep(write_scenarios(folder, BODY))
    base = load_base(spec)
    serial = run_sweep(spec, base, tmp_path / "a.csv", jobs=1, workers=1)
    parallel = run_sweep(spec, base, tmp_path / "b.csv", jobs=2, workers=1)
    assert parallel.jobs == 2
    assert parallel.table.drop(TIMING_COLUMNS).equals(serial.table.drop(TIMING_COLUMNS))


def test_cli_sweep_json_table_and_report(folder: Path, tmp_path: Path) -> None:
    spec = write_scenarios(folder, BODY)
    out, report = tmp_path / "sweep.csv", tmp_path / "sweep.html"
    result = CliRunner().invoke(
        app,
        [
            "sweep",
            str(spec),
            "--out",
            str(out),
            "--report",
            str(report),
            "--workers",
            "1",
            "--jobs",
            "1",
            "--json",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["scenarios"] == 6 and payload["failed"] == 0
    assert pl.read_csv(out).height == 6
    text = report.read_text()
    assert 'id="moves-peak"' in text and 'id="hires-peak"' in text


def test_cli_sweep_rejects_an_unknown_engine_and_address_without_ray(folder: Path) -> None:
    spec = write_scenarios(folder, BODY)
    bad = CliRunner().invoke(app, ["sweep", str(spec), "--engine", "dask"])
    assert bad.exit_code == 2 and "--engine must be processes or ray" in bad.output
    lost = CliRunner().invoke(app, ["sweep", str(spec), "--address", "127.0.0.1:1"])
    assert lost.exit_code == 2 and "--address is for --engine ray" in lost.output


def test_cli_sweep_refuses_to_overwrite_an_input(folder: Path) -> None:
    spec = write_scenarios(folder, BODY)
    result = CliRunner().invoke(app, ["sweep", str(spec), "--out", str(folder / "roster.csv")])
    assert result.exit_code == 2
    assert "would destroy the input" in " ".join(result.output.split())
