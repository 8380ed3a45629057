"""4. Each page's full rerun under `AppTest` with warm caches, beside the same without caching;
4b. the MQL page's rerun after sales answers an MQL (a write that changes one lead).

The app runs from its entry point on the big store (`FUNNEL_DB`); a page is opened once to warm
the caches (frames are `st.cache_resource`, shared across sessions in this process), then
rerun, and the rerun is what a user waits for after any widget outside a fragment changes.
The pages are read from `app.py`, so a new page is measured without touching this file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import streamlit as st
from streamlit.testing.v1 import AppTest

from benchmarks.harness import ROOT, Bench, Figure, Timing, median, timed
from funnel import store

APP = ROOT / "app.py"
TARGET_S = 0.5
FIRST_RUN_TIMEOUT_S = 600


def app_pages() -> list[str]:
    """The page scripts `app.py` registers with `st.Page`, in menu order."""
    return re.findall(r"""st\.Page\(\s*["'](pages/[\w/]+\.py)["']""", APP.read_text())


@contextmanager
def store_env(path: Path) -> Iterator[None]:
    """Point the app at `path` the way a user would (`FUNNEL_DB`), then put things back."""
    before = os.environ.get("FUNNEL_DB")
    os.environ["FUNNEL_DB"] = str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("FUNNEL_DB", None)
        else:
            os.environ["FUNNEL_DB"] = before


def rerun_time(bench: Bench, path: Path, page: str, cached: bool = True) -> Timing | None:
    """Median time of a rerun of `page`; None when the page raises (reported, not timed).

    `cached=False` empties `st.cache_resource` before each rerun: the same page as an app
    without caching runs it, every rerun reading and scoring the store again.
    """
    with store_env(path):
        at = AppTest.from_file(str(APP), default_timeout=FIRST_RUN_TIMEOUT_S)
        at.run()
        at.switch_page(page).run()
        if at.exception:
            bench.log(f"pages: {page} raised: {at.exception[0].message}")
            return None

        def rerun() -> None:
            if not cached:
                st.cache_resource.clear()
            at.run()

        return median([timed(rerun) for _ in range(bench.runs if cached else 3)])


def after_sal_answer(bench: Bench, path: Path, cached: bool = True) -> Timing:
    """Median rerun of the MQL page right after one SAL answer, a different lead each time.

    The answer is written the way the page writes it (`store.record_sal`); the rerun is what
    sales waits for before the next lead, with its SAL count moved.
    """
    with store_env(path):
        at = AppTest.from_file(str(APP), default_timeout=FIRST_RUN_TIMEOUT_S)
        at.run()
        at.switch_page("pages/mql.py").run()
        with store.opened(path) as db:
            unanswered = store.leads(db).filter(pl.col("sal_status").is_null())["id"].head(20)
        queue = iter(unanswered.to_list())

        def answer_then_rerun() -> None:
            with store.opened(path) as db:
                store.record_sal(db, next(queue), "accepted", dict.fromkeys(store.BANT, True), "bench")
            if not cached:
                st.cache_resource.clear()
            at.run()

        timings = [timed(answer_then_rerun) for _ in range(bench.runs if cached else 3)]
        if at.exception:
            raise RuntimeError(f"the MQL page raised after a SAL answer: {at.exception[0].message}")
        return median(timings)


def measure(bench: Bench) -> list[Figure]:
    figures = []
    for page in app_pages():
        values: dict[int, Timing | None] = {}
        for size in bench.sizes:
            bench.log(f"pages: {page} at {size:,}")
            values[size] = rerun_time(bench, bench.store(size), page)
        bench.log(f"pages: {page} without caches at {bench.largest:,}")
        usual = rerun_time(bench, bench.store(bench.largest), page, cached=False)
        figures.append(
            Figure.timed(
                f"4. rerun of {page} (AppTest, warm caches)",
                values,
                target=TARGET_S,
                usual=usual,
                usual_how="the same page without caching",
            )
        )
    values = {}
    for size in bench.sizes:
        bench.log(f"pages: the MQL page after a SAL answer at {size:,}")
        values[size] = after_sal_answer(bench, bench.scratch_store(size))
    figures.append(
        Figure.timed(
            "4b. rerun of pages/mql.py right after a SAL answer",
            values,
            target=TARGET_S,
            usual=after_sal_answer(bench, bench.scratch_store(bench.largest), cached=False),
            usual_how="the same page without caching",
        )
    )
    return figures
