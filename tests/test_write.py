"""Atomic outputs: all-or-nothing commits, formula neutralization, list joining, clear errors."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import assigncli.write as write_module
from assigncli.errors import OutputError, UsageError
from assigncli.write import (
    OutputPaths,
    file_sha256,
    neutralize_formulas,
    output_paths,
    refuse_overwriting_inputs,
    restore_formulas,
    write_all,
    write_json,
    write_table,
)

DANGEROUS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", "-A1", "+", "-"]
PLAIN_NUMBERS = ["-5", "+1.5", "-0.25e3", "-.5"]


def table() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "case_id": ["c1", '=HYPERLINK("http://x")', "c3"],
            "skills": [["lang:es", "gps"], [], None],
            "hours": [1.5, -2.0, 3.0],
        },
        schema={"case_id": pl.String, "skills": pl.List(pl.String), "hours": pl.Float64},
    )


def leftovers(directory: Path) -> list[str]:
    """Hidden temporary or backup files a commit may have left behind."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def writes_text(text: str) -> write_module.Writer:
    def write(path: Path) -> None:
        path.write_text(text)

    return write


def fails_half_way(exc: BaseException) -> write_module.Writer:
    """A writer that writes part of its file and then fails."""

    def writer(path: Path) -> None:
        path.write_text("partial")
        raise exc

    return writer


# -- formula neutralization -------------------------------------------------------------------


def test_neutralize_prefixes_every_dangerous_start() -> None:
    """Cells a spreadsheet would run, and cells already starting with the escape, get a leading
    apostrophe; plain numbers and other text are unchanged."""
    frame = pl.DataFrame({"text": [*DANGEROUS, *PLAIN_NUMBERS, "'x", "safe", "a=b", "", None]})
    got = neutralize_formulas(frame)["text"].to_list()
    assert got == [
        *("'" + s for s in DANGEROUS),
        *PLAIN_NUMBERS,
        "''x",
        "safe",
        "a=b",
        "",
        None,
    ]


def test_neutralize_never_merges_distinct_ids() -> None:
    """-5 and '-5 are two ids before and after (regression: both became '-5)."""
    ids = ["-5", "'-5", "=A1", "'=A1", "''=A1", "-2+3", "'-2+3"]
    got = neutralize_formulas(pl.DataFrame({"case_id": ids}))["case_id"]
    assert got.n_unique() == len(ids)
    assert restore_formulas(pl.DataFrame({"case_id": got}))["case_id"].to_list() == ids


CELLS = st.one_of(st.none(), st.text(alphabet="'=+-@\t\rAz0 é.e5"), st.text())


def _per_cell(cell: str | None) -> str | None:
    import re

    if not cell or cell[0] not in "'=+-@\t\r":
        return cell
    if re.fullmatch(r"[+-](?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", cell, flags=re.ASCII):
        return cell
    return "'" + cell


@given(st.lists(CELLS))
def test_neutralize_matches_a_per_cell_rule_and_is_reversible(cells: list[str | None]) -> None:
    """Whatever the column (so whatever its min and max), each cell follows the per-cell rule,
    and restore_formulas gives every cell back."""
    frame = pl.DataFrame({"text": cells}, schema={"text": pl.String})
    neutral = neutralize_formulas(frame)
    assert neutral["text"].to_list() == [_per_cell(c) for c in cells]
    assert restore_formulas(neutral)["text"].to_list() == cells


def test_neutralize_leaves_non_string_columns_alone() -> None:
    """Negative numbers stay numbers: only String columns are rewritten."""
    frame = pl.DataFrame({"n": [-1, 2], "x": [-1.5, 0.0]})
    assert neutralize_formulas(frame).equals(frame)


def test_neutralize_covers_column_names() -> None:
    """A header cell is a cell too, and is restored too."""
    neutral = neutralize_formulas(pl.DataFrame({"=cmd": [1], "'q": [2], "ok": [3]}))
    assert neutral.columns == ["'=cmd", "''q", "ok"]
    assert restore_formulas(neutral).columns == ["=cmd", "'q", "ok"]


def test_csv_neutralizes_and_joins_lists(tmp_path: Path) -> None:
    """CSV: formulas neutralized, lists ';'-joined (empty list = empty string, null = empty)."""
    path = tmp_path / "plan.csv"
    write_table(table(), path)
    back = pl.read_csv(path, schema_overrides={"skills": pl.String})
    assert back["case_id"].to_list() == ["c1", '\'=HYPERLINK("http://x")', "c3"]
    assert back["hours"].to_list() == [1.5, -2.0, 3.0]
    assert path.read_text().splitlines()[1] == "c1,lang:es;gps,1.5"
    assert back["skills"][0] == "lang:es;gps"


