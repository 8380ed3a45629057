"""Cell parsers: a column of text -> typed values and, row by row, why a value was refused.

Why apart: each parser is one vectorised Polars pass that returns the values and a reason
column of the same length, so the dry run can list every bad cell with its line; they know
nothing of the store.

>>> out = _parse_words(pl.Series(["Yes", "no", "maybe"]), TRUE_WORDS, FALSE_WORDS, (True, False), "y/n")
>>> out[0].to_list(), out[1].to_list()
([True, False, None], [None, None, 'not y/n'])
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date

import polars as pl

from funnel import scales
from funnel.importers.mapping import _norm
from funnel.importers.report import DateOrder, Options, Report, plural
from funnel.importers.table import RawTable
from funnel.models import Field

PLACEHOLDERS = ("", "select", "n/a", "#n/a", "-", "--", "null")
PLACEHOLDER_RE = "(?i)^(?:" + "|".join(re.escape(p) for p in PLACEHOLDERS) + ")$"
PLACEHOLDER_BYTES = max(len(p) for p in PLACEHOLDERS)


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
        cleaned = raw.column(column).to_frame().select(_cleaned(column))[column]
        slash = cleaned.str.extract_groups(SLASH_DATE)
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
    known = None if outcome is None else outcome.drop_nulls()
    # One kind when every known outcome is the first one's: a pass of comparisons, where
    # counting the kinds hashed every text (ten million leads).
    if known is None or known.is_empty() or (known != known[0]).any():
        return None
    kind, count = known[0], known.len()
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


def parse_range(text: str) -> tuple[float, float] | None:
    """A score scale typed as "lo:hi" (the Data page's scale field, the CLI's --fit-range); None
    when left empty (the scale is then judged from the values). Raises ValueError when the text
    is not such a range, so the form or the command line can say so.

    >>> parse_range("0:10"), parse_range(" ")
    ((0.0, 10.0), None)
    """
    if not text.strip():
        return None
    lo, _, hi = text.partition(":")
    return float(lo), float(hi)


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
        usual = next((top for top in scales.USUAL_SCALES if lo_seen >= 0 and hi_seen <= top), None)
        lo, hi = (0.0, usual) if usual is not None else (lo_seen, hi_seen)
        how = "the smallest usual scale that holds its values" if usual else "the observed values"
    if hi <= lo:
        report.blocking.append(f"'{label}' ({f.name}): the range {lo:g}..{hi:g} is empty.")
        return number, none
    step, coarsened = scales.file_step(number.filter((number >= lo) & (number <= hi)), lo, hi)
    scale = scales.ScoreScale(label, lo, hi, step)
    report.scales[f.name] = scale
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
        read = f"read on a {lo:g}..{hi:g} scale (from {how}) and rescaled to 0..100."
    else:
        read = "already on a 0..100 scale, kept as is."
    steps = scales.axis_steps(scale)
    if steps is not scales.WHOLE_POINTS:
        read += (
            f" Its values fall between whole points, so the MQL sliders move in its own steps "
            f"of {step:g} ({len(steps):,} positions)"
            + (
                ": its values are finer, so a cutoff between two steps is not on them."
                if coarsened
                else "."
            )
        )
    report.notes.append(f"'{label}' ({f.name}): {read}{override}")
    points = number.to_frame("v").select(scales.to_points(pl.col("v"), lo, hi)).to_series()
    return points.alias(number.name), reason


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
    by_norm = {_norm(c): c for c in raw.columns}
    found = {
        k: next((by_norm[n] for n in names if n in by_norm), None) for k, names in PRICE_COLUMNS.items()
    }
    if found["product"] is None or found["price"] is None:
        empty = pl.DataFrame(schema={"product": pl.String, "price": pl.Float64})
        return empty, [
            f"{raw.name}: a price list needs a product column and a price column; it has "
            f"{', '.join(raw.columns[:12])}."
        ]
    product, price = found["product"], found["price"]
    original = raw.select([product, price])
    cleaned = _clean_columns(original, [product, price])
    semicolon = any("semicolon" in n for n in raw.notes)
    number, reason = _parse_number(cleaned[price], price, Report("deals", raw.name), semicolon)
    bad = _problems(raw.lines, price, original[price], reason)
    problems = [
        f"{raw.name}, line {line}: {why} (value: {value!r})" for line, _, value, why in bad.iter_rows()
    ]
    table = pl.DataFrame({"product": cleaned[product], "price": number}).drop_nulls()
    return table, problems
