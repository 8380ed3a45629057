"""A CRM export (CSV or XLSX bytes) -> a validated frame of our fields + a report, then one commit.

Why this shape: a user's file is read once, as text only (every column a string), so nothing is
guessed behind their back; each of our fields is then parsed with vectorised Polars expressions
that also say, row by row, why a value was refused. The dry run is that validation; the commit
writes the validated frame in one transaction (`store.import_leads` / `store.import_deals`), so a
rejected file leaves the store exactly as it was.

>>> raw = read_table(b"Lead ID,Create Date\\nL1,2026-11-02\\n", name="leads.csv")
>>> suggest_mapping(raw.frame.columns, "leads")
{'external_id': 'Lead ID', 'created': 'Create Date'}
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import sys
import zipfile
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, Literal

import polars as pl
from sqlite_utils import Database

from funnel import clock, scoring, store
from funnel.models import DEAL_FIELDS, LEAD_FIELDS, Field, Rule, Stage
from funnel.stages import PipelineFigures, edited_stages, validate_stages

Kind = Literal["leads", "deals"]
DateOrder = Literal["mdy", "dmy"]
UnknownStages = Literal["reject", "create", "map"]
Progress = Callable[[float, str], None]

FIELDS: dict[str, tuple[Field, ...]] = {"leads": LEAD_FIELDS, "deals": DEAL_FIELDS}
PLACEHOLDERS = ("", "select", "n/a", "#n/a", "-", "--", "null")
PLACEHOLDER_RE = "(?i)^(?:" + "|".join(re.escape(p) for p in PLACEHOLDERS) + ")$"
PLACEHOLDER_BYTES = max(len(p) for p in PLACEHOLDERS)
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
SHOWN_PROBLEMS = 50
NON_NEGATIVE = frozenset(
    {
        "company_size",
        "page_views",
        "pricing_page_visits",
        "emails_opened",
        "clicks",
        "downloads",
        "time_on_site",
        "value",
    }
)
XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0"
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}

csv.field_size_limit(sys.maxsize)


class ImportRejectedError(Exception):
    """The file cannot be read at all (empty, not a table, ...); the message says why."""


# --- reading the file ---------------------------------------------------------------------------


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


# --- mapping ------------------------------------------------------------------------------------

PRESETS: dict[str, dict[Kind, dict[str, str]]] = {
    "HubSpot": {
        "leads": {
            "Record ID": "external_id",
            "Email": "email",
            "Job Title": "job_title",
            "Company Name": "company",
            "Number of Employees": "company_size",
            "Industry": "industry",
            "Country/Region": "country",
            "Original Source": "source",
            "Contact owner": "owner",
            "Create Date": "created",
            "Last Activity Date": "last_activity",
            "Number of Pageviews": "page_views",
            "Marketing emails opened": "emails_opened",
            "Marketing emails clicked": "clicks",
            "Marketing emails bounced": "bounced",
            "Unsubscribed from all email": "unsubscribed",
            "Became a Sales Qualified Lead Date": "sql_at",
            "Became a Customer Date": "converted_at",
            "Lifecycle Stage": "outcome",
        },
        "deals": {
            "Record ID": "external_id",
            "Deal Name": "name",
            "Associated Company": "company",
            "Deal owner": "owner",
            "Amount": "value",
            "Deal Stage": "stage",
            "Deal probability": "probability",
            "Create Date": "created",
            "Close Date": "expected_close",
        },
    },
    "Pipedrive": {
        "leads": {
            "Person - ID": "external_id",
            "Person - Email": "email",
            "Person - Job title": "job_title",
            "Person - Organization": "company",
            "Person - Owner": "owner",
            "Person - Person created": "created",
            "Person - Last activity date": "last_activity",
            "Organization - Number of employees": "company_size",
            "Organization - Industry": "industry",
        },
        "deals": {
            "Deal - ID": "external_id",
            "Deal - Title": "name",
            "Deal - Organization": "company",
            "Deal - Owner": "owner",
            "Deal - Value": "value",
            "Deal - Stage": "stage",
            "Deal - Probability": "probability",
            "Deal - Deal created": "created",
            "Deal - Expected close date": "expected_close",
            "Deal - Deal closed on": "closed_at",
        },
    },
    "Salesforce": {
        "leads": {
            "Lead ID": "external_id",
            "Email": "email",
            "Title": "job_title",
            "Company / Account": "company",
            "No. of Employees": "company_size",
            "Industry": "industry",
            "Country": "country",
            "Lead Source": "source",
            "Lead Owner": "owner",
            "Create Date": "created",
            "Last Activity": "last_activity",
            "Converted": "outcome",
            "Converted Date": "converted_at",
        },
        "deals": {
            "Opportunity ID": "external_id",
            "Opportunity Name": "name",
            "Account Name": "company",
            "Opportunity Owner": "owner",
            "Amount": "value",
            "Stage": "stage",
            "Probability (%)": "probability",
            "Created Date": "created",
            "Close Date": "expected_close",
        },
    },
}

SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_id": ("id", "lead id", "deal id", "contact id", "record id", "crm id"),
    "email": ("e-mail", "email address", "mail"),
    "job_title": ("title", "job", "position", "role"),
    "company": ("company name", "organization", "organisation", "account", "account name"),
    "company_size": ("employees", "number of employees", "headcount", "size"),
    "country": ("country/region", "nation"),
    "source": ("lead source", "origin", "channel"),
    "owner": ("lead owner", "deal owner", "rep", "sales rep"),
    "created": ("create date", "created date", "created at", "date created", "creation date"),
    "last_activity": ("last activity date", "last activity", "last touch"),
    "page_views": ("pageviews", "page views", "pages viewed"),
    "pricing_page_visits": ("pricing visits", "pricing page views"),
    "emails_opened": ("email opens", "opens"),
    "clicks": ("email clicks", "links clicked"),
    "time_on_site": ("minutes on site", "time spent"),
    "fit": ("fit score",),
    "interest": ("interest score", "engagement score"),
    "outcome": ("converted", "result", "won"),
    "name": ("deal name", "title", "opportunity name"),
    "value": (
        "amount",
        "deal value",
        "revenue",
        "opportunity amount",
        "close value",
        "expected revenue",
        "deal amount",
    ),
    "stage": ("deal stage", "pipeline stage", "status"),
    "probability": ("win probability", "probability (%)"),
    "expected_close": ("close date", "expected close date", "expected close"),
    "closed_at": ("closed date", "closed on", "won time", "close time"),
}


def plural(n: int, noun: str, nouns: str = "") -> str:
    """'1 bad row', '3 bad rows': counts in messages read as a person would write them."""
    return f"{n:,} {noun if n == 1 else nouns or noun + 's'}"


def _norm(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def detect_preset(columns: Sequence[str], kind: Kind) -> str | None:
    """The CRM whose export headers the file's columns match best (at least three of them)."""
    have = {_norm(c) for c in columns}
    hits = {crm: sum(_norm(h) in have for h in kinds[kind]) for crm, kinds in PRESETS.items()}
    crm, n = max(hits.items(), key=lambda kv: kv[1])
    return crm if n >= 3 else None


def preset_note(columns: Sequence[str], kind: Kind) -> str:
    """Why the mapping form comes pre-filled, or "" when no CRM's export headers match."""
    preset = detect_preset(columns, kind)
    return f"Looks like a {preset} export: the mapping is pre-filled from its headers." if preset else ""


def suggest_mapping(columns: Sequence[str], kind: Kind) -> dict[str, str]:
    """Our field -> the file's column, from the detected CRM preset, then from name similarity.

    Each file column is used once; a field no column resembles stays unmapped.
    """
    by_norm = {_norm(c): c for c in columns}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    preset = detect_preset(columns, kind)
    if preset:
        for header, ours in PRESETS[preset][kind].items():
            col = by_norm.get(_norm(header))
            if col and ours not in mapping and col not in used:
                mapping[ours] = col
                used.add(col)
    for f in FIELDS[kind]:
        if f.name in mapping:
            continue
        names = [_norm(n) for n in (f.name, *SYNONYMS.get(f.name, ()))]
        free = [n for n in by_norm if by_norm[n] not in used]
        exact = next((n for n in names if n in free), None)
        close = exact or next(
            (m[0] for n in names if (m := difflib.get_close_matches(n, free, n=1, cutoff=0.85))),
            None,
        )
        if close:
            mapping[f.name] = by_norm[close]
            used.add(by_norm[close])
    order = [c for c in columns]
    return dict(sorted(mapping.items(), key=lambda kv: order.index(kv[1])))


def mapping_table(kind: Kind, mapping: dict[str, str]) -> pl.DataFrame:
    """Our fields, one row each, with the file column mapped to it: what the mapping form edits."""
    return pl.DataFrame(
        {
            "field": [f.name for f in FIELDS[kind]],
            "column": [mapping.get(f.name) for f in FIELDS[kind]],
            "required": [f.required for f in FIELDS[kind]],
            "type": [f.dtype for f in FIELDS[kind]],
            "meaning": [f.meaning for f in FIELDS[kind]],
        },
        schema_overrides={"column": pl.String},
    )


