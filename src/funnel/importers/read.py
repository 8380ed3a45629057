"""Reading a user's file: CSV or XLSX bytes -> every column a string, with each row's line.

Why apart: what one file may cost is decided here, before (or, for lines, while) it is read:
past `LIMITS` a file is refused with the limit named, so a hostile or broken file cannot take
the machine's memory. Nothing is guessed beyond the encoding and the delimiter, both stated in
the notes.

>>> raw = read_table(b"Lead ID,Create Date\\nL1,2026-11-02\\n", name="leads.csv")
>>> raw.columns, raw.lines.to_list(), raw.notes
(['Lead ID', 'Create Date'], [2], ('Read as CSV: UTF-8, comma-delimited.',))
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path
from typing import BinaryIO

import polars as pl

from funnel import store
from funnel.importers.csv_file import read_csv
from funnel.importers.table import (
    LIMITS,
    MAX_COLUMNS,
    MAX_FILE_MB,
    MAX_SHEET_ROWS,
    MAX_XLSX_EXPANDED_MB,
    MB,
    Cells,
    ImportRejectedError,
    RawTable,
    check_table,
)

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0"


def read_table(data: bytes, name: str = "file", sheet: str | None = None) -> RawTable:
    """Read CSV or XLSX bytes (told apart by their first bytes, not by the file name).

    Raises `ImportRejectedError` for a file that holds no table: empty, header only, binary, an old
    .xls, a zip that is not a workbook, rows longer than the header. The bytes are read in
    place, never copied whole (`csv_file`).
    """
    return _read(io.BytesIO(data), len(data), name, sheet)


def read_path(path: Path, name: str = "", sheet: str | None = None) -> RawTable:
    """`read_table` of the file at `path`, streamed: a CSV is read in bounded steps and never
    held whole, so a file the command line imports costs about its table, not several copies.
    `name` (the file's own name by default) is only a label. Raises `OSError` for a file that
    cannot be opened; `ImportRejectedError` for a store this process has open, which is never
    opened as a plain file (its locks would go with the descriptor, see `store.held`)."""
    if store.held(path):
        raise ImportRejectedError(
            f"{name or path.name} is a funnel store in use, not a CSV or XLSX file: nothing was "
            "read. Export its data first (python -m funnel export), or restore it as a backup."
        )
    with path.open("rb") as f:
        return _read(f, os.fstat(f.fileno()).st_size, name or path.name, sheet)


def _read(f: BinaryIO, size: int, name: str, sheet: str | None) -> RawTable:
    if not size:
        raise ImportRejectedError(f"{name} is empty (0 bytes): there is nothing to import.")
    if size > MAX_FILE_MB * MB:
        raise ImportRejectedError(
            f"{name} is {size / MB:,.0f} MB, over the {MAX_FILE_MB:,} MB a file may be "
            f"(limits: {LIMITS}). Split it into smaller files."
        )
    head = f.read(len(XLSX_MAGIC))
    f.seek(0)
    if head.startswith(XLS_MAGIC):
        raise ImportRejectedError(
            f"{name} is an old Excel 97-2003 (.xls) workbook; save it as .xlsx or CSV first."
        )
    if head.startswith(XLSX_MAGIC):
        return _read_xlsx(f.read(), name, sheet)
    return read_csv(f, name)


SHEET_DIMENSION = re.compile(rb'<dimension ref="[A-Z]+\d+(?::([A-Z]+)(\d+))?"')


def _column_number(letters: bytes) -> int:
    """A spreadsheet column's number from its letters (A = 1, Z = 26, AA = 27)."""
    n = 0
    for c in letters:
        n = n * 26 + c - 64
    return n


def _check_workbook_size(z: zipfile.ZipFile, name: str) -> None:
    """Refuse a workbook from its archive's own figures, before any sheet is read: the sizes
    its entries unzip to (a zip bomb unzips to gigabytes from a few kilobytes) and each sheet's
    declared extent (`<dimension ref="A1:Z1000000">`, in the sheet's first bytes)."""
    expanded = sum(info.file_size for info in z.infolist())
    if expanded > MAX_XLSX_EXPANDED_MB * MB:
        raise ImportRejectedError(
            f"{name} unzips to {expanded / MB:,.0f} MB, over the {MAX_XLSX_EXPANDED_MB} MB a "
            f"workbook may hold (limits: {LIMITS}); nothing was read. Save the sheet as CSV, or "
            "split it."
        )
    for info in z.infolist():
        if not info.filename.startswith("xl/worksheets/"):
            continue
        with z.open(info) as sheet_xml:
            found = SHEET_DIMENSION.search(sheet_xml.read(4096))
        if found and found.group(2):
            rows, columns = int(found.group(2)), _column_number(found.group(1))
            if rows > MAX_SHEET_ROWS + 1 or columns > MAX_COLUMNS:
                raise ImportRejectedError(
                    f"{name}: sheet {info.filename.rsplit('/', 1)[-1]} spans {rows:,} rows and "
                    f"{columns:,} columns, over the limits ({LIMITS}); nothing was read."
                )


def _read_xlsx(data: bytes, name: str, sheet: str | None) -> RawTable:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            is_workbook = "xl/workbook.xml" in z.namelist()
            if is_workbook:
                _check_workbook_size(z, name)
    except zipfile.BadZipFile as e:
        raise ImportRejectedError(f"{name} looks like a ZIP archive but is damaged ({e}).") from e
    if not is_workbook:
        raise ImportRejectedError(f"{name} is a ZIP archive, not an XLSX workbook or a CSV file.")
    notes = []
    if not name.lower().endswith((".xlsx", ".xlsm")):
        notes.append(f"{name} is an XLSX workbook despite its name; read as XLSX.")
    try:
        books = pl.read_excel(io.BytesIO(data), sheet_id=0, infer_schema_length=0, raise_if_empty=False)
    except Exception as e:
        raise ImportRejectedError(f"{name}: the workbook cannot be read ({e}).") from e
    assert isinstance(books, dict)
    sheets = tuple(books)
    if sheet is not None and sheet not in books:
        raise ImportRejectedError(f"{name} has no sheet '{sheet}'; its sheets are {', '.join(sheets)}.")
    chosen = sheet or next((s for s in sheets if books[s].height), sheets[0])
    if len(sheets) > 1:
        notes.append(
            f"The workbook has {len(sheets)} sheets ({', '.join(sheets)}); read '{chosen}'. "
            "Choose another sheet to import it instead."
        )
    frame = books[chosen]
    check_table(frame.columns, frame.height, name)
    lines = pl.Series("line", range(2, frame.height + 2), dtype=pl.Int64)
    return RawTable(Cells.of(frame), lines, name, tuple(notes), sheets, chosen)
