"""The MQL threshold page as plain data: session keys, link parameters, labels, captions, help texts."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from funnel.cutoffs import (
    Backtest,
    CapacitySummary,
    SalSummary,
    backtest_curve,
    capacity_summary,
    mql_backtest,
    mql_per_week,
    quadrant_counts,
    sal_summary,
)
from funnel.rules import CONDITIONS, SCORABLE_FIELDS, VALUE_HELP
from funnel.scales import WHOLE_STEPS, ScoreScale, Steps, cutoff_text, in_file_units, snap
from funnel.scoring import AXES, Crossings, agreed_cutoff
from funnel.text import excerpt

TOTALS_HEADINGS = {
    "axis": "Axis",
    "points": "Points counted",
    "fewest": "Fewest the model allows",
    "most": "Most the model allows",
    "score": "Score (0..100)",
}
TOTALS_CAPTION = (
    "Score = (points counted − fewest) / (most − fewest) × 100, held within 0..100; a ready-made "
    "score from an import has no points and is used as it came."
)


# --- the MQL page's view, as plain data ------------------------------------------------------

# (query parameter, session key, decision column) of each slider: a link, a session and a
# recorded decision all name the same two cutoffs.
#
# Streamlit 1.67's own `bind="query-params"` and `persist_state` (widget arguments) were tried
# against this and not taken. `bind` names the URL parameter after the widget key (links sent
# so far say ?F=70&I=60&v=2, the keys are `mql_fit_cutoff`...), drops a bound parameter while
# the widget shows its default (here the agreed cutoff: a link sent today would open on
# whatever is agreed next month), and drops a bad value silently where `link_notices` names
# it. `persist_state="session"` would keep the sliders across pages, but only that part (the
# `_kept` copies); the link would still be read here, so one opening rule would be kept by two
# mechanisms.
MQL_SLIDERS = (("F", "mql_fit_cutoff", "fit_cutoff"), ("I", "mql_interest_cutoff", "interest_cutoff"))


def pct(share: float | None) -> str:
    """A share as a percentage; a dash where nothing was there to measure."""
    return "–" if share is None else f"{share:.1%}"


# A cutoff as a link writes it: 70, or 52.631579 on a file's own steps. No more than 3 + 9
# digits: a 5,000-digit value is not a cutoff.
_CUTOFF_TEXT = re.compile(r"\d{1,3}(\.\d{1,9})?")


def _cutoff_from_link(link: Mapping[str, str], param: str) -> float | None:
    """A link's cutoff only when it is a number from 0 to 100; else it is ignored
    (`link_notices` says so)."""
    wanted = link.get(param, "")
    if not _CUTOFF_TEXT.fullmatch(wanted) or float(wanted) > 100:
        return None
    return float(wanted)


def _version_from_link(link: Mapping[str, str], versions: Sequence[int]) -> int | None:
    """A link's model version only when the store has it; else it is ignored."""
    wanted = link.get("v", "")
    return int(wanted) if wanted.isdigit() and len(wanted) <= 9 and int(wanted) in versions else None


def link_notices(link: Mapping[str, str], versions: Sequence[int]) -> list[str]:
    """One line per cutoff or model version in the link that the page cannot show, naming it,
    so a mistyped link opens on the agreed view with a word instead of silently."""
    cutoff = "a number from 0 to 100"
    read = {
        "F": (cutoff, _cutoff_from_link(link, "F")),
        "I": (cutoff, _cutoff_from_link(link, "I")),
        "v": (
            f"one of the model versions ({', '.join(map(str, versions))})",
            _version_from_link(link, versions),
        ),
    }
    return [
        f"Link value {param}={excerpt(link[param])} is not {what}; ignored."
        for param, (what, value) in read.items()
        if param in link and value is None
    ]