def mapping_columns(columns: Sequence[str]) -> dict[str, str | dict[str, object] | None]:
    """How the mapping form shows `mapping_table` (for `ui.column_config`): each field's file
    column is chosen among the file's `columns`, and the meaning gets the room to be read."""
    return {
        "column": {"kind": "select", "label": "file column", "options": list(columns)},
        "meaning": {"kind": "text", "width": "large"},
    }


MAPPING_LOCKED = ("field", "type", "required", "meaning")


def mapping_from_table(table: pl.DataFrame) -> dict[str, str]:
    """The mapping back from the edited form: fields with a column chosen."""
    return {f: c for f, c in table.select("field", "column").rows() if c}


def preview(raw: RawTable, kind: Kind, mapping: dict[str, str], rows: int = 10) -> pl.DataFrame:
    """The first rows as mapped: our field names over the file's values, before parsing."""
    known = [f.name for f in FIELDS[kind] if mapping.get(f.name) in raw.frame.columns]
    return raw.frame.head(rows).select(
        pl.Series("line", raw.lines.head(rows)), *[pl.col(mapping[n]).alias(n) for n in known]
    )


MB = 1024 * 1024
DATE_ORDER_LABELS: dict[str, str] = {"mdy": "M/D/YYYY", "dmy": "D/M/YYYY"}
UNKNOWN_STAGE_LABELS: dict[str, str] = {
    "reject": "Reject those deals",
    "create": "Create a pipeline from the stages found",
    "map": "Map each to an existing stage",
}


def oversize_message(size: int) -> str:
    """Why an upload of `size` bytes is refused before it is read, or "" when it fits: a browser
    upload that large would hold the whole file in the server's memory; the command line streams."""
    if size <= MAX_UPLOAD_MB * MB:
        return ""
    return (
        f"This file is {size / MB:,.0f} MB, over the {MAX_UPLOAD_MB} MB limit: "
        "split it, or import it with `python -m funnel import`."
    )


def parse_range(text: str) -> tuple[float, float] | None:
    """A score scale typed as "lo:hi"; None when left empty (the scale is then judged from the
    values). Raises ValueError when the text is not such a range, so the form can say so."""
    if not text.strip():
        return None
    lo, _, hi = text.partition(":")
    return float(lo), float(hi)


def range_error(text: str) -> str:
    """Why a typed score scale cannot be used, said under its input, or "" when it is empty or a
    range like 0:10."""
    try:
        parse_range(text)
    except ValueError:
        return f"'{text}' is not a range like 0:10."
    return ""


def parse_ranges(typed: dict[str, str]) -> dict[str, tuple[float, float]]:
    """Axis -> scale for the scales typed per axis; an empty or malformed one is left out, so that
    axis is judged from the values (`range_error` tells the user about a malformed one)."""
    return {
        axis: scale
        for axis, text in typed.items()
        if not range_error(text) and (scale := parse_range(text))
    }


def pipeline_ids(targets: pl.DataFrame) -> dict[str, int]:
    """Pipeline name -> id, in the store's order, from `store.import_targets`: the choices a deals
    import can be sent to."""
    return dict(targets.select("pipeline", "pipeline_id").unique(maintain_order=True).rows())


def read_once(
    state: MutableMapping[str, Any], key: tuple[str, str | None], data: Callable[[], bytes], name: str
) -> RawTable | ImportRejectedError:
    """The upload read once per (file id, sheet) `key`, kept in `state` (the page's session) with
    its refusal if any, so a rerun does not parse the file again. A new file or sheet drops the
    previous dry run, which no longer describes what would be imported. `name` is only a label."""
    if state.get("data_raw_key") != key:
        try:
            state["data_raw"] = read_table(data(), name, key[1])
        except ImportRejectedError as e:
            state["data_raw"] = e
        state["data_raw_key"] = key
        state.pop("data_prepared", None)
    raw: RawTable | ImportRejectedError = state["data_raw"]
    return raw


def record_dry_run(state: MutableMapping[str, Any], prepared: Prepared, options: Options) -> None:
    """Keep a dry run in `state` with the options it checked, so a later change of mapping or
    options shows it stale; the summary of an earlier import no longer applies."""
    state["data_prepared"] = prepared
    state["data_options"] = options
    state.pop("data_done", None)


def dry_run_status(
    state: MutableMapping[str, Any], options: Options
) -> tuple[Prepared | None, bool, bool]:
    """The dry run kept in `state` (None before any), whether it is stale (checked with other
    options than `options`, the ones on the form now) and whether it may be imported: only a
    fresh dry run that found nothing blocking."""
    prepared: Prepared | None = state.get("data_prepared")
    stale = state.get("data_options") != options
    return prepared, stale, prepared is not None and prepared.report.ok and not stale


def record_import(state: MutableMapping[str, Any], done: Report, counts: dict[str, int]) -> None:
    """Keep what an import wrote and the store's counts after it, to show on the next run; the dry
    run it imported is spent."""
    state["data_done"] = (done, counts)
    state.pop("data_prepared")


def done_metrics(counts: dict[str, int], figures: PipelineFigures | None) -> list[list[tuple[str, str]]]:
    """Rows of (label, value) shown after an import: the store's counts, then for a deals import
    what its pipeline now adds up to (`figures`, None for leads)."""
    rows = [[(name.capitalize(), f"{counts[name]:,}") for name in ("pipelines", "deals", "leads")]]
    if figures is not None:
        rows.append([(label, f"${value:,.0f}") for label, value in headline_figures(figures)])
    return rows


def headline_figures(figures: PipelineFigures) -> tuple[tuple[str, float], ...]:
    """Label and amount of the three figures shown after a deals import, so the user sees at once
    what the pipeline now adds up to."""
    return (
        ("Closed won", figures.closed_won),
        ("Open pipeline", figures.open_pipeline),
        ("Weighted pipeline", figures.weighted_pipeline),
    )


def mapped_pipeline(ids: dict[str, int], chosen: str, previous: Prepared | None) -> int | None:
    """The pipeline whose stages unknown stages can be mapped to: the one chosen by name in `ids`,
    else the one the last dry run matched (None before any)."""
    return ids.get(chosen) or (previous.pipeline_id if previous else None)


def pipeline_stage_names(targets: pl.DataFrame, pipeline_id: int | None) -> list[str]:
    """The stages of one pipeline from `store.import_targets`: what an unknown stage can map to."""
    return targets.filter(pl.col("pipeline_id") == pipeline_id)["stage"].drop_nulls().to_list()


# --- validation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StagePlan:
    """How deal stages meet a pipeline: which pipeline, and what to do with unknown stages.

    `unknown`: "reject" refuses deals in a stage the pipeline lacks; "create" makes a new pipeline
    named `new_pipeline` from the stages found (won and lost told by their names, open ones in
    `order` when given, else in `typical_order`); "map" sends each unknown stage to the existing
    stage named in `stage_map`.
    """

    pipeline_id: int | None = None
    unknown: UnknownStages = "reject"
    new_pipeline: str = ""
    stage_map: dict[str, str] = field(default_factory=dict)
    order: tuple[str, ...] = ()


@dataclass(frozen=True)
class Options:
    """What the user chose: the mapping, date order for ambiguous columns, score ranges, stages,
    and for deals whether a file without a value column may be imported at $0 (`no_values`)."""

    mapping: dict[str, str]
    date_order: dict[str, DateOrder] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    stages: StagePlan = field(default_factory=StagePlan)
    no_values: bool = False


@dataclass
class Report:
    """What the dry run or the commit found; `ok` when nothing blocks the commit.

    `problems` holds every bad row (line, column, value, reason); `blocking` the file-level
    reasons (a required field not mapped, ambiguous dates, unknown stages to decide on).
    """

    kind: Kind
    name: str
    rows: int = 0
    problems: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(
            schema={"line": pl.Int64, "column": pl.String, "value": pl.String, "reason": pl.String}
        )
    )
    blocking: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ambiguous_dates: list[str] = field(default_factory=list)
    unknown_stages: dict[str, int] = field(default_factory=dict)
    generated_ids: bool = False
    scales: dict[str, tuple[str, float, float]] = field(default_factory=dict)
    to_add: int = 0
    to_update: int = 0
    committed: bool = False
    pipeline_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.blocking and self.problems.is_empty()

    def summary(self) -> str:
        """One sentence: what was (or would be) written, or why nothing was."""
        if not self.ok:
            bad = self.problems["line"].n_unique()
            parts = [plural(bad, "bad row")] if bad else []
            parts += (
                [plural(len(self.blocking), "thing to fix or choose", "things to fix or choose")]
                if self.blocking
                else []
            )
            return f"{self.name}: rejected, nothing written ({', '.join(parts)})."
        verb = ("added", "updated") if self.committed else ("would add", "would update")
        return (
            f"{self.name}: {self.rows:,} {self.kind} read; {verb[0]} {self.to_add:,}, "
            f"{verb[1]} {self.to_update:,}."
        )

    def text(self, limit: int = SHOWN_PROBLEMS) -> str:
        """The whole report as plain text (what the command line prints)."""
        out = [self.summary()]
        out += [f"error: {b}" for b in self.blocking]
        for line, column, value, reason in self.problems.head(limit).iter_rows():
            out.append(f"line {line}, column '{column}': {reason} (value: {value!r})")
        if self.problems.height > limit:
            out.append(f"... and {self.problems.height - limit:,} more problems.")
        out += [f"warning: {w}" for w in self.warnings]
        out += [f"note: {n}" for n in self.notes]
        return "\n".join(out)


