"""Which store is open, and the frames read from it, cached for every session.

Frames are cached with `st.cache_resource` keyed on (store path, store revision): a write
anywhere bumps the revision, so every session sees every saved change on its next rerun, and a
million-lead frame is shared, never pickled per hit. Lead frames are keyed on the revision of
the last write that changed leads, so a decision or a stage save does not reload them, and
sales' answers to MQLs are laid over them on their own revision, so an answer does not either.
The revisions are read once per run (or fragment rerun) and read anew after a write
(`forget_revisions`), so building every cache key costs one connection, not one per frame.
Callers must not mutate what they get. Connections are opened per use and never cached: a rerun
may run on another thread.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import ParamSpec, TypeVar

import polars as pl
import streamlit as st
from sqlite_utils import Database
from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from funnel import (
    backtest,
    calibration,
    clock,
    formulas,
    funnels,
    health,
    points,
    sal,
    scales,
    scoring,
    store,
)
from funnel import forecast as fc
from funnel.models import Rule
from ui import messages

_log = logging.getLogger("funnel")
P = ParamSpec("P")
R = TypeVar("R")
Model = tuple[tuple[Rule, ...], float]


def db_path() -> Path:
    """`--db PATH` after `streamlit run serve.py --`, else `FUNNEL_DB`, else data/funnel.db."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--db")
    args, _ = parser.parse_known_args(sys.argv[1:])
    return Path(args.db) if args.db else store.default_path()


@contextmanager
def failures_explained(stop: bool = True) -> Iterator[None]:
    """A failure of the store itself (read-only file, full disk, a table dropped by another
    program) shows a sentence saying what to do instead of a traceback, its detail goes to the
    server log, and the page (or fragment) stops there unless `stop` is False. Any other error
    is left to Streamlit, which the config tells to show a short message only
    (`client.showErrorDetails = "none"`) while it logs the traceback."""
    try:
        yield
    except Exception as error:
        message = store.failure_message(error, db_path())
        if message is None:
            raise
        _log.warning("store failure on a page: %s", error, exc_info=error)
        st.error(messages.as_text(message), icon=":material/error:")
        if stop:
            st.stop()


def explained(read: Callable[P, R]) -> Callable[P, R]:
    """`read` with its store failures explained (see `failures_explained`)."""

    @functools.wraps(read)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with failures_explained():
            return read(*args, **kwargs)

    return wrapper


@contextmanager
def connection(stop: bool = True) -> Iterator[Database]:
    """The store, for one block; a file that is not a funnel store is named and left untouched,
    a failing store explained (see `failures_explained`, which `stop` is passed to)."""
    try:
        with failures_explained():
            db = store.connect(db_path())
    except store.NotAFunnelStoreError as error:
        messages.show_error(error)
        st.stop()
    try:
        with failures_explained(stop):
            yield db
    finally:
        db.close()


# --- the revisions every cache key is built from, read once per run ---------------------------


@dataclass(frozen=True)
class Revisions:
    """The store's revision (any write), the leads' (imports, restores) and sales' answers'."""

    store: int
    leads: int
    answers: int

    @property
    def lead_frames(self) -> tuple[int, int]:
        """What lead frames are keyed on: the leads' revision and the answers'."""
        return self.leads, self.answers


_THIS_RUN = "ui_revisions_this_run"


def _run() -> object | None:
    """Something new on every run and fragment rerun of this session, or None outside one (or
    on a Streamlit without it: then the revisions are read on every call, as before): the
    coordinator of the run's parallel fragments, which `ScriptRunContext.reset` makes anew."""
    ctx = get_script_run_ctx()
    return getattr(ctx, "parallel_coordinator", None)


def read_revisions(db: Database) -> Revisions:
    """The revisions as `db` holds them now, kept as this run's (the sidebar reads them on the
    connection it opens anyway, so a page's cache keys cost no connection of their own)."""
    read = Revisions(store.revision(db), store.leads_revision(db), store.answers_revision(db))
    if (run := _run()) is not None:
        st.session_state[_THIS_RUN] = (run, read)
    return read


