"""What the recorded stage moves say: win probabilities learned from history, time in stage.

Apart from `stages` because it reads another input. The pipeline figures need only the deals
as they stand now; everything here needs `store.stage_history` as well, the moves of each deal
from stage to stage: which stages a closed deal passed (so what share of the deals that reached
a stage went on to win), how long deals stayed, and which open deals have stayed too long. The
back-test and the calibration check judge these probabilities with the same rule
(`stage_passages`). Of two deals that passed Demo, one won: Demo wins 50 %.

>>> import polars as pl
>>> stage_frame = pl.DataFrame({"id": [1, 2, 3], "position": [0, 1, 2], "name": ["Demo", "Won", "Lost"],
...                             "kind": ["open", "won", "lost"], "probability": [50.0, 100.0, 0.0]})
>>> deals = pl.DataFrame({"id": [7, 8], "stage_id": [2, 3], "stage_kind": ["won", "lost"],
...                       "closed_at": [None, None]})
>>> history = pl.DataFrame({"deal_id": [7, 8], "to_stage_id": [1, 1]})
>>> history_probability(deals, stage_frame, history, pseudo_deals=0)["empirical"].to_list()
[50.0, 100.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from funnel.models import Stage

DEFAULT_PSEUDO_DEALS = 10.0


def _with_history(deals: pl.DataFrame, history: pl.DataFrame) -> pl.Series:
    """Ids of the deals whose history records a stage before their current one.

    An import without stage history writes one entry per deal, into the stage it is in now:
    that says nothing about the way there, and for a lost deal nothing about where it was lost.
    """
    return (
        history.join(deals.select(deal_id="id", now="stage_id"), on="deal_id")
        .filter(pl.col("to_stage_id") != pl.col("now"))
        .get_column("deal_id")
        .unique()
    )


@dataclass(frozen=True)
class HistoryCoverage:
    """How much of a pipeline's closed deals the per-stage rates can be measured on."""

    closed: int
    won: int
    with_history: int
    lost_without_history: int

    def line(self) -> str:
        """What the page says above the learned probabilities: the overall win rate (won over
        closed, measured whatever the history) with its sample, then what per-stage rates rest on."""
        if not self.closed:
            return "No closed deal in this pipeline yet: nothing to learn from."
        rate = (
            f"Overall win rate {self.won / self.closed:.1%} "
            f"({self.won:,} won of {self.closed:,} closed deals)."
        )
        have = f"{self.with_history:,} of {self.closed:,} closed deals have stage history"
        if not self.with_history:
            return (
                f"{rate} No closed deal has stage history (only the stage it ended in), and lost "
                "deals do not say at which stage they were lost: per-stage rates are not "
                "measurable. Import a stage history to learn them."
            )
        if self.with_history < self.closed:
            return (
                f"{rate} {have}: per-stage rates are measured on those only, the "
                f"{self.closed - self.with_history:,} others (of them "
                f"{self.lost_without_history:,} lost) do not say which stages they passed."
            )
        return f"{rate} {have}: per-stage rates are measured on all of them."


def history_coverage(deals: pl.DataFrame, history: pl.DataFrame) -> HistoryCoverage:
    """Closed and won deals, and how many of the closed ones have real stage history."""
    closed = deals.filter(pl.col("stage_kind").is_in(["won", "lost"]))
    known = closed["id"].is_in(_with_history(closed, history).implode())
    lost = closed["stage_kind"] == "lost"
    return HistoryCoverage(
        closed=closed.height,
        won=int((~lost).sum()),
        with_history=int(known.sum()),
        lost_without_history=int((lost & ~known).sum()),
    )


def history_probability(
    deals: pl.DataFrame,
    stages: pl.DataFrame,
    history: pl.DataFrame,
    pseudo_deals: float = DEFAULT_PSEUDO_DEALS,
) -> pl.DataFrame:
    """Per stage: won deals that reached it / closed deals that reached it, and a smoothed value.

    A closed deal (now in a won or lost stage) *reached* a stage when its history shows it
    entering that stage, or entering a later stage other than a lost one: a deal that skipped
    "Demo" on its way to "Proposal" got past "Demo" all the same. Only closed deals whose history
    records a stage before their last one count (`history_coverage`): a lost deal imported
    without history does not say where it was lost, so it cannot count against any stage, and
    counting the won deals alone would read 100 %. `n` is the number of closed deals that
    reached the stage, `empirical` is won / n in percent (null when n is 0: not measurable).

    Small samples must not swing the figure wildly, so `smoothed` pulls the empirical rate
    toward the manual probability as if `pseudo_deals` extra deals had closed exactly at the
    manual rate: (won + k x manual / 100) / (n + k) x 100. With n = 0 it is the manual value;
    as n grows it tends to the empirical one.
    """
    if pseudo_deals < 0:
        raise ValueError("The number of pseudo-deals for smoothing cannot be negative.")
    stage_cols = stages.select(
        stage_id="id", position="position", stage="name", kind="kind", manual="probability"
    )
    reached = (
        stage_passages(deals, stages, history)
        .group_by("stage_id")
        .agg(n=pl.len().cast(pl.Int64), won=pl.col("won").sum().cast(pl.Int64))
    )
    k = float(pseudo_deals)
    return (
        stage_cols.join(reached, on="stage_id", how="left")
        .with_columns(pl.col("n", "won").fill_null(0))
        .with_columns(
            empirical=pl.when(pl.col("n") > 0).then(pl.col("won") / pl.col("n") * 100),
            smoothed=pl.when(pl.col("n") + k > 0)
            .then((pl.col("won") + k * pl.col("manual") / 100) / (pl.col("n") + k) * 100)
            .otherwise(pl.col("manual")),
        )
        .sort("position")
        .select("stage_id", "stage", "kind", "manual", "n", "won", "empirical", "smoothed")
    )


