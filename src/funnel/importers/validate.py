"""The dry run: every mapped column parsed, every bad row reported, nothing written.

Why apart: `validate` is the one place that decides whether a file may be committed; the page
and the command line both show its `Report` and only a `Prepared` with an ok report commits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import polars as pl
from sqlite_utils import Database

from funnel import clock, scoring, store
from funnel.importers.mapping import FIELDS, Kind, _norm, suggest_mapping
from funnel.importers.parse import (
    BIDI_CONTROLS,
    CONVERTED_WORDS,
    FALSE_WORDS,
    LIFECYCLE_RULE,
    LOST_WORDS,
    TRUE_WORDS,
    _clean_columns,
    _file_date_order,
    _lifecycle_outcome,
    _parse_dates,
    _parse_number,
    _parse_words,
    _problems,
    _rescale,
    one_sided_outcomes,
)
from funnel.importers.report import Options, Prepared, Report, plural
from funnel.importers.stage_history import (
    DATE_ENTERED,
    _entered_columns,
    _history_columns,
    _last_stage_history,
    _order_from_history,
    _status_column,
    history_file,
)
from funnel.importers.stage_plan import NO_VALUE_COLUMN, _named_pipeline, _plan_stages
from funnel.importers.table import MAX_CELL_CHARS, RawTable
from funnel.models import Rule
from funnel.sheets import formula_like

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


Progress = Callable[[float, str], None]


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
    report = Report(kind, raw.name, rows=raw.height, notes=list(raw.notes))
    chosen = options.mapping
    if chosen is None:
        chosen = suggest_mapping(raw.columns, kind)
    mapping = {k: v for k, v in chosen.items() if v}
    fields = {f.name: f for f in FIELDS[kind]}
    for ours, theirs in mapping.items():
        if ours not in fields:
            report.blocking.append(
                f"'{ours}' is not one of our {kind} fields (see `python -m funnel fields {kind}`)."
            )
        elif theirs not in raw.columns:
            report.blocking.append(
                f"The mapping sends '{ours}' to column '{theirs}', which the file does not have "
                f"(its columns: {', '.join(c[:200] for c in raw.columns[:12])})."
            )
    for theirs in {t for t in mapping.values() if list(mapping.values()).count(t) > 1}:
        both = [o for o, t in mapping.items() if t == theirs]
        report.blocking.append(
            f"Column '{theirs[:200]}' is mapped to {len(both)} fields ({', '.join(both)}): map it "
            "to one field only."
        )
    # A leads file without creation dates is dated at the import (`_date_at_import`); a file of
    # one column is more likely split on the wrong delimiter, and says so.
    undated = kind == "leads" and "created" not in mapping and len(raw.columns) > 1
    for f in fields.values():
        if f.required and f.name not in mapping and not (undated and f.name == "created"):
            hint = (
                f" The file has a single column '{raw.columns[0][:60]}': is it delimited "
                "by something other than comma, semicolon or tab?"
                if len(raw.columns) == 1
                else f" Map one of its columns: {', '.join(c[:200] for c in raw.columns[:12])}."
            )
            report.blocking.append(f"Required field '{f.name}' is not mapped.{hint}")
    if not mapping and not report.blocking:
        report.blocking.append(
            "No column of the file is mapped to a field of ours, so there is nothing to import. "
            f"Its columns: {', '.join(c[:200] for c in raw.columns[:12])}."
        )
    if report.blocking:
        return Prepared(kind, pl.DataFrame(), report)
    if unmapped := [c for c in raw.columns if c not in set(mapping.values())]:
        shown = ", ".join(f"'{c[:200]}'" for c in unmapped[:20])
        more = f" and {len(unmapped) - 20:,} more" if len(unmapped) > 20 else ""
        report.notes.append(
            f"{len(unmapped):,} of the file's columns are not imported, no field of ours being "
            f"mapped to them: {shown}{more}."
        )

    semicolon = any("semicolon" in n for n in raw.notes)
    date_columns = [theirs for ours, theirs in mapping.items() if fields[ours].dtype == "date"]
    texts: dict[str, pl.Series] = {}
    columns: dict[str, pl.Series] = {}
    found: list[pl.DataFrame] = []
    read = _read_ahead(raw, list(mapping.values()))
    for i, ((ours, theirs), (original, s)) in enumerate(zip(mapping.items(), read, strict=True)):
        if progress:
            progress(0.5 * i / len(mapping), f"Checking {theirs}")
        f = fields[ours]
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
            columns[ours] = s.set(length > MAX_CELL_CHARS, None) if too_long else s
            texts[theirs] = s
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
    _text_warnings(pl.DataFrame(texts), report)
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
        passed = [m[1].strip() for c in raw.columns if (m := DATE_ENTERED.match(c))]
        if history is not None and (named := _history_columns(history)) is not None:
            passed += history.column(named["stage"]).drop_nulls().unique(maintain_order=True).to_list()
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


def _read_ahead(raw: RawTable, names: list[str]) -> Iterator[tuple[pl.Series, pl.Series]]:
    """Each named column as the file holds it and as cleaned (`_clean_columns`), one at a time.

    Why one at a time: a dry run then holds one column of text beside the values parsed so far,
    not the whole file's (ten million rows of 30 columns are 5 GB of text). The next column is
    read and cleaned on a thread while the caller parses this one, so both cores stay busy.
    """

    def load(name: str) -> tuple[pl.Series, pl.Series]:
        original = raw.column(name)
        return original, _clean_columns(original.to_frame(), [name])[name]

    with ThreadPoolExecutor(1, thread_name_prefix="funnel-validate") as pool:
        ahead = [pool.submit(load, n) for n in names[:1]]
        for i in range(len(names)):
            current = ahead.pop().result()
            ahead += [pool.submit(load, n) for n in names[i + 1 : i + 2]]
            yield current


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
SCORE_SLICE = 1_000_000


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
    # Scored a slice at a time: the rules' points of ten million leads at once would cost more
    # than the leads themselves, and only the count is kept.
    unscored = sum(
        int(
            scoring.score_leads(present.slice(at, SCORE_SLICE), rules, 0, clock.today())
            .select((~scoring.is_scored()).sum())
            .item()
        )
        for at in range(0, present.height, SCORE_SLICE)
    )
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


HTML_RE = r"(?i)<\s*/?\s*(script|[a-z]+[^>]*)>"


def _text_warnings(text: pl.DataFrame, report: Report) -> None:
    """Say which text columns hold formula-like or HTML values (kept as text, never run)."""
    if text.width == 0:
        return
    counts = text.select(
        *[formula_like(pl.col(c)).sum().alias(f"f{i}") for i, c in enumerate(text.columns)],
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
