"""Baseline rates, forecast, simulation, sensitivity and the reverse funnel (seeds 000 and 001).

The forecast is the funnel read forward: leads per period x the product of the stage-to-stage
conversion rates x the average won deal value, landing in later periods by the measured
sales-cycle length, plus the open pipeline's weighted value by expected close date.

Everything measured from the store (`measure_baseline`) is done once per store revision and
window; what the what-if sliders change (`forecast`, `simulate`, `sensitivity`,
`reverse_funnel`) works on small numpy arrays, so a slider move stays fast on a million leads.

Example: 1,000 leads x 20 % x 50 % x 25 % x $10,000 = $250,000.

>>> levers = Levers(1_000, (0.2, 0.5, 0.25), 10_000.0, 0.0)
>>> round(levers.customers_per_period() * levers.deal_value)
250000
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import polars as pl

from funnel.text import excerpt

Period = Literal["month", "quarter"]
PERIOD_MONTHS: dict[Period, int] = {"month": 1, "quarter": 3}
HORIZON_MONTHS = 12

MARKETING_STAGES: tuple[str, ...] = (
    "Lead",
    "Qualified prospect",
    "MQL",
    "SAL",
    "SQL / opportunity",
    "Customer",
)
STEPS: tuple[str, ...] = tuple(f"{a} → {b}" for a, b in pairwise(MARKETING_STAGES))
# One key per stage-to-stage rate, named after the stage the rate leads to.
RATE_KEYS: tuple[str, ...] = ("rate_qualified", "rate_mql", "rate_sal", "rate_sql", "rate_customer")
LEVER_LABELS: dict[str, str] = {
    "leads_per_period": "Leads per period",
    **{key: f"{step} (%)" for key, step in zip(RATE_KEYS, STEPS, strict=True)},
    "deal_value": "Average deal value",
    "cycle_days": "Median cycle length (days)",
}
DEFAULT_CUTOFF = 50.0
SIMULATIONS = 1_000
SEED = 7
LEVER_STEP = 0.10


class ForecastError(ValueError):
    """A forecast question that the numbers cannot answer; the message says why."""


# --- periods ----------------------------------------------------------------------------------


def _add_months(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_start(d: date, period: Period) -> date:
    """First day of the month or quarter holding `d`."""
    step = PERIOD_MONTHS[period]
    return date(d.year, (d.month - 1) // step * step + 1, 1)


def period_label(start: date, period: Period) -> str:
    """'2027 Q1' for a quarter, '2027-01' for a month."""
    if period == "quarter":
        return f"{start.year} Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}-{start.month:02d}"


def full_quarters_window(today: date, quarters: int = 4) -> tuple[date, date]:
    """The last `quarters` full quarters before today's: [start, end), end exclusive.

    A quarter still under way would understate every rate (its leads have not had time to
    convert), so the default baseline looks at finished quarters only.
    """
    end = period_start(today, "quarter")
    return _add_months(end, -3 * quarters), end


def horizon(today: date, period: Period = "quarter", months: int = HORIZON_MONTHS) -> pl.DataFrame:
    """The periods to forecast: what is left of today's, then `months` months of whole ones.

    Today's period is forecast from today on (`start`), its `share` the part of it still
    ahead: on 23 Nov 2026, 39 of 2026 Q4's 92 days. Leaving it out pushed December's deals
    into January and left the weeks a meeting can still act on unforecast.

    >>> h = horizon(date(2026, 11, 23))
    >>> h["period"].to_list()
    ['2026 Q4', '2027 Q1', '2027 Q2', '2027 Q3', '2027 Q4']
    >>> h["start"][0], round(h["share"][0], 3)
    (datetime.date(2026, 11, 23), 0.424)
    """
    step = PERIOD_MONTHS[period]
    current = period_start(today, period)
    starts = [_add_months(current, step * i) for i in range(months // step + 1)]
    ends = [_add_months(s, step) for s in starts]
    share = [1.0] * len(starts)
    share[0] = (ends[0] - today).days / (ends[0] - current).days
    return pl.DataFrame(
        {
            "period": [period_label(s, period) for s in starts],
            "start": [today, *starts[1:]],
            "end": ends,
            "share": share,
        },
        schema={"period": pl.String, "start": pl.Date, "end": pl.Date, "share": pl.Float64},
    )


def horizon_note(periods: pl.DataFrame) -> str:
    """The words that say the first period is only its remaining part (nothing when whole)."""
    first = periods.row(0, named=True)
    if first["share"] >= 1:
        return ""
    return (
        f" ({first['period']} from {first['start']:%d %b}: its remaining {first['share']:.0%}, "
        "leads per period scaled to it)"
    )


def first_reachable(periods: pl.DataFrame, cycle_days: float, today: date) -> str:
    """The first period whose leads can still arrive in time: its start, less one cycle, is
    not before today (the last period when none is), where the reverse funnel opens."""
    lead_by = pl.col("start") - pl.duration(days=round(cycle_days))
    reachable = periods.filter(lead_by >= pl.lit(today))["period"]
    return str(reachable[0] if reachable.len() else periods["period"][-1])


# --- funnels ----------------------------------------------------------------------------------


def _funnel_frame(stages: Sequence[str], counts: Sequence[int]) -> pl.DataFrame:
    """Counts per stage, the conversion to the next stage, and the biggest leak flagged.

    The biggest leak is the step with the lowest conversion: where the most of those who got
    there are lost (the first such step on a tie).
    """
    conversion: list[float | None] = [
        counts[i + 1] / counts[i] if counts[i] else None for i in range(len(counts) - 1)
    ] + [None]
    known = [(c, i) for i, c in enumerate(conversion) if c is not None]
    leak = min(known)[1] if known else -1
    return pl.DataFrame(
        {
            "stage": list(stages),
            "count": list(counts),
            "conversion": conversion,
            "leak": [i == leak for i in range(len(stages))],
        },
        schema={"stage": pl.String, "count": pl.Int64, "conversion": pl.Float64, "leak": pl.Boolean},
    )


def marketing_funnel(leads: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    """Leads created in [start, end) counted at each marketing-funnel stage they reached.

    `leads` carries the `mql` flag of `scoring.with_quadrants` at the agreed cutoff. A lead
    counts at every stage up to the furthest it reached (a customer was an SQL, an SAL, an MQL
    and a qualified prospect on its way), so counts only narrow and the product of the rates is
    exactly customers / leads.
    """
    furthest = (
        pl.when(pl.col("outcome").str.to_lowercase() == "converted")
        .then(5)
        .when(pl.col("sql_at").is_not_null())
        .then(4)
        .when(pl.col("sal_status").str.to_lowercase() == "accepted")
        .then(3)
        .when(pl.col("mql"))
        .then(2)
        .when(pl.col("qualified_at").is_not_null())
        .then(1)
        .otherwise(0)
    )
    reached = (
        leads.lazy()
        .filter(pl.col("created").is_between(start, end, closed="left"))
        .group_by(furthest.alias("level"))
        .len()
        .collect()
    )
    at_level = np.zeros(len(MARKETING_STAGES), dtype=np.int64)
    for level, n in reached.iter_rows():
        at_level[level] = n
    counts = at_level[::-1].cumsum()[::-1]
    return _funnel_frame(MARKETING_STAGES, [int(c) for c in counts])


def pipeline_funnel(
    deals: pl.DataFrame, stages: pl.DataFrame, history: pl.DataFrame, start: date, end: date
) -> pl.DataFrame:
    """Deals of one pipeline created in [start, end) counted at each open stage they reached,
    then at "Won".

    A deal reached a stage when its history or its current stage shows it there or further;
    a deal lost at its first step still counts at the first stage.
    """
    open_stages = stages.filter(pl.col("kind") == "open").sort("position")
    rank = pl.concat(
        [
            open_stages.select(
                pl.col("id").alias("stage_id"), pl.int_range(pl.len(), dtype=pl.Int64).alias("rank")
            ),
            stages.filter(pl.col("kind") == "won").select(
                pl.col("id").alias("stage_id"), pl.lit(open_stages.height, dtype=pl.Int64).alias("rank")
            ),
        ]
    )
    in_window = deals.filter(pl.col("created").is_between(start, end, closed="left")).select(
        pl.col("id").alias("deal_id"), "stage_id"
    )
    visits = pl.concat(
        [in_window, history.select("deal_id", pl.col("to_stage_id").alias("stage_id"))]
    ).join(rank, on="stage_id", how="left")
    furthest = (
        in_window.select("deal_id")
        .join(visits.group_by("deal_id").agg(pl.col("rank").max()), on="deal_id", how="left")
        .get_column("rank")
        .fill_null(0)
        .to_numpy()
    )
    levels = open_stages.height + 1
    at_level = np.bincount(furthest.astype(np.int64), minlength=levels)
    counts = at_level[::-1].cumsum()[::-1]
    names = [*open_stages.get_column("name").to_list(), "Won"]
    return _funnel_frame(names, [int(c) for c in counts])


# --- levers and the baseline ------------------------------------------------------------------


@dataclass(frozen=True)
class Levers:
    """What the what-if sliders move: volume, each stage's conversion, deal value, cycle."""

    leads_per_period: float
    rates: tuple[float, ...]
    deal_value: float
    cycle_days: float

    def customers_per_period(self) -> float:
        return self.leads_per_period * math.prod(self.rates)

    def params(self) -> dict[str, float]:
        """The levers as a scenario stores them and the URL carries them (rates in %), rounded
        to what a slider shows."""
        return {
            "leads_per_period": round(self.leads_per_period, 1),
            **{k: round(100 * r, 1) for k, r in zip(RATE_KEYS, self.rates, strict=True)},
            "deal_value": float(round(self.deal_value)),
            "cycle_days": round(self.cycle_days, 1),
        }


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