def opening_view(
    state: Mapping[str, Any],
    link: Mapping[str, str],
    versions: Sequence[int],
    agreed: pl.DataFrame,
    saved: int | None = None,
    steps: Steps = WHOLE_STEPS,
) -> dict[str, float]:
    """Session values to set so the page opens where the user expects.

    Sliders and version as this session left them, else from the link (?F=&I=&v=), else the
    last agreed cutoff; a version just saved wins. Streamlit forgets widget values on another
    page, hence the `_kept` copies. Each cutoff is put on the sliders' `steps` (the lowest at or
    above it), also one the session holds from before a new import changed them. Only keys
    that must change are returned.
    """
    fit_cutoff, interest_cutoff, _ = agreed_cutoff(agreed)
    last = {"fit_cutoff": fit_cutoff, "interest_cutoff": interest_cutoff}
    updates: dict[str, float] = {}
    for (param, key, column), on in zip(MQL_SLIDERS, steps, strict=True):
        choices = (
            state.get(key),
            state.get(f"{key}_kept"),
            _cutoff_from_link(link, param),
            last[column],
        )
        wanted = snap(next(v for v in choices if v is not None), on)
        if state.get(key) != wanted:
            updates[key] = wanted
    current: Any = saved if saved is not None else state.get("mql_version")
    if current not in versions:
        kept = state.get("mql_version_kept")
        picks = (kept if kept in versions else None, _version_from_link(link, versions), versions[0])
        current = next(v for v in picks if v is not None)
    if saved is not None or current != state.get("mql_version"):
        updates["mql_version"] = current
    return updates


def kept_cutoffs(fit_cutoff: float, interest_cutoff: float) -> dict[str, float]:
    """Copies of the sliders that `opening_view` reads back after a visit to another page."""
    cutoffs = (fit_cutoff, interest_cutoff)
    return {f"{key}_kept": cutoff for (_, key, _), cutoff in zip(MQL_SLIDERS, cutoffs, strict=True)}


def view_link(fit_cutoff: float, interest_cutoff: float, version: int) -> dict[str, str]:
    """The query parameters `opening_view` reads, so the address bar is a link to this view."""
    cutoffs = (fit_cutoff, interest_cutoff)
    link = {param: str(cutoff) for (param, _, _), cutoff in zip(MQL_SLIDERS, cutoffs, strict=True)}
    return {**link, "v": str(version)}


def slider_cutoffs(state: Mapping[str, Any]) -> tuple[float, float]:
    """The fit and interest cutoffs the sliders hold now."""
    fit_cutoff, interest_cutoff = (state[key] for _, key, _ in MQL_SLIDERS)
    return fit_cutoff, interest_cutoff


def restored_view(decision: Mapping[str, Any], steps: Steps = WHOLE_STEPS) -> dict[str, float]:
    """Session values that put a recorded decision back on the sliders (on their steps), with
    its model version."""
    view = {
        key: snap(decision[column], on) for (_, key, column), on in zip(MQL_SLIDERS, steps, strict=True)
    }
    return {**view, "mql_version": int(decision["model_version"])}


def version_labels(models: pl.DataFrame) -> dict[int, str]:
    """One line per model version, so the picker says who made it, when and how big it is."""
    return {
        m[
            "version"
        ]: f"v{m['version']} · {m['created_at'][:10]} · {m['created_by']} · {m['rules']} rules"
        for m in models.iter_rows(named=True)
    }


def period_bounds(period: object) -> tuple[date | None, date | None]:
    """The date picker's range, or no bounds while the user has picked only its first day."""
    if isinstance(period, tuple) and len(period) == 2:
        return period[0], period[1]
    return None, None


