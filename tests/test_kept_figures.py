"""The MQL page's figures kept beside the store (`store.kept`): a restarted server draws the
filters, the counts and the charts' data without reading a lead, and never from figures of
other leads, other answers or another filter."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import streamlit as st
from polars.testing import assert_frame_equal

from funnel import cutoffs, forecast, scales, scoring, store
from funnel.store import frames as store_frames
from funnel.store import snapshot
from funnel.views.mql_leads import LeadSpan, one_creation_date, span_frame, span_of_frame
from tests.conftest import DEMO_TODAY, open_page
from ui import frames, mql_view

READ_SQLITE = store_frames._read_leads
BANT = {"budget": True, "authority": True, "need": True, "timeline": False}


def _shown(path: Path, sources: tuple[str, ...] = ()) -> tuple[Any, ...]:
    """The key the MQL page computes its figures under, at the default period."""
    with store.opened(path) as db:
        version = store.latest_model_version(db)
        model = tuple(store.rules(db, version)), store.half_life(db, version)
        revisions = frames.read_revisions(db).lead_frames
        steps = scales.slider_steps(store.score_scales(db))
        leads = READ_SQLITE(db)
    period = leads["created"].min(), leads["created"].max()
    return str(path), revisions, model, DEMO_TODAY, sources, (), period, steps


def _fresh_figures(path: Path, sources: tuple[str, ...] = ()) -> mql_view.MqlFigures:
    """The figures as a fresh server's first open gets them (every cache in memory empty)."""
    st.cache_resource.clear()
    return mql_view._figures(*_shown(path, sources))


def _plain_grid(path: Path, sources: tuple[str, ...] = ()) -> pl.DataFrame:
    """The cutoff grid counted plainly: every lead from SQLite, scored as it stood when its
    outcome was decided, filtered by hand."""
    shown = _shown(path, sources)
    (rules, half_life), steps = shown[2], shown[-1]
    with store.opened(path) as db:
        leads = READ_SQLITE(db)
    if sources:
        leads = leads.filter(pl.col("source").is_in(list(sources)))
    then = scoring.score_leads(leads, rules, half_life, scoring.decided_on())
    return cutoffs.cutoff_grid(then, steps)


def _refuse_reading_leads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("read every lead although the kept figures are current")

    monkeypatch.setattr(store, "named_leads", refused)


def test_a_restarted_server_has_the_figures_and_filters_without_reading_a_lead(
    demo_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _fresh_figures(demo_path)
    options = mql_view._filter_options(str(demo_path), _shown(demo_path)[1][0])
    kept = snapshot.copies(demo_path, "kept")
    assert sorted(p.name.split("-")[-2] for p in kept) == ["grid", "options", "sample", "span"]

    _refuse_reading_leads(monkeypatch)
    again = _fresh_figures(demo_path)
    st.cache_resource.clear()
    options_again = mql_view._filter_options(str(demo_path), _shown(demo_path)[1][0])

    assert_frame_equal(again.grid, first.grid)
    assert_frame_equal(again.grid, _plain_grid(demo_path))
    assert_frame_equal(again.sample, first.sample)
    assert again.span == first.span and again.span.count == 3_000
    assert again.capacity is not None and first.capacity is not None
    assert (again.capacity.peak == first.capacity.peak).all()
    with store.opened(demo_path) as db:
        leads = READ_SQLITE(db)
    assert options_again == options
    assert options_again.sources == sorted(leads["source"].drop_nulls().unique().to_list())
    assert options_again.owners == sorted(leads["owner"].drop_nulls().unique().to_list())
    assert options_again.period == (leads["created"].min(), leads["created"].max())


def test_an_answer_since_the_figures_were_kept_is_counted_not_read_from_them(
    demo_path: Path,
) -> None:
    before = _fresh_figures(demo_path)
    with store.opened(demo_path) as db:
        # A lead that sales has not answered yet, among the scored ones.
        open_lead = READ_SQLITE(db).filter(pl.col("sal_status").is_null())["id"][0]
        store.record_sal(db, int(open_lead), "accepted", BANT, who="Ben")
    after = _fresh_figures(demo_path)
    plain = _plain_grid(demo_path)
    assert_frame_equal(after.grid, plain)
    assert after.grid["accepted"].sum() == before.grid["accepted"].sum() + 1


def test_figures_kept_for_other_leads_are_never_read(demo_path: Path) -> None:
    converted = _fresh_figures(demo_path).grid["converted"].sum()
    before = set(snapshot.copies(demo_path, "kept"))
    # Another program (the sqlite3 shell) marks ten lost leads converted.
    shell = sqlite3.connect(demo_path)
    with shell:
        shell.execute(
            "UPDATE leads SET outcome = 'converted', converted_at = '2026-11-02' WHERE id IN ("
            " SELECT id FROM leads WHERE outcome = 'lost' ORDER BY id LIMIT 10)"
        )
    shell.close()
    after = _fresh_figures(demo_path)
    assert_frame_equal(after.grid, _plain_grid(demo_path))
    assert after.grid["converted"].sum() > converted
    assert before.isdisjoint(snapshot.copies(demo_path, "kept"))  # the old ones are removed


def test_each_filter_keeps_its_own_figures(demo_path: Path) -> None:
    everyone = _fresh_figures(demo_path)
    with store.opened(demo_path) as db:
        source = READ_SQLITE(db)["source"].drop_nulls().sort()[0]
    one_source = _fresh_figures(demo_path, (source,))
    again = _fresh_figures(demo_path, (source,))
    assert_frame_equal(again.grid, _plain_grid(demo_path, (source,)))
    assert one_source.span.count < everyone.span.count
    assert again.span.count == one_source.span.count


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(b"PAR1 cut short"),
        lambda path: path.unlink(),
    ],
    ids=["garbage", "one part gone"],
)
def test_damaged_kept_figures_are_counted_again(demo_path: Path, damage: Any) -> None:
    _fresh_figures(demo_path)
    (grid,) = (p for p in snapshot.copies(demo_path, "kept") if "-grid-" in p.name)
    damage(grid)  # a kept file, never the store
    again = _fresh_figures(demo_path)
    assert_frame_equal(again.grid, _plain_grid(demo_path))
    assert grid.exists()


