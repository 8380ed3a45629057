"""Exports: formula neutralising, scored leads at the agreed cutoff, charts, backup and restore,
and the round trip (export, import into an empty store, same figures)."""

from __future__ import annotations

import io
import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import altair as alt
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from funnel import audit, exports, importers, scoring, stages, store
from funnel.importers import Options, StagePlan
from funnel.models import DEAL_FIELDS, LEAD_FIELDS
from tests.conftest import DEMO_TODAY


def test_leads_export_has_fit_interest_quadrant_and_mql_at_the_latest_cutoff(demo_path: Path) -> None:
    with store.opened(demo_path) as db:
        version = store.latest_model_version(db)
        assert version is not None
        store.record_decision(db, 30.0, 50.0, version, "2026-11-20", "Anna, Ben")
        store.record_decision(db, 60.0, 40.0, version, "2026-11-23", "Anna, Ben")
        exported, note = exports.leads_table(db, DEMO_TODAY)
        expected = scoring.with_quadrants(
            scoring.score_leads(
                store.leads(db), store.rules(db, version), store.half_life(db, version), DEMO_TODAY
            ),
            60.0,
            40.0,
        )
    assert "fit ≥ 60, interest ≥ 40" in note
    assert exported.columns == [*[f.name for f in LEAD_FIELDS], "quadrant", "mql"]
    assert_frame_equal(
        exported.select("fit", "interest", "quadrant", "mql"),
        expected.select("fit", "interest", "quadrant", "mql"),
    )
    assert exported.filter(pl.col("mql"))["fit"].min() >= 60  # type: ignore[operator]


def test_every_table_exports_as_csv(demo_path: Path) -> None:
    with store.opened(demo_path) as db:
        for name in exports.TABLES:
            data = exports.table_csv(db, name, DEMO_TODAY)
            frame = pl.read_csv(io.BytesIO(data[3:]), infer_schema=False)
            assert frame.width > 3, name


def test_chart_exports_as_png_and_svg() -> None:
    chart = (
        alt.Chart(pl.DataFrame({"stage": ["Demo", "Proposal"], "deals": [12, 5]}))
        .mark_bar()
        .encode(x="stage:N", y="deals:Q")
    )
    assert exports.chart_png(chart).startswith(b"\x89PNG\r\n\x1a\n")
    svg = exports.chart_svg(chart).decode()
    assert svg.startswith("<svg") and "Proposal" in svg


def test_backup_then_restore_brings_back_the_store_and_bumps_the_revision(
    demo_path: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "backup.db"
    with store.opened(demo_path) as db:
        store.backup(db, backup)
        counts = store.counts(db)
        db.conn.execute("DELETE FROM stage_history")
        db.conn.execute("DELETE FROM deals")
        db.conn.commit()
        revision = store.revision(db)
        exports.restore(db, backup, keep_copy=tmp_path / "before.db")
        assert store.counts(db) == counts
        assert store.revision(db) > revision
    with store.opened(tmp_path / "before.db") as kept:
        assert store.counts(kept)["deals"] == 0


def test_a_restore_is_signed_names_the_users_file_and_where_the_old_store_and_its_history_went(
    demo_path: Path, tmp_path: Path
) -> None:
    # The page restores from a staged temp file: History must name the file the user chose.
    staged = tmp_path / "funnel-restore-pid1-abc.db"
    with store.opened(demo_path) as db:
        store.backup(db, staged)
        store.save_scenario(db, "Made after the backup", {})
        exports.restore(db, staged, tmp_path / "before.db", who="Anna", name="monday.db")
        last = store.audit_log(db).row(0, named=True)
    assert (last["who"], last["entity"], last["action"]) == ("Anna", "store", "restore")
    before, after = (json.loads(last[c]) for c in ("before", "after"))
    # The demo's 5 pipelines, 600 deals and 3,000 leads both sides; the scenario made after the
    # backup is what the restore replaces and the kept store holds.
    assert audit.describe("store", "restore", before, after) == (
        "restored from backup 'monday.db' (5 pipelines, 600 deals, 3,000 leads, 0 decisions, "
        "0 scenarios, 1 scoring model), replacing 5 pipelines, 600 deals, 3,000 leads, "
        "0 decisions, 1 scenario, 1 scoring model; the store as it was, with its History, is "
        f"kept as {tmp_path / 'before.db'}"
    )
    with store.opened(tmp_path / "before.db") as kept:
        assert store.scenarios(kept)["name"].to_list() == ["Made after the backup"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The backup file is empty."),
        (b"id,name\n1,x\n", "not a SQLite file"),
        ("other-app", "not a funnel store"),
        ("damaged", "cannot be read"),
    ],
)
def test_restore_checks_the_file_and_leaves_the_store_unchanged(
    demo_path: Path, tmp_path: Path, content: bytes | str, message: str
) -> None:
    bad = tmp_path / "bad.db"
    if content == "other-app":
        conn = sqlite3.connect(bad)
        conn.execute("CREATE TABLE invoices (id INTEGER)")
        conn.commit()
        conn.close()
    elif content == "damaged":
        source = sqlite3.connect(demo_path)
        data = bytearray(source.serialize())
        source.close()
        data[100:4096] = b"\xff" * (4096 - 100)
        bad.write_bytes(bytes(data))
    else:
        assert isinstance(content, bytes)
        bad.write_bytes(content)
    with store.opened(demo_path) as db:
        before = (store.counts(db), store.revision(db))
        with pytest.raises(store.StoreError, match=message):
            exports.restore(db, bad)
        assert (store.counts(db), store.revision(db)) == before


