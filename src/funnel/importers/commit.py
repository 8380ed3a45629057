"""The commit: a validated file written in one transaction; and the whole import in one call
(read, validate with the mapping given or suggested, commit unless refused or a dry run), from
bytes (`import_bytes`) or from a file read in bounded steps (`import_path`).

Why apart: the store's bulk writers are called from here only, so a rejected file can never
reach them.
"""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database

from funnel import store
from funnel.importers.mapping import Kind
from funnel.importers.read import read_path, read_table
from funnel.importers.report import Options, Prepared, Report
from funnel.importers.stage_plan import pipeline_id
from funnel.importers.table import ImportRejectedError, RawTable
from funnel.importers.validate import Progress, scores_only, validate


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
    history: RawTable | None = None,
) -> Report:
    """Read, validate and (unless `dry_run` or rejected) commit a file held as bytes.

    Without a mapping, the suggested one is used. For deals, `history` is a stage-history file
    read beside them. Raises `ImportRejectedError` for a file that cannot be read at all.
    """
    return _import(db, read_table(data, name, sheet), kind, options, dry_run, who, progress, history)


def import_path(
    db: Database,
    path: Path,
    kind: Kind,
    options: Options | None = None,
    sheet: str | None = None,
    dry_run: bool = False,
    who: str = "",
    progress: Progress | None = None,
    history: RawTable | None = None,
) -> Report:
    """`import_bytes` of the file at `path`, read in bounded steps (`read_path`): the command
    line's one call, so a large CSV never sits in memory whole. Raises `OSError` for a file that
    cannot be opened."""
    return _import(db, read_path(path, sheet=sheet), kind, options, dry_run, who, progress, history)


def _import(
    db: Database,
    raw: RawTable,
    kind: Kind,
    options: Options | None,
    dry_run: bool,
    who: str,
    progress: Progress | None,
    history: RawTable | None,
) -> Report:
    prepared = validate(db, raw, kind, options or Options(), progress, history)
    if dry_run or not prepared.report.ok:
        return prepared.report
    return commit(db, prepared, who, progress)
