"""What no date changes of the scores, kept beside the store (`store.derived`): a restarted
server reads it back instead of scoring every lead, and never reads it for other leads, other
rules or other formulas."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import streamlit as st
from polars.testing import assert_frame_equal

from funnel import sal, scoring, store
from funnel.store import frames as store_frames
from funnel.store import snapshot
from tests.conftest import DEMO_TODAY
from ui import frames

READ_SQLITE = store_frames._read_leads


def _model(path: Path) -> frames.Model:
    with store.opened(path) as db:
        version = store.latest_model_version(db)
        return tuple(store.rules(db, version)), store.half_life(db, version)


def _revisions(path: Path) -> tuple[int, int]:
    with store.opened(path) as db:
        return frames.read_revisions(db).lead_frames


def _both_days(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The leads scored today and as each stood when its outcome was decided, as a fresh
    server's first open computes them (every cache empty)."""
    st.cache_resource.clear()
    rules, half_life = _model(path)
    leads_rev = _revisions(path)[0]
    return tuple(  # type: ignore[return-value]
        frames._scored(str(path), leads_rev, rules, half_life, day) for day in (DEMO_TODAY, None)
    )


def _scored_plainly(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The same two frames scored from the leads in SQLite, nothing kept anywhere."""
    rules, half_life = _model(path)
    with store.opened(path) as db:
        leads = READ_SQLITE(db)
    return (
        scoring.score_leads(leads, rules, half_life, DEMO_TODAY),
        scoring.score_leads(leads, rules, half_life, scoring.decided_on()),
    )


def _no_scoring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the rules' points refuse to run."""

    def refused(*args: Any, **kwargs: Any) -> pl.DataFrame:
        raise AssertionError("scored every lead again although the kept scores are current")

    monkeypatch.setattr(scoring, "rule_points", refused)


def test_a_restarted_server_reads_the_scores_back_and_they_equal_scoring_again(
    demo_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _both_days(demo_path)
    (kept,) = snapshot.copies(demo_path, "derived")
    assert kept.name.startswith("demo.db.derived-scores-")
    # 3,000 leads: two points columns and the two back-test scores, one row each.
    assert pl.read_parquet(kept).shape == (3_000, 4)

    plainly = _scored_plainly(demo_path)
    _no_scoring(monkeypatch)
    again = _both_days(demo_path)
    for frame, before, plain in zip(again, first, plainly, strict=True):
        assert_frame_equal(frame, before)
        assert_frame_equal(frame, plain)
    # Today's decay is still applied today: the two days differ on every lead with interest.
    assert (again[0]["interest"] != again[1]["interest"]).sum() > 1_000


def test_scores_kept_for_other_leads_are_never_read(demo_path: Path) -> None:
    fit_before = _both_days(demo_path)[0].filter(pl.col("id") == 7)["fit"].item()
    (before,) = snapshot.copies(demo_path, "derived")
    # Another program edits a lead (the sqlite3 shell): a lead with every fit rule firing.
    shell = sqlite3.connect(demo_path)
    with shell:
        shell.execute(
            "UPDATE leads SET job_title = 'CEO', company_size = 1000, industry = 'Software',"
            " country = 'France', email = 'ceo@acme.example', company = 'Acme' WHERE id = 7"
        )
    shell.close()
    today, then = _both_days(demo_path)
    (after,) = snapshot.copies(demo_path, "derived")
    assert after != before and not before.exists()
    plain_today, plain_then = _scored_plainly(demo_path)
    assert_frame_equal(today, plain_today)
    assert_frame_equal(then, plain_then)
    assert today.filter(pl.col("id") == 7)["fit"].item() > fit_before


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(b"PAR1 cut short"),
        lambda path: pl.read_parquet(path).head(2_999).write_parquet(path),
    ],
    ids=["garbage", "one row short"],
)
def test_damaged_kept_scores_are_computed_again(demo_path: Path, damage: Any) -> None:
    _both_days(demo_path)
    (kept,) = snapshot.copies(demo_path, "derived")
    damage(kept)  # the kept scores, never the store file
    today, then = _both_days(demo_path)
    plain_today, plain_then = _scored_plainly(demo_path)
    assert_frame_equal(today, plain_today)
    assert_frame_equal(then, plain_then)
    assert pl.read_parquet(kept).height == 3_000


def test_each_model_keeps_its_own_scores_and_only_the_newest_four_stay(demo_path: Path) -> None:
    with store.opened(demo_path) as db:
        leads = store.named_leads(db)
    made: list[str] = []

    def numbered(n: int) -> pl.DataFrame:
        made.append(f"m{n}")
        return pl.DataFrame({"n": [n] * leads.frame.height})

    for n in range(6):
        store.derived(demo_path, leads, f"m{n}", lambda _, n=n: numbered(n))
    assert len(snapshot.copies(demo_path, "derived")) == snapshot.DERIVED_KEPT == 4
    # The newest is read back as written, the oldest computed again.
    assert store.derived(demo_path, leads, "m5", lambda _: numbered(-1))["n"][0] == 5
    assert store.derived(demo_path, leads, "m0", lambda _: numbered(0))["n"][0] == 0
    assert made == [f"m{n}" for n in range(6)] + ["m0"]


def test_leads_without_a_token_are_computed_and_never_kept(demo_path: Path) -> None:
    with store.opened(demo_path) as db:
        leads = store.named_leads(db)
    unnamed = snapshot.Leads(leads.frame, None, leads.answers)
    frame = store.derived(demo_path, unnamed, "x", lambda f: f.select("id"))
    assert frame.height == 3_000
    assert snapshot.copies(demo_path, "derived") == []


def test_a_first_read_takes_sales_answers_from_the_leads_and_an_answer_after_it_is_laid_over(
    demo_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    real = store.sal_answers

    def counted(db: Any) -> pl.DataFrame:
        reads.append(1)
        return real(db)

    monkeypatch.setattr(store, "sal_answers", counted)
    st.cache_resource.clear()
    model = _model(demo_path)
    scored, mark = frames._answered_marked(str(demo_path), _revisions(demo_path), model, DEMO_TODAY)
    assert reads == []  # the leads read holds every answer already
    with store.opened(demo_path) as db:
        assert mark == store.answers_mark(db)
        answered = store.sal_answers(db)
        reads.clear()
        store.record_sal(
            db, 11, "rejected", {"budget": False, "authority": False, "need": True, "timeline": False}
        )
    assert_frame_equal(sal.laid_over(scored, answered), scored)

    after, _ = frames._answered_marked(str(demo_path), _revisions(demo_path), model, DEMO_TODAY)
    assert reads == [1]  # an answer since the leads were read: the answers are read and laid
    assert after.filter(pl.col("id") == 11)["sal_status"].item() == "rejected"
    plain = _scored_plainly(demo_path)[0]
    assert_frame_equal(after, plain)