def threshold_figures(
    quadrants: pl.DataFrame, bt: Backtest, sal: SalSummary, total: int
) -> list[tuple[str, str, str]]:
    """The six headline figures of a cutoff as (label, value, note), in the order shown."""
    mql = quadrants.row(0, named=True)
    return [
        ("MQLs", f"{mql['leads']:,}", f"{pct(mql['share'])} of {total:,} scored leads"),
        ("Conversion in MQLs", pct(bt.conversion_in), f"outside: {pct(bt.conversion_out)}"),
        ("Conversions kept", pct(bt.recall), f"{bt.mql_conversions:,} of {bt.conversions:,}"),
        ("Lift", "–" if bt.lift is None else f"{bt.lift:.2f}×", f"base rate {pct(bt.base_rate)}"),
        ("Conversions lost", f"{bt.conversions_lost:,}", "below the cutoff"),
        ("SALs", f"{sal.accepted:,}", f"SAL rate {pct(sal.sal_rate)} · {sal.rejected:,} rejected"),
    ]


# What each headline figure counts, as its help icon says it (keyed by `threshold_figures` label).
FIGURE_HELP = {
    "MQLs": "Leads with fit ≥ F and interest ≥ I, among all the leads the filters keep.",
    "Conversion in MQLs": (
        "Of the MQLs whose outcome is known (converted or lost), the share that converted; "
        "below it, the same share among the leads outside the MQL."
    ),
    "Conversions kept": (
        "Of all the leads that converted, the share this cutoff would have sent to sales as "
        "MQLs: the buyers it keeps."
    ),
    "Lift": (
        "Conversion in the MQLs divided by the conversion of every lead with a known outcome: "
        "2.00× means an MQL is twice as likely to convert as an average lead."
    ),
    "Conversions lost": "Leads that converted although this cutoff would have kept them from sales.",
    "SALs": (
        "MQLs at this cutoff that sales accepted (sales-accepted leads); the SAL rate is their "
        "share of the MQLs, and rejected ones are counted beside it."
    ),
}
_SLIDER_HELP = {
    "fit": "The least fit (0..100, from job title, company, size, country...) an MQL has.",
    "interest": "The least interest (0..100, from visits, e-mails, downloads...) an MQL has.",
}
CAPACITY_HELP = {
    "reps": "Sales reps who accept or reject MQLs.",
    "per_rep": "How many new MQLs one rep can work in a week: reps × this is the weekly capacity.",
}


@dataclass(frozen=True)
class CutoffView:
    """What the sliders' cutoff shows: counts per quadrant, headline figures and the back-test."""

    quadrants: pl.DataFrame
    figures: list[tuple[str, str, str]]
    caption: str
    curve: pl.DataFrame
    scored: int


def cutoff_view(
    grid: pl.DataFrame, fit_cutoff: float, interest_cutoff: float, steps: Steps = WHOLE_STEPS
) -> CutoffView:
    """Everything one cutoff shows, from `cutoff_grid`, so a slider move recomputes it in one call.

    Every figure is over the scored leads the grid holds, and says so.
    """
    quadrants = quadrant_counts(grid, fit_cutoff, interest_cutoff)
    bt = mql_backtest(grid, fit_cutoff, interest_cutoff)
    sal = sal_summary(grid, fit_cutoff, interest_cutoff)
    scored = int(grid["leads"].sum())
    return CutoffView(
        quadrants=quadrants,
        figures=threshold_figures(quadrants, bt, sal, scored),
        caption=(
            f"Back-test on the {bt.known:,} scored leads with a known outcome (converted or lost), "
            "each scored as it stood when its outcome was decided: interest decayed to its "
            "conversion date, or to its last activity for a lost lead. The quadrants, the weekly "
            "capacity and the SAL counts use the same scores (open leads at their last activity); "
            "the sales queue below uses today's decay, as the MQLs are today."
        ),
        curve=backtest_curve(grid, fit_cutoff, interest_cutoff, steps),
        scored=scored,
    )