@dataclass
class Prepared:
    """A validated file: our typed fields, one row per file row, ready for the commit."""

    kind: Kind
    frame: pl.DataFrame
    report: Report
    pipeline_id: int | None = None
    new_pipeline: str = ""
    new_stages: tuple[Stage, ...] = ()
    history: pl.DataFrame | None = None


US_NUMBER = r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d*)(?:\.\d+)?$"
EU_NUMBER = r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d*)(?:,\d+)?$"
SCI_NUMBER = r"^[+-]?\d+(?:\.\d+)?[eE][+-]?\d+$"
TIME = r"(?:[T ,]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?: ?[AaPp][Mm])?(?:Z|[+-]\d{2}:?\d{2})?)?$"
ISO_DATE = r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})" + TIME
SLASH_DATE = r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})" + TIME
TRUE_WORDS = ("true", "yes", "y", "1", "x", "t", "oui")
FALSE_WORDS = ("false", "no", "n", "0", "f", "non")
CONVERTED_WORDS = (*TRUE_WORDS, "won", "converted", "closed won", "customer")
# HubSpot's lifecycle stages, as its exports spell them, spaces and case aside. A contact that
# reached an opportunity or became a customer counts as converted; the earlier stages say
# nothing of the outcome yet, so they stay unknown (HubSpot has no "lost" lifecycle stage).
LIFECYCLE_CONVERTED = ("opportunity", "customer", "evangelist")
LIFECYCLE_UNDECIDED = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "other")
LIFECYCLE_RULE = (
    "'{column}' is read as HubSpot's lifecycle stage: Opportunity, Customer and Evangelist count "
    "as converted; Subscriber, Lead, MQL, SQL and Other leave the outcome unknown."
)
LOST_WORDS = (*FALSE_WORDS, "lost", "not converted", "closed lost", "unconverted")
WON_STAGE = re.compile(r"\b(won|gagn|signed|customer)\b|closed[ -]?won", re.IGNORECASE)
LOST_STAGE = re.compile(r"\b(lost|perdu|churn\w*|dead)\b|closed[ -]?lost", re.IGNORECASE)


def _cleaned(column: str) -> pl.Expr:
    """Trimmed text with placeholders ("N/A", "Select", "-", "null", empty) read as missing."""
    s = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(s.str.contains(PLACEHOLDER_RE)).then(None).otherwise(s).alias(column)


def _clean_columns(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """`_cleaned` for every column that needs it: one parallel pass finds which hold padded
    values or placeholders, and only those are rewritten (most columns of a clean file are not).
    """

    def padded(c: str) -> pl.Expr:
        return pl.any_horizontal(
            pl.col(c).str.starts_with(w) | pl.col(c).str.ends_with(w) for w in (" ", "\t")
        ).any()

    def placeholder(c: str) -> pl.Expr:
        # Only values as short as the longest placeholder can be one: the regex skips the rest.
        short = pl.col(c).filter(pl.col(c).str.len_bytes() <= PLACEHOLDER_BYTES)
        return short.str.contains(PLACEHOLDER_RE).any()

    if not columns:
        return frame.select()
    needs = frame.select(padded(c) | placeholder(c) for c in columns).row(0)
    return frame.select(
        _cleaned(c) if need else pl.col(c) for c, need in zip(columns, needs, strict=True)
    )


def _no_reason(n: int) -> pl.Series:
    return pl.repeat(None, n, dtype=pl.String, eager=True)


def _problems(lines: pl.Series, column: str, raw: pl.Series, reason: pl.Series) -> pl.DataFrame:
    if reason.null_count() == len(reason):
        return Report("leads", "").problems
    frame = pl.DataFrame({"line": lines, "value": raw.cast(pl.String), "reason": reason})
    return (
        frame.filter(pl.col("reason").is_not_null())
        .with_columns(
            pl.lit(column).alias("column"),
            pl.col("value").fill_null("").str.slice(0, 60),
        )
        .select("line", "column", "value", "reason")
    )


def _parse_number(
    s: pl.Series, label: str, report: Report, semicolon_file: bool
) -> tuple[pl.Series, pl.Series]:
    """Numbers with thousands separators, decimal comma or point, currency and % signs; NaN,
    infinities (1e309 overflows to one) and magnitudes past `MAX_NUMBER` are bad rows, so no
    sum of values can overflow."""
    if not semicolon_file:
        plain_number = s.cast(pl.Float64, strict=False)
        if plain_number.null_count() == s.null_count():
            return _finite(plain_number, _no_reason(len(s)))
    t = s.str.replace_all(r"[\s\u00a0\u202f'$€£¥%]", "")
    us_only = int((t.str.contains(US_NUMBER) & ~t.str.contains(EU_NUMBER)).sum())
    eu_only = int((t.str.contains(EU_NUMBER) & ~t.str.contains(US_NUMBER)).sum())
    comma = eu_only > us_only or (eu_only == us_only and semicolon_file)
    if comma:
        report.notes.append(f"'{label}': decimal comma read (1.234,5 means 1234.5).")
        plain = t.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
        ok = t.str.contains(EU_NUMBER) | t.str.contains(SCI_NUMBER)
    else:
        plain = t.str.replace_all(",", "", literal=True)
        ok = t.str.contains(US_NUMBER) | t.str.contains(SCI_NUMBER)
    value = plain.set(~ok.fill_null(False) | (plain == ""), None)
    number = value.cast(pl.Float64, strict=False)
    reason = pl.select(
        pl.when(s.is_not_null() & number.is_null()).then(pl.lit("not a number"))
    ).to_series()
    return _finite(number, reason)


MAX_NUMBER = 1e15
# Right-to-left overrides and isolates make a name display other than it is stored
# ("Trojan Source"): a file holding them is refused, not shown.
BIDI_CONTROLS = "[\u202a-\u202e\u2066-\u2069]"


def _finite(number: pl.Series, reason: pl.Series) -> tuple[pl.Series, pl.Series]:
    """`number` with NaN, infinities and magnitudes over `MAX_NUMBER` made bad rows."""
    bad = pl.select(
        pl.when(number.is_nan() | number.is_infinite())
        .then(pl.lit("not a finite number"))
        .when(number.abs() > MAX_NUMBER)
        .then(pl.lit(f"too large (at most {MAX_NUMBER:.0e} in size)"))
    ).to_series()
    if bad.null_count() == len(bad):
        return number, reason
    return number.set(bad.is_not_null(), None), reason.fill_null(bad)


def _file_date_order(raw: RawTable, date_columns: Sequence[str]) -> DateOrder | None:
    """The order every unambiguous slash-date column of the file agrees on, if they agree.

    One export writes all its dates one way, so a column of days <= 12 follows its neighbours.
    """
    seen: set[DateOrder] = set()
    for column in date_columns:
        slash = raw.frame.select(_cleaned(column))[column].str.extract_groups(SLASH_DATE)
        if bool((slash.struct.field("1").cast(pl.Int64) > 12).any()):
            seen.add("dmy")
        if bool((slash.struct.field("2").cast(pl.Int64) > 12).any()):
            seen.add("mdy")
    return seen.pop() if len(seen) == 1 else None


def _parse_dates(
    s: pl.Series,
    f: Field,
    label: str,
    options: Options,
    report: Report,
    file_order: Callable[[], DateOrder | None],
) -> tuple[pl.Series, pl.Series]:
    """ISO, M/D/YYYY or D/M/YYYY dates (times dropped); the order of a column is decided once."""
    iso_only = s.str.to_date("%Y-%m-%d", strict=False)
    if iso_only.null_count() == s.null_count():
        return _plausible(iso_only, _no_reason(len(s)))
    iso = s.str.extract_groups(ISO_DATE)
    slash = s.str.extract_groups(SLASH_DATE)
    a = slash.struct.field("1").cast(pl.Int64)
    b = slash.struct.field("2").cast(pl.Int64)
    day_first = int((a > 12).sum())
    month_first = int((b > 12).sum())
    chosen: DateOrder | None = options.date_order.get(f.name)
    order = chosen
    conflict = _no_reason(len(s))
    if chosen is not None and not day_first and not month_first and int(a.is_not_null().sum()):
        report.ambiguous_dates.append(f.name)  # still asked, so the choice stays on screen
    if order is None:
        if day_first and month_first:
            order = "dmy" if day_first > month_first else "mdy"
            wrong = (b > 12) if order == "dmy" else (a > 12)
            conflict = pl.select(
                pl.when(wrong).then(
                    pl.lit(
                        "mixed date formats: reads as month/day but most rows are day/month"
                        if order == "dmy"
                        else "mixed date formats: reads as day/month but most rows are month/day"
                    )
                )
            ).to_series()
        elif day_first:
            order = "dmy"
        elif month_first:
            order = "mdy"
        elif int(a.is_not_null().sum()) and (agreed := file_order()):
            order = agreed
            report.notes.append(f"'{label}': no day above 12, so read like the file's other dates.")
        elif int(a.is_not_null().sum()):
            report.ambiguous_dates.append(f.name)
            report.blocking.append(
                f"'{label}' ({f.name}): dates like '{s.filter(a.is_not_null())[0]}' read as "
                "month/day or day/month; no day above 12 tells which. Choose the order (M/D/YYYY "
                "or D/M/YYYY)."
            )
            order = "mdy"
    if (order and int(a.is_not_null().sum()) and f.name not in report.ambiguous_dates) or chosen:
        report.notes.append(f"'{label}': dates read as {'D/M/YYYY' if order == 'dmy' else 'M/D/YYYY'}.")
    day, month = (a, b) if order == "dmy" else (b, a)
    year = slash.struct.field("3").cast(pl.Int64)
    year = pl.select(pl.when(year < 100).then(year + 2000).otherwise(year)).to_series()
    frame = pl.DataFrame(
        {
            "y": iso.struct.field("1").cast(pl.Int64).fill_null(year),
            "m": iso.struct.field("2").cast(pl.Int64).fill_null(month),
            "d": iso.struct.field("3").cast(pl.Int64).fill_null(day),
        }
    )
    text = frame.select(
        pl.format(
            "{}-{}-{}",
            pl.col("y").cast(pl.String).str.zfill(4),
            pl.col("m").cast(pl.String).str.zfill(2),
            pl.col("d").cast(pl.String).str.zfill(2),
        )
    ).to_series()
    dates = text.str.to_date("%Y-%m-%d", strict=False)
    clock = s.str.extract_groups(r"[T ,]+(\d{1,2}):(\d{2})")
    bad_time = (clock.struct.field("1").cast(pl.Int64) > 23) | (
        clock.struct.field("2").cast(pl.Int64) > 59
    )
    reason = pl.select(
        pl.when(conflict.is_not_null())
        .then(conflict)
        .when(s.is_not_null() & dates.is_null())
        .then(pl.lit("not a date (expected YYYY-MM-DD, M/D/YYYY or D/M/YYYY)"))
        .when(bad_time.fill_null(False))
        .then(pl.lit("not a time of day (hours 0..23, minutes 0..59)"))
    ).to_series()
    return _plausible(dates, reason)


FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2100, 12, 31)


