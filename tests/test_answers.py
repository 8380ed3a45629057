"""Sales' answers after a page was drawn: read since the last one, counted into the grid alone.

An answer on the MQL page used to read every answer and regroup every lead; now it reads the
answers given since the page's frames (`store.answers_since`) and moves only their cells
(`cutoffs.answered_grid`). Each test checks the shortcut against counting everything again.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import streamlit as st
from polars.testing import assert_frame_equal

from funnel import cutoffs, sal, scales, scoring, store
from tests.conftest import open_page
from tests.test_mql_page import PAGE as MQL_PAGE
from tests.test_scoring import hand_table, with_unscored

BANT = {"budget": True, "authority": False, "need": True, "timeline": False}


def answers(rows: list[tuple[int, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [i for i, _ in rows],
            "sal_status": [s for _, s in rows],
            **{f"bant_{c}": [v] * len(rows) for c, v in BANT.items()},
        },
        schema_overrides={"id": pl.Int64},
    )


def leads() -> pl.DataFrame:
    """The hand table and its unscored leads, with ids and one undated lead."""
    table = with_unscored(hand_table())
    created = table["created"].to_list()
    created[6] = None
    return table.with_row_index("id").with_columns(
        pl.col("id").cast(pl.Int64) * 10,  # ids with gaps, as a filtered frame has
        pl.Series("created", created, dtype=pl.Date),
        *(pl.lit(None, pl.Boolean).alias(f"bant_{c}") for c in BANT),
    )


@pytest.mark.parametrize("steps", [scales.WHOLE_STEPS, scales.Steps(fit=(0.0, 59.95, 60.0, 100.0))])
def test_an_answered_grid_equals_the_grid_counted_again_with_the_answers(steps: Any) -> None:
    base = leads()
    given = answers(
        [
            (0, "rejected"),  # accepted -> rejected
            (20, "accepted"),  # rejected -> accepted
            (30, "accepted"),  # no answer -> accepted
            (60, "rejected"),  # the undated lead
            (100, "accepted"),  # unscored: in no cell
            (10, "accepted"),  # the same answer again: nothing moves
            (555, "accepted"),  # a lead outside these (filtered) leads
        ]
    )
    grid = cutoffs.cutoff_grid(base, steps)
    expected = cutoffs.cutoff_grid(sal.laid_over(base, given), steps)
    assert_frame_equal(cutoffs.answered_grid(grid, base, given, steps), expected)
    # By hand at F=60, I=40: the MQLs are leads 0, 10, 20, 30 and 70; 10, 20 and 30 are now
    # accepted, 0 rejected, 70 not answered.
    summary = cutoffs.sal_summary(cutoffs.answered_grid(grid, base, given, steps), 60, 40)
    assert (summary.mqls, summary.accepted, summary.rejected) == (5, 3, 1)


def test_answers_for_leads_outside_a_frame_are_left_out_of_it() -> None:
    base = leads().filter(pl.col("id") < 50)
    laid = sal.laid_over(base, answers([(20, "accepted"), (70, "rejected")]))
    assert laid.height == base.height
    assert laid.filter(pl.col("id") == 20)["sal_status"].item() == "accepted"
    assert laid.filter(pl.col("id") == 20)["bant_budget"].item() is True
    # The cached frame itself is untouched.
    assert base.filter(pl.col("id") == 20)["sal_status"].item() == "rejected"


def test_answers_since_a_mark_are_the_leads_answered_after_it_as_they_are_now(
    fresh_db: Any,
) -> None:
    with store.write(fresh_db, leads=True):
        store.insert_frame(
            fresh_db,
            "leads",
            pl.DataFrame({"external_id": ["L1", "L2", "L3"], "created": [date(2026, 11, 2)] * 3}),
        )
    ids = [int(r[0]) for r in fresh_db.execute("SELECT id FROM leads ORDER BY id").fetchall()]
    store.record_sal(fresh_db, ids[0], "accepted", BANT, who="Ben")
    mark = store.answers_mark(fresh_db)
    assert store.answers_since(fresh_db, mark).is_empty()
    store.record_sal(fresh_db, ids[1], "accepted", BANT, who="Ben")
    store.record_sal(fresh_db, ids[1], "rejected", BANT, who="Ann")  # a later answer replaces it
    since = store.answers_since(fresh_db, mark)
    assert since["id"].to_list() == [ids[1]] and since["sal_status"].to_list() == ["rejected"]
    assert since.columns == store.sal_answers(fresh_db).columns
    assert store.answers_since(fresh_db, 0)["id"].to_list() == ids[:2]


def figures(at: Any) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_answers_from_another_client_reach_the_page_through_the_shortcut(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    st.cache_resource.clear()
    at = open_page(MQL_PAGE, {"F": "50", "I": "40"})
    before = figures(at)
    with store.opened(app_env) as db:
        version = store.latest_model_version(db)
        rules, half_life = store.rules(db, version), store.half_life(db, version)
        # Three unanswered MQLs of the back-test (scored as each stood when decided).
        then = scoring.score_leads(store.leads(db), rules, half_life, scoring.decided_on())
        picked = then.filter(scoring.is_mql(50, 40) & pl.col("sal_status").is_null())["id"]
        for lead in picked.head(3).to_list():
            store.record_sal(db, lead, "accepted", BANT, who="Another client")
    counted: list[str] = []
    real = cutoffs.cutoff_grid
    monkeypatch.setattr(cutoffs, "cutoff_grid", lambda *a, **k: counted.append("grid") or real(*a, **k))
    at.run()
    assert not at.exception, at.exception
    assert counted == []  # the three answers moved their cells; no lead was regrouped
    shortcut = figures(at)
    st.cache_resource.clear()
    again = figures(open_page(MQL_PAGE, {"F": "50", "I": "40"}))
    assert counted == ["grid"]
    assert shortcut == again
    sals = (int(f["SALs"].replace(",", "")) for f in (before, shortcut))
    assert next(sals) + 3 == next(sals)


def test_answers_laid_over_leads_replace_only_the_answered_leads_columns() -> None:
    leads = pl.DataFrame(
        {
            "id": [1, 2, 3],
            "fit": [70.0, 20.0, 90.0],
            "sal_status": [None, None, "rejected"],
            "bant_budget": [None, None, False],
        },
        schema_overrides={"sal_status": pl.String, "bant_budget": pl.Boolean},
    )
    untouched = leads.clone()
    answers = pl.DataFrame({"id": [1], "sal_status": ["accepted"], "bant_budget": [True]})
    expected = leads.with_columns(
        sal_status=pl.Series(["accepted", None, "rejected"]),
        bant_budget=pl.Series([True, None, False]),
    )
    assert_frame_equal(sal.laid_over(leads, answers), expected)
    assert_frame_equal(leads, untouched)  # the cached frame it reads is never written to
    # Leads not in id order are matched by id all the same.
    backwards = sal.laid_over(leads.reverse(), answers)
    assert_frame_equal(backwards, expected.reverse())