def stage_passages(deals: pl.DataFrame, stages: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """Each closed deal with real stage history at each stage of one pipeline it *reached*
    (`history_probability`'s rule): `deal_id`, `stage_id`, `kind`, `closed_at`, `won`.

    The one place the rule lives, so the history probabilities and the calibration check that
    judges them count the same deals at the same stages.
    """
    stage_cols = stages.select(stage_id="id", position="position", kind="kind")
    closed = (
        deals.filter(pl.col("stage_kind").is_in(["won", "lost"]))
        .filter(pl.col("id").is_in(_with_history(deals, history).implode()))
        .select(deal_id="id", closed_at="closed_at", won=pl.col("stage_kind") == "won")
    )
    entered = (
        pl.concat(
            [
                history.select("deal_id", stage_id="to_stage_id"),
                deals.select(deal_id="id", stage_id="stage_id"),
            ]
        )
        .unique()
        .join(stage_cols.select("stage_id", "position", "kind"), on="stage_id")
    )
    furthest = (
        entered.filter(pl.col("kind") != "lost")
        .group_by("deal_id")
        .agg(furthest=pl.col("position").max())
    )
    return (
        closed.join(stage_cols, how="cross")
        .join(furthest, on="deal_id", how="left")
        .join(
            entered.select("deal_id", "stage_id", was_in=pl.lit(True)),
            on=["deal_id", "stage_id"],
            how="left",
        )
        .filter(
            pl.col("was_in").fill_null(False)
            | ((pl.col("kind") != "lost") & (pl.col("position") <= pl.col("furthest")).fill_null(False))
        )
        .select("deal_id", "stage_id", "kind", "closed_at", "won")
        .sort("deal_id", "stage_id")
    )


def adopt_probabilities(
    current: Sequence[Stage], history: pl.DataFrame, stage_ids: Sequence[int] | None = None
) -> list[Stage]:
    """The stage list with the smoothed history probability adopted (rounded to a whole percent).

    Only the stages in `stage_ids` change (all of them when None), and only where the rate was
    measured (n > 0): a stage no closed deal with history reached keeps its manual value as is.
    """
    measured = history.filter(pl.col("n") > 0)
    smoothed = dict(zip(measured["stage_id"].to_list(), measured["smoothed"].to_list(), strict=True))
    chosen = set(smoothed) if stage_ids is None else set(stage_ids)
    return [
        Stage(s.name, float(round(smoothed[s.id])), s.kind, s.rot_days, s.id)
        if s.id in chosen and s.id in smoothed
        else s
        for s in current
    ]


# --- time in stage -----------------------------------------------------------------------------


def _stays(history: pl.DataFrame) -> pl.DataFrame:
    """Each recorded stay: deal, stage, entered at, left at (null while the deal is still there)."""
    return (
        history.sort("deal_id", "at")
        .with_columns(left=pl.col("at").shift(-1).over("deal_id"))
        .select("deal_id", stage_id="to_stage_id", entered="at", left="left")
    )


def time_in_stage(stages: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """Median days deals spent in each open stage, over the stays that ended, with their count.

    Won and lost stages are where deals end, so time spent there says nothing about speed;
    stays still under way are left out because they have not ended yet (see `stalled_deals`).
    """
    finished = (
        _stays(history)
        .drop_nulls("left")
        .with_columns(days=(pl.col("left") - pl.col("entered")).dt.total_seconds() / 86_400)
        .group_by("stage_id")
        .agg(stays=pl.len().cast(pl.Int64), median_days=pl.col("days").median())
    )
    return (
        stages.filter(pl.col("kind") == "open")
        .select(stage_id="id", position="position", stage="name", rot_days="rot_days")
        .join(finished, on="stage_id", how="left")
        .with_columns(pl.col("stays").fill_null(0))
        .sort("position")
        .select("stage_id", "stage", "stays", "median_days", "rot_days")
    )


def stalled_deals(
    deals: pl.DataFrame, stages: pl.DataFrame, history: pl.DataFrame, today: date
) -> pl.DataFrame:
    """Open deals that have sat in their stage longer than the stage's rotting limit.

    Time in stage runs from the deal's last move into its current stage (its creation date
    when no move is recorded) to `today`. Longest overdue first.
    """
    entered = (
        _stays(history).group_by("deal_id", "stage_id").agg(entered=pl.col("entered").max().dt.date())
    )
    return (
        deals.filter(pl.col("stage_kind") == "open")
        .join(stages.select(stage_id="id", rot_days="rot_days"), on="stage_id")
        .join(entered, left_on=["id", "stage_id"], right_on=["deal_id", "stage_id"], how="left")
        .with_columns(days_in_stage=(pl.lit(today) - pl.coalesce("entered", "created")).dt.total_days())
        .filter(pl.col("days_in_stage") > pl.col("rot_days"))
        .with_columns(days_over=pl.col("days_in_stage") - pl.col("rot_days"))
        .sort("days_over", "id", descending=[True, False])
        .select("id", "name", "owner", "stage", "value", "days_in_stage", "rot_days", "days_over")
    )
