"""Data: bring a CRM export in (map, preview, dry run, commit), export tables and charts, back up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path

import altair as alt
import polars as pl
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

import ui
from funnel import exports, forecast, importers, stages, store


def _read(upload: UploadedFile) -> importers.RawTable | None:
    """The upload read once per file and sheet; its name is only a label, never a path."""
    key = (upload.file_id, st.session_state.get(f"data_sheet_{upload.file_id}"))
    raw = importers.read_once(st.session_state, key, upload.getvalue, upload.name)
    if isinstance(raw, importers.ImportRejectedError):
        st.error(ui.as_text(str(raw)), icon=":material/error:")
        return None
    return raw


def _stage_plan(previous: importers.Prepared | None) -> importers.StagePlan:
    with ui.connection() as db:
        targets = store.import_targets(db)
    ids = importers.pipeline_ids(targets)
    chosen = st.selectbox("Pipeline", ["(best match)", *ids], key="data_pipeline")
    action = st.radio(
        "Stages the pipeline lacks",
        list(importers.UNKNOWN_STAGE_LABELS),
        format_func=importers.UNKNOWN_STAGE_LABELS.get,
        horizontal=True,
        key="data_unknown",
    )
    pid = ids.get(chosen) or (previous.pipeline_id if previous else None)
    stage_map = {}
    if action == "map" and previous is not None:
        own = importers.pipeline_stage_names(targets, pid)
        for name in previous.report.unknown_stages:
            stage_map[name] = st.selectbox(f"'{name}' becomes", own, key=f"data_stage_{name}")
    new_name = st.text_input("New pipeline name", key="data_new_pipeline") if action == "create" else ""
    return importers.StagePlan(ids.get(chosen), action, new_name, stage_map)


def _options(kind: importers.Kind, mapping: dict[str, str]) -> importers.Options:
    previous = st.session_state.get("data_prepared")
    orders = {
        f: st.radio(
            f"Dates in '{mapping.get(f, f)}' read as",
            list(importers.DATE_ORDER_LABELS),
            format_func=importers.DATE_ORDER_LABELS.get,
            horizontal=True,
            key=f"data_dates_{f}",
        )
        for f in (previous.report.ambiguous_dates if previous else [])
    }
    ranges = {}
    for axis in ("fit", "interest"):
        if axis in mapping:
            text = st.text_input(
                f"Scale of the file's {axis} (e.g. 0:10; empty: judged from the values)",
                key=f"data_range_{axis}",
            )
            try:
                if (scale := importers.parse_range(text)) is not None:
                    ranges[axis] = scale
            except ValueError:
                st.error(f"'{text}' is not a range like 0:10.")
    plan = _stage_plan(previous) if kind == "deals" else importers.StagePlan()
    return importers.Options(mapping, orders, ranges, plan)


def _chart(
    kind: exports.ChartKind, pipeline_id: int | None, fit: float, interest: float, version: int | None
) -> alt.TopLevelMixin:
    """Drawn from the session's cached frames, so only the chosen chart reads the store."""
    if kind == "stages":
        return exports.stage_chart(ui.deals(pipeline_id), ui.stages(pipeline_id))
    return exports.mql_chart(ui.scored_leads(version), kind, fit, interest, date.today())


def _chart_catalogue() -> dict[str, Callable[[], alt.TopLevelMixin]]:
    """Every chart the store can draw without a page's sliders, built only when chosen."""
    with ui.connection() as db:
        targets = store.import_targets(db)
        fit, interest, version = forecast.agreed_cutoff(store.decisions(db))
    return {
        label: partial(_chart, kind, pid, fit, interest, version)
        for label, (kind, pid) in exports.chart_choices(targets, fit, interest).items()
    }


def _report(report: importers.Report) -> None:
    (st.success if report.ok else st.error)(ui.as_text(report.summary()))
    for line in report.blocking:
        st.error(ui.as_text(line))
    if not report.problems.is_empty():
        st.dataframe(report.problems, hide_index=True, key="data_problems")
    for line in report.warnings:
        st.warning(ui.as_text(line))
    for line in report.notes:
        st.caption(ui.as_text(line))


st.title("Data")
imp, exp, bak = st.tabs(["Import", "Export", "Backup & restore"])

