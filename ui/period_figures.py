"""The Stages page's figures for one period: closed, open and weighted pipeline, open deals
without a value counted as $0, at the median won value or from an uploaded price list, and the
deals weighed by their own probability, which can be cleared.

Apart from the page because it is one fragment (the period selector reruns only it) with its
own upload and write; it takes the pipeline's deals and stages as parameters.
"""

from __future__ import annotations

import polars as pl
import streamlit as st
from streamlit.elements.lib.column_types import ColumnConfig

from funnel import charts, importers, stages, store
from funnel.views import stages as view
from ui.messages import as_text, show_error
from ui.shell import who
from ui.stage_editor import write_and_restart
from ui.widgets import choice, column_config, session


def _price_list() -> tuple[pl.DataFrame, str] | None:
    """The price list uploaded to value open deals by their name, with its name; None before one."""
    upload = st.file_uploader("Price list (product, list price)", ["csv", "xlsx"], key="stages_prices")
    if upload is None:
        return None
    try:
        prices, problems = importers.price_list(importers.read_table(upload.getvalue(), upload.name))
    except importers.ImportRejectedError as e:
        show_error(e)
        return None
    for problem in problems:
        st.error(as_text(problem))
    return prices, upload.name


def _own_probabilities(own: pl.DataFrame, columns: dict[str, ColumnConfig | str | None]) -> None:
    """The deals of the period weighed by their own probability, and the buttons that clear it
    for those picked or for all, so they are weighed by their stage's."""
    st.dataframe(own, hide_index=True, column_config=columns, key="stages_own_probabilities")
    named = view.own_probability_labels(own)
    clear = st.multiselect(
        "Deals to weigh by their stage's probability",
        list(named),
        format_func=named.__getitem__,
        key="stages_clear_own",
    )
    left, right = st.columns(2)
    some = left.button("Clear their own %", key="stages_clear_own_some", disabled=not clear)
    if some or right.button(f"Clear all {own.height:,}", key="stages_clear_own_all"):
        chosen = clear if some else own["id"].to_list()
        write_and_restart(
            "Own probabilities cleared", lambda db: store.clear_deal_probabilities(db, chosen, who())
        )


@st.fragment
def figures_for_period(deals: pl.DataFrame, stage_frame: pl.DataFrame) -> None:
    """The period selector reruns only this part of the page."""
    columns = column_config(view.TABLE_COLUMNS)
    st.subheader("Figures")
    periods = stages.period_options(deals)
    if notice := view.start_from_link(session(), st.query_params, "stages_period", periods, "period"):
        st.warning(as_text(notice))
    period = st.selectbox(
        "Period (open deals by expected close, closed deals by close date)", periods, key="stages_period"
    )
    st.query_params["period"] = period
    shown = stages.in_period(deals, period)
    unvalued, median = stages.open_without_value(shown), stages.median_won_value(deals)
    line = stages.unvalued_line(unvalued, None)
    choices = stages.fill_choices(median)
    how = choice("Open deals without a value", choices, "stages_fill") if unvalued else "none"
    if unvalued and how == "median" and median is not None:
        shown, line = stages.fill_open_values(shown, median), stages.unvalued_line(unvalued, median)
    elif unvalued and how == "prices" and (prices := _price_list()) is not None:
        shown, unmatched = stages.fill_from_price_list(shown, prices[0])
        valued = unvalued - stages.open_without_value(shown)
        line = stages.price_list_line(valued, unmatched, prices[1])
    figures = stages.pipeline_figures(shown, stage_frame)
    for col, (label, value) in zip(st.columns(3), figures.headline(), strict=True):
        col.metric(label, value)
    if line:
        st.caption(line)
    st.altair_chart(charts.stage_value_chart(figures.by_stage))
    st.dataframe(figures.table(), hide_index=True, column_config=columns, width="content")
    own = stages.own_probability_deals(stages.in_period(deals, period))
    st.caption(stages.own_probability_caption(own.height))
    if own.height:
        _own_probabilities(own, columns)
