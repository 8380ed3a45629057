"""The warm-up at server start (serve.py): the pages' imports and the caches their first open
reads, filled before anyone visits.

It calls the caches of `ui.frames` under the keys the pages compute themselves (the same
revisions, model, day, filters and steps), so a page's first open finds them; it lives apart
from them because it is the one caller that knows every page's defaults.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from funnel import backtest, clock, scales, scoring, store
from funnel.views import forecast as forecast_views
from ui.frames import (
    Revisions,
    _answered,
    _backtested,
    _health,
    _measured,
    _read_model,
    _score_scales,
    _table,
)
from ui.mql_view import _figures, _filter_options, _mql_view

# What the pages import beyond this module: imported at start, a first visit does not pay them.
PAGE_MODULES = (
    "altair",
    "funnel.charts",
    "funnel.exports",
    "funnel.views.data",
    "funnel.views.forecast",
    "funnel.views.history",
    "funnel.views.mql",
    "funnel.views.stages",
    "ui.cutoff_decisions",
    "ui.importing",
    "ui.period_figures",
    "ui.pipeline_admin",
    "ui.restoring",
    "ui.sal_queue",
    "ui.scoring_model",
    "ui.stage_editor",
    "ui.what_if",
)


GRACE_S = 1.0
"""How long after a visitor's page run the warm-up still waits: the browser is drawing the
page then, on the same cores."""


class _Visits:
    """Page runs in progress, and when the last one ended."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._ended = float("-inf")

    @contextlib.contextmanager
    def run(self) -> Iterator[None]:
        with self._lock:
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                self._ended = time.monotonic()

    def quiet_for(self) -> float:
        """Seconds since the last page run ended; 0 while one runs."""
        with self._lock:
            return 0.0 if self._running else time.monotonic() - self._ended


VISITS = _Visits()


def visit() -> contextlib.AbstractContextManager[None]:
    """Around a page run: the warm-up gives way to it (`_give_way`)."""
    return VISITS.run()


def _give_way() -> None:
    """Wait until no page has run for `GRACE_S`: a visitor's page (and the browser drawing
    it) gets both cores, where the warm-up's next step would have taken them (the Forecast's
    measure and back-test, 6 s at ten million leads, while the first visitor's page was
    opening). What the visitor's page needs it computes itself, under the same keys."""
    while VISITS.quiet_for() < GRACE_S:
        time.sleep(0.05)


def warm_up(path: Path) -> None:
    """Import what the pages import and fill the caches that the first open of the Stages, MQL
    and Forecast pages reads at their defaults, in that order (Stages is the landing page):
    the first pipeline; the latest model, every source, owner and creation date; every
    pipeline by quarter over the window the data calls for, and its back-test. Under the same
    keys the pages compute, so the first visitor does not wait for them.

    Run by serve.py on a thread of its own as the server starts: a visit that asks for a
    frame still being computed waits for that computation (Streamlit's per-key lock) instead
    of starting its own; between the pages' steps it gives way to visitors (`_give_way`).
    Nothing here is trusted more than a page's own read: every key holds
    the revisions, so a write before the first visit makes these entries unused, not stale.
    """
    for name in PAGE_MODULES:
        importlib.import_module(name)
    where = str(path)
    with store.opened(path) as db:
        rev = Revisions(store.revision(db), store.leads_revision(db), store.answers_revision(db))
        pipelines, latest = store.pipelines(db), store.latest_model_version(db)
        last, agreed = store.last_data_date(db), scoring.agreed_cutoff(store.decisions(db))[2]
    today = clock.today()
    if not pipelines.is_empty():  # the Stages page opens on the first pipeline
        first = int(pipelines["id"][0])
        for name in ("stages", "deals", "history"):
            _table(where, rev.store, name, first)
        _health(where, rev.store, rev.lead_frames, None, today, first, True)
    _give_way()
    if latest is not None:  # without a model the MQL page asks for one first
        chosen = _read_model(where, rev.store, latest)
        options = _filter_options(where, rev.leads)
        if options.span.count:
            steps = scales.slider_steps(_score_scales(where, rev.leads))
            shown = (where, rev.lead_frames, chosen, today, (), (), options.period, steps)
            _figures(*shown)  # kept beside the store, for the next start
            _mql_view(*shown)
        _answered(where, rev.lead_frames, chosen, today)
        _health(where, rev.store, rev.lead_frames, chosen, today, None, False)
    _give_way()
    # The Forecast page opens on every pipeline, quarters, and the window its data calls for.
    window = forecast_views.baseline_window(forecast_views.default_window(today, last), today, last)
    _measured(where, rev, window, forecast_views.PERIODS["Quarter"], None, today)
    _backtested(where, rev.store, None, backtest.DEFAULT_QUARTERS, today)
    forecast_model = _read_model(where, rev.store, agreed)
    _health(where, rev.store, rev.lead_frames, forecast_model, today, None, True)
