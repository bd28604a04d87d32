"""Read a roster or case file (Parquet, CSV or Excel) into a raw polars table.

Reading only turns bytes into a table; the data contract is checked by `validate`. In CSV and Excel
the contract columns are read as text so that validation can point at the exact row holding "abc"
instead of failing the whole file; every other column keeps polars' type inference, because effort
and skill rules compare them as booleans and numbers.

Any failure of the underlying readers becomes an `InputError` naming the file: a traceback from
polars, pyarrow or fastexcel never reaches the user. A file that is not what its extension says
(a workbook or a Parquet file named .csv, UTF-16 or Latin-1 text, binary data) is named for what
it is, with the line and byte where reading went wrong. Excel inputs name the sheet read and the
sheets the workbook has.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NoReturn

import polars as pl

from assigncli import contract
from assigncli.errors import InputError, InputIssue

logger = logging.getLogger(__name__)

Role = Literal["roster", "cases"]

FORMATS = {".parquet": "parquet", ".csv": "csv", ".xlsx": "xlsx"}

# Rows polars looks at to guess the type of a non-contract CSV column. A later row that breaks the
# guess triggers one re-read with full-file inference, so this only trades speed, never correctness.
CSV_INFER_ROWS = 10_000

_BOM = "\ufeff"
_SNIFF_BYTES = 8192  # enough to recognize a binary format or a text encoding
_CHUNK_BYTES = 1 << 20  # reading size when looking for the first invalid UTF-8 byte

# File signatures worth naming when a file's content does not match its extension.
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one)", ".xlsx"),
    (b"PAR1", "a Parquet file", ".parquet"),
    (b"\xd0\xcf\x11\xe0", "an old binary Excel (.xls) or other OLE2 file", ""),
    (b"%PDF", "a PDF document", ""),
    (b"\x1f\x8b", "a gzip-compressed file", ""),
    (b"\xff\xfe", "UTF-16 text (little-endian)", ""),
    (b"\xfe\xff", "UTF-16 text (big-endian)", ""),
)


@dataclass(frozen=True, eq=False)
class Source:
    """A table as read, with the worksheet it came from (Excel only) and the workbook's sheets."""

    frame: pl.DataFrame
    sheet: str | None = None
    sheets: tuple[str, ...] = ()


_DUPLICATED = re.compile(r"^(?P<base>.*)_duplicated_\d+$")


def contract_columns(role: Role) -> dict[str, pl.DataType]:
    """Every column the contract defines for `role`, required first."""
    if role == "roster":
        return {**contract.ROSTER_REQUIRED, **contract.ROSTER_OPTIONAL}
    return {**contract.CASES_REQUIRED, **contract.CASES_OPTIONAL}


def read_table(path: Path, role: Role, sheet: str | None = None) -> pl.DataFrame:
    """Read `path` as a `role` table; raise InputError (one InputIssue) if it cannot be read.

    The format follows the extension (case-insensitive). Contract columns come back as String from
    CSV/Excel and with their native type from Parquet; validation normalizes both. ``sheet`` names
    the worksheet of an Excel file (default: the first); other formats ignore it.
    """
    return read_source(path, role, sheet).frame


def read_source(path: Path, role: Role, sheet: str | None = None) -> Source:
    """`read_table`, also telling which worksheet was read and which the workbook has."""
    file = str(path)
    if not path.exists():
        _fail(file, "missing_file", f"{role} file not found")
    if not path.is_file():
        _fail(file, "not_a_file", f"expected a {role} file, found a directory or special file")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(FORMATS)
        got = f"'{path.suffix}'" if path.suffix else "no extension"
        _fail(file, "unknown_extension", f"unsupported file type ({got}); expected one of {known}")
    _check_content(path, fmt, role)

    text_columns = contract_columns(role)
    read_sheet: str | None = None
    sheets: tuple[str, ...] = ()
    try:
        if fmt == "parquet":
            frame = pl.read_parquet(path)
        elif fmt == "csv":
            frame = _read_csv(path, text_columns)
        else:
            frame, read_sheet, sheets = _read_xlsx(path, text_columns, sheet)
    except InputError:
        raise
    except MemoryError:
        raise
    except pl.exceptions.NoDataError:
        _fail(file, "empty", f"the {role} file is empty (no header row)")
    # Each reader (polars, its Rust core, pyarrow, fastexcel/calamine) raises its own exception
    # types, and they change between versions; at this boundary any of them means "unreadable".
    except Exception as exc:
        if fmt == "csv" and "utf-8" in str(exc).lower():
            _fail_encoding(path, role)
        _fail(file, "unreadable", f"cannot read as {fmt.upper()}: {_first_line(exc)}")

    others = other_sheets(read_sheet, sheets)
    frame = _strip_bom(frame)
    if frame.width == 0:
        _fail(
            file,
            "empty",
            f"the {role} file has no columns (no header row){others}",
            sheet=read_sheet,
        )
    _check_duplicate_columns(frame, file, text_columns)
    if frame.height == 0:
        _fail(
            file,
            "empty",
            f"the {role} file has a header but no data rows{others}",
            sheet=read_sheet,
        )
    logger.debug("read %s: %d rows, %d columns (%s)", file, frame.height, frame.width, fmt)
    return Source(frame, read_sheet, sheets)


