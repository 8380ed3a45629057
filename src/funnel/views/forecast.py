"""The forecast page as plain data: link parameters, kept sliders, scenarios, labels, captions."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import date
from itertools import pairwise
from typing import Any

import polars as pl

from funnel.forecast import (
    LEVER_LABELS,
    PERIOD_MONTHS,
    RATE_KEYS,
    STEPS,
    Baseline,
    Levers,
    Period,
    add_months,
    full_quarters_window,
    horizon_note,
    period_label,
    period_start,
)
from funnel.funnels import MARKETING_STAGES
from funnel.planning import ReverseFunnel
from funnel.scoring import agreed_cutoff
from funnel.text import excerpt

# --- levers from a link or a saved scenario ---------------------------------------------------


# Finite tops: a slider's range is drawn from its value, and a browser cannot draw past ~1.8e308.
_LIMITS: dict[str, tuple[float, float]] = {
    "leads_per_period": (0.0, 1e9),
    **{k: (0.0, 100.0) for k in RATE_KEYS},
    "deal_value": (0.0, 1e12),
    "cycle_days": (0.0, 3650.0),
}


def levers_from_params(
    params: Mapping[str, object], fallback: Levers, source: str = "scenario"
) -> tuple[Levers, list[str]]:
    """Levers from stored or URL parameters; anything missing or wrong keeps `fallback`'s value.

    A value equal to what `fallback` shows (its rounded `params`) keeps `fallback`'s exact
    value, so untouched sliders reproduce the baseline to the cent. Returns the levers and one
    message per value it could not use, naming the key and what was wrong, so a hand-edited
    link never breaks the page and never fails silently.
    """
    shown = fallback.params()
    values = {
        "leads_per_period": fallback.leads_per_period,
        **dict(zip(RATE_KEYS, fallback.rates, strict=True)),
        "deal_value": fallback.deal_value,
        "cycle_days": fallback.cycle_days,
    }
    problems: list[str] = []
    for key, (low, high) in _LIMITS.items():
        if key not in params:
            continue
        raw = params[key]
        try:
            value = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            problems.append(f"{source} value {key}={excerpt(raw)} is not a number; kept {shown[key]:g}.")
            continue
        if not math.isfinite(value) or not low <= value <= high:
            problems.append(
                f"{source} value {key}={value:g} is outside {low:g}..{high:g}; kept {shown[key]:g}."
            )
            continue
        if value != shown[key]:
            values[key] = value / 100 if key in RATE_KEYS else value
    levers = Levers(
        values["leads_per_period"],
        tuple(values[k] for k in RATE_KEYS),
        values["deal_value"],
        values["cycle_days"],
    )
    return levers, problems


def scenario_params(levers: Levers, period: Period) -> dict[str, float]:
    """What a saved scenario holds: the levers, and the period length their volume is per."""
    return {**levers.params(), "months_per_period": float(PERIOD_MONTHS[period])}


# The saved scenarios' list as the page shows it (keys are `scenario_table` columns).
SCENARIO_COLUMNS: dict[str, str | dict[str, Any] | None] = {
    "name": "Scenario",
    "created_by": "Saved by",
    "created_at": "Saved at",
    "Leads per period": {"kind": "number", "label": "Leads per period", "format": "%,.0f"},
    "Average deal value": {"kind": "number", "label": "Average deal value", "format": "$%,.0f"},
    "Cycle length (days)": {"kind": "number", "label": "Cycle length (days)", "format": "%,.0f"},
    "per": "Leads counted per",
}


def scenario_table(saved: pl.DataFrame) -> pl.DataFrame:
    """Saved scenarios (`store.scenarios`) with their slider values as columns, newest first,
    saved at as `2026-11-23 18:00` (UTC).

    A value a scenario does not hold stays empty: it opens at the baseline's value.
    """
    keys = [*LEVER_LABELS, "months_per_period"]
    values = pl.col("params").str.json_decode(pl.Struct({k: pl.Float64 for k in keys}))
    return (
        saved.select(
            "id",
            "name",
            "created_by",
            pl.col("created_at").str.slice(0, 16).str.replace("T", " "),
            values.alias("params"),
        )
        .unnest("params")
        .with_columns(
            pl.col("months_per_period")
            .replace_strict({1.0: "month", 3.0: "quarter"}, default=None)
            .alias("per")
        )
        .drop("months_per_period")
        .rename(LEVER_LABELS)
    )


def levers_from_json(text: str, fallback: Levers, period: Period) -> tuple[Levers, list[str]]:
    """A saved scenario's params column (JSON text) read back into levers for `period`.

    A scenario saved per quarter and opened per month keeps its volume a year: its leads per
    period are scaled by the ratio of the period lengths.
    """
    try:
        params = json.loads(text)
    except json.JSONDecodeError as e:
        return fallback, [f"The saved scenario cannot be read ({e}); showing the baseline."]
    if not isinstance(params, dict):
        return fallback, ["The saved scenario holds no slider values; showing the baseline."]
    levers, problems = levers_from_params(params, fallback)
    saved_months = params.get("months_per_period")
    if isinstance(saved_months, int | float) and saved_months > 0 and "leads_per_period" in params:
        scale = PERIOD_MONTHS[period] / saved_months
        levers = replace(levers, leads_per_period=levers.leads_per_period * scale)
    return levers, problems


# --- the forecast page's view, as plain data ----------------------------------------------------

# Baseline window choices: label -> number of full quarters measured.
WINDOWS: dict[str, int] = {
    "Last 4 full quarters": 4,
    "Last 2 full quarters": 2,
    "Last full quarter": 1,
    "Last 8 full quarters": 8,
}
PERIODS: dict[str, Period] = {"Quarter": "quarter", "Month": "month"}
BACKTEST_TAB = "How good was it?"
# Slider per lever: label, step, display format.
SLIDERS: dict[str, tuple[str, float, str]] = {
    "leads_per_period": ("Leads per period", 1.0, "%,.0f"),
    **{key: (step, 0.1, "%.1f %%") for key, step in zip(RATE_KEYS, STEPS, strict=True)},
    "deal_value": ("Average deal value", 100.0, "$%,.0f"),
    "cycle_days": ("Median cycle length", 1.0, "%.0f days"),
}
# What each slider moves, as its help icon says it.
LEVER_HELP: dict[str, str] = {
    "leads_per_period": (
        "New leads a period at the top of the funnel. Baseline: the window's leads per period "
        "(one pipeline: its share of them)."
    ),
    **{
        key: f"Of those who reach {a}, the share that goes on to {b}. Baseline: measured over the "
        "window's leads."
        for key, (a, b) in zip(RATE_KEYS, pairwise(MARKETING_STAGES), strict=True)
    },
    "deal_value": "What a won deal brings. Baseline: the mean value of the deals won in the window.",
    "cycle_days": (
        "Days from a lead's arrival to its win, which moves revenue into later periods. Baseline: "
        "the median, creation to win, of the deals won in the window."
    ),
}
FIGURE_HELP: dict[str, str] = {
    "Baseline, whole horizon": (
        "Revenue over every period forecast, at the measured rates: new business from the "
        "funnel plus the open pipeline's weighted value."
    ),
    "Scenario, whole horizon": (
        "The same with the sliders as they are; below it, scenario minus baseline."
    ),
    "Won deals measured": (
        "Deals won in the baseline window, whose mean value and median cycle the baseline uses. The "
        "funnel's Customer count is another population: leads created in the window that "
        "became customers, whenever they won."
    ),
    "Chance to reach the target": (
        "Share of 1,000 simulated horizons whose revenue reaches the target: rates drawn around "
        "the sliders' values by how many leads measured them, each open deal won at its "
        "probability."
    ),
}
RANGE_COLUMNS: dict[str, str | dict[str, Any] | None] = {
    "period": "Period",
    **{
        name: {"kind": "number", "label": label, "format": "$%,.0f", "help": text}
        for name, label, text in (
            ("p10", "P10 (low)", "9 in 10 simulated outcomes are above this"),
            ("p50", "P50 (middle)", "Half the simulated outcomes are above this, half below"),
            ("p90", "P90 (high)", "Only 1 in 10 simulated outcomes is above this"),
        )
    },
}
REVERSE_COLUMNS: dict[str, str | dict[str, Any] | None] = {
    "stage": "Stage",
    "needed": {"kind": "number", "label": "Needed", "format": "localized"},
}
FUNNEL_NOTE = (
    "Leads created in the window, each counted at every stage up to the furthest it reached; "
    "Customer counts those that became customers. Won deals measured, among the figures below, "
    "counts deals won in the window, another population: a deal can be won from a lead of an "
    "earlier window."
)
SENSITIVITY_NOTE = (
    "Revenue over the horizon gained by moving one lever 10 % the right way: 10 % more leads or "
    "deal value, a 10 % shorter cycle, or for a funnel step 10 % fewer lost (a step converting "
    "20 % loses 80 %; losing 72 % instead, it converts 28 %). The step that loses most gains most."
)
# A window that follows the data, for a store whose data ends before today's windows start.
DATA_WINDOW = "Last 4 full quarters of your data"
NO_TARGET = "Set a revenue target above $0 to see the chance of reaching it."


def window_labels() -> list[str]:
    """The baseline windows the page offers: today's full quarters, then the data's own."""
    return [*WINDOWS, DATA_WINDOW]


def data_window(last: date, today: date, quarters: int = 4) -> tuple[date, date]:
    """The `quarters` quarters up to the one holding the data's last date (never past today's
    last full quarter): where old data has its figures, when today's windows hold none."""
    end = min(add_months(period_start(last, "quarter"), 3), period_start(today, "quarter"))
    return add_months(end, -3 * quarters), end


