"""The commit: a validated file written in one transaction, and `import_bytes`, the whole import
in one call (read, suggest a mapping, validate, commit unless refused or a dry run).

Why apart: the store's bulk writers are called from here only, so a rejected file can never
reach them.
"""

from __future__ import annotations

from sqlite_utils import Database

from funnel import store
from funnel.importers.mapping import Kind, suggest_mapping
from funnel.importers.read import ImportRejectedError, read_table
from funnel.importers.report import Options, Prepared, Report
from funnel.importers.stage_plan import pipeline_id
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
