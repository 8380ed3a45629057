"""The forecast page as plain data: link, kept sliders, scenarios, windows and captions."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import polars as pl
import pytest

from funnel import forecast as fc
from funnel import planning
from funnel.views import forecast as forecast_view
from tests.test_forecast import FIVE, Q1, TODAY, hand_baseline


def test_levers_round_trip_through_scenario_params() -> None:
    fallback = fc.Levers(10.0, (0.5,) * 5, 1_000.0, 30.0)
    levers = fc.Levers(375.0, (0.8, 0.5, 0.7, 0.75, 0.6), 24_000.0, 150.0)
    assert forecast_view.levers_from_params(levers.params(), fallback) == (levers, [])


def test_a_quarterly_scenario_opened_per_month_keeps_its_yearly_volume() -> None:
    fallback = fc.Levers(10.0, (0.5,) * 5, 1_000.0, 30.0)
    levers = fc.Levers(300.0, (0.8, 0.5, 0.7, 0.75, 0.6), 24_000.0, 150.0)
    saved = json.dumps(forecast_view.scenario_params(levers, "quarter"))
    assert forecast_view.levers_from_json(saved, fallback, "quarter") == (levers, [])
    per_month, _ = forecast_view.levers_from_json(saved, fallback, "month")
    assert per_month.leads_per_period == 100.0 and per_month.rates == levers.rates


def test_an_unreadable_scenario_shows_the_baseline_and_says_so() -> None:
    fallback = fc.Levers(10.0, (0.5,) * 5, 1_000.0, 30.0)
    levers, problems = forecast_view.levers_from_json("{not json", fallback, "quarter")
    assert levers == fallback and problems[0].startswith("The saved scenario cannot be read")


def test_scenario_list_shows_each_saved_slider_value_in_its_column() -> None:
    saved = pl.DataFrame(
        {
            "id": [2, 1],
            "name": ["Bigger deals", "Webinar push"],
            "params": ['{"deal_value": 35000, "months_per_period": 3}', '{"rate_mql": 55.0}'],
            "created_at": ["2026-11-23T18:00:00+00:00", "2026-11-22T09:00:00+00:00"],
            "created_by": ["Ben", "Anna"],
        }
    )
    result = forecast_view.scenario_table(saved)
    assert result.columns[:4] == ["id", "name", "created_by", "created_at"]
    assert result["created_at"].to_list() == ["2026-11-23 18:00", "2026-11-22 09:00"]
    assert result["Average deal value"].to_list() == [35_000.0, None]
    assert result["Qualified prospect → MQL (%)"].to_list() == [None, 55.0]
    assert result["per"].to_list() == ["quarter", None]


def test_untouched_rounded_sliders_reproduce_the_exact_baseline() -> None:
    measured = fc.Levers(1_500 / 4, (1_199 / 1_500, 0.5, 0.5, 0.5, 0.5), 24_761.467, 156.394)
    shown = measured.params()
    assert shown["rate_qualified"] == 79.9 and shown["deal_value"] == 24_761
    assert forecast_view.levers_from_params(shown, measured) == (measured, [])
    moved, _ = forecast_view.levers_from_params({**shown, "deal_value": 30_000}, measured)
    assert moved == fc.Levers(375.0, measured.rates, 30_000.0, 156.394)


@pytest.mark.parametrize(
    ("params", "levers", "problems"),
    [
        ({}, FIVE, []),
        # Volume, rates in %, value and cycle each move their own lever; rates are read as %.
        ({"leads_per_period": "20"}, fc.Levers(20.0, (0.5,) * 5, 1_000.0, 30.0), []),
        ({"rate_sql": 80}, fc.Levers(10.0, (0.5, 0.5, 0.5, 0.8, 0.5), 1_000.0, 30.0), []),
        ({"deal_value": "2000", "cycle_days": "0"}, fc.Levers(10.0, (0.5,) * 5, 2_000.0, 0.0), []),
        # A value equal to what the slider shows keeps the exact baseline value.
        ({"rate_mql": "50"}, FIVE, []),
        # Keys the page does not know are not levers: ignored without a word.
        ({"window": "Last full quarter"}, FIVE, []),
        ({"rate_mql": "abc"}, FIVE, ["URL value rate_mql='abc' is not a number; kept 50."]),
        ({"rate_sal": "140"}, FIVE, ["URL value rate_sal=140 is outside 0..100; kept 50."]),
        ({"deal_value": "-1"}, FIVE, ["URL value deal_value=-1 is outside 0..1e+12; kept 1000."]),
        (
            {"leads_per_period": "inf"},
            FIVE,
            ["URL value leads_per_period=inf is outside 0..1e+09; kept 10."],
        ),
        ({"cycle_days": "nan"}, FIVE, ["URL value cycle_days=nan is outside 0..3650; kept 30."]),
        (
            {"rate_mql": "abc", "rate_sal": "140", "deal_value": "2000"},
            fc.Levers(10.0, (0.5,) * 5, 2_000.0, 30.0),
            [
                "URL value rate_mql='abc' is not a number; kept 50.",
                "URL value rate_sal=140 is outside 0..100; kept 50.",
            ],
        ),
    ],
)
def test_levers_from_params_keep_the_baseline_where_a_value_is_wrong_and_say_where(
    params: dict[str, object], levers: fc.Levers, problems: list[str]
) -> None:
    assert forecast_view.levers_from_params(params, FIVE, source="URL") == (levers, problems)


def test_rates_top_out_at_100_and_other_sliders_at_three_times_the_baseline() -> None:
    assert forecast_view.slider_max("rate_mql", 40.0, 55.0) == 100.0
    assert forecast_view.slider_max("leads_per_period", 40.0, 50.0) == 120.0
    assert forecast_view.slider_max("deal_value", 2.0, 3.0) == 10.0
    assert forecast_view.slider_max("cycle_days", 100.0, 500.0) == 500.0


def test_every_lever_has_a_slider_and_a_kept_value() -> None:
    assert forecast_view.SLIDERS["rate_mql"] == ("Qualified prospect → MQL", 0.1, "%.1f %%")
    assert list(forecast_view.SLIDERS) == list(FIVE.params())
    assert forecast_view.KEPT_KEYS[:3] == ("forecast_window", "forecast_period", "forecast_pipeline")
    assert len(forecast_view.KEPT_KEYS) == 3 + 8


def test_pipeline_names_offer_all_pipelines_first() -> None:
    pipelines = pl.DataFrame({"id": [3, 5], "name": ["New", "Renewals"]})
    assert forecast_view.pipeline_names(pipelines) == {None: "All pipelines", 3: "New", 5: "Renewals"}


def test_opening_view_restores_kept_values_then_fills_the_rest_from_the_link() -> None:
    names = {None: "All pipelines", 3: "New", 5: "Renewals"}
    link = {"window": "Last full quarter", "period": "Fortnight", "pipeline": "Renewals"}
    assert forecast_view.opening_view({}, link, names) == {
        "forecast_window": "Last full quarter",
        "forecast_pipeline": 5,
    }
    kept = {"forecast_window": "Last 2 full quarters", "forecast_rate_mql": 40.0}
    state = {"forecast_kept": kept, "forecast_rate_mql": 55.0}
    assert forecast_view.opening_view(state, link, names) == {
        "forecast_window": "Last 2 full quarters",
        "forecast_pipeline": 5,
    }
    assert forecast_view.opening_view({}, {"pipeline": "All pipelines", "period": "Month"}, names) == {
        "forecast_period": "Month"
    }


def test_lever_state_and_slider_params_are_the_levers_as_shown() -> None:
    state = forecast_view.lever_state(FIVE)
    assert state["forecast_leads_per_period"] == 10.0 and state["forecast_rate_sql"] == 50.0
    assert state["forecast_deal_value"] == 1_000.0 and state["forecast_cycle_days"] == 30.0
    assert (
        forecast_view.slider_params({**state, "forecast_window": "Last full quarter"}) == FIVE.params()
    )


def test_a_new_choice_resets_the_sliders_and_the_first_load_reads_the_link() -> None:
    link = {"deal_value": "2000", "rate_sal": "140"}
    first, problems = forecast_view.levers_for_view({}, ("Q", None), link, FIVE)
    assert first["forecast_deal_value"] == 2_000.0 and first["forecast_rate_sal"] == 50.0
    assert first["forecast_signature"] == ("Q", None)
    assert problems == ["Link value rate_sal=140 is outside 0..100; kept 50."]
    assert forecast_view.levers_for_view(
        {"forecast_signature": ("Q", None)}, ("Q", None), link, FIVE
    ) == ({}, [])
    later, problems = forecast_view.levers_for_view(
        {"forecast_signature": ("Q", None)}, ("M", 3), link, FIVE
    )
    assert later["forecast_deal_value"] == 1_000.0 and problems == []


def test_link_params_carry_choices_by_label_and_levers_as_shown() -> None:
    params = {"deal_value": 2_000.0, "rate_mql": 12.5}
    assert forecast_view.link_params("Last full quarter", "Month", "All pipelines", params) == {
        "window": "Last full quarter",
        "period": "Month",
        "pipeline": "All pipelines",
        "deal_value": "2000",
        "rate_mql": "12.5",
    }


def test_window_caption_names_the_window_and_who_agreed_the_cutoff() -> None:
    tail = "A lead counts at every stage up to the furthest it reached."
    assert forecast_view.window_caption(hand_baseline(), pl.DataFrame(), str.upper, TODAY) == (
        "As of 23 Nov 2026: forecast 2027 Q1 to 2027 Q1; "
        "leads created 01 Oct 2025 to 01 Oct 2026 (excluded). MQL: fit ≥ 50 and interest ≥ 50, "
        f"no cutoff agreed yet (see MQL threshold). {tail}"
    )
    decisions = pl.DataFrame(
        {
            "fit_cutoff": [60.0],
            "interest_cutoff": [40.0],
            "model_version": [2],
            "decided_on": ["2026-11-02"],
            "agreed_by": ["ann_b"],
        }
    )
    assert forecast_view.window_caption(hand_baseline(), decisions, str.upper, TODAY) == (
        "As of 23 Nov 2026: forecast 2027 Q1 to 2027 Q1; "
        "leads created 01 Oct 2025 to 01 Oct 2026 (excluded). MQL: fit ≥ 60 and interest ≥ 40, "
        f"the cutoff agreed on 2026-11-02 by ANN_B. {tail}"
    )


def test_headline_metrics_read_the_total_row() -> None:
    side = pl.DataFrame(
        {
            "period": ["2027 Q1", "Total"],
            "Baseline": [300.0, 300.0],
            "Scenario": [450.0, 450.0],
            "difference": [150.0, 150.0],
        }
    )
    assert forecast_view.headline_metrics(side, 1_234) == [
        ("Baseline, whole horizon", "$300", None),
        ("Scenario, whole horizon", "$450", "150"),
        ("Won deals measured", "1,234", None),
    ]


def test_reverse_message_warns_when_the_leads_were_due_already() -> None:
    # $250,000 / $10,000 = 25 customers / 25 % / 50 % / 20 % = 1,000 leads, 30 days before Q1.
    reverse = planning.reverse_funnel(fc.Levers(1_000, (0.2, 0.5, 0.25), 10_000.0, 30.0), 250_000.0, Q1)
    assert (
        forecast_view.reverse_message(reverse, TODAY) == "**1,000 leads** arriving by **02 Dec 2026**."
    )
    assert forecast_view.reverse_message(reverse, date(2026, 12, 3)).endswith(
        " That date is already past: only a shorter cycle gets there."
    )


def test_period_starts_map_labels_to_first_days() -> None:
    starts = forecast_view.period_starts(fc.horizon(TODAY, "quarter").head(2))
    assert starts == {"2026 Q4": TODAY, "2027 Q1": Q1}


def test_saved_scenarios_get_labels_and_levers_by_id() -> None:
    saved = pl.DataFrame(
        {
            "id": [2, 1],
            "name": ["Push", "Push"],
            "params": ['{"deal_value": 2000, "leads_per_period": 20, "months_per_period": 1}', "oops"],
            "created_at": ["2026-11-20T10:15:42", "2026-11-19T09:00:00"],
        }
    )
    assert forecast_view.scenario_labels(saved) == {
        2: "Push (2026-11-20 10:15)",
        1: "Push (2026-11-19 09:00)",
    }
    baseline = replace(hand_baseline(), levers=FIVE)
    # Saved per month, opened per quarter: 20 leads a month are 60 a quarter.
    assert forecast_view.scenario_levers(saved, baseline) == {
        2: fc.Levers(60.0, (0.5,) * 5, 2_000.0, 30.0),
        1: FIVE,
    }


def test_slider_specs_give_each_slider_its_key_label_and_top() -> None:
    state = forecast_view.lever_state(FIVE)
    specs = forecast_view.slider_specs(FIVE, {**state, "forecast_deal_value": 5_000.0})
    assert specs[0] == ("forecast_leads_per_period", "Leads per period", 30.0, 1.0, "%,.0f")
    assert specs[2] == ("forecast_rate_mql", "Qualified prospect → MQL", 100.0, 0.1, "%.1f %%")
    assert specs[6] == ("forecast_deal_value", "Average deal value", 5_000.0, 100.0, "$%,.0f")


def test_the_data_window_follows_data_older_than_todays_windows() -> None:
    # Data ending on 20 Dec 2017, seen on 23 Nov 2026: today's last 4 full quarters start on
    # 1 Oct 2025 and hold none of it; the data's own last 4 quarters are 2017 Q1 to Q4.
    last = date(2017, 12, 20)
    assert forecast_view.data_window(last, TODAY) == (date(2017, 1, 1), date(2018, 1, 1))
    assert forecast_view.default_window(TODAY, last) == forecast_view.DATA_WINDOW
    assert forecast_view.baseline_window(forecast_view.DATA_WINDOW, TODAY, last) == (
        date(2017, 1, 1),
        date(2018, 1, 1),
    )
    assert forecast_view.window_label(forecast_view.DATA_WINDOW, TODAY, last) == (
        "Last 4 full quarters of your data: 2017 Q1 to 2017 Q4"
    )
    # Recent data keeps today's window; the data's window never reaches the quarter under way.
    assert forecast_view.default_window(TODAY, date(2026, 11, 2)) == "Last 4 full quarters"
    assert forecast_view.data_window(date(2026, 11, 2), TODAY) == fc.full_quarters_window(TODAY)
    assert forecast_view.baseline_window("Last 2 full quarters", TODAY, last) == fc.full_quarters_window(
        TODAY, 2
    )


def test_the_targets_open_on_round_figures_of_the_forecast() -> None:
    side = pl.DataFrame(
        {
            "period": ["2027 Q1", "2027 Q2", "Total"],
            "Baseline": [120_000.0, 126_400.0, 246_400.0],
            "Scenario": [130_499.0, 140_600.0, 271_099.0],
        }
    )
    assert forecast_view.horizon_target(side) == 250_000.0  # the baseline's total, to $10,000
    assert forecast_view.period_target(side, "2027 Q1") == 130_000.0  # the scenario's, to $1,000
    assert forecast_view.period_target(side, "2027 Q2") == 141_000.0


def test_a_scenario_is_compared_with_every_other_one_never_itself() -> None:
    labels = {1: "Webinar push", 2: "Hire two reps", 3: "Price rise"}
    assert forecast_view.compare_with(labels, 2) == {1: "Webinar push", 3: "Price rise"}
