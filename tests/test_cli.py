"""The `assign` command line: exit codes, --json, --quiet, -v, --version, config discovery, help,
narrow terminals, untrusted text, the time limit and Ctrl-C (real signals in subprocesses)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from assigncli import __version__, interrupt
from assigncli.cli import app
from assigncli.config import default_config
from assigncli.errors import InputError
from assigncli.generate import write_dataset
from assigncli.pipeline import PhaseClock, run_plan, write_plan
from assigncli.render.terminal import SolveStatus, console, office_table
from assigncli.solvers.solve import SolveOptions

SRC = Path(__file__).resolve().parents[1] / "src"
# Ids that rich would read as markup or emoji if they reached it unescaped.
HOSTILE = ("[/]", "[bold]x", ":x:")
NO_RULES = "cycle_days = 28\n[effort]\ndefault_hours = 1.0\n"


def invoke(args: list[str], **env: str) -> Result:
    """Run the CLI in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(app, args, env={"COLUMNS": "120", **env})


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("cli")
    return write_dataset(out, n_cases=300, n_officers=8, n_offices=2, seed=3, fmt="csv")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Officer, case and office ids that look like rich markup, with a config of no rules."""
    out = tmp_path_factory.mktemp("hostile")
    roster = out / "roster.csv"
    roster.write_text(
        "officer_id,office,capacity_hours\n[/],[bold]NYC;BOS,40\n:x:,[bold]NYC,40\nB1,BOS,30\n",
        encoding="utf-8",
    )
    cases = out / "cases.csv"
    cases.write_text(
        "case_id,office,effort_hours,current_officer_id\n"
        "[/],[bold]NYC,2,[/]\n[bold]x,[bold]NYC,3,[[effort.base]]\n:x:,BOS,1,\n",
        encoding="utf-8",
    )
    config = out / "assign.toml"
    config.write_text(NO_RULES, encoding="utf-8")
    return roster, cases, config


def _plan_args(data: tuple[Path, Path], out: Path, *extra: str) -> list[str]:
    return ["plan", str(data[0]), str(data[1]), "--out", str(out), "--time-limit", "3", *extra]


# --- exit codes and --json ---------------------------------------------------------------------


def test_plan_exit_0_writes_three_files_and_a_summary(
    data: tuple[Path, Path], tmp_path: Path
) -> None:
    """A plan run exits 0, writes plan, officer summary and manifest (and the set's lock file),
    and prints the tables."""
    result = invoke(_plan_args(data, tmp_path / "plan.csv"))
    assert result.exit_code == 0, result.output
    assert {p.name for p in tmp_path.iterdir()} == {
        "plan.csv",
        "plan.officers.csv",
        "plan.manifest.json",
        "plan.lock",
    }
    assert "Utilization by office" in result.stdout and "certificate" in result.stdout


def test_plan_json_is_alone_on_stdout(data: tuple[Path, Path], tmp_path: Path) -> None:
    """--json: stdout holds exactly one JSON object; tables and progress stay off stdout."""
    result = invoke(_plan_args(data, tmp_path / "plan.csv", "--json"))
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["status"] in ("optimal", "feasible", "time_limit")
    assert payload["files"]["plan"] == str(tmp_path / "plan.csv")
    assert result.stdout.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["plan", "{roster}", "{cases}", "--solver", "fast"], 2),
        (["compare", "{roster}", "{cases}", "--time-limit", "0"], 2),
        (["generate", "--format", "ods"], 2),
        (["validate", "{roster}", "{missing}"], 3),
        (["plan", "{roster}", "{missing}"], 3),
        (["effort", "{missing}"], 3),
        (["plan", "{roster}", "{cases}", "--config", "{bad_config}"], 4),
        (["validate", "{roster}", "{cases}", "--config", "{bad_config}"], 4),
        (["compare", "{roster}", "{cases}", "--config", "{bad_config}"], 4),
        (["effort", "{cases}", "--config", "{bad_config}"], 4),
        (["plan", "{roster}", "{cases}", "--out", "{blocked}/plan.csv"], 5),
        (["effort", "{cases}", "--out", "{blocked}/effort.csv"], 5),
    ],
)
def test_exit_codes_with_json_on_stdout(
    data: tuple[Path, Path], tmp_path: Path, args: list[str], code: int
) -> None:
    """Usage (2), input (3), config (4) and output (5) errors exit with their code; with --json
    stdout holds one JSON object naming the code, and the message is on stderr."""
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text("cycle_days = 28\nhandof_hours = 1\n", encoding="utf-8")
    blocked = tmp_path / "afile"
    blocked.write_text("not a folder", encoding="utf-8")
    values = {
        "roster": str(data[0]),
        "cases": str(data[1]),
        "missing": str(tmp_path / "missing.csv"),
        "bad_config": str(bad_config),
        "blocked": str(blocked),
    }
    argv = [a.format(**values) for a in args] + ["--json"]
    result = invoke(argv)
    assert result.exit_code == code, result.output
    payload = json.loads(result.stdout)
    assert payload["exit_code"] == code
    assert payload["status"] in ("error", "invalid")
    assert "Traceback" not in result.output
    assert result.stderr.strip()


def test_quiet_success_prints_nothing(data: tuple[Path, Path], tmp_path: Path) -> None:
    """--quiet: no summary, no progress, no warnings, on either stream."""
    result = invoke(_plan_args(data, tmp_path / "plan.csv", "--quiet"))
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and result.stderr == ""


def test_quiet_still_lists_every_input_error(tmp_path: Path) -> None:
    """--quiet hides chatter, never the errors: each problem is listed, not just a count."""
    roster = tmp_path / "roster.csv"
    roster.write_text("officer_id,office,capacity_hours\nA,N,-5\nA,N,abc\n", encoding="utf-8")
    cases = tmp_path / "cases.csv"
    cases.write_text("case_id,office\nc1,N\n", encoding="utf-8")
    for command in ("plan", "validate"):
        result = invoke([command, str(roster), str(cases), "-q"])
        assert result.exit_code == 3, result.output
        assert "capacity_hours" in result.stderr
        assert "duplicate" in result.stderr.lower() or "officer_id" in result.stderr
        assert result.stderr.count("error") >= 2


def test_verbose_shows_phases_and_warnings_before_the_solve(
    data: tuple[Path, Path], tmp_path: Path
) -> None:
    """-v prints each phase as it starts and the phase table; input warnings come before the
    solve starts, not after it."""
    result = invoke(_plan_args(data, tmp_path / "plan.csv", "-v"))
    assert result.exit_code == 0, result.output
    err = result.stderr
    assert "phases" in err and "read+validate" in err
    warning = err.index("warning:")
    assert warning < err.index("solve (")


def test_json_has_no_nan_or_infinity(capsys: pytest.CaptureFixture[str]) -> None:
    """An undefined gap (no bound) is null in --json output, never the invalid `Infinity`
    (regression: a national run failed with exit 1 after writing its files)."""
    from assigncli import cli

    cli._emit_json({"certificate": {"gap": float("inf"), "peak": 1.5}, "rows": [float("nan")]})
    assert json.loads(capsys.readouterr().out) == {
        "certificate": {"gap": None, "peak": 1.5},
        "rows": [None],
    }


def test_version() -> None:
    result = invoke(["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"assign {__version__}"


def test_validate_exit_0_and_json(data: tuple[Path, Path]) -> None:
    result = invoke(["validate", str(data[0]), str(data[1]), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["status"] == "ok" and payload["errors"] == 0


def test_validate_and_effort_count_skipped_built_in_rules_as_warnings_of_the_file(
    tmp_path: Path,
) -> None:
    """Regression: on a plain case file validate said "0 warning(s)" beside a logged warning that
    named the file "cases"; the skipped rules are one counted warning naming the real file."""
    roster, cases = tmp_path / "r.csv", tmp_path / "c.csv"
    roster.write_text("officer_id,office,capacity_hours\nA,X,100\n", encoding="utf-8")
    cases.write_text("case_id,office,effort_hours\nK1,X,2.5\n", encoding="utf-8")
    result = invoke(["validate", str(roster), str(cases), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["warnings"] == 1
    (warning,) = payload["problems"]
    assert warning["code"] == "builtin_rules_skipped" and warning["file"] == str(cases)
    result = invoke(["effort", str(cases)])
    assert result.exit_code == 0, result.output
    assert f"warning: {cases}" in " ".join(result.stderr.split())


def test_effort_exit_0_table_and_json(data: tuple[Path, Path], tmp_path: Path) -> None:
    result = invoke(["effort", str(data[1])])
    assert result.exit_code == 0, result.output
    assert "Effort rules over 300 cases" in result.stdout
    out = tmp_path / "effort.csv"
    result = invoke(["effort", str(data[1]), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["cases"] == 300 and out.exists()


def test_generate_exit_0_and_json(tmp_path: Path) -> None:
    result = invoke(
        [
            "generate",
            "--cases",
            "50",
            "--officers",
            "4",
            "--offices",
            "2",
            "--out-dir",
            str(tmp_path),
            "--format",
            "csv",
            "--json",
        ]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert Path(payload["roster"]).exists() and Path(payload["cases"]).exists()


def test_compare_exit_0_and_json(data: tuple[Path, Path]) -> None:
    result = invoke(["compare", str(data[0]), str(data[1]), "--time-limit", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "ok"


# --- config discovery --------------------------------------------------------------------------


def test_config_discovery_and_override(
    data: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """./assign.toml is picked up when present; --config wins over it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "assign.toml").write_text(
        "cycle_days = 28\nhandoff_hours = 7.25\n", encoding="utf-8"
    )
    other = tmp_path / "other.toml"
    other.write_text("cycle_days = 28\nhandoff_hours = 0.25\n", encoding="utf-8")

    result = invoke(_plan_args(data, tmp_path / "a.csv", "--quiet"))
    assert result.exit_code == 0, result.output
    found = json.loads((tmp_path / "a.manifest.json").read_text(encoding="utf-8"))["config"]
    assert found["handoff_hours"] == 7.25 and found["source"].endswith("assign.toml")

    result = invoke(_plan_args(data, tmp_path / "b.csv", "--quiet", "--config", str(other)))
    assert result.exit_code == 0, result.output
    given = json.loads((tmp_path / "b.manifest.json").read_text(encoding="utf-8"))["config"]
    assert given["handoff_hours"] == 0.25


