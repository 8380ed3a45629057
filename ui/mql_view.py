"""The MQL page's frames for one filter, cached, and moved by sales' answers instead of being
counted again: the queue scored today, the back-test's scores, their cutoff grid, the
scatter's sample and the capacity table.

Apart from `ui.frames` because it is the one cache an answer updates in place (`_newest`);
it reads the scored leads from there.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl
import streamlit as st

from funnel import clock, cutoffs, points, sal, scales, store
from ui.frames import Model, _answered_marked, db_path, explained, model, revisions, slider_steps


@dataclass(frozen=True)
class _MqlView:
    """The MQL page's frames for one filter, with sales' answers up to audit line `mark`."""

    leads: pl.DataFrame  # scored today: the sales queue
    then: pl.DataFrame  # scored as each lead stood when its outcome was decided
    grid: pl.DataFrame  # `cutoff_grid` of `then`
    sample: pl.DataFrame  # the scatter's sample of `then` (it shows no answers)
    capacity: points.CapacityTable | None  # of `grid` (answers do not move it)
    mark: int


# The views kept for the next answer to update: this filter's and the one before (each holds
# two frames of every lead, so no more).
_NEWEST_KEPT = 2
_NEWEST_LOCK = threading.Lock()


@st.cache_resource(show_spinner=False)
def _newest() -> dict[tuple[object, ...], _MqlView]:
    """The newest view of each filter (store, leads revision, model, day, filters, steps),
    which the next answer updates instead of counting every lead again; a cache itself, so
    clearing Streamlit's caches clears it too."""
    return {}


# More answers than this since the newest view (a bulk of answers from another session) are
# read whole, as on a first open.
_FEW_ANSWERS = 5_000


@st.cache_resource(max_entries=4, show_spinner=False)
def _mql_view(
    path: str,
    revisions: tuple[int, int],
    model: Model,
    today: date,
    sources: tuple[str, ...],
    owners: tuple[str, ...],
    created: tuple[date | None, date | None],
    steps: scales.Steps,
) -> _MqlView:
    shown = (path, revisions[0], model, today, sources, owners, created, steps)
    kept = _newest()
    with _NEWEST_LOCK:
        newest = kept.get(shown)
    changed = None
    if newest is not None:
        with store.opened(path) as db:
            mark = store.answers_mark(db)  # read first: the answers below include all up to it
            changed = store.answers_since(db, newest.mark)
    if newest is not None and changed is not None and changed.height <= _FEW_ANSWERS:
        view = _MqlView(
            leads=sal.laid_over(newest.leads, changed),
            then=sal.laid_over(newest.then, changed),
            grid=cutoffs.answered_grid(newest.grid, newest.then, changed, steps),
            sample=newest.sample,
            capacity=newest.capacity,
            mark=mark,
        )
    else:
        (now, now_mark), (then, then_mark) = (
            _answered_marked(path, revisions, model, day) for day in (today, None)
        )
        # The two frames may hold answers of two reads: the earlier mark is true of both (the
        # next answer then lays again what one of them has, which changes nothing).
        mark = min(now_mark, then_mark)
        now = cutoffs.filter_leads(now, sources, owners, *created)
        then = cutoffs.filter_leads(then, sources, owners, *created)
        grid = cutoffs.cutoff_grid(then, steps)
        view = _MqlView(
            leads=now,
            then=then,
            grid=grid,
            sample=cutoffs.scatter_sample(then),
            capacity=points.capacity_table(grid, steps),
            mark=mark,
        )
    with _NEWEST_LOCK:
        if shown not in kept or kept[shown].mark <= view.mark:
            kept.pop(shown, None)  # the newest last, so the oldest goes first
            kept[shown] = view
        while len(kept) > _NEWEST_KEPT:
            kept.pop(next(iter(kept)))
    return view


@explained
def mql_view(
    version: int,
    sources: Sequence[str],
    owners: Sequence[str],
    created: tuple[date | None, date | None],
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, points.CapacityTable | None]:
    """The filtered leads scored today (the sales queue), and their cutoff grid, scatter
    sample and capacity table scored as each lead stood when its outcome was decided (the
    back-test): a few hundred milliseconds over a million leads, so built once per filter.
    """
    key = (tuple(sources), tuple(owners), created)
    rev = revisions().lead_frames
    view = _mql_view(str(db_path()), rev, model(version), clock.today(), *key, slider_steps())
    return view.leads, view.grid, view.sample, view.capacity
