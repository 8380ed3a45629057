"""Forecast math on numbers a sales-ops lead checks by hand, and a baseline measured on a tiny
hand-made store whose every figure is known."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlite_utils import Database

from funnel import charts, funnels, scoring, store
from funnel import forecast as fc
from funnel.models import Stage
from funnel.views import forecast as forecast_view

TODAY = date(2026, 11, 23)
Q1 = date(2027, 1, 1)


def hand_baseline(
    periods: int = 1, cycle: list[float] | None = None, trials: tuple[int, ...] = (1000, 200, 100)
) -> fc.Baseline:
    """A baseline built by hand: `periods` whole quarters from 2027 Q1, no open pipeline."""
    horizon = fc.horizon(Q1, "quarter").head(periods)
    return fc.Baseline(
        window=fc.full_quarters_window(TODAY),
        period="quarter",
        funnel=pl.DataFrame(),
        levers=fc.Levers(1_000, (0.2, 0.5, 0.25), 10_000.0, 0.0),
        trials=trials,
        won_deals=0,
        cycle_samples=np.asarray(cycle or [], dtype=np.float64),
        horizon=horizon,
        pipeline_weighted=np.zeros(periods),
        pipeline_draws=np.zeros((fc.SIMULATIONS, periods)),
    )


def test_1000_leads_at_20_50_25_percent_and_10000_dollars_forecast_250000() -> None:
    baseline = hand_baseline()
    result = fc.forecast(fc.Levers(1_000, (0.2, 0.5, 0.25), 10_000.0, 0.0), baseline)
    assert result.get_column("revenue").to_list() == pytest.approx([250_000.0])


def test_45_day_cycle_moves_half_of_q1_wins_into_q2() -> None:
    # Q1 2027 has 90 days and Q2 91. Leads arrive evenly; each wins 45 days later. Of Q1's
    # $1,000,000, the leads of its first 45 days land in Q1, the rest in Q2. Of Q2's
    # $1,000,000, the first 46 of its 91 days' leads land in Q2: 1,000,000 x 46 / 91.
    baseline = hand_baseline(periods=2, cycle=[45.0])
    levers = fc.Levers(1_000, (1.0,), 1_000.0, 45.0)
    result = fc.forecast(levers, baseline)
    expected = [500_000.0, 500_000.0 + 1_000_000.0 * 46 / 91]
    assert result.get_column("new_business").to_list() == pytest.approx(expected)


def test_cycle_lever_stretches_the_measured_shape() -> None:
    pmf = fc.cycle_pmf(np.asarray([30.0, 60.0]), median_days=90.0)
    assert np.flatnonzero(pmf).tolist() == [60, 120]
    assert pmf[[60, 120]].tolist() == [0.5, 0.5]


def test_without_measured_cycles_the_cycle_is_a_point_mass_at_the_lever() -> None:
    pmf = fc.cycle_pmf(np.asarray([]), median_days=10.0)
    assert np.flatnonzero(pmf).tolist() == [10]


def test_baseline_window_is_the_last_four_full_quarters() -> None:
    assert fc.full_quarters_window(TODAY) == (date(2025, 10, 1), date(2026, 10, 1))
    assert fc.horizon(TODAY, "month").get_column("period").to_list()[:2] == ["2026-11", "2026-12"]


def test_todays_period_is_forecast_for_its_remaining_part() -> None:
    # On 1 Dec 2026, 31 of 2026 Q4's 92 days are left: the horizon opens on them, then the
    # four quarters of 2027. 1,000 leads a quarter x 25 % x $1,000 with no cycle give $250,000
    # a whole quarter, and 250,000 x 31 / 92 in what is left of Q4.
    december = date(2026, 12, 1)
    periods = fc.horizon(december, "quarter")
    assert periods["period"].to_list() == ["2026 Q4", "2027 Q1", "2027 Q2", "2027 Q3", "2027 Q4"]
    assert periods["start"][0] == december and periods["share"][0] == pytest.approx(31 / 92)
    baseline = replace(
        hand_baseline(), horizon=periods, pipeline_weighted=np.zeros(5), pipeline_draws=np.zeros((1, 5))
    )
    result = fc.forecast(fc.Levers(1_000, (0.25,), 1_000.0, 0.0), baseline)
    assert result["revenue"].to_list() == pytest.approx([250_000 * 31 / 92] + [250_000.0] * 4)
    assert fc.horizon_note(periods) == (
        " (2026 Q4 from 01 Dec: its remaining 34%, leads per period scaled to it)"
    )
    assert fc.horizon_note(fc.horizon(Q1, "quarter")) == ""


def test_the_reverse_funnel_opens_on_the_first_period_leads_can_still_reach() -> None:
    # From 1 Dec 2026 with a 45-day cycle: leads for 2027 Q1 were due by 17 Nov, gone; leads
    # for 2027 Q2 are due by 15 Feb 2027. With no cycle, today's own period is reachable.
    periods = fc.horizon(date(2026, 12, 1), "quarter")
    assert fc.first_reachable(periods, 45.0, date(2026, 12, 1)) == "2027 Q2"
    assert fc.first_reachable(periods, 0.0, date(2026, 12, 1)) == "2026 Q4"
    assert fc.first_reachable(periods, 900.0, date(2026, 12, 1)) == "2027 Q4"


# --- a hand-made store --------------------------------------------------------------------------


def _lead(created: str, level: int, mql: bool) -> dict[str, object]:
    """A lead that reached stage `level` (0 = Lead ... 5 = Customer)."""
    return {
        "created": created,
        "qualified_at": created if level >= 1 else None,
        "sal_status": "accepted" if level >= 3 else ("rejected" if level == 2 else None),
        "sql_at": created if level >= 4 else None,
        "outcome": "converted" if level >= 5 else ("lost" if level >= 3 else None),
        "fit": 80.0 if mql else 20.0,
        "interest": 70.0 if mql else 90.0,
    }


def hand_made_store(fresh_db: Database) -> Database:
    """Ten leads in the window (10 -> 8 qualified -> 5 MQL -> 4 SAL -> 2 SQL -> 1 customer),
    two outside it, and one pipeline with two won deals, a lost one and open ones."""
    inside = (
        [_lead("2025-10-05", 5, True), _lead("2026-01-10", 4, True)]
        + [_lead("2026-02-01", 3, True), _lead("2026-03-01", 3, True), _lead("2026-04-01", 2, True)]
        + [_lead("2026-05-01", 1, False)] * 3
        + [_lead("2026-06-01", 0, False)] * 2
    )
    outside = [_lead("2025-09-30", 5, True), _lead("2026-10-01", 5, True)]
    leads = pl.DataFrame(inside + outside).with_columns(
        pl.col("created", "qualified_at", "sql_at").str.to_date()
    )
    pid = store.create_pipeline(
        fresh_db,
        "Hand",
        [
            Stage("Open A", 20, "open"),
            Stage("Open B", 60, "open"),
            Stage("Won", 100, "won"),
            Stage("Lost", 0, "lost"),
        ],
    )
    ids = {s.name: s.id for s in store.stage_list(fresh_db, pid)}
    deal_rows = [
        # (stage, own probability, value, created, expected close, closed)
        ("Won", None, 10_000.0, "2026-01-01", "2026-03-02", "2026-03-02"),
        ("Won", None, 20_000.0, "2026-02-01", "2026-05-02", "2026-05-02"),
        ("Won", None, 99_999.0, "2026-06-01", "2026-10-15", "2026-10-15"),
        ("Lost", None, 7_000.0, "2026-03-01", "2026-04-01", "2026-04-01"),
        ("Open B", None, 50_000.0, "2026-09-01", "2027-02-15", None),
        ("Open A", 10.0, 10_000.0, "2026-09-01", "2027-05-01", None),
        ("Open A", None, 5_000.0, "2026-05-01", "2026-09-01", None),
        ("Open B", None, 80_000.0, "2026-10-05", "2028-06-01", None),
    ]
    deals = pl.DataFrame(
        [
            {
                "id": i,
                "pipeline_id": pid,
                "stage_id": ids[stage],
                "probability": p,
                "value": value,
                "created": created,
                "expected_close": expected,
                "closed_at": closed,
            }
            for i, (stage, p, value, created, expected, closed) in enumerate(deal_rows, start=1)
        ],
        schema_overrides={"probability": pl.Float64, "closed_at": pl.String},
    )
    history = pl.DataFrame(
        {
            "deal_id": [1, 1, 1, 2, 2, 2, 4, 4],
            "from_stage_id": [None, ids["Open A"], ids["Open B"]] * 2 + [None, ids["Open A"]],
            "to_stage_id": [ids["Open A"], ids["Open B"], ids["Won"]] * 2 + [ids["Open A"], ids["Lost"]],
            "at": ["2026-01-01T00:00:00"] * 8,
        }
    )
    with store.write(fresh_db):
        store.insert_frame(fresh_db, "leads", leads)
        store.insert_frame(fresh_db, "deals", deals)
        store.insert_frame(fresh_db, "stage_history", history)
    return fresh_db


@pytest.fixture
def hand_store(fresh_db: Database) -> Database:
    return hand_made_store(fresh_db)


def with_mql(leads: pl.DataFrame) -> pl.DataFrame:
    """The leads' funnel levels, their ready-made scores at a 50 / 50 cutoff."""
    return funnels.funnel_levels(scoring.with_quadrants(leads, 50.0, 50.0))


