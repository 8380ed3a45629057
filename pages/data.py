"""Data: bring a CRM export in (map, preview, dry run, commit), export tables and charts, back up."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import altair as alt
import polars as pl
import streamlit as st
from sqlite_utils import Database
from streamlit.runtime.uploaded_file_manager import UploadedFile

import ui
from funnel import clock, exports, importers, stages, store
from funnel.views import data as data_view

ui.through_app()


def _read(upload: UploadedFile) -> importers.RawTable | None:
    """The upload read once per file and sheet; its name is only a label, never a path."""
    key = (upload.file_id, st.session_state.get(f"data_sheet_{upload.file_id}"))
    raw = data_view.read_once(st.session_state, key, upload.getvalue, upload.name)
    if isinstance(raw, importers.ImportRejectedError):
        ui.show_error(raw)
        return None
    return raw


def _history() -> importers.RawTable | None:
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
        ui.show_error(e)
        return None


def _stage_plan(previous: importers.Prepared | None) -> importers.StagePlan:
    with ui.connection() as db:
        targets = store.import_targets(db)
    ids = importers.pipeline_ids(targets)
    chosen = st.selectbox("Pipeline", ["(best match)", *ids], key="data_pipeline")
    action = ui.choice("Stages the pipeline lacks", data_view.UNKNOWN_STAGE_LABELS, "data_unknown")
    stage_map = {}
    if action == "map" and previous is not None:
        own = importers.pipeline_stage_names(targets, data_view.mapped_pipeline(ids, chosen, previous))
        for name in previous.report.unknown_stages:
            stage_map[name] = st.selectbox(
                ui.as_text(f"'{name}' becomes"), own, key=f"data_stage_{name}"
            )
    new_name, order = "", ""
    if action == "create":
        new_name = st.text_input("New pipeline name", key="data_new_pipeline")
        order = st.text_input(
            "Open stages in funnel order, comma-separated (empty: the order the dry run shows)",
            key="data_stage_order",
        )
    order_typed = importers.parse_stage_order(order)
    return importers.StagePlan(ids.get(chosen), action, new_name, stage_map, order_typed)


def _options(kind: importers.Kind, mapping: dict[str, str]) -> importers.Options:
    previous = st.session_state.get("data_prepared")
    orders = {
        f: ui.choice(
            f"Dates in '{mapping.get(f, f)}' read as", data_view.DATE_ORDER_LABELS, f"data_dates_{f}"
        )
        for f in (previous.report.ambiguous_dates if previous else [])
    }
    typed = {}
    for axis in ("fit", "interest"):
        if axis in mapping:
            typed[axis] = st.text_input(
                f"Scale of the file's {axis} (e.g. 0:10; empty: judged from the values)",
                key=f"data_range_{axis}",
            )
            if error := data_view.range_error(typed[axis]):
                st.error(ui.as_text(error))
    plan = _stage_plan(previous) if kind == "deals" else importers.StagePlan()
    no_values = (
        kind == "deals"
        and "value" not in mapping
        and st.checkbox("The file has no deal values: import every deal at $0", key="data_no_values")
    )
    return importers.Options(mapping, orders, data_view.parse_ranges(typed), plan, no_values)


def _chart_catalogue() -> dict[str, Callable[[], alt.TopLevelMixin]]:
    """Every chart the store can draw without a page's sliders, drawn from the session's cached
    frames only when chosen."""
    with ui.connection() as db:
        targets, decided = store.import_targets(db), store.decisions(db)
    frames = exports.ChartFrames(ui.deals, ui.stages, ui.scored_leads, ui.backtest_leads)
    return exports.chart_catalogue(targets, decided, frames, clock.today())


def _restore(db: Database, pending: tuple[str, int, str]) -> str:
    """Replace the store with the checked backup uploaded as `file_id`, the current store kept
    beside it, unless the store changed since the user chose to restore (its revision then);
    the uploaded file leaves the temp folder whatever the outcome."""
    file_id, seen, name = pending
    keep = exports.before_restore_path(ui.db_path())
    try:
        staged = exports.staged_path(file_id)
        exports.restore(db, staged, keep, expected_revision=seen, who=ui.who(), name=name)
    finally:
        exports.used_upload(st.session_state, file_id)
    return "Store restored."


st.title("Data")
ui.data_health()
imp, exp, bak = st.tabs(["Import", "Export", "Backup & restore"])

with imp:
    kind = st.radio("The file holds", ["leads", "deals"], horizontal=True, key="data_kind")
    upload = st.file_uploader(
        "CSV or XLSX export (HubSpot, Pipedrive, Salesforce or any spreadsheet)",
        type=["csv", "txt", "tsv", "xlsx"],
        key="data_upload",
        help=f"Up to {importers.MAX_UPLOAD_MB} MB; larger files: `python -m funnel import`.",
    )
    if upload is not None and (too_big := data_view.oversize_message(upload.size)):
        st.error(too_big)
    elif upload is not None and (raw := _read(upload)) is not None:
        if len(raw.sheets) > 1:
            st.selectbox(
                "Sheet",
                raw.sheets,
                index=raw.sheets.index(raw.sheet),
                key=f"data_sheet_{upload.file_id}",
            )
        for note in raw.notes:
            st.caption(ui.as_text(note))
        st.subheader("Map the file's columns to our fields")
        if note := importers.preset_note(raw.frame.columns, kind):
            st.caption(note)
        edited = st.data_editor(
            data_view.mapping_table(kind, importers.suggest_mapping(raw.frame.columns, kind)),
            column_config=ui.column_config(data_view.mapping_columns(raw.frame.columns)),
            disabled=data_view.MAPPING_LOCKED,
            hide_index=True,
            key=f"data_mapping_{kind}_{upload.file_id}",
        )
        mapping = data_view.mapping_from_table(pl.DataFrame(edited))
        st.subheader("Preview")
        st.dataframe(data_view.preview(raw, kind, mapping), hide_index=True, key="data_preview")
        options = _options(kind, mapping)
        history = _history() if kind == "deals" else None
        left, right = st.columns(2)
        if left.button("Dry run", key="data_dry_run", icon=":material/fact_check:"):
            with ui.connection() as db:
                checking = ui.progress("Checking…", 2)
                checked = importers.validate(db, raw, kind, options, checking, history)
            data_view.record_dry_run(st.session_state, checked, options)
            st.rerun()
        prepared, stale, ready = data_view.dry_run_status(st.session_state, options)
        if prepared is not None:
            if right.button("Import", type="primary", key="data_commit", disabled=not ready):
                ui.attempt(
                    lambda db: data_view.record_import(
                        st.session_state,
                        importers.commit(db, prepared, ui.who(), ui.progress("Importing…")),
                        store.counts(db),
                    ),
                    "Imported.",
                    rerun=True,
                )
            if stale:
                st.info("The mapping or options changed since the dry run: run it again.")
            ui.show_report(prepared.report, "data_problems")
    if "data_done" in st.session_state:
        done, counts = st.session_state.data_done
        st.success(ui.as_text(done.summary()))
        pid = done.pipeline_id
        figures = None if pid is None else stages.pipeline_figures(ui.deals(pid), ui.stages(pid))
        for row in data_view.done_metrics(counts, figures):
            for col, (label, value) in zip(st.columns(len(row)), row, strict=True):
                col.metric(label, value)
        for line in done.warnings:
            st.warning(ui.as_text(line))

with exp:
    st.caption("CSV in UTF-8; a cell a spreadsheet would run as a formula starts with an apostrophe.")
    for col, name in zip(st.columns(len(exports.TABLES)), exports.TABLES, strict=True):
        col.download_button(
            name.capitalize(),
            data=partial(exports.table_csv_at, ui.db_path(), name),
            file_name=f"{name}.csv",
            mime="text/csv",
            key=f"data_export_{name}",
            on_click="ignore",
            icon=":material/download:",
        )
    st.subheader("Charts as PNG or SVG")
    catalogue = _chart_catalogue()
    label = st.selectbox("Chart", list(catalogue), key="data_chart")
    if label:
        chart = catalogue[label]()
        st.altair_chart(chart, key="data_chart_view")
        for col, (fmt, (render, mime)) in zip(st.columns(2), exports.CHART_FORMATS.items(), strict=True):
            col.download_button(
                fmt,
                partial(render, chart),
                exports.chart_file_name(label, fmt, clock.today()),
                mime,
                key=f"data_chart_{fmt.lower()}",
                on_click="ignore",
            )


with bak:
    st.download_button(
        "Download a backup of the whole store",
        data=partial(exports.backup_bytes_at, ui.db_path()),
        file_name=f"funnel-backup-{clock.today():%Y-%m-%d}.db",
        mime="application/vnd.sqlite3",
        key="data_backup",
        on_click="ignore",
        icon=":material/backup:",
    )
    restore_upload = st.file_uploader("Restore from a backup file", key="data_restore_upload")
    if restore_upload is None:
        exports.discard_uploads(st.session_state)
    else:
        file_id = restore_upload.file_id
        problem = exports.checked_upload(st.session_state, file_id, restore_upload.getvalue)
        if problem == exports.USED_UPLOAD:
            st.info(problem)
        elif problem:
            st.error(ui.as_text(problem))
        elif st.button("Restore…", key="data_restore"):
            st.session_state.data_restore_pending = (file_id, ui.revision(), restore_upload.name)
    ui.confirm_dialog(
        "Restore this backup?", exports.RESTORE_WARNING, "Restore", _restore, "data_restore"
    )
