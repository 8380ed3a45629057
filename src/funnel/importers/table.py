"""What reading a file yields (`RawTable`), what it may cost (`LIMITS`) and the checks every
table passes, CSV or XLSX, before it is validated.

Why apart: the CSV and XLSX readers both end here, so a table is refused for the same reasons
and with the same words whichever format it came in.

>>> unique_names(["id", "Name", "id"])
['id', 'Name', 'id_duplicated_0']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

MB = 1024 * 1024
MAX_CELL_CHARS = 10_000
MAX_UPLOAD_MB = 200
# What one file may cost, checked before (or, for lines, while) it is read: past these it is
# refused with the limit named, so a hostile or broken file cannot take the machine's memory.
MAX_FILE_MB = 1024
MAX_ROWS = 2_000_000
MAX_COLUMNS = 500
MAX_LINE_MB = 8
MAX_XLSX_EXPANDED_MB = 256
LIMITS = (
    f"at most {MAX_FILE_MB:,} MB a file ({MAX_UPLOAD_MB} MB uploaded on the Data page), "
    f"{MAX_ROWS:,} rows, {MAX_COLUMNS} columns, {MAX_LINE_MB} MB a line, {MAX_CELL_CHARS:,} "
    f"characters a cell, {MAX_XLSX_EXPANDED_MB} MB a workbook once unzipped"
)


class ImportRejectedError(Exception):
    """The file cannot be read at all (empty, not a table, ...); the message says why."""


@dataclass(frozen=True)
class RawTable:
    """The file as read: every column a string, with how it was read.

    `lines[i]` is the line of the file where data row `i` starts (the header is line 1; XLSX
    rows count from the sheet's first row), so every problem can point at the line a user sees.
    """

    frame: pl.DataFrame
    lines: pl.Series
    name: str
    notes: tuple[str, ...]
    sheets: tuple[str, ...] = ()
    sheet: str | None = None
    short_rows: pl.DataFrame | None = None


def without_empty_rows(frame: pl.DataFrame, lines: pl.Series) -> tuple[pl.DataFrame, pl.Series, int]:
    """Rows with no value at all (blank lines, Excel's trailing ',,,,') are not data."""
    empty = frame.select(pl.all_horizontal(pl.all().is_null()).alias("empty"))["empty"]
    skipped = int(empty.sum())
    if not skipped:
        return frame, lines, 0
    return frame.filter(~empty), lines.filter(~empty), skipped


def short_frame(short: Sequence[tuple[int, int]], header: int) -> pl.DataFrame:
    """Rows with fewer fields than the header as (line, fields, header)."""
    frame = pl.DataFrame(short, schema={"line": pl.Int64, "fields": pl.Int64}, orient="row")
    return frame.with_columns(header=pl.lit(header, dtype=pl.Int64))


def unique_names(header: list[str]) -> list[str]:
    """Header names made unique the way Polars does it (name, name_duplicated_0, ...)."""
    seen: dict[str, int] = {}
    out = []
    for h in header:
        if h in seen:
            out.append(f"{h}_duplicated_{seen[h]}")
            seen[h] += 1
        else:
            out.append(h)
            seen[h] = 0
    return out


def check_table(frame: pl.DataFrame, name: str) -> None:
    if frame.width == 0:
        raise ImportRejectedError(f"{name} has no header row: there is nothing to import.")
    if frame.width > MAX_COLUMNS or frame.height > MAX_ROWS:
        raise ImportRejectedError(
            f"{name} has {frame.height:,} rows and {frame.width:,} columns, over the limits "
            f"({LIMITS}). Export fewer columns, or split the file."
        )
    # Readers rename a repeated header (`created_duplicated_0`); case and spaces aside, two
    # columns of one name cannot both be meant, and the mapping could only pick one silently.
    first: dict[str, int] = {}
    for i, column in enumerate(frame.columns, start=1):
        key = re.sub(r"_duplicated_\d+$", "", column).strip().casefold()
        if key and key in first:
            raise ImportRejectedError(
                f"{name}: the header names '{frame.columns[first[key] - 1][:200]}' twice (columns "
                f"{first[key]} and {i}, case aside): rename one so each column has one meaning."
            )
        first.setdefault(key, i)
    if frame.height == 0:
        raise ImportRejectedError(
            f"{name} has a header ({', '.join(c[:200] for c in frame.columns[:8])}) but no data rows."
        )
    blank = [i + 1 for i, c in enumerate(frame.columns) if not c.strip()]
    if blank and frame.width == len(blank):
        raise ImportRejectedError(f"{name} has an empty header row: name its columns first.")
