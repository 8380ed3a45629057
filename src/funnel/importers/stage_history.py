"""Stage history: the days deals entered their stages, from HubSpot's `Date entered` columns,
a history file of its own (Salesforce's OpportunityHistory) or Pipedrive's status column.

Why apart from the stage plan: history only adds to a deals import that is already planned; with
it the computed probabilities and time in stage rest on the deals' real paths, not on the one
stage each ends in.

>>> bool(DATE_ENTERED.match('Date entered "Won (Sales Pipeline)"'))
True
"""

from __future__ import annotations

import re
from collections.abc import Callable

import polars as pl
from sqlite_utils import Database

from funnel import clock, store
from funnel.importers.mapping import _norm
from funnel.importers.parse import _clean_columns, _parse_dates, _problems
from funnel.importers.report import DateOrder, Options, Prepared, plural
from funnel.importers.stage_plan import pipeline_stage_names, stages_from_names
from funnel.importers.table import RawTable
from funnel.models import DEAL_FIELDS

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
    columns = {c: m[1].strip() for c in raw.columns if (m := DATE_ENTERED.match(c))}
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
    created = next(f for f in DEAL_FIELDS if f.name == "created")
    parts, found = [], []
    for column in used:
        original = raw.column(column)
        cleaned = _clean_columns(original.to_frame(), [column])[column]
        dates, reason = _parse_dates(cleaned, created, column, options, report, file_order)
        found.append(_problems(raw.lines, column, original, reason))
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
    by_norm = {_norm(c): c for c in history.columns}
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
            f"{', '.join(history.columns[:12])}."
        )
        return
    deal, stage, entered = (found[k] for k in HISTORY_COLUMNS)
    original = history.select([deal, stage, entered])
    cleaned = _clean_columns(original, [deal, stage, entered])
    created = next(f for f in DEAL_FIELDS if f.name == "created")
    dates, reason = _parse_dates(cleaned[entered], created, entered, options, report, lambda: None)
    known = _stage_names(db, prepared)
    stages = cleaned[stage].str.to_lowercase().replace_strict(known, default=None)
    ids = cleaned[deal]
    problems = [
        _problems(history.lines, f"{history.name}: {entered}", original[entered], reason),
        _problems(
            history.lines,
            f"{history.name}: {stage}",
            original[stage],
            pl.select(pl.when(stages.is_null()).then(pl.lit("not a stage of the pipeline"))).to_series(),
        ),
        _problems(
            history.lines,
            f"{history.name}: {deal}",
            original[deal],
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
        (c for c in raw.columns if _norm(c) in ("dealstatus", "status") and c not in used),
        None,
    )
    if column is None:
        return None
    status = _clean_columns(raw.select([column]), [column])[column].str.to_lowercase()
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
