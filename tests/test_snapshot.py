"""The columnar copy of the leads: used when it is the store's, rebuilt from SQLite otherwise."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from funnel import store
from funnel.store import frames, snapshot

READ_SQLITE = frames._read_leads


def _from_sqlite(db_path: Path) -> pl.DataFrame:
    """The leads as SQLite holds them, bypassing the copy."""
    with store.opened(db_path) as db:
        return READ_SQLITE(db)


def _refuse_sqlite(db: object, lead_id: int | None = None) -> pl.DataFrame:
    raise AssertionError("read SQLite although the copy is current")


def test_a_second_read_comes_from_the_copy_and_equals_sqlite(
    demo_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store.opened(demo_path) as db:
        first = store.leads(db)
        (copy,) = snapshot.copies(demo_path)
        monkeypatch.setattr(frames, "_read_leads", _refuse_sqlite)
        again = store.leads(db)
    assert_frame_equal(again, first)
    assert_frame_equal(again, _from_sqlite(demo_path))
    assert again.height == 3_000
    # One chunk per column, as read from SQLite: later filters need not realign them.
    assert set(again.n_chunks("all")) == {1}
    assert copy.name.startswith("demo.db.leads-v2-") and copy.suffix == ".parquet"


def test_a_funnel_write_of_leads_replaces_the_copy(demo_path: Path) -> None:
    with store.opened(demo_path) as db:
        store.leads(db)
        (before,) = snapshot.copies(demo_path)
        frame = pl.DataFrame({"external_id": ["new-1"], "email": ["ana@example.com"]})
        store.import_leads(db, frame, who="Ana")
        after = store.leads(db)
    assert after.height == 3_001
    (copy,) = snapshot.copies(demo_path)
    assert copy != before
    assert_frame_equal(after, _from_sqlite(demo_path))


def test_an_edit_by_another_program_is_seen_and_never_served_from_the_copy(
    demo_path: Path,
) -> None:
    with store.opened(demo_path) as db:
        store.leads(db)
        revision = store.leads_revision(db)
        # The sqlite3 shell's way: plain SQL, no funnel write.
        shell = sqlite3.connect(demo_path)
        with shell:
            shell.execute("UPDATE leads SET company = 'Edited Ltd' WHERE id = 7")
            shell.execute("DELETE FROM leads WHERE id = 8")
        shell.close()
        after = store.leads(db)
        assert store.leads_revision(db) > revision  # so every UI cache rebuilds too
    assert after.filter(pl.col("id") == 7)["company"].item() == "Edited Ltd"
    assert after.height == 2_999
    assert_frame_equal(after, _from_sqlite(demo_path))


def test_a_sales_answer_keeps_the_leads_revision_and_is_in_the_next_read(demo_path: Path) -> None:
    with store.opened(demo_path) as db:
        store.leads(db)
        revision = store.leads_revision(db)
        store.record_sal(
            db, 5, "accepted", {"budget": True, "authority": False, "need": True, "timeline": False}
        )
        after = store.leads(db)
        # An answer is laid over cached scores (answers_revision): no lead is rescored for it.
        assert store.leads_revision(db) == revision
    row = after.filter(pl.col("id") == 5)
    assert row["sal_status"].item() == "accepted"
    assert row["bant_budget"].item() is True
    assert_frame_equal(after, _from_sqlite(demo_path))


def test_after_sales_answers_the_copy_is_read_with_them_laid_over_not_rebuilt_from_sqlite(
    demo_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store.opened(demo_path) as db:
        store.leads(db)
        (before,) = snapshot.copies(demo_path)
        bant = {"budget": True, "authority": True, "need": False, "timeline": True}
        store.record_sal(db, 5, "accepted", bant)
        store.record_sal(db, 9, "rejected", bant)
    expected = _from_sqlite(demo_path)
    # A restarted server: nothing in memory, the copy on disk is of the answers before these.
    monkeypatch.setattr(frames, "_read_leads", _refuse_sqlite)
    with store.opened(demo_path) as db:
        after = store.leads(db)
        answers = store.answers_revision(db)
    assert_frame_equal(after, expected)
    assert after.filter(pl.col("id") == 9)["sal_status"].item() == "rejected"
    (copy,) = snapshot.copies(demo_path)
    assert copy != before and copy.name.endswith(f"-a{answers}.parquet")
    assert_frame_equal(pl.read_parquet(copy), expected)


def test_an_unreadable_earlier_copy_is_read_from_sqlite(demo_path: Path) -> None:
    with store.opened(demo_path) as db:
        store.leads(db)
        (before,) = snapshot.copies(demo_path)
        store.record_sal(db, 5, "accepted", {c: True for c in store.BANT})
        before.write_bytes(b"PAR1 cut short")  # the copy, never the store file
        after = store.leads(db)
    assert_frame_equal(after, _from_sqlite(demo_path))
    assert len(snapshot.copies(demo_path)) == 1 and not before.exists()


@pytest.mark.parametrize(
    "damage",
    [b"", b"ARROW1 but cut short", b"not arrow at all " * 100],
    ids=["empty", "truncated", "garbage"],
)
def test_a_damaged_copy_is_rebuilt_from_sqlite(demo_path: Path, damage: bytes) -> None:
    with store.opened(demo_path) as db:
        store.leads(db)
        (copy,) = snapshot.copies(demo_path)
        copy.write_bytes(damage)  # the copy, never the store file
        after = store.leads(db)
    assert_frame_equal(after, _from_sqlite(demo_path))
    (rebuilt,) = snapshot.copies(demo_path)
    assert rebuilt.stat().st_size > 100_000


def test_a_copy_of_other_columns_is_not_read(demo_path: Path) -> None:
    with store.opened(demo_path) as db:
        store.leads(db)
        (copy,) = snapshot.copies(demo_path)
        pl.read_parquet(copy).drop("email").write_parquet(copy)
        after = store.leads(db)
    assert "email" in after.columns
    assert_frame_equal(after, _from_sqlite(demo_path))


def test_the_cli_reads_the_copy_the_app_left_and_sees_its_own_import(
    demo_path: Path, tmp_path: Path
) -> None:
    with store.opened(demo_path) as db:
        store.leads(db)
    leads_csv = tmp_path / "leads.csv"
    leads_csv.write_text("Email,Lead ID\nbo@example.com,ext-9\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "funnel",
            "import",
            "--kind",
            "leads",
            str(leads_csv),
            "--db",
            str(demo_path),
        ],
        check=True,
        capture_output=True,
    )
    with store.opened(demo_path) as db:
        after = store.leads(db)
    assert "bo@example.com" in after["email"].to_list()
    assert_frame_equal(after, _from_sqlite(demo_path))