def _import(db_path: Path, data: bytes, kind: importers.Kind, plan: StagePlan) -> None:
    with store.opened(db_path) as db:
        raw = importers.read_table(data, f"{kind}.csv")
        prepared = importers.validate(
            db, raw, kind, Options(importers.suggest_mapping(raw.frame.columns, kind), stages=plan)
        )
        assert prepared.report.ok, prepared.report.text()
        importers.commit(db, prepared)


def test_round_trip_export_then_import_into_an_empty_store_gives_the_same_figures(
    demo_path: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.db"
    with store.opened(demo_path) as db:
        version = store.latest_model_version(db)
        assert version is not None
        store.record_decision(db, 55.0, 45.0, version, "2026-11-23", "Anna, Ben")
        leads_csv = exports.table_csv(db, "leads", DEMO_TODAY)
        deals_csv = exports.table_csv(db, "deals", DEMO_TODAY)
        originals = {
            name: (store.stage_list(db, pid), store.deals(db, pid), store.stages(db, pid))
            for pid, name in store.pipelines(db).select("id", "name").rows()
        }
        before_leads, _ = exports.leads_table(db, DEMO_TODAY)

    _import(empty, leads_csv, "leads", StagePlan())
    every_deal = pl.read_csv(io.BytesIO(deals_csv[3:]), infer_schema=False)
    for name, (stage_list, _, _) in originals.items():
        with store.opened(empty) as db:
            pid = store.create_pipeline(db, name, [replace(s, id=None) for s in stage_list])
        one = every_deal.filter(pl.col("pipeline") == name)
        _import(empty, one.write_csv().encode(), "deals", StagePlan(pipeline_id=pid))

    with store.opened(empty) as db:
        store.save_model(db, [], 0.0, based_on=None)
        store.record_decision(db, 55.0, 45.0, 1, "2026-11-23", "Anna, Ben")
        after_leads, _ = exports.leads_table(db, DEMO_TODAY)
        for name, (_, deals_before, stages_before) in originals.items():
            pid = int(store.pipelines(db).filter(pl.col("name") == name)["id"][0])
            deals_after = store.deals(db, pid)
            columns = [f.name for f in DEAL_FIELDS]
            assert_frame_equal(deals_after.select(columns), deals_before.select(columns))
            after = stages.pipeline_figures(deals_after, store.stages(db, pid))
            before = stages.pipeline_figures(deals_before, stages_before)
            assert (after.closed_won, after.open_pipeline, after.weighted_pipeline) == (
                before.closed_won,
                before.open_pipeline,
                before.weighted_pipeline,
            )
            assert_frame_equal(after.by_stage.drop("stage_id"), before.by_stage.drop("stage_id"))
    assert_frame_equal(after_leads, before_leads)


def test_chart_choices_one_stage_chart_per_pipeline_then_the_mql_charts() -> None:
    targets = pl.DataFrame(
        {"pipeline": ["Sales", "Sales", "Renewals"], "pipeline_id": [1, 1, 2], "stage": ["a", "b", "c"]}
    )
    choices = exports.chart_choices(targets, 60.0, 40.0)
    assert list(choices.values()) == [
        ("stages", 1),
        ("stages", 2),
        ("quadrants", None),
        ("curve", None),
        ("funnel", None),
    ]
    assert "MQL quadrants at the agreed cutoff (fit ≥ 60, interest ≥ 40)" in choices


def test_staged_upload_writes_the_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports.tempfile, "gettempdir", lambda: str(tmp_path))
    first = exports.staged_upload("abc", lambda: b"one")
    again = exports.staged_upload("abc", lambda: b"two")
    assert first == again == tmp_path / f"funnel-restore-pid{os.getpid()}-abc.db"
    assert first.read_bytes() == b"one"
    assert exports.before_restore_path(tmp_path / "funnel.db").name == "funnel.before-restore.db"


