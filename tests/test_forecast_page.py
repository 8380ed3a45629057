"""The Funnel & forecast page driven through AppTest: sliders move the scenario only, scenarios
round-trip through the store, the URL carries the slider values."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import ui
from funnel import importers, store
from funnel.templates import TEMPLATES
from funnel.views import forecast as forecast_view
from tests.conftest import APP, DEMO_TODAY, ROOT, open_page

pytestmark = pytest.mark.dates

PAGE = "pages/forecast.py"


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_moving_a_slider_changes_the_scenario_not_the_baseline(app_env: Path) -> None:
    at = open_page(PAGE)
    baseline, scenario = metric(at, "Baseline, whole horizon"), metric(at, "Scenario, whole horizon")
    assert baseline == scenario
    leads = at.slider(key="forecast_leads_per_period")
    leads.set_value(leads.value * 2).run()
    assert not at.exception, at.exception
    assert metric(at, "Baseline, whole horizon") == baseline
    assert metric(at, "Scenario, whole horizon") != scenario
    assert at.query_params["leads_per_period"] == f"{leads.value:g}"


def test_reset_to_baseline_puts_every_slider_back(app_env: Path) -> None:
    at = open_page(PAGE)
    start = at.slider(key="forecast_rate_mql").value
    at.slider(key="forecast_rate_mql").set_value(90.0).run()
    at.button(key="forecast_reset").click().run()
    assert at.slider(key="forecast_rate_mql").value == start
    assert metric(at, "Scenario, whole horizon") == metric(at, "Baseline, whole horizon")


def test_a_saved_scenario_reopens_with_its_slider_values(app_env: Path) -> None:
    at = open_page(PAGE)
    at.slider(key="forecast_rate_sal").set_value(95.0).run()
    at.slider(key="forecast_deal_value").set_value(30_000.0).run()
    at.text_input(key="forecast_scenario_name").input("Webinar push").run()
    at.button(key="forecast_save").click().run()
    assert not at.exception, at.exception
    with store.opened(app_env) as db:
        saved = store.scenarios(db)
    assert saved["name"].to_list() == ["Webinar push"]
    at.button(key="forecast_reset").click().run()
    assert at.slider(key="forecast_rate_sal").value != 95.0
    at.button(key="forecast_open").click().run()
    assert at.slider(key="forecast_rate_sal").value == 95.0
    assert at.slider(key="forecast_deal_value").value == 30_000.0


def test_a_link_reopens_the_slider_values_and_reports_a_bad_one(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(PAGE)
    at.query_params.update(
        {"rate_customer": "42.5", "cycle_days": "oops", "period": "Month", "pipeline": "Startup"}
    )
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="forecast_period").value == "Month"
    assert (
        at.selectbox(key="forecast_pipeline").format_func(at.selectbox(key="forecast_pipeline").value)
        == "Startup"
    )
    assert at.slider(key="forecast_rate_customer").value == 42.5
    assert any(ui.as_text("cycle_days='oops' is not a number") in w.value for w in at.warning)


def test_per_month_the_sliders_start_from_a_third_of_the_quarterly_volume(app_env: Path) -> None:
    at = open_page(PAGE)
    quarterly = at.slider(key="forecast_leads_per_period").value
    at.selectbox(key="forecast_period").set_value("Month").run()
    assert not at.exception, at.exception
    assert at.slider(key="forecast_leads_per_period").value == round(quarterly / 3, 1)
    assert at.selectbox(key="forecast_reverse_period").options[0] == f"{DEMO_TODAY:%Y-%m}"


def test_one_pipeline_forecasts_its_share_of_the_leads_and_says_so(app_env: Path) -> None:
    at = open_page(PAGE)
    whole = int(metric(at, "Baseline, whole horizon").strip("$").replace(",", ""))
    volume = at.slider(key="forecast_leads_per_period").value
    startup = next(k for k, v in store_pipelines(app_env).items() if v == "Startup")
    at.selectbox(key="forecast_pipeline").set_value(startup).run()
    assert not at.exception, at.exception
    said = [c.value for c in at.caption if c.value.startswith("Startup gets ")]
    assert said and "of the deals won in the window" in said[0]
    assert at.slider(key="forecast_leads_per_period").value < volume
    assert int(metric(at, "Baseline, whole horizon").strip("$").replace(",", "")) < whole


def store_pipelines(path: Path) -> dict[int, str]:
    with store.opened(path) as db:
        return dict(store.pipelines(db).select("id", "name").iter_rows())


def test_todays_quarter_is_forecast_and_the_reverse_funnel_opens_where_leads_can_arrive(
    app_env: Path,
) -> None:
    at = open_page(PAGE)
    quarter = f"{DEMO_TODAY.year} Q{(DEMO_TODAY.month - 1) // 3 + 1}"
    reverse = at.selectbox(key="forecast_reverse_period")
    assert reverse.options[0] == quarter
    caption = next(c.value for c in at.caption if c.value.startswith("As of"))
    assert f"forecast {quarter} to " in caption
    # The cycle the sliders hold: the first period whose leads are due today or later.
    cycle = at.slider(key="forecast_cycle_days").value
    due = [
        date(int(p[:4]), 3 * int(p[-1]) - 2, 1) - timedelta(days=round(cycle))
        for p in reverse.options[1:]
    ]
    reachable = [p for p, by in zip(reverse.options[1:], due, strict=True) if by >= DEMO_TODAY]
    assert reverse.value == reachable[0]
    assert not [m for m in at.markdown if "already past" in m.value]


def test_slider_values_survive_a_visit_to_another_page(app_env: Path) -> None:
    at = open_page(PAGE)
    at.slider(key="forecast_rate_sal").set_value(95.0).run()
    at.switch_page("pages/stages.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.slider(key="forecast_rate_sal").value == 95.0


def test_two_saved_scenarios_compare_period_by_period(app_env: Path) -> None:
    at = open_page(PAGE)
    for name, value in (("Slow", 10_000.0), ("Fast", 40_000.0)):
        at.slider(key="forecast_deal_value").set_value(value).run()
        at.text_input(key="forecast_scenario_name").input(name).run()
        at.button(key="forecast_save").click().run()
    # Compare opens on two different scenarios, and never offers one against itself.
    assert at.selectbox(key="forecast_compare_a").value != at.selectbox(key="forecast_compare_b").value
    at.selectbox(key="forecast_compare_a").set_value(1).run()
    a = at.selectbox(key="forecast_compare_a")
    assert a.format_func(a.value) not in at.selectbox(key="forecast_compare_b").options
    at.selectbox(key="forecast_compare_b").set_value(2).run()
    assert not at.exception, at.exception
    table = at.dataframe[-1].value
    # A is "Slow" ($10,000 deals), B is "Fast" ($40,000): B's new business is four times A's,
    # the open pipeline is the same in both, so B is ahead in every period.
    assert table.columns[1].startswith("A: Slow") and table.columns[2].startswith("B: Fast")
    assert (table["difference"] > 0).all()


def test_a_scenario_saved_under_a_taken_name_is_numbered(app_env: Path) -> None:
    at = open_page(PAGE)
    for _ in range(2):
        at.text_input(key="forecast_scenario_name").input("Webinar push").run()
        at.button(key="forecast_save").click().run()
    assert not at.exception, at.exception
    with store.opened(app_env) as db:
        assert store.scenarios(db)["name"].to_list() == ["Webinar push (2)", "Webinar push"]
    assert "Saved scenario 'Webinar push \\(2\\)'." in [t.value for t in at.toast]  # Markdown


def test_mql_is_counted_at_the_latest_agreed_cutoff_and_names_show_as_typed(app_env: Path) -> None:
    with store.opened(app_env) as db:
        store.record_decision(db, 70, 60, 1, "2026-11-20", "Anna *marketing*, Ben")
    at = open_page(PAGE)
    caption = " ".join(c.value for c in at.caption)
    assert "MQL: fit ≥ 70 and interest ≥ 60, the cutoff agreed on 2026-11-20" in caption
    assert r"by Anna \*marketing\*, Ben" in caption


def test_an_empty_store_shows_the_page_and_explains_the_reverse_funnel(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.connect(db_path).close()
    monkeypatch.setenv("FUNNEL_DB", str(db_path))
    monkeypatch.chdir(ROOT)
    at = open_page(PAGE)
    assert metric(at, "Baseline, whole horizon") == "$0"
    assert any(r"deal value is \$0" in e.value for e in at.error)  # escaped: shown as typed


def test_a_link_with_an_infinite_or_unknown_value_keeps_the_baseline_and_says_so(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(PAGE)
    at.query_params.update({"deal_value": "1e309", "leads_per_period": "inf", "window": "Last 99 years"})
    at.run()

    assert not at.exception, at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert r"deal\_value=inf is outside 0\.\.1e\+12" in warnings
    assert r"leads\_per\_period=inf is outside 0\.\.1e\+09" in warnings
    assert "window='Last 99 years' is not one of the page's choices; ignored" in warnings
    assert metric(at, "Scenario, whole horizon") == metric(at, "Baseline, whole horizon")


def test_every_figure_and_slider_says_what_it_counts(app_env: Path) -> None:
    at = open_page(PAGE)
    assert {m.label for m in at.metric} >= {
        "Baseline, whole horizon",
        "Scenario, whole horizon",
        "Won deals measured",
        "Chance to reach the target",
    }
    assert all(m.help for m in at.metric), [m.label for m in at.metric if not m.help]
    assert len(at.slider) == 8 and all(s.help for s in at.slider)
    assert any("another population" in c.value for c in at.caption)
    assert any("10 % fewer lost" in c.value for c in at.caption)


def backtest_table(at: AppTest) -> Any:
    """The back-test table: the one dataframe with a P10 column beside a quarter column."""
    return next(d.value for d in at.dataframe if {"quarter", "p10"} <= set(d.value.columns))


def test_the_back_test_tab_shows_one_row_per_full_quarter_and_names_the_closest_method(
    app_env: Path,
) -> None:
    at = open_page(PAGE)
    # Its tab is lazy: nothing of the back-test is computed or drawn until it is opened.
    assert not any("Closest over" in m.value for m in at.markdown)
    assert not any({"quarter", "p10"} <= set(d.value.columns) for d in at.dataframe)
    at.session_state["forecast_tab"] = forecast_view.BACKTEST_TAB  # the user opens the tab
    at.run()
    table = backtest_table(at)
    this_quarter = DEMO_TODAY.year * 4 + (DEMO_TODAY.month - 1) // 3
    expected_quarters = [f"{q // 4} Q{q % 4 + 1}" for q in range(this_quarter - 4, this_quarter)]
    assert table["quarter"].tolist() == expected_quarters
    assert any("Closest over the last 4 full quarters" in m.value for m in at.markdown)
    at.number_input(key="forecast_backtest_n").set_value(2).run()
    assert not at.exception, at.exception
    table = backtest_table(at)
    assert table["quarter"].tolist() == expected_quarters[2:]


def test_old_data_gets_its_own_window_by_default_and_a_0_target_gets_no_chance(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Deals that all closed about three years before today, whatever today is.
    old = DEMO_TODAY.replace(day=1) - timedelta(days=3 * 365)
    rows = [
        (
            f"D{i}",
            "Opportunity won" if i % 3 else "Lost customer",
            1_000 * i,
            old - timedelta(days=40 * i),
        )
        for i in range(1, 10)
    ]
    data = "Deal ID,Stage,Amount,Created Date,Close Date\n" + "".join(
        f"{d},{stage},{value},{closed - timedelta(days=30)},{closed}\n"
        for d, stage, value, closed in rows
    )
    with store.opened(db_path) as db:
        store.create_pipeline(db, "Traditional B2B", TEMPLATES["Traditional B2B"])
        assert importers.import_bytes(db, data.encode(), "deals", "old.csv").committed
    monkeypatch.setenv("FUNNEL_DB", str(db_path))
    monkeypatch.chdir(ROOT)
    at = open_page(PAGE)
    assert at.selectbox(key="forecast_window").value == forecast_view.DATA_WINDOW
    # Independently: the four quarters up to the one holding the last close date.
    last = max(closed for *_, closed in rows)
    end_month = (last.month - 1) // 3 * 3 + 4
    end = date(last.year + (end_month > 12), (end_month - 1) % 12 + 1, 1)
    start = date(end.year - 1, end.month, 1)
    won = [r for r in rows if r[1] == "Opportunity won" and start <= r[3] < end]
    assert won and metric(at, "Won deals measured") == str(len(won))
    at.number_input(key="forecast_target").set_value(0.0).run()
    assert not at.exception, at.exception
    assert not [m for m in at.metric if m.label == "Chance to reach the target"]
    assert forecast_view.NO_TARGET in [i.value for i in at.info]


def test_with_no_decision_the_mql_page_and_the_forecast_count_mqls_at_one_cutoff(app_env: Path) -> None:
    with store.opened(app_env) as db:
        assert store.decisions(db).is_empty()
    mql = open_page("pages/mql.py")
    sliders = (mql.slider(key="mql_fit_cutoff").value, mql.slider(key="mql_interest_cutoff").value)
    assert sliders == (50, 50)  # the upper-right quadrant of the 0..100 square
    at = open_page(PAGE)
    caption = " ".join(c.value for c in at.caption)
    assert "MQL: fit ≥ 50 and interest ≥ 50, no cutoff agreed yet" in caption
