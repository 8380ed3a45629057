"""Data health: what in a store limits the figures the pages show, in one line with counts.

A sales leader reading a page should know, before the figures, that 4,000 leads carry no score
or that no lost deal says where it was lost. Every page shows the same line, worked out from the
frames it already holds; when nothing limits the figures it shows nothing.

>>> line(Health(leads=10, unscored=4))
'Data health: 4 of 10 leads have no score.'
>>> line(Health(leads=10)) is None
True
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import polars as pl

from funnel import clock, forecast, importers, scoring, stage_moves, stages


@dataclass(frozen=True)
class Health:
    """Counts of what limits the figures: leads, unscored leads, whether every lead shares one
    creation date, open deals and those without a value, closed deals and those without stage
    history."""

    leads: int = 0
    unscored: int = 0
    one_creation_date: bool = False
    open_deals: int = 0
    unvalued: int = 0
    closed: int = 0
    without_history: int = 0
    one_sided: str | None = None
    """`importers.one_sided_outcomes` of the leads' known outcomes, when they are of one kind."""
    future_leads: int = 0
    """Leads created after today: in no period the pages count, and no capacity week."""
    future_closed: int = 0
    """Deals closed (won or lost) after today: in no closed period and no baseline window."""
    old_closed: date | None = None
    """When every closed deal closed before today's longest baseline window, where it starts."""


# The longest baseline window the forecast page offers from today, in full quarters: closed deals
# all before it are in none of today's windows (the forecast then offers the data's own).
LONGEST_WINDOW = 8


def measure(
    scored: pl.DataFrame | None,
    deals: tuple[pl.DataFrame, pl.DataFrame] | None,
    today: date | None = None,
) -> Health:
    """The health of scored leads (`scoring.score_leads`) and of deals with their stage history
    (`store.deals`, `store.stage_history`); None for what a page does not show. Today is the
    clock's unless a caller measures as of another day."""
    today = today or clock.today()
    found = Health()
    if scored is not None and scored.height:
        created = pl.col("created")
        unscored, one_date, future = scored.select(
            (~scoring.is_scored()).sum(),
            created.is_not_null().any() & (created.min() == created.max()),
            (created > today).sum().alias("future"),
        ).row(0)
        outcome = scored.get_column("outcome") if "outcome" in scored.columns else None
        one_sided = importers.one_sided_outcomes(outcome)
        found = Health(
            scored.height,
            int(unscored),
            scored.height > 1 and bool(one_date),
            one_sided=one_sided,
            future_leads=int(future),
        )
    if deals is None:
        return found
    frame, history = deals
    coverage = stage_moves.history_coverage(frame, history)
    closed_at = frame.get_column("closed_at").drop_nulls()
    start = forecast.full_quarters_window(today, LONGEST_WINDOW)[0]
    latest = closed_at.max()
    return replace(
        found,
        open_deals=int((frame["stage_kind"] == "open").sum()),
        unvalued=stages.open_without_value(frame),
        closed=coverage.closed,
        without_history=coverage.closed - coverage.with_history,
        future_closed=int((closed_at > today).sum()),
        old_closed=start if isinstance(latest, date) and latest < start else None,
    )


def line(health: Health) -> str | None:
    """The page's one line under its title, or None when nothing limits the figures."""
    parts = []
    if health.unscored:
        parts.append(f"{health.unscored:,} of {health.leads:,} leads have no score")
    if health.one_creation_date:
        parts.append(f"all {health.leads:,} leads share one creation date")
    if health.unvalued:
        parts.append(f"{health.unvalued:,} of {health.open_deals:,} open deals have no value")
    if health.one_sided:
        parts.append(health.one_sided.removesuffix("."))
    if health.without_history:
        parts.append(
            f"{health.without_history:,} of {health.closed:,} closed deals have no stage history"
        )
    if health.future_leads:
        parts.append(
            f"{health.future_leads:,} of {health.leads:,} leads are created after today, "
            "outside every period counted"
        )
    if health.future_closed:
        parts.append(
            f"{health.future_closed:,} of {health.closed:,} closed deals closed after today, "
            "outside every period counted"
        )
    if health.old_closed:
        quarter = forecast.period_label(health.old_closed, "quarter")
        parts.append(
            f"all {health.closed:,} closed deals closed before {quarter}, outside today's baseline "
            "windows"
        )
    return f"Data health: {'; '.join(parts)}." if parts else None