def revisions() -> Revisions:
    """This run's revisions: read on the first call of a run, then the same for the rest of it."""
    kept = st.session_state.get(_THIS_RUN)
    if kept is not None and kept[0] is _run():
        return kept[1]  # type: ignore[no-any-return]
    with connection() as db:
        return read_revisions(db)


def forget_revisions() -> None:
    """After a write: what the rest of this run reads is keyed on the revisions it made."""
    st.session_state.pop(_THIS_RUN, None)


def revision() -> int:
    return revisions().store


# --- frames ------------------------------------------------------------------------------------


# Two entries: the frame every session uses, and the one before it while sessions catch up.
@st.cache_resource(max_entries=2, show_spinner="Loading leads…")
def _leads(path: str, leads_rev: int) -> store.Leads:
    with store.opened(path) as db:
        return store.named_leads(db)


# Keyed on both revisions: a write to leads (an import, a restore) may change answers too.
@st.cache_resource(max_entries=2, show_spinner=False)
def _answers(path: str, leads_rev: int, answers_rev: int) -> tuple[pl.DataFrame, int]:
    """Every answer, and the audit line they include every answer up to (read first)."""
    with store.opened(path) as db:
        mark = store.answers_mark(db)
        return store.sal_answers(db), mark


@st.cache_resource(max_entries=2, show_spinner=False)
def _score_scales(path: str, leads_rev: int) -> dict[str, scales.ScoreScale]:
    with store.opened(path) as db:
        return store.score_scales(db)


@explained
def score_scales() -> dict[str, scales.ScoreScale]:
    """The scales the store's ready-made scores came in on (written with the leads)."""
    return _score_scales(str(db_path()), revisions().leads)


def slider_steps() -> scales.Steps:
    """The cutoffs the MQL sliders can take: whole points, or a file's own finer steps."""
    return scales.slider_steps(score_scales())


@st.cache_resource(max_entries=8)
def _table(path: str, rev: int, name: str, pipeline_id: int | None) -> pl.DataFrame:
    with store.opened(path) as db:
        reader = {"deals": store.deals, "stages": store.stages, "history": store.stage_history}
        return reader[name](db, pipeline_id)


@explained
def lead(lead_id: int) -> pl.DataFrame:
    """One lead as it is now (no row when there is none): read alone, not out of all leads."""
    with connection() as db:
        return store.leads(db, lead_id)


@explained
def deals(pipeline_id: int | None = None) -> pl.DataFrame:
    return _table(str(db_path()), revision(), "deals", pipeline_id)


@explained
def stages(pipeline_id: int | None = None) -> pl.DataFrame:
    return _table(str(db_path()), revision(), "stages", pipeline_id)


@explained
def stage_history(pipeline_id: int | None = None) -> pl.DataFrame:
    return _table(str(db_path()), revision(), "history", pipeline_id)


@st.cache_resource(max_entries=4, show_spinner="Scoring leads…")
def _undated(path: str, leads_rev: int, model: Model) -> pl.DataFrame:
    """`scoring.undated_scores` of every lead, once for both days a lead is scored on, kept
    beside the store under the leads' token: a restarted server reads them back (0.3 s at ten
    million leads) instead of scoring every lead again (2.9 s)."""
    name = formulas.name((scoring,), model)
    return store.derived(
        Path(path),
        _leads(path, leads_rev),
        f"scores-{name}",
        lambda leads: scoring.undated_scores(leads, *model),
    )


@st.cache_resource(max_entries=4, show_spinner="Scoring leads…")
def _scored(
    path: str, leads_rev: int, rules: tuple[Rule, ...], half_life_days: float, today: date | None
) -> pl.DataFrame:
    """Leads scored with today's decay, or (`today` None) each as it stood when its outcome
    was decided (`scoring.decided_on`), the back-test's scores."""
    leads = _leads(path, leads_rev).frame
    undated = _undated(path, leads_rev, (rules, half_life_days))
    if today is None:
        return leads.with_columns(undated.get_column("fit"), undated.get_column("interest"))
    points = undated.select(scoring.POINT_COLUMNS)
    return scoring.score_leads(leads, rules, half_life_days, today, points)


