"""MQL threshold: marketing and sales agree where the MQL cutoff sits, on real numbers."""

from datetime import date

import polars as pl
import streamlit as st

import ui
from funnel import charts, scoring, store

SLIDERS = {"F": "mql_fit_cutoff", "I": "mql_interest_cutoff"}  # link parameter -> widget key
BANT_LABELS = {"budget": "Budget", "authority": "Authority", "need": "Need", "timeline": "Timeline"}
EDITOR = {
    "axis": st.column_config.SelectboxColumn("Axis", options=["fit", "interest"], required=True),
    "field": st.column_config.SelectboxColumn("Field", options=scoring.SCORABLE_FIELDS, required=True),
    "condition": st.column_config.SelectboxColumn(
        "Condition", options=scoring.CONDITIONS, required=True
    ),
    "value": st.column_config.TextColumn("Value", help="in: CEO, CTO · between: 50..199 · at_least: 5"),
    "points": st.column_config.NumberColumn("Points", min_value=-100, max_value=100, step=1),
    "label": st.column_config.TextColumn("Label"),
}


def pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def restore(decision: dict[str, float]) -> None:
    """Put a recorded decision back on the sliders (and its model version)."""
    st.session_state["mql_fit_cutoff"] = int(decision["fit_cutoff"])
    st.session_state["mql_interest_cutoff"] = int(decision["interest_cutoff"])
    st.session_state["mql_version"] = int(decision["model_version"])


def from_link(param: str, allowed: range | list[int]) -> int | None:
    wanted = st.query_params.get(param, "")
    return int(wanted) if wanted.isdigit() and int(wanted) in allowed else None


def open_view(versions: list[int], agreed: pl.DataFrame) -> None:
    """Sliders and version: as this session left them, else from the link (?F=&I=&v=), else the
    last agreed cutoff. Streamlit forgets a widget's value on another page, hence the `_kept` copy.
    """
    last = agreed.row(0, named=True) if agreed.height else {"fit_cutoff": 60, "interest_cutoff": 40}
    for param, key, column in (
        ("F", SLIDERS["F"], "fit_cutoff"),
        ("I", SLIDERS["I"], "interest_cutoff"),
    ):
        if key not in st.session_state:
            kept, linked = st.session_state.get(f"{key}_kept"), from_link(param, range(101))
            st.session_state[key] = next(v for v in (kept, linked, int(last[column])) if v is not None)
    if st.session_state.get("mql_version") not in versions:
        kept = st.session_state.get("mql_version_kept")
        st.session_state["mql_version"] = next(
            v for v in (kept if kept in versions else None, from_link("v", versions), versions[0]) if v
        )


st.title("MQL threshold")
with ui.connection() as db:
    models = store.model_versions(db)
    agreed = store.decisions(db)
versions = models["version"].to_list()
if not versions:
    st.info("No scoring model yet: add leads and rules on the Data page, or reset the demo data.")
    st.stop()
pending = st.session_state.pop("mql_saved_version", None)
if pending is not None:
    st.session_state["mql_version"] = pending
open_view(versions, agreed)
labels = {
    r["version"]: f"v{r['version']} · {r['created_at'][:10]} · {r['created_by']} · {r['rules']} rules"
    for r in models.iter_rows(named=True)
}
version = st.selectbox("Scoring model version", versions, key="mql_version", format_func=labels.get)
st.session_state["mql_version_kept"] = version
st.caption(
    "**MQL = fit ≥ F and interest ≥ I** (both inclusive). Fit and interest are each on 0..100: the "
    "points of the rules that fire, placed between the fewest (0) and the most (100) points the "
    "model allows, rules on one field counted once; interest points halve every half-life since the "
    "lead's last activity. Leads imported with ready-made scores keep them."
)
scored = ui.scored_leads(version)