# --- help --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    ["plan", "validate", "effort", "effort fit", "generate", "compare", "explain"],
)
def test_help_names_values_and_shows_examples(command: str) -> None:
    """--help: no `{roster}` or `<bool>` placeholders, choices listed, examples in the epilog."""
    result = invoke([*command.split(), "--help"])
    assert result.exit_code == 0
    text = result.stdout
    assert "{" not in text.split("Usage:")[1].splitlines()[0]
    assert "<bool>" not in text and "<str>" not in text
    assert "Examples:" in text and f"assign {command}" in text
    if command == "plan":
        assert "ROSTER CASES" in text and "auto|exact|scale" in text
        assert "whole run" in text  # what --time-limit bounds
    if command == "generate":
        assert "parquet|csv|xlsx" in text
    if command == "effort fit":
        assert "auto|gamma|nnls" in text


def test_top_level_help_offers_shell_completion() -> None:
    result = invoke(["--help"])
    assert result.exit_code == 0
    assert "--install-completion" in result.stdout and "<bool>" not in result.stdout


# --- tables ------------------------------------------------------------------------------------


def test_office_table_counts_an_officer_under_every_office() -> None:
    """An officer covering NYC;BOS counts under both offices (regression: only under NYC)."""
    officers = pl.DataFrame(
        {
            "officer_id": ["a", "b"],
            "office": ["NYC;BOS", "BOS"],
            "available_hours": [40.0, 40.0],
            "utilization_before": [0.5, 0.2],
            "utilization_after": [0.4, 0.3],
        }
    )
    plan = pl.DataFrame({"officer_id": ["a", "b"], "moved": [False, False]})
    cases = pl.DataFrame({"office": ["NYC", "BOS"]})
    table = office_table(officers, plan, cases)
    counts = dict(zip(table["office"], table["officers"], strict=True))
    assert counts == {"BOS": 2, "NYC": 1}
    bos = table.filter(pl.col("office") == "BOS").row(0, named=True)
    assert bos["highest_after"] == 0.4


