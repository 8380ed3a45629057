"""The MQL page's frames for one filter, cached, and moved by sales' answers instead of being
counted again: the queue scored today, the back-test's scores, their cutoff grid, the
scatter's sample and the capacity table.

The figures (grid, sample, how many leads) are also kept beside the store (`store.kept`):
a restarted server draws them, and the filters, without reading the leads (at ten million
leads the leads and their scores take 3 s); the queue below them waits for the leads.

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

from funnel import clock, cutoffs, formulas, points, sal, scales, scoring, store
from funnel.views import mql_leads
from funnel.views.mql_leads import FilterOptions, LeadSpan
from ui.frames import (
    Model,
    _answered_marked,
    _leads,
    db_path,
    explained,
    model,
    revisions,
    slider_steps,
)


@dataclass(frozen=True)
class _MqlView:
    """The MQL page's frames for one filter, with sales' answers up to audit line `mark`."""

    leads: pl.DataFrame  # scored today: the sales queue
    then: pl.DataFrame  # scored as each lead stood when its outcome was decided
    grid: pl.DataFrame  # `cutoff_grid` of `then`
    sample: pl.DataFrame  # the scatter's sample of `then` (it shows no answers)
    capacity: points.CapacityTable | None  # of `grid` (answers do not move it)
    mark: int
    token: str | None  # the leads' token when counted from them, None when moved by answers


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
            token=None,
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
            token=_leads(path, revisions[0]).token,
        )
    with _NEWEST_LOCK:
        if shown not in kept or kept[shown].mark <= view.mark:
            kept.pop(shown, None)  # the newest last, so the oldest goes first
            kept[shown] = view
        while len(kept) > _NEWEST_KEPT:
            kept.pop(next(iter(kept)))
    return view


@dataclass(frozen=True)
class MqlFigures:
    """What the MQL page's figures and charts read for one filter: the back-test's cutoff
    grid, the scatter's sample, the capacity table, and how many leads the filter keeps."""

    grid: pl.DataFrame
    sample: pl.DataFrame
    capacity: points.CapacityTable | None
    span: LeadSpan


_FIGURE_PARTS = ("grid", "sample", "span")


@st.cache_resource(max_entries=4, show_spinner="Counting leads…")
def _figures(
    path: str,
    revisions: tuple[int, int],
    model: Model,
    today: date,
    sources: tuple[str, ...],
    owners: tuple[str, ...],
    created: tuple[date | None, date | None],
    steps: scales.Steps,
) -> MqlFigures:
    """The figures of `_mql_view`, read from beside the store when they were kept for these
    leads, answers, model, filter and steps; else counted there (and kept, when counted from
    the leads rather than moved by an answer). They take no date: the grid counts the leads
    as each stood when its outcome was decided."""
    name = formulas.name((scoring, cutoffs), model, sources, owners, created, steps, revisions[1])

    def count() -> tuple[dict[str, pl.DataFrame], str | None]:
        view = _mql_view(path, revisions, model, today, sources, owners, created, steps)
        span = mql_leads.span_frame(LeadSpan.of(view.then))
        return {"grid": view.grid, "sample": view.sample, "span": span}, view.token

    with store.opened(path) as db:
        parts = store.kept(db, f"mql-{name}", _FIGURE_PARTS, count)
    return MqlFigures(
        grid=parts["grid"],
        sample=parts["sample"],
        capacity=points.capacity_table(parts["grid"], steps),
        span=mql_leads.span_of_frame(parts["span"]),
    )


@explained
def mql_figures(
    version: int,
    sources: Sequence[str],
    owners: Sequence[str],
    created: tuple[date | None, date | None],
) -> MqlFigures:
    """The figures of the filtered leads, scored as each lead stood when its outcome was
    decided (the back-test): a few hundred milliseconds over a million leads, so counted once
    per filter, and on a restarted server read from beside the store."""
    key = (tuple(sources), tuple(owners), created)
    rev = revisions().lead_frames
    return _figures(str(db_path()), rev, model(version), clock.today(), *key, slider_steps())


@explained
def mql_queue(
    version: int,
    sources: Sequence[str],
    owners: Sequence[str],
    created: tuple[date | None, date | None],
) -> pl.DataFrame:
    """The filtered leads scored today, with sales' answers: the SAL queue's leads."""
    key = (tuple(sources), tuple(owners), created)
    rev = revisions().lead_frames
    view = _mql_view(str(db_path()), rev, model(version), clock.today(), *key, slider_steps())
    return view.leads


@st.cache_resource(max_entries=2, show_spinner="Reading leads…")
def _filter_options(path: str, leads_rev: int) -> FilterOptions:
    """`FilterOptions` of every lead, kept beside the store under the leads' token (sales'
    answers do not change them)."""

    def count() -> tuple[dict[str, pl.DataFrame], str | None]:
        leads = _leads(path, leads_rev)
        return {"options": mql_leads.options_frame(FilterOptions.of(leads.frame))}, leads.token

    with store.opened(path) as db:
        parts = store.kept(db, "mql-options", ("options",), count)
    return mql_leads.options_of_frame(parts["options"])


@explained
def filter_options() -> FilterOptions:
    """What the MQL page's filters offer, and how many leads there are, without reading the
    leads on a restarted server."""
    return _filter_options(str(db_path()), revisions().leads)