def test_xlsx_writes_strings_as_strings_without_prefix(tmp_path: Path) -> None:
    """Excel: every cell reads back exactly (no apostrophe), none is a formula; lists joined."""
    import zipfile

    path = tmp_path / "plan.xlsx"
    frame = pl.DataFrame({"text": DANGEROUS, "skills": [["a", "b"]] * len(DANGEROUS)})
    write_table(frame.rename({"text": "=text"}), path)
    back = pl.read_excel(path)
    assert back.columns == ["=text", "skills"]
    assert back["=text"].to_list() == DANGEROUS
    assert back["skills"].to_list() == ["a;b"] * len(DANGEROUS)
    with zipfile.ZipFile(path) as workbook:
        sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet


def test_spreadsheets_round_hours_and_utilization_parquet_keeps_every_bit(
    tmp_path: Path,
) -> None:
    """CSV and Excel: hours at 4 decimals, utilization at 6 (no 63.80000000000001); Parquet exact."""
    frame = pl.DataFrame(
        {
            "officer_id": ["A"],
            "load_after": [63.80000000000001],
            "effort_hours": [1.2000000000000002],
            "utilization_after": [0.51289118575940271],
            "ratio": [0.1 + 0.2],
        }
    )
    write_table(frame, tmp_path / "o.csv")
    assert (tmp_path / "o.csv").read_text().splitlines()[
        1
    ] == "A,63.8,1.2,0.512891,0.30000000000000004"
    write_table(frame, tmp_path / "o.xlsx")
    # Excel itself keeps 15 significant digits: an unrounded float reads back approximately.
    assert pl.read_excel(tmp_path / "o.xlsx").row(0) == (
        "A",
        63.8,
        1.2,
        0.512891,
        pytest.approx(0.3),
    )
    write_table(frame, tmp_path / "o.parquet")
    assert pl.read_parquet(tmp_path / "o.parquet").equals(frame)


def test_parquet_keeps_values_and_native_lists(tmp_path: Path) -> None:
    """Parquet is not a spreadsheet: values untouched, lists stay lists."""
    path = tmp_path / "plan.parquet"
    write_table(table(), path)
    assert pl.read_parquet(path).equals(table())


def test_excel_row_limit_is_an_output_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More rows than a worksheet holds: OutputError naming the destination, nothing written."""
    monkeypatch.setattr(write_module, "EXCEL_MAX_ROWS", 3)
    path = tmp_path / "plan.xlsx"
    with pytest.raises(OutputError, match=r"plan\.xlsx: 3 rows exceed Excel's limit"):
        write_table(table(), path)
    assert list(tmp_path.iterdir()) == []


# -- errors -----------------------------------------------------------------------------------


def test_unknown_extension_is_an_output_error(tmp_path: Path) -> None:
    """.txt is not a table format, for write_table and for output_paths alike."""
    with pytest.raises(OutputError, match=r"unsupported format \(\.txt\)"):
        write_table(table(), tmp_path / "plan.txt")
    with pytest.raises(OutputError, match="unsupported format"):
        output_paths(tmp_path / "plan")
    assert list(tmp_path.iterdir()) == []


def test_missing_directory_is_an_output_error(tmp_path: Path) -> None:
    """Writing into a directory that does not exist says so, without a raw OSError."""
    path = tmp_path / "nowhere" / "plan.csv"
    with pytest.raises(OutputError, match=r"directory .*nowhere does not exist"):
        write_table(table(), path)


def test_permission_denied_is_an_output_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory refusing new files gives OutputError 'permission denied'."""

    def refuse(*args: object, **kwargs: object) -> int:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(OutputError, match=r"plan\.csv: permission denied"):
        write_table(table(), tmp_path / "plan.csv")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_directory_is_an_output_error(tmp_path: Path) -> None:
    """A real read-only directory gives OutputError and leaves nothing behind."""
    tmp_path.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            write_table(table(), tmp_path / "plan.csv")
    finally:
        tmp_path.chmod(stat.S_IRWXU)
    assert list(tmp_path.iterdir()) == []