def test_tables_fit_80_columns_without_broken_words(
    data: tuple[Path, Path], tmp_path: Path
) -> None:
    """COLUMNS=80 and a non-terminal: every line fits, and headers and labels stay whole words
    (regression: cells wrapped into fragments like 'unassi…' or '285% →' / '73%')."""
    result = invoke(_plan_args(data, tmp_path / "plan.csv"), COLUMNS="80")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "unassignable" in result.stdout and "…" not in result.stdout
    assert any("% → " in line and line.count("%") >= 4 for line in lines)

    result = invoke(["compare", str(data[0]), str(data[1]), "--time-limit", "3"], COLUMNS="80")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    for label in ("round-robin", "optimized", "arbitrary", "highest utilization"):
        assert label in result.stdout
    assert "…" not in result.stdout


def test_effort_table_at_80_columns_keeps_conditions_whole(data: tuple[Path, Path]) -> None:
    """At 80 columns the effort rules' conditions are listed under the table, each identifier
    whole (regression: 'travel_documen' / 't_needed' in a folded cell)."""
    result = invoke(["effort", str(data[1])], COLUMNS="80")
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "conditions:" in result.stdout
    words = set(result.stdout.replace("(", " ").replace(")", " ").split())
    assert {"travel_document_needed", "criminal_conviction"} <= words


