"""Reading a user's file: CSV or XLSX bytes -> every column a string, with each row's line.

Why apart: what one file may cost is decided here, before (or, for lines, while) it is read:
past `LIMITS` a file is refused with the limit named, so a hostile or broken file cannot take
the machine's memory. Nothing is guessed beyond the encoding and the delimiter, both stated in
the notes.

>>> raw = read_table(b"Lead ID,Create Date\\nL1,2026-11-02\\n", name="leads.csv")
>>> raw.frame.columns, raw.lines.to_list(), raw.notes
(['Lead ID', 'Create Date'], [2], ('Read as CSV: UTF-8, comma-delimited.',))
"""

from __future__ import annotations

import csv
import io
import re
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from funnel.importers.report import plural

MAX_CELL_CHARS = 10_000
MAX_UPLOAD_MB = 200
# What one file may cost, checked before (or, for lines, while) it is read: past these it is
# refused with the limit named, so a hostile or broken file cannot take the machine's memory.
MAX_FILE_MB = 1024
MAX_ROWS = 2_000_000
MAX_COLUMNS = 500
MAX_LINE_MB = 8
MAX_XLSX_EXPANDED_MB = 256
MAX_NEW_STAGES = 50
LIMITS = (
    f"at most {MAX_FILE_MB:,} MB a file ({MAX_UPLOAD_MB} MB uploaded on the Data page), "
    f"{MAX_ROWS:,} rows, {MAX_COLUMNS} columns, {MAX_LINE_MB} MB a line, {MAX_CELL_CHARS:,} "
    f"characters a cell, {MAX_XLSX_EXPANDED_MB} MB a workbook once unzipped"
)


XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0"
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}

csv.field_size_limit(sys.maxsize)


class ImportRejectedError(Exception):
    """The file cannot be read at all (empty, not a table, ...); the message says why."""


MB = 1024 * 1024


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


def read_table(data: bytes, name: str = "file", sheet: str | None = None) -> RawTable:
    """Read CSV or XLSX bytes (told apart by their first bytes, not by the file name).

    Raises `ImportRejectedError` for a file that holds no table: empty, header only, binary, an old
    .xls, a zip that is not a workbook, rows longer than the header.
    """
    if not data:
        raise ImportRejectedError(f"{name} is empty (0 bytes): there is nothing to import.")
    if len(data) > MAX_FILE_MB * MB:
        raise ImportRejectedError(
            f"{name} is {len(data) / MB:,.0f} MB, over the {MAX_FILE_MB:,} MB a file may be "
            f"(limits: {LIMITS}). Split it into smaller files."
        )
    if data.startswith(XLS_MAGIC):
        raise ImportRejectedError(
            f"{name} is an old Excel 97-2003 (.xls) workbook; save it as .xlsx or CSV first."
        )
    if data.startswith(XLSX_MAGIC):
        return _read_xlsx(data, name, sheet)
    return _read_csv(data, name)


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
            if rows > MAX_ROWS + 1 or columns > MAX_COLUMNS:
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
    _check_table(frame, name)
    frame = frame.select(pl.all().cast(pl.String))
    lines = pl.Series("line", range(2, frame.height + 2), dtype=pl.Int64)
    return RawTable(frame, lines, name, tuple(notes), sheets, chosen)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _check_lines(data: bytes, name: str) -> None:
    """Refuse a line longer than `MAX_LINE_MB`, found without splitting the file: from each
    line start, the last line break within the limit is looked for backwards."""
    limit, start = MAX_LINE_MB * MB, 0
    while len(data) - start > limit:
        end = data.rfind(b"\n", start, start + limit + 1)
        if end == -1:
            raise ImportRejectedError(
                f"{name}: line {_line_of(data, start):,} is longer than {MAX_LINE_MB} MB "
                f"(limits: {LIMITS}); is it a table at all?"
            )
        start = end + 1