@st.cache_resource(max_entries=4, show_spinner=False)
def _answered_marked(
    path: str, revisions: tuple[int, int], model: Model, today: date | None
) -> tuple[pl.DataFrame, int]:
    """The scored leads with sales' answers as they are now, and the audit line those answers
    are read up to: after an answer, the answers are laid over the cached scores instead of
    every lead being reloaded and rescored."""
    scored, leads = _scored(path, revisions[0], *model, today), _leads(path, revisions[0])
    if leads.answers == revisions[1]:  # a first read: the leads hold every answer already
        with store.opened(path) as db:
            mark = store.answers_mark(db)  # read first: the answers it covers are older still
            if store.answers_revision(db) == leads.answers:
                return scored, mark
    answers, mark = _answers(path, *revisions)
    return sal.laid_over(scored, answers), mark


def _answered(path: str, revisions: tuple[int, int], model: Model, today: date | None) -> pl.DataFrame:
    return _answered_marked(path, revisions, model, today)[0]


@st.cache_resource(max_entries=8, show_spinner=False)
def _read_model(path: str, rev: int, version: int | None) -> Model:
    with store.opened(path) as db:
        version = store.latest_model_version(db) if version is None else version
        if version is None:
            return (), 0.0
        return tuple(store.rules(db, version)), store.half_life(db, version)


def model(version: int | None) -> Model:
    """The rules and half-life of model `version` (the latest when None), read once per store
    revision."""
    return _read_model(str(db_path()), revision(), version)


@explained
def scored_leads(version: int | None = None) -> pl.DataFrame:
    """All leads scored with model `version` (the latest when None), scored once per version.

    Keyed on the rules themselves, so a slider move never rescores and a saved model does.
    """
    return scored_with(*model(version))


@explained
def backtest_leads(version: int | None = None) -> pl.DataFrame:
    """All leads scored with model `version` as each stood when its outcome was decided."""
    return _answered(str(db_path()), revisions().lead_frames, model(version), None)


@explained
def scored_with(rules: tuple[Rule, ...], half_life_days: float) -> pl.DataFrame:
    """All leads scored with rules not saved yet (the MQL page's draft, to show crossings)."""
    return _answered(str(db_path()), revisions().lead_frames, (rules, half_life_days), clock.today())


@st.cache_resource(max_entries=2, show_spinner="Learning points from outcomes…")
def _points_fit(
    path: str, leads_rev: int, model: Model, today: date, steps: scales.Steps
) -> points.PointsFit | None:
    return points.fit_points(_leads(path, leads_rev).frame, *model, today, steps)


def points_fit(version: int) -> points.PointsFit | None:
    """Points learned from outcomes for model `version`: fit once per lead revision and model,
    since a fit on a million leads takes about a second."""
    return _points_fit(str(db_path()), revisions().leads, model(version), clock.today(), slider_steps())


@st.cache_resource(max_entries=4, show_spinner=False)
def _health(
    path: str,
    rev: int,
    revisions: tuple[int, int],
    model: Model | None,
    today: date,
    pipeline_id: int | None,
    with_deals: bool,
) -> str | None:
    scored = None if model is None else _answered(path, revisions, model, today)
    deals = (
        (_table(path, rev, "deals", pipeline_id), _table(path, rev, "history", pipeline_id))
        if with_deals
        else None
    )
    return health.line(health.measure(scored, deals))