def test_parts_counted_from_leads_of_another_token_are_never_kept(demo_path: Path) -> None:
    counted: list[int] = []

    def count(token: str | None) -> Any:
        def run() -> tuple[dict[str, pl.DataFrame], str | None]:
            counted.append(1)
            return {"n": pl.DataFrame({"n": [len(counted)]})}, token

        return run

    with store.opened(demo_path) as db:
        assert store.kept(db, "x", ("n",), count("another token"))["n"]["n"][0] == 1
        assert snapshot.copies(demo_path, "kept") == []
        mine = store.named_leads(db).token
        assert store.kept(db, "x", ("n",), count(mine))["n"]["n"][0] == 2
        assert store.kept(db, "x", ("n",), count(mine))["n"]["n"][0] == 2  # read back
        for n in range(snapshot.KEPT_FILES + 3):
            store.kept(db, f"y{n}", ("n",), count(mine))
    assert len(snapshot.copies(demo_path, "kept")) == snapshot.KEPT_FILES


def test_the_mql_page_after_a_restart_shows_the_figures_it_showed_before(
    app_env: Path,
) -> None:
    def figures() -> dict[str, str]:
        at = open_page("pages/mql.py")
        return {m.label: m.value for m in at.metric} | {"captions": str([c.value for c in at.caption])}

    st.cache_resource.clear()
    before = figures()
    assert any("-grid-" in p.name for p in snapshot.copies(app_env, "kept"))
    st.cache_resource.clear()
    assert figures() == before
    assert before["MQLs"] not in ("", "0")


def test_a_lead_span_counts_and_dates_every_lead() -> None:
    leads = pl.DataFrame(
        {
            "created": [date(2026, 3, 2), date(2026, 3, 2), None],
            "last_activity": pl.Series([None, None, None], dtype=pl.Date),
        }
    )
    span = LeadSpan.of(leads)
    assert span == LeadSpan(3, date(2026, 3, 2), date(2026, 3, 2), False)
    assert span_of_frame(span_frame(span)) == span
    assert one_creation_date(span) is not None and "All 3 leads" in one_creation_date(span)
    assert one_creation_date(LeadSpan(1, date(2026, 3, 2), date(2026, 3, 2), False)) is None


def test_a_restarted_server_measures_the_funnel_without_reading_a_lead(
    demo_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store.opened(demo_path) as db:
        read = frames.read_revisions(db)
        fit, interest, version = scoring.agreed_cutoff(store.decisions(db))
        leads = READ_SQLITE(db)
    rules, half_life = frames._read_model(str(demo_path), read.store, version)
    window = forecast.full_quarters_window(DEMO_TODAY)

    def funnel() -> pl.DataFrame:
        st.cache_resource.clear()
        baseline, _ = frames._measured(str(demo_path), read, window, "quarter", None, DEMO_TODAY)
        return baseline.funnel

    first = funnel()
    assert any("-levels-" in p.name for p in snapshot.copies(demo_path, "kept"))
    _refuse_reading_leads(monkeypatch)
    again = funnel()
    assert_frame_equal(again, first)
    # Counted plainly: the window's leads, its customers, and its MQLs or further.
    inside = scoring.score_leads(leads, rules, half_life, DEMO_TODAY).filter(
        pl.col("created").is_between(*window, closed="left")
    )
    counts = dict(zip(again["stage"], again["count"], strict=True))
    assert counts["Lead"] == inside.height > 0
    assert counts["Customer"] == (inside["outcome"] == "converted").sum()
    further = (
        ((pl.col("fit") >= fit) & (pl.col("interest") >= interest)).fill_null(False)
        | (pl.col("sal_status") == "accepted").fill_null(False)
        | pl.col("sql_at").is_not_null()
        | (pl.col("outcome") == "converted").fill_null(False)
    )
    assert counts["MQL"] == inside.filter(further).height
