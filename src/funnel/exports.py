"""Exports: the store's tables as CSV, charts as PNG and SVG, and the whole store as one backup.

Why here and not on the page: the command line and the Data page export the same bytes, and a
CSV cell that a spreadsheet would run as a formula is neutralised in exactly one place.

>>> neutralise(pl.DataFrame({"name": ["=1+1", "Acme"]}))["name"].to_list()
["'=1+1", 'Acme']
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Literal

import altair as alt
import polars as pl
import vl_convert as vlc
from sqlite_utils import Database

from funnel import charts, clock, forecast, scoring, stages, store
from funnel.models import LEAD_FIELDS

Table = Literal["stages", "deals", "leads", "decisions", "scenarios"]
TABLES: tuple[Table, ...] = ("stages", "deals", "leads", "decisions", "scenarios")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells starting with = + - @ tab or CR get a leading apostrophe (OWASP's advice), so a
    spreadsheet shows them as text instead of running them as a formula; numbers are untouched."""
    text = [n for n, t in frame.schema.items() if t == pl.String]
    starts = "^[" + "".join(FORMULA_START).replace("-", r"\-") + "]"
    return frame.with_columns(
        pl.when(pl.col(n).str.contains(starts)).then("'" + pl.col(n)).otherwise(pl.col(n)).alias(n)
        for n in text
    )


def to_csv(frame: pl.DataFrame) -> bytes:
    """CSV bytes, UTF-8 with a BOM (so Excel reads accents right), formulas neutralised."""
    return b"\xef\xbb\xbf" + neutralise(frame).write_csv().encode("utf-8")


def leads_table(db: Database, today: date) -> tuple[pl.DataFrame, str]:
    """Every lead with fit, interest, quadrant and MQL flag at the latest agreed cutoff.

    Scored with the model version the latest decision was taken on, at its cutoff; with no
    decision yet, the latest model at the default cutoff the forecast also uses
    (`forecast.agreed_cutoff`). Returns the frame and a sentence saying which cutoff it used.
    """
    decided = store.decisions(db)
    fit_cut, interest_cut, version = forecast.agreed_cutoff(decided)
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
        f"Value vs weighted value per stage: {name}": ("stages", pid) for name, pid in pipes.rows()
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
    the store only for what that chart needs."""

    deals: Callable[[int | None], pl.DataFrame]
    stages: Callable[[int | None], pl.DataFrame]
    scored_leads: Callable[[int | None], pl.DataFrame]


def draw_chart(
    kind: ChartKind,
    pipeline_id: int | None,
    fit: float,
    interest: float,
    version: int | None,
    frames: ChartFrames,
    today: date,
) -> alt.TopLevelMixin:
    """One catalogue chart: a pipeline's stage chart, or an MQL chart scored with model `version`."""
    if kind == "stages":
        return stage_chart(frames.deals(pipeline_id), frames.stages(pipeline_id))
    return mql_chart(frames.scored_leads(version), kind, fit, interest, today)


def chart_catalogue(
    targets: pl.DataFrame, decided: pl.DataFrame, frames: ChartFrames, today: date
) -> dict[str, Callable[[], alt.TopLevelMixin]]:
    """Label -> a call drawing that chart, for every chart in `chart_choices` at the agreed cutoff
    of `decided` (`store.decisions`): nothing is drawn until the user picks one."""
    fit, interest, version = forecast.agreed_cutoff(decided)
    return {
        label: partial(draw_chart, kind, pid, fit, interest, version, frames, today)
        for label, (kind, pid) in chart_choices(targets, fit, interest).items()
    }


def stage_chart(deals: pl.DataFrame, stage_rows: pl.DataFrame) -> alt.TopLevelMixin:
    """One pipeline's value vs weighted value per stage, as the Stages page draws it."""
    return charts.stage_value_chart(stages.pipeline_figures(deals, stage_rows).by_stage)


def mql_chart(
    leads: pl.DataFrame, kind: ChartKind, fit: float, interest: float, today: date
) -> alt.TopLevelMixin:
    """The MQL page's charts at the agreed cutoff (the page itself follows its sliders)."""
    if kind == "funnel":
        window = forecast.full_quarters_window(today)
        flagged = scoring.with_quadrants(leads, fit, interest)
        return charts.funnel_chart(forecast.marketing_funnel(flagged, *window))
    grid = scoring.cutoff_grid(leads)
    if kind == "curve":
        return charts.mql_curve_chart(scoring.backtest_curve(grid, round(fit), round(interest)))
    quadrants = scoring.quadrant_counts(grid, round(fit), round(interest))
    sample = scoring.scatter_sample(leads)
    scored = int(grid["leads"].sum())
    return charts.mql_quadrant_chart(sample, quadrants, fit, interest, scored)


