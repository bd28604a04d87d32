"""Atomic outputs: all-or-nothing commits, formula neutralization, list joining, clear errors."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import assigncli.write as write_module
from assigncli.errors import OutputError
from assigncli.write import (
    OutputPaths,
    ensure_writable,
    file_sha256,
    neutralize_formulas,
    output_paths,
    write_all,
    write_json,
    write_table,
)

DANGEROUS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx"]


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
    """Strings starting with = + - @ tab or CR get a leading apostrophe; others are unchanged."""
    frame = pl.DataFrame({"text": [*DANGEROUS, "safe", "a=b", "", None]})
    got = neutralize_formulas(frame)["text"].to_list()
    assert got == [*("'" + s for s in DANGEROUS), "safe", "a=b", "", None]


CELLS = st.one_of(st.none(), st.text(alphabet="=+-@\t\rAz0 é"), st.text())


@given(st.lists(CELLS))
def test_neutralize_matches_a_per_cell_rule(cells: list[str | None]) -> None:
    """Whatever the column (so whatever its min and max), each cell follows the per-cell rule."""
    frame = pl.DataFrame({"text": cells}, schema={"text": pl.String})
    expected = ["'" + c if c and c[0] in "=+-@\t\r" else c for c in cells]
    assert neutralize_formulas(frame)["text"].to_list() == expected


def test_neutralize_leaves_non_string_columns_alone() -> None:
    """Negative numbers stay numbers: only String columns are rewritten."""
    frame = pl.DataFrame({"n": [-1, 2], "x": [-1.5, 0.0]})
    assert neutralize_formulas(frame).equals(frame)


def test_neutralize_covers_column_names() -> None:
    """A header cell is a cell too."""
    assert neutralize_formulas(pl.DataFrame({"=cmd": [1]})).columns == ["'=cmd"]


def test_csv_neutralizes_and_joins_lists(tmp_path: Path) -> None:
    """CSV: formulas neutralized, lists ';'-joined (empty list = empty string, null = empty)."""
    path = tmp_path / "plan.csv"
    write_table(table(), path)
    back = pl.read_csv(path, schema_overrides={"skills": pl.String})
    assert back["case_id"].to_list() == ["c1", '\'=HYPERLINK("http://x")', "c3"]
    assert back["hours"].to_list() == [1.5, -2.0, 3.0]
    assert path.read_text().splitlines()[1] == "c1,lang:es;gps,1.5"
    assert back["skills"][0] == "lang:es;gps"


def test_xlsx_neutralizes_and_joins_lists(tmp_path: Path) -> None:
    """Excel: read back, the formula is a plain string with its apostrophe; lists are joined."""
    path = tmp_path / "plan.xlsx"
    frame = pl.DataFrame({"text": DANGEROUS, "skills": [["a", "b"]] * len(DANGEROUS)})
    write_table(frame, path)
    back = pl.read_excel(path)
    assert back["text"].to_list() == ["'" + s for s in DANGEROUS]
    assert back["skills"].to_list() == ["a;b"] * len(DANGEROUS)


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
    with pytest.raises(OutputError, match="does not exist"):
        ensure_writable(path)


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
        with pytest.raises(OutputError, match="permission denied"):
            ensure_writable(tmp_path / "plan.csv")
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