def _decode(data: bytes, name: str) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportRejectedError(
            f"{name} is UTF-16 text (it starts with a UTF-16 byte order mark): save it as "
            "CSV UTF-8 (or Windows-1252) and import it again."
        )
    if (nul := data.find(b"\x00")) != -1:
        raise ImportRejectedError(
            f"{name} is a binary file (it holds NUL bytes, the first on line "
            f"{_line_of(data, nul):,}), not a CSV or XLSX table."
        )
    _check_lines(data, name)
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8", errors="strict"), "UTF-8 with BOM"
        except UnicodeDecodeError as e:
            raise ImportRejectedError(
                f"{name} starts with a UTF-8 byte order mark, but line {_line_of(data, e.start + 3):,} "
                f"holds byte 0x{data[e.start + 3]:02X}, which is not UTF-8 (mixed encodings?): "
                "save the file again as CSV UTF-8."
            ) from e
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1"


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most, and equally many, fields."""
    sample = text[:65_536].splitlines()[:30]
    best, best_score = ",", (False, 0)
    for d in DELIMITERS:
        counts = [len(r) for r in csv.reader(sample, delimiter=d)]
        if not counts:
            continue
        consistent = len(set(counts[: len(counts) - 1] or counts)) == 1 and counts[0] > 1
        score = (consistent, counts[0])
        if score > best_score:
            best, best_score = d, score
    return best


def _python_rows(text: str, delimiter: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, non-blank rows and the line each row starts on (quoted cells may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader)
    rows: list[list[str]] = []
    starts: list[int] = []
    previous_end = reader.line_num
    for row in reader:
        if row:
            rows.append(row)
            starts.append(previous_end + 1)
        previous_end = reader.line_num
    return header, rows, starts


def _without_empty_rows(frame: pl.DataFrame, lines: pl.Series) -> tuple[pl.DataFrame, pl.Series, int]:
    """Rows with no value at all (blank lines, Excel's trailing ',,,,') are not data."""
    empty = frame.select(pl.all_horizontal(pl.all().is_null()).alias("empty"))["empty"]
    skipped = int(empty.sum())
    if not skipped:
        return frame, lines, 0
    return frame.filter(~empty), lines.filter(~empty), skipped


def _read_csv(data: bytes, name: str) -> RawTable:
    """Polars reads the text; Python's csv module is only asked where rows do not map to lines.

    That slower pass (quoted line breaks, blank lines, ragged rows) finds each row's line and
    the rows longer than the header, which cannot be put in columns.
    """
    text, encoding = _decode(data, name)
    if not text or text.isspace():
        raise ImportRejectedError(f"{name} holds only blank lines: there is nothing to import.")
    if "\r" in text and "\n" not in text:  # classic Mac line ends (Excel's "CSV (Macintosh)")
        text = text.replace("\r", "\n")
        encoding += ", CR line ends"
    delimiter = _sniff_delimiter(text)
    recoded = encoding not in ("UTF-8", "UTF-8 with BOM")
    source = text.encode("utf-8") if recoded else data
    try:
        frame: pl.DataFrame | None = pl.read_csv(
            source,
            separator=delimiter,
            infer_schema=False,
            empty_string_is_null=True,
            truncate_ragged_lines=False,
            raise_if_empty=False,
        )
    except pl.exceptions.ComputeError:
        frame = None  # ragged or oddly quoted: read again below, row by row
    notes = [f"Read as CSV: {encoding}, {DELIMITERS[delimiter]}-delimited."]
    lines = text.count("\n") + (not text.endswith("\n"))
    short_rows: pl.DataFrame | None = None
    if frame is not None and lines == frame.height + 1:
        starts = pl.int_range(2, frame.height + 2, eager=True).alias("line")
        short_rows = _short_lines(text, frame, delimiter)
        if any('""' in c for c in frame.columns):
            # Polars keeps a quoted header's doubled quotes (`Date entered ""Won""`); the csv
            # module reads the header row as a spreadsheet does.
            header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
            frame.columns = _unique_names(header)
    else:
        # Rows that do not map to lines (quoted line breaks, blank or ragged lines): Python's
        # csv module reads them, slower but exact about lines and field counts.
        header, rows, start_lines = _python_rows(text, delimiter)
        ragged = [
            f"line {line} has {len(row)} fields, the header has {len(header)}"
            for line, row in zip(start_lines, rows, strict=True)
            if len(row) > len(header)
        ]
        if ragged:
            more = f"; and {len(ragged) - 10} more" if len(ragged) > 10 else ""
            raise ImportRejectedError(
                f"{name}: rows longer than the header, so their values cannot be put in columns "
                f"({'; '.join(ragged[:10])}{more}). Quote values that contain the delimiter "
                f"({DELIMITERS[delimiter]})."
            )
        short = [
            (line, len(row))
            for line, row in zip(start_lines, rows, strict=True)
            if 0 < len(row) < len(header)
        ]
        short_rows = _short_frame(short, len(header))
        names = _unique_names(header)
        frame = pl.DataFrame(
            {n: [row[i] or None if i < len(row) else None for row in rows] for i, n in enumerate(names)},
            schema=dict.fromkeys(names, pl.String),
        )
        starts = pl.Series("line", start_lines, dtype=pl.Int64)
    frame, starts, skipped = _without_empty_rows(frame, starts)
    if skipped:
        notes.append(f"{plural(skipped, 'empty row')} skipped.")
    _check_table(frame, name)
    return RawTable(frame, starts, name, tuple(notes), short_rows=short_rows)


def _short_frame(short: Sequence[tuple[int, int]], header: int) -> pl.DataFrame:
    """Rows with fewer fields than the header as (line, fields, header)."""
    frame = pl.DataFrame(short, schema={"line": pl.Int64, "fields": pl.Int64}, orient="row")
    return frame.with_columns(header=pl.lit(header, dtype=pl.Int64))


def _short_lines(text: str, frame: pl.DataFrame, delimiter: str) -> pl.DataFrame | None:
    """Rows Polars padded with empty cells because the line had fewer fields than the header.

    Only rows whose last cell came out empty can be short; their delimiters are counted, and a
    line with quotes (a delimiter may sit inside one) is read by the csv module alone.
    """
    if frame.width < 2 or not frame[frame.columns[-1]].null_count():
        return None
    rows = frame.select(pl.int_range(pl.len()).alias("row"), pl.col(frame.columns[-1]).is_null())
    candidates = rows.filter(pl.col(frame.columns[-1]))["row"]
    body = pl.Series(text.split("\n")[1 : frame.height + 1]).gather(candidates).str.strip_suffix("\r")
    fields = body.str.count_matches(delimiter, literal=True) + 1
    quoted = body.str.contains('"', literal=True)
    counted = [
        (row + 2, len(next(csv.reader([line], delimiter=delimiter))) if q else n)
        for row, line, n, q in zip(candidates, body, fields, quoted, strict=True)
        if line.strip()  # a blank line is no row (`_without_empty_rows`)
    ]
    short = [(line, n) for line, n in counted if n < frame.width]
    return _short_frame(short, frame.width) if short else None


def _unique_names(header: list[str]) -> list[str]:
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


def _check_table(frame: pl.DataFrame, name: str) -> None:
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