left, mid, right = st.columns(3)
sources = left.multiselect(
    "Lead source", scored["source"].drop_nulls().unique().sort(), key="mql_source"
)
owners = mid.multiselect("Owner", scored["owner"].drop_nulls().unique().sort(), key="mql_owner")
first, last = scored["created"].min(), scored["created"].max()
period = right.date_input("Created between", (first, last), key="mql_period")
start, end = (period[0], period[1]) if isinstance(period, tuple) and len(period) == 2 else (None, None)
leads = scoring.filter_leads(scored, sources, owners, start, end)
grid = scoring.cutoff_grid(leads)


@st.fragment
def threshold(leads: pl.DataFrame, grid: pl.DataFrame, version: int) -> None:
    c1, c2 = st.columns(2)
    f = c1.slider("Fit cutoff F", 0, 100, key="mql_fit_cutoff")
    i = c2.slider("Interest cutoff I", 0, 100, key="mql_interest_cutoff")
    st.session_state["mql_fit_cutoff_kept"], st.session_state["mql_interest_cutoff_kept"] = f, i
    st.query_params.update({"F": str(f), "I": str(i), "v": str(version)})
    if st.session_state["mql_version"] != version:
        st.rerun(scope="app")
    quadrants = scoring.quadrant_counts(grid, f, i)
    bt = scoring.mql_backtest(grid, f, i)
    mqls = int(quadrants["leads"][0])
    sal = scoring.sal_summary(grid, f, i)
    share = mqls / leads.height if leads.height else None
    figures = [
        ("MQLs", f"{mqls:,}", f"{pct(share)} of {leads.height:,} leads"),
        ("Conversion in MQLs", pct(bt.conversion_in), f"outside: {pct(bt.conversion_out)}"),
        ("Conversions kept", pct(bt.recall), f"{bt.mql_conversions:,} of {bt.conversions:,}"),
        ("Lift", "–" if bt.lift is None else f"{bt.lift:.2f}×", f"base rate {pct(bt.base_rate)}"),
        ("Conversions lost", f"{bt.conversions_lost:,}", "below the cutoff"),
        ("SALs", f"{sal.accepted:,}", f"SAL rate {pct(sal.sal_rate)} · {sal.rejected:,} rejected"),
    ]
    for column, (label, value, note) in zip(st.columns(3) + st.columns(3), figures, strict=True):
        column.metric(label, value, note, delta_color="off", delta_arrow="off")
    st.caption(f"Back-test on the {bt.known:,} leads with a known outcome (converted or lost).")
    sample = scoring.scatter_sample(leads)
    st.altair_chart(charts.mql_quadrant_chart(sample, quadrants, f, i, leads.height))
    st.altair_chart(charts.mql_curve_chart(scoring.backtest_curve(grid, f, i)))

    st.subheader("Capacity")
    a, b = st.columns(2)
    reps = a.number_input("Sales reps", 1, 500, 4, key="mql_reps")
    per_rep = b.number_input("Leads a rep can work per week", 1, 1000, 10, key="mql_leads_per_rep")
    weekly = scoring.mql_per_week(grid, f, i, int(reps), int(per_rep))
    cap = scoring.capacity_summary(weekly)
    if cap.weeks_over:
        st.warning(
            f"This cutoff would have sent more MQLs than sales can work ({cap.capacity:,} a week) "
            f"in {cap.weeks_over} of {cap.weeks} weeks; the busiest week had {cap.peak:,}."
        )
    else:
        st.success(f"Within capacity every week: at most {cap.peak:,} MQLs against {cap.capacity:,}.")
    st.altair_chart(charts.mql_capacity_chart(weekly))

    st.subheader("Sales acceptance (SAL)")
    queue = scoring.mqls_for_sales(leads, f, i)
    if queue.is_empty():
        st.info("No MQL at this cutoff.")
    else:
        with st.form("mql_sal_form"):
            names = {
                r["id"]: f"#{r['id']} {r['job_title']} at {r['company']} · fit {r['fit']:.0f} · "
                f"interest {r['interest']:.0f} · {r['sal_status'] or 'not reviewed'}"
                for r in queue.iter_rows(named=True)
            }
            lead_id = st.selectbox("MQL", list(names), key="mql_sal_lead", format_func=names.get)
            cols = st.columns(4)
            bant = {
                k: cols[n].checkbox(v, key=f"mql_bant_{k}")
                for n, (k, v) in enumerate(BANT_LABELS.items())
            }
            accept, reject = st.columns(2)
            status = "accepted" if accept.form_submit_button("Accept (SAL)") else None
            status = "rejected" if reject.form_submit_button("Reject") else status
        if status:
            with ui.connection() as db:
                store.record_sal(db, lead_id, status, bant, who=ui.who())
            st.toast(f"Lead #{lead_id} {status}.")
            st.rerun(scope="app")

    st.subheader("Record the agreed cutoff")
    with st.form("mql_decision_form", clear_on_submit=True):
        d1, d2 = st.columns(2)
        decided_on = d1.date_input("Date", date.today(), key="mql_decided_on")
        agreed_by = d2.text_input(
            "Who agreed", key="mql_agreed_by", placeholder="Anna (marketing), Ben (sales)"
        )
        note = st.text_input("Note", key="mql_note")
        if st.form_submit_button(f"Record F = {f}, I = {i}, model v{version}"):
            try:
                with ui.connection() as db:
                    store.record_decision(db, f, i, version, str(decided_on), agreed_by, note, ui.who())
                st.toast("Decision recorded.")
            except store.StoreError as e:
                ui.show_error(e)
    with ui.connection() as db:
        history = store.decisions(db)
    for d in history.iter_rows(named=True):
        text, button = st.columns([5, 1])
        text.text(
            f"{d['decided_on']} · F {d['fit_cutoff']:g} · I {d['interest_cutoff']:g} · "
            f"model v{d['model_version']} · agreed by {d['agreed_by']}"
            + (f" · {d['note']}" if d["note"] else "")
        )
        button.button("Put on sliders", key=f"mql_restore_{d['id']}", on_click=restore, args=(d,))


