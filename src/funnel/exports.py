"""Exports: the store's tables as CSV, charts as PNG and SVG, and the whole store as one backup.

Why here and not on the page: the command line and the Data page export the same bytes, and a
CSV cell that a spreadsheet would run as a formula is neutralised by one rule (`sheets`).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, Literal

import altair as alt
import polars as pl
import vl_convert as vlc
from sqlite_utils import Database

from funnel import charts, clock, cutoffs, forecast, funnels, scoring, stages, store
from funnel.models import LEAD_FIELDS
from funnel.scales import WHOLE_STEPS, Steps, snap
from funnel.sheets import to_csv

Table = Literal["stages", "deals", "leads", "decisions", "scenarios"]
TABLES: tuple[Table, ...] = ("stages", "deals", "leads", "decisions", "scenarios")


def leads_table(db: Database, today: date) -> tuple[pl.DataFrame, str]:
    """Every lead with fit, interest, quadrant and MQL flag at the latest agreed cutoff.

    Scored with the model version the latest decision was taken on, at its cutoff; with no
    decision yet, the latest model at the default cutoff the forecast also uses
    (`scoring.agreed_cutoff`). Returns the frame and a sentence saying which cutoff it used.
    """
    decided = store.decisions(db)
    fit_cut, interest_cut, version = scoring.agreed_cutoff(decided)
    version = version or store.latest_model_version(db)
    rules = store.rules(db, version) if version else []
    half_life = store.half_life(db, version) if version else 0.0
    scored = scoring.score_leads(store.leads(db), rules, half_life, today)
    out = scoring.with_quadrants(scored, fit_cut, interest_cut)
    when = (
        f"agreed on {decided['decided_on'][0]}"
        if decided.height
        else "by default (no cutoff recorded yet)"
    )
    note = (
        f"Scored with model v{version or 0} at the cutoff {when}: fit ≥ {fit_cut:g}, "
        f"interest ≥ {interest_cut:g}."
    )
    columns = [f.name for f in LEAD_FIELDS]
    return out.select(*columns, "quadrant", "mql"), note


def table(db: Database, name: Table, today: date) -> pl.DataFrame:
    """One exportable table, with our field names so that the file imports back as is."""
    if name == "leads":
        return leads_table(db, today)[0]
    if name == "stages":
        pipes = store.pipelines(db).select(pl.col("id").cast(pl.Int64), pl.col("name").alias("pipeline"))
        return (
            store.stages(db)
            .join(pipes, left_on="pipeline_id", right_on="id")
            .select("pipeline", "position", "name", "probability", "kind", "rot_days")
        )
    if name == "deals":
        pipes = store.pipelines(db).select(pl.col("id").cast(pl.Int64), pl.col("name").alias("pipeline"))
        return (
            store.deals(db)
            .join(pipes, left_on="pipeline_id", right_on="id")
            .select(
                "external_id",
                "pipeline",
                "name",
                "company",
                "owner",
                "value",
                "stage",
                "probability",
                "created",
                "expected_close",
                "closed_at",
                "stage_kind",
                "stage_probability",
            )
        )
    if name == "decisions":
        return store.decisions(db)
    return store.scenarios(db)


def table_csv(db: Database, name: Table, today: date) -> bytes:
    return to_csv(table(db, name, today))


def table_csv_at(path: Path, name: Table, today: date | None = None) -> bytes:
    """`table_csv` with its own connection: a download button builds it on click, on another
    thread than the page's; `today` (default: the day of the click) dates the lead scores."""
    with store.opened(path) as db:
        return table_csv(db, name, today or clock.today())


# --- charts ---------------------------------------------------------------------------------------


def chart_png(chart: alt.TopLevelMixin, scale: float = 2.0) -> bytes:
    """A chart as PNG, rendered without a browser (vl-convert); `scale` 2 suits slides."""
    return bytes(vlc.vegalite_to_png(chart.to_json(), scale=scale))


def chart_svg(chart: alt.TopLevelMixin) -> bytes:
    """A chart as SVG text (UTF-8), for documents that scale it."""
    return str(vlc.vegalite_to_svg(chart.to_json())).encode("utf-8")


