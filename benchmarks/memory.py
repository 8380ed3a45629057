"""6. Peak memory of the app process with the big store open on every page.

The app is served as a user runs it (`streamlit run serve.py` with `FUNNEL_DB`), every page is
opened in Debian's headless Chromium, and the kernel's high-water mark of the server's resident
set (`VmHWM` in /proc/<pid>/status) is read at the end: the most the process ever held.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from benchmarks.harness import Bench, Figure, served
from benchmarks.pages import app_pages
from funnel import store

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
TARGET_BYTES = 1.5e9
PAGE_TIMEOUT_MS = 600_000
QUIET_CHECKS = 3
SAVES = 4
"""As many saves as `ui/frames.py` keeps cached revisions of the leads (`max_entries=4`)."""


def peak_rss(pid: int) -> int:
    """The process's peak resident set in bytes (`VmHWM`), as the kernel counted it."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def _wait_until_done(page: Page) -> None:
    """Until the page's title is drawn and the script has finished: no 'Running…' widget seen
    in `QUIET_CHECKS` checks in a row, a second apart (it shows only after a short delay)."""
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=PAGE_TIMEOUT_MS)
    quiet = 0
    deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
    while quiet < QUIET_CHECKS and time.monotonic() < deadline:
        page.wait_for_timeout(1000)
        running = page.locator("[data-testid='stStatusWidget']").count()
        quiet = 0 if running else quiet + 1


def serve_and_visit(path: Path, saves: int = 0) -> int:
    """Serve the app on `path`, open every page, return the server's peak RSS in bytes.

    With `saves`, then save that many scenarios one by one, each from outside the app as
    another session would, reopening the MQL page after each: every write bumps the store's
    revision, which every cached frame is keyed on, so this measures what the caches keep.
    """
    with served("serve.py", path) as (url, pid):
        # On a thread of its own: Playwright's sync API refuses to start where another
        # instance already runs an event loop (the browser tests' session, under pytest).
        with ThreadPoolExecutor(1) as pool:
            pool.submit(_visit_every_page, url, path, saves).result()
        return peak_rss(pid)


def _visit_every_page(url: str, path: Path, saves: int) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for script in app_pages():
            page.goto(f"{url}/{Path(script).stem}")
            _wait_until_done(page)
        for n in range(saves):
            with store.opened(path) as db:
                store.save_scenario(db, f"benchmark save {n + 1}", {"leads_per_period": 1.0})
            page.goto(f"{url}/mql")
            _wait_until_done(page)
        browser.close()


def measure(bench: Bench) -> list[Figure]:
    values: dict[int, float | None] = {}
    after_saves: dict[int, float | None] = {}
    for size in bench.sizes:
        bench.log(f"memory: streamlit + every page at {size:,}")
        values[size] = float(serve_and_visit(bench.store(size)))
        copy = bench.scratch_store(size)
        bench.log(f"memory: then {SAVES} saves at {size:,} (on a copy of the store)")
        after_saves[size] = float(serve_and_visit(copy, SAVES))
        copy.unlink()
    return [
        Figure("6. peak RSS of the app, every page open", "bytes", values, TARGET_BYTES),
        Figure(f"6a. peak RSS, every page open, then {SAVES} saves", "bytes", after_saves, TARGET_BYTES),
    ]
