"""Atomic output: tables (CSV, Parquet, Excel) and JSON, committed all together or not at all.

Every file is first written to a hidden temporary file in its destination directory
(``.<name>.<random>.tmp<suffix>``), flushed to disk, and only renamed into place once every output
of the run has been written. A failure removes the temporary files and leaves previous outputs as
they were, so a failed run never leaves a partial plan nor damages an earlier one. Renames within a
directory are atomic on POSIX and Windows; if a rename itself fails half-way through a set, the
outputs already renamed are rolled back from hard-link backups. (A process killed outright can
leave a hidden ``.tmp`` file behind, never a damaged output.)

CSV and Excel cells that a spreadsheet would execute as a formula are neutralized (OWASP "CSV
injection"): a string cell, or a header, starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
return gets a leading apostrophe. List columns become ``;``-joined strings there (native lists in
Parquet), as in the input contract.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import secrets
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from xlsxwriter.exceptions import XlsxWriterException

from assigncli.contract import LIST_SEPARATOR
from assigncli.errors import OutputError

__all__ = [
    "EXCEL_MAX_ROWS",
    "TABLE_SUFFIXES",
    "OutputPaths",
    "Writer",
    "ensure_writable",
    "file_sha256",
    "neutralize_formulas",
    "output_paths",
    "write_all",
    "write_json",
    "write_table",
]

TABLE_SUFFIXES = (".csv", ".parquet", ".xlsx")
EXCEL_MAX_ROWS = 1_048_576  # per worksheet, header row included

_FORMULA_CHARS = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection guidance
_FORMULA_START = r"^[=+\-@\t\r]"


class _UnwritableError(Exception):
    """Raised by our own writers with a reason; write_all names the destination (not the temp)."""


# Failures that mean "could not write this file" (as opposed to a bug in the caller).
_WRITE_FAILURES = (_UnwritableError, OSError, pl.exceptions.PolarsError, XlsxWriterException)

Writer = Callable[[Path], None]


@dataclass(frozen=True)
class OutputPaths:
    """Where ``assign plan`` writes: the plan, the officer summary beside it, the run manifest."""

    plan: Path
    officers: Path
    manifest: Path


def output_paths(plan_path: Path) -> OutputPaths:
    """``plan.csv`` → ``plan.csv``, ``plan.officers.csv``, ``plan.manifest.json``.

    Raises OutputError for an extension other than .csv, .parquet or .xlsx, so that the CLI can
    refuse a bad ``--out`` before any work.
    """
    _table_format(plan_path)
    return OutputPaths(
        plan=plan_path,
        officers=plan_path.with_name(f"{plan_path.stem}.officers{plan_path.suffix}"),
        manifest=plan_path.with_name(f"{plan_path.stem}.manifest.json"),
    )


def ensure_writable(*paths: Path) -> None:
    """Fail early (OutputError) if a path's directory is missing or not writable.

    Meant to run before a long solve; write_all still reports anything that goes wrong later.
    """
    for path in paths:
        directory = path.parent
        if not directory.is_dir():
            raise OutputError(f"cannot write {path}: directory {directory} does not exist")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write {path}: permission denied on directory {directory}")
        if path.is_dir():
            raise OutputError(f"cannot write {path}: it is a directory")


# --- formats -------------------------------------------------------------------------------------


def _table_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        shown = suffix or "no extension"
        raise OutputError(
            f"cannot write {path}: unsupported format ({shown}); use {', '.join(TABLE_SUFFIXES)}"
        )
    return suffix


def neutralize_formulas(df: pl.DataFrame) -> pl.DataFrame:
    """Prefix ``'`` to string cells (and column names) a spreadsheet would run as formulas.

    Only String columns are looked at, and only those holding at least one such cell are
    rewritten; most columns are cleared by their min and max alone (see _may_hold_formulas).
    """
    strings = [name for name, dtype in df.schema.items() if dtype == pl.String()]
    suspects = [name for name in strings if _may_hold_formulas(df[name])]
    if suspects:
        hits = df.select(pl.col(suspects).str.contains(_FORMULA_START).any()).row(0)
        risky = [name for name, hit in zip(suspects, hits, strict=True) if hit]
        if risky:
            df = df.with_columns(
                pl.when(pl.col(risky).str.contains(_FORMULA_START))
                .then(pl.lit("'") + pl.col(risky))
                .otherwise(pl.col(risky))
                .name.keep()
            )
    renames = {name: "'" + name for name in df.columns if name[:1] in _FORMULA_CHARS}
    return df.rename(renames) if renames else df


def _may_hold_formulas(column: pl.Series) -> bool:
    """False when no cell can start with a formula character, judged from min and max only.

    Strings sort by code point, so every first character lies between those of the smallest and
    largest string: ids like "C00042" or "000042" and reasons like "moved to ..." are cleared at
    the cost of a min/max instead of a scan of millions of rows (which costs as much as the
    write itself). An empty smallest string says nothing about the others: scan then.
    """
    lowest, highest = column.min(), column.max()
    if not isinstance(lowest, str) or not isinstance(highest, str):
        return False  # only nulls
    if not lowest:
        return True
    return any(lowest[0] <= char <= highest[0] for char in _FORMULA_CHARS)


def _for_spreadsheet(df: pl.DataFrame) -> pl.DataFrame:
    """Lists joined with ';', categoricals as strings, then formulas neutralized."""
    flat = []
    for name, dtype in df.schema.items():
        if isinstance(dtype, pl.List):
            elements = pl.col(name)
            if dtype.inner != pl.String():
                elements = elements.list.eval(pl.element().cast(pl.String()))
            flat.append(elements.list.join(LIST_SEPARATOR))
        elif isinstance(dtype, pl.Categorical | pl.Enum):
            flat.append(pl.col(name).cast(pl.String()))
    return neutralize_formulas(df.with_columns(flat) if flat else df)


def _write_table_to(df: pl.DataFrame, path: Path) -> None:
    """Write ``df`` to ``path`` (not atomically) in the format its extension names."""
    fmt = _table_format(path)
    if fmt == ".parquet":
        df.write_parquet(path)
    elif fmt == ".csv":
        _for_spreadsheet(df).write_csv(path)
    else:
        if df.height + 1 > EXCEL_MAX_ROWS:
            raise _UnwritableError(
                f"{df.height:,} rows exceed Excel's limit of {EXCEL_MAX_ROWS - 1:,} data rows; "
                "write .csv or .parquet instead"
            )
        from xlsxwriter import Workbook

        # Our own workbook so that no cell is ever turned into a formula or a link, whatever
        # polars' defaults; polars leaves a workbook it did not create open for us to close.
        workbook = Workbook(
            str(path),
            {
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "nan_inf_to_errors": True,
                "use_zip64": True,
            },
        )
        try:
            _for_spreadsheet(df).write_excel(workbook, autofit=df.height <= 10_000)
        finally:
            workbook.close()


def _json_default(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"value of type {type(value).__name__} is not JSON-serializable")


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: they become null (e.g. an undefined gap)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _write_json_to(obj: Mapping[str, Any], path: Path) -> None:
    try:
        text = json.dumps(
            _finite(obj), indent=2, ensure_ascii=False, allow_nan=False, default=_json_default
        )
    except (TypeError, ValueError) as exc:
        raise _UnwritableError(str(exc)) from exc
    path.write_text(text + "\n", encoding="utf-8")


# --- atomic commit -------------------------------------------------------------------------------


def write_table(df: pl.DataFrame, path: Path) -> None:
    """Write a table atomically; the format follows the extension (.csv, .parquet, .xlsx)."""
    _table_format(path)
    write_all([(path, lambda temp: _write_table_to(df, temp))])


def write_json(obj: Mapping[str, Any], path: Path) -> None:
    """Write a JSON document atomically (UTF-8, indented; NaN and infinity become null)."""
    write_all([(path, lambda temp: _write_json_to(obj, temp))])


def write_all(files: Sequence[tuple[Path, Writer]]) -> None:
    """Write several outputs all together or not at all.

    Each ``writer`` receives a temporary path in its destination's directory, with the same
    extension, and writes its whole file there (``write_table``/``write_json`` are fine writers:
    they only add one more rename). When every writer has succeeded, the files are renamed into
    place; if anything fails, the temporary files are removed, previous outputs are untouched, and
    OutputError names the path and the reason. An exception that is not a write failure (a bug in
    a writer) propagates unchanged, after the same clean-up.
    """
    destinations = [dest for dest, _ in files]
    if len(set(destinations)) != len(destinations):
        raise ValueError(f"the same output path is given twice: {destinations}")
    staged: list[tuple[Path, Path]] = []
    try:
        for dest, writer in files:
            temp = _create_temp(dest)
            staged.append((temp, dest))
            writer(temp)
            _flush_to_disk(temp)
    except BaseException as exc:
        for temp, _ in staged:
            _remove_quietly(temp)
        if isinstance(exc, _WRITE_FAILURES):
            raise OutputError(_explain(dest, exc)) from exc
        raise
    _publish(staged)


def _create_temp(dest: Path) -> Path:
    """A new empty file beside ``dest``; created (not just named) so that a race cannot reuse it."""
    if dest.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory", str(dest))
    temp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.tmp{dest.suffix}")
    # 0o666 lets the umask decide permissions, as for any new file (mkstemp would force 0o600).
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    os.close(fd)
    with contextlib.suppress(OSError):
        # Replacing an existing output keeps its permissions.
        os.chmod(temp, stat.S_IMODE(dest.stat().st_mode))
    return temp


def _flush_to_disk(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(staged: list[tuple[Path, Path]]) -> None:
    """Rename every temporary file into place; on failure restore what was already replaced."""
    replaced: list[tuple[Path, Path | None, bool]] = []  # (dest, backup, existed before)
    try:
        for temp, dest in staged:
            existed = dest.exists()
            backup = _backup(dest) if existed else None
            try:
                os.replace(temp, dest)
            except OSError:
                if backup is not None:
                    _remove_quietly(backup)
                raise
            replaced.append((dest, backup, existed))
    except OSError as exc:
        failed = dest
        for done, backup, existed in reversed(replaced):
            with contextlib.suppress(OSError):
                if backup is not None:
                    os.replace(backup, done)
                elif not existed:
                    done.unlink()
        for temp, _ in staged:
            _remove_quietly(temp)
        for _, backup, _ in replaced:
            if backup is not None:
                _remove_quietly(backup)
        raise OutputError(_explain(failed, exc)) from exc
    for _, backup, _ in replaced:
        if backup is not None:
            _remove_quietly(backup)
    for directory in {dest.parent for _, dest in staged}:
        _sync_directory(directory)


def _backup(dest: Path) -> Path | None:
    """A hard link to the previous output, so a failed commit can put it back; None where the
    file system has no hard links (the commit then cannot undo that one file)."""
    backup = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.bak")
    try:
        os.link(dest, backup)
    except OSError:
        return None
    return backup


def _sync_directory(directory: Path) -> None:
    """Persist the renames themselves (POSIX); not supported everywhere, hence best effort."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _explain(dest: Path, exc: BaseException) -> str:
    """A message naming the output and a reason a user can act on."""
    if isinstance(exc, OSError):
        code = exc.errno
        if code == errno.ENOENT and not dest.parent.is_dir():
            reason = f"directory {dest.parent} does not exist"
        elif code in (errno.EACCES, errno.EPERM):
            reason = "permission denied"
        elif code == errno.ENOSPC:
            reason = "no space left on device"
        elif code == errno.EROFS:
            reason = "read-only file system"
        elif code == errno.EISDIR or dest.is_dir():
            reason = "it is a directory"
        elif code == errno.ENOTDIR:
            reason = f"{dest.parent} is not a directory"
        else:
            reason = exc.strerror or str(exc)
    else:
        reason = str(exc)
    return f"cannot write {dest}: {reason}"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks (inputs can be gigabytes), for the manifest."""
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise OutputError(f"cannot hash {path} for the manifest: {exc.strerror or exc}") from exc
