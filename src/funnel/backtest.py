"""How good was the forecast? Each past quarter forecast again as it stood on its first day.

A sales leader asks after every quarter how far off the forecast was. The stage history can
answer without hindsight: for each of the last full quarters, the pipeline is rebuilt as it
stood on the quarter's first day (each deal's stage from the last move recorded *before* that
day), the app's own methods run on it (weighted pipeline with the manual probabilities, with the
history probabilities measured only on deals closed before that day, and the P10/P50/P90
simulation of each deal won at its probability), and the forecasts are set against what those
deals won during the quarter.

The population is named because it decides what "actual" means: the deals open on the quarter's
first day. Deals created later are not in the forecast, so they are not in the actual either.
Expected close dates are not used: a CRM overwrites them when a deal closes (the demo sets a
closed deal's expected close to its close day), so filtering on them would leak the outcome.
A deal created before the day but without any stage move recorded before it has no known stage
then: it is left out and counted.

Example: a deal worth $100,000 sitting in a 50 % stage on July 1 and won on July 10 gives a
manual forecast of $50,000 and an actual of $100,000, so an error of -50 % and an accuracy
(HubSpot's max(0, 1 - |actual - forecast| / actual)) of 50 %.

>>> accuracy(50_000.0, 100_000.0)
0.5
>>> round(pinball_loss(50_000.0, 100_000.0, 0.9))
45000
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import numpy as np
import polars as pl

from funnel import forecast, stage_moves, stages

DEFAULT_QUARTERS = 4
QUANTILES: tuple[float, float, float] = (0.1, 0.5, 0.9)
METHODS: dict[str, str] = {
    "manual": "Weighted (manual %)",
    "history": "Weighted (history %)",
    "p50": "Simulation P50",
}


def accuracy(forecast_value: float, actual: float) -> float | None:
    """HubSpot's forecast accuracy, max(0, 1 - |actual - forecast| / actual); None when nothing
    closed, since no forecast can be judged against $0 that way."""
    if actual <= 0:
        return None
    return max(0.0, 1.0 - abs(actual - forecast_value) / actual)


def pinball_loss(quantile_value: float, actual: float, q: float) -> float:
    """The quantile (pinball) loss of a forecast quantile: an actual above a P90 costs 0.9 per
    dollar missed, one below it only 0.1, so a range is rewarded for being honest, not wide."""
    miss = actual - quantile_value
    return q * miss if miss >= 0 else (q - 1) * miss


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time())


def pipeline_as_of(
    deals: pl.DataFrame, stage_frame: pl.DataFrame, history: pl.DataFrame, day: date
) -> tuple[pl.DataFrame, int]:
    """Every deal as it stood at the start of `day`, and how many had no known stage then.

    A deal's stage then is the last move into a stage recorded before `day` (moves on `day`
    itself come after its start). Returns a frame shaped like `store.deals` (stage id, kind,
    manual probability and position as of then; the deal's own probability is dropped because
    its history is not kept) holding only the deals with a known stage, plus the count of deals
    created before `day` without any move recorded before it.
    """
    before = history.filter(pl.col("at") < _start_of(day)).sort("deal_id", "at", maintain_order=True)
    stage_then = before.group_by("deal_id", maintain_order=True).agg(
        stage_id=pl.col("to_stage_id").last()
    )
    stage_cols = stage_frame.select(
        stage_id="id",
        stage="name",
        stage_kind="kind",
        stage_probability="probability",
        stage_position="position",
    )
    then = (
        deals.drop("stage_id", "stage", "stage_kind", "stage_probability", "stage_position")
        .with_columns(probability=pl.lit(None, dtype=pl.Float64))
        .join(stage_then, left_on="id", right_on="deal_id")
        .join(stage_cols, on="stage_id")
    )
    unknown = deals.filter(
        (pl.col("created") < day) & ~pl.col("id").is_in(stage_then.get_column("deal_id").implode())
    ).height
    return then, unknown


def history_probabilities_as_of(
    deals: pl.DataFrame, stage_frame: pl.DataFrame, history: pl.DataFrame, day: date
) -> pl.DataFrame:
    """`stage_moves.history_probability` measured only on what was known at the start of `day`.

    Deals closed before `day` are the sample; each pipeline is measured on its own deals, since
    stage positions only compare within one pipeline.
    """
    then, _ = pipeline_as_of(deals, stage_frame, history, day)
    before = history.filter(pl.col("at") < _start_of(day))
    parts = [
        stage_moves.history_probability(
            then.filter(pl.col("pipeline_id") == pipeline_id),
            stage_frame.filter(pl.col("pipeline_id") == pipeline_id),
            before,
        )
        for pipeline_id in stage_frame.get_column("pipeline_id").unique().sort()
    ]
    if not parts:
        return stage_moves.history_probability(then, stage_frame, before)
    return pl.concat(parts)


@dataclass(frozen=True)
class Backtest:
    """Per quarter the forecasts, the range and the actual; over all quarters the coverage."""

    quarters: pl.DataFrame
    coverage: float | None
    mean_pinball: float | None

    def mean_errors(self) -> dict[str, float]:
        """Each method's mean absolute error in dollars over the quarters (empty with none)."""
        if self.quarters.is_empty():
            return {}
        actual = pl.col("actual")
        means = self.quarters.select([(pl.col(m) - actual).abs().mean().alias(m) for m in METHODS])
        return {m: float(means.item(0, m)) for m in METHODS}

    def closest(self) -> tuple[str, float] | None:
        """The method with the smallest mean absolute error (the first listed on a tie)."""
        errors = self.mean_errors()
        if not errors:
            return None
        best = min(errors, key=lambda m: errors[m])
        return best, errors[best]

    def sentence(self) -> str:
        """One sentence naming the closest method, by how much, and how honest the range was."""
        closest = self.closest()
        if closest is None:
            return (
                "No full quarter to back-test yet: the stage history starts too late for one to "
                "have begun with deals in it."
            )
        method, error = closest
        others = ", ".join(
            f"{METHODS[m]} ${err:,.0f}" for m, err in self.mean_errors().items() if m != method
        )
        n = self.quarters.height
        range_part = (
            ""
            if self.coverage is None or self.mean_pinball is None
            else f" The P10–P90 range held the actual in {self.coverage:.0%} of them "
            "(an honest 80 % range holds it about 80 % of the time); mean pinball loss "
            f"${self.mean_pinball:,.0f}."
        )
        return (
            f"Closest over the last {n} full quarter{'s' if n != 1 else ''}: "
            f"{METHODS[method]}, off by ${error:,.0f} a quarter on average "
            f"(vs {others}).{range_part}"
        )


