"""The Data page as plain data: the mapping form, score scales, the upload limit, and what a dry
run and an import keep in the session."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from funnel import importers
from funnel.importers import Options
from funnel.stages import PipelineFigures
from funnel.views import data as data_view


def test_preview_shows_the_first_rows_under_our_field_names() -> None:
    raw = importers.read_table(b"Lead ID,Create Date,Extra\nL1,2026-01-02,x\nL2,N/A,y\n", "p.csv")
    shown = data_view.preview(raw, "leads", {"external_id": "Lead ID", "created": "Create Date"})
    assert_frame_equal(
        shown,
        pl.DataFrame(
            {"line": [2, 3], "external_id": ["L1", "L2"], "created": ["2026-01-02", "N/A"]},
            schema_overrides={"line": pl.Int64},
        ),
    )


def test_oversize_message_only_past_the_limit() -> None:
    assert data_view.oversize_message(importers.MAX_UPLOAD_MB * importers.MB) == ""
    assert "over the" in data_view.oversize_message(importers.MAX_UPLOAD_MB * importers.MB + 1)


def test_read_once_parses_a_file_and_sheet_only_once() -> None:
    calls: list[int] = []

    def data() -> bytes:
        calls.append(1)
        return b"Lead ID\nL1\n"

    state: dict[str, object] = {"data_prepared": "stale"}
    first = data_view.read_once(state, ("f1", None), data, "a.csv")
    again = data_view.read_once(state, ("f1", None), data, "a.csv")
    assert first is again and len(calls) == 1 and "data_prepared" not in state
    refused = data_view.read_once(state, ("f2", None), lambda: b"", "empty.csv")
    assert isinstance(refused, importers.ImportRejectedError)


def test_range_error_and_parse_ranges_keep_only_usable_scales() -> None:
    assert data_view.range_error("0:10") == data_view.range_error(" ") == ""
    assert data_view.range_error("ten") == "'ten' is not a range like 0:10."
    typed = {"fit": "0:10", "interest": "ten", "other": ""}
    assert data_view.parse_ranges(typed) == {"fit": (0.0, 10.0)}


def _prepared(ok: bool, pipeline_id: int | None = None) -> importers.Prepared:
    report = importers.Report("leads", "a.csv", blocking=[] if ok else ["map a column"])
    return importers.Prepared("leads", pl.DataFrame(), report, pipeline_id)


def test_dry_run_bookkeeping_marks_stale_and_ready() -> None:
    state: dict[str, object] = {"data_done": "earlier import"}
    assert data_view.dry_run_status(state, Options({})) == (None, True, False)
    clean = _prepared(ok=True)
    data_view.record_dry_run(state, clean, Options({"external_id": "id"}))
    assert "data_done" not in state
    assert data_view.dry_run_status(state, Options({"external_id": "id"})) == (clean, False, True)
    assert data_view.dry_run_status(state, Options({"external_id": "ID"})) == (clean, True, False)
    data_view.record_dry_run(state, _prepared(ok=False), Options({}))
    assert data_view.dry_run_status(state, Options({}))[1:] == (False, False)
    done = importers.Report("leads", "a.csv", committed=True)
    data_view.record_import(state, done, {"leads": 2})
    assert state["data_done"] == (done, {"leads": 2}) and "data_prepared" not in state


def test_mapped_pipeline_is_the_chosen_one_else_the_dry_runs() -> None:
    ids = {"Sales": 1, "Renewals": 2}
    assert data_view.mapped_pipeline(ids, "Renewals", _prepared(True, 1)) == 2
    assert data_view.mapped_pipeline(ids, "(best match)", _prepared(True, 1)) == 1
    assert data_view.mapped_pipeline(ids, "(best match)", None) is None


def test_done_metrics_counts_then_the_pipeline_figures() -> None:
    counts = {"pipelines": 2, "deals": 1500, "leads": 12}
    assert data_view.done_metrics(counts, None) == [
        [("Pipelines", "2"), ("Deals", "1,500"), ("Leads", "12")]
    ]
    figures = PipelineFigures(500.0, 1000.0, 250.4, pl.DataFrame())
    assert data_view.done_metrics(counts, figures)[1] == [
        ("Closed won", "$500"),
        ("Open pipeline", "$1,000"),
        ("Weighted pipeline", "$250"),
    ]


def test_mapping_columns_offer_the_files_columns_and_lock_the_rest() -> None:
    spec = data_view.mapping_columns(("Lead ID", "Create Date"))
    assert spec["column"] == {
        "kind": "select",
        "label": "file column",
        "options": ["Lead ID", "Create Date"],
    }
    assert "column" not in data_view.MAPPING_LOCKED
    assert set(data_view.MAPPING_LOCKED) | {"column"} == set(
        data_view.mapping_table("leads", {}).columns
    )
