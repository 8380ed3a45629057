"""The demo seed: leads drawn in reproducible chunks, one all-or-nothing write, the copy of the
leads written from the generated frame."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from funnel import demo, store
from funnel.store import bulk, frames, snapshot

TODAY = date(2026, 11, 23)


def _rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in rowid order."""
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}
    finally:
        conn.close()


def test_chunked_leads_are_the_same_for_the_same_seed_whatever_the_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(demo, "CHUNK_ROWS", 1_000)
    leads = demo.make_leads(2_500, TODAY, seed=5)
    assert_frame_equal(demo.make_leads(2_500, TODAY, seed=5), leads)
    # A chunk is drawn from its own generator: the first 1,000 leads are those of a smaller store.
    assert_frame_equal(demo.make_leads(1_000, TODAY, seed=5), leads.head(1_000))
    assert leads["external_id"].to_list() == [f"L{i}" for i in range(1, 2_501)]
    # Each chunk draws anew, not the first chunk's leads again.
    first, second = leads.slice(0, 1_000), leads.slice(1_000, 1_000)
    assert (first["created"] != second["created"]).sum() > 900
    assert not leads.equals(demo.make_leads(2_500, TODAY, seed=6))
    # One chunk per column, as `store.leads` reads them.
    assert set(leads.n_chunks("all")) == {1}


def test_later_chunks_follow_the_same_distributions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "CHUNK_ROWS", 20_000)
    leads = demo.make_leads(40_000, TODAY)
    shares = leads.group_by(
        (pl.col("external_id").str.slice(1).cast(pl.Int64) > 20_000).alias("later")
    ).agg(
        known=pl.col("outcome").is_not_null().mean(),
        converted=(pl.col("outcome") == "converted").mean(),
        reviewed=pl.col("sal_status").is_not_null().mean(),
        partner=(pl.col("source") == "Partner list").mean(),
    )
    first, later = (shares.filter(pl.col("later") == flag).row(0, named=True) for flag in (False, True))
    for figure in ("known", "converted", "reviewed", "partner"):
        assert later[figure] == pytest.approx(first[figure], abs=0.015), figure


def test_the_seed_writes_the_copy_of_the_leads_and_it_equals_sqlite(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "CHUNK_ROWS", 700)
    with store.opened(db_path) as db:
        demo.seed_store(db, leads=2_000, deals=50, today=TODAY)
        (copy,) = snapshot.copies(db_path)
        assert copy == snapshot.path_for(db_path, store.connection.leads_token(db), 0)
        from_sqlite = frames._read_leads(db)
        assert_frame_equal(pl.read_parquet(copy), from_sqlite)
        monkeypatch.setattr(frames, "_read_leads", lambda *a: pytest.fail("read SQLite"))
        assert_frame_equal(store.leads(db), from_sqlite)
    assert from_sqlite.height == 2_000
    assert from_sqlite["id"].to_list() == list(range(1, 2_001))


def test_no_copy_is_kept_when_another_write_came_after_the_seed(fresh_db: Any) -> None:
    leads = demo.make_leads(10, TODAY).select(pl.int_range(1, 11, dtype=pl.Int64).alias("id"), pl.all())
    with store.write(fresh_db, leads=True):
        written = store.revision(fresh_db) + 1
    store.save_scenario(fresh_db, "Plan", {"leads": 1.0})
    snapshot.keep(fresh_db, leads, written)
    assert snapshot.copies(store.db_file(fresh_db)) == []


def _fail_in_middle_part(real: Any) -> Any:
    def stage(path: Path, part: pl.DataFrame) -> int:
        if path.name == "part2.db":
            raise OSError("disk full while staging")
        return int(real(path, part))

    return stage


def _fail_on_history(real: Any) -> Any:
    def insert(db: Any, table: str, frame: pl.DataFrame) -> None:
        if table == "stage_history":
            raise sqlite3.OperationalError("disk I/O error")
        real(db, table, frame)

    return insert


@pytest.mark.parametrize(
    ("name", "fail"),
    [("_stage_part", _fail_in_middle_part), ("insert_frame", _fail_on_history)],
    ids=["the middle part of the leads", "the stage history, after every lead"],
)
def test_a_seed_that_fails_half_way_leaves_the_store_as_it_was(
    demo_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, fail: Any
) -> None:
    before = _rows(demo_path)
    monkeypatch.setattr(bulk, "IMPORT_PART_ROWS", 1_000)
    monkeypatch.setattr(bulk, name, fail(getattr(bulk, name)))
    with store.opened(demo_path) as db, pytest.raises((OSError, sqlite3.OperationalError)):
        demo.seed_store(db, leads=5_000, deals=100, today=TODAY, seed=3)
    assert _rows(demo_path) == before
    assert snapshot.copies(demo_path) == []
