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

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import pairwise
from typing import Literal

import numpy as np
import polars as pl

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
SIMULATIONS = 1_000
SEED = 7
LEVER_STEP = 0.10


class ForecastError(ValueError):
    """A forecast question that the numbers cannot answer; the message says why."""


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