def other_sheets(sheet: str | None, sheets: tuple[str, ...]) -> str:
    """'; the workbook also has sheet(s) 'Roster': choose one with --sheet', or ''."""
    others = [name for name in sheets if name != sheet]
    if sheet is None or not others:
        return ""
    listed = ", ".join(repr(name) for name in others)
    return f"; the workbook also has sheet(s) {listed}: choose one with --sheet"


def _check_content(path: Path, fmt: str, role: Role) -> None:
    """A file whose first bytes say it is something else than its extension: say what it is."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        _fail(str(path), "unreadable", f"cannot open the {role} file: {exc.strerror or exc}")
    if not head:
        return  # the readers report an empty file precisely
    expected = {"parquet": b"PAR1", "xlsx": b"PK\x03\x04"}.get(fmt)
    if expected is not None and head.startswith(expected):
        return
    for signature, what, suffix in _SIGNATURES:
        if head.startswith(signature):
            fix = f"rename it to {suffix}" if suffix else f"export it as {fmt.upper()}"
            if what.startswith("UTF-16"):
                fix = "save it as UTF-8 text"
            _fail(
                str(path),
                "wrong_format",
                f"this {role} file is {what}, not {fmt.upper()}: {fix}",
            )
    if fmt == "csv" and b"\0" in head:
        offset = head.index(b"\0")
        _fail(
            str(path),
            "binary",
            f"this {role} file holds binary data (a NUL byte at byte {offset:,}), not CSV text",
        )
    if expected is not None:
        kind = "text" if _looks_like_text(head) else "data of another kind"
        hint = ": if it is CSV, rename it to .csv" if kind == "text" else ""
        _fail(str(path), "wrong_format", f"this {role} file is {kind}, not {fmt.upper()}{hint}")


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sample is still text.
        return exc.reason == "unexpected end of data" and exc.start >= len(head) - 3
    return b"\0" not in head


def _fail_encoding(path: Path, role: Role) -> NoReturn:
    """Name the first byte that is not UTF-8: its line, offset, and what it would be in Latin-1."""
    found = _first_invalid_utf8(path)
    if found is None:
        _fail(str(path), "encoding", f"the {role} file is not valid UTF-8 text; save it as UTF-8")
    line, offset, raw = found
    guess = raw.decode("cp1252", errors="replace")
    message = (
        f"not UTF-8 text: byte 0x{raw[0]:02x} at line {line:,} (byte offset {offset:,})"
        f" would be {guess!r} in Latin-1/Windows-1252; save the file as UTF-8"
        " (in Excel: 'CSV UTF-8')"
    )
    rows = (line - 1,) if line > 1 else ()
    problem = InputIssue(
        "error", str(path), message, rows=rows, row_count=len(rows), code="encoding"
    )
    raise InputError(problem.render(), [problem])


def _first_invalid_utf8(path: Path) -> tuple[int, int, bytes] | None:
    """(line, byte offset, the offending byte) of the first invalid UTF-8 sequence, or None."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset, line = 0, 1
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # Positions count from the bytes the decoder held back from the last chunk.
                held = len(exc.object) - len(chunk)
                start = exc.start - held
                line += exc.object[: exc.start].count(b"\n") - exc.object[:held].count(b"\n")
                return line, offset + start, exc.object[exc.start : exc.start + 1]
            line += chunk.count(b"\n")
            offset += len(chunk)
    return None


def chunked_like(values: pl.Series, like: pl.Series) -> pl.Series:
    """`values` split into chunks of the same lengths as those of `like` (no copy).

    A Parquet file is read as one chunk per row group. A column computed later is one chunk, and
    a table mixing both layouts is copied into one layout by every multi-column operation (a
    select, a filter, a join), which at millions of rows costs more than the operation itself.
    """
    lengths = like.chunk_lengths()
    if len(lengths) <= 1 or values.n_chunks() > 1 or values.len() != like.len():
        return values
    starts = [0]
    for length in lengths[:-1]:
        starts.append(starts[-1] + length)
    parts = [values.slice(start, length) for start, length in zip(starts, lengths, strict=True)]
    return pl.concat(parts, rechunk=False)