def _quarter_row(
    deals: pl.DataFrame,
    stage_frame: pl.DataFrame,
    history: pl.DataFrame,
    start: date,
    end: date,
    sims: int,
    seed: int,
) -> dict[str, object]:
    then, unknown = pipeline_as_of(deals, stage_frame, history, start)
    open_then = then.filter(pl.col("stage_kind") == "open")
    learned = history_probabilities_as_of(deals, stage_frame, history, start)
    with_history = open_then.drop("stage_probability").join(
        learned.select("stage_id", stage_probability="smoothed"), on="stage_id", how="left"
    )
    value = open_then.get_column("value").fill_null(0.0).to_numpy().astype(np.float64)
    p = (open_then.get_column("stage_probability") / 100).to_numpy().astype(np.float64)
    draws = forecast._pipeline_draws(value, p, np.zeros(value.size, np.int64), 1, sims, seed)
    quantiles = [float(x) for x in np.quantile(draws[:, 0], QUANTILES)]
    p10, p50, p90 = quantiles
    won = deals.filter(
        pl.col("id").is_in(open_then.get_column("id").implode())
        & (pl.col("stage_kind") == "won")
        & pl.col("closed_at").is_between(start, end, closed="left")
    )
    actual = stages.closed_won(won)
    figures = {
        "manual": stages.weighted_pipeline(open_then),
        "history": stages.weighted_pipeline(with_history),
        "p50": p50,
    }
    judged: dict[str, object] = {}
    for method, value_then in figures.items():
        judged[f"{method}_error_pct"] = (value_then - actual) / actual * 100 if actual > 0 else None
        judged[f"{method}_accuracy"] = accuracy(value_then, actual)
    return {
        "quarter": forecast.period_label(start, "quarter"),
        "start": start,
        "open_deals": open_then.height,
        "no_value": open_then.get_column("value").null_count(),
        "no_stage": unknown,
        "manual": figures["manual"],
        "history": figures["history"],
        "p10": p10,
        "p50": p50,
        "p90": p90,
        "actual": actual,
        "won_deals": won.height,
        **judged,
        "inside": p10 <= actual <= p90,
        "pinball": float(
            np.mean([pinball_loss(v, actual, q) for v, q in zip(quantiles, QUANTILES, strict=True)])
        ),
    }