def test_baseline_measures_rates_value_cycle_and_pipeline(hand_store: Database) -> None:
    baseline = fc.measure_baseline(with_mql(store.leads(hand_store)), store.deals(hand_store), TODAY)
    assert baseline.levers == fc.Levers(2.5, (0.8, 0.625, 0.8, 0.5, 0.5), 15_000.0, 75.0)
    assert baseline.trials == (10, 8, 5, 4, 2)
    assert baseline.won_deals == 2
    assert sorted(baseline.cycle_samples.tolist()) == [60.0, 90.0]
    # The overdue 5,000 x 20 % in today's 2026 Q4; 50,000 x 60 % in 2027 Q1; 10,000 at its own
    # 10 % in Q2; the deal expected in 2028 is beyond the horizon.
    assert baseline.pipeline_weighted.tolist() == pytest.approx([1_000.0, 30_000.0, 1_000.0, 0.0, 0.0])
    assert set(np.unique(baseline.pipeline_draws[:, 2])) <= {0.0, 10_000.0}


# --- scenario parameters ------------------------------------------------------------------------


def test_side_by_side_shows_the_difference_and_a_total() -> None:
    a = pl.DataFrame({"period": ["2027 Q1", "2027 Q2"], "revenue": [100.0, 200.0]})
    b = pl.DataFrame({"period": ["2027 Q1", "2027 Q2"], "revenue": [150.0, 150.0]})
    expected = pl.DataFrame(
        {
            "period": ["2027 Q1", "2027 Q2", "Total"],
            "Baseline": [100.0, 200.0, 300.0],
            "Scenario": [150.0, 150.0, 300.0],
            "difference": [50.0, -50.0, 0.0],
        }
    )
    assert_frame_equal(fc.side_by_side(a, b, ("Baseline", "Scenario")), expected)