threshold(leads, grid, version)

st.subheader("Scoring model")
with ui.connection() as db:
    saved_rules, saved_half_life = store.rules(db, version), store.half_life(db, version)
half_life = st.number_input(
    "Interest half-life (days, 0 = no decay)",
    0.0,
    3650.0,
    saved_half_life,
    key=f"mql_half_life_{version}",
)
table = st.data_editor(
    scoring.rules_frame(saved_rules),
    column_config=EDITOR,
    num_rows="dynamic",
    hide_index=True,
    key=f"mql_rules_{version}",
)
draft, errors = scoring.parse_rules(pl.DataFrame(table))
for error in errors:
    st.error(error)
if not errors and (draft != saved_rules or half_life != saved_half_life):
    moved = scoring.crossings(
        scored,
        ui.scored_with(tuple(draft), half_life),
        st.session_state["mql_fit_cutoff"],
        st.session_state["mql_interest_cutoff"],
    )
    st.info(
        f"With this edit, {moved.entered:,} leads would enter the MQL and {moved.left:,} would leave it "
        "(all leads, at the current sliders)."
    )
    if st.button(
        f"Save as a new model version (based on v{version})", key="mql_save_model", type="primary"
    ):
        try:
            with ui.connection() as db:
                new = store.save_model(db, draft, half_life, based_on=version, who=ui.who())
            st.session_state["mql_saved_version"] = new
            st.toast(f"Saved as model v{new}.")
            st.rerun()
        except store.StoreError as e:
            ui.show_error(e)

st.subheader("Why does a lead score what it scores?")
lead_id = st.number_input("Lead id", 1, step=1, value=int(scored["id"][0]), key="mql_explain_lead")
lead = scored.filter(pl.col("id") == lead_id)
if lead.is_empty():
    st.warning(f"No lead has the id {lead_id}.")
else:
    raw = ui.leads().filter(pl.col("id") == lead_id)
    st.text(f"Fit {lead['fit'][0]:.1f} · interest {lead['interest'][0]:.1f}")
    st.dataframe(scoring.explain(raw, saved_rules, saved_half_life, date.today()), hide_index=True)