@dataclass(frozen=True)
class LeadShare:
    """The part of all leads one pipeline's forecast counts as its own.

    Leads name no pipeline, so a pipeline gets the leads in proportion to the deals it won in
    the baseline window (`won` of `won_all`); without a win anywhere there, to the deals
    created in it (`basis` says which). Each pipeline's shares then add up to all leads, and
    the pipelines' forecasts to the whole.
    """

    share: float
    won: int
    won_all: int
    basis: Literal["won", "created"]

    def sentence(self, name: str) -> str:
        """What the caption says about it, for the pipeline called `name`."""
        what = "deals won" if self.basis == "won" else "deals created"
        return (
            f"{name} gets {self.share:.1%} of the leads: its share of the {what} in the window "
            f"({self.won:,} of {self.won_all:,}); the marketing funnel below counts all of them."
        )


def lead_share(deals: pl.DataFrame, all_deals: pl.DataFrame, start: date, end: date) -> LeadShare:
    """One pipeline's `LeadShare`: `deals` are its deals, `all_deals` every pipeline's.

    >>> import polars as pl
    >>> mine = pl.DataFrame({"stage_kind": ["won"], "closed_at": [date(2026, 3, 1)],
    ...                      "created": [date(2026, 1, 1)]})
    >>> every = pl.concat([mine] * 4)
    >>> lead_share(mine, every, date(2025, 10, 1), date(2026, 10, 1)).share
    0.25
    """
    won, won_all = _won_in_window(deals, start, end).height, _won_in_window(all_deals, start, end).height
    if won_all:
        return LeadShare(won / won_all, won, won_all, "won")
    created = pl.col("created").is_between(start, end, closed="left")
    made, made_all = deals.filter(created).height, all_deals.filter(created).height
    return LeadShare(made / made_all if made_all else 0.0, made, made_all, "created")


