"""B. What a user feels, timed in headless Chromium against `streamlit run`, median of the runs.

B1 first open of the MQL page on a fresh server, to its figures on screen (B1a: to progress on
screen, B1t: to the app's first words; B1w: the same open once serve.py's warm-up has
finished, B1s that warm-up's own time; B1f: benchmarks/floor_app.py, the page's elements with
nothing computed, Streamlit's own floor under B1); B2 a keyboard step on the fit slider, to the
MQL count changing (B2r: to its run finished, the charts redrawn); B3 the same step made at the
same moment by 1, 5 and 10 people (one browser context each, as a meeting of laptops on one
server), the median of every person's wait (B3r: to each one's run finished); B4 a lead source
picked in the filter, to the MQL count changing; B5 Accept on the SAL form, to the SAL count
changing (on a scratch copy of the store, since it writes); B6 the first open of the Stages
page on a fresh server, to its figures on screen (B6w once the warm-up has finished). B1, B2,
B4 and B5 stand beside the same actions on benchmarks/usual_app.py, the same page written the
usual way (pandas `read_sql`, no cache, one scatter), served the same way.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import urllib.request
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from playwright.async_api import Page, async_playwright

from benchmarks.harness import Bench, Figure, served

T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
USUAL_APP = "benchmarks/usual_app.py"
OURS = {
    "script": "serve.py",
    "path": "/mql",
    "slider": ".st-key-mql_fit_cutoff",
    "metric": "MQLs",
    "source": ".st-key-mql_source",
}
USUAL = {
    "script": USUAL_APP,
    "path": "/",
    "slider": ".st-key-fit",
    "metric": "MQLs",
    "source": ".st-key-source",
}
STAGES = {"script": "serve.py", "path": "/", "metric": "Weighted pipeline"}
FLOOR = {"script": "benchmarks/floor_app.py", "path": "/", "metric": "MQLs"}
SESSIONS = (1, 5, 10)
TIMEOUT_MS = 300_000
# The value of the metric labelled `name` (its label may carry a help icon beside the text).
METRIC_VALUE = """name => {
  for (const m of document.querySelectorAll("[data-testid='stMetric']")) {
    const label = m.querySelector("[data-testid='stMetricLabel']");
    if (label && label.innerText.trim() === name) {
      const value = m.querySelector("[data-testid='stMetricValue']");
      return value ? value.innerText : null;
    }
  }
  return null;
}"""
OPEN_TARGET_S, MOVE_TARGET_S, MEETING_TARGET_S = 1.5, 0.3, 1.0
FILTER_TARGET_S, ACCEPT_TARGET_S, PROGRESS_TARGET_S = 0.5, 0.4, 0.1


# Anything of the app's own on screen: a title, a caption.
FIRST_WORDS = "document.querySelector(\"[data-testid='stCaptionContainer'], h1\") !== null"
# Something on screen that says the page is coming: serve.py's opening line, Streamlit's own
# skeleton (it shows after half a second with nothing drawn), or the app's first element.
PROGRESS = """(() => {
  const line = document.querySelector("#funnel-opening");
  return (line !== null && line.checkVisibility())
    || document.querySelector("[data-testid='stAppSkeleton']") !== null
    || document.querySelector(
      "[data-testid='stMain'] [data-testid='stElementContainer']:not(:empty)") !== null;
})()"""
# When the browser painted it: its own first contentful paint, from the navigation's start.
PAINTED = "performance.getEntriesByName('first-contentful-paint').length > 0"
PAINTED_AT = "performance.getEntriesByName('first-contentful-paint')[0].startTime / 1000"


async def _open(
    page: Page, url: str, app: dict[str, str], marks: dict[str, list[float]] | None = None
) -> float:
    """Seconds from navigation to the page's figure on screen (and, into `marks`, to progress
    painted, by the browser's own clock, and to the app's first words on screen)."""
    started = time.perf_counter()
    await page.goto(url + app["path"], wait_until="commit")
    if marks is not None:
        await page.wait_for_function(PROGRESS, timeout=TIMEOUT_MS, polling=10)
        await page.wait_for_function(PAINTED, timeout=TIMEOUT_MS, polling=10)
        marks["progress"].append(await page.evaluate(PAINTED_AT))
        await page.wait_for_function(FIRST_WORDS, timeout=TIMEOUT_MS, polling=20)
        marks["first"].append(time.perf_counter() - started)
    await page.wait_for_function(f"({METRIC_VALUE})({app['metric']!r}) !== null", timeout=TIMEOUT_MS)
    return time.perf_counter() - started


async def _warmed(url: str) -> float:
    """Wait until serve.py's warm-up has finished (`GET /_funnel/warm`); its seconds."""
    while True:
        state = await asyncio.to_thread(_warm_state, url)
        if state["done"]:
            return float(state["seconds"])
        await asyncio.sleep(0.2)


def _warm_state(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/_funnel/warm", timeout=10) as answer:
        state: dict[str, Any] = json.load(answer)
        return state


async def _idle(page: Page) -> None:
    await page.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=TIMEOUT_MS
    )