def baseline_window(label: str, today: date, last: date | None) -> tuple[date, date]:
    """The [start, end) a window label measures; the data's window needs the data's last date."""
    if label == DATA_WINDOW and last is not None:
        return data_window(last, today)
    return full_quarters_window(today, WINDOWS.get(label, 4))


def default_window(today: date, last: date | None) -> str:
    """Today's last 4 full quarters, unless all the data ends before they start.

    >>> default_window(date(2026, 11, 23), date(2017, 12, 20))
    'Last 4 full quarters of your data'
    """
    if last is not None and last < full_quarters_window(today)[0]:
        return DATA_WINDOW
    return next(iter(WINDOWS))


def window_label(label: str, today: date, last: date | None) -> str:
    """A window as the picker shows it: the data's window names its quarters.

    >>> window_label(DATA_WINDOW, date(2026, 11, 23), date(2017, 12, 20))
    'Last 4 full quarters of your data: 2017 Q1 to 2017 Q4'
    """
    if label != DATA_WINDOW or last is None:
        return label
    start, end = data_window(last, today)
    first, final = period_label(start, "quarter"), period_label(add_months(end, -3), "quarter")
    return f"{label}: {first} to {final}"


def window_note(baseline: Baseline, label: str, last: date | None) -> str | None:
    """Why a baseline window measures nothing, or None when it holds leads and won deals."""
    missing = [
        what
        for what, count in (
            ("no lead was created", baseline.trials[0]),
            ("no deal was won", baseline.won_deals),
        )
        if not count
    ]
    if not missing:
        return None
    start, end = baseline.window
    note = (
        f"From {start:%d %b %Y} to {end:%d %b %Y} (excluded), {' and '.join(missing)}: the rates, "
        "deal value or cycle measured there are 0, and so is what they forecast."
    )
    if label != DATA_WINDOW and last is not None and last < start:
        note += f" Your data ends on {last:%d %b %Y}: choose '{DATA_WINDOW}'."
    return note