def _plausible(dates: pl.Series, reason: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Dates outside `FIRST_DAY`..`LAST_DAY` (year 0000, 9999) are bad rows: no CRM record is
    from then, and such a date would stretch every period and chart."""
    outside = (dates < FIRST_DAY) | (dates > LAST_DAY)
    bad = pl.select(
        pl.when(outside).then(pl.lit(f"not a plausible date (between {FIRST_DAY} and {LAST_DAY})"))
    ).to_series()
    return dates.set(outside.fill_null(False), None), reason.fill_null(bad)


def one_sided_outcomes(outcome: pl.Series | None) -> str | None:
    """What to say when the known outcomes are all of one kind (a lifecycle stage names no lost
    lead): a back-test over them reads 100 % or 0 % conversion and a lift of 1, which measure
    nothing. None when both kinds are there, or no outcome is known at all.

    >>> one_sided_outcomes(pl.Series(["converted", None, "converted"]))[:46]
    '2 leads with a known outcome, all converted: n'
    """
    if outcome is None:
        return None
    kinds = outcome.drop_nulls().value_counts()
    if kinds.height != 1:
        return None
    kind, count = kinds.row(0)
    other = "lost" if kind == "converted" else "converted"
    return (
        f"{plural(count, 'lead')} with a known outcome, all {kind}: no lead is known as {other}, "
        "so conversion rates and lift cannot be measured."
    )


def _lifecycle_outcome(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """A HubSpot lifecycle stage to an outcome (`LIFECYCLE_RULE`); any other word is a bad row."""
    key = s.str.to_lowercase().str.replace_all(r"[^a-z]", "")
    out = pl.select(
        pl.when(key.is_in(LIFECYCLE_CONVERTED)).then(pl.lit("converted")).otherwise(None)
    ).to_series()
    known = key.is_in([*LIFECYCLE_CONVERTED, *LIFECYCLE_UNDECIDED])
    reason = pl.select(
        pl.when(s.is_not_null() & ~known).then(
            pl.lit("not a HubSpot lifecycle stage (Subscriber, Lead, … Opportunity, Customer)")
        )
    ).to_series()
    return out, reason


def _parse_words(
    s: pl.Series, yes: Sequence[str], no: Sequence[str], values: tuple[object, object], expected: str
) -> tuple[pl.Series, pl.Series]:
    """Words to two values, case aside ('Yes', 'TRUE', 'won' ...); anything else is a bad row."""
    spellings = {w: v for words, v in ((yes, values[0]), (no, values[1])) for w in words}
    dtype = pl.Boolean if isinstance(values[0], bool) else pl.String
    # The usual spellings first, in one pass; lower-casing only for columns that need it.
    cased = {c: v for w, v in spellings.items() for c in (w, w.upper(), w.title())}
    out = s.replace_strict(cased, default=None, return_dtype=dtype)
    if int((s.is_not_null() & out.is_null()).sum()):
        out = s.str.to_lowercase().replace_strict(spellings, default=None, return_dtype=dtype)
    reason = pl.select(
        pl.when(s.is_not_null() & out.is_null()).then(pl.lit(f"not {expected}"))
    ).to_series()
    return out, reason


USUAL_SCALES = (1.0, 5.0, 10.0, 20.0, 100.0)


def _rescale(
    number: pl.Series, f: Field, label: str, options: Options, report: Report
) -> tuple[pl.Series, pl.Series]:
    """A ready-made fit or interest score on any scale -> 0..100, by the stated or observed range.

    Without a stated range the scale is the smallest usual one that holds every value (0..1,
    0..5, 0..10, 0..20, 0..100), else the observed range: a score of 11..20 is read on 0..20,
    so the sliders' 0..100 spans it usefully instead of leaving it in their top fifth.
    """
    none = _no_reason(len(number))
    if number.null_count() == len(number):
        return number, none
    if f.name in options.ranges:
        lo, hi = options.ranges[f.name]
        how = "the stated range"
    else:
        lo_seen, hi_seen = float(number.min()), float(number.max())  # type: ignore[arg-type]
        usual = next((top for top in USUAL_SCALES if lo_seen >= 0 and hi_seen <= top), None)
        lo, hi = (0.0, usual) if usual is not None else (lo_seen, hi_seen)
        how = "the smallest usual scale that holds its values" if usual else "the observed values"
    if hi <= lo:
        report.blocking.append(f"'{label}' ({f.name}): the range {lo:g}..{hi:g} is empty.")
        return number, none
    report.scales[f.name] = (label, lo, hi)
    outside = (number < lo) | (number > hi)
    reason = pl.select(
        pl.when(outside).then(pl.lit(f"outside the stated range {lo:g}..{hi:g}"))
    ).to_series()
    override = (
        f" Another scale: the scale field on the Data page, or --{f.name}-range LOW:HIGH."
        if how != "the stated range"
        else ""
    )
    if (lo, hi) != (0.0, 100.0):
        report.notes.append(
            f"'{label}' ({f.name}): read on a {lo:g}..{hi:g} scale (from {how}) and rescaled to "
            f"0..100.{override}"
        )
    else:
        report.notes.append(f"'{label}' ({f.name}): already on a 0..100 scale, kept as is.{override}")
    return ((number - lo) / (hi - lo) * 100).round(6), reason


def validate(
    db: Database,
    raw: RawTable,
    kind: Kind,
    options: Options,
    progress: Progress | None = None,
    history: RawTable | None = None,
) -> Prepared:
    """The dry run: parse every mapped column, report every bad row, write nothing.

    For deals, `history` is a stage-history file read beside them (`history_file`).
    """
    report = Report(kind, raw.name, rows=raw.frame.height, notes=list(raw.notes))
    mapping = {k: v for k, v in options.mapping.items() if v}
    fields = {f.name: f for f in FIELDS[kind]}
    for ours, theirs in mapping.items():
        if ours not in fields:
            report.blocking.append(
                f"'{ours}' is not one of our {kind} fields (see `python -m funnel fields {kind}`)."
            )
        elif theirs not in raw.frame.columns:
            report.blocking.append(
                f"The mapping sends '{ours}' to column '{theirs}', which the file does not have "
                f"(its columns: {', '.join(c[:200] for c in raw.frame.columns[:12])})."
            )
    for theirs in {t for t in mapping.values() if list(mapping.values()).count(t) > 1}:
        both = [o for o, t in mapping.items() if t == theirs]
        report.blocking.append(
            f"Column '{theirs[:200]}' is mapped to {len(both)} fields ({', '.join(both)}): map it "
            "to one field only."
        )
    # A leads file without creation dates is dated at the import (`_date_at_import`); a file of
    # one column is more likely split on the wrong delimiter, and says so.
    undated = kind == "leads" and "created" not in mapping and raw.frame.width > 1
    for f in fields.values():
        if f.required and f.name not in mapping and not (undated and f.name == "created"):
            hint = (
                f" The file has a single column '{raw.frame.columns[0][:60]}': is it delimited "
                "by something other than comma, semicolon or tab?"
                if raw.frame.width == 1
                else f" Map one of its columns: {', '.join(c[:200] for c in raw.frame.columns[:12])}."
            )
            report.blocking.append(f"Required field '{f.name}' is not mapped.{hint}")
    if not mapping and not report.blocking:
        report.blocking.append(
            "No column of the file is mapped to a field of ours, so there is nothing to import. "
            f"Its columns: {', '.join(c[:200] for c in raw.frame.columns[:12])}."
        )
    if report.blocking:
        return Prepared(kind, pl.DataFrame(), report)
    if unmapped := [c for c in raw.frame.columns if c not in set(mapping.values())]:
        shown = ", ".join(f"'{c[:200]}'" for c in unmapped[:20])
        more = f" and {len(unmapped) - 20:,} more" if len(unmapped) > 20 else ""
        report.notes.append(
            f"{len(unmapped):,} of the file's columns are not imported, no field of ours being "
            f"mapped to them: {shown}{more}."
        )

    semicolon = any("semicolon" in n for n in raw.notes)
    date_columns = [theirs for ours, theirs in mapping.items() if fields[ours].dtype == "date"]
    cleaned = _clean_columns(raw.frame, list(dict.fromkeys(mapping.values())))
    text_columns: list[str] = []
    columns: dict[str, pl.Series] = {}
    found: list[pl.DataFrame] = []
    for i, (ours, theirs) in enumerate(mapping.items()):
        if progress:
            progress(0.5 * i / len(mapping), f"Checking {theirs}")
        f = fields[ours]
        original = raw.frame[theirs]
        s = cleaned[theirs]
        if f.dtype in ("int", "float"):
            number, reason = _parse_number(s, theirs, report, semicolon)
            if f.name in ("fit", "interest"):
                number, range_reason = _rescale(number, f, theirs, options, report)
                reason = reason.fill_null(range_reason)
            elif f.name == "probability":
                top = number.max()
                fractions = bool((number.fill_null(0) % 1 != 0).any())
                if isinstance(top, float) and top <= 1 and fractions:
                    number = number * 100
                    report.notes.append(f"'{theirs}': probabilities read as fractions, ×100.")
                reason = reason.fill_null(
                    pl.select(
                        pl.when((number < 0) | (number > 100)).then(
                            pl.format("probability {} is outside 0..100", number)
                        )
                    ).to_series()
                )
            elif f.name in NON_NEGATIVE:
                reason = reason.fill_null(
                    pl.select(
                        pl.when(number < 0).then(pl.lit("negative (must be 0 or more)"))
                    ).to_series()
                )
            if f.dtype == "int":
                reason = reason.fill_null(
                    pl.select(pl.when(number % 1 != 0).then(pl.lit("not a whole number"))).to_series()
                )
                number = number.round(0).cast(pl.Int64, strict=False)
            columns[ours] = number
        elif f.dtype == "date":
            columns[ours], reason = _parse_dates(
                s, f, theirs, options, report, lambda: _file_date_order(raw, date_columns)
            )
        elif f.dtype == "bool":
            columns[ours], reason = _parse_words(s, TRUE_WORDS, FALSE_WORDS, (True, False), "yes/no")
        elif f.name == "outcome" and _norm(theirs) == "lifecyclestage":
            columns[ours], reason = _lifecycle_outcome(s)
            report.notes.append(LIFECYCLE_RULE.format(column=theirs[:200]))
        elif f.name == "outcome":
            columns[ours], reason = _parse_words(
                s,
                CONVERTED_WORDS,
                LOST_WORDS,
                ("converted", "lost"),
                "an outcome (0/1, yes/no, true/false, won/lost, converted)",
            )
        elif f.name == "sal_status":
            columns[ours], reason = _parse_words(
                s,
                ("accepted", "accept", *TRUE_WORDS),
                ("rejected", "reject", *FALSE_WORDS),
                ("accepted", "rejected"),
                "'accepted' or 'rejected'",
            )
        else:
            # Bytes bound characters from above: most columns skip counting characters.
            too_long = (s.str.len_bytes().max() or 0) > MAX_CELL_CHARS  # type: ignore[operator]
            length = s.str.len_chars() if too_long else pl.repeat(0, len(s), eager=True)
            reason = pl.select(
                pl.when(length > MAX_CELL_CHARS)
                .then(pl.format(f"too long: {{}} characters (at most {MAX_CELL_CHARS:,})", length))
                .when(s.str.contains(BIDI_CONTROLS))
                .then(pl.lit("holds an invisible text-direction control (U+202A..E, U+2066..9)"))
            ).to_series()
            columns[ours] = s.set(length > MAX_CELL_CHARS, None)
            text_columns.append(theirs)
        if f.required:
            reason = reason.fill_null(
                pl.select(pl.when(s.is_null()).then(pl.lit("missing (required)"))).to_series()
            )
        found.append(_problems(raw.lines, theirs, original, reason))

    if raw.short_rows is not None:
        # A row cut short lost its last fields, or its values sit under the wrong columns.
        found.append(
            raw.short_rows.select(
                "line",
                pl.lit("(row)").alias("column"),
                pl.lit("").alias("value"),
                pl.format("{} fields, the header has {}", "fields", "header").alias("reason"),
            )
        )
    _text_warnings(cleaned.select(text_columns), report)
    frame = pl.DataFrame(columns)
    if all(c.null_count() == len(c) for c in columns.values()):
        report.warnings.append("Every mapped value is empty or a placeholder (N/A, Select, -, null).")
    outcome = frame.get_column("outcome") if "outcome" in frame.columns else None
    if warning := one_sided_outcomes(outcome):
        report.warnings.append(f"Outcomes: {warning}")
    if "external_id" in frame.columns:
        found.append(_duplicate_ids(frame["external_id"], raw.lines, mapping["external_id"]))
    else:
        report.generated_ids = True
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        frame = frame.with_columns(
            pl.format("{}-{}-{}", pl.lit(_stem(raw.name)), pl.lit(stamp), pl.Series(raw.lines)).alias(
                "external_id"
            )
        )
        report.warnings.append(
            "The file has no id column: each row gets a generated id, so importing this file "
            "again adds its rows again instead of updating them."
        )
    report.problems = pl.concat(found).sort("line", maintain_order=True)
    prepared = Prepared(kind, frame, report)
    if kind == "deals":
        plan = _named_pipeline(db, raw, options.stages, report)
        reached = _status_column(raw, prepared, mapping)
        passed = [m[1].strip() for c in raw.frame.columns if (m := DATE_ENTERED.match(c))]
        if history is not None and (named := _history_columns(history)) is not None:
            passed += history.frame[named["stage"]].drop_nulls().unique(maintain_order=True).to_list()
        _plan_stages(db, prepared, plan, mapping["stage"], raw.lines, passed)
        if reached is not None:
            _last_stage_history(db, prepared, reached)
        _entered_columns(db, raw, prepared, options, lambda: _file_date_order(raw, date_columns))
        if history is not None:
            history_file(db, history, prepared, options)
        if prepared.history is not None and prepared.new_stages and not plan.order:
            _order_from_history(prepared)
        if "value" not in mapping and options.no_values:
            report.warnings.append(
                "No column is mapped to 'value': every deal is imported worth $0, as confirmed."
            )
        elif "value" not in mapping:
            report.blocking.append(NO_VALUE_COLUMN)
    else:
        _score_notes(db, prepared, mapping)
    if progress:
        progress(0.5, "Checked")
    existing = store.external_ids(db, kind)
    prepared.report.to_update = int(prepared.frame["external_id"].is_in(existing.implode()).sum())
    prepared.report.to_add = prepared.frame.height - prepared.report.to_update
    if undated:
        _date_at_import(prepared)
    return prepared


def _date_at_import(prepared: Prepared) -> None:
    """Leads from a file with no creation date are created on the day of the import, stated.

    Leads the file would update keep their own dates: rather than replace them with today's,
    such a file is refused until a creation date column is mapped.
    """
    report = prepared.report
    if report.to_update:
        report.blocking.append(
            f"The file has no creation date column and {report.to_update:,} of its leads "
            "already exist: map their creation date, or they would all be dated today."
        )
        return
    today = clock.today()
    prepared.frame = prepared.frame.with_columns(pl.lit(today).alias("created"))
    report.warnings.append(
        f"No creation date column: every lead is dated at the import, {today:%d %b %Y}. Figures "
        "by creation date (capacity per week, interest decay, forecast windows, the period "
        "filter) see them all on that one day."
    )


AXIS_FIELDS = ("fit", "interest")


def scores_only(frame: pl.DataFrame) -> bool:
    """Whether a leads file brings ready-made fit and interest scores (on some rows at least)."""
    return all(c in frame.columns and frame[c].null_count() < frame.height for c in AXIS_FIELDS)


def _score_notes(db: Database, prepared: Prepared, mapping: dict[str, str]) -> None:
    """Count the leads of the file that will stay unscored, and say so before anything is written.

    They are scored as the MQL page will score them: with the store's latest rules, with none
    when the file brings both scores into a store without a model (the import saves a rule-less
    one), else with the default rules the MQL page offers to start from.
    """
    frame = prepared.frame
    latest = store.latest_model_version(db)
    if latest is not None:
        rules: Sequence[Rule] = store.rules(db, latest)
    elif scores_only(frame):
        rules = ()
        prepared.report.notes.append(
            "The store has no scoring model yet: the import saves one with no rules (v1), so the "
            "MQL page uses these scores at once; add rules there to score the leads left empty."
        )
    else:
        rules = scoring.DEFAULT_RULES
    read = {"email" if r.field in scoring.DERIVED_FIELDS else r.field for r in rules}
    needed = [*AXIS_FIELDS, *sorted(read)]
    # A field the file did not map is empty on every lead (text: the rules cast it as they read).
    missing = [c for c in needed if c not in frame.columns]
    present = frame.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in missing)
    scored = scoring.score_leads(present, rules, 0, clock.today())
    unscored = int(scored.select((~scoring.is_scored()).sum()).item())
    if not unscored:
        return
    columns = [f"'{mapping[c]}'" for c in AXIS_FIELDS if c in mapping]
    empty = f"{' / '.join(columns)} empty" if columns else "no score column mapped"
    prepared.report.warnings.append(
        f"{plural(unscored, 'lead')} of {frame.height:,} will have no score ({empty}, and no "
        "value in any field the scoring rules read): they are imported unscored, left out of "
        "the MQL figures and the SAL queue, never given a made-up score."
    )


def _stem(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "-", name.rsplit(".", 1)[0]).strip("-")
    return stem[:30] or "import"


FORMULA_RE = r"^(?:[=+@\t\r]|-[^0-9])"
HTML_RE = r"(?i)<\s*/?\s*(script|[a-z]+[^>]*)>"


def _text_warnings(text: pl.DataFrame, report: Report) -> None:
    """Say which text columns hold formula-like or HTML values (kept as text, never run)."""
    if text.width == 0:
        return
    counts = text.select(
        *[pl.col(c).str.contains(FORMULA_RE).sum().alias(f"f{i}") for i, c in enumerate(text.columns)],
        *[pl.col(c).str.contains(HTML_RE).sum().alias(f"h{i}") for i, c in enumerate(text.columns)],
    ).row(0)
    for i, label in enumerate(text.columns):
        formulas, html = int(counts[i]), int(counts[text.width + i])
        if formulas:
            report.warnings.append(
                f"'{label}': {plural(formulas, 'value')} starting like a spreadsheet formula "
                "(=, +, -, @); they are stored as plain text and neutralised in every CSV export."
            )
        if html:
            report.warnings.append(
                f"'{label}': {plural(html, 'value')} with HTML or script tags; they are kept as "
                "plain text and never rendered as HTML."
            )


def _duplicate_ids(ids: pl.Series, lines: pl.Series, label: str) -> pl.DataFrame:
    if not ids.drop_nulls().is_duplicated().any():
        return Report("leads", "").problems
    frame = pl.DataFrame({"id": ids, "line": lines})
    first = frame.filter(pl.col("id").is_not_null()).group_by("id").agg(first=pl.col("line").min())
    dup = (
        frame.join(first, on="id")
        .filter(pl.col("line") != pl.col("first"))
        .select(
            "line",
            pl.lit(label).alias("column"),
            pl.col("id").alias("value"),
            pl.format("duplicate id (first on line {})", pl.col("first")).alias("reason"),
        )
    )
    return dup.with_columns(pl.col("line").cast(pl.Int64))


def stage_kind(name: str) -> Literal["open", "won", "lost"]:
    """Won or lost told by the stage's name (Won, Closed Won, Lost, Closed Lost, ...)."""
    if LOST_STAGE.search(name):
        return "lost"
    if WON_STAGE.search(name):
        return "won"
    return "open"


NO_VALUE_COLUMN = (
    "No column is mapped to 'value': every deal would be worth $0 (closed won, open pipeline and "
    "weighted pipeline all $0). Map the column that holds the deals' amounts, or confirm that the "
    "file has none (Data page: 'The file has no deal values'; command line: --no-values)."
)
# Words of open stage names in the order a sales funnel passes them (lower case, word starts).
TYPICAL_STAGE_WORDS = (
    "lead",
    "new",
    "prospect",
    "cold",
    "contact",
    "discover",
    "appointment",
    "qualif",
    "engag",
    "meeting",
    "need",
    "demo",
    "present",
    "trial",
    "pilot",
    "evaluat",
    "propos",
    "quote",
    "price",
    "decision",
    "negotiat",
    "commit",
    "contract",
    "closing",
)


def parse_stage_order(text: str) -> tuple[str, ...]:
    """A typed stage order, "Prospecting, Qualification, Proposal", as stage names.

    >>> parse_stage_order(" Prospecting,Qualification ,, Proposal")
    ('Prospecting', 'Qualification', 'Proposal')
    """
    return tuple(s.strip() for s in text.split(",") if s.strip())


def typical_order(names: Sequence[str]) -> list[str]:
    """Open stage names in funnel order, from the typical words they contain.

    A name takes the place of the first typical word it contains (prospect before qualify before
    demo before proposal before negotiate...); names with none keep their order, after the others.

    >>> typical_order(["Engaging", "Proposal/Price Quote", "Prospecting", "Other"])
    ['Prospecting', 'Engaging', 'Proposal/Price Quote', 'Other']
    """

    def rank(name: str) -> int:
        words = re.findall(r"[a-z]+", name.lower())
        return min(
            (i for i, w in enumerate(TYPICAL_STAGE_WORDS) if any(x.startswith(w) for x in words)),
            default=len(TYPICAL_STAGE_WORDS),
        )

    return sorted(names, key=rank)


def stages_from_names(names: Sequence[str], order: Sequence[str] = ()) -> tuple[Stage, ...]:
    """A new pipeline's stages from the names found: open ones in funnel order, won, then lost.

    The funnel order is `order` (the user's, case aside) when given, else `typical_order`; the
    order the names first appear in a file says nothing about the funnel. Open stages get an
    even probability ladder (10 % to 90 %), won 100 %, lost 0 %; the Stages page is where they
    get tuned.
    """
    found = [n for n in names if stage_kind(n) == "open"]
    wanted = [o.lower() for o in order]
    open_ = (
        sorted(found, key=lambda n: wanted.index(n.lower()) if n.lower() in wanted else len(wanted))
        if order
        else typical_order(found)
    )
    out = [Stage(n, round(10 + 80 * i / max(len(open_) - 1, 1)), "open") for i, n in enumerate(open_)]
    out += [Stage(n, 100, "won") for n in names if stage_kind(n) == "won"]
    out += [Stage(n, 0, "lost") for n in names if stage_kind(n) == "lost"]
    return tuple(out)


def pipeline_id(db: Database, name: str) -> int:
    """The id of the pipeline named `name`, for a user who names the pipeline deals go into."""
    found = store.import_targets(db).filter(pl.col("pipeline") == name)
    if found.is_empty():
        raise store.StoreError(f"There is no pipeline named '{name}'.")
    return int(found["pipeline_id"][0])


def _plan_stages(
    db: Database,
    prepared: Prepared,
    plan: StagePlan,
    label: str,
    lines: pl.Series,
    history_stages: Sequence[str] = (),
) -> None:
    report = prepared.report
    names = prepared.frame["stage"]
    found = [n for n in names.unique(maintain_order=True).to_list() if n is not None]
    targets = store.import_targets(db)
    pipeline_names = dict(targets.select("pipeline_id", "pipeline").unique().rows())
    pipeline_id = plan.pipeline_id
    if pipeline_id is None and pipeline_names:
        lowered = {n.lower() for n in found}
        hits = (
            targets.group_by("pipeline_id")
            .agg(hits=pl.col("stage").str.to_lowercase().is_in(list(lowered)).sum())
            .sort(["hits", "pipeline_id"], descending=[True, False])
        )
        pipeline_id = int(hits["pipeline_id"][0])
    stage_table = targets.filter(
        pl.col("pipeline_id").eq_missing(pipeline_id) & pl.col("stage").is_not_null()
    )
    canon = {k.lower(): k for k in stage_table["stage"].to_list()}
    # A deal a status column says was won or lost goes to the pipeline's won or lost stage.
    for kind in ("won", "lost"):
        of_kind = stage_table.filter(pl.col("kind") == kind)["stage"]
        if of_kind.len() and kind not in canon:
            canon[kind] = of_kind[0]
    unknown = [n for n in found if n.lower() not in canon]
    counts = names.value_counts()
    report.unknown_stages = {n: int(counts.filter(pl.col("stage") == n)["count"][0]) for n in unknown}
    pipeline_name = pipeline_names.get(pipeline_id)
    if plan.unknown == "create":
        name = plan.new_pipeline.strip()
        if not name:
            report.blocking.append("Name the pipeline to create from the stages found.")
        elif name in pipeline_names.values():
            report.blocking.append(f"A pipeline named '{name}' already exists; choose another name.")
        if len(found) > MAX_NEW_STAGES:
            report.blocking.append(
                f"'{label}' names {len(found):,} different stages; a new pipeline holds at most "
                f"{MAX_NEW_STAGES}. Is '{label}' really the stage column?"
            )
        # Stages only the history names (a deal passed them, none is in them now) belong too.
        lowered = {n.lower() for n in found}
        passed = [n for n in dict.fromkeys(history_stages) if n.lower() not in lowered]
        prepared.new_stages = stages_from_names([*found, *passed], plan.order)
        prepared.new_pipeline = name
        prepared.pipeline_id = None
        kinds = [s.kind for s in prepared.new_stages]
        opened = [s.name for s in prepared.new_stages if s.kind == "open"]
        strays = [o for o in plan.order if o.lower() not in {n.lower() for n in opened}]
        if strays:
            report.blocking.append(
                f"The stage order names {', '.join(strays)}, not open stages of the file "
                f"({', '.join(opened)})."
            )
        how = "in the order you gave" if plan.order else "in the typical order of their names"
        order = (
            f"; open stages {how}: {' → '.join(opened)}, at 10 %..90 % (change the order with "
            'the stage order field or --stage-order "A,B,C"; tune the probabilities on the '
            "Stages page)"
            if opened
            else ""
        )
        report.notes.append(
            f"New pipeline '{name}' from {len(found)} stages found ({kinds.count('won')} won, "
            f"{kinds.count('lost')} lost by their names){order}."
        )
    else:
        prepared.pipeline_id = pipeline_id
        mapped = {k.lower(): v for k, v in plan.stage_map.items()} if plan.unknown == "map" else {}
        bad_targets = sorted({v for v in mapped.values() if v.lower() not in canon})
        if bad_targets:
            report.blocking.append(
                f"Stages {', '.join(bad_targets)} are not stages of '{pipeline_name}'."
            )
        fixed = names.str.to_lowercase().replace_strict(
            {**{k: canon.get(v.lower(), v) for k, v in mapped.items()}, **canon}, default=None
        )
        reason = pl.select(
            pl.when(names.is_not_null() & fixed.is_null()).then(
                pl.lit(
                    f"stage not in pipeline '{pipeline_name}'"
                    if pipeline_name
                    else "no pipeline exists yet"
                )
            )
        ).to_series()
        report.problems = pl.concat([report.problems, _problems(lines, label, names, reason)]).sort(
            "line", maintain_order=True
        )
        prepared.frame = prepared.frame.with_columns(fixed.alias("stage"))
        if unknown and plan.unknown == "reject":
            report.blocking.append(
                f"{plural(len(unknown), 'stage')} not in pipeline '{pipeline_name or '(none)'}': "
                f"{', '.join(unknown[:10])}. Create a pipeline from the stages found, map each "
                "to an existing stage, or fix the file."
            )
    stage_kinds = {s.name: s.kind for s in prepared.new_stages} or dict(
        stage_table.select("stage", "kind").rows()
    )
    is_open = prepared.frame["stage"].replace_strict(stage_kinds, default="open") == "open"
    if "expected_close" in prepared.frame.columns and "closed_at" not in prepared.frame.columns:
        _split_close_dates(prepared, is_open)
    if "value" in prepared.frame.columns:
        no_value = int((is_open & prepared.frame["value"].is_null()).sum())
        if no_value:
            report.warnings.append(
                f"{plural(no_value, 'open deal')} without a value: imported, counted as 0 in "
                "the pipeline figures."
            )


DATE_ENTERED = re.compile(r"""(?i)^date entered\s*["'“]?(.+?)(?:\s*\([^)]*\))?["'”]?\s*$""")


def _stage_names(db: Database, prepared: Prepared) -> dict[str, str]:
    """The stages the deals go into, lower-cased name -> name: what history can refer to."""
    if prepared.new_stages:
        names = [s.name for s in prepared.new_stages]
    else:
        names = pipeline_stage_names(store.import_targets(db), prepared.pipeline_id)
    return {n.lower(): n for n in names}


def _entered_columns(
    db: Database,
    raw: RawTable,
    prepared: Prepared,
    options: Options,
    file_order: Callable[[], DateOrder | None],
) -> None:
    """Stage history from HubSpot's `Date entered "<stage> (<pipeline>)"` columns, one per stage.

    Each filled cell is the day a deal entered that stage: with them the computed probabilities
    and time in stage rest on the deals' real paths, not on the one stage each ends in. A column
    naming a stage the pipeline lacks is left out and named. Their dates are read in the order
    chosen for the deals' creation dates.
    """
    columns = {c: m[1].strip() for c in raw.frame.columns if (m := DATE_ENTERED.match(c))}
    if not columns:
        return
    report, known = prepared.report, _stage_names(db, prepared)
    strays = [c for c, stage in columns.items() if stage.lower() not in known]
    if strays:
        report.notes.append(
            f"{plural(len(strays), 'column')} {', '.join(repr(c) for c in strays)} name no stage "
            "of the pipeline: left out of the stage history."
        )
    used = [c for c in columns if c not in strays]
    if not used:
        return
    cleaned = _clean_columns(raw.frame, used)
    created = next(f for f in DEAL_FIELDS if f.name == "created")
    parts, found = [], []
    for column in used:
        dates, reason = _parse_dates(cleaned[column], created, column, options, report, file_order)
        found.append(_problems(raw.lines, column, raw.frame[column], reason))
        parts.append(
            pl.DataFrame(
                {"external_id": prepared.frame["external_id"], "entered": dates},
                schema={"external_id": pl.String, "entered": pl.Date},
            ).with_columns(stage=pl.lit(known[columns[column].lower()]))
        )
    report.problems = pl.concat([report.problems, *found]).sort("line", maintain_order=True)
    history = pl.concat(parts).drop_nulls("entered").select("external_id", "stage", "entered")
    prepared.history = history
    report.notes.append(
        f"Stage history from {plural(len(used), 'Date entered column')}: "
        f"{plural(history.height, 'entry', 'entries')} for "
        f"{plural(history['external_id'].n_unique(), 'deal')}; computed probabilities and time "
        "in stage are learned from them."
    )


# A stage-history file's columns under the names CRMs give them (Salesforce's OpportunityHistory:
# Opportunity ID, Stage Name, Created Date), normalised as `_norm` does.
HISTORY_COLUMNS = {
    "deal": ("opportunityid", "dealid", "externalid", "recordid", "id", "deal"),
    "stage": ("stagename", "stage", "tostage", "dealstage"),
    "entered": ("createddate", "enteredat", "entered", "date", "changedat", "at"),
}


def _history_columns(history: RawTable) -> dict[str, str] | None:
    """The deal, stage and date columns of a stage-history file, or None when one is missing."""
    by_norm = {_norm(c): c for c in history.frame.columns}
    found = {
        k: next((by_norm[n] for n in names if n in by_norm), None)
        for k, names in HISTORY_COLUMNS.items()
    }
    return None if None in found.values() else {k: str(v) for k, v in found.items()}


def history_file(db: Database, history: RawTable, prepared: Prepared, options: Options) -> None:
    """Stage history from a file of its own, one row per stage a deal entered (deal id, stage,
    date), the shape of Salesforce's OpportunityHistory; added to `prepared` like the
    Date entered columns. A row naming a deal the deals file lacks, or a stage the pipeline
    lacks, is a problem of its line in that file.
    """
    report = prepared.report
    found = _history_columns(history)
    if found is None:
        report.blocking.append(
            f"{history.name}: a stage history needs a deal id, a stage and a date column; it has "
            f"{', '.join(history.frame.columns[:12])}."
        )
        return
    deal, stage, entered = (found[k] for k in HISTORY_COLUMNS)
    cleaned = _clean_columns(history.frame, [deal, stage, entered])
    created = next(f for f in DEAL_FIELDS if f.name == "created")
    dates, reason = _parse_dates(cleaned[entered], created, entered, options, report, lambda: None)
    known = _stage_names(db, prepared)
    stages = cleaned[stage].str.to_lowercase().replace_strict(known, default=None)
    ids = cleaned[deal]
    problems = [
        _problems(history.lines, f"{history.name}: {entered}", history.frame[entered], reason),
        _problems(
            history.lines,
            f"{history.name}: {stage}",
            history.frame[stage],
            pl.select(pl.when(stages.is_null()).then(pl.lit("not a stage of the pipeline"))).to_series(),
        ),
        _problems(
            history.lines,
            f"{history.name}: {deal}",
            history.frame[deal],
            pl.select(
                pl.when(~ids.is_in(prepared.frame["external_id"].implode())).then(
                    pl.lit("no deal with this id in the deals file")
                )
            ).to_series(),
        ),
    ]
    report.problems = pl.concat([report.problems, *problems])
    rows = pl.DataFrame({"external_id": ids, "stage": stages, "entered": dates}).drop_nulls()
    prepared.history = rows if prepared.history is None else pl.concat([prepared.history, rows])
    report.notes.append(
        f"Stage history from {history.name}: {plural(rows.height, 'entry', 'entries')} for "
        f"{plural(rows['external_id'].n_unique(), 'deal')}; computed probabilities and time in "
        "stage are learned from them."
    )


DEAL_STATUSES = ("open", "won", "lost", "deleted")


def _status_column(raw: RawTable, prepared: Prepared, mapping: dict[str, str]) -> pl.Series | None:
    """Pipedrive's `Deal - Status` (open, won, lost): a won or lost deal keeps, in its stage
    column, the stage it was in when it closed. Such a deal goes to the won or lost stage, and
    the stage it had reached is returned (None for open deals, or without a status column) to
    become its history: a lost deal then says where it was lost.
    """
    used = set(mapping.values())
    column = next(
        (c for c in raw.frame.columns if _norm(c) in ("dealstatus", "status") and c not in used),
        None,
    )
    if column is None:
        return None
    status = _clean_columns(raw.frame, [column])[column].str.to_lowercase()
    if not status.drop_nulls().is_in(DEAL_STATUSES).all() or not status.is_in(["won", "lost"]).any():
        return None
    closed = status.is_in(["won", "lost"])
    frame = prepared.frame
    reached = pl.select(pl.when(closed).then(frame["stage"])).to_series()
    prepared.frame = frame.with_columns(
        pl.when(closed).then(status.str.to_titlecase()).otherwise(frame["stage"]).alias("stage")
    )
    prepared.report.notes.append(
        f"'{column}': {plural(int(closed.sum()), 'won or lost deal')} go to the won or lost stage; "
        "the stage each was in becomes its history, so lost deals say where they were lost."
    )
    return reached


def _last_stage_history(db: Database, prepared: Prepared, reached: pl.Series) -> None:
    """History of the deals `_status_column` closed: the stage they had reached (entered, as far
    as the file says, when they were created), then their won or lost stage on their close day."""
    known = _stage_names(db, prepared)
    frame = prepared.frame.with_columns(reached.alias("reached"))
    for date_column in ("created", "closed_at"):
        if date_column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.Date).alias(date_column))
    closed = frame.filter(pl.col("reached").is_not_null())
    created = pl.col("created").fill_null(clock.today())
    before = closed.select(
        "external_id",
        pl.col("reached").str.to_lowercase().replace_strict(known, default=None).alias("stage"),
        created.alias("entered"),
    )
    final = closed.select(
        "external_id", "stage", pl.col("closed_at").fill_null(created).alias("entered")
    )
    entries = pl.concat([before, final]).drop_nulls()
    prepared.history = entries if prepared.history is None else pl.concat([prepared.history, entries])