async def _step(page: Page, app: dict[str, str], key: str) -> tuple[float, float]:
    """Seconds from one key press on the fit slider to the MQL count changing, and to the run
    it started finished (every chart of it received: the count shows while the run is still
    going, so a finished state seen after it is this run's)."""
    before = await page.evaluate(f"({METRIC_VALUE})({app['metric']!r})")
    thumb = page.locator(f"{app['slider']} input[type='range']")
    started = time.perf_counter()
    await thumb.press(key)
    await page.wait_for_function(
        f"old => ({METRIC_VALUE})({app['metric']!r}) !== old", arg=before, timeout=TIMEOUT_MS
    )
    changed = time.perf_counter() - started
    await _idle(page)
    return changed, time.perf_counter() - started


async def _changed(page: Page, metric: str, act: Callable[[], Awaitable[None]]) -> float:
    """Seconds from `act` (a click) to the metric labelled `metric` showing another value."""
    before = await page.evaluate(f"({METRIC_VALUE})({metric!r})")
    started = time.perf_counter()
    await act()
    await page.wait_for_function(
        f"old => ({METRIC_VALUE})({metric!r}) !== old", arg=before, timeout=TIMEOUT_MS
    )
    return time.perf_counter() - started


async def _pick_source(page: Page, app: dict[str, str], n: int) -> float:
    """Seconds from picking the `n`th lead source still offered in the filter to the MQL count
    changing (each pick narrows the leads to one more source)."""
    await page.locator(f"{app['source']} [data-testid='stMultiSelect']").click()
    # Streamlit's list opens with "Select all", which would pick every source (no change).
    option = page.get_by_role("option").filter(has_not_text="Select all").nth(n % 2)
    await option.wait_for(timeout=TIMEOUT_MS)

    async def pick() -> None:
        # The choice is sent when the list closes, as when a user clicks away from it.
        await option.click()
        await page.keyboard.press("Escape")

    return await _changed(page, app["metric"], pick)


async def _accept(page: Page) -> float:
    """Seconds from Accept on the SAL form to the SAL count changing."""
    button = page.get_by_role("button", name="Accept (SAL)")
    return await _changed(page, "SALs", button.click)


