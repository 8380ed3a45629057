"""What reading a file yields (`RawTable`, its text in `Cells`), what it may cost (`LIMITS`)
and the checks every table passes, CSV or XLSX, before it is validated.

Why apart: the CSV and XLSX readers both end here, so a table is refused for the same reasons
and with the same words whichever format it came in.

>>> unique_names(["id", "Name", "id"])
['id', 'Name', 'id_duplicated_0']
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import weakref
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl

MB = 1024 * 1024
MAX_CELL_CHARS = 10_000
MAX_UPLOAD_MB = 200
# What one file may cost, checked before (or, for lines, while) it is read: past these it is
# refused with the limit named, so a hostile or broken file cannot take the machine's memory.
# A file's text waits on disk while it is checked (`Cells`), so what an import holds is its
# parsed values: ten million leads of 30 fields peak under 5 GB. A sheet holds at most what Excel
# itself does.
MAX_FILE_MB = 2048
MAX_ROWS = 10_000_000
MAX_SHEET_ROWS = 1_048_576
MAX_COLUMNS = 500
MAX_LINE_MB = 8
MAX_XLSX_EXPANDED_MB = 256
LIMITS = (
    f"at most {MAX_FILE_MB:,} MB a file ({MAX_UPLOAD_MB} MB uploaded on the Data page), "
    f"{MAX_ROWS:,} rows ({MAX_SHEET_ROWS:,} a sheet), {MAX_COLUMNS} columns, {MAX_LINE_MB} MB a "
    f"line, {MAX_CELL_CHARS:,} characters a cell, {MAX_XLSX_EXPANDED_MB} MB a workbook once unzipped"
)


class ImportRejectedError(Exception):
    """The file cannot be read at all (empty, not a table, ...); the message says why."""


class Cells:
    """A table's text, written to Parquet files of its own as it is read and read back a column
    at a time.

    Why on disk: a file's cells as strings cost several times its parsed values (a 16-byte view
    per cell: 5 GB for ten million rows of 30 columns), and validation needs one column at a
    time. Held in memory they were most of an import's peak; here they cost what the page cache
    spares. The files are removed with the object; those of a process that was killed first
    (their folder names its process) are removed by the next table read.
    """

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self.height = 0
        _sweep()
        self._dir = Path(tempfile.mkdtemp(prefix=f"{CELLS_PREFIX}{os.getpid()}-"))
        weakref.finalize(self, shutil.rmtree, self._dir, True)
        self._parts: list[Path] = []
        # A part is written on a thread of its own while the reader parses the next one.
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="funnel-cells")
        self._writing: Future[None] | None = None

    @classmethod
    def of(cls, frame: pl.DataFrame) -> Cells:
        """The cells of a frame already in memory (a workbook's sheet, a test's table)."""
        cells = cls(frame.columns)
        cells.add(frame)
        return cells.done()

    def add(self, part: pl.DataFrame) -> None:
        """Rows read, as text, in the table's column order (their names are not looked at)."""
        if not part.height:
            return
        stored = part.select(pl.all().cast(pl.String)).rename(
            {n: f"c{i}" for i, n in enumerate(part.columns)}
        )
        path = self._dir / f"{len(self._parts)}.parquet"
        self._wait()  # one part at most waits to be written
        self._writing = self._writer.submit(
            stored.write_parquet, path, compression="lz4", statistics=False
        )
        self._parts.append(path)
        self.height += part.height

    def done(self) -> Cells:
        """Wait for the last part to be written; the cells are then read only."""
        self._wait()
        self._writer.shutdown()
        return self

    def read(self, names: Sequence[str], rows: int | None = None) -> pl.DataFrame:
        """The named columns (the first `rows` only, when given), as the file holds them."""
        if not self._parts:
            return pl.DataFrame(schema=dict.fromkeys(names, pl.String))
        stored = [f"c{self.columns.index(n)}" for n in names]
        scan = pl.scan_parquet(self._parts).select(stored)
        frame = (scan if rows is None else scan.head(rows)).collect()
        return frame.rename(dict(zip(stored, names, strict=True)))

    def _wait(self) -> None:
        if self._writing is not None:
            self._writing.result()
            self._writing = None


CELLS_PREFIX = "funnel-cells-"


def _sweep() -> None:
    """Remove the cells left by processes that ended without removing them (killed mid-import)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{CELLS_PREFIX}*-*"):
        pid = folder.name.removeprefix(CELLS_PREFIX).split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


@dataclass(frozen=True, eq=False)
class RawTable:
    """The file as read: every column a string, with how it was read.

    `lines[i]` is the line of the file where data row `i` starts (the header is line 1; XLSX
    rows count from the sheet's first row), so every problem can point at the line a user sees.
    The cells themselves wait in `cells`: `column` reads one, `select` a few, so a dry run holds
    one column of text at a time beside the values it has parsed.
    """

    cells: Cells
    lines: pl.Series
    name: str
    notes: tuple[str, ...]
    sheets: tuple[str, ...] = ()
    sheet: str | None = None
    short_rows: pl.DataFrame | None = None

    @property
    def columns(self) -> list[str]:
        return self.cells.columns

    @property
    def height(self) -> int:
        return len(self.lines)

    def column(self, name: str) -> pl.Series:
        return self.cells.read([name])[name]

    def select(self, names: Sequence[str], rows: int | None = None) -> pl.DataFrame:
        return self.cells.read(names, rows)

    @property
    def frame(self) -> pl.DataFrame:
        """The whole table in memory: for a small table (a test's, a history file's)."""
        return self.cells.read(self.columns)


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


def check_size(columns: Sequence[str], height: int, name: str, more: bool = False) -> None:
    """Refuse a table past `MAX_ROWS` or `MAX_COLUMNS`; `more` while it is still being read (a
    reader checks its rows as it goes, so a file far past the limit is not read to its end)."""
    if len(columns) > MAX_COLUMNS or height > MAX_ROWS:
        rows = f"more than {MAX_ROWS:,}" if more else f"{height:,}"
        raise ImportRejectedError(
            f"{name} has {rows} rows and {len(columns):,} columns, over the limits "
            f"({LIMITS}). Export fewer columns, or split the file."
        )


def check_table(columns: Sequence[str], height: int, name: str) -> None:
    if not columns:
        raise ImportRejectedError(f"{name} has no header row: there is nothing to import.")
    check_size(columns, height, name)
    # Readers rename a repeated header (`created_duplicated_0`); case and spaces aside, two
    # columns of one name cannot both be meant, and the mapping could only pick one silently.
    first: dict[str, int] = {}
    for i, column in enumerate(columns, start=1):
        key = re.sub(r"_duplicated_\d+$", "", column).strip().casefold()
        if key and key in first:
            raise ImportRejectedError(
                f"{name}: the header names '{columns[first[key] - 1][:200]}' twice (columns "
                f"{first[key]} and {i}, case aside): rename one so each column has one meaning."
            )
        first.setdefault(key, i)
    if height == 0:
        raise ImportRejectedError(
            f"{name} has a header ({', '.join(c[:200] for c in columns[:8])}) but no data rows."
        )
    blank = [i + 1 for i, c in enumerate(columns) if not c.strip()]
    if blank and len(columns) == len(blank):
        raise ImportRejectedError(f"{name} has an empty header row: name its columns first.")