def _named_pipeline(db: Database, raw: RawTable, plan: StagePlan, report: Report) -> StagePlan:
    """The pipeline a file's own `pipeline` column names (our deals export has one), unless the
    user chose a pipeline or to create one: an export imported back lands where it came from."""
    column = next((c for c in raw.frame.columns if c.strip().lower() == "pipeline"), None)
    if column is None or plan.pipeline_id is not None or plan.unknown == "create":
        return plan
    named = raw.frame[column].drop_nulls().unique(maintain_order=True).to_list()
    ids = pipeline_ids(store.import_targets(db))
    known = [n for n in named if n in ids]
    if len(named) > 1 and known:
        report.blocking.append(
            f"The file's '{column}' column names {plural(len(named), 'pipeline')} "
            f"({', '.join(named[:5])}): import each pipeline's deals on their own (--pipeline NAME)."
        )
    if len(named) != 1 or not known:
        return plan
    report.notes.append(
        f"Deals go into the pipeline '{named[0]}', named in the file's '{column}' column."
    )
    return replace(plan, pipeline_id=ids[named[0]])


STAGE_FILE_COLUMNS = ("pipeline", "name", "probability", "kind")


def stage_lists(raw: RawTable) -> tuple[dict[str, list[Stage]], list[str]]:
    """A stages file (the stages export: pipeline, position, name, probability, kind, rot_days)
    read back as each pipeline's stages in order, with every problem, checked as the Stages
    page checks an edited table (`validate_stages`)."""
    columns = {c.strip().lower(): c for c in raw.frame.columns}
    missing = [c for c in STAGE_FILE_COLUMNS if c not in columns]
    if missing:
        return {}, [
            f"{raw.name}: a stages file has the columns of the stages export (pipeline, position, "
            f"name, probability, kind, rot_days); it lacks {', '.join(missing)}."
        ]
    wanted = [c for c in ("position", "name", "probability", "kind", "rot_days") if c in columns]
    frame = raw.frame.select(
        pl.col(columns["pipeline"]).alias("pipeline"), *(pl.col(columns[c]).alias(c) for c in wanted)
    )
    lists: dict[str, list[Stage]] = {}
    problems: list[str] = []
    for (pipeline,), rows in frame.group_by("pipeline", maintain_order=True):
        table = rows.drop("pipeline").to_dicts()
        found = validate_stages(table)
        problems += [f"{raw.name}, pipeline '{pipeline}': {p}" for p in found]
        if not found and pipeline is not None:
            lists[str(pipeline)] = edited_stages(table)
    return lists, problems