ChartKind = Literal["stages", "quadrants", "curve", "funnel"]


def chart_choices(
    targets: pl.DataFrame, fit: float, interest: float
) -> dict[str, tuple[ChartKind, int | None]]:
    """Label -> (chart kind, pipeline id) for every chart the store can draw without a page's
    sliders: one stage chart per pipeline (from `store.import_targets`), then the MQL charts at
    the agreed cutoff. Only labels here, so nothing is drawn until one is chosen."""
    pipes = targets.select("pipeline", "pipeline_id").unique(maintain_order=True)
    choices: dict[str, tuple[ChartKind, int | None]] = {
        f"Value vs weighted value per stage: {name}, all periods": ("stages", pid)
        for name, pid in pipes.rows()
    }
    at = f"at the agreed cutoff (fit ≥ {fit:g}, interest ≥ {interest:g})"
    choices[f"MQL quadrants {at}"] = ("quadrants", None)
    choices[f"MQL back-test curve {at}"] = ("curve", None)
    choices["Marketing funnel, last four full quarters"] = ("funnel", None)
    return choices


CHART_FORMATS: dict[str, tuple[Callable[[alt.TopLevelMixin], bytes], str]] = {
    "PNG": (chart_png, "image/png"),
    "SVG": (chart_svg, "image/svg+xml"),
}


@dataclass(frozen=True)
class ChartFrames:
    """Where the catalogue's charts read their frames: the page passes its session's cached
    readers (by pipeline id, and by model version for scored leads), so drawing one chart reads
    the store only for what that chart needs. `backtest_leads` are scored as each lead stood
    when its outcome was decided (`scoring.decided_on`), as the MQL page's back-test is."""

    deals: Callable[[int | None], pl.DataFrame]
    stages: Callable[[int | None], pl.DataFrame]
    scored_leads: Callable[[int | None], pl.DataFrame]
    backtest_leads: Callable[[int | None], pl.DataFrame]
    steps: Steps = WHOLE_STEPS


def draw_chart(
    kind: ChartKind,
    pipeline_id: int | None,
    fit: float,
    interest: float,
    version: int | None,
    frames: ChartFrames,
    today: date,
) -> charts.AnyChart:
    """One catalogue chart: a pipeline's stage chart, or an MQL chart scored with model `version`
    (the funnel on today's scores, the back-test's curve and scatter on their own, as on the
    MQL page)."""
    if kind == "stages":
        return stage_chart(frames.deals(pipeline_id), frames.stages(pipeline_id))
    leads = frames.scored_leads if kind == "funnel" else frames.backtest_leads
    return mql_chart(leads(version), kind, fit, interest, today, frames.steps)


SLIDE_WIDTH = 720


def titled(chart: charts.AnyChart, label: str, today: date) -> charts.AnyChart:
    """The chart under its catalogue label (pipeline or cutoff, and period), with the day it was
    drawn: a PNG pasted into slides says what it shows. A subtitle it had stays under it."""
    before = chart.title if isinstance(chart.title, alt.TitleParams) else None
    kept = before.subtitle if before is not None and isinstance(before.subtitle, list) else []
    subtitle = [*kept, f"funnel, as of {today:%d %b %Y}"]
    titled_chart = chart.properties(title=alt.TitleParams(label, subtitle=subtitle, anchor="start"))
    # The page stretches a chart to its column; a file has no column, so a single chart gets a
    # slide's width (a faceted one sizes its panels itself) and its labels do not overlap.
    if isinstance(chart, alt.Chart | alt.LayerChart) and getattr(chart, "width", None) is alt.Undefined:
        return titled_chart.properties(width=SLIDE_WIDTH)
    return titled_chart


def chart_file_name(label: str, fmt: str, today: date) -> str:
    """A file name that says what the chart shows: its label in plain letters, and the day.

    >>> chart_file_name("MQL quadrants at the agreed cutoff (fit ≥ 60, interest ≥ 40)", "PNG",
    ...                 date(2026, 12, 1))
    'mql-quadrants-at-the-agreed-cutoff-fit-60-interest-40-2026-12-01.png'
    """
    words = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    return f"{words}-{today:%Y-%m-%d}.{fmt.lower()}"


