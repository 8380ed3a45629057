"""What the MQL page says of the leads it counts before any score: how many, their creation
dates, and the sources and owners its filters offer.

Small enough to keep beside the store (`as_frame` / `from_frame`): a restarted server draws
the page's filters and figures from them without reading every lead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl


@dataclass(frozen=True)
class LeadSpan:
    """How many leads, their first and last creation dates, and whether any has an activity
    date."""

    count: int
    first: date | None
    last: date | None
    active: bool

    @classmethod
    def of(cls, leads: pl.DataFrame) -> LeadSpan:
        # The first and last dates, not the distinct ones: no hashing of a million dates.
        first, last, active = leads.select(
            pl.col("created").min(),
            pl.col("created").max().alias("last"),
            pl.col("last_activity").is_not_null().any(),
        ).row(0)
        return cls(leads.height, first, last, bool(active))

    @property
    def one_date(self) -> bool:
        """Two leads or more, and one creation date for all of them."""
        return self.count >= 2 and self.first is not None and self.first == self.last


@dataclass(frozen=True)
class FilterOptions:
    """What the filters offer: the sources and owners present, and every lead's span."""

    sources: list[str]
    owners: list[str]
    span: LeadSpan

    @classmethod
    def of(cls, leads: pl.DataFrame) -> FilterOptions:
        return cls(
            leads["source"].drop_nulls().unique().sort().to_list(),
            leads["owner"].drop_nulls().unique().sort().to_list(),
            LeadSpan.of(leads),
        )

    @property
    def period(self) -> tuple[date | None, date | None]:
        """The period filter's default: every lead's creation dates."""
        return self.span.first, self.span.last


def span_frame(span: LeadSpan) -> pl.DataFrame:
    """`span` as a one-row frame, to keep."""
    return pl.DataFrame(
        [[span.count], [span.first], [span.last], [span.active]],
        schema={"count": pl.Int64, "first": pl.Date, "last": pl.Date, "active": pl.Boolean},
        orient="col",
    )


def span_of_frame(frame: pl.DataFrame) -> LeadSpan:
    """The span `span_frame` kept."""
    count, first, last, active = frame.row(0)
    return LeadSpan(int(count), first, last, bool(active))


def options_frame(options: FilterOptions) -> pl.DataFrame:
    """`options` as a one-row frame, to keep."""
    return span_frame(options.span).with_columns(
        pl.Series("sources", [options.sources], dtype=pl.List(pl.String)),
        pl.Series("owners", [options.owners], dtype=pl.List(pl.String)),
    )


def options_of_frame(frame: pl.DataFrame) -> FilterOptions:
    """The options `options_frame` kept."""
    return FilterOptions(
        frame["sources"][0].to_list(),
        frame["owners"][0].to_list(),
        span_of_frame(frame.select("count", "first", "last", "active")),
    )


def one_creation_date(span: LeadSpan) -> str | None:
    """Why capacity per week cannot be judged when every lead has the same creation date (a file
    without one is dated at its import), or None when the dates tell weeks apart."""
    if not span.one_date:
        return None
    return (
        f"All {span.count:,} leads have the same creation date, {span.first:%d %b %Y} (a file "
        "without creation dates is dated at its import): MQLs per week cannot be told apart, so "
        "capacity is not judged."
    )


def one_creation_date_filter(span: LeadSpan) -> str | None:
    """Why the period filter and the decay cannot tell leads apart when every lead has the
    same creation date and none an activity date (a file without dates is dated at its
    import), or None when they can.

    >>> from datetime import date
    >>> one_creation_date_filter(LeadSpan(2, date(2026, 12, 1), date(2026, 12, 1), False))[:58]
    'All 2 leads share one creation date, 01 Dec 2026, and have'
    """
    if not span.one_date or span.active:
        return None
    return (
        f"All {span.count:,} leads share one creation date, {span.first:%d %b %Y}, and have no "
        "activity date (a file without them is dated at its import): the period filter has one "
        "day to offer, and interest decays alike for every lead, from that day."
    )