def test_compare_marks_the_best_value_among_every_column(data: tuple[Path, Path]) -> None:
    """In the terminal table no unmarked value beats a marked one in its row."""
    result = invoke(["compare", str(data[0]), str(data[1]), "--time-limit", "3"], COLUMNS="200")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if line.strip().startswith("moves"))
    values = [int(v.lstrip("*").replace(",", "")) for v in row.split()[1:]]
    marked = [int(v.lstrip("*").replace(",", "")) for v in row.split()[1:] if v.startswith("*")]
    assert marked and min(marked) == min(values)


# --- untrusted text ----------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["plan", "validate", "compare"])
def test_ids_that_look_like_markup_are_shown_as_text(
    hostile: tuple[Path, Path, Path], tmp_path: Path, command: str
) -> None:
    """Ids `[/]`, `[bold]x`, `:x:` and a message quoting `[[effort.base]]` print verbatim; no
    MarkupError, no emoji (regression: a traceback after the outputs were written)."""
    roster, cases, config = hostile
    args = [command, str(roster), str(cases), "--config", str(config)]
    if command == "plan":
        args += ["--out", str(tmp_path / "plan.csv"), "--time-limit", "2"]
    if command == "compare":
        args += ["--time-limit", "2"]
    result = invoke(args, COLUMNS="200")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "MarkupError" not in result.output
    assert "[[effort.base]]" in result.stderr  # the warning quotes the unknown officer
    assert "❌" not in result.output
    if command == "plan":
        assert "[bold]NYC" in result.stdout
        written = pl.read_csv(tmp_path / "plan.csv")
        assert set(written["case_id"]) == set(HOSTILE)


