"""Planning on a forecast: the simulated range, the reverse funnel and the sensitivity ranking,
on hand-built baselines whose figures follow from 1,000 leads x 20 % x 50 % x 25 % x $10,000."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from funnel import charts, planning
from funnel import forecast as fc
from tests.test_forecast import Q1, hand_baseline


def test_simulated_range_is_ordered_and_the_seed_repeats_it() -> None:
    baseline = hand_baseline(periods=4, cycle=[30.0, 60.0])
    levers = fc.Levers(1_000, (0.2, 0.5, 0.25), 10_000.0, 45.0)
    first = planning.simulate(levers, baseline, target=800_000.0, seed=3)
    again = planning.simulate(levers, baseline, target=800_000.0, seed=3)
    other = planning.simulate(levers, baseline, target=800_000.0, seed=4)
    q = first.quantiles
    assert (q["p10"] <= q["p50"]).all() and (q["p50"] <= q["p90"]).all()
    assert_frame_equal(first.quantiles, again.quantiles)
    assert first.chance == again.chance
    assert not first.quantiles.equals(other.quantiles)
    # Centred on the forecast: 4 quarters x $250,000, less what the cycle pushes past Q4.
    total = fc.forecast(levers, baseline).get_column("revenue").sum()
    assert q.filter(pl.col("period") == "Total")["p50"][0] == pytest.approx(total, rel=0.1)
    assert 0.0 < first.chance < 1.0


def test_reverse_funnel_inverts_the_forward_funnel() -> None:
    levers = fc.Levers(1_000, (0.2, 0.5, 0.25), 10_000.0, 45.0)
    result = planning.reverse_funnel(levers, 250_000.0, Q1)
    assert result.leads == pytest.approx(1_000.0)
    assert result.stages.get_column("needed").to_list() == [1_000, 200, 100, 25]
    assert result.by == date(2026, 11, 17)
    forward = fc.Levers(result.leads, levers.rates, levers.deal_value, levers.cycle_days)
    assert forward.customers_per_period() * forward.deal_value == pytest.approx(250_000.0)


def test_reverse_funnel_with_a_zero_rate_says_which() -> None:
    with pytest.raises(planning.ForecastError, match="rate_mql is 0 %"):
        planning.reverse_funnel(fc.Levers(1_000, (0.2, 0.0), 10_000.0, 0.0), 1.0, Q1)


def test_sensitivity_ranks_the_leakiest_step_first() -> None:
    baseline = hand_baseline()
    levers = fc.Levers(1_000, (0.2, 0.5, 0.25), 10_000.0, 0.0)
    result = planning.sensitivity(levers, baseline)
    gains = dict(zip(result["lever"], result["gain"], strict=True))
    # The 20 % step loses 80 %: a tenth less leak is 20 % -> 28 %, +40 % revenue.
    assert result["lever"][0] == "Lead → Qualified prospect: 10 % fewer lost"
    assert result["bottleneck"].to_list() == [True] + [False] * (result.height - 1)
    assert gains["Lead → Qualified prospect: 10 % fewer lost"] == pytest.approx(100_000.0)
    assert gains["MQL → SAL: 10 % fewer lost"] == pytest.approx(75_000.0)
    assert gains["Qualified prospect → MQL: 10 % fewer lost"] == pytest.approx(25_000.0)
    assert gains["Leads per period +10 %"] == pytest.approx(25_000.0)
    assert gains["Cycle length -10 %"] == pytest.approx(0.0)


def test_sensitivity_chart_keeps_the_ranking_and_colours_the_bottleneck() -> None:
    ranked = planning.sensitivity(fc.Levers(1_000, (0.2, 0.5, 0.25), 10_000.0, 0.0), hand_baseline())
    spec = charts.sensitivity_chart(ranked).to_dict()
    assert spec["encoding"]["y"]["sort"] == ranked["lever"].to_list()
    assert spec["encoding"]["color"]["condition"]["test"] == "datum.bottleneck"


def test_without_history_the_simulation_still_centres_on_the_levers() -> None:
    baseline = hand_baseline(trials=(0, 0, 0))
    levers = fc.Levers(1_000, (0.2, 0.5, 0.25), 10_000.0, 0.0)
    result = planning.simulate(levers, baseline, target=250_000.0)
    # No history: wide, but around the levers' $250,000.
    assert result.quantiles["p10"][0] < 250_000.0 < result.quantiles["p90"][0]
    zero = planning.simulate(fc.Levers(1_000, (0.0, 0.5, 0.25), 10_000.0, 0.0), baseline, 1.0)
    assert zero.quantiles["p90"][0] == 0.0 and zero.chance == 0.0
