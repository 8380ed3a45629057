"""Are the stage probabilities honest? Their uncertainty, and a calibration check held out.

Two questions a sales leader cannot answer in a CRM. How sure is a probability learned from
history: a stage whose deals won 3 of 10 says 30 %, but the 90 % Wilson score interval around it
runs from about 13 % to 56 %. Wilson rather than the textbook normal interval because it stays
inside 0..100 % and keeps its coverage on the small samples a stage often has.

And do the probabilities match what deals went on to do? Every closed deal carried, at each
open stage it passed, the probability of that stage: the manual one, and the one history would
have given. Grouped by that probability, a calibrated set of probabilities sees about that
share of its deals won. The Brier score, the mean of (probability - outcome)^2 over those
passages, puts each set in one number (lower is better). It is held out honestly: history
probabilities are measured only on deals closed before the split day (with what was known that
day) and checked on the deals closed on or after it.

>>> [round(x, 1) for x in wilson_interval(3, 10) or ()]
[12.7, 55.8]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from statistics import NormalDist
from typing import Any

import polars as pl

from funnel import backtest, stage_moves

CONFIDENCE = 0.90
BIN_WIDTH = 10.0
SETS: dict[str, str] = {"manual": "Manual", "history": "History"}


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(won: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """The Wilson score interval of won / n, in percent; None when nothing was measured."""
    if n == 0:
        return None
    z, p = _z(confidence), won / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half) * 100, min(1.0, centre + half) * 100


def with_intervals(learned: pl.DataFrame, confidence: float = CONFIDENCE) -> pl.DataFrame:
    """`stage_moves.history_probability`'s table with the Wilson interval of each empirical rate.

    `low` and `high` are null where no closed deal reached the stage (n = 0): nothing was
    measured there, so no interval is claimed.
    """
    bounds = [wilson_interval(w, n, confidence) for w, n in learned.select("won", "n").iter_rows()]
    return learned.with_columns(
        low=pl.Series([None if b is None else b[0] for b in bounds], dtype=pl.Float64),
        high=pl.Series([None if b is None else b[1] for b in bounds], dtype=pl.Float64),
    )


# Columns as plain data for `ui.column_config` (the core never imports streamlit).
TABLE_COLUMNS: dict[str, str | dict[str, Any] | None] = {
    "low": {"kind": "number", "label": "Low %", "format": "%.1f", "help": "90 % Wilson interval"},
    "high": {"kind": "number", "label": "High %", "format": "%.1f", "help": "90 % Wilson interval"},
    "set": "Probabilities",
    "bin": {"kind": "number", "label": "Group from %", "format": "%.0f"},
    "predicted": {"kind": "number", "label": "Mean probability %", "format": "%.1f"},
    "observed": {"kind": "number", "label": "Won %", "format": "%.1f"},
    "count": {"kind": "number", "label": "Stage passages"},
}


def interval_caption(confidence: float = CONFIDENCE) -> str:
    """What the interval columns are, in the page's words."""
    return (
        f"Low–high: the {confidence:.0%} Wilson score interval of the empirical rate over its n "
        "closed deals (it stays inside 0–100 % and holds on small samples); empty where n is 0."
    )


def passages(deals: pl.DataFrame, stage_frame: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """Each closed deal's passage through each open stage it reached, with whether it was won:
    `stage_moves.stage_passages` at the open stages (a deal is judged on the probabilities it carried
    while open). One pipeline at a time, since positions only compare within a pipeline."""
    return (
        stage_moves.stage_passages(deals, stage_frame, history)
        .filter(pl.col("kind") == "open")
        .select("deal_id", "stage_id", "closed_at", "won")
    )


def default_split(deals: pl.DataFrame) -> date | None:
    """The day that splits the closed deals in two halves by close date (None with fewer than 2):
    the earlier half teaches the history probabilities, the later half checks them."""
    closed = (
        deals.filter(pl.col("stage_kind").is_in(["won", "lost"]))
        .get_column("closed_at")
        .drop_nulls()
        .sort()
    )
    if closed.len() < 2:
        return None
    day: date = closed[closed.len() // 2]
    return day


@dataclass(frozen=True)
class Calibration:
    """The reliability groups, each set's Brier score, and who they were measured on."""

    split: date
    groups: pl.DataFrame
    brier: dict[str, float | None]
    checked_deals: int
    checked_passages: int
    training_deals: int

    def sentence(self) -> str:
        """One sentence: which set is better calibrated on this store's own closed deals."""
        manual, learned = self.brier["manual"], self.brier["history"]
        if manual is None or learned is None:
            return (
                f"No deal closed on or after {self.split:%d %b %Y} passed an open stage, so the "
                "probabilities cannot be checked yet."
            )
        if manual == learned:
            verdict = "both sets are as well calibrated"
        else:
            better = "history" if learned < manual else "manual"
            verdict = f"the {better} probabilities are better calibrated"
        return (
            f"On {self.checked_passages:,} stage passages of the {self.checked_deals:,} deals closed "
            f"on or after {self.split:%d %b %Y}, {verdict}: Brier score {learned:.3f} for history "
            f"(measured on the {self.training_deals:,} deals closed before) vs {manual:.3f} for "
            "manual (lower is better)."
        )


def calibration(
    deals: pl.DataFrame, stage_frame: pl.DataFrame, history: pl.DataFrame, split: date
) -> Calibration:
    """Manual vs history probabilities checked on the deals closed on or after `split`.

    History probabilities (the smoothed ones the page adopts) are measured as of `split`, on the
    deals closed before it and their moves before it (`backtest.history_probabilities_as_of`).
    Each checked deal counts once per open stage it passed, at that stage's probability. Groups
    are 10-point bins of the probability carried: per set and bin, the mean probability, the
    share won and the count.
    """
    learned = backtest.history_probabilities_as_of(deals, stage_frame, history, split)
    then, _ = backtest.pipeline_as_of(deals, stage_frame, history, split)
    training = then.filter(pl.col("stage_kind").is_in(["won", "lost"])).height
    checked = passages(deals, stage_frame, history).filter(pl.col("closed_at") >= split)
    carried = checked.join(stage_frame.select(stage_id="id", manual="probability"), on="stage_id").join(
        learned.select("stage_id", history="smoothed"), on="stage_id"
    )
    long = carried.unpivot(
        index=["deal_id", "won"], on=list(SETS), variable_name="set", value_name="probability"
    ).with_columns(outcome=pl.col("won").cast(pl.Float64))
    brier = {
        name: (
            None
            if part.is_empty()
            else float(
                part.select(((pl.col("probability") / 100 - pl.col("outcome")) ** 2).mean()).item()
            )
        )
        for name in SETS
        for part in [long.filter(pl.col("set") == name)]
    }
    groups = (
        long.with_columns(
            bin=(pl.col("probability") / BIN_WIDTH).floor().clip(upper_bound=100 / BIN_WIDTH - 1)
            * BIN_WIDTH
        )
        .group_by("set", "bin")
        .agg(
            predicted=pl.col("probability").mean(),
            observed=pl.col("outcome").mean() * 100,
            count=pl.len().cast(pl.Int64),
        )
        .with_columns(pl.col("set").replace_strict(SETS))
        .sort("set", "bin")
    )
    return Calibration(
        split=split,
        groups=groups,
        brier=brier,
        checked_deals=checked.get_column("deal_id").n_unique(),
        checked_passages=checked.height,
        training_deals=int(training),
    )