def chart_catalogue(
    targets: pl.DataFrame, decided: pl.DataFrame, frames: ChartFrames, today: date
) -> dict[str, Callable[[], charts.AnyChart]]:
    """Label -> a call drawing that chart, for every chart in `chart_choices` at the agreed cutoff
    of `decided` (`store.decisions`), titled with its label (`titled`): nothing is drawn until
    the user picks one."""
    fit, interest, version = scoring.agreed_cutoff(decided)

    def draw(kind: ChartKind, pid: int | None, label: str) -> charts.AnyChart:
        return titled(draw_chart(kind, pid, fit, interest, version, frames, today), label, today)

    return {
        label: partial(draw, kind, pid, label)
        for label, (kind, pid) in chart_choices(targets, fit, interest).items()
    }


def stage_chart(deals: pl.DataFrame, stage_rows: pl.DataFrame) -> charts.AnyChart:
    """One pipeline's value vs weighted value per stage, as the Stages page draws it."""
    return charts.stage_value_chart(stages.pipeline_figures(deals, stage_rows).by_stage)


def mql_chart(
    leads: pl.DataFrame,
    kind: ChartKind,
    fit: float,
    interest: float,
    today: date,
    steps: Steps = WHOLE_STEPS,
) -> charts.AnyChart:
    """The MQL page's charts at the agreed cutoff (the page itself follows its sliders), the
    cutoff put on the sliders' `steps` as the page puts it."""
    fit, interest = snap(fit, steps.fit), snap(interest, steps.interest)
    if kind == "funnel":
        window = forecast.full_quarters_window(today)
        flagged = scoring.with_quadrants(leads, fit, interest)
        return charts.funnel_chart(funnels.marketing_funnel(funnels.funnel_levels(flagged), *window))
    grid = cutoffs.cutoff_grid(leads, steps)
    if kind == "curve":
        return charts.mql_curve_chart(cutoffs.backtest_curve(grid, fit, interest, steps)).chart()
    quadrants = cutoffs.quadrant_counts(grid, fit, interest)
    sample = cutoffs.scatter_sample(leads)
    scored = int(grid["leads"].sum())
    return charts.mql_quadrant_chart(sample, quadrants, fit, interest, scored).chart()


# --- backup and restore ---------------------------------------------------------------------------


def backup_bytes_at(path: Path) -> bytes:
    """`backup_bytes` with its own connection: a download button builds it on click, on another
    thread than the page's."""
    with store.opened(path) as db:
        return store.backup_bytes(db)


def staged_upload(file_id: str, data: Callable[[], bytes]) -> Path:
    """An uploaded backup written once to the temp folder, under our own name for it (the
    upload's id), never the name the user gave it, so it can be checked and restored from a path.
    `data` is called only when the file is not there yet, so a rerun does not copy it again."""
    path = staged_path(file_id)
    if not path.exists():
        path.write_bytes(data())
    return path


def staged_path(file_id: str) -> Path:
    """Where the upload `file_id` is staged: named for this process, so the files a killed or
    stopped server left behind can be told apart and swept (`checked_upload`)."""
    return Path(tempfile.gettempdir()) / f"funnel-restore-pid{os.getpid()}-{file_id}.db"


VERDICTS_KEY = "restore_verdicts"
USED_UPLOAD = (
    "This file was used by the last restore and has been removed from the temp folder; "
    "upload it again to restore it once more."
)