def file_units(
    fit_cutoff: float, interest_cutoff: float, scales: Mapping[str, ScoreScale]
) -> str | None:
    """The cutoffs in the file's own units, for scores imported on another scale than 0..100.

    A whole slider point is 1/100 of the scale, so on 0..20 a file value of 16 is exactly 80.

    >>> file_units(80, 40, {"fit": ScoreScale("Profile Score", 0.0, 20.0, 1.0)})
    "fit ≥ 80, i.e. 'Profile Score' ≥ 16 in the file's units (0..20)."
    """
    parts = []
    for axis, cutoff in (("fit", fit_cutoff), ("interest", interest_cutoff)):
        scale = scales.get(axis)
        if scale is not None and (scale.low, scale.high) != (0.0, 100.0):
            parts.append(
                f"{axis} ≥ {cutoff_text(cutoff)}, i.e. '{scale.column}' ≥ "
                f"{in_file_units(cutoff, scale):g} in the file's units ({scale.low:g}..{scale.high:g})"
            )
    return "; ".join(parts) + "." if parts else None


def slider_label(axis: str, scale: ScoreScale | None) -> str:
    """A slider's label; one on a file's own steps says whose units it moves in."""
    name = "Fit cutoff F" if axis == "fit" else "Interest cutoff I"
    return name if scale is None else f"{name}, in '{scale.column}' ({scale.low:g}..{scale.high:g})"


def slider_help(axis: str, scale: ScoreScale | None) -> str:
    """A slider's help; one on a file's own steps speaks in the file's units, as it moves."""
    if scale is None:
        return _SLIDER_HELP[axis]
    return (
        f"The least '{scale.column}' an MQL has, in the file's units ({scale.low:g}.."
        f"{scale.high:g}); the figures count it as {axis} on 0..100."
    )


def unscored_line(leads: int, scored: int) -> str | None:
    """The MQL page's one line on the leads it leaves out, or None when every lead is scored.

    >>> unscored_line(9_237, 5_019)
    '4,218 of 9,237 leads have no score: left out of these figures.'
    """
    if scored >= leads:
        return None
    return f"{leads - scored:,} of {leads:,} leads have no score: left out of these figures."


def capacity_message(cap: CapacitySummary) -> tuple[bool, str]:
    """Whether sales could work every week's MQLs, and the sentence that says so."""
    if cap.weeks_over:
        return False, (
            f"This cutoff would have sent more MQLs than sales can work ({cap.capacity:,} a "
            f"week) in {cap.weeks_over} of {cap.weeks} weeks; the busiest had {cap.peak:,}."
        )
    return True, f"Within capacity every week: at most {cap.peak:,} MQLs against {cap.capacity:,}."


def capacity_check(
    grid: pl.DataFrame, fit_cutoff: float, interest_cutoff: float, reps: int, leads_per_rep: int
) -> tuple[pl.DataFrame, bool, str]:
    """Weekly MQLs against what sales can work, whether every week fits, and the sentence."""
    weekly = mql_per_week(grid, fit_cutoff, interest_cutoff, reps, leads_per_rep)
    within, message = capacity_message(capacity_summary(weekly))
    return weekly, within, message


def sal_choices(queue: pl.DataFrame) -> dict[int, str]:
    """Each MQL of `mqls_for_sales` by id, labelled with what sales needs to pick it."""
    return {
        q["id"]: f"#{q['id']} {q['job_title']} at {q['company']} · fit {q['fit']:.0f} · "
        f"interest {q['interest']:.0f} · {q['sal_status'] or 'not reviewed'}"
        for q in queue.iter_rows(named=True)
    }


def decision_line(decision: Mapping[str, Any]) -> str:
    """One recorded decision as a line of the history; empty parts (no note) are left out."""
    parts = [
        decision["decided_on"],
        f"F {decision['fit_cutoff']:g}",
        f"I {decision['interest_cutoff']:g}",
    ]
    parts += [
        f"model v{decision['model_version']}",
        f"agreed by {decision['agreed_by']}",
        decision["note"],
    ]
    return " · ".join(p for p in parts if p)


def sal_recorded(lead_id: int, status: str) -> str:
    """The toast after sales accepts or rejects an MQL."""
    return f"Lead #{lead_id} {status}."