def test_error_messages_are_not_markup(tmp_path: Path) -> None:
    """A config error quoting `[/]` prints as text with exit 4, not a MarkupError."""
    config = tmp_path / "assign.toml"
    config.write_text('[effort]\n[[effort.base]]\nwhen = "[/] = 1"\nhours = 1\n', encoding="utf-8")
    roster = tmp_path / "roster.csv"
    roster.write_text("officer_id,office,capacity_hours\nA,N,40\n", encoding="utf-8")
    cases = tmp_path / "cases.csv"
    cases.write_text("case_id,office\nc1,N\n", encoding="utf-8")
    result = invoke(
        ["plan", str(roster), str(cases), "--config", str(config), "--out", str(tmp_path / "p.csv")]
    )
    assert result.exit_code == 4, result.output
    assert "[/]" in result.stderr and "MarkupError" not in result.output


def test_solve_status_line_shows_time_peak_and_bound() -> None:
    """The live line: elapsed of the limit, and during the solve the incumbent and the bound."""
    status = SolveStatus(time.perf_counter() - 3.0, 30.0)
    status.on_phase("solve")
    status.on_progress("CP-SAT", peak=0.7312, bound=0.7201)
    out = console()
    with out.capture() as captured:
        out.print(status)
    line = captured.get()
    assert "solve" in line and "of 30 s" in line
    assert "peak 73.12%" in line and "bound 72.01%" in line
    assert float(line.split("s of")[0].split()[-1]) >= 3.0


# --- the library behind the CLI ----------------------------------------------------------------


def test_time_limit_bounds_the_whole_run(data: tuple[Path, Path]) -> None:
    """The solver gets what the limit leaves after the phases before it, less the reserve for
    what follows; the manifest records both (no wall-clock assertion)."""
    clock = PhaseClock(started=time.perf_counter() - 1.0)  # one second already spent
    options = SolveOptions(time_limit=4.0, workers=1)
    run = run_plan(*data, default_config(), options, clock=clock, reserve=lambda n: 0.5)
    before = sum(p.seconds for p in run.phases if p.name in ("read+validate", "effort", "group"))
    assert run.solve_seconds <= 4.0 - 1.0 - 0.5 - before + 1e-6
    assert run.options.time_limit == 4.0