def checked_upload(state: MutableMapping[str, Any], file_id: str, data: Callable[[], bytes]) -> str:
    """Why the uploaded backup `file_id` cannot be restored (or `USED_UPLOAD`), "" when it can:
    staged and checked once per upload (the verdict is kept in `state`, so a rerun neither
    copies nor checks it again), and a refused file removed from the temp folder at once."""
    verdicts = state.setdefault(VERDICTS_KEY, {})
    if file_id not in verdicts:
        for old in Path(tempfile.gettempdir()).glob("funnel-restore-pid*"):
            pid = re.match(r"funnel-restore-pid(\d+)-", old.name)
            if pid and not store.alive(int(pid.group(1))):
                old.unlink(missing_ok=True)
        verdict = check_backup(staged_upload(file_id, data))
        verdicts[file_id] = f"{verdict} Nothing was changed." if verdict else ""
        if verdict:
            _remove_staged(file_id)
    return str(verdicts[file_id])


def used_upload(state: MutableMapping[str, Any], file_id: str) -> None:
    """After a restore from `file_id`, whatever its outcome: the staged file leaves the temp
    folder, and the upload still on the page is not staged again."""
    _remove_staged(file_id)
    state.setdefault(VERDICTS_KEY, {})[file_id] = USED_UPLOAD


def discard_uploads(state: MutableMapping[str, Any]) -> None:
    """Once no backup is on the page: every file this session staged leaves the temp folder."""
    for file_id in state.pop(VERDICTS_KEY, {}):
        _remove_staged(file_id)


def _remove_staged(file_id: str) -> None:
    path = staged_path(file_id)
    # Reading a WAL-mode file leaves its -wal and -shm beside it: those go too.
    for leftover in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        leftover.unlink(missing_ok=True)


def before_restore_path(path: Path) -> Path:
    """Where the store at `path` is kept as it was before a restore, beside it."""
    return path.with_name(f"{path.stem}.before-restore.db")


RESTORE_WARNING = (
    "This replaces **everything** in the store with the backup. The store as it is now is "
    "kept beside it as a `.before-restore.db` file."
)


def check_backup(path: Path) -> str:
    """Why `path` cannot be restored, or "" when it is a sound funnel store.

    Checks that it is a SQLite file of funnel's (meta app), that it passes
    `PRAGMA integrity_check`, that its schema is the one its migrations create (not newer, no
    trigger or view funnel never made, no table, column or index missing) and that every row
    keeps the domain's rules and foreign keys (`store.schema_problems`, `store.row_problems`);
    the first problems found are listed.
    """
    if not path.exists() or path.stat().st_size == 0:
        return "The backup file is empty."
    problems = store.file_problems(path)
    if not problems:
        return ""
    if len(problems) == 1 and problems[0].endswith("."):
        return problems[0]
    return f"This backup is not a sound funnel store: {'; '.join(problems)}."


def restore(
    db: Database,
    source: Path,
    keep_copy: Path | None = None,
    expected_revision: int | None = None,
    who: str = "",
    name: str = "",
    progress: Callable[[float, str], None] | None = None,
) -> None:
    """Replace the whole store with the backup at `source`, after `check_backup` passes; the
    History says who restored it (`who`) and from which file (`name`, as the user named it).
    Each step is reported to `progress` (fraction done, what runs now): on a million-lead
    store each takes seconds, and a user should see which one runs.

    `expected_revision` is the store's revision on the page the user chose to restore from: if
    anything was saved since, the restore is refused rather than wiping a change nobody saw.
    The check claims the store in one write (the revision moves on), so of several restores
    started from one page state only the first runs. The current store is then copied to
    `keep_copy` (when given), and replaced by the backup in one step (`store.replace_from`).
    """
    report = progress or (lambda fraction, text: None)
    report(0.0, "Checking the backup…")
    problem = check_backup(source)
    if problem:
        raise store.StoreError(f"Restore refused, the store is unchanged: {problem}")
    with store.write(db):
        now = store.revision(db)
        if expected_revision is not None and now != expected_revision:
            raise store.StaleVersionError(
                f"The store was changed by someone else (revision {now}) since you chose to "
                f"restore (revision {expected_revision}). Reload to see their change, then "
                "restore again if you still want to."
            )
    if keep_copy is not None:
        report(0.4, "Keeping a copy of the store as it is…")
        store.backup(db, keep_copy)
    report(0.7, "Putting the backup in place…")
    store.replace_from(db, source, who, name, keep_copy)
    report(1.0, "Restored.")