with imp:
    kind = st.radio("The file holds", ["leads", "deals"], horizontal=True, key="data_kind")
    upload = st.file_uploader(
        "CSV or XLSX export (HubSpot, Pipedrive, Salesforce or any spreadsheet)",
        type=["csv", "txt", "tsv", "xlsx"],
        key="data_upload",
        help=f"Up to {importers.MAX_UPLOAD_MB} MB; larger files: `python -m funnel import`.",
    )
    if upload is not None and (too_big := importers.oversize_message(upload.size)):
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
        preset = importers.detect_preset(raw.frame.columns, kind)
        st.subheader("Map the file's columns to our fields")
        if preset:
            st.caption(f"Looks like a {preset} export: the mapping is pre-filled from its headers.")
        edited = st.data_editor(
            importers.mapping_table(kind, importers.suggest_mapping(raw.frame.columns, kind)),
            column_config={
                "column": st.column_config.SelectboxColumn("file column", options=raw.frame.columns),
                "meaning": st.column_config.TextColumn(width="large"),
            },
            disabled=["field", "type", "required", "meaning"],
            hide_index=True,
            key=f"data_mapping_{kind}_{upload.file_id}",
        )
        mapping = importers.mapping_from_table(pl.DataFrame(edited))
        st.subheader("Preview")
        st.dataframe(importers.preview(raw, kind, mapping), hide_index=True, key="data_preview")
        options = _options(kind, mapping)
        left, right = st.columns(2)
        if left.button("Dry run", key="data_dry_run", icon=":material/fact_check:"):
            bar = st.progress(0.0, text="Checking…")
            with ui.connection() as db:
                st.session_state.data_prepared = importers.validate(
                    db, raw, kind, options, lambda f, m: bar.progress(2 * f, text=m)
                )
            st.session_state.data_options = options
            st.session_state.pop("data_done", None)
            st.rerun()
        prepared = st.session_state.get("data_prepared")
        if prepared is not None:
            stale = st.session_state.get("data_options") != options
            ready = prepared.report.ok and not stale
            if right.button("Import", type="primary", key="data_commit", disabled=not ready):
                bar = st.progress(0.0, text="Importing…")
                with ui.connection() as db:
                    done = importers.commit(
                        db, prepared, ui.who(), lambda f, m: bar.progress(min(f, 1.0), text=m)
                    )
                    st.session_state.data_done = (done, store.counts(db))
                st.session_state.pop("data_prepared")
                st.toast("Imported.", icon=":material/check:")
                st.rerun()
            if stale:
                st.info("The mapping or options changed since the dry run: run it again.")
            _report(prepared.report)
    if "data_done" in st.session_state:
        done, counts = st.session_state.data_done
        st.success(ui.as_text(done.summary()))
        for col, name in zip(st.columns(3), ("pipelines", "deals", "leads"), strict=True):
            col.metric(name.capitalize(), f"{counts[name]:,}")
        if done.pipeline_id is not None:
            figures = stages.pipeline_figures(ui.deals(done.pipeline_id), ui.stages(done.pipeline_id))
            for col, (label, value) in zip(
                st.columns(3), importers.headline_figures(figures), strict=True
            ):
                col.metric(label, f"${value:,.0f}")
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
    label = st.selectbox("Chart", list(_chart_catalogue()), key="data_chart")
    if label:
        chart = _chart_catalogue()[label]()
        st.altair_chart(chart, key="data_chart_view")
        png, svg = st.columns(2)
        png.download_button(
            "PNG",
            partial(exports.chart_png, chart),
            "chart.png",
            "image/png",
            key="data_chart_png",
            on_click="ignore",
        )
        svg.download_button(
            "SVG",
            partial(exports.chart_svg, chart),
            "chart.svg",
            "image/svg+xml",
            key="data_chart_svg",
            on_click="ignore",
        )


def _forget_restore() -> None:
    st.session_state.pop("data_restore_pending", None)


# The pending restore lives in session state so the dialog stays open across the rerun its
# own button causes; closing it (X, Esc, Cancel) forgets it.
@st.dialog("Restore this backup?", on_dismiss=_forget_restore)
def _confirm_restore(source: Path) -> None:
    st.write(
        "This replaces **everything** in the store with the backup. The store as it is now is "
        "kept beside it as a `.before-restore.db` file."
    )
    left, right = st.columns(2)
    if left.button("Restore", type="primary", key="data_restore_confirm"):
        with ui.connection() as db:
            exports.restore(db, source, keep_copy=exports.before_restore_path(ui.db_path()))
        _forget_restore()
        st.toast("Store restored.", icon=":material/check:")
        st.rerun()
    if right.button("Cancel", key="data_restore_cancel"):
        _forget_restore()
        st.rerun()


with bak:
    st.download_button(
        "Download a backup of the whole store",
        data=partial(exports.backup_bytes_at, ui.db_path()),
        file_name=f"funnel-backup-{date.today():%Y-%m-%d}.db",
        mime="application/vnd.sqlite3",
        key="data_backup",
        on_click="ignore",
        icon=":material/backup:",
    )
    restore_upload = st.file_uploader("Restore from a backup file", key="data_restore_upload")
    if restore_upload is not None:
        candidate = exports.staged_upload(restore_upload.file_id, restore_upload.getvalue)
        problem = exports.check_backup(candidate)
        if problem:
            st.error(f"{problem} Nothing was changed.")
        elif st.button("Restore…", key="data_restore"):
            st.session_state.data_restore_pending = str(candidate)
    if "data_restore_pending" in st.session_state:
        _confirm_restore(Path(st.session_state.data_restore_pending))