def test_chart_catalogue_draws_only_the_chosen_chart_at_the_agreed_cutoff(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read: list[tuple[str, int | None]] = []

    def reader(name: str) -> Callable[[int | None], pl.DataFrame]:
        return lambda key: read.append((name, key)) or pl.DataFrame()

    def chart(what: str) -> alt.Chart:
        return alt.Chart(pl.DataFrame({"x": [1]})).mark_point().properties(description=what)

    monkeypatch.setattr(exports, "stage_chart", lambda deals, rows: chart("stage chart"))
    monkeypatch.setattr(
        exports,
        "mql_chart",
        lambda leads, kind, fit, interest, today, steps: chart(f"{kind} {fit:g} {interest:g}"),
    )
    targets = pl.DataFrame({"pipeline": ["Sales"], "pipeline_id": [7], "stage": ["a"]})
    decided = pl.DataFrame({"fit_cutoff": [60.0], "interest_cutoff": [40.0], "model_version": [3]})
    frames = exports.ChartFrames(reader("deals"), reader("stages"), reader("scored"), reader("then"))
    catalogue = exports.chart_catalogue(targets, decided, frames, DEMO_TODAY)
    assert len(catalogue) == 4 and read == []
    stage_label = "Value vs weighted value per stage: Sales, all periods"
    drawn = catalogue[stage_label]()
    assert drawn.description == "stage chart"
    assert read == [("deals", 7), ("stages", 7)]
    # Each chart carries its label as its title, so an exported file says what it shows.
    title = drawn.to_dict()["title"]
    assert title["text"] == stage_label
    assert title["subtitle"] == [f"funnel, as of {DEMO_TODAY:%d %b %Y}"]
    assert drawn.to_dict()["width"] == exports.SLIDE_WIDTH  # a file has no column to fill
    assert catalogue["Marketing funnel, last four full quarters"]().description == "funnel 60 40"
    assert read[-1] == ("scored", 3)
    # The back-test's charts read the leads as they stood when their outcome was decided.
    curve = next(label for label in catalogue if label.startswith("MQL back-test"))
    assert catalogue[curve]().description == "curve 60 40"
    assert read[-1] == ("then", 3)
    assert exports.chart_file_name(stage_label, "SVG", DEMO_TODAY) == (
        f"value-vs-weighted-value-per-stage-sales-all-periods-{DEMO_TODAY:%Y-%m-%d}.svg"
    )


def test_chart_formats_name_their_mime_types() -> None:
    assert {fmt: mime for fmt, (_, mime) in exports.CHART_FORMATS.items()} == {
        "PNG": "image/png",
        "SVG": "image/svg+xml",
    }


def test_a_restore_reports_each_step_to_its_progress_bar(demo_path: Path, tmp_path: Path) -> None:
    steps: list[tuple[float, str]] = []
    with store.opened(demo_path) as db:
        store.backup(db, tmp_path / "monday.db")
        exports.restore(
            db,
            tmp_path / "monday.db",
            tmp_path / "before.db",
            progress=lambda f, t: steps.append((f, t)),
        )
    assert steps == [
        (0.0, "Checking the backup…"),
        (0.4, "Keeping a copy of the store as it is…"),
        (0.7, "Putting the backup in place…"),
        (1.0, "Restored."),
    ]