# --- charts -------------------------------------------------------------------------------------


def layer_data(spec: dict[str, object]) -> list[dict[str, object]]:
    datasets = spec["datasets"]
    assert isinstance(datasets, dict) and len(datasets) == 1
    return next(iter(datasets.values()))  # type: ignore[no-any-return]


def test_forecast_chart_puts_the_two_forecasts_side_by_side_per_period() -> None:
    a = pl.DataFrame({"period": ["2027 Q1", "2027 Q2"], "revenue": [100.0, 200.0]})
    b = pl.DataFrame({"period": ["2027 Q1", "2027 Q2"], "revenue": [150.0, 150.0]})
    spec = charts.forecast_chart(fc.side_by_side(a, b, ("Baseline", "Scenario"))).to_dict()
    rows = layer_data(spec)
    assert [(r["period"], r["forecast"], r["revenue"]) for r in rows] == [
        ("2027 Q1", "Baseline", 100.0),
        ("2027 Q2", "Baseline", 200.0),
        ("2027 Q1", "Scenario", 150.0),
        ("2027 Q2", "Scenario", 150.0),
    ]
    assert spec["encoding"]["xOffset"]["field"] == "forecast"


# --- the page's view as plain data ---------------------------------------------------------------

FIVE = fc.Levers(10.0, (0.5,) * 5, 1_000.0, 30.0)


def test_compare_levers_forecasts_both_on_one_baseline() -> None:
    a = fc.Levers(1_000, (0.2, 0.5, 0.25), 10_000.0, 0.0)
    b = fc.Levers(1_000, (0.2, 0.5, 0.25), 20_000.0, 0.0)
    side = fc.compare_levers(a, b, hand_baseline(), ("A", "B"))
    assert side["period"].to_list() == ["2027 Q1", "Total"]
    assert side["A"].to_list() == pytest.approx([250_000.0, 250_000.0])
    assert side["difference"].to_list() == pytest.approx([250_000.0, 250_000.0])


