"""Reading a CSV file in bounded steps, so memory grows with the table it holds and no more.

Why this shape: a 300 MB export used to be held three times over (its bytes, its decoded text
and its lines as Python strings) besides Polars' own buffers, about 1.6 GB. Now one pass over
the bytes, a megabyte at a time, finds what refuses a file (UTF-16, NUL bytes, a line over
`MAX_LINE_MB`, a UTF-8 BOM before other bytes) and how to decode it; a file that is not UTF-8
(or has classic Mac line ends) is recoded to a temporary UTF-8 file in the same steps; Polars
then reads `CHUNK_BYTES` of whole lines at a time. Where rows do not map to lines (quoted line
breaks, blank or ragged lines) Python's csv module reads the rows, also in batches. What is held
at once is the table itself plus one chunk, whatever the file's size.

>>> raw = read_csv(io.BytesIO(b"id;name\\r\\n1;Acme\\r\\n"), "a.csv")
>>> raw.frame.rows(), raw.notes
([('1', 'Acme')], ('Read as CSV: UTF-8, semicolon-delimited.',))
"""

from __future__ import annotations

import codecs
import csv
import io
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import polars as pl

from funnel.importers.report import plural
from funnel.importers.table import (
    LIMITS,
    MAX_LINE_MB,
    MAX_ROWS,
    MB,
    Cells,
    ImportRejectedError,
    RawTable,
    check_size,
    check_table,
    short_frame,
    unique_names,
    without_empty_rows,
)

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
SCAN_BYTES = MB  # at most MAX_LINE_MB: a line over the limit then spans several steps
CHUNK_BYTES = 16 * MB
WHOLE_BYTES = 4 * CHUNK_BYTES
ROW_BATCH = 100_000
# Bytes Windows-1252 leaves undefined: a file holding one is read as Latin-1.
CP1252_UNDEFINED = b"\x81\x8d\x8f\x90\x9d"

csv.field_size_limit(sys.maxsize)


@dataclass(frozen=True)
class Scan:
    """What one pass over a CSV file's bytes found: how to decode it and how its lines end."""

    encoding: str
    codec: str
    line_ends: int
    ends_with_line_end: bool
    cr_only: bool
    quotes: int
    size: int


def scan(f: BinaryIO, name: str) -> Scan:
    """Refuse a file that is no text table, and find its encoding, in one pass of `SCAN_BYTES`
    steps: UTF-16, NUL bytes (the first one's line), a line longer than `MAX_LINE_MB` (found
    without splitting the file), a UTF-8 BOM before bytes that are not UTF-8. Otherwise UTF-8,
    else Windows-1252, else Latin-1, as a person saving from Excel would have written it."""
    head = f.read(3)
    f.seek(0)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportRejectedError(
            f"{name} is UTF-16 text (it starts with a UTF-16 byte order mark): save it as "
            "CSV UTF-8 (or Windows-1252) and import it again."
        )
    limit = MAX_LINE_MB * MB
    newlines = crs = quotes = run = size = 0
    long_line: int | None = None
    utf8_error: tuple[int, int] | None = None
    pending, cp1252, last = b"", True, b""
    while block := f.read(SCAN_BYTES):
        if (nul := block.find(b"\x00")) != -1:
            line = newlines + block.count(b"\n", 0, nul) + 1
            raise ImportRejectedError(
                f"{name} is a binary file (it holds NUL bytes, the first on line {line:,}), "
                "not a CSV or XLSX table."
            )
        first = block.find(b"\n")
        run += len(block) if first == -1 else first
        if run > limit and long_line is None:
            long_line = newlines + 1
        if first != -1:
            run = len(block) - block.rfind(b"\n") - 1
        if utf8_error is None:
            buf = pending + block
            try:
                buf.decode("utf-8")
                pending = b""
            except UnicodeDecodeError as e:
                if e.reason == "unexpected end of data" and e.end == len(buf):
                    pending = buf[e.start :]
                else:
                    at = e.start - len(pending)
                    utf8_error = (newlines + block.count(b"\n", 0, max(at, 0)) + 1, buf[e.start])
        cp1252 = cp1252 and len(block.translate(None, CP1252_UNDEFINED)) == len(block)
        newlines += block.count(b"\n")
        crs += block.count(b"\r")
        quotes += block.count(b'"')
        size += len(block)
        last = block[-1:]
    if pending and utf8_error is None:
        utf8_error = (newlines + 1, pending[0])
    f.seek(0)
    if long_line is not None:
        raise ImportRejectedError(
            f"{name}: line {long_line:,} is longer than {MAX_LINE_MB} MB (limits: {LIMITS}); is "
            "it a table at all?"
        )
    bom = head == b"\xef\xbb\xbf"
    if bom and utf8_error is not None:
        line, byte = utf8_error
        raise ImportRejectedError(
            f"{name} starts with a UTF-8 byte order mark, but line {line:,} holds byte "
            f"0x{byte:02X}, which is not UTF-8 (mixed encodings?): save the file again as CSV UTF-8."
        )
    if utf8_error is None:
        encoding, codec = ("UTF-8 with BOM", "utf-8-sig") if bom else ("UTF-8", "utf-8")
    else:
        encoding, codec = ("Windows-1252", "cp1252") if cp1252 else ("Latin-1", "latin-1")
    cr_only = bool(crs) and not newlines
    ends = last == (b"\r" if cr_only else b"\n")
    return Scan(encoding, codec, crs if cr_only else newlines, ends, cr_only, quotes, size)