def test_directory_as_destination_is_an_output_error(tmp_path: Path) -> None:
    """An output path that is a directory is refused before anything is written."""
    (tmp_path / "plan.csv").mkdir()
    with pytest.raises(OutputError, match="it is a directory"):
        write_table(table(), tmp_path / "plan.csv")
    assert leftovers(tmp_path) == []


# -- atomicity --------------------------------------------------------------------------------


def test_failed_write_keeps_previous_file_and_leaves_no_temp(tmp_path: Path) -> None:
    """A writer failing half-way: the previous output is intact and no partial file remains."""
    path = tmp_path / "plan.csv"
    path.write_text("previous plan\n")
    with pytest.raises(OutputError, match=r"plan\.csv: no space left on device"):
        write_all([(path, fails_half_way(OSError(errno.ENOSPC, "No space left on device")))])
    assert path.read_text() == "previous plan\n"
    assert leftovers(tmp_path) == []


def test_failing_table_write_keeps_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """write_table itself is atomic: polars failing mid-write leaves the old plan in place."""
    path = tmp_path / "plan.csv"
    path.write_text("previous plan\n")

    def broken_write_csv(self: pl.DataFrame, file: Path, **kwargs: object) -> None:
        Path(file).write_text("case_id,offi")
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(pl.DataFrame, "write_csv", broken_write_csv)
    with pytest.raises(OutputError, match="Input/output error"):
        write_table(table(), path)
    assert path.read_text() == "previous plan\n"
    assert leftovers(tmp_path) == []


def test_all_or_nothing_when_a_later_output_fails(tmp_path: Path) -> None:
    """The first output is not committed when the second one fails; both old files survive."""
    plan, manifest = tmp_path / "plan.csv", tmp_path / "plan.manifest.json"
    plan.write_text("old plan")
    manifest.write_text("old manifest")
    with pytest.raises(OutputError):
        write_all(
            [
                (plan, writes_text("new plan")),
                (manifest, fails_half_way(OSError(errno.EIO, "Input/output error"))),
            ]
        )
    assert (plan.read_text(), manifest.read_text()) == ("old plan", "old manifest")
    assert leftovers(tmp_path) == []


def test_bug_in_a_writer_propagates_after_clean_up(tmp_path: Path) -> None:
    """A non-I/O exception is not disguised as OutputError, and still leaves nothing behind."""
    path = tmp_path / "plan.csv"
    with pytest.raises(ZeroDivisionError):
        write_all([(path, fails_half_way(ZeroDivisionError("bug")))])
    assert list(tmp_path.iterdir()) == []