# Widget values Streamlit forgets once another page runs, so the page keeps a copy of them.
# (Streamlit's `persist_state` and `bind`: not taken, see views/mql.py at MQL_SLIDERS.)
KEPT_KEYS: tuple[str, ...] = (
    "forecast_window",
    "forecast_period",
    "forecast_pipeline",
    *(f"forecast_{k}" for k in SLIDERS),
)
ALL_PIPELINES = "All pipelines"


def slider_max(key: str, baseline_value: float, current: float) -> float:
    """A slider's top: 100 % for a rate, else room to triple the baseline (and never below the
    value already set, which a link or a scenario may have pushed past that)."""
    return 100.0 if key in RATE_KEYS else max(10.0, 3 * baseline_value, current)


def slider_specs(fallback: Levers, state: Mapping[str, Any]) -> list[tuple[str, str, float, float, str]]:
    """Each slider as (session key, label, top, step, format), its top set by `slider_max` from
    the baseline's value (`fallback`) and the value in `state`."""
    base = fallback.params()
    return [
        (f"forecast_{key}", label, slider_max(key, base[key], state[f"forecast_{key}"]), step, fmt)
        for key, (label, step, fmt) in SLIDERS.items()
    ]


def pipeline_names(pipelines: pl.DataFrame) -> dict[int | None, str]:
    """The pipeline picker's options (None = all pipelines) and the names shown and linked."""
    return {None: ALL_PIPELINES, **dict(zip(pipelines["id"], pipelines["name"], strict=True))}


