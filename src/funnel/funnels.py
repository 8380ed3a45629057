"""The funnels counted: how many reached each stage, the conversion to the next, the biggest leak.

Two funnels, one shape. The marketing funnel counts leads from lead to customer (seed 001's
stages); a pipeline's funnel counts its deals at each open stage, then at "Won". Apart from
`forecast` because a funnel is a fact about a window of history, shown as it is (the forecast
page's chart, the funnel export), while the forecast is what the levers make of it: the baseline
reads its rates from `marketing_funnel`, and nothing here knows a lever, a horizon or a draw.

>>> from datetime import date
>>> import polars as pl
>>> leads = pl.DataFrame({"created": [date(2026, 1, 5)] * 4, "outcome": ["converted", None, None, None],
...                       "sql_at": [date(2026, 2, 1), None, None, None],
...                       "sal_status": ["accepted", "accepted", None, None],
...                       "mql": [True, True, True, False], "qualified_at": [date(2026, 1, 6)] * 4})
>>> marketing_funnel(funnel_levels(leads), date(2026, 1, 1), date(2026, 4, 1))["count"].to_list()
[4, 4, 3, 2, 1, 1]
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import polars as pl

MARKETING_STAGES: tuple[str, ...] = (
    "Lead",
    "Qualified prospect",
    "MQL",
    "SAL",
    "SQL / opportunity",
    "Customer",
)


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


def funnel_levels(leads: pl.DataFrame) -> pl.DataFrame:
    """How many leads created each day reached each marketing-funnel stage as their furthest
    (`level`, the index in `MARKETING_STAGES`): what `marketing_funnel` counts over any window,
    a few thousand rows however many leads, so it can be kept beside the store.

    `leads` carries the `mql` flag of `scoring.with_quadrants` at the agreed cutoff. A lead
    counts at every stage up to the furthest it reached (a customer was an SQL, an SAL, an MQL
    and a qualified prospect on its way).
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
    return (
        leads.lazy()
        .group_by("created", furthest.cast(pl.Int64).alias("level"))
        .agg(pl.len().cast(pl.Int64).alias("leads"))
        .sort("created", "level")
        .collect()
    )


def marketing_funnel(levels: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    """Leads created in [start, end) counted at each marketing-funnel stage they reached, from
    their `funnel_levels`. Counts only narrow, and the product of the rates is exactly
    customers / leads."""
    reached = (
        levels.filter(pl.col("created").is_between(start, end, closed="left"))
        .group_by("level")
        .agg(pl.col("leads").sum())
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
