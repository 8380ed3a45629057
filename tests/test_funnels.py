"""The funnels counted on the forecast's hand-made store, whose every stage count is known."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlite_utils import Database

from funnel import charts, funnels, store
from tests.test_forecast import hand_made_store, layer_data, with_mql


@pytest.fixture
def hand_store(fresh_db: Database) -> Database:
    return hand_made_store(fresh_db)


def test_marketing_funnel_counts_what_the_hand_made_store_holds(hand_store: Database) -> None:
    levels = with_mql(store.leads(hand_store))
    result = funnels.marketing_funnel(levels, date(2025, 10, 1), date(2026, 10, 1))
    expected = pl.DataFrame(
        {
            "stage": list(funnels.MARKETING_STAGES),
            "count": [10, 8, 5, 4, 2, 1],
            "conversion": [0.8, 0.625, 0.8, 0.5, 0.5, None],
            "leak": [False, False, False, True, False, False],
        },
        schema_overrides={"count": pl.Int64},
    )
    assert_frame_equal(result, expected)


def test_pipeline_funnel_counts_deals_at_each_stage_they_reached(hand_store: Database) -> None:
    pid = int(store.pipelines(hand_store).get_column("id")[0])
    result = funnels.pipeline_funnel(
        store.deals(hand_store, pid),
        store.stages(hand_store, pid),
        store.stage_history(hand_store, pid),
        date(2025, 10, 1),
        date(2026, 10, 1),
    )
    # Created in the window: deals 1-7. All reached Open A; 1, 2, 3 (won) and 5 (Open B)
    # reached Open B; 1, 2, 3 won.
    expected = pl.DataFrame(
        {
            "stage": ["Open A", "Open B", "Won"],
            "count": [7, 4, 3],
            "conversion": [4 / 7, 0.75, None],
            "leak": [True, False, False],
        },
        schema_overrides={"count": pl.Int64},
    )
    assert_frame_equal(result, expected)


def test_funnel_chart_has_one_centred_bar_per_stage_and_flags_the_leak() -> None:
    funnel = pl.DataFrame(
        {
            "stage": list(funnels.MARKETING_STAGES),
            "count": [1_000, 800, 400, 300, 150, 75],
            "conversion": [0.8, 0.5, 0.75, 0.5, 0.5, None],
            "leak": [False, True, False, False, False, False],
        }
    )
    spec = charts.funnel_chart(funnel).to_dict()
    rows = layer_data(spec)
    assert [r["stage"] for r in rows] == list(funnels.MARKETING_STAGES)
    assert [(r["left"], r["right"]) for r in rows][:2] == [(-500.0, 500.0), (-400.0, 400.0)]
    assert [r["stage"] for r in rows if r["leak"]] == ["Qualified prospect"]
    bars, labels = spec["layer"]
    assert bars["mark"]["type"] == "bar" and bars["encoding"]["y"]["sort"] == list(
        funnels.MARKETING_STAGES
    )
    assert labels["encoding"]["text"]["field"] == "label"