def opening_view(
    state: Mapping[str, Any], link: Mapping[str, str], names: Mapping[int | None, str]
) -> dict[str, Any]:
    """Session values to set so the page opens where the user left it, else where the link says.

    The kept copies (`forecast_kept`) come back first; a window, period or pipeline the session
    still lacks is taken from the link when the link names one the page offers. Only keys
    missing from `state` are returned, so a value the user set is never overwritten.
    """
    updates = {k: v for k, v in state.get("forecast_kept", {}).items() if k not in state}
    by_name = {name: pid for pid, name in names.items() if pid is not None}
    window, period = link.get("window", ""), link.get("period", "")
    wanted = {
        "forecast_window": window if window in window_labels() else None,
        "forecast_period": period if period in PERIODS else None,
        "forecast_pipeline": by_name.get(link.get("pipeline", "")),
    }
    for key, value in wanted.items():
        if key not in state and key not in updates and value is not None:
            updates[key] = value
    return updates


def link_notices(link: Mapping[str, str], names: Mapping[int | None, str]) -> list[str]:
    """One line per window, period or pipeline in the link that the page does not offer (it
    opens on its own choice instead), so a mistyped link is never ignored without a word."""
    offered: dict[str, Collection[str]] = {
        "window": window_labels(),
        "period": PERIODS.keys(),
        "pipeline": set(names.values()),
    }
    return [
        f"Link value {param}={excerpt(link[param])} is not one of the page's choices; ignored."
        for param, choices in offered.items()
        if param in link and link[param] not in choices
    ]


def lever_state(levers: Levers) -> dict[str, float]:
    """Session values that move every slider to `levers`."""
    return {f"forecast_{key}": value for key, value in levers.params().items()}


def levers_for_view(
    state: Mapping[str, Any], signature: tuple[Any, ...], link: Mapping[str, str], fallback: Levers
) -> tuple[dict[str, Any], list[str]]:
    """Session values for a new window, period or pipeline, and the link's problems.

    A new choice is a new baseline, so the sliders start from `fallback`; on the first load
    they start from the link instead. Nothing changes while the choice (`signature`) stays.
    """
    if state.get("forecast_signature") == signature:
        return {}, []
    if "forecast_signature" in state:
        return {**lever_state(fallback), "forecast_signature": signature}, []
    levers, problems = levers_from_params(link, fallback, source="Link")
    return {**lever_state(levers), "forecast_signature": signature}, problems


def slider_params(state: Mapping[str, Any]) -> dict[str, float]:
    """The sliders' values by lever key, as `levers_from_params` and the link take them."""
    return {key: state[f"forecast_{key}"] for key in SLIDERS}


def link_params(window: str, period: str, pipeline: str, params: Mapping[str, float]) -> dict[str, str]:
    """The query parameters that reopen this view: choices by label, levers as shown."""
    levers = {k: f"{v:g}" for k, v in params.items()}
    return {"window": window, "period": period, "pipeline": pipeline, **levers}


