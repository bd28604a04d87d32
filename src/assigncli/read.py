"""Read a roster or case file (Parquet, CSV or Excel) into a raw polars table.

Reading only turns bytes into a table; the data contract is checked by `validate`. In CSV and Excel
the contract columns are read as text so that validation can point at the exact row holding "abc"
instead of failing the whole file; every other column keeps polars' type inference, because effort
and skill rules compare them as booleans and numbers.

Any failure of the underlying readers becomes an `InputError` naming the file: a traceback from
polars, pyarrow or fastexcel never reaches the user.
"""

from __future__ import annotations

import logging
import re
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
_DUPLICATED = re.compile(r"^(?P<base>.*)_duplicated_\d+$")


def contract_columns(role: Role) -> dict[str, pl.DataType]:
    """Every column the contract defines for `role`, required first."""
    if role == "roster":
        return {**contract.ROSTER_REQUIRED, **contract.ROSTER_OPTIONAL}
    return {**contract.CASES_REQUIRED, **contract.CASES_OPTIONAL}


def read_table(path: Path, role: Role) -> pl.DataFrame:
    """Read `path` as a `role` table; raise InputError (one InputIssue) if it cannot be read.

    The format follows the extension (case-insensitive). Contract columns come back as String from
    CSV/Excel and with their native type from Parquet; validation normalizes both.
    """
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

    text_columns = contract_columns(role)
    try:
        if fmt == "parquet":
            frame = pl.read_parquet(path)
        elif fmt == "csv":
            frame = _read_csv(path, text_columns)
        else:
            frame = _read_xlsx(path, text_columns)
    except InputError:
        raise
    except MemoryError:
        raise
    except pl.exceptions.NoDataError:
        _fail(file, "empty", f"the {role} file is empty (no header row)")
    # Each reader (polars, its Rust core, pyarrow, fastexcel/calamine) raises its own exception
    # types, and they change between versions; at this boundary any of them means "unreadable".
    except Exception as exc:
        _fail(file, "unreadable", f"cannot read as {fmt.upper()}: {_first_line(exc)}")

    frame = _strip_bom(frame)
    if frame.width == 0:
        _fail(file, "empty", f"the {role} file has no columns (no header row)")
    _check_duplicate_columns(frame, file, text_columns)
    if frame.height == 0:
        _fail(file, "empty", f"the {role} file has a header but no data rows")
    logger.debug("read %s: %d rows, %d columns (%s)", file, frame.height, frame.width, fmt)
    return frame


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


def _read_xlsx(path: Path, text_columns: dict[str, pl.DataType]) -> pl.DataFrame:
    import fastexcel

    # The header as written: the reader renames a repeated name ('office_1'), and polars rejects
    # schema_overrides for absent columns.
    first_row = fastexcel.read_excel(str(path)).load_sheet(
        0, header_row=None, n_rows=1, dtypes="string"
    )
    header = (
        [name for name in first_row.to_polars().row(0) if name is not None]
        if first_row.height
        else []
    )
    repeated = [name for name in text_columns if header.count(name) > 1]
    if repeated:
        _fail_duplicate(str(path), repeated[0])
    overrides = {
        name: dtype for name, dtype in _text_overrides(text_columns).items() if name in header
    }
    # Excel silently turns values that break the inferred type into nulls, so infer over the
    # whole sheet (a sheet holds at most ~1M rows and is loaded in full anyway).
    return pl.read_excel(
        path,
        sheet_id=1,
        engine="calamine",
        schema_overrides=overrides,
        infer_schema_length=None,
        raise_if_empty=False,
    )


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


def _fail_duplicate(file: str, column: str) -> NoReturn:
    _fail(
        file,
        "duplicate_column",
        f"column '{column}' appears more than once in the header; keep one",
        column,
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _fail(file: str, code: str, message: str, column: str | None = None) -> NoReturn:
    problem = InputIssue("error", file, message, column=column, code=code)
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
