"""The MQL page's scoring-model sections: the default model a store starts from, the rules
editor (an edit shows who would cross the MQL line), points learned from outcomes, and why one
lead scores what it scores.

Apart from the page because each is a section of its own with its own writes; together they are
everything the page does with the model itself, while the page lays out the cutoff it is judged
at. Fragments take what they show as parameters.
"""

from __future__ import annotations

import polars as pl
import streamlit as st
from sqlite_utils import Database

from funnel import clock, points, rules, scoring, store
from funnel.views import mql as view
from ui import frames
from ui.messages import as_text
from ui.shell import who
from ui.widgets import attempt, column_config, pick, session


def start_default(db: Database) -> int:
    """A store made empty, then imported into, starts from the demo's scoring model."""
    defaults, half_life = scoring.DEFAULT_RULES, scoring.DEFAULT_HALF_LIFE_DAYS
    return store.save_model(db, defaults, half_life, None, who(), scoring.DEFAULT_NOTE)


def open_saved(version: int) -> None:
    """Open the model version just saved on the next run."""
    session()["mql_saved_version"] = version


def suggest_points(version: int, f: float, i: float, reps: int, per_rep: int) -> None:
    """Points learned from outcomes beside the current ones, both back-tested on later leads.

    Learned only once the user opens it: the fit takes seconds on a million leads (and
    scikit-learn's import one more), which a first open of the page should not wait for.
    """
    box = st.expander(
        "Suggest points: learned from the leads' outcomes", key="mql_points_open", on_change="rerun"
    )
    if not box.open:
        return
    with box:
        fit = frames.points_fit(version)
        if fit is None:
            st.info("Not enough leads with a known outcome (both converted and lost) to learn from.")
            return
        st.caption(fit.caption())
        columns = column_config(points.TABLE_COLUMNS)
        st.dataframe(fit.table, hide_index=True, column_config=columns, key="mql_points_table")
        compared = points.comparison(fit, f, i, reps, per_rep)
        st.dataframe(compared, hide_index=True, column_config=columns, key="mql_points_compare")
        if st.button("Save the suggested points as a new model version", key="mql_points_save"):
            note = points.saved_note(fit)
            attempt(
                lambda db: store.save_model(
                    db, fit.suggested, store.half_life(db, version), version, who(), note
                ),
                view.MODEL_SAVED,
                rerun=True,
                then=open_saved,
            )


@st.fragment
def model_editor(scored: pl.DataFrame, version: int, latest: int, saved: frames.Model) -> None:
    """Rules and half-life of the open version; an edit shows who would cross the MQL line."""
    saved_rules, saved_half_life = list(saved[0]), saved[1]
    st.subheader("Scoring model")
    if note := view.older_version_note(version, latest):
        st.caption(note)
    half_life = st.number_input(
        "Interest half-life (days, 0 = no decay)",
        0.0,
        3650.0,
        saved_half_life,
        key=f"mql_half_life_{version}",
    )
    table = st.data_editor(
        rules.rules_frame(saved_rules),
        column_config=column_config(view.EDITOR_COLUMNS),
        num_rows="dynamic",
        hide_index=True,
        key=f"mql_rules_{version}",
    )
    draft, errors = rules.parse_rules(pl.DataFrame(table), empty_ok=not saved_rules)
    for error in errors:
        st.error(as_text(error))
    if errors or (draft == saved_rules and half_life == saved_half_life):
        return
    f_now, i_now = view.slider_cutoffs(session())
    moved = scoring.crossings(scored, frames.scored_with(tuple(draft), half_life), f_now, i_now)
    st.info(view.crossings_message(moved, f_now, i_now))
    if st.button(view.save_button(version), key="mql_save_model"):
        attempt(
            lambda db: store.save_model(db, draft, half_life, version, who()),
            view.MODEL_SAVED,
            rerun=True,
            then=open_saved,
        )


@st.fragment
def explainer(scored: pl.DataFrame, version: int, saved: frames.Model) -> None:
    """Why one lead scores what it scores: the rules that fired, in the meeting's own words."""
    st.subheader("Why does a lead score what it scores?")
    left, right = st.columns(2)
    lead_id = left.number_input("Lead id", 1, value=int(scored["id"][0]), key="mql_explain_lead")
    text = right.text_input("Or find it by company or e-mail", key="mql_explain_find")
    if text:
        matches = scoring.find_leads(scored, text)
        if not matches:
            st.info(f"No lead's company or e-mail holds '{as_text(text)}'.")
            return
        lead_id = pick("Lead", matches, key="mql_explain_pick")
    found, line = view.lead_scores(scored, lead_id, version)
    if not found:
        st.warning(as_text(line))
        return
    st.text(line)
    raw = frames.lead(lead_id)
    why = scoring.explain(raw, *saved, clock.today())
    decayed = st.column_config.NumberColumn(view.EXPLAIN_HEADINGS["counted"], format="%.2f")
    st.dataframe(why, hide_index=True, column_config={**view.EXPLAIN_HEADINGS, "counted": decayed})
    totals = scoring.explain_totals(raw, *saved, clock.today())
    st.dataframe(totals, hide_index=True, column_config=view.TOTALS_HEADINGS)
    st.caption(view.TOTALS_CAPTION)
