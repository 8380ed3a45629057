"""What every page shares: which store is open, cached frames, the sidebar, the user's name.

Frames are cached with `st.cache_resource` keyed on (store path, store revision): a write
anywhere bumps the revision, so every session sees every saved change on its next rerun, and a
million-lead frame is shared, never pickled per hit. Lead frames are keyed on the revision of
the last write that changed leads, so a decision or a stage save does not reload them, and
sales' answers to MQLs are laid over them on their own revision, so an answer does not either.
Callers must not mutate what they get. Connections are opened per use and never cached: a rerun
may run on another thread.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import unquote

import polars as pl
import streamlit as st
from sqlite_utils import Database
from streamlit.navigation.page import StreamlitPage
from streamlit.runtime.pages_manager import PagesManager

from funnel import clock, demo, health, importers, points, scoring, store
from funnel.models import Rule

_log = logging.getLogger("funnel")
P = ParamSpec("P")
R = TypeVar("R")

_VIA_APP = "ui_page_run_via_app"
_LEFT_LEGACY = "ui_left_legacy_pages"


def run_page(page: StreamlitPage) -> None:
    """Run the page app.py navigated to, marked as run through the app (see `through_app`)."""
    st.session_state[_VIA_APP] = True
    page.run()


def through_app() -> None:
    """Make sure this page runs inside app.py; every page calls it before it draws anything.

    Until some run calls st.navigation, Streamlit treats an app beside a pages/ folder as a
    legacy multipage app and runs a page's script on its own, without app.py: a link opened
    first on a fresh server (/mql?F=70, sent in the meeting) then showed the page without the
    sidebar or the wide layout. A run that did not come through `run_page` turns the legacy mode
    off and starts again through app.py, on the same page. Every session checks its own run
    (five people opening the link at once each started in the legacy mode), and the check runs
    when a page runs, never while this module is imported: a rerun raised mid-import left the
    module half-built for the sessions that opened at the same moment (`module 'ui' has no
    attribute 'sidebar'`). Once per session: AppTest puts every run back in the legacy mode, and
    a rerun on each would drop the button click that started it.
    """
    if not st.session_state.pop(_VIA_APP, False) and not st.session_state.get(_LEFT_LEGACY):
        st.session_state[_LEFT_LEGACY] = True
        PagesManager.uses_pages_directory = False
        st.rerun()


def db_path() -> Path:
    """`--db PATH` after `streamlit run app.py --`, else `FUNNEL_DB`, else data/funnel.db."""
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
        st.error(as_text(message), icon=":material/error:")
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
        show_error(error)
        st.stop()
    try:
        with failures_explained(stop):
            yield db
    finally:
        db.close()


def revision() -> int:
    with connection() as db:
        return store.revision(db)


def _lead_revisions() -> tuple[int, int]:
    """The revisions of the last write to leads and of sales' last answer: lead frames' keys."""
    with connection() as db:
        return store.leads_revision(db), store.answers_revision(db)


# Two entries: the frame every session uses, and the one before it while sessions catch up.
@st.cache_resource(max_entries=2, show_spinner="Loading leads…")
def _leads(path: str, leads_rev: int) -> pl.DataFrame:
    with store.opened(path) as db:
        return store.leads(db)


# Keyed on both revisions: a write to leads (an import, a restore) may change answers too.
@st.cache_resource(max_entries=2, show_spinner=False)
def _answers(path: str, leads_rev: int, answers_rev: int) -> pl.DataFrame:
    with store.opened(path) as db:
        return store.sal_answers(db)


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
def _scored(
    path: str, leads_rev: int, rules: tuple[Rule, ...], half_life_days: float, today: date | None
) -> pl.DataFrame:
    """Leads scored with today's decay, or (`today` None) each as it stood when its outcome
    was decided (`scoring.decided_on`), the back-test's scores."""
    at = scoring.decided_on() if today is None else today
    return scoring.score_leads(_leads(path, leads_rev), rules, half_life_days, at)


@st.cache_resource(max_entries=4, show_spinner=False)
def _answered(
    path: str,
    revisions: tuple[int, int],
    model: tuple[tuple[Rule, ...], float],
    today: date | None,
) -> pl.DataFrame:
    """The scored leads with sales' answers as they are now: after an answer, the answers are
    laid over the cached scores instead of every lead being reloaded and rescored."""
    scored = _scored(path, revisions[0], *model, today)
    return scoring.with_answers(scored, _answers(path, *revisions))


def _model(version: int | None) -> tuple[tuple[Rule, ...], float]:
    """The rules and half-life of model `version` (the latest when None)."""
    with connection() as db:
        version = store.latest_model_version(db) if version is None else version
        if version is None:
            return (), 0.0
        return tuple(store.rules(db, version)), store.half_life(db, version)


@explained
def scored_leads(version: int | None = None) -> pl.DataFrame:
    """All leads scored with model `version` (the latest when None), scored once per version.

    Keyed on the rules themselves, so a slider move never rescores and a saved model does.
    """
    return scored_with(*_model(version))


