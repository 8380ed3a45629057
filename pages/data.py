"""Data: bring a CRM export in (map, preview, dry run, commit), export tables and charts, back up."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import polars as pl
import streamlit as st

import ui
from funnel import charts, clock, exports, importers, store
from funnel.views import data as data_view
from ui import importing, restoring

ui.through_app()


def _chart_catalogue() -> dict[str, Callable[[], charts.AnyChart]]:
    """Every chart the store can draw without a page's sliders, drawn from the session's cached
    frames only when chosen."""
    with ui.connection() as db:
        targets, decided = store.import_targets(db), store.decisions(db)
    frames = exports.ChartFrames(
        ui.deals, ui.stages, ui.scored_leads, ui.backtest_leads, ui.slider_steps()
    )
    return exports.chart_catalogue(targets, decided, frames, clock.today())


st.title("Data")
ui.data_health()
imp, exp, bak = st.tabs(["Import", "Export", "Backup & restore"])

with imp:
    kind = ui.choice("The file holds", data_view.KIND_LABELS, "data_kind")
    upload = st.file_uploader(
        "CSV or XLSX export (HubSpot, Pipedrive, Salesforce or any spreadsheet)",
        type=["csv", "txt", "tsv", "xlsx"],
        key="data_upload",
        help=f"Up to {importers.MAX_UPLOAD_MB} MB; larger files: `python -m funnel import`.",
    )
    if upload is not None and (too_big := data_view.oversize_message(upload.size)):
        st.error(too_big)
    elif upload is not None and (raw := importing.read_upload(upload)) is not None:
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
        if note := importers.preset_note(raw.columns, kind):
            st.caption(note)
        edited = st.data_editor(
            data_view.mapping_table(kind, importers.suggest_mapping(raw.columns, kind)),
            column_config=ui.column_config(data_view.mapping_columns(raw.columns)),
            disabled=data_view.MAPPING_LOCKED,
            hide_index=True,
            key=f"data_mapping_{kind}_{upload.file_id}",
        )
        mapping = data_view.mapping_from_table(pl.DataFrame(edited))
        st.subheader("Preview")
        st.dataframe(data_view.preview(raw, kind, mapping), hide_index=True, key="data_preview")
        options = importing.import_options(kind, mapping)
        history = importing.history_file() if kind == "deals" else None
        importing.dry_run_and_import(raw, kind, options, history)
    importing.import_done()

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
    restoring.restore_from_backup()