SCHEMA = {
    "quarter": pl.String,
    "start": pl.Date,
    "open_deals": pl.Int64,
    "no_value": pl.Int64,
    "no_stage": pl.Int64,
    "manual": pl.Float64,
    "history": pl.Float64,
    "p10": pl.Float64,
    "p50": pl.Float64,
    "p90": pl.Float64,
    "actual": pl.Float64,
    "won_deals": pl.Int64,
    **{f"{m}_{what}": pl.Float64 for m in METHODS for what in ("error_pct", "accuracy")},
    "inside": pl.Boolean,
    "pinball": pl.Float64,
}


def backtest_quarters(
    history: pl.DataFrame, today: date, quarters: int = DEFAULT_QUARTERS
) -> list[date]:
    """First days of the last `quarters` full quarters before today's, oldest first, keeping only
    those the history reaches: a quarter whose first day comes before the first recorded move
    had no pipeline to forecast from."""
    first_move = history.get_column("at").min()
    if first_move is None:
        return []
    start, _ = forecast.full_quarters_window(today, quarters)
    starts = [forecast.add_months(start, 3 * i) for i in range(quarters)]
    return [s for s in starts if _start_of(s) > first_move]  # type: ignore[operator]


def forecast_backtest(
    deals: pl.DataFrame,
    stage_frame: pl.DataFrame,
    history: pl.DataFrame,
    today: date,
    quarters: int = DEFAULT_QUARTERS,
    sims: int = forecast.SIMULATIONS,
    seed: int = forecast.SEED,
) -> Backtest:
    """Back-test the pipeline forecast over the last `quarters` full quarters (see module doc).

    `deals`, `stage_frame` and `history` are `store.deals`, `store.stages` and
    `store.stage_history` (one pipeline or all). Each quarter's row holds the open deals on its
    first day, the forecasts, the P10/P50/P90 range, the actual, each method's error in % of the
    actual and its accuracy, whether the actual fell inside P10..P90, and the mean pinball loss
    over the three quantiles.
    """
    rows = [
        _quarter_row(deals, stage_frame, history, s, forecast.add_months(s, 3), sims, seed)
        for s in backtest_quarters(history, today, quarters)
    ]
    table = pl.DataFrame(rows, schema=SCHEMA)
    coverage = table.get_column("inside").mean() if table.height else None
    mean_pinball = table.get_column("pinball").mean() if table.height else None
    return Backtest(
        table,
        None if coverage is None else float(coverage),  # type: ignore[arg-type]
        None if mean_pinball is None else float(mean_pinball),  # type: ignore[arg-type]
    )


_MONEY = {"kind": "number", "format": "$%,.0f"}
# The table's columns as plain data for `ui.column_config` (the core never imports streamlit):
# None hides a column, the rest name it and say how its numbers read.
TABLE_COLUMNS: dict[str, str | dict[str, Any] | None] = {
    "quarter": "Quarter",
    "start": None,
    "open_deals": {"kind": "number", "label": "Open deals", "help": "Open on the first day"},
    "no_value": None,
    "no_stage": None,
    "manual": {**_MONEY, "label": METHODS["manual"]},
    "history": {**_MONEY, "label": METHODS["history"]},
    "p10": {**_MONEY, "label": "P10"},
    "p50": {**_MONEY, "label": "P50"},
    "p90": {**_MONEY, "label": "P90"},
    "actual": {**_MONEY, "label": "Actual", "help": "Won in the quarter by the deals open on day 1"},
    "won_deals": {"kind": "number", "label": "Won deals"},
    **{
        f"{m}_error_pct": {"kind": "number", "label": f"Error % {name}", "format": "%+.1f"}
        for m, name in METHODS.items()
    },
    **{
        f"{m}_accuracy": {
            "kind": "number",
            "label": f"Accuracy {name}",
            "format": "percent",
            "help": "HubSpot's max(0, 1 - |actual - forecast| / actual)",
        }
        for m, name in METHODS.items()
    },
    "inside": "Inside P10–P90",
    "pinball": {**_MONEY, "label": "Pinball loss", "help": "Mean over P10, P50, P90; lower is better"},
}


def population_caption(result: Backtest) -> str:
    """Who the figures are over, and what was left out or counted as $0, in the page's words."""
    table = result.quarters
    no_stage = int(table.get_column("no_stage").sum()) if table.height else 0
    no_value = int(table.get_column("no_value").sum()) if table.height else 0
    return (
        "Per quarter: the deals open on its first day, each in the stage its history shows then "
        "(moves recorded before that day only), valued at its current value; history "
        "probabilities are measured on the deals closed before that day. Actual = what those "
        "deals won during the quarter; deals created later are in neither. Expected close dates "
        "are not used, since a CRM rewrites them when a deal closes. "
        f"Left out: {no_stage:,} deal-quarters with no stage recorded before the first day; "
        f"counted as $0: {no_value:,} open deal-quarters without a value."
    )
