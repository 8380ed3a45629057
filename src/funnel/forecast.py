"""Baseline rates and the forecast: the funnel read forward over a horizon (seeds 000 and 001).

The forecast is the funnel read forward: leads per period x the product of the stage-to-stage
conversion rates x the average won deal value, landing in later periods by the measured
sales-cycle length, plus the open pipeline's weighted value by expected close date.

Everything measured from the store (`measure_baseline`) is done once per store revision and
window; what the what-if sliders change (`forecast` here, and `planning`'s range, sensitivity and
reverse funnel) works on small numpy arrays, so a slider move stays fast on a million leads.

Example: 1,000 leads x 20 % x 50 % x 25 % x $10,000 = $250,000.

>>> levers = Levers(1_000, (0.2, 0.5, 0.25), 10_000.0, 0.0)
>>> round(levers.customers_per_period() * levers.deal_value)
250000
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Literal

import numpy as np
import polars as pl

from funnel import funnels

Period = Literal["month", "quarter"]
PERIOD_MONTHS: dict[Period, int] = {"month": 1, "quarter": 3}
HORIZON_MONTHS = 12

STEPS: tuple[str, ...] = tuple(f"{a} → {b}" for a, b in pairwise(funnels.MARKETING_STAGES))
# One key per stage-to-stage rate, named after the stage the rate leads to.
RATE_KEYS: tuple[str, ...] = ("rate_qualified", "rate_mql", "rate_sal", "rate_sql", "rate_customer")
LEVER_LABELS: dict[str, str] = {
    "leads_per_period": "Leads per period",
    **{key: f"{step} (%)" for key, step in zip(RATE_KEYS, STEPS, strict=True)},
    "deal_value": "Average deal value",
    "cycle_days": "Median cycle length (days)",
}
SIMULATIONS = 1_000
SEED = 7


# --- periods ----------------------------------------------------------------------------------


def add_months(d: date, months: int) -> date:
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
    return add_months(end, -3 * quarters), end


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
    starts = [add_months(current, step * i) for i in range(months // step + 1)]
    ends = [add_months(s, step) for s in starts]
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
    levels: pl.DataFrame,
    deals: pl.DataFrame,
    today: date,
    window: tuple[date, date] | None = None,
    period: Period = "quarter",
    seed: int = SEED,
    sims: int = SIMULATIONS,
    all_deals: pl.DataFrame | None = None,
) -> Baseline:
    """Measure the funnel, the rates, the won deal value and the cycle over the window.

    `levels` are the leads' `funnels.funnel_levels` at the agreed cutoff; `deals` is
    `store.deals` (stage kind and probability joined in). Leads per period is the window's
    leads over its periods. The average deal value and the median cycle (created to won, in
    days) come from deals won in the window. The open pipeline is simulated here once, since
    no slider changes it. When `deals` are one pipeline's, `all_deals` are every pipeline's,
    and the leads per period are the pipeline's `lead_share` of them.
    """
    start, end = window or full_quarters_window(today)
    funnel = funnels.marketing_funnel(levels, start, end)
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


def new_business(levers: Levers, baseline: Baseline) -> np.ndarray:
    """Won value landing in each period; the first period's leads are its remaining share."""
    spread = landing_matrix(baseline.horizon, cycle_pmf(baseline.cycle_samples, levers.cycle_days))
    share = baseline.horizon.get_column("share").to_numpy()
    revenue: np.ndarray = levers.customers_per_period() * levers.deal_value * (share @ spread)
    return revenue


def forecast(levers: Levers, baseline: Baseline) -> pl.DataFrame:
    """Revenue per horizon period: new business from the funnel plus the weighted pipeline."""
    new = new_business(levers, baseline)
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
    levels: pl.DataFrame,
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
    baseline = measure_baseline(levels, deals, today, window, period, all_deals=every)
    if pipeline is None:
        return baseline, None
    return baseline, funnels.pipeline_funnel(deals, *pipeline[:2], *window)


def compare_levers(a: Levers, b: Levers, baseline: Baseline, names: tuple[str, str]) -> pl.DataFrame:
    """`side_by_side` of two sets of levers forecast on one baseline, as the page compares them."""
    return side_by_side(forecast(a, baseline), forecast(b, baseline), names)