def data_health(
    version: int | None = None,
    pipeline_id: int | None = None,
    leads: bool = True,
    deals: bool = True,
    where: DeltaGenerator | None = None,
) -> None:
    """The page's one line under its title on what limits its figures (nothing when all is
    well): its `leads` scored with model `version` (the latest when None), its `deals` of
    `pipeline_id` (all when None), drawn `where` (a place kept under the title, when the
    page draws its figures first). Measured once per store revision."""
    read = revisions()
    chosen = model(version) if leads else None
    line = _health(
        str(db_path()), read.store, read.lead_frames, chosen, clock.today(), pipeline_id, deals
    )
    if line:
        (where or st).caption(line)


# --- the forecast's and the calibration's measurements ------------------------------------------


@st.cache_resource(max_entries=4, show_spinner="Counting leads…")
def _funnel_levels(
    path: str, revisions: tuple[int, int], model: Model, cutoff: tuple[float, float], today: date
) -> pl.DataFrame:
    """`funnels.funnel_levels` of the leads scored today at `cutoff`, kept beside the store for
    these leads, answers, model, cutoff and day: a restarted server measures the funnel
    without reading the leads (3 s at ten million leads)."""
    name = formulas.name((scoring, funnels), model, cutoff, today, revisions[1])

    def count() -> tuple[dict[str, pl.DataFrame], str | None]:
        scored = _answered(path, revisions, model, today)
        levels = funnels.funnel_levels(scoring.with_quadrants(scored, *cutoff))
        return {"levels": levels}, _leads(path, revisions[0]).token

    with store.opened(path) as db:
        return store.kept(db, f"funnel-{name}", ("levels",), count)["levels"]


@st.cache_resource(max_entries=8, show_spinner="Measuring the funnel…")
def _measured(
    path: str,
    rev: Revisions,
    window: tuple[date, date],
    period: fc.Period,
    pipeline: int | None,
    today: date,
) -> tuple[fc.Baseline, pl.DataFrame | None]:
    with store.opened(path) as db:
        fit, interest, version = scoring.agreed_cutoff(store.decisions(db))
    model = _read_model(path, rev.store, version)
    levels = _funnel_levels(path, rev.lead_frames, model, (fit, interest), today)
    chosen = None
    if pipeline is not None:
        chosen = (
            _table(path, rev.store, "stages", pipeline),
            _table(path, rev.store, "history", pipeline),
            _table(path, rev.store, "deals", None),
        )
    deals = _table(path, rev.store, "deals", pipeline)
    return fc.measure_view(levels, deals, today, window, period, chosen)


def measured(
    window: tuple[date, date], period: fc.Period, pipeline: int | None, today: date
) -> tuple[fc.Baseline, pl.DataFrame | None]:
    """The baseline and the chosen pipeline's funnel, measured once per store revision, its
    MQLs counted at the agreed cutoff."""
    return _measured(str(db_path()), revisions(), window, period, pipeline, today)


@st.cache_resource(max_entries=4, show_spinner="Back-testing the forecast…")
def _backtested(
    path: str, rev: int, pipeline: int | None, quarters: int, today: date
) -> backtest.Backtest:
    deals, stage_rows, history = (
        _table(path, rev, name, pipeline) for name in ("deals", "stages", "history")
    )
    return backtest.forecast_backtest(deals, stage_rows, history, today, quarters)


def backtested(pipeline: int | None, quarters: int, today: date) -> backtest.Backtest:
    """The forecast back-test, run once per store revision, pipeline and number of quarters."""
    return _backtested(str(db_path()), revision(), pipeline, quarters, today)


@st.cache_resource(max_entries=4, show_spinner="Checking the probabilities…")
def _checked(path: str, rev: int, pipeline_id: int, split: date) -> calibration.Calibration:
    deals_, history = deals(pipeline_id), stage_history(pipeline_id)
    return calibration.calibration(deals_, stages(pipeline_id), history, split)


def checked(pipeline_id: int, split: date) -> calibration.Calibration:
    """Manual vs history probabilities on deals closed after `split`, once per store revision."""
    return _checked(str(db_path()), revision(), pipeline_id, split)