@dataclass(frozen=True, eq=False)
class Baseline:
    """What the history measures over the window, and the open pipeline over the horizon.

    `lead_share` is set when the baseline is one pipeline's: its leads per period are that
    share of all leads.
    """

    window: tuple[date, date]
    period: Period
    funnel: pl.DataFrame
    levers: Levers
    trials: tuple[int, ...]
    won_deals: int
    cycle_samples: np.ndarray
    horizon: pl.DataFrame
    pipeline_weighted: np.ndarray
    pipeline_draws: np.ndarray
    lead_share: LeadShare | None = None


def agreed_cutoff(decisions: pl.DataFrame) -> tuple[float, float, int | None]:
    """The latest agreed (fit, interest, model version), or the defaults when none is recorded.

    `decisions` is `store.decisions`, newest first.
    """
    if decisions.is_empty():
        return DEFAULT_CUTOFF, DEFAULT_CUTOFF, None
    row = decisions.row(0, named=True)
    return float(row["fit_cutoff"]), float(row["interest_cutoff"]), int(row["model_version"])


def _won_in_window(deals: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    return deals.filter(
        (pl.col("stage_kind") == "won") & pl.col("closed_at").is_between(start, end, closed="left")
    )


def _open_pipeline(
    deals: pl.DataFrame, periods: pl.DataFrame, period: Period
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Open deals as (value, win probability, horizon period index).

    The deal's own probability beats its stage's. A deal expected before the horizon (overdue,
    or with no date) lands in the first period, today's; one expected after it is left out.
    """
    first = period_start(periods.get_column("start")[0], period)
    step = PERIOD_MONTHS[period]
    open_deals = deals.filter(pl.col("stage_kind") == "open").select(
        pl.col("value").fill_null(0.0),
        (pl.coalesce("probability", "stage_probability") / 100).alias("p"),
        (
            (
                pl.col("expected_close").dt.year() * 12
                + pl.col("expected_close").dt.month()
                - (first.year * 12 + first.month)
            )
            // step
        )
        .fill_null(0)
        .clip(lower_bound=0)
        .alias("index"),
    )
    open_deals = open_deals.filter(pl.col("index") < periods.height)
    return (
        open_deals.get_column("value").to_numpy().astype(np.float64),
        open_deals.get_column("p").to_numpy().astype(np.float64),
        open_deals.get_column("index").to_numpy().astype(np.int64),
    )


def _pipeline_draws(
    value: np.ndarray, p: np.ndarray, index: np.ndarray, periods: int, sims: int, seed: int
) -> np.ndarray:
    """Won value per simulation and period, each open deal won at its own probability."""
    rng = np.random.default_rng(seed)
    landing = np.zeros((value.size, periods))
    landing[np.arange(value.size), index] = value
    draws = np.empty((sims, periods))
    chunk = max(1, 2_000_000 // max(value.size, 1))
    for lo in range(0, sims, chunk):
        hi = min(sims, lo + chunk)
        won = rng.random((hi - lo, value.size)) < p
        draws[lo:hi] = won.astype(np.float64) @ landing
    return draws


def measure_baseline(
    leads: pl.DataFrame,
    deals: pl.DataFrame,
    today: date,
    window: tuple[date, date] | None = None,
    period: Period = "quarter",
    seed: int = SEED,
    sims: int = SIMULATIONS,
    all_deals: pl.DataFrame | None = None,
) -> Baseline:
    """Measure the funnel, the rates, the won deal value and the cycle over the window.

    `leads` carries the `mql` flag at the agreed cutoff; `deals` is `store.deals` (stage kind
    and probability joined in). Leads per period is the window's leads over its periods. The
    average deal value and the median cycle (created to won, in days) come from deals won in
    the window. The open pipeline is simulated here once, since no slider changes it. When
    `deals` are one pipeline's, `all_deals` are every pipeline's, and the leads per period
    are the pipeline's `lead_share` of them.
    """
    start, end = window or full_quarters_window(today)
    funnel = marketing_funnel(leads, start, end)
    counts = funnel.get_column("count").to_list()
    months = (end.year - start.year) * 12 + end.month - start.month
    periods_in_window = max(months / PERIOD_MONTHS[period], 1e-9)
    won = _won_in_window(deals, start, end)
    values = won.get_column("value").drop_nulls()
    cycle = (
        won.select((pl.col("closed_at") - pl.col("created")).dt.total_days().clip(lower_bound=0))
        .to_series()
        .drop_nulls()
        .to_numpy()
        .astype(np.float64)
    )
    periods = horizon(today, period)
    value, p, index = _open_pipeline(deals, periods, period)
    share = None if all_deals is None else lead_share(deals, all_deals, start, end)
    levers = Levers(
        leads_per_period=counts[0] / periods_in_window * (1.0 if share is None else share.share),
        rates=tuple(counts[i + 1] / counts[i] if counts[i] else 0.0 for i in range(len(counts) - 1)),
        deal_value=float(values.mean()) if values.len() else 0.0,  # type: ignore[arg-type]
        cycle_days=float(np.median(cycle)) if cycle.size else 0.0,
    )
    return Baseline(
        window=(start, end),
        period=period,
        funnel=funnel,
        levers=levers,
        trials=tuple(counts[:-1]),
        won_deals=won.height,
        cycle_samples=cycle,
        horizon=periods,
        pipeline_weighted=np.bincount(index, weights=value * p, minlength=periods.height),
        pipeline_draws=_pipeline_draws(value, p, index, periods.height, sims, seed),
        lead_share=share,
    )


# --- forecast ---------------------------------------------------------------------------------


def cycle_pmf(samples: np.ndarray, median_days: float) -> np.ndarray:
    """Share of deals won 0, 1, 2... days after creation, the measured shape stretched to a
    median of `median_days` (a point mass at `median_days` when nothing was measured).

    The median, as a sales team reads a cycle: one deal that took two years does not make the
    typical deal slower."""
    if samples.size == 0 or np.median(samples) == 0:
        pmf = np.zeros(round(median_days) + 1)
        pmf[-1] = 1.0
        return pmf
    days = np.rint(samples * (median_days / np.median(samples))).astype(np.int64)
    counts = np.bincount(days)
    shares: np.ndarray = counts / counts.sum()
    return shares


def landing_matrix(periods: pl.DataFrame, pmf: np.ndarray) -> np.ndarray:
    """Share of the wins from leads arriving in period j (evenly over its days) that land in
    period k; what lands after the horizon is lost to it. Q1 2027 has 90 days: with a
    45-day cycle half its wins land in Q1, half in Q2; Q2 has 91 days, 46 of which land in it.

    >>> q = horizon(date(2027, 1, 1)).head(2)
    >>> landing_matrix(q, np.eye(46)[45]).round(3).tolist()
    [[0.5, 0.5], [0.0, 0.505]]
    """
    first: date = periods.get_column("start")[0]
    edges = [(s - first).days for s in periods.get_column("start")]
    edges.append((periods.get_column("end")[-1] - first).days)
    n = periods.height
    matrix = np.zeros((n, n))
    for j in range(n):
        days = edges[j + 1] - edges[j]
        land = np.convolve(np.full(days, 1.0 / days), pmf)
        cum = np.concatenate([[0.0], np.cumsum(land)])
        for k in range(j, n):
            lo = min(max(edges[k] - edges[j], 0), land.size)
            hi = min(max(edges[k + 1] - edges[j], 0), land.size)
            matrix[j, k] = cum[hi] - cum[lo]
    return matrix


def _new_business(levers: Levers, baseline: Baseline) -> np.ndarray:
    """Won value landing in each period; the first period's leads are its remaining share."""
    spread = landing_matrix(baseline.horizon, cycle_pmf(baseline.cycle_samples, levers.cycle_days))
    share = baseline.horizon.get_column("share").to_numpy()
    revenue: np.ndarray = levers.customers_per_period() * levers.deal_value * (share @ spread)
    return revenue


def forecast(levers: Levers, baseline: Baseline) -> pl.DataFrame:
    """Revenue per horizon period: new business from the funnel plus the weighted pipeline."""
    new = _new_business(levers, baseline)
    return baseline.horizon.select("period", "start").with_columns(
        new_business=pl.Series(new),
        pipeline=pl.Series(baseline.pipeline_weighted),
        revenue=pl.Series(new + baseline.pipeline_weighted),
    )


def side_by_side(a: pl.DataFrame, b: pl.DataFrame, names: tuple[str, str]) -> pl.DataFrame:
    """Two forecasts' revenue per period, with the second minus the first, and a total row."""
    both = a.select("period", pl.col("revenue").alias(names[0])).with_columns(
        b.get_column("revenue").alias(names[1])
    )
    total = both.select(pl.lit("Total").alias("period"), pl.col(names[0]).sum(), pl.col(names[1]).sum())
    return pl.concat([both, total]).with_columns(
        (pl.col(names[1]) - pl.col(names[0])).alias("difference")
    )


def measure_view(
    leads: pl.DataFrame,
    deals: pl.DataFrame,
    today: date,
    window: tuple[date, date],
    period: Period,
    pipeline: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame] | None = None,
) -> tuple[Baseline, pl.DataFrame | None]:
    """The baseline over `window` (`baseline_window`), and over the same window the funnel of
    one pipeline given as its (stages, stage history, every pipeline's deals); None when all
    pipelines are shown. One pipeline's baseline counts its share of the leads."""
    every = None if pipeline is None else pipeline[2]
    baseline = measure_baseline(leads, deals, today, window, period, all_deals=every)
    if pipeline is None:
        return baseline, None
    return baseline, pipeline_funnel(deals, *pipeline[:2], *window)


def compare_levers(a: Levers, b: Levers, baseline: Baseline, names: tuple[str, str]) -> pl.DataFrame:
    """`side_by_side` of two sets of levers forecast on one baseline, as the page compares them."""
    return side_by_side(forecast(a, baseline), forecast(b, baseline), names)


@dataclass(frozen=True)
class Simulation:
    """P10/P50/P90 per period and in total, and the chance the total reaches the target."""

    quantiles: pl.DataFrame
    chance: float


def simulate(levers: Levers, baseline: Baseline, target: float, seed: int = SEED) -> Simulation:
    """A range for the forecast: each open deal won at its probability (drawn once, in the
    baseline), each conversion rate drawn from a Beta with the lever as its mean and the
    history's sample size (plus a uniform prior's two pseudo-counts) as its weight, and each
    period's customers drawn binomially from its leads.

    So a rate measured on 20 leads swings far more than one measured on 20,000, and a lever
    moved by hand keeps the uncertainty of the history behind it.
    """
    draws = baseline.pipeline_draws
    n = draws.shape[0]
    rng = np.random.default_rng(seed)
    p = np.ones(n)
    for rate, trials in zip(levers.rates, baseline.trials, strict=False):
        weight = trials + 2
        p *= rng.beta(max(rate * weight, 1e-9), max((1 - rate) * weight, 1e-9), size=n)
    share = baseline.horizon.get_column("share").to_numpy()
    leads = np.rint(levers.leads_per_period * share).astype(np.int64)  # today's period: its rest
    periods = baseline.horizon.height
    customers = rng.binomial(leads, np.repeat(p[:, None], periods, axis=1))
    spread = landing_matrix(baseline.horizon, cycle_pmf(baseline.cycle_samples, levers.cycle_days))
    revenue = customers * levers.deal_value @ spread + draws
    table = np.column_stack([revenue, revenue.sum(axis=1)])
    p10, p50, p90 = np.quantile(table, [0.1, 0.5, 0.9], axis=0)
    quantiles = pl.DataFrame(
        {
            "period": [*baseline.horizon.get_column("period").to_list(), "Total"],
            "p10": p10,
            "p50": p50,
            "p90": p90,
        }
    )
    return Simulation(quantiles, float((table[:, -1] >= target).mean()))


# --- reverse funnel and sensitivity -----------------------------------------------------------


@dataclass(frozen=True)
class ReverseFunnel:
    """How many are needed at each stage for a period's target, and when the leads must arrive."""

    stages: pl.DataFrame
    leads: float
    by: date


def reverse_funnel(levers: Levers, target: float, period_start_date: date) -> ReverseFunnel:
    """Read the funnel backwards: target / deal value customers, divided by each rate in turn.

    The leads must arrive one cycle length before the period starts for their wins to land
    in it.
    """
    if levers.deal_value <= 0:
        raise ForecastError("The average deal value is $0, so no number of leads reaches a target.")
    for key, rate in zip(RATE_KEYS, levers.rates, strict=False):
        if rate <= 0:
            raise ForecastError(
                f"The conversion rate {key} is 0 %, so no number of leads reaches a target."
            )
    needed = [target / levers.deal_value]
    for rate in reversed(levers.rates):
        needed.insert(0, needed[0] / rate)
    stages = pl.DataFrame(
        {
            "stage": list(MARKETING_STAGES[: len(needed)]),
            "needed": [math.ceil(round(x, 6)) for x in needed],
        },
        schema={"stage": pl.String, "needed": pl.Int64},
    )
    return ReverseFunnel(stages, needed[0], period_start_date - timedelta(days=round(levers.cycle_days)))


def sensitivity(levers: Levers, baseline: Baseline) -> pl.DataFrame:
    """Horizon revenue gained by a 10 % move on each lever, ranked: the bottleneck first.

    Volume and deal value go up 10 %, the cycle gets 10 % shorter, and each conversion step
    loses 10 % less of those who reach it. A plain +10 % on every rate would move revenue by
    exactly +10 % each (the forecast is their product) and hide the bottleneck; cutting the
    leak favours the step that leaks most, which is where effort pays.
    """
    base = float(_new_business(levers, baseline).sum())
    step = LEVER_STEP
    more_leads = replace(levers, leads_per_period=levers.leads_per_period * (1 + step))
    moves: list[tuple[str, Levers]] = [("Leads per period +10 %", more_leads)]
    for i, name in enumerate(STEPS[: len(levers.rates)]):
        rates = list(levers.rates)
        rates[i] += step * (1 - rates[i])
        moves.append((f"{name}: 10 % fewer lost", replace(levers, rates=tuple(rates))))
    moves += [
        ("Average deal value +10 %", replace(levers, deal_value=levers.deal_value * (1 + step))),
        ("Cycle length -10 %", replace(levers, cycle_days=levers.cycle_days * (1 - step))),
    ]
    gains = [float(_new_business(m, baseline).sum()) - base for _, m in moves]
    return (
        pl.DataFrame(
            {"lever": [name for name, _ in moves], "gain": gains},
            schema={"lever": pl.String, "gain": pl.Float64},
        )
        .with_columns(gain_pct=pl.col("gain") / base if base else pl.lit(None, pl.Float64))
        .sort("gain", descending=True, maintain_order=True)
        .with_columns(bottleneck=pl.int_range(pl.len()) == 0)
    )


# --- the forecast page's view, as plain data ----------------------------------------------------

# Baseline window choices: label -> number of full quarters measured.
WINDOWS: dict[str, int] = {
    "Last 4 full quarters": 4,
    "Last 2 full quarters": 2,
    "Last full quarter": 1,
    "Last 8 full quarters": 8,
}
PERIODS: dict[str, Period] = {"Quarter": "quarter", "Month": "month"}
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
    end = min(_add_months(period_start(last, "quarter"), 3), period_start(today, "quarter"))
    return _add_months(end, -3 * quarters), end


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
    first, final = period_label(start, "quarter"), period_label(_add_months(end, -3), "quarter")
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


def period_starts(horizon: pl.DataFrame) -> dict[str, date]:
    """Each horizon period's first day by its label, for the reverse funnel's period picker."""
    return dict(zip(horizon["period"], horizon["start"], strict=True))


def scenario_labels(saved: pl.DataFrame) -> dict[int, str]:
    """Saved scenarios by id as 'name (saved at)', the time as `2026-11-23 18:00`."""
    return {
        r["id"]: f"{r['name']} ({r['created_at'][:16].replace('T', ' ')})"
        for r in saved.iter_rows(named=True)
    }


def scenario_levers(saved: pl.DataFrame, baseline: Baseline) -> dict[int, Levers]:
    """Saved scenarios' levers by id, read for the baseline's period (`levers_from_json`), so
    one can be reopened or compared; a value it cannot use stays the baseline's."""
    return {
        sid: levers_from_json(text, baseline.levers, baseline.period)[0]
        for sid, text in zip(saved["id"], saved["params"], strict=True)
    }