# --- backup and restore ---------------------------------------------------------------------------


def backup(db: Database, dest: Path) -> Path:
    """Copy the whole store, consistently, into `dest` (SQLite's online backup API).

    Safe while other sessions read or write: the copy is a single snapshot.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        dest.unlink()
    target = sqlite3.connect(dest)
    try:
        db.conn.backup(target)
    finally:
        target.close()
    return dest


def backup_bytes(db: Database) -> bytes:
    """The backup as bytes, for a download button."""
    with tempfile.TemporaryDirectory() as tmp:
        return backup(db, Path(tmp) / "funnel-backup.db").read_bytes()


def backup_bytes_at(path: Path) -> bytes:
    """`backup_bytes` with its own connection: a download button builds it on click, on another
    thread than the page's."""
    with store.opened(path) as db:
        return backup_bytes(db)


def staged_upload(file_id: str, data: Callable[[], bytes]) -> Path:
    """An uploaded backup written once to the temp folder, under our own name for it (the
    upload's id), never the name the user gave it, so it can be checked and restored from a path.
    `data` is called only when the file is not there yet, so a rerun does not copy it again."""
    path = Path(tempfile.gettempdir()) / f"funnel-restore-{file_id}.db"
    if not path.exists():
        path.write_bytes(data())
    return path


def before_restore_path(path: Path) -> Path:
    """Where the store at `path` is kept as it was before a restore, beside it."""
    return path.with_name(f"{path.stem}.before-restore.db")


RESTORE_WARNING = (
    "This replaces **everything** in the store with the backup. The store as it is now is "
    "kept beside it as a `.before-restore.db` file."
)


def check_backup(path: Path) -> str:
    """Why `path` cannot be restored, or "" when it is a sound funnel store.

    Checks the SQLite header, that it is a funnel store (meta app), that it passes
    `PRAGMA integrity_check` and that its schema is not newer than this version knows.
    """
    if not path.exists() or path.stat().st_size == 0:
        return "The backup file is empty."
    with path.open("rb") as f:
        if f.read(len(store.SQLITE_HEADER)) != store.SQLITE_HEADER:
            return "This is not a SQLite file, so not a funnel backup."
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" not in tables:
            return "This SQLite file is not a funnel store (it has no meta table)."
        app = conn.execute("SELECT value FROM meta WHERE key = 'app'").fetchone()
        if not app or app[0] != store.APP_ID:
            return "This SQLite file belongs to another application, not funnel."
        result = conn.execute("PRAGMA integrity_check").fetchall()
        if result != [("ok",)]:
            return f"The backup is damaged: {'; '.join(str(r[0]) for r in result[:3])}."
        applied = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [store.APP_ID]
            )
        }
    except sqlite3.DatabaseError as e:
        return f"The backup cannot be read: {e}."
    finally:
        conn.close()
    unknown = applied - {m.name for m in store.migrations._migrations}
    if unknown:
        return (
            f"The backup comes from a newer funnel (migrations {', '.join(sorted(unknown))}); "
            "update funnel first."
        )
    return ""


def restore(db: Database, source: Path, keep_copy: Path | None = None) -> None:
    """Replace the whole store with the backup at `source`, after `check_backup` passes.

    The current store is first copied to `keep_copy` (when given), then the backup is copied in
    through the backup API, under the store's write lock. The revision ends above both, so every
    session's caches see the change.
    """
    problem = check_backup(source)
    if problem:
        raise store.StoreError(f"Restore refused, the store is unchanged: {problem}")
    if keep_copy is not None:
        backup(db, keep_copy)
    before = store.revision(db)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        src.backup(db.conn)
    finally:
        src.close()
    store.migrations.apply(db)
    with store.write(db, leads=True):
        db.conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'revision'",
            [str(max(before, store.revision(db)) + 1)],
        )
        store.audit(db, "", "store", None, "restore", None, {"from": source.name})
