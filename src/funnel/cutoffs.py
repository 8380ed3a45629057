"""Choosing a cutoff: the leads a meeting looks at, read once into a grid, and what any cutoff
would have done, read off that grid.

Apart from `scoring` because it answers another question. Scoring says where one lead stands;
this says what a line through all of them would do: how many MQLs, how many conversions kept,
how sales received them, whether the team can work them each week. The page moves a slider
on a million leads, so the leads are counted once per filter (`cutoff_grid`, one cell per
slider step of fit and of interest, whole points unless a file's scale has finer ones, and
per week) and every figure here is a sum over those cells.

>>> grid = pl.DataFrame({"fit": [80, 20], "interest": [70, 90], "week": [date(2026, 1, 5)] * 2,
...                      "leads": [4, 6], "converted": [2, 1], "lost": [2, 5],
...                      "accepted": [1, 0], "rejected": [1, 0]})
>>> bt = mql_backtest(grid, 50, 50)
>>> bt.mqls, bt.mql_conversions, bt.lift
(4, 2, 1.6666666666666667)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from funnel import scoring
from funnel.scales import WHOLE_POINTS, WHOLE_STEPS, Steps


def filter_leads(
    scored: pl.DataFrame,
    sources: Sequence[str] = (),
    owners: Sequence[str] = (),
    created_from: date | None = None,
    created_to: date | None = None,
) -> pl.DataFrame:
    """The leads the meeting looks at: by source, owner and creation period (empty = all).

    A bound that every lead already meets (the page's default period spans them all) is no
    condition: filtering a million rows to keep them all would copy every column for nothing.
    """
    created = pl.col("created")
    first, last, undated = scored.select(
        created.min().alias("first"), created.max().alias("last"), created.null_count().alias("n")
    ).row(0)
    conditions = []
    if sources:
        conditions.append(pl.col("source").is_in(list(sources)))
    if owners:
        conditions.append(pl.col("owner").is_in(list(owners)))
    # A lead without a date never passes a bound: with any such lead, every bound stays.
    if created_from is not None and (undated or first is None or created_from > first):
        conditions.append(created >= created_from)
    if created_to is not None and (undated or last is None or created_to < last):
        conditions.append(created <= created_to)
    return scored.filter(*conditions) if conditions else scored


def scatter_sample(scored: pl.DataFrame, limit: int = 5_000, seed: int = 0) -> pl.DataFrame:
    """At most `limit` leads (a fixed random sample) for the scatter: fit, interest, outcome.

    A browser chokes on a million marks (and Altair refuses more than 5,000 rows inline);
    every count on the page is taken on all scored leads. Unscored leads have no place to be
    drawn.
    """
    # Drawn by position among the scored leads first, labelled after: over ten million leads
    # the labels' text alone took longer than the rest of the sample.
    at = scored.select(pl.arg_where(scoring.is_scored())).to_series()
    if at.len() > limit:
        at = at.sample(limit, seed=seed).sort()
    return scored[at].select("fit", "interest", scoring.outcome_label().alias("outcome"))


def cutoff_grid(scored: pl.DataFrame, steps: Steps = WHOLE_STEPS) -> pl.DataFrame:
    """Lead counts per slider step of fit, of interest, and week of creation.

    A lead sits in the cell of the highest step at or below its score (its whole point, with
    the usual `steps`), so for a cutoff on a step fit >= F holds exactly when the cell's
    fit >= F: every figure for any cutoff the sliders can take is a sum over this grid. The
    page aggregates a million leads once per filter and each slider move then reads tens of
    thousands of cells, not a million leads. Columns: `fit`, `interest` (the cell's steps),
    `week` (its Monday), `leads`, `converted`, `lost`, `accepted`, `rejected`. Unscored leads
    are not in it, so no figure taken from it counts them.
    """
    sal = pl.col("sal_status")
    return (
        scored.lazy()
        .filter(scoring.is_scored())
        .group_by(_cell(steps))
        .agg(
            pl.len().cast(pl.Int64).alias("leads"),
            scoring.is_converted().sum().cast(pl.Int64).alias("converted"),
            scoring.is_lost().sum().cast(pl.Int64).alias("lost"),
            (sal == "accepted").sum().cast(pl.Int64).alias("accepted"),
            (sal == "rejected").sum().cast(pl.Int64).alias("rejected"),
        )
        .sort("fit", "interest", "week")
        .collect()
    )


def answered_grid(
    grid: pl.DataFrame, leads: pl.DataFrame, answers: pl.DataFrame, steps: Steps = WHOLE_STEPS
) -> pl.DataFrame:
    """`grid` (`cutoff_grid` of `leads` on `steps`) after sales' `answers` (`sal_answers`'
    columns, a few leads): each answered lead's old answer leaves its cell and the new one
    enters it. Equal to counting `sal.laid_over(leads, answers)` again, at the cost of
    the answered leads alone, so an answer does not regroup a million leads.
    """
    was = leads.filter(pl.col("id").is_in(answers["id"].implode()) & scoring.is_scored())
    moved = (
        was.join(answers.select("id", pl.col("sal_status").alias("now")), on="id")
        .filter(pl.col("now").ne_missing(pl.col("sal_status")))
        .group_by(_cell(steps))
        .agg(
            _answer_change("accepted").alias("d_accepted"),
            _answer_change("rejected").alias("d_rejected"),
        )
    )
    if moved.is_empty():
        return grid
    cell = ["fit", "interest", "week"]
    return (
        grid.join(moved, on=cell, how="left", maintain_order="left", nulls_equal=True)
        .with_columns(
            (pl.col(c) + pl.col(f"d_{c}").fill_null(0)).cast(pl.Int64) for c in ("accepted", "rejected")
        )
        .drop("d_accepted", "d_rejected")
    )


def _answer_change(status: str) -> pl.Expr:
    """+1 where a lead's answer became `status`, -1 where it was `status` and is no more."""
    now = (pl.col("now") == status).fill_null(False).cast(pl.Int64)
    was = (pl.col("sal_status") == status).fill_null(False).cast(pl.Int64)
    return (now - was).sum()


def _cell(steps: Steps) -> list[pl.Expr]:
    """A lead's cell of the grid: its fit step, its interest step, the Monday of its week."""
    return [
        _on_step("fit", steps.fit),
        _on_step("interest", steps.interest),
        pl.col("created").dt.truncate("1w").alias("week"),
    ]


def _on_step(axis: str, steps: Sequence[float]) -> pl.Expr:
    """The highest of `steps` at or below each score (the lowest step for a score below them)."""
    if steps is WHOLE_POINTS:  # the same rule, four times faster on a million leads
        return pl.col(axis).floor().clip(0, 100).cast(pl.Int64)
    on = pl.lit(pl.Series(steps, dtype=pl.Float64))
    below = on.search_sorted(pl.col(axis), side="right").cast(pl.Int64) - 1
    return on.gather(below.clip(0, len(steps) - 1)).alias(axis)


def mql_cells(grid: pl.DataFrame, fit_cutoff: float, interest_cutoff: float) -> pl.DataFrame:
    """The cells of `cutoff_grid` inside the cutoff: the MQLs it would have sent to sales.

    A cell is one step of fit and one of interest, so for a cutoff on the steps it is inside
    exactly when its leads would be (`scoring.is_mql` on the cell is their test, floored).
    """
    return grid.filter(scoring.is_mql(fit_cutoff, interest_cutoff))


def quadrant_counts(grid: pl.DataFrame, fit_cutoff: float, interest_cutoff: float) -> pl.DataFrame:
    """Leads per quadrant and their share of all leads, the four in `scoring.QUADRANTS` order."""
    counts = (
        scoring.with_quadrants(grid, fit_cutoff, interest_cutoff)
        .group_by("quadrant")
        .agg(pl.col("leads").sum())
    )
    return (
        pl.DataFrame({"quadrant": list(scoring.QUADRANTS)})
        .join(counts, on="quadrant", how="left")
        .with_columns(pl.col("leads").fill_null(0).cast(pl.Int64))
        .with_columns(_safe_div(pl.col("leads"), pl.col("leads").sum()).alias("share"))
    )


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class Backtest:
    """What a cutoff would have done on the leads whose outcome is known (converted or lost)."""

    known: int
    conversions: int
    mqls: int
    mql_conversions: int

    @property
    def mql_share(self) -> float | None:
        return _ratio(self.mqls, self.known)

    @property
    def base_rate(self) -> float | None:
        return _ratio(self.conversions, self.known)

    @property
    def conversion_in(self) -> float | None:
        return _ratio(self.mql_conversions, self.mqls)

    @property
    def conversion_out(self) -> float | None:
        return _ratio(self.conversions - self.mql_conversions, self.known - self.mqls)

    @property
    def recall(self) -> float | None:
        """Share of all conversions that the cutoff keeps."""
        return _ratio(self.mql_conversions, self.conversions)

    @property
    def lift(self) -> float | None:
        """Conversion inside the MQLs over the base rate: 2.0 = twice as likely to convert."""
        if self.conversion_in is None or not self.base_rate:
            return None
        return self.conversion_in / self.base_rate

    @property
    def conversions_lost(self) -> int:
        """Conversions that sat below the cutoff."""
        return self.conversions - self.mql_conversions


def mql_backtest(grid: pl.DataFrame, fit_cutoff: float, interest_cutoff: float) -> Backtest:
    """Back-test a cutoff on the leads with a known outcome (from `cutoff_grid`)."""
    known = (pl.col("converted") + pl.col("lost")).sum().alias("known")
    converted = pl.col("converted").sum()
    all_known, all_converted = grid.select(known, converted).row(0)
    mqls, mql_conversions = mql_cells(grid, fit_cutoff, interest_cutoff).select(known, converted).row(0)
    return Backtest(int(all_known), int(all_converted), int(mqls), int(mql_conversions))


CURVE_METRICS = ("MQL share", "Conversion in MQLs", "Conversions kept (recall)")


def backtest_curve(
    grid: pl.DataFrame, fit_cutoff: float, interest_cutoff: float, steps: Steps = WHOLE_STEPS
) -> pl.DataFrame:
    """The back-test over every cutoff the slider of one axis can take (the `steps` of the
    grid), the other held where it is.

    Long frame: `axis` ("fit" or "interest"), `cutoff`, `metric` (one of `CURVE_METRICS`),
    `value` (0..1, null where nothing is left to measure) and `current` (the slider's place).
    A suffix sum over the grid gives every cutoff at once.
    """
    known_total = grid.select((pl.col("converted") + pl.col("lost")).sum()).item()
    converted_total = int(grid["converted"].sum())
    parts = []
    for axis, other, held, current, on in (
        ("fit", "interest", interest_cutoff, fit_cutoff, steps.fit),
        ("interest", "fit", fit_cutoff, interest_cutoff, steps.interest),
    ):
        per_cut = (
            grid.filter(pl.col(other) >= held)
            .group_by(pl.col(axis).alias("cutoff"))
            .agg(pl.col("converted").sum(), (pl.col("converted") + pl.col("lost")).sum().alias("k"))
        )
        kept = (
            pl.DataFrame({"cutoff": pl.Series(on, dtype=grid.schema[axis])})
            .join(per_cut, on="cutoff", how="left")
            .fill_null(0)
            .sort("cutoff", descending=True)
            .with_columns(pl.col("converted", "k").cum_sum())
            .sort("cutoff")
        )
        parts.append(
            kept.select(
                pl.lit(axis).alias("axis"),
                pl.col("cutoff").cast(pl.Float64),  # whole points on one axis, file steps on the other
                _safe_div(pl.col("k"), known_total).alias(CURVE_METRICS[0]),
                _safe_div(pl.col("converted"), pl.col("k")).alias(CURVE_METRICS[1]),
                _safe_div(pl.col("converted"), converted_total).alias(CURVE_METRICS[2]),
                (pl.col("cutoff") == current).alias("current"),
            )
        )
    return (
        pl.concat(parts)
        .unpivot(index=["axis", "cutoff", "current"], variable_name="metric", value_name="value")
        .select("axis", "cutoff", "metric", "value", "current")
    )


def _safe_div(numerator: pl.Expr, denominator: pl.Expr | int) -> pl.Expr:
    den = denominator if isinstance(denominator, pl.Expr) else pl.lit(denominator)
    return pl.when(den > 0).then(numerator.cast(pl.Float64) / den).otherwise(None)


@dataclass(frozen=True)
class SalSummary:
    """How sales received the MQLs: accepted (SAL) or rejected, with BANT."""

    mqls: int
    accepted: int
    rejected: int

    @property
    def sal_rate(self) -> float | None:
        """SALs per MQL: the funnel's MQL -> SAL conversion."""
        return _ratio(self.accepted, self.mqls)

    @property
    def acceptance_rate(self) -> float | None:
        """Accepted among the MQLs sales has reviewed."""
        return _ratio(self.accepted, self.accepted + self.rejected)


def sal_summary(grid: pl.DataFrame, fit_cutoff: float, interest_cutoff: float) -> SalSummary:
    """Accepted and rejected MQLs under a cutoff (from `cutoff_grid`)."""
    row = (
        mql_cells(grid, fit_cutoff, interest_cutoff)
        .select(pl.col("leads", "accepted", "rejected").sum())
        .row(0)
    )
    return SalSummary(int(row[0]), int(row[1]), int(row[2]))


def mql_per_week(
    grid: pl.DataFrame,
    fit_cutoff: float,
    interest_cutoff: float,
    reps: int,
    leads_per_rep: int,
) -> pl.DataFrame:
    """MQLs the cutoff would have produced each week (by creation date) against capacity.

    Capacity is reps x leads a rep can work a week. Weeks start on Monday; every week from the
    first lead to the last is listed, quiet ones with 0. Takes `cutoff_grid`. Columns: `week`,
    `mqls`, `capacity`, `over`.
    """
    capacity = reps * leads_per_rep
    span = grid.select(pl.col("week").min().alias("first"), pl.col("week").max().alias("last"))
    first, last = span.row(0)
    weeks = pl.DataFrame(
        {"week": [] if first is None else pl.date_range(first, last, "1w", eager=True)},
        schema={"week": pl.Date},
    )
    counts = (
        mql_cells(grid, fit_cutoff, interest_cutoff)
        .group_by("week")
        .agg(pl.col("leads").sum().alias("mqls"))
    )
    return (
        weeks.join(counts, on="week", how="left")
        .select(
            "week",
            pl.col("mqls").fill_null(0).cast(pl.Int64),
            pl.lit(capacity, dtype=pl.Int64).alias("capacity"),
        )
        .with_columns((pl.col("mqls") > pl.col("capacity")).alias("over"))
        .sort("week")
    )


@dataclass(frozen=True)
class CapacitySummary:
    weeks: int
    weeks_over: int
    capacity: int
    peak: int
    average: float


def capacity_summary(weekly: pl.DataFrame) -> CapacitySummary:
    """Weeks over capacity, peak and average MQLs a week, from `mql_per_week`."""
    if weekly.is_empty():
        return CapacitySummary(0, 0, 0, 0, 0.0)
    return CapacitySummary(
        weeks=weekly.height,
        weeks_over=int(weekly["over"].sum()),
        capacity=int(weekly["capacity"][0]),
        peak=int(weekly.select(pl.col("mqls").max()).item()),
        average=float(weekly.select(pl.col("mqls").mean()).item()),
    )