def _read_csv(path: Path, text_columns: dict[str, pl.DataType]) -> pl.DataFrame:
    overrides = _text_overrides(text_columns)
    try:
        return pl.read_csv(path, schema_overrides=overrides, infer_schema_length=CSV_INFER_ROWS)
    except pl.exceptions.ComputeError:
        # Most likely a value past the inference window that does not fit the guessed type (an
        # int column holding "1.5" at row 50 000): infer again over the whole file. Other read
        # errors (bad UTF-8, ragged lines) fail again and are reported by the caller.
        logger.debug(
            "%s: CSV read failed with inference over %d rows; retrying", path, CSV_INFER_ROWS
        )
        return pl.read_csv(path, schema_overrides=overrides, infer_schema_length=None)


def _read_xlsx(
    path: Path, text_columns: dict[str, pl.DataType], sheet: str | None
) -> tuple[pl.DataFrame, str, tuple[str, ...]]:
    import fastexcel

    reader = fastexcel.read_excel(str(path))
    sheets = tuple(reader.sheet_names)
    if not sheets:
        _fail(str(path), "empty", "the workbook has no worksheet")
    if sheet is None:
        sheet = sheets[0]
    elif sheet not in sheets:
        listed = ", ".join(repr(name) for name in sheets)
        _fail(str(path), "missing_sheet", f"no sheet {sheet!r} in this workbook; it has {listed}")
    # The header as written: the reader renames a repeated name ('office_1'), and polars rejects
    # schema_overrides for absent columns.
    first_row = reader.load_sheet(sheet, header_row=None, n_rows=1, dtypes="string")
    header = (
        [name for name in first_row.to_polars().row(0) if name is not None]
        if first_row.height
        else []
    )
    repeated = [name for name in text_columns if header.count(name) > 1]
    if repeated:
        _fail_duplicate(str(path), repeated[0], sheet)
    overrides = {
        name: dtype for name, dtype in _text_overrides(text_columns).items() if name in header
    }
    # Excel silently turns values that break the inferred type into nulls, so infer over the
    # whole sheet (a sheet holds at most ~1M rows and is loaded in full anyway).
    frame = pl.read_excel(
        path,
        sheet_name=sheet,
        engine="calamine",
        schema_overrides=overrides,
        infer_schema_length=None,
        raise_if_empty=False,
    )
    return frame, sheet, sheets


def _text_overrides(text_columns: dict[str, pl.DataType]) -> dict[str, pl.DataType]:
    overrides: dict[str, pl.DataType] = {name: pl.String() for name in text_columns}
    # A BOM that survives the reader would hide the first column from the overrides.
    overrides.update({_BOM + name: pl.String() for name in text_columns})
    return overrides


def _strip_bom(frame: pl.DataFrame) -> pl.DataFrame:
    if frame.width and frame.columns[0].startswith(_BOM):
        return frame.rename({frame.columns[0]: frame.columns[0].removeprefix(_BOM)})
    return frame


def _check_duplicate_columns(
    frame: pl.DataFrame, file: str, text_columns: dict[str, pl.DataType]
) -> None:
    """A contract column given twice is ambiguous: which copy holds the truth?"""
    for name in frame.columns:
        match = _DUPLICATED.match(
            name
        )  # polars' CSV reader renames repeats to '<name>_duplicated_<n>'
        if match and match["base"] in text_columns and match["base"] in frame.columns:
            _fail_duplicate(file, match["base"])


def _fail_duplicate(file: str, column: str, sheet: str | None = None) -> NoReturn:
    _fail(
        file,
        "duplicate_column",
        f"column '{column}' appears more than once in the header; keep one",
        column,
        sheet=sheet,
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _fail(
    file: str, code: str, message: str, column: str | None = None, *, sheet: str | None = None
) -> NoReturn:
    problem = InputIssue("error", file, message, column=column, code=code, sheet=sheet)
    raise InputError(problem.render(), [problem])


def row_positions(rows: pl.DataFrame, distinct: pl.DataFrame) -> pl.Series:
    """For each row of `rows`, in order, its row number in `distinct` (UInt32; null when absent),
    matched on all of `distinct`'s columns, nulls equal to nulls."""
    return rows.join(
        distinct.with_row_index("__position"),
        on=distinct.columns,
        how="left",
        nulls_equal=True,
        maintain_order="left",
    )["__position"]