def _order_from_history(prepared: Prepared) -> None:
    """A new pipeline's open stages in the order its deals entered them: each stage's average
    place in the deals' paths. Only when the history places every open stage, and not all at
    the same place: a stage no path shows gives no order to go by."""
    assert prepared.history is not None
    places = dict(
        prepared.history.sort("entered", maintain_order=True)
        .with_columns(place=pl.int_range(pl.len()).over("external_id"))
        .group_by("stage")
        .agg(pl.col("place").mean())
        .rows()
    )
    opened = [s.name for s in prepared.new_stages if s.kind == "open"]
    if any(n not in places for n in opened) or len({places[n] for n in opened}) < 2:
        return
    order = sorted(opened, key=lambda n: places[n])
    if order == opened:
        return
    prepared.new_stages = stages_from_names([s.name for s in prepared.new_stages], order)
    prepared.report.notes.append(
        f"Open stages put in the order the stage history shows: {' → '.join(order)} (change it "
        'with the stage order field or --stage-order "A,B,C").'
    )


PRICE_COLUMNS = {
    "product": ("product", "productname", "item", "name", "sku"),
    "price": ("listprice", "price", "unitprice", "amount", "value"),
}


def price_list(raw: RawTable) -> tuple[pl.DataFrame, list[str]]:
    """A price list (product -> list price) as `product` and `price`, with a line per bad row.

    Its numbers are read as deal values are (currency signs, thousands separators, decimal
    comma), and the products keep the file's spelling: `stages.fill_from_price_list` matches
    them on the deals' names ignoring case, spaces and punctuation.
    """
    by_norm = {_norm(c): c for c in raw.frame.columns}
    found = {
        k: next((by_norm[n] for n in names if n in by_norm), None) for k, names in PRICE_COLUMNS.items()
    }
    if found["product"] is None or found["price"] is None:
        empty = pl.DataFrame(schema={"product": pl.String, "price": pl.Float64})
        return empty, [
            f"{raw.name}: a price list needs a product column and a price column; it has "
            f"{', '.join(raw.frame.columns[:12])}."
        ]
    product, price = found["product"], found["price"]
    cleaned = _clean_columns(raw.frame, [product, price])
    semicolon = any("semicolon" in n for n in raw.notes)
    number, reason = _parse_number(cleaned[price], price, Report("deals", raw.name), semicolon)
    bad = _problems(raw.lines, price, raw.frame[price], reason)
    problems = [
        f"{raw.name}, line {line}: {why} (value: {value!r})" for line, _, value, why in bad.iter_rows()
    ]
    table = pl.DataFrame({"product": cleaned[product], "price": number}).drop_nulls()
    return table, problems