def _texts(f: BinaryIO, codec: str) -> Iterator[str]:
    """The file's text in `SCAN_BYTES` steps (a character cut between two steps is kept whole)."""
    decoder = codecs.getincrementaldecoder(codec)()
    while block := f.read(SCAN_BYTES):
        yield decoder.decode(block)
    yield decoder.decode(b"", final=True)
    f.seek(0)


def _blank(f: BinaryIO, codec: str) -> bool:
    """Whether the text holds nothing but white space (read only up to its first other character)."""
    blank = all(not text or text.isspace() for text in _texts(f, codec))
    f.seek(0)
    return blank


@contextmanager
def utf8_source(f: BinaryIO, found: Scan) -> Iterator[tuple[BinaryIO, str]]:
    """The file as UTF-8 bytes and the codec to read them: itself when it is UTF-8, else a
    temporary file recoded step by step (classic Mac line ends become line feeds), removed after."""
    if found.codec in ("utf-8", "utf-8-sig") and not found.cr_only:
        yield f, found.codec
        return
    with tempfile.TemporaryFile(prefix="funnel-import-") as recoded:
        for text in _texts(f, found.codec):
            recoded.write((text.replace("\r", "\n") if found.cr_only else text).encode("utf-8"))
        recoded.seek(0)
        yield recoded, "utf-8"