def test_manifest_hashes_the_bytes_that_were_read(data: tuple[Path, Path], tmp_path: Path) -> None:
    run = run_plan(*data, default_config(), SolveOptions(time_limit=2.0, workers=1))
    _, files = write_plan(run, tmp_path / "plan.parquet")
    info = json.loads(Path(files["manifest"]).read_text(encoding="utf-8"))
    for role, path in zip(("roster", "cases"), data, strict=True):
        assert info["inputs"][role] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_file_changed_while_read_is_refused(
    data: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hash must be of what was read: a file rewritten during the read is an input error."""
    from assigncli import pipeline, validate
    from assigncli.config import Config

    cases = tmp_path / "cases.csv"
    cases.write_bytes(data[1].read_bytes())

    def rewriting(
        roster_path: Path, cases_path: Path, config: Config, sheet: str | None = None
    ) -> validate.Inputs:
        result = validate.load_inputs(roster_path, cases_path, config, sheet=sheet)
        with cases.open("a", encoding="utf-8") as handle:
            handle.write("\n")
        return result

    monkeypatch.setattr(pipeline, "load_inputs", rewriting)
    with pytest.raises(InputError, match="changed while it was being read"):
        run_plan(data[0], cases, default_config(), SolveOptions(time_limit=1.0, workers=1))


def test_a_stop_before_the_commit_writes_nothing(data: tuple[Path, Path], tmp_path: Path) -> None:
    """A stop requested after the solve leaves no plan, summary, manifest or temporary file."""
    run = run_plan(*data, default_config(), SolveOptions(time_limit=2.0, workers=1))
    interrupt.request_stop()
    try:
        with pytest.raises(interrupt.InterruptError):
            write_plan(run, tmp_path / "plan.csv")
    finally:
        interrupt.reset()
    assert list(tmp_path.iterdir()) == []


def test_a_stop_while_the_set_is_staged_commits_nothing(
    data: tuple[Path, Path], tmp_path: Path
) -> None:
    """Ctrl-C while the files are being written (here: during the report's staging) abandons
    the set: no plan, summary, manifest, report or temporary file; the empty lock may stay."""
    run = run_plan(*data, default_config(), SolveOptions(time_limit=2.0, workers=1))

    def report_then_ctrl_c(temp: Path) -> None:
        temp.write_text("<html></html>", encoding="utf-8")
        interrupt.request_stop()

    try:
        with pytest.raises(interrupt.InterruptError):
            write_plan(
                run, tmp_path / "plan.csv", report=(tmp_path / "plan.html", report_then_ctrl_c)
            )
    finally:
        interrupt.reset()
    assert [p.name for p in tmp_path.iterdir()] == ["plan.lock"]


def test_register_stops_a_solver_registered_after_the_request() -> None:
    """A solver registered once a stop was requested is stopped at once."""
    stopped: list[str] = []
    interrupt.request_stop()
    try:
        with interrupt.register(lambda: stopped.append("late")):
            assert interrupt.stop_requested()
    finally:
        interrupt.reset()
    assert stopped == ["late"]
    with interrupt.register(lambda: stopped.append("never")):
        assert not interrupt.stop_requested()
    assert stopped == ["late"]


# --- Ctrl-C: real signals ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Large enough that the exact solve is still running seconds after it starts."""
    out = tmp_path_factory.mktemp("big")
    return write_dataset(out, n_cases=20_000, n_officers=150, n_offices=2, seed=0, fmt="parquet")


def _interrupt_mid_solve(
    argv: list[str], cwd: Path, signals: int
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "100"}
    process = subprocess.Popen(
        [sys.executable, "-m", "assigncli", *argv, "-v"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:  # wait until the solve phase has started
        seen.append(line)
        if "solve (" in line:
            break
    time.sleep(1.0)
    for _ in range(signals):
        process.send_signal(signal.SIGINT)
        time.sleep(0.2)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(argv, process.returncode, stdout, "".join(seen) + stderr)


@pytest.mark.parametrize("signals", [1, 2])
def test_ctrl_c_during_the_plan_solve_exits_130_and_writes_nothing(
    big: tuple[Path, Path], tmp_path: Path, signals: int
) -> None:
    """SIGINT mid-solve (once, or twice): exit 130, no plan, summary, manifest or temp file, and
    no C++ abort (regression: `terminate called ... std::bad_function_call`, exit 134)."""
    out = tmp_path / "out"
    argv = ["plan", str(big[0]), str(big[1]), "--solver", "exact", "--time-limit", "300"]
    argv += ["--out", str(out / "plan.csv"), "--json"]
    result = _interrupt_mid_solve(argv, tmp_path, signals)
    assert result.returncode == 130, result.stderr[-3000:]
    assert "terminate called" not in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() or list(out.iterdir()) == []
    assert json.loads(result.stdout)["exit_code"] == 130


def test_ctrl_c_during_compare_exits_130_and_writes_no_report(
    big: tuple[Path, Path], tmp_path: Path
) -> None:
    report = tmp_path / "compare.html"
    argv = ["compare", str(big[0]), str(big[1]), "--time-limit", "300", "--report", str(report)]
    result = _interrupt_mid_solve(argv, tmp_path, 1)
    assert result.returncode == 130, result.stderr[-3000:]
    assert "terminate called" not in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_usage_error_json_from_a_real_process(data: tuple[Path, Path]) -> None:
    """The installed entry point: a bad option value with --json prints the JSON error too."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "assigncli",
            "plan",
            str(data[0]),
            str(data[1]),
            "--solver",
            "x",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert json.loads(done.stdout)["exit_code"] == 2
    assert "Invalid value" in done.stderr
