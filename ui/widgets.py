"""The widgets every page shares: typed column configs, the import report, confirmations,
choices, progress, and the one way to write to the store (`attempt`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import streamlit as st
from sqlite_utils import Database
from streamlit.delta_generator import DeltaGenerator
from streamlit.elements.lib.column_types import ColumnConfig

from funnel import importers, store
from ui import frames
from ui.messages import as_text, show_error

T = TypeVar("T")
K = TypeVar("K")

# Every refusal the core words for a user: the store's (a stale version, nothing to save, a file
# that is not a store, a failing disk), an import's, and a value the core's validation refuses
# (`ValueError`, of which `planning.ForecastError` and `clock.ClockError` are kinds).
CORE_ERRORS: tuple[type[Exception], ...] = (store.StoreError, importers.ImportRejectedError, ValueError)
_TOAST_KEY = "ui_toast"


@dataclass(frozen=True)
class Done(Generic[T]):
    """A write that went through, with what it returned (a new id, a version, a name)."""

    value: T


def attempt(
    write: Callable[[Database], T],
    toast: str | Callable[[T], str],
    rerun: bool = False,
    then: Callable[[T], object] | None = None,
) -> Done[T] | None:
    """Run one write on the store; a refusal is shown where the page called it, else it is toasted.

    Every core error (`CORE_ERRORS`) is shown as its sentence, never a traceback, and None is
    returned: "nothing to save" as a note, anything else as an error. On success `then` gets
    what `write` returned (to move a selection, clear a form), and the toast (a text, or made
    from that value) shows now, or, with `rerun`, after the rerun this starts.
    """
    try:
        with frames.connection() as db:
            value = write(db)
    except store.NothingToSaveError as error:
        st.info(as_text(str(error)), icon=":material/info:")
        return None
    except CORE_ERRORS as error:
        show_error(error)
        return None
    finally:
        frames.forget_revisions()  # a write moves them: what this run reads next is read anew
    if then is not None:
        then(value)
    message = toast(value) if callable(toast) else toast
    if rerun:
        st.session_state[_TOAST_KEY] = message
        st.rerun()
    st.toast(message, icon=":material/check:")
    return Done(value)


def show_toast() -> None:
    """The toast of a write whose rerun drew this run (`attempt(..., rerun=True)`), once."""
    if message := st.session_state.pop(_TOAST_KEY, None):
        st.toast(message, icon=":material/check:")


def session() -> MutableMapping[str, Any]:
    """This session's state, typed as the cores take it (Streamlit's proxy also allows int keys)."""
    return cast(MutableMapping[str, Any], st.session_state)


def column_config(
    columns: Mapping[str, str | Mapping[str, Any] | None],
) -> dict[str, ColumnConfig | str | None]:
    """Streamlit column configs from a core's plain column description.

    Cores never import streamlit, so they describe columns as data: None hides a column, a
    string only renames it, a mapping names the kind ("number", "text" or "select") and the
    settings that column type takes (label, format, help, min_value, options...).
    """
    kinds: dict[str, Callable[..., ColumnConfig]] = {
        "number": st.column_config.NumberColumn,
        "text": st.column_config.TextColumn,
        "select": st.column_config.SelectboxColumn,
    }
    configs: dict[str, ColumnConfig | str | None] = {}
    for name, spec in columns.items():
        if spec is None or isinstance(spec, str):
            configs[name] = spec
        else:
            settings = dict(spec)
            configs[name] = kinds[str(settings.pop("kind"))](**settings)
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


def confirm_dialog(
    title: str,
    text: str,
    confirm: str,
    action: Callable[[Database, Any], str],
    key: str,
    details: str | None = None,
) -> None:
    """Ask before a step that replaces or reverts data, while session state holds `key`_pending.

    The pending step lives in session state so the dialog stays open across the rerun its own
    button causes; closing it (X, Esc, Cancel) forgets it. On `confirm`, `action` runs as one
    `attempt` on the pending value and returns the toast shown after the rerun; a refusal is
    shown in the dialog. `details` (shown as typed) follow the question; the buttons' keys are
    `key`_confirm and `key`_cancel.
    """
    pending = f"{key}_pending"

    def forget() -> None:
        st.session_state.pop(pending, None)

    @st.dialog(title, on_dismiss=forget)
    def dialog(value: Any) -> None:
        st.write(text)
        if details is not None:
            st.text(details)
        left, right = st.columns(2)
        if left.button(confirm, type="primary", key=f"{key}_confirm"):
            attempt(
                lambda db: action(db, value), lambda toast: toast, rerun=True, then=lambda _: forget()
            )
        if right.button("Cancel", key=f"{key}_cancel"):
            forget()
            st.rerun()

    if pending in st.session_state:
        dialog(st.session_state[pending])


def pick(
    label: str,
    labels: Mapping[K, str],
    key: str,
    where: DeltaGenerator | None = None,
    **settings: Any,
) -> K:
    """A selectbox over a core's labelled choices (in `where`, the page by default): the user
    reads the label, the page gets the choice's key. `labels` holds at least one choice (with
    none, Streamlit answers None)."""
    box = st.selectbox if where is None else where.selectbox
    return cast(K, box(label, list(labels), format_func=labels.__getitem__, key=key, **settings))


def choice(label: str, labels: Mapping[K, str], key: str) -> K:
    """One of a core's labelled choices as a horizontal radio: the user reads the label, the page
    gets the choice's key, typed as the core's dict types it (a `Literal` kind, say)."""
    return st.radio(label, list(labels), format_func=labels.__getitem__, horizontal=True, key=key)


def progress(text: str, scale: float = 1.0) -> Callable[[float, str], None]:
    """A progress bar starting at `text`, and the callback a core's long step reports to: the
    fraction times `scale` (a step reporting up to 0.5 fills the bar with 2), capped at full."""
    bar = st.progress(0.0, text=text)

    def report(fraction: float, message: str) -> None:
        bar.progress(min(scale * fraction, 1.0), text=message)

    return report