def _split_close_dates(prepared: Prepared, is_open: pl.Series) -> None:
    """One close date column: the day a won or lost deal closed, an open deal's expected close.

    CRM exports (HubSpot's and Salesforce's "Close Date") carry one column for both; read as an
    expected close only, every won deal would have no close date and fall out of every period.
    """
    frame = prepared.frame
    close = frame["expected_close"]
    closed = int((~is_open & close.is_not_null()).sum())
    prepared.frame = frame.with_columns(
        pl.when(~is_open).then(close).alias("closed_at"),
        pl.when(is_open).then(close).alias("expected_close"),
    )
    if closed:
        prepared.report.notes.append(
            f"The close date column is read as the day {plural(closed, 'won or lost deal')} "
            "closed, and as the expected close of open deals."
        )


# --- commit -------------------------------------------------------------------------------------


def commit(db: Database, prepared: Prepared, who: str = "", progress: Progress | None = None) -> Report:
    """Write a validated file in one transaction; a file with any problem is refused whole."""
    report = prepared.report
    if not report.ok:
        raise ImportRejectedError(report.text())

    def step(done: int, total: int) -> None:
        if progress:
            progress(0.5 + 0.5 * done / max(total, 1), f"Writing {done:,} of {total:,} rows")

    if prepared.kind == "leads":
        ready = scores_only(prepared.frame)
        note = f"Ready-made scores from {report.name}, no rules yet" if ready else ""
        added, updated = store.import_leads(
            db,
            prepared.frame,
            who=who,
            source=report.name,
            progress=step,
            scores_only_model=note,
            scales=report.scales,
        )
    else:
        new = (prepared.new_pipeline, prepared.new_stages) if prepared.new_stages else None
        added, updated = store.import_deals(
            db,
            prepared.frame,
            pipeline_id=prepared.pipeline_id,
            new_pipeline=new,
            who=who,
            source=report.name,
            progress=step,
            history=prepared.history,
        )
        report.pipeline_id = (
            pipeline_id(db, prepared.new_pipeline) if prepared.new_stages else prepared.pipeline_id
        )
    report.to_add, report.to_update, report.committed = added, updated, True
    return report


def import_bytes(
    db: Database,
    data: bytes,
    kind: Kind,
    name: str = "file",
    options: Options | None = None,
    sheet: str | None = None,
    dry_run: bool = False,
    who: str = "",
    progress: Progress | None = None,
) -> Report:
    """Read, validate and (unless `dry_run` or rejected) commit a file; the CLI's one call.

    Without a mapping, the suggested one is used.
    """
    raw = read_table(data, name, sheet)
    options = options or Options(suggest_mapping(raw.frame.columns, kind))
    prepared = validate(db, raw, kind, options, progress)
    if dry_run or not prepared.report.ok:
        return prepared.report
    return commit(db, prepared, who, progress)