def decision_button(fit_cutoff: float, interest_cutoff: float, version: int) -> str:
    """The record button names the cutoff and model, so nobody records a value they did not see."""
    return f"Record F = {cutoff_text(fit_cutoff)}, I = {cutoff_text(interest_cutoff)}, model v{version}"


def older_version_note(version: int, latest: int) -> str | None:
    """A warning while the editor shows an older model: a save then conflicts with the latest."""
    if version == latest:
        return None
    return f"You are looking at v{version}; a save builds on it only while it is the latest."


def save_button(version: int) -> str:
    """The save button says which version the new one builds on."""
    return f"Save as a new model version (based on v{version})"


def lead_scores(scored: pl.DataFrame, lead_id: int, version: int) -> tuple[bool, str]:
    """Whether `lead_id` is among the scored leads, and its scores or the sentence saying not."""
    lead = scored.select("id", "fit", "interest").filter(pl.col("id") == lead_id)  # 3 columns, not all
    if lead.is_empty():
        return False, f"No lead has the id {lead_id}."
    if lead["fit"][0] is None or lead["interest"][0] is None:
        return True, f"{UNSCORED} (model v{version})"
    return True, f"Fit {lead['fit'][0]:.1f} · interest {lead['interest'][0]:.1f} (model v{version})"


def crossings_message(moved: Crossings, fit_cutoff: float, interest_cutoff: float) -> str:
    """What a model edit would do to the MQL at the sliders' cutoff, before anyone saves it."""
    return (
        f"With this edit, {moved.entered:,} leads would enter the MQL and {moved.left:,} would "
        f"leave it (all leads, at F = {cutoff_text(fit_cutoff)}, I = {cutoff_text(interest_cutoff)})."
    )


# The cutoff rule in the words of `is_mql`, `score_leads` and `decay_factor`, kept beside them
# so the page's explanation changes when the scoring does.
MQL_DEFINITION = (
    "**MQL = fit ≥ F and interest ≥ I** (both inclusive). Fit and interest are each on 0..100: the "
    "points of the rules that fire, placed between the fewest (0) and the most (100) points the "
    "model allows, rules on one field counted once; interest points halve every half-life since the "
    "lead's last activity. Leads imported with ready-made scores keep them; a lead with no score "
    "in the file and no value in any field the rules read is unscored, left out of every figure."
)

# Headings of `explain`'s columns as the meeting reads them.
EXPLAIN_HEADINGS = {
    "axis": "Axis",
    "rule": "Rule",
    "points": "Points in the model",
    "counted": "Counted today (after decay)",
}

# The rules editor's columns, as plain data for `ui.column_config`.
EDITOR_COLUMNS: dict[str, str | dict[str, Any] | None] = {
    "axis": {"kind": "select", "label": "Axis", "options": AXES, "required": True},
    "field": {"kind": "select", "label": "Field", "options": SCORABLE_FIELDS, "required": True},
    "condition": {"kind": "select", "label": "Condition", "options": CONDITIONS, "required": True},
    "value": {"kind": "text", "label": "Value", "help": VALUE_HELP},
    "points": {"kind": "number", "label": "Points", "min_value": -100, "max_value": 100, "step": 1},
    "label": {"kind": "text", "label": "Label", "width": "medium"},
}
NO_MODEL = (
    "This store has no scoring model yet (it was made empty, not from the demo data). Start "
    "from the default rules: fit from job title, company size, industry and country, interest "
    "from activity that counts half as much every 30 days; then change them here."
)
START_DEFAULT = "Start from the default rules"
UNSCORED = (
    "No score in the file, and no value in any field the rules read: this lead is unscored, left "
    "out of the MQL figures and the SAL queue."
)
NO_LEADS = "No leads yet: import them on the Data page, or reset the demo data."
NO_MQL = "No MQL at this cutoff."
DECISION_RECORDED = "Decision recorded."
MODEL_SAVED = "Scoring model saved as a new version."