def test_measure_view_adds_the_chosen_pipelines_funnel_over_the_same_window(
    hand_store: Database,
) -> None:
    leads, deals = with_mql(store.leads(hand_store)), store.deals(hand_store)
    baseline, none = fc.measure_view(leads, deals, TODAY, fc.full_quarters_window(TODAY), "quarter")
    assert none is None and baseline.window == (date(2025, 10, 1), date(2026, 10, 1))
    assert baseline.levers == fc.Levers(2.5, (0.8, 0.625, 0.8, 0.5, 0.5), 15_000.0, 75.0)
    pid = int(store.pipelines(hand_store).get_column("id")[0])
    chosen = (store.stages(hand_store, pid), store.stage_history(hand_store, pid), deals)
    one, funnel = fc.measure_view(
        leads, store.deals(hand_store, pid), TODAY, fc.full_quarters_window(TODAY), "quarter", chosen
    )
    assert funnel is not None and funnel["count"].to_list() == [7, 4, 3]
    # The store's only pipeline won both deals of the window: it gets every lead.
    assert one.lead_share == fc.LeadShare(1.0, 2, 2, "won")
    assert one.levers == baseline.levers


def test_the_pipelines_forecasts_add_up_to_all_pipelines(demo_path: Path) -> None:
    with store.opened(demo_path) as db:
        leads, deals = with_mql(store.leads(db)), store.deals(db)
        pipelines = {
            pid: (store.deals(db, pid), store.stages(db, pid), store.stage_history(db, pid))
            for pid in store.pipelines(db)["id"]
        }
    whole, _ = fc.measure_view(leads, deals, TODAY, fc.full_quarters_window(TODAY), "quarter")
    start, end = whole.window
    won = deals.filter(
        (pl.col("stage_kind") == "won") & (pl.col("closed_at") >= start) & (pl.col("closed_at") < end)
    )
    parts = []
    for pid, (own, stage_rows, history) in pipelines.items():
        part, _ = fc.measure_view(
            leads, own, TODAY, fc.full_quarters_window(TODAY), "quarter", (stage_rows, history, deals)
        )
        share = won.filter(pl.col("pipeline_id") == pid).height / won.height
        assert part.lead_share is not None and part.lead_share.share == pytest.approx(share)
        assert part.levers.leads_per_period == pytest.approx(whole.levers.leads_per_period * share)
        parts.append(part)
    # Leads, the won value they bring a period, and the weighted open pipeline all add up.
    assert sum(p.levers.leads_per_period for p in parts) == pytest.approx(whole.levers.leads_per_period)
    brought = sum(p.levers.customers_per_period() * p.levers.deal_value for p in parts)
    assert brought == pytest.approx(whole.levers.customers_per_period() * whole.levers.deal_value)
    assert sum(p.pipeline_weighted.sum() for p in parts) == pytest.approx(whole.pipeline_weighted.sum())


def test_a_pipelines_lead_share_is_said_in_words() -> None:
    share = fc.LeadShare(0.25, 30, 120, "won")
    assert share.sentence("Startup") == (
        "Startup gets 25.0% of the leads: its share of the deals won in the window (30 of 120); "
        "the marketing funnel below counts all of them."
    )


def test_the_cycle_length_is_the_median_of_the_won_deals_cycles(hand_store: Database) -> None:
    won = [(10, "2026-03-01"), (20, "2026-04-01"), (300, "2026-05-01")]
    deals = pl.DataFrame(
        {
            "stage_kind": ["won"] * 3,
            "value": [1_000.0] * 3,
            "probability": [None] * 3,
            "stage_probability": [100.0] * 3,
            "expected_close": [None] * 3,
            "closed_at": [date.fromisoformat(c) for _, c in won],
            "created": [date.fromisoformat(c) - timedelta(days=d) for d, c in won],
        },
        schema_overrides={"probability": pl.Float64, "expected_close": pl.Date},
    )
    baseline = fc.measure_baseline(with_mql(store.leads(hand_store)), deals, TODAY)
    # 10, 20 and 300 days: the median is 20 (the mean, 110, would be the one slow deal talking).
    assert baseline.levers.cycle_days == 20.0
    assert fc.LEVER_LABELS["cycle_days"] == "Median cycle length (days)"


def test_an_empty_window_says_why_and_where_the_data_is(hand_store: Database) -> None:
    leads, deals = with_mql(store.leads(hand_store)), store.deals(hand_store)
    window = (date(2030, 1, 1), date(2031, 1, 1))
    baseline = fc.measure_baseline(leads, deals, date(2031, 2, 1), window)
    last = date(2026, 10, 15)
    note = forecast_view.window_note(baseline, "Last 4 full quarters", last)
    assert note == (
        "From 01 Jan 2030 to 01 Jan 2031 (excluded), no lead was created and no deal was won: the "
        "rates, deal value or cycle measured there are 0, and so is what they forecast. Your data "
        "ends on 15 Oct 2026: choose 'Last 4 full quarters of your data'."
    )
    measured = fc.measure_baseline(leads, deals, TODAY)
    assert forecast_view.window_note(measured, "Last 4 full quarters", last) is None