def window_caption(
    baseline: Baseline, decisions: pl.DataFrame, as_text: Callable[[str], str], today: date
) -> str:
    """What the baseline measured and when: the day it counts as today (the window and the
    horizon both move on the first of a quarter), the lead window, the periods forecast, and
    which MQL cutoff counted, and who agreed it. `as_text` escapes the agreeing user's name,
    which is typed text shown as Markdown."""
    fit, interest, version = agreed_cutoff(decisions)
    agreed = (
        f"agreed on {decisions['decided_on'][0]} by {as_text(decisions['agreed_by'][0])}"
        if version is not None
        else ""
    )
    periods = baseline.horizon["period"]
    return (
        f"As of {today:%d %b %Y}: forecast {periods[0]} to {periods[-1]}"
        f"{horizon_note(baseline.horizon)}; "
        f"leads created {baseline.window[0]:%d %b %Y} to {baseline.window[1]:%d %b %Y} (excluded). "
        f"MQL: fit ≥ {fit:g} and interest ≥ {interest:g}, "
        + (f"the cutoff {agreed}. " if agreed else "no cutoff agreed yet (see MQL threshold). ")
        + "A lead counts at every stage up to the furthest it reached."
    )


def headline_metrics(side: pl.DataFrame, won_deals: int) -> list[tuple[str, str, str | None]]:
    """The three figures above the tabs as (label, value, change): `side` is `side_by_side`
    of the baseline and the scenario, whose last row holds the whole horizon."""
    total = side.row(side.height - 1, named=True)
    return [
        ("Baseline, whole horizon", f"${total['Baseline']:,.0f}", None),
        ("Scenario, whole horizon", f"${total['Scenario']:,.0f}", f"{total['difference']:,.0f}"),
        ("Won deals measured", f"{won_deals:,}", None),
    ]


def reverse_message(reverse: ReverseFunnel, today: date) -> str:
    """The reverse funnel's answer in a sentence (Markdown), warning when the date has passed."""
    late = " That date is already past: only a shorter cycle gets there." if reverse.by < today else ""
    return f"**{reverse.stages['needed'][0]:,} leads** arriving by **{reverse.by:%d %b %Y}**.{late}"


def horizon_target(side: pl.DataFrame) -> float:
    """The revenue target the Range tab opens on: the baseline's total over the horizon (the
    total row of `forecast.compare_levers`), to the nearest $10,000, a round figure to move."""
    return float(round(side["Baseline"][-1], -4))


def period_target(side: pl.DataFrame, period: str) -> float:
    """The one-period target the reverse funnel opens on: what the scenario gives `period`, to
    the nearest $1,000."""
    return float(round(side.filter(pl.col("period") == period)["Scenario"][0], -3))


def period_starts(horizon: pl.DataFrame) -> dict[str, date]:
    """Each horizon period's first day by its label, for the reverse funnel's period picker."""
    return dict(zip(horizon["period"], horizon["start"], strict=True))


def scenario_labels(saved: pl.DataFrame) -> dict[int, str]:
    """Saved scenarios by id as 'name (saved at)', the time as `2026-11-23 18:00`."""
    return {
        r["id"]: f"{r['name']} ({r['created_at'][:16].replace('T', ' ')})"
        for r in saved.iter_rows(named=True)
    }


def compare_with(labels: Mapping[int, str], first: int) -> dict[int, str]:
    """The scenarios the first one can be compared with: every other one, never itself."""
    return {sid: label for sid, label in labels.items() if sid != first}


def scenario_levers(saved: pl.DataFrame, baseline: Baseline) -> dict[int, Levers]:
    """Saved scenarios' levers by id, read for the baseline's period (`levers_from_json`), so
    one can be reopened or compared; a value it cannot use stays the baseline's."""
    return {
        sid: levers_from_json(text, baseline.levers, baseline.period)[0]
        for sid, text in zip(saved["id"], saved["params"], strict=True)
    }
