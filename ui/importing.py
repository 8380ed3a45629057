"""The Data page's import sections: the upload read once, the options a dry run checks (date
orders, score scales, the stage plan), the optional stage-history file, the dry run and the
import, and what the last import wrote.

Apart from the page because they are the import's form flow, half the page's lines, while the
page lays out its three tabs; what they keep between reruns and the labels they show are plain
data in `funnel.views.data`.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from funnel import importers, stages, store
from funnel.views import data as view
from ui import frames
from ui.messages import as_text, show_error
from ui.shell import who
from ui.widgets import attempt, choice, progress, session, show_report


def read_upload(upload: UploadedFile) -> importers.RawTable | None:
    """The upload read once per file and sheet; its name is only a label, never a path."""
    key = (upload.file_id, session().get(f"data_sheet_{upload.file_id}"))
    raw = view.read_once(session(), key, upload.getvalue, upload.name)
    if isinstance(raw, importers.ImportRejectedError):
        show_error(raw)
        return None
    return raw


def history_file() -> importers.RawTable | None:
    """A stage-history file beside the deals (Salesforce's OpportunityHistory shape), if given."""
    upload = st.file_uploader(
        "Stage history file, optional (deal id, stage, date entered; e.g. OpportunityHistory)",
        type=["csv", "txt", "tsv", "xlsx"],
        key="data_history_upload",
    )
    if upload is None:
        return None
    try:
        return importers.read_table(upload.getvalue(), upload.name)
    except importers.ImportRejectedError as e:
        show_error(e)
        return None


def _stage_plan(previous: importers.Prepared | None) -> importers.StagePlan:
    """Which pipeline the deals go to, and what becomes of stages it lacks (once a dry run has
    named them, each can be mapped to one of its stages)."""
    with frames.connection() as db:
        targets = store.import_targets(db)
    ids = importers.pipeline_ids(targets)
    chosen = st.selectbox("Pipeline", ["(best match)", *ids], key="data_pipeline")
    action = choice("Stages the pipeline lacks", view.UNKNOWN_STAGE_LABELS, "data_unknown")
    stage_map = {}
    if action == "map" and previous is not None:
        own = importers.pipeline_stage_names(targets, view.mapped_pipeline(ids, chosen, previous))
        for name in previous.report.unknown_stages:
            stage_map[name] = st.selectbox(as_text(f"'{name}' becomes"), own, key=f"data_stage_{name}")
    new_name, order = "", ""
    if action == "create":
        new_name = st.text_input("New pipeline name", key="data_new_pipeline")
        order = st.text_input(
            "Open stages in funnel order, comma-separated (empty: the order the dry run shows)",
            key="data_stage_order",
        )
    order_typed = importers.parse_stage_order(order)
    return importers.StagePlan(ids.get(chosen), action, new_name, stage_map, order_typed)


def import_options(kind: importers.Kind, mapping: dict[str, str]) -> importers.Options:
    """The choices a dry run checks beyond the mapping: how each ambiguous date column reads (as
    the last dry run found them), the file's score scales, and for deals the stage plan and
    whether a file without values imports at $0."""
    previous: importers.Prepared | None = session().get("data_prepared")
    orders = {
        f: choice(f"Dates in '{mapping.get(f, f)}' read as", view.DATE_ORDER_LABELS, f"data_dates_{f}")
        for f in (previous.report.ambiguous_dates if previous else [])
    }
    typed: dict[str, str] = {}
    for axis in ("fit", "interest"):
        if axis in mapping:
            typed[axis] = st.text_input(
                f"Scale of the file's {axis} (e.g. 0:10; empty: judged from the values)",
                key=f"data_range_{axis}",
            )
            if error := view.range_error(typed[axis]):
                st.error(as_text(error))
    plan = _stage_plan(previous) if kind == "deals" else importers.StagePlan()
    no_values = (
        kind == "deals"
        and "value" not in mapping
        and st.checkbox("The file has no deal values: import every deal at $0", key="data_no_values")
    )
    return importers.Options(mapping, orders, view.parse_ranges(typed), plan, no_values)


def _commit(prepared: importers.Prepared) -> None:
    """Import what the dry run checked; the summary is shown after the rerun (`import_done`)."""
    attempt(
        lambda db: view.record_import(
            session(), importers.commit(db, prepared, who(), progress("Importing…")), store.counts(db)
        ),
        "Imported.",
        rerun=True,
    )


def dry_run_and_import(
    raw: importers.RawTable,
    kind: importers.Kind,
    options: importers.Options,
    history: importers.RawTable | None,
) -> None:
    """The two buttons: a dry run checks the file with `options` and keeps its report; Import
    is offered once there is one, and enabled only while it is fresh and found nothing blocking."""
    left, right = st.columns(2)
    if left.button("Dry run", key="data_dry_run", icon=":material/fact_check:"):
        with frames.connection() as db:
            checking = progress("Checking…", 2)
            checked = importers.validate(db, raw, kind, options, checking, history)
        view.record_dry_run(session(), checked, options)
        st.rerun()
    prepared, stale, ready = view.dry_run_status(session(), options)
    if prepared is not None:
        if right.button("Import", type="primary", key="data_commit", disabled=not ready):
            _commit(prepared)
        if stale:
            st.info("The mapping or options changed since the dry run: run it again.")
        show_report(prepared.report, "data_problems")


def import_done() -> None:
    """What the last import wrote: its summary, the store's counts and, for deals, what their
    pipeline now adds up to, with the import's warnings."""
    if "data_done" not in session():
        return
    done, counts = session()["data_done"]
    st.success(as_text(done.summary()))
    pid = done.pipeline_id
    figures = None if pid is None else stages.pipeline_figures(frames.deals(pid), frames.stages(pid))
    for row in view.done_metrics(counts, figures):
        for col, (label, value) in zip(st.columns(len(row)), row, strict=True):
            col.metric(label, value)
    for line in done.warnings:
        st.warning(as_text(line))
