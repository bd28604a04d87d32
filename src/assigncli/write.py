"""Output: tables (CSV, Parquet, Excel) and JSON, each file atomic, and the plan's files as one set.

**One file** is written to a hidden temporary file in its destination directory
(``.<name>.<pid>.<token>.tmp<suffix>``), flushed to disk and renamed into place. `write_all`
commits several files together: nothing is renamed until every one is complete, and a rename that
fails half-way is rolled back from hard-link backups. A failure leaves previous outputs as they were.

**The plan set** (plan, officer summary, optional report, manifest) is committed by
`write_plan_set` under a lock, in an order that a process killed at any instant cannot turn into a
mixed set that looks whole:

1. ``flock`` on ``<stem>.lock`` beside the plan: two runs writing the same ``--out`` take turns;
   a run waits up to `LOCK_WAIT_SECONDS` for the other, then fails (OutputError, exit 5);
2. leftovers of a killed run are dealt with (`recover_plan_set`): an interrupted commit that had
   passed its commit point is finished, stale temporary and backup files are removed;
3. each data file is staged as a temporary file and its SHA-256 taken;
4. the manifest, carrying those hashes, is staged and renamed to ``.<manifest>.<pid>.<token>.ready``:
   this rename is the commit point;
5. the data files are renamed into place, the manifest last.

A kill before step 4 leaves the previous set untouched (only hidden temporaries, which the next
run removes); a kill after it leaves a set whose manifest does not match its siblings until any
reader or writer calls `recover_plan_set`, which completes the new set. `verify_plan_set` tells a
complete set from a torn one through the manifest's hashes. Locking uses POSIX ``flock``, which
holds on one local file system (not across NFS clients).

**Spreadsheets.** List columns become ``;``-joined strings in CSV and Excel (native lists in
Parquet), and floats are rounded there (`contract.spreadsheet_decimals`: hours to 4 decimals,
utilization to 6); Parquet keeps every bit, so that a program reading it recomputes exactly. In CSV,
a cell a spreadsheet would execute as a formula is neutralized reversibly (`neutralize_formulas`);
Excel cells are written as typed strings, which a spreadsheet never executes, so nothing is prefixed
there.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import math
import os
import re
import secrets
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from xlsxwriter.exceptions import XlsxWriterException

from assigncli.contract import LIST_SEPARATOR, spreadsheet_decimals
from assigncli.errors import OutputError, UsageError

__all__ = [
    "COMMIT_STEPS",
    "EXCEL_MAX_ROWS",
    "LOCK_WAIT_SECONDS",
    "PAUSE_ENV",
    "TABLE_SUFFIXES",
    "OutputPaths",
    "SetCheck",
    "Writer",
    "file_sha256",
    "neutralize_formulas",
    "output_paths",
    "recover_plan_set",
    "refuse_overwriting_inputs",
    "restore_formulas",
    "verify_plan_set",
    "write_all",
    "write_json",
    "write_plan_set",
    "write_table",
]

TABLE_SUFFIXES = (".csv", ".parquet", ".xlsx")
EXCEL_MAX_ROWS = 1_048_576  # rows per worksheet, the header row included

LOCK_WAIT_SECONDS = 120.0  # how long a run waits for another one committing the same set
_LOCK_POLL_SECONDS = 0.05

# Test-only: a commit step named in this variable makes the writer announce it on stderr and
# sleep there, so that a test can kill the process at exactly that step.
PAUSE_ENV = "ASSIGNCLI_TEST_PAUSE_AT"
PAUSED_MARK = "assigncli-test-paused-at"
# Each step is reached after what it names is done; '<role>' stands for plan, officers, report.
COMMIT_STEPS = (
    "locked",
    "created:plan",
    "staged:plan",
    "staged:officers",
    "staged:report",
    "ready",
    "published:plan",
    "published:officers",
    "published:report",
    "published:manifest",
)

# Neutralization: what a spreadsheet would run is a cell starting with '=', '@', tab or CR, or with
# '+' or '-' unless the whole cell is a plain number ("-5" is a number, "-2+3" a formula). A cell
# already starting with the escape character is escaped too, so that the mapping is reversible.
_ESCAPE = "'"
_FORMULA_CHARS = ("=", "+", "-", "@", "\t", "\r", _ESCAPE)
_SUSPECT = r"^[=+\-@\t\r']"
_PLAIN_NUMBER = r"^[+-](?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"


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

    @property
    def lock(self) -> Path:
        """The lock file two runs writing this set take turns on (left in place: see flock)."""
        return self.plan.with_name(f"{self.plan.stem}.lock")

    def all(self) -> tuple[Path, ...]:
        """Every path a plan run writes or creates, the lock included."""
        return (self.plan, self.officers, self.manifest, self.lock)


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


def refuse_overwriting_inputs(outputs: Iterable[Path | None], inputs: Iterable[Path]) -> None:
    """UsageError (exit 2) if an output would replace an input file; call it before any work.

    Paths are compared resolved (symlinks, ``..``), and an existing output is also compared by
    device and inode, which catches hard links and case-insensitive file systems.
    """
    # An input that does not exist cannot be destroyed; reading it reports it (exit 3).
    sources = [(path, _resolved(path)) for path in inputs if path.exists()]
    for output in outputs:
        if output is None:
            continue
        target = _resolved(output)
        for source, resolved in sources:
            if target == resolved or _same_file(output, source):
                raise UsageError(
                    f"output {output} is the input file {source}: writing it would destroy "
                    "the input; choose another output path"
                )


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: compare as written
        return path.absolute()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


# --- formats -------------------------------------------------------------------------------------


def _table_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        shown = suffix or "no extension"
        raise OutputError(
            f"cannot write {path}: unsupported format ({shown}); use {', '.join(TABLE_SUFFIXES)}"
        )
    return suffix


def _needs_escape(text: pl.Expr) -> pl.Expr:
    return text.str.contains(_SUSPECT) & ~text.str.contains(_PLAIN_NUMBER)


def neutralize_formulas(df: pl.DataFrame) -> pl.DataFrame:
    """Prefix ``'`` to string cells (and column names) a spreadsheet would run as a formula.

    A cell starting with ``=``, ``@``, tab or carriage return, or with ``+`` or ``-`` and not a
    plain number, is prefixed; so is a cell that already starts with ``'``. Distinct cells stay
    distinct (``-5`` is kept, ``'-5`` becomes ``''-5``) and `restore_formulas` undoes it exactly.
    Only String columns are looked at, and only those holding at least one suspect cell are
    rewritten; most columns are cleared by their min and max alone (see _may_hold_formulas).
    """
    strings = [name for name, dtype in df.schema.items() if dtype == pl.String()]
    suspects = [name for name in strings if _may_hold_formulas(df[name])]
    if suspects:
        hits = df.select(_needs_escape(pl.col(suspects)).any()).row(0)
        risky = [name for name, hit in zip(suspects, hits, strict=True) if hit]
        if risky:
            df = df.with_columns(
                pl.when(_needs_escape(pl.col(risky)))
                .then(pl.lit(_ESCAPE) + pl.col(risky))
                .otherwise(pl.col(risky))
                .name.keep()
            )
    renames = {name: _ESCAPE + name for name in df.columns if _header_needs_escape(name)}
    return df.rename(renames) if renames else df


def _header_needs_escape(name: str) -> bool:
    return bool(re.match(_SUSPECT, name)) and not re.match(_PLAIN_NUMBER, name)


def restore_formulas(df: pl.DataFrame) -> pl.DataFrame:
    """The inverse of `neutralize_formulas`: one leading ``'`` removed from every string cell."""
    strings = [name for name, dtype in df.schema.items() if dtype == pl.String()]
    if strings:
        df = df.with_columns(pl.col(strings).str.strip_prefix(_ESCAPE))
    renames = {name: name[1:] for name in df.columns if name.startswith(_ESCAPE)}
    return df.rename(renames) if renames else df


def _may_hold_formulas(column: pl.Series) -> bool:
    """False when no cell can start with a suspect character, judged from min and max only.

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


def _for_spreadsheet(df: pl.DataFrame, *, neutralize: bool) -> pl.DataFrame:
    """Lists joined with ';', categoricals as strings, floats rounded; formulas neutralized."""
    flat = []
    for name, dtype in df.schema.items():
        if isinstance(dtype, pl.List):
            elements = pl.col(name)
            if dtype.inner != pl.String():
                elements = elements.list.eval(pl.element().cast(pl.String()))
            flat.append(elements.list.join(LIST_SEPARATOR))
        elif isinstance(dtype, pl.Categorical | pl.Enum):
            flat.append(pl.col(name).cast(pl.String()))
        elif dtype.is_float() and (decimals := spreadsheet_decimals(name)) is not None:
            flat.append(pl.col(name).round(decimals))
    if flat:
        df = df.with_columns(flat)
    return neutralize_formulas(df) if neutralize else df


def _write_table_to(df: pl.DataFrame, path: Path) -> None:
    """Write ``df`` to ``path`` (not atomically) in the format its extension names."""
    fmt = _table_format(path)
    if fmt == ".parquet":
        df.write_parquet(path)
    elif fmt == ".csv":
        _for_spreadsheet(df, neutralize=True).write_csv(path)
    else:
        if df.height + 1 > EXCEL_MAX_ROWS:
            raise _UnwritableError(
                f"{df.height:,} rows exceed Excel's limit of {EXCEL_MAX_ROWS - 1:,} data rows; "
                "write .csv or .parquet instead"
            )
        from xlsxwriter import Workbook

        # Our own workbook so that every string is written as a string cell: never a formula,
        # a link or a number, whatever polars' defaults; polars leaves a workbook it did not
        # create open for us to close.
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
            _for_spreadsheet(df, neutralize=False).write_excel(
                workbook, autofit=df.height <= 10_000
            )
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


# --- one commit of several files -----------------------------------------------------------------


def write_table(df: pl.DataFrame, path: Path) -> None:
    """Write a table atomically; the format follows the extension (.csv, .parquet, .xlsx)."""
    _table_format(path)
    write_all([(path, lambda temp: _write_table_to(df, temp))])


def write_json(obj: Mapping[str, Any], path: Path) -> None:
    """Write a JSON document atomically (UTF-8, indented; NaN and infinity become null)."""
    write_all([(path, lambda temp: _write_json_to(obj, temp))])


def write_all(files: Sequence[tuple[Path, Writer]], *, make_dirs: bool = False) -> None:
    """Write several outputs all together or not at all.

    Each ``writer`` receives a temporary path in its destination's directory, with the same
    extension, and writes its whole file there (``write_table``/``write_json`` are fine writers:
    they only add one more rename). When every writer has succeeded, the files are renamed into
    place; if anything fails, the temporary files are removed, previous outputs are untouched, and
    OutputError names the path and the reason. An exception that is not a write failure (a bug in
    a writer) propagates unchanged, after the same clean-up. ``make_dirs`` creates missing
    destination directories first.
    """
    _distinct([dest for dest, _ in files])
    if make_dirs:
        _make_directories(dest for dest, _ in files)
    staged = _stage(files, token=secrets.token_hex(4))
    _publish(staged)


def _distinct(destinations: Sequence[Path]) -> None:
    if len({_resolved(d) for d in destinations}) != len(destinations):
        raise ValueError(f"the same output path is given twice: {destinations}")


def _make_directories(destinations: Iterable[Path]) -> None:
    for dest in destinations:
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(_explain(dest, exc)) from None


def _temp_name(dest: Path, token: str, pid: int | None = None) -> Path:
    # The real suffix goes last: polars' Excel writer looks at it.
    pid = os.getpid() if pid is None else pid
    return dest.with_name(f".{dest.name}.{pid}.{token}.tmp{dest.suffix}")


def _stage(
    files: Sequence[tuple[Path, Writer]],
    *,
    token: str,
    roles: Sequence[str] = (),
) -> list[tuple[Path, Path]]:
    """Every file written to its temporary name and flushed; on failure none is left behind."""
    staged: list[tuple[Path, Path]] = []
    dest = files[0][0] if files else Path()
    try:
        for i, (dest, writer) in enumerate(files):
            temp = _create_temp(dest, token)
            staged.append((temp, dest))
            if roles:
                _pause(f"created:{roles[i]}")
            writer(temp)
            _flush_to_disk(temp)
            if roles:
                _pause(f"staged:{roles[i]}")
    except BaseException as exc:
        for temp, _ in staged:
            _remove_quietly(temp)
        if isinstance(exc, _WRITE_FAILURES):
            raise OutputError(_explain(dest, exc)) from exc
        raise
    return staged


def _create_temp(dest: Path, token: str) -> Path:
    """A new empty file beside ``dest``; created (not just named) so that a race cannot reuse it."""
    if dest.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory", str(dest))
    temp = _temp_name(dest, token)
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


def _publish(staged: list[tuple[Path, Path]], roles: Sequence[str] = ()) -> None:
    """Rename every temporary file into place; on failure restore what was already replaced."""
    replaced: list[tuple[Path, Path | None, bool]] = []  # (dest, backup, existed before)
    dest = staged[0][1] if staged else Path()
    try:
        for i, (temp, dest) in enumerate(staged):
            existed = dest.exists()
            backup = _backup(dest) if existed else None
            try:
                os.replace(temp, dest)
            except OSError:
                if backup is not None:
                    _remove_quietly(backup)
                raise
            replaced.append((dest, backup, existed))
            if roles:
                _pause(f"published:{roles[i]}")
    except OSError as exc:
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
        raise OutputError(_explain(dest, exc)) from exc
    for _, backup, _ in replaced:
        if backup is not None:
            _remove_quietly(backup)
    for directory in {dest.parent for _, dest in staged}:
        _sync_directory(directory)


def _backup(dest: Path) -> Path | None:
    """A hard link to the previous output, so a failed commit can put it back; None where the
    file system has no hard links (the commit then cannot undo that one file)."""
    backup = dest.with_name(f".{dest.name}.{os.getpid()}.{secrets.token_hex(4)}.bak")
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


def _pause(step: str) -> None:
    if os.environ.get(PAUSE_ENV) == step:
        sys.stderr.write(f"{PAUSED_MARK} {step}\n")
        sys.stderr.flush()
        time.sleep(3600)


# --- the plan set ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetCheck:
    """What `verify_plan_set` found. ``complete``: the manifest's hashes match every sibling."""

    complete: bool
    problems: tuple[str, ...]
    sha256: dict[str, str]  # role (plan, officers, report) -> hash the manifest records
    pending_commit: bool  # a commit past its commit point was interrupted: recovery finishes it


def write_plan_set(
    paths: OutputPaths,
    plan: pl.DataFrame,
    officers: pl.DataFrame,
    manifest: Mapping[str, Any],
    *,
    report: tuple[Path, Writer] | None = None,
    lock_wait: float = LOCK_WAIT_SECONDS,
    before_commit: Callable[[], None] | None = None,
) -> dict[str, str]:
    """Commit plan, officer summary, optional report and manifest as one set (see module doc).

    The manifest is written with an ``integrity`` entry: the commit token and, per file, its name
    relative to the manifest and its SHA-256. Missing directories are created. Returns the hashes
    by role. OutputError (exit 5) for anything that cannot be written, nothing changed then.
    ``before_commit`` runs once everything is staged, just before the commit; an exception it
    raises (a stop request) abandons the set like a failed write.
    """
    files: list[tuple[str, Path, Writer]] = [
        ("plan", paths.plan, lambda temp: _write_table_to(plan, temp)),
        ("officers", paths.officers, lambda temp: _write_table_to(officers, temp)),
    ]
    if report is not None:
        files.append(("report", report[0], report[1]))
    _distinct([path for _, path, _ in files] + [paths.manifest])
    _make_directories([*(path for _, path, _ in files), paths.manifest])
    with _locked(paths.lock, lock_wait):
        _pause("locked")
        _recover(paths, report[0] if report is not None else None)
        token = secrets.token_hex(4)
        roles = [role for role, _, _ in files]
        staged = _stage([(path, writer) for _, path, writer in files], token=token, roles=roles)
        try:
            hashes = {
                role: file_sha256(temp) for role, (temp, _) in zip(roles, staged, strict=True)
            }
            entry = {
                "commit": token,
                "files": {
                    role: {"file": _relative(dest, paths.manifest.parent), "sha256": hashes[role]}
                    for role, (_, dest) in zip(roles, staged, strict=True)
                },
            }
            document = {**manifest, "integrity": entry}
            [(manifest_temp, _)] = _stage(
                [(paths.manifest, lambda temp: _write_json_to(document, temp))], token=token
            )
            ready = _ready_name(paths.manifest, os.getpid(), token)
            if before_commit is not None:
                try:
                    before_commit()
                except BaseException:
                    _remove_quietly(manifest_temp)
                    raise
            try:
                os.replace(manifest_temp, ready)
            except OSError as exc:
                _remove_quietly(manifest_temp)
                raise OutputError(_explain(paths.manifest, exc)) from exc
            _sync_directory(paths.manifest.parent)
        except BaseException:
            for temp, _ in staged:
                _remove_quietly(temp)
            raise
        _pause("ready")
        try:
            _publish(staged, roles)
        except OutputError:
            _remove_quietly(ready)  # the data renames were rolled back: the old set stands
            raise
        # Should this last rename fail, the ready manifest stays for the next run to complete.
        _publish([(ready, paths.manifest)], ["manifest"])
    return hashes


def recover_plan_set(plan_path: Path, *, lock_wait: float = LOCK_WAIT_SECONDS) -> list[str]:
    """Under the set's lock: finish a commit interrupted after its commit point and remove stale
    temporary and backup files of a killed run. Returns what was done, one line per action."""
    paths = output_paths(plan_path)
    with _locked(paths.lock, lock_wait):
        return _recover(paths, None)


def verify_plan_set(plan_path: Path, *, repair: bool = False) -> SetCheck:
    """Whether the plan set at ``plan_path`` is complete: every file the manifest lists is there
    with the SHA-256 it records. ``repair`` first runs `recover_plan_set` (a reader that may write
    into the directory should: it turns an interrupted commit into the new set)."""
    paths = output_paths(plan_path)
    if repair:
        recover_plan_set(plan_path)
    pending = bool(_ready_files(paths.manifest))
    try:
        document = json.loads(paths.manifest.read_text(encoding="utf-8"))
        files = document["integrity"]["files"]
        recorded = {str(role): str(info["sha256"]) for role, info in files.items()}
        names = {str(role): str(info["file"]) for role, info in files.items()}
    except FileNotFoundError:
        return SetCheck(False, (f"{paths.manifest}: missing",), {}, pending)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        reason = f"{paths.manifest}: not a manifest with integrity hashes ({exc})"
        return SetCheck(False, (reason,), {}, pending)
    problems = []
    for role in ("plan", "officers"):
        if role not in recorded:
            problems.append(f"{paths.manifest}: records no hash for the {role} file")
    for role, sha in recorded.items():
        path = paths.manifest.parent / names[role]
        try:
            with path.open("rb") as handle:
                actual = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError as exc:
            problems.append(f"{path}: {exc.strerror or exc}")
            continue
        if actual != sha:
            problems.append(f"{path}: does not match the manifest (another run's {role} file)")
    return SetCheck(not problems, tuple(problems), recorded, pending)


def _relative(path: Path, start: Path) -> str:
    try:
        return os.path.relpath(path.resolve(), start.resolve())
    except ValueError:  # another drive (Windows)
        return str(path.resolve())


def _ready_name(manifest: Path, pid: int, token: str) -> Path:
    return manifest.with_name(f".{manifest.name}.{pid}.{token}.ready")


_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.(?P<token>[0-9a-f]+)\.(?:tmp.*|bak|ready)$")


def _leftovers(dest: Path) -> Iterator[tuple[Path, int]]:
    """Temporary, backup and ready files of ``dest`` in its directory, with their writer's pid."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(dest.parent):
            match = _LEFTOVER.match(entry.name)
            if match and match["name"] == dest.name:
                yield dest.parent / entry.name, int(match["pid"])


def _ready_files(manifest: Path) -> list[Path]:
    return sorted(p for p, _ in _leftovers(manifest) if p.name.endswith(".ready"))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A killed writer whose parent has not reaped it yet: signals reach it, but it runs no more
    (its lock is already released, so the next run gets here before the parent's wait)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:  # no /proc (macOS) or the process just went away
        return False
    # The state follows the command name, which is in parentheses and may contain spaces.
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def _recover(paths: OutputPaths, report: Path | None) -> list[str]:
    """Finish an interrupted commit, then remove leftovers of dead writers (caller holds the lock)."""
    done: list[str] = []
    for ready in _ready_files(paths.manifest):
        done.append(_roll_forward(paths, ready))
    extra = {report} if report is not None else set()
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError, AttributeError):
        # The report may sit elsewhere: the manifest in place says where.
        listed = json.loads(paths.manifest.read_text(encoding="utf-8"))["integrity"]["files"]
        extra |= {paths.manifest.parent / str(info["file"]) for info in listed.values()}
    for dest in dict.fromkeys(
        p.resolve() for p in (paths.plan, paths.officers, paths.manifest, *sorted(extra))
    ):
        for leftover, pid in list(_leftovers(dest)):
            # Under the lock no live run commits this set; a live pid here is another command
            # (say `assign effort --out`) writing a file of the same name: leave its temp alone.
            if leftover.name.endswith(".ready") or not _alive(pid):
                _remove_quietly(leftover)
                done.append(f"removed {leftover.name}, left by a stopped run")
    return done


def _roll_forward(paths: OutputPaths, ready: Path) -> str:
    """Complete the commit whose manifest is ``ready``: every data file is already staged (or in
    place) with the hash the manifest records, so renaming the rest finishes the new set."""
    match = _LEFTOVER.match(ready.name)
    try:
        if match is None:
            raise ValueError(f"{ready.name} is not a ready manifest's name")
        document = json.loads(ready.read_text(encoding="utf-8"))
        files = document["integrity"]["files"]
        pid, token = int(match["pid"]), match["token"]
        moves = []
        for info in files.values():
            dest = paths.manifest.parent / str(info["file"])
            temp = _temp_name(dest, token, pid)
            if temp.exists() and file_sha256(temp) == info["sha256"]:
                moves.append((temp, dest))
            elif not (dest.exists() and file_sha256(dest) == info["sha256"]):
                raise ValueError(f"{dest} is neither staged nor in place")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, OutputError):
        _remove_quietly(ready)
        return f"dropped an interrupted commit of {paths.manifest.name} that cannot be completed"
    for temp, dest in moves:
        os.replace(temp, dest)
    os.replace(ready, paths.manifest)
    _sync_directory(paths.manifest.parent)
    return f"completed an interrupted commit of {paths.plan.name} (commit {token})"


@contextlib.contextmanager
def _locked(lock: Path, wait: float) -> Iterator[None]:
    """Hold an exclusive flock on ``lock``; OutputError after ``wait`` seconds of another holder.

    The file stays in place: deleting a lock file that another process has just opened would let
    a third one lock a new file of the same name.
    """
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise OutputError(_explain(lock, exc)) from None
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _lock_holder(fd)
                    raise OutputError(
                        f"cannot write {lock.with_suffix('')}.*: another assign run{holder} is "
                        f"writing the same output set (lock {lock}); waited {wait:g} s — "
                        "try again when it has finished, or choose another --out"
                    ) from None
                time.sleep(_LOCK_POLL_SECONDS)
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _lock_holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode().strip())
        return f" (pid {pid})"
    return ""


_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.ENAMETOOLONG: "file name too long",
    errno.EISDIR: "it is a directory",
}


def _explain(dest: Path, exc: BaseException) -> str:
    """A message naming the output and a reason a user can act on (never an exception name)."""
    if isinstance(exc, OSError):
        code = _errno(exc)
        if code in (errno.ENOTDIR, errno.EEXIST) or (
            code == errno.ENOENT and _blocking_file(dest) is not None
        ):
            blocker = _blocking_file(dest)
            reason = (
                f"{blocker} is a file, not a directory"
                if blocker is not None
                else exc.strerror or "not a directory"
            )
        elif code == errno.ENOENT and not dest.parent.is_dir():
            reason = f"directory {dest.parent} does not exist"
        elif code in _REASONS:
            reason = _REASONS[code]
        elif dest.is_dir():
            reason = "it is a directory"
        else:
            reason = (exc.strerror or str(exc)).split(" (os error")[0]
    else:
        reason = str(exc)
    return f"cannot write {dest}: {reason}"


def _errno(exc: OSError) -> int | None:
    """The error number, also from a Rust-side error (polars) that only says '(os error 28)'."""
    if exc.errno is not None:
        return exc.errno
    match = re.search(r"\(os error (\d+)\)", str(exc))
    return int(match[1]) if match else None


def _blocking_file(dest: Path) -> Path | None:
    """The nearest ancestor of ``dest`` that exists as something other than a directory."""
    for parent in dest.parents:
        if parent.exists() or parent.is_symlink():
            return None if parent.is_dir() else parent
    return None


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks (inputs can be gigabytes), for the manifest."""
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise OutputError(f"cannot hash {path} for the manifest: {exc.strerror or exc}") from exc