async def _feel(
    db: Path, app: dict[str, str], runs: int, sessions: tuple[int, ...], scratch: Path | None = None
) -> dict[str, float]:
    """B1, B2 and B4 for `app` on `db` (each open on a fresh server), B5 on `scratch` (a copy
    it may write), and B3 for each session count."""
    figures: dict[str, float] = {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        opens, picks = [], []
        steps: list[tuple[float, float]] = []
        marks: dict[str, list[float]] = {"progress": [], "first": []}
        for _ in range(runs):
            with served(app["script"], db) as (url, _):
                page = await browser.new_page(viewport={"width": 1400, "height": 1000})
                opens.append(await _open(page, url, app, marks))
                await _idle(page)
                for n in range(runs):
                    steps.append(await _step(page, app, "ArrowRight" if n % 2 == 0 else "ArrowLeft"))
                picks.append(await _pick_source(page, app, 0))
                await _idle(page)
                await page.close()
        if app["script"] == "serve.py":  # the same first open once the warm-up has finished
            warmed, warm_ups = [], []
            for _ in range(runs):
                with served(app["script"], db) as (url, _):
                    warm_ups.append(await _warmed(url))
                    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
                    warmed.append(await _open(page, url, app))
                    await page.close()
            figures["open_warm"], figures["warm_up"] = (
                statistics.median(warmed),
                statistics.median(warm_ups),
            )
        figures["open"] = statistics.median(opens)
        figures["step"], figures["step_done"] = (statistics.median(t) for t in zip(*steps, strict=True))
        figures["filter"] = statistics.median(picks)
        figures |= {name: statistics.median(seconds) for name, seconds in marks.items()}
        if scratch is not None:
            with served(app["script"], scratch) as (url, _):
                page = await browser.new_page(viewport={"width": 1400, "height": 1000})
                await _open(page, url, app)
                await _idle(page)
                accepts = []
                for _ in range(runs):
                    accepts.append(await _accept(page))
                    await _idle(page)
                figures["accept"] = statistics.median(accepts)
                await page.close()
        for count in sessions:
            with served(app["script"], db) as (url, _):
                pages = [
                    await browser.new_page(viewport={"width": 1400, "height": 1000})
                    for _ in range(count)
                ]
                for page in pages:
                    await _open(page, url, app)
                    await _idle(page)
                waits: list[tuple[float, float]] = []
                for n in range(3):
                    key = "ArrowRight" if n % 2 == 0 else "ArrowLeft"
                    waits += await asyncio.gather(*(_step(page, app, key) for page in pages))
                figures[f"sessions_{count}"], figures[f"sessions_{count}_done"] = (
                    statistics.median(t) for t in zip(*waits, strict=True)
                )
                for page in pages:
                    await page.close()
        await browser.close()
    return figures


async def first_open(db: Path, app: dict[str, str], runs: int, warm: bool = False) -> float:
    """B6 (the Stages page) and B1f (the floor): seconds from navigation to `app`'s figures,
    each on a fresh server (with `warm`, once serve.py's warm-up has finished)."""
    opens = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(runs):
            with served(app["script"], db) as (url, _):
                if warm:
                    await _warmed(url)
                page = await browser.new_page(viewport={"width": 1400, "height": 1000})
                opens.append(await _open(page, url, app))
                await page.close()
        await browser.close()
    return statistics.median(opens)


def threaded(work: Coroutine[Any, Any, T]) -> T:
    """`work` on a thread of its own: Playwright refuses to start inside a running event loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


def feel(
    db: Path,
    app: dict[str, str],
    runs: int,
    sessions: tuple[int, ...] = (),
    scratch: Path | None = None,
) -> dict[str, float]:
    """The felt rows of `app` (see `_feel`)."""
    return threaded(_feel(db, app, runs, sessions, scratch))


def measure(bench: Bench) -> list[Figure]:
    ours: dict[int, dict[str, float]] = {}
    for size in bench.sizes:
        bench.log(f"browser: our MQL page at {size:,}, then {', '.join(map(str, SESSIONS))} sessions")
        ours[size] = feel(bench.store(size), OURS, bench.runs, SESSIONS, bench.scratch_store(size))
        ours[size]["stages"] = threaded(first_open(bench.store(size), STAGES, bench.runs))
        ours[size]["stages_warm"] = threaded(
            first_open(bench.store(size), STAGES, bench.runs, warm=True)
        )
        ours[size]["floor"] = threaded(first_open(bench.store(size), FLOOR, bench.runs))
    bench.log(f"browser: the usual way at {bench.largest:,}")
    runs = min(bench.runs, 3)
    usual = feel(bench.store(bench.largest), USUAL, runs, (), bench.scratch_store(bench.largest))
    sizes = bench.sizes

    def row(key: str) -> dict[int, float | None]:
        return {s: ours[s][key] for s in sizes}

    return [
        Figure(
            "B1. first open of the MQL page, figures on screen (browser)",
            "s",
            row("open"),
            OPEN_TARGET_S,
            usual["open"],
            "pandas read_sql, no cache",
        ),
        Figure(
            "B1w. the same first open once the server's warm-up has finished (browser)",
            "s",
            row("open_warm"),
            OPEN_TARGET_S,
        ),
        Figure(
            "B1f. the MQL page's elements with nothing computed, first open: Streamlit's floor "
            "(browser)",
            "s",
            row("floor"),
        ),
        Figure("B1s. the server's warm-up (serve.py), to done", "s", row("warm_up")),
        Figure(
            "B1a. first open of the MQL page, progress on screen (browser)",
            "s",
            row("progress"),
            PROGRESS_TARGET_S,
            usual["progress"],
            "pandas read_sql, no cache",
        ),
        Figure(
            "B1t. first open of the MQL page, the app's first words on screen (browser)",
            "s",
            row("first"),
            None,
            usual["first"],
            "pandas read_sql, no cache",
        ),
        Figure(
            "B2. fit slider key step to the MQL count changing (browser)",
            "s",
            row("step"),
            MOVE_TARGET_S,
            usual["step"],
            "pandas, no cache, one scatter",
            min_ratio=5.0,
        ),
        Figure(
            "B2r. the same step to its run finished, the three charts redrawn (browser)",
            "s",
            row("step_done"),
            MOVE_TARGET_S,
            usual["step_done"],
            "pandas, no cache, one scatter",
            min_ratio=5.0,
        ),
        *(
            Figure(
                f"B3. the same step by {n} {'person' if n == 1 else 'people at once'}, "
                "median wait (browser)",
                "s",
                row(f"sessions_{n}"),
                MEETING_TARGET_S if n == 5 else None,
            )
            for n in SESSIONS
        ),
        *(
            Figure(
                f"B3r. the same, by {n} {'person' if n == 1 else 'people at once'}, median wait "
                "to each one's run finished (browser)",
                "s",
                row(f"sessions_{n}_done"),
            )
            for n in SESSIONS
        ),
        Figure(
            "B4. a lead source picked in the filter to the MQL count changing (browser)",
            "s",
            row("filter"),
            FILTER_TARGET_S,
            usual["filter"],
            "pandas, no cache, reread on every change",
            min_ratio=5.0,
        ),
        Figure(
            "B5. Accept on the SAL form to the SAL count changing (browser)",
            "s",
            row("accept"),
            ACCEPT_TARGET_S,
            usual["accept"],
            "pandas, no cache, a plain UPDATE",
            min_ratio=5.0,
        ),
        Figure(
            "B6. first open of the Stages page, figures on screen (browser)",
            "s",
            row("stages"),
            OPEN_TARGET_S,
        ),
        Figure(
            "B6w. the same once the server's warm-up has finished (browser)",
            "s",
            row("stages_warm"),
            OPEN_TARGET_S,
        ),
    ]