@contextmanager
def _text(source: BinaryIO, codec: str) -> Iterator[io.TextIOWrapper]:
    """`source` read as text, as the csv module wants it (newline=""), from its start; `source`
    stays open and rewound afterwards."""
    source.seek(0)
    text = io.TextIOWrapper(source, encoding=codec, newline="")
    try:
        yield text
    finally:
        text.detach()
        source.seek(0)


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the first lines into the most, and equally many, fields."""
    lines = sample[:65_536].splitlines()[:30]
    best, best_score = ",", (False, 0)
    for d in DELIMITERS:
        counts = [len(r) for r in csv.reader(lines, delimiter=d)]
        if not counts:
            continue
        consistent = len(set(counts[: len(counts) - 1] or counts)) == 1 and counts[0] > 1
        score = (consistent, counts[0])
        if score > best_score:
            best, best_score = d, score
    return best


def _line_chunks(source: BinaryIO, whole: bool) -> Iterator[bytes]:
    """`source` in about `CHUNK_BYTES` of whole lines at a time, each cut after a line feed outside
    quotes (an even count of quote characters before it); `whole` reads it in one piece, for a
    file whose quotes do not pair up (a cut could then fall inside a quoted value)."""
    if whole:
        yield source.read()
        return
    carry = b""
    while block := source.read(CHUNK_BYTES):
        buf = carry + block
        cut = buf.rfind(b"\n")
        while cut != -1 and buf.count(b'"', 0, cut) % 2:
            cut = buf.rfind(b"\n", 0, cut)
        if cut == -1:
            carry = buf
            continue
        yield buf[: cut + 1]
        carry = buf[cut + 1 :]
    if carry:
        yield carry


class _Gathered:
    """A table as its parts are read: their cells staged (`Cells`), the line each row starts on
    kept, the empty rows skipped and counted."""

    def __init__(self, names: list[str], name: str) -> None:
        self.cells = Cells(names)
        self.name = name
        self.lines: list[pl.Series] = []
        self.read = 0
        self.skipped = 0

    def add(self, part: pl.DataFrame, lines: pl.Series) -> None:
        self.read += part.height
        part, lines, skipped = without_empty_rows(part, lines)
        self.skipped += skipped
        if self.read - self.skipped > MAX_ROWS:  # refused as soon as it is known, not at the end
            check_size(self.cells.columns, self.read - self.skipped, self.name, more=True)
        self.cells.add(part)
        self.lines.append(lines)

    def table(self, notes: list[str], short_rows: pl.DataFrame | None) -> RawTable:
        if self.skipped:
            notes.append(f"{plural(self.skipped, 'empty row')} skipped.")
        lines = pl.concat(self.lines) if self.lines else pl.Series("line", [], dtype=pl.Int64)
        check_table(self.cells.columns, len(lines), self.name)
        return RawTable(self.cells.done(), lines, self.name, tuple(notes), short_rows=short_rows)


def _polars_cells(
    source: BinaryIO, delimiter: str, whole: bool, name: str
) -> tuple[_Gathered, np.ndarray] | None:
    """The table as Polars reads it, chunk by chunk, each row taken as one line, with the file
    lines (0: the header) of the rows whose last cell is empty; None where Polars cannot read
    it (ragged or oddly quoted rows), for the csv module to read instead."""
    gathered: _Gathered | None = None
    schema: dict[str, pl.DataType] = {}
    empty_last: list[np.ndarray] = []
    try:
        for chunk in _line_chunks(source, whole):
            part = pl.read_csv(
                chunk,
                separator=delimiter,
                has_header=gathered is None,
                schema=schema or None,
                infer_schema=False,
                empty_string_is_null=True,
                truncate_ragged_lines=False,
                raise_if_empty=False,
                missing_columns="insert",  # a chunk that starts with a short row
            )
            if gathered is None:
                schema = dict.fromkeys(part.columns, pl.String())
                gathered = _Gathered(part.columns, name)
            elif part.width != len(schema):
                return None
            first = gathered.read
            empty_last.append(np.flatnonzero(part[:, -1].is_null().to_numpy()) + first + 1)
            lines = pl.int_range(first + 2, first + 2 + part.height, eager=True).alias("line")
            gathered.add(part, lines)
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError):
        return None  # a row longer than the header, or quotes Polars cannot pair
    finally:
        source.seek(0)
    if gathered is None:
        return None
    return gathered, np.concatenate(empty_last)


def _short_lines(
    source: BinaryIO, wanted: np.ndarray, width: int, delimiter: str
) -> pl.DataFrame | None:
    """Rows Polars padded with empty cells because the line had fewer fields than the header.

    Only rows whose last cell came out empty can be short (in a leads export, most rows: an
    empty last date); `wanted` holds their file lines (0: the header). Their delimiters are
    counted by numpy over `CHUNK_BYTES` of lines at a time, and a line with quotes (a delimiter
    may sit inside one) or without any delimiter (it may be blank, which is no row:
    `without_empty_rows`) is read by the csv module alone. Here each row is one line; the file
    is read in steps, not held.
    """
    if width < 2 or not wanted.size:
        return None
    short: list[tuple[int, int]] = []
    first_line, carry = 0, b""
    while True:
        block = source.read(CHUNK_BYTES)
        buf = carry + block
        cut = buf.rfind(b"\n") + 1 if block else len(buf)
        lines, carry = buf[:cut], buf[cut:]
        if not lines:
            if block:
                continue  # no line ends yet: read on
            break
        data = np.frombuffer(lines, dtype=np.uint8)
        ends = np.flatnonzero(data == ord("\n"))
        if not block and (not ends.size or ends[-1] != data.size - 1):
            ends = np.append(ends, data.size)  # the last line, without a line end
        starts = np.concatenate(([0], ends[:-1] + 1))
        here = wanted[(wanted >= first_line) & (wanted < first_line + ends.size)] - first_line
        if here.size:
            at, to = starts[here], ends[here]
            delimiters = np.flatnonzero(data == ord(delimiter))
            quotes = np.flatnonzero(data == ord('"'))
            fields = np.searchsorted(delimiters, to) - np.searchsorted(delimiters, at) + 1
            plain = (np.searchsorted(quotes, to) == np.searchsorted(quotes, at)) & (fields > 1)
            cut_short = plain & (fields < width)
            lines_short = (first_line + here[cut_short] + 1).tolist()
            short += zip(lines_short, fields[cut_short].tolist(), strict=True)
            for local in here[~plain].tolist():
                text = lines[starts[local] : ends[local]].decode("utf-8").removesuffix("\r")
                if text.strip():
                    n = len(next(csv.reader([text], delimiter=delimiter)))
                    if n < width:
                        short.append((first_line + local + 1, n))
        first_line += ends.size
        if not block:
            break
    source.seek(0)
    short.sort()
    return short_frame(short, width) if short else None


def _python_cells(
    source: BinaryIO, codec: str, delimiter: str, name: str
) -> tuple[_Gathered, pl.DataFrame]:
    """The table as Python's csv module reads it, exact about lines and field counts: its cells,
    the line each row starts on (quoted cells may span lines; blank lines are no rows) and the
    rows shorter than the header. Rows are gathered `ROW_BATCH` at a time."""
    with _text(source, codec) as text:
        reader = csv.reader(text, delimiter=delimiter)
        header = next(reader)
        names = unique_names(header)
        gathered = _Gathered(names, name)
        rows: list[list[str]] = []
        starts: list[int] = []
        ragged: list[str] = []
        ragged_count = 0
        short: list[tuple[int, int]] = []

        def flush() -> None:
            gathered.add(
                pl.DataFrame(
                    {
                        n: [row[i] or None if i < len(row) else None for row in rows]
                        for i, n in enumerate(names)
                    },
                    schema=dict.fromkeys(names, pl.String),
                ),
                pl.Series("line", starts, dtype=pl.Int64),
            )
            rows.clear()
            starts.clear()

        previous_end = reader.line_num
        for row in reader:
            if row:
                line = previous_end + 1
                if len(row) > len(header):
                    ragged_count += 1
                    if len(ragged) < 10:
                        ragged.append(f"line {line} has {len(row)} fields, the header has {len(header)}")
                elif not ragged_count:
                    if len(row) < len(header):
                        short.append((line, len(row)))
                    rows.append(row)
                    starts.append(line)
                    if len(rows) == ROW_BATCH:
                        flush()
            previous_end = reader.line_num
    if ragged:
        more = f"; and {ragged_count - 10} more" if ragged_count > 10 else ""
        raise ImportRejectedError(
            f"{name}: rows longer than the header, so their values cannot be put in columns "
            f"({'; '.join(ragged)}{more}). Quote values that contain the delimiter "
            f"({DELIMITERS[delimiter]})."
        )
    flush()
    return gathered, short_frame(short, len(header))


def read_csv(f: BinaryIO, name: str) -> RawTable:
    """Read a CSV file from `f` (a file or the bytes of an upload), within `LIMITS`.

    Polars reads the text; Python's csv module is only asked where rows do not map to lines.
    """
    found = scan(f, name)
    if _blank(f, found.codec):
        raise ImportRejectedError(f"{name} holds only blank lines: there is nothing to import.")
    encoding = found.encoding + (", CR line ends" if found.cr_only else "")
    with utf8_source(f, found) as (source, codec):
        with _text(source, codec) as text:
            delimiter = sniff_delimiter(text.read(65_536))
        # Quotes that do not pair up leave Polars the file in one piece; past `WHOLE_BYTES` the
        # csv module reads such a file instead, in batches, so it never sits in memory whole.
        odd = bool(found.quotes % 2)
        read = None if odd and found.size > WHOLE_BYTES else _polars_cells(source, delimiter, odd, name)
        lines = found.line_ends + (not found.ends_with_line_end)
        if read is not None and lines == read[0].read + 1:
            gathered, empty_last = read
            short_rows = _short_lines(source, empty_last, len(gathered.cells.columns), delimiter)
            if any('""' in c for c in gathered.cells.columns):
                # Polars keeps a quoted header's doubled quotes (`Date entered ""Won""`); the csv
                # module reads the header row as a spreadsheet does.
                with _text(source, codec) as text:
                    gathered.cells.columns = unique_names(next(csv.reader(text, delimiter=delimiter)))
        else:
            gathered, short_rows = _python_cells(source, codec, delimiter, name)
    notes = [f"Read as CSV: {encoding}, {DELIMITERS[delimiter]}-delimited."]
    return gathered.table(notes, short_rows)
