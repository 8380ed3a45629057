"""What a forecast is asked beyond its central figure: how sure, which lever, how many leads.

Three questions on one baseline and one set of levers: a range (`simulate`: P10/P50/P90 and
the chance of a target, drawing each rate with the uncertainty of the history behind it), the
bottleneck (`sensitivity`: what a 10 % move on each lever gains), and the reverse funnel (how
many are needed at each stage for a target, and by when the leads must arrive). Apart from
`forecast` because none of them is needed to forecast; each reads `forecast`'s figures and adds
its own way of asking.

>>> levers = forecast.Levers(1_000, (0.2, 0.5, 0.25), 10_000.0, 45.0)
>>> reverse_funnel(levers, 250_000.0, date(2027, 4, 1)).stages["needed"].to_list()
[1000, 200, 100, 25]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import polars as pl

from funnel import forecast, funnels


class ForecastError(ValueError):
    """A forecast question that the numbers cannot answer; the message says why."""


LEVER_STEP = 0.10


@dataclass(frozen=True)
class Simulation:
    """P10/P50/P90 per period and in total, and the chance the total reaches the target."""

    quantiles: pl.DataFrame
    chance: float


def simulate(
    levers: forecast.Levers, baseline: forecast.Baseline, target: float, seed: int = forecast.SEED
) -> Simulation:
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
    spread = forecast.landing_matrix(
        baseline.horizon, forecast.cycle_pmf(baseline.cycle_samples, levers.cycle_days)
    )
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


@dataclass(frozen=True)
class ReverseFunnel:
    """How many are needed at each stage for a period's target, and when the leads must arrive."""

    stages: pl.DataFrame
    leads: float
    by: date


def reverse_funnel(levers: forecast.Levers, target: float, period_start_date: date) -> ReverseFunnel:
    """Read the funnel backwards: target / deal value customers, divided by each rate in turn.

    The leads must arrive one cycle length before the period starts for their wins to land
    in it.
    """
    if levers.deal_value <= 0:
        raise ForecastError("The average deal value is $0, so no number of leads reaches a target.")
    for key, rate in zip(forecast.RATE_KEYS, levers.rates, strict=False):
        if rate <= 0:
            raise ForecastError(
                f"The conversion rate {key} is 0 %, so no number of leads reaches a target."
            )
    needed = [target / levers.deal_value]
    for rate in reversed(levers.rates):
        needed.insert(0, needed[0] / rate)
    stages = pl.DataFrame(
        {
            "stage": list(funnels.MARKETING_STAGES[: len(needed)]),
            "needed": [math.ceil(round(x, 6)) for x in needed],
        },
        schema={"stage": pl.String, "needed": pl.Int64},
    )
    return ReverseFunnel(stages, needed[0], period_start_date - timedelta(days=round(levers.cycle_days)))


def sensitivity(levers: forecast.Levers, baseline: forecast.Baseline) -> pl.DataFrame:
    """Horizon revenue gained by a 10 % move on each lever, ranked: the bottleneck first.

    Volume and deal value go up 10 %, the cycle gets 10 % shorter, and each conversion step
    loses 10 % less of those who reach it. A plain +10 % on every rate would move revenue by
    exactly +10 % each (the forecast is their product) and hide the bottleneck; cutting the
    leak favours the step that leaks most, which is where effort pays.
    """
    base = float(forecast.new_business(levers, baseline).sum())
    step = LEVER_STEP
    more_leads = replace(levers, leads_per_period=levers.leads_per_period * (1 + step))
    moves: list[tuple[str, forecast.Levers]] = [("Leads per period +10 %", more_leads)]
    for i, name in enumerate(forecast.STEPS[: len(levers.rates)]):
        rates = list(levers.rates)
        rates[i] += step * (1 - rates[i])
        moves.append((f"{name}: 10 % fewer lost", replace(levers, rates=tuple(rates))))
    moves += [
        ("Average deal value +10 %", replace(levers, deal_value=levers.deal_value * (1 + step))),
        ("Cycle length -10 %", replace(levers, cycle_days=levers.cycle_days * (1 - step))),
    ]
    gains = [float(forecast.new_business(m, baseline).sum()) - base for _, m in moves]
    return (
        pl.DataFrame(
            {"lever": [name for name, _ in moves], "gain": gains},
            schema={"lever": pl.String, "gain": pl.Float64},
        )
        .with_columns(gain_pct=pl.col("gain") / base if base else pl.lit(None, pl.Float64))
        .sort("gain", descending=True, maintain_order=True)
        .with_columns(bottleneck=pl.int_range(pl.len()) == 0)
    )