@st.cache_resource(max_entries=4, show_spinner=False)
def _mql_view(
    path: str,
    revisions: tuple[int, int],
    model: tuple[tuple[Rule, ...], float],
    today: date,
    sources: tuple[str, ...],
    owners: tuple[str, ...],
    created: tuple[date | None, date | None],
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    leads = scoring.filter_leads(_answered(path, revisions, model, today), sources, owners, *created)
    then = scoring.filter_leads(_answered(path, revisions, model, None), sources, owners, *created)
    return leads, scoring.cutoff_grid(then), scoring.scatter_sample(then)


@explained
def mql_view(
    version: int,
    sources: Sequence[str],
    owners: Sequence[str],
    created: tuple[date | None, date | None],
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The filtered leads scored today (the sales queue), and their cutoff grid and scatter
    sample scored as each lead stood when its outcome was decided (the back-test), built once
    per filter.

    Building the grid and the sample over a million leads takes a few hundred milliseconds:
    cached, a rerun of the MQL page for any other widget does not pay it again.
    """
    key = (tuple(sources), tuple(owners), created)
    return _mql_view(str(db_path()), _lead_revisions(), _model(version), clock.today(), *key)


@explained
def backtest_leads(version: int | None = None) -> pl.DataFrame:
    """All leads scored with model `version` as each stood when its outcome was decided."""
    return _answered(str(db_path()), _lead_revisions(), _model(version), None)


@explained
def scored_with(rules: tuple[Rule, ...], half_life_days: float) -> pl.DataFrame:
    """All leads scored with rules not saved yet (the MQL page's draft, to show crossings)."""
    return _answered(str(db_path()), _lead_revisions(), (rules, half_life_days), clock.today())


@st.cache_resource(max_entries=2, show_spinner="Learning points from outcomes…")
def _points_fit(
    path: str, leads_rev: int, model: tuple[tuple[Rule, ...], float], today: date
) -> points.PointsFit | None:
    return points.fit_points(_leads(path, leads_rev), *model, today)


def points_fit(version: int) -> points.PointsFit | None:
    """Points learned from outcomes for model `version`: fit once per lead revision and model,
    since a fit on a million leads takes about a second."""
    return _points_fit(str(db_path()), _lead_revisions()[0], _model(version), clock.today())


@st.cache_resource(max_entries=4, show_spinner=False)
def _health(
    path: str,
    rev: int,
    revisions: tuple[int, int],
    model: tuple[tuple[Rule, ...], float] | None,
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
) -> None:
    """The page's one line under its title on what limits its figures (nothing when all is
    well): its `leads` scored with model `version` (the latest when None), its `deals` of
    `pipeline_id` (all when None). Measured once per store revision."""
    model = _model(version) if leads else None
    line = _health(
        str(db_path()), revision(), _lead_revisions(), model, clock.today(), pipeline_id, deals
    )
    if line:
        st.caption(line)


def who() -> str:
    """The name this session signs its changes with (typed once in the sidebar)."""
    return str(st.session_state.get("who", "")).strip() or "anonymous"


def as_text(typed: str) -> str:
    """Text from a user or a file (names, notes, cell values), escaped so Markdown shows it as typed.

    Streamlit also turns bare web addresses and e-mails (`http://…`, `www.…`, `ann@acme.com`)
    into links, escaped or not, so a name or a link parameter could put a working link on the
    page: an invisible word joiner (U+2060) before `//`, `@` and inside `www.` keeps them text.
    """
    defused = re.sub(r"(//|@|(?<=w)ww\.)", "\u2060\\1", typed, flags=re.IGNORECASE)
    return re.sub(r"([\\`*_{}\[\]()#+\-.!<>|~$])", r"\\\1", defused)


def show_error(error: Exception) -> None:
    st.error(as_text(str(error)), icon=":material/error:")


@st.dialog("Reset demo data?")
def _confirm_reset() -> None:
    with connection() as db:
        plan = demo.reset_plan(db)
    st.write(as_text(plan.question()))
    typed = ""
    if plan.outside_data:
        typed = st.text_input(f"Type {plan.store_name} to confirm", key="sidebar_reset_name")
    left, right = st.columns(2)
    if left.button("Reset", type="primary", key="sidebar_reset_confirm"):
        try:
            with connection() as db:
                kept = demo.reset_to_demo(db, who(), typed)
        except store.StoreError as error:
            show_error(error)
        else:
            st.session_state.clear()
            st.session_state["sidebar_reset_done"] = (
                f"Reset to demo data; the store as it was is kept as {kept}."
            )
            st.rerun()
    if right.button("Cancel", key="sidebar_reset_cancel"):
        st.rerun()


WHO_COOKIE = "funnel_who"


def cookie_script(name: str) -> str:
    """The one script the app writes: it stores `name` in the name cookie. The name goes in as a
    JSON string literal with `<` escaped, so no name can close the script or add markup."""
    literal = json.dumps(name).replace("<", "\\u003c")
    return (
        f"<script>document.cookie = '{WHO_COOKIE}=' + encodeURIComponent({literal})"
        " + '; path=/; max-age=31536000; samesite=strict';</script>"
    )


def _remember_who() -> None:
    """Keep the typed name in a cookie of this browser, so a reload does not silently sign the
    next changes "anonymous"; the name is a signature for the History, not a login."""
    name = str(st.session_state.get("who", "")).strip()
    st.html(cookie_script(name), unsafe_allow_javascript=True, width=1)  # the name cookie only
    st.session_state["who_remembered"] = st.session_state.get("who", "")


def sidebar() -> None:
    remembered = st.context.cookies.get(WHO_COOKIE)  # not always a str: AppTest mocks the browser
    st.session_state.setdefault("who", unquote(remembered) if isinstance(remembered, str) else "")
    st.session_state.setdefault("who_remembered", st.session_state["who"])
    with st.sidebar:
        st.text_input(
            "Your name",
            key="who",
            placeholder="signs your changes",
            help="Recorded with every change you save (audit trail); this browser remembers it.",
        )
        if st.session_state["who"] != st.session_state["who_remembered"]:
            _remember_who()
        if not st.session_state["who"].strip():
            st.caption("No name typed: changes you save are signed 'anonymous'.")
        st.caption(f"Store: {as_text(str(db_path()))}")
        # A failure here is said in the sidebar, and the page still runs.
        with connection(stop=False) as db:
            counts = store.counts(db)
            st.caption(
                f"{counts['pipelines']:,} pipelines · {counts['deals']:,} deals · "
                f"{counts['leads']:,} leads"
            )
        if done := st.session_state.pop("sidebar_reset_done", None):
            st.toast(as_text(done), icon=":material/check:")
        if st.button("Reset demo data…", key="sidebar_reset"):
            _confirm_reset()


def column_config(columns: dict[str, str | dict[str, object] | None]) -> dict[str, object]:
    """Streamlit column configs from a core's plain column description.

    Cores never import streamlit, so they describe columns as data: None hides a column, a
    string only renames it, a dict names the kind ("number", "text" or "select") and the
    settings that column type takes (label, format, help, min_value, options...).
    """
    kinds = {"number": "NumberColumn", "text": "TextColumn", "select": "SelectboxColumn"}
    configs: dict[str, object] = {}
    for name, spec in columns.items():
        if isinstance(spec, dict):
            settings = dict(spec)
            configs[name] = getattr(st.column_config, kinds[str(settings.pop("kind"))])(**settings)
        else:
            configs[name] = spec
    return configs


def show_report(report: importers.Report, key: str) -> None:
    """An import report as the user reads it: the verdict, what blocks the import, the bad rows as
    a table (`key` names it), then warnings and notes; file text is escaped."""
    (st.success if report.ok else st.error)(as_text(report.summary()))
    for line in report.blocking:
        st.error(as_text(line))
    if not report.problems.is_empty():
        st.dataframe(report.problems, hide_index=True, key=key)
    for line in report.warnings:
        st.warning(as_text(line))
    for line in report.notes:
        st.caption(as_text(line))


def confirm_dialog(title: str, text: str, confirm: str, action: Callable[[Any], str], key: str) -> None:
    """Ask before a step that replaces data, while session state holds `key`_pending.

    The pending step lives in session state so the dialog stays open across the rerun its own
    button causes; closing it (X, Esc, Cancel) forgets it. On `confirm`, `action` gets the pending
    value and returns the toast to show (a refusal, `store.StoreError`, is shown in the dialog);
    the buttons' keys are `key`_confirm and `key`_cancel.
    """
    pending = f"{key}_pending"

    def forget() -> None:
        st.session_state.pop(pending, None)

    @st.dialog(title, on_dismiss=forget)
    def dialog(value: Any) -> None:
        st.write(text)
        left, right = st.columns(2)
        if left.button(confirm, type="primary", key=f"{key}_confirm"):
            try:
                toast = action(value)
            except store.StoreError as error:
                show_error(error)
                return
            forget()
            st.toast(toast, icon=":material/check:")
            st.rerun()
        if right.button("Cancel", key=f"{key}_cancel"):
            forget()
            st.rerun()

    if pending in st.session_state:
        dialog(st.session_state[pending])


def choice(label: str, labels: dict[str, str], key: str) -> str:
    """One of a core's labelled choices as a horizontal radio: the user reads the label, the page
    gets the choice's key."""
    return str(st.radio(label, list(labels), format_func=labels.get, horizontal=True, key=key))


def progress(text: str, scale: float = 1.0) -> Callable[[float, str], None]:
    """A progress bar starting at `text`, and the callback a core's long step reports to: the
    fraction times `scale` (a step reporting up to 0.5 fills the bar with 2), capped at full."""
    bar = st.progress(0.0, text=text)

    def report(fraction: float, message: str) -> None:
        bar.progress(min(scale * fraction, 1.0), text=message)

    return report
