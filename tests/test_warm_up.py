"""The warm-up at server start (serve.py): the first open of the Stages, MQL and Forecast pages
finds its frames ready."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import ui
from funnel import cutoffs, forecast, scoring, store
from tests.conftest import open_page
from tests.test_forecast_page import PAGE as FORECAST_PAGE
from tests.test_mql_page import PAGE as MQL_PAGE
from tests.test_stages_page import PAGE as STAGES_PAGE
from ui import warm

PAGES = (MQL_PAGE, STAGES_PAGE, FORECAST_PAGE)


def figures(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the expensive reads and computations made from now on."""
    made: list[str] = []

    def counted(module: Any, name: str) -> None:
        real: Callable[..., Any] = getattr(module, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if not (name == "leads" and len(args) > 1):  # one lead read alone is not a load
                made.append(name)
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, call)

    for module, name in (
        (store, "leads"),
        (store, "named_leads"),
        (store, "deals"),
        (store, "stages"),
        (scoring, "score_leads"),
        (cutoffs, "cutoff_grid"),
        (forecast, "measure_view"),
    ):
        counted(module, name)
    return made


def test_after_the_warm_up_the_first_opens_read_and_score_nothing_and_show_the_same_figures(
    app_env: Path, computed: list[str]
) -> None:
    st.cache_resource.clear()
    cold = {page: figures(open_page(page)) for page in PAGES}
    assert {"named_leads", "score_leads", "cutoff_grid", "deals", "stages", "measure_view"} <= set(
        computed
    )

    st.cache_resource.clear()
    ui.warm_up(app_env)
    computed.clear()
    warm = {page: figures(open_page(page)) for page in PAGES}
    # Every frame either page reads at its defaults was ready, under the keys the pages compute.
    assert computed == []
    assert warm == cold and cold[MQL_PAGE]["MQLs"] and cold[STAGES_PAGE]["Weighted pipeline"]
    assert cold[FORECAST_PAGE]["Baseline, whole horizon"]


def test_an_answer_after_the_warm_up_is_in_the_first_opens_figures(
    app_env: Path, computed: list[str]
) -> None:
    st.cache_resource.clear()
    ui.warm_up(app_env)
    with store.opened(app_env) as db:
        version = store.latest_model_version(db)
        rules, half_life = store.rules(db, version), store.half_life(db, version)
        then = scoring.score_leads(store.leads(db), rules, half_life, scoring.decided_on())
        lead = int(then.filter(scoring.is_mql(70, 60) & pl.col("sal_status").is_null())["id"][0])
        bant = {"budget": True, "authority": True, "need": True, "timeline": True}
        store.record_sal(db, lead, "accepted", bant, who="test")
    computed.clear()
    warm = figures(open_page(MQL_PAGE, {"F": "70", "I": "60"}))
    # The answer moved its lead's cell in the warmed grid: nothing was loaded or scored again.
    assert {"leads", "named_leads", "score_leads", "cutoff_grid"}.isdisjoint(computed)
    st.cache_resource.clear()
    assert figures(open_page(MQL_PAGE, {"F": "70", "I": "60"})) == warm


def test_the_warm_up_gives_way_to_a_visitors_page_run_and_the_drawing_after_it(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scoring_started: list[float] = []
    real = warm._answered

    def recorded(*args: Any) -> pl.DataFrame:
        scoring_started.append(time.monotonic())
        return real(*args)

    monkeypatch.setattr(warm, "_answered", recorded)
    monkeypatch.setattr(warm, "GRACE_S", 0.3)
    st.cache_resource.clear()
    running, ended = threading.Event(), []

    def visitor() -> None:
        with warm.visit():  # as ui.run_page runs a page
            running.set()
            time.sleep(0.5)
        ended.append(time.monotonic())

    thread = threading.Thread(target=visitor)
    thread.start()
    running.wait()
    ui.warm_up(app_env)
    thread.join()
    # The MQL page's scoring started only once the page had run and the grace had passed.
    assert scoring_started and scoring_started[0] - ended[0] >= 0.3 - 0.01
    assert warm.VISITS.quiet_for() > 0


def test_a_file_that_is_no_store_stops_the_warm_up_and_is_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "funnel.db"
    path.write_bytes(b"not a SQLite database, " * 100)  # no connection holds it: not a live store
    with pytest.raises(store.StoreError):
        ui.warm_up(path)  # serve.py logs it; the pages then say what is wrong and where
    assert path.read_bytes() == b"not a SQLite database, " * 100


def test_the_warm_up_fills_caches_without_streamlits_no_context_warning_in_the_terminal() -> None:
    """Off a script run Streamlit warns at every cache with a spinner: quiet on the warm-up's
    thread (five lines at every `make run`), still said on any other."""
    import serve  # noqa: PLC0415 - importing serve installs the filter

    seen: list[str] = []

    class Seen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.threadName or "")

    @st.cache_resource(show_spinner="Counting…")
    def counted(n: int) -> int:
        return n

    logger = logging.getLogger(serve.NO_CONTEXT_LOGGER)
    handler = Seen()
    logger.addHandler(handler)
    try:
        for n, name in enumerate((serve.WARM_UP_THREAD, "another")):
            thread = threading.Thread(target=counted, args=(n,), name=name)
            thread.start()
            thread.join()
    finally:
        logger.removeHandler(handler)
    assert seen and set(seen) == {"another"}
