"""The Funnel & forecast page driven through AppTest: sliders move the scenario only, scenarios
round-trip through the store, the URL carries the slider values."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from funnel import forecast as fc
from funnel import importers, store
from funnel.templates import TEMPLATES
from tests.conftest import APP, DEMO_TODAY, ROOT

pytestmark = pytest.mark.dates

PAGE = "pages/forecast.py"


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_moving_a_slider_changes_the_scenario_not_the_baseline(app_env: Path) -> None:
    at = open_page()
    baseline, scenario = metric(at, "Baseline, whole horizon"), metric(at, "Scenario, whole horizon")
    assert baseline == scenario
    leads = at.slider(key="forecast_leads_per_period")
    leads.set_value(leads.value * 2).run()
    assert not at.exception, at.exception
    assert metric(at, "Baseline, whole horizon") == baseline
    assert metric(at, "Scenario, whole horizon") != scenario
    assert at.query_params["leads_per_period"] == f"{leads.value:g}"


def test_reset_to_baseline_puts_every_slider_back(app_env: Path) -> None:
    at = open_page()
    start = at.slider(key="forecast_rate_mql").value
    at.slider(key="forecast_rate_mql").set_value(90.0).run()
    at.button(key="forecast_reset").click().run()
    assert at.slider(key="forecast_rate_mql").value == start
    assert metric(at, "Scenario, whole horizon") == metric(at, "Baseline, whole horizon")


def test_a_saved_scenario_reopens_with_its_slider_values(app_env: Path) -> None:
    at = open_page()
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
    assert any("cycle_days='oops' is not a number" in w.value for w in at.warning)


def test_per_month_the_sliders_start_from_a_third_of_the_quarterly_volume(app_env: Path) -> None:
    at = open_page()
    quarterly = at.slider(key="forecast_leads_per_period").value
    at.selectbox(key="forecast_period").set_value("Month").run()
    assert not at.exception, at.exception
    assert at.slider(key="forecast_leads_per_period").value == round(quarterly / 3, 1)
    next_month = date(DEMO_TODAY.year + DEMO_TODAY.month // 12, DEMO_TODAY.month % 12 + 1, 1)
    assert at.selectbox(key="forecast_reverse_period").options[0] == f"{next_month:%Y-%m}"


def test_slider_values_survive_a_visit_to_another_page(app_env: Path) -> None:
    at = open_page()
    at.slider(key="forecast_rate_sal").set_value(95.0).run()
    at.switch_page("pages/stages.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.slider(key="forecast_rate_sal").value == 95.0


def test_two_saved_scenarios_compare_period_by_period(app_env: Path) -> None:
    at = open_page()
    for name, value in (("Slow", 10_000.0), ("Fast", 40_000.0)):
        at.slider(key="forecast_deal_value").set_value(value).run()
        at.text_input(key="forecast_scenario_name").input(name).run()
        at.button(key="forecast_save").click().run()
    at.selectbox(key="forecast_compare_a").set_value(1).run()
    at.selectbox(key="forecast_compare_b").set_value(2).run()
    assert not at.exception, at.exception
    table = at.dataframe[-1].value
    # A is "Slow" ($10,000 deals), B is "Fast" ($40,000): B's new business is four times A's,
    # the open pipeline is the same in both, so B is ahead in every period.
    assert table.columns[1].startswith("A: Slow") and table.columns[2].startswith("B: Fast")
    assert (table["difference"] > 0).all()


def test_mql_is_counted_at_the_latest_agreed_cutoff_and_names_show_as_typed(app_env: Path) -> None:
    with store.opened(app_env) as db:
        store.record_decision(db, 70, 60, 1, "2026-11-20", "Anna *marketing*, Ben")
    at = open_page()
    caption = " ".join(c.value for c in at.caption)
    assert "MQL: fit ≥ 70 and interest ≥ 60, the cutoff agreed on 2026-11-20" in caption
    assert r"by Anna \*marketing\*, Ben" in caption


def test_an_empty_store_shows_the_page_and_explains_the_reverse_funnel(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.connect(db_path).close()
    monkeypatch.setenv("FUNNEL_DB", str(db_path))
    monkeypatch.chdir(ROOT)
    at = open_page()
    assert metric(at, "Baseline, whole horizon") == "$0"
    assert any(r"deal value is \$0" in e.value for e in at.error)  # escaped: shown as typed


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
    at = open_page()
    assert at.selectbox(key="forecast_window").value == fc.DATA_WINDOW
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
    assert fc.NO_TARGET in [i.value for i in at.info]