def test_failed_rename_rolls_back_earlier_renames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If renaming the second output fails, the first is put back to its previous content."""
    first, second, third = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    first.write_text("old a")
    second.write_text("old b")
    real_replace = os.replace

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst) == second:
            raise OSError(errno.EIO, "Input/output error")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OutputError, match=r"b\.csv"):
        write_all([(p, writes_text("new")) for p in (first, second, third)])
    assert (first.read_text(), second.read_text()) == ("old a", "old b")
    assert not third.exists()
    assert leftovers(tmp_path) == []


def test_successful_commit_writes_every_file(tmp_path: Path) -> None:
    """All outputs land under their final names, with nothing else in the directory."""
    paths = [tmp_path / "plan.csv", tmp_path / "plan.manifest.json"]
    write_all([(p, writes_text(p.name)) for p in paths])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.csv", "plan.manifest.json"]
    assert [p.read_text() for p in paths] == ["plan.csv", "plan.manifest.json"]


def test_writer_sees_a_temp_path_with_the_same_extension(tmp_path: Path) -> None:
    """Writers choosing a format by extension (write_table) work on the temporary path."""
    seen: list[Path] = []

    def writer(path: Path) -> None:
        seen.append(path)
        path.write_bytes(b"")

    write_all([(tmp_path / "plan.xlsx", writer)])
    assert seen[0].suffix == ".xlsx" and seen[0].parent == tmp_path and seen[0].name != "plan.xlsx"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_replacing_a_file_keeps_its_permissions(tmp_path: Path) -> None:
    """An existing output's mode survives being replaced."""
    path = tmp_path / "plan.csv"
    path.write_text("old")
    path.chmod(0o640)
    write_table(table(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


# -- JSON, paths, hashes ----------------------------------------------------------------------


def test_write_json_is_valid_json_with_nulls_for_nan(tmp_path: Path) -> None:
    """NaN and infinity become null; paths become strings; the file parses as strict JSON."""
    path = tmp_path / "plan.manifest.json"
    write_json({"gap": float("nan"), "bound": float("inf"), "file": tmp_path, "t": (1, 2)}, path)
    assert json.loads(path.read_text()) == {
        "gap": None,
        "bound": None,
        "file": str(tmp_path),
        "t": [1, 2],
    }


def test_write_json_unserializable_names_the_destination(tmp_path: Path) -> None:
    """A value JSON cannot hold is an OutputError naming the real file, not the temporary one."""
    path = tmp_path / "m.json"
    with pytest.raises(OutputError, match=r"cannot write .*/m\.json: value of type object"):
        write_json({"x": object()}, path)
    assert list(tmp_path.iterdir()) == []


def test_output_paths_sit_beside_the_plan() -> None:
    """plan.parquet → plan.officers.parquet and plan.manifest.json in the same directory."""
    assert output_paths(Path("out/plan.parquet")) == OutputPaths(
        plan=Path("out/plan.parquet"),
        officers=Path("out/plan.officers.parquet"),
        manifest=Path("out/plan.manifest.json"),
    )


def test_file_sha256_matches_hashlib(tmp_path: Path) -> None:
    """The streamed hash equals the hash of the whole content."""
    path = tmp_path / "roster.csv"
    data = os.urandom(3_000_000)
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_file_sha256_of_missing_file_is_an_output_error(tmp_path: Path) -> None:
    """A vanished input file cannot be hashed for the manifest: OutputError, not OSError."""
    with pytest.raises(OutputError, match="cannot hash"):
        file_sha256(tmp_path / "gone.csv")


# -- outputs never replace inputs -------------------------------------------------------------


def test_output_that_is_an_input_is_refused(tmp_path: Path) -> None:
    """The same file by another spelling, a symlink or a hard link is refused (UsageError)."""
    cases = tmp_path / "cases.csv"
    cases.write_text("case_id,office\nC1,N\n")
    (tmp_path / "link.csv").symlink_to(cases)
    os.link(cases, tmp_path / "hard.csv")
    (tmp_path / "sub").mkdir()
    for output in (
        cases,
        tmp_path / "sub" / ".." / "cases.csv",
        tmp_path / "link.csv",
        tmp_path / "hard.csv",
    ):
        with pytest.raises(UsageError, match="is the input file"):
            refuse_overwriting_inputs([output], [cases])
    with pytest.raises(UsageError):  # the input named through the link, the output directly
        refuse_overwriting_inputs([cases], [tmp_path / "link.csv"])
    refuse_overwriting_inputs([tmp_path / "plan.csv", None], [cases])  # distinct: fine
    missing = tmp_path / "missing.csv"  # nothing to destroy: reading it will say it is missing
    refuse_overwriting_inputs([missing], [missing])


def _tiny_inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    roster = tmp_path / "roster.csv"
    roster.write_text("officer_id,office,capacity_hours\nA,N,40\nB,N,40\n")
    cases = tmp_path / "cases.csv"
    cases.write_text("case_id,office,effort_hours\nc1,N,1.2\nc2,N,2\nc3,N,0.1\n")
    config = tmp_path / "assign.toml"
    config.write_text("[effort]\ndefault_hours = 0.5\n")
    return roster, cases, config


def _cli(*args: str) -> Any:
    from typer.testing import CliRunner

    from assigncli.cli import app

    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.mark.parametrize(
    ("input_name", "out_name"),
    [("cases.csv", "cases.csv"), ("plan.officers.csv", "plan.csv"), ("cases.csv", "link.csv")],
)
def test_cli_plan_refuses_to_write_over_an_input(
    tmp_path: Path, input_name: str, out_name: str
) -> None:
    """--out whose plan or officer summary is an input, also through a symlink: exit 2, input
    untouched (regression: `--out cases.csv` replaced the case file with the plan, exit 0)."""
    roster, cases, config = _tiny_inputs(tmp_path)
    cases = cases.rename(tmp_path / input_name)
    (tmp_path / "link.csv").symlink_to(cases)
    before = cases.read_bytes()
    out = tmp_path / out_name
    result = _cli("plan", str(roster), str(cases), "--config", str(config), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert "is the input file" in result.output and "Traceback" not in result.output
    assert cases.read_bytes() == before
    assert not list(tmp_path.glob("*.manifest.json"))


def test_cli_effort_refuses_to_write_over_its_input(tmp_path: Path) -> None:
    """`assign effort cases.csv --out cases.csv`: exit 2, the case file unchanged."""
    _, cases, config = _tiny_inputs(tmp_path)
    before = cases.read_bytes()
    result = _cli("effort", str(cases), "--config", str(config), "--out", str(cases))
    assert result.exit_code == 2, result.output
    assert cases.read_bytes() == before


# -- ordinary path mistakes are exit 5 ----------------------------------------------------------


def test_cli_plan_into_a_file_used_as_directory_is_exit_5(tmp_path: Path) -> None:
    """`--out afile/plan.csv` where afile is a file: exit 5, a plain message, no exception name
    (regression: exit 1 with FileExistsError)."""
    roster, cases, config = _tiny_inputs(tmp_path)
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = _cli(
        "plan", str(roster), str(cases), "--config", str(config), "--out", str(afile / "plan.csv")
    )
    assert result.exit_code == 5, result.output
    assert f"{afile} is a file, not a directory" in " ".join(result.output.split())
    assert "Error" not in result.output and "Errno" not in result.output


def test_cli_generate_into_a_file_used_as_directory_is_exit_5(tmp_path: Path) -> None:
    """`assign generate --out-dir afile/data`: exit 5 naming the file in the way."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = _cli(
        "generate",
        "--out-dir",
        str(afile / "data"),
        "--cases",
        "5",
        "--officers",
        "2",
        "--offices",
        "1",
    )
    assert result.exit_code == 5, result.output
    assert f"{afile} is a file, not a directory" in " ".join(result.output.split())
    assert "Errno" not in result.output


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (errno.EACCES, "permission denied"),
        (errno.EROFS, "read-only file system"),
        (errno.ENOSPC, "no space left on device"),
    ],
)
def test_cli_generate_on_an_unwritable_folder_is_exit_5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, reason: str
) -> None:
    """A folder refusing new files (read-only, full): exit 5 with the reason, nothing left."""
    real_open = os.open

    def refuse(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_CREAT:
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    result = _cli(
        "generate", "--out-dir", str(tmp_path), "--cases", "5", "--officers", "2", "--offices", "1"
    )
    assert result.exit_code == 5, result.output
    assert reason in " ".join(result.output.split())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs sysfs")
def test_cli_generate_into_sysfs_is_exit_5() -> None:
    """A real folder nobody may create files in (sysfs refuses even root): exit 5."""
    result = _cli(
        "generate", "--out-dir", "/sys/kernel", "--cases", "5", "--officers", "2", "--offices", "1"
    )
    assert result.exit_code == 5, result.output
    assert "cannot write /sys/kernel/roster.parquet" in " ".join(result.output.split())


def test_name_too_long_is_an_output_error(tmp_path: Path) -> None:
    """A file name past the file system's limit: OutputError 'file name too long'."""
    with pytest.raises(OutputError, match="file name too long"):
        write_table(table(), tmp_path / ("p" * 300 + ".csv"))


# -- the plan set: one commit -------------------------------------------------------------------

WRITER = """
import sys
from pathlib import Path

import polars as pl

from assigncli.write import output_paths, write_plan_set

out, version, report = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
plan = pl.DataFrame({"case_id": ["c1", "c2"], "officer_id": [version, version]})
officers = pl.DataFrame({"officer_id": [version], "office": [["N", "S"]]})
write_plan_set(
    output_paths(out),
    plan,
    officers,
    {"version": version},
    report=(report, lambda p: p.write_text(version)),
)
"""


def _write_set(out: Path, version: str) -> None:
    report = out.with_suffix(".html")

    def write_report(path: Path) -> None:
        path.write_text(version)

    plan = pl.DataFrame({"case_id": ["c1", "c2"], "officer_id": [version, version]})
    officers = pl.DataFrame({"officer_id": [version], "office": [["N", "S"]]})
    write_module.write_plan_set(
        output_paths(out),
        plan,
        officers,
        {"version": version},
        report=(report, write_report),
    )


def _versions(out: Path) -> set[str]:
    """Which run each visible file of the set comes from."""
    paths = output_paths(out)
    return {
        json.loads(paths.manifest.read_text())["version"],
        *pl.read_csv(paths.plan)["officer_id"].to_list(),
        *pl.read_csv(paths.officers)["officer_id"].to_list(),
        out.with_suffix(".html").read_text(),
    }


def _start_writer(out: Path, version: str, pause_at: str | None) -> Any:
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    if pause_at is not None:
        env[write_module.PAUSE_ENV] = pause_at
    args = [sys.executable, "-c", WRITER, str(out), version, str(out.with_suffix(".html"))]
    return subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True)


def _kill_at(process: Any, step: str) -> None:
    """Wait until the writer says it is paused at `step`, then SIGKILL it."""
    import signal

    for line in process.stderr:
        if line.strip() == f"{write_module.PAUSED_MARK} {step}":
            break
    else:
        raise AssertionError(f"the writer ended without reaching {step}: rc {process.wait()}")
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()


def test_plan_set_records_the_hashes_of_its_siblings(tmp_path: Path) -> None:
    """The manifest names every file of the set with its SHA-256; verify_plan_set agrees."""
    out = tmp_path / "plan.csv"
    _write_set(out, "one")
    manifest = json.loads((tmp_path / "plan.manifest.json").read_text())
    files = manifest["integrity"]["files"]
    assert {role: info["file"] for role, info in files.items()} == {
        "plan": "plan.csv",
        "officers": "plan.officers.csv",
        "report": "plan.html",
    }
    assert files["plan"]["sha256"] == file_sha256(out)
    check = write_module.verify_plan_set(out)
    assert check.complete and not check.pending_commit and check.problems == ()
    assert (tmp_path / "plan.officers.csv").read_text().splitlines()[1] == "one,N;S"


def test_verify_tells_a_torn_set(tmp_path: Path) -> None:
    """A plan from another run beside the manifest is reported, naming the file."""
    out = tmp_path / "plan.csv"
    _write_set(out, "one")
    out.write_text("case_id,officer_id\nc1,other\n")
    check = write_module.verify_plan_set(out)
    assert not check.complete
    assert check.problems == (f"{out}: does not match the manifest (another run's plan file)",)


@pytest.mark.parametrize("step", write_module.COMMIT_STEPS)
def test_a_kill_at_any_commit_step_leaves_the_old_or_the_new_set(tmp_path: Path, step: str) -> None:
    """SIGKILL at each step of the commit: through the manifest hashes the set is entirely old
    (before the commit point) or entirely new (after it, once a reader recovers), never mixed;
    the next run removes every temporary file the killed one left."""
    out = tmp_path / "plan.csv"
    _write_set(out, "old")
    _kill_at(_start_writer(out, "new", step), step)

    seen = write_module.verify_plan_set(out)  # read-only, before anyone repairs
    before_commit = write_module.COMMIT_STEPS.index(step) < write_module.COMMIT_STEPS.index("ready")
    if before_commit:
        assert seen.complete and not seen.pending_commit, seen
        assert _versions(out) == {"old"}
    else:
        assert seen.pending_commit or (seen.complete and _versions(out) == {"new"}), seen

    repaired = write_module.verify_plan_set(out, repair=True)
    assert repaired.complete, repaired
    assert _versions(out) == ({"old"} if before_commit else {"new"})
    assert leftovers(tmp_path) == []

    _write_set(out, "next")
    assert write_module.verify_plan_set(out).complete and _versions(out) == {"next"}
    assert leftovers(tmp_path) == []


def test_the_next_run_removes_a_killed_runs_temps(tmp_path: Path) -> None:
    """Temporary files of a run killed while staging are gone after the next commit."""
    out = tmp_path / "plan.csv"
    _kill_at(_start_writer(out, "killed", "staged:officers"), "staged:officers")
    assert len(leftovers(tmp_path)) == 2  # the staged plan and officer summary
    _write_set(out, "next")
    assert leftovers(tmp_path) == []
    assert _versions(out) == {"next"}


def test_recovery_leaves_the_temps_of_live_processes_alone(tmp_path: Path) -> None:
    """A temp whose writer still runs (another command writing a file of that name) is kept; one
    whose writer is gone is removed."""
    import subprocess
    import sys

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    out = tmp_path / "plan.csv"
    mine = tmp_path / f".plan.csv.{os.getpid()}.0a1b2c3d.tmp.csv"
    stale = tmp_path / f".plan.csv.{int(gone.stdout)}.0a1b2c3d.tmp.csv"
    mine.write_text("x")
    stale.write_text("x")
    done = write_module.recover_plan_set(out)
    assert mine.exists() and not stale.exists()
    assert done == [f"removed {stale.name}, left by a stopped run"]


def test_two_runs_on_the_same_out_take_turns(tmp_path: Path) -> None:
    """A second run waits while the first holds the lock mid-commit, then commits a whole set of
    its own (regression: plan and officers from one run, manifest from the other)."""
    import time

    out = tmp_path / "plan.csv"
    first = _start_writer(out, "first", "staged:officers")
    for line in first.stderr:
        if "staged:officers" in line:
            break
    second = _start_writer(out, "second", None)
    time.sleep(1.0)
    assert second.poll() is None  # it cannot finish while the first holds the lock
    first.kill()
    first.wait()
    first.stderr.close()
    assert second.wait() == 0, second.stderr.read()
    second.stderr.close()
    assert write_module.verify_plan_set(out).complete
    assert _versions(out) == {"second"}
    assert leftovers(tmp_path) == []


def test_a_lock_held_too_long_is_exit_5(tmp_path: Path) -> None:
    """Past its wait, a run gives up with OutputError (exit 5) naming the lock and the holder."""
    import fcntl

    out = tmp_path / "plan.csv"
    paths = output_paths(out)
    with paths.lock.open("w") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        holder.write(f"{os.getpid()}\n")
        holder.flush()
        with pytest.raises(
            OutputError, match=rf"another assign run \(pid {os.getpid()}\)"
        ) as caught:
            write_module.write_plan_set(paths, table(), table(), {"version": "x"}, lock_wait=0.1)
    assert caught.value.exit_code == 5
    assert str(paths.lock) in caught.value.message
    assert not out.exists()


def test_cli_plan_killed_mid_commit_then_rerun(tmp_path: Path) -> None:
    """`assign plan` killed after renaming its plan: a rerun completes a whole, verified set."""
    import subprocess
    import sys

    roster, cases, config = _tiny_inputs(tmp_path)
    out = tmp_path / "out" / "plan.csv"
    args = [sys.executable, "-m", "assigncli", "plan", str(roster), str(cases)]
    args += ["--config", str(config), "--out", str(out), "--time-limit", "5", "--quiet"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    killed = subprocess.Popen(
        args,
        env={**env, write_module.PAUSE_ENV: "published:plan"},
        stderr=subprocess.PIPE,
        text=True,
    )
    _kill_at(killed, "published:plan")
    assert write_module.verify_plan_set(out).pending_commit
    assert subprocess.run(args, env=env, check=False).returncode == 0
    check = write_module.verify_plan_set(out)
    assert check.complete and not check.pending_commit
    assert leftovers(out.parent) == []


def test_a_full_disk_reported_by_polars_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """polars' own I/O errors carry the errno only in their text: still 'no space left'."""

    def full(self: pl.DataFrame, file: Path, **kwargs: object) -> None:
        raise OSError("No space left on device (os error 28): " + str(file))

    monkeypatch.setattr(pl.DataFrame, "write_csv", full)
    with pytest.raises(OutputError, match=r"plan\.csv: no space left on device$"):
        write_table(table(), tmp_path / "plan.csv")
    assert leftovers(tmp_path) == []


def test_an_interrupted_commit_that_lost_a_file_is_dropped_not_half_applied(
    tmp_path: Path,
) -> None:
    """A ready manifest whose staged plan vanished cannot be completed: recovery drops it, and
    the previous set stays whole."""
    out = tmp_path / "plan.csv"
    _write_set(out, "old")
    _kill_at(_start_writer(out, "new", "ready"), "ready")
    [staged_plan] = [p for p in tmp_path.iterdir() if p.name.startswith(".plan.csv.")]
    staged_plan.unlink()
    done = write_module.recover_plan_set(out)
    assert done[0] == "dropped an interrupted commit of plan.manifest.json that cannot be completed"
    assert write_module.verify_plan_set(out).complete
    assert _versions(out) == {"old"}
    assert leftovers(tmp_path) == []


def test_a_killed_writer_not_yet_reaped_counts_as_stopped(tmp_path: Path) -> None:
    """Regression: a zombie writer (killed, its parent not yet waiting) kept its temps on disk,
    because signals still reach a zombie; the next run must clean them."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # exited, not reaped: a zombie
        state = Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2].split()[0]
        if state == "Z":
            break
        time.sleep(0.01)
    try:
        assert not write_module._alive(child.pid)
        assert write_module._alive(os.getppid())
    finally:
        child.wait()
