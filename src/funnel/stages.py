"""Pipeline math: closed vs pipeline vs weighted, periods, open deals without a value, the stage list.

The source text insists on keeping three figures apart: what is **closed** (won deals' value),
what is in the **pipeline** (open deals' value) and the **weighted pipeline** (each open deal's
value times its win probability). Everything here takes the frames the store returns
(`store.deals`, `store.stages`) and returns frames or numbers, so the page only lays them out
and the tests check them by hand; what needs the stage history as well is in `stage_moves`.

>>> import polars as pl
>>> deals = pl.DataFrame({
...     "value": [100_000.0] * 3, "probability": [None, None, None],
...     "stage_kind": ["open", "open", "won"], "stage_probability": [60.0, 60.0, 100.0],
... })
>>> weighted_pipeline(deals)
120000.0
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from funnel.models import STAGE_KINDS, Stage, StageKind

ALL_PERIODS = "All"
_QUARTER = re.compile(r"^(\d{4}) Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


# --- periods -----------------------------------------------------------------------------------


def _period_date() -> pl.Expr:
    """The date a deal counts in: its expected close while open, the day it closed otherwise."""
    return (
        pl.when(pl.col("stage_kind") == "open")
        .then(pl.col("expected_close"))
        .otherwise(pl.col("closed_at"))
    )


def period_options(deals: pl.DataFrame) -> list[str]:
    """'All', then every quarter and every month that holds a deal, newest first.

    >>> import polars as pl
    >>> from datetime import date
    >>> deals = pl.DataFrame({"stage_kind": ["open"], "expected_close": [date(2026, 8, 3)],
    ...                       "closed_at": [None]})
    >>> period_options(deals)
    ['All', '2026 Q3', '2026-08']
    """
    days = deals.select(day=_period_date()).drop_nulls().unique()
    quarters = days.select(
        pl.col("day").dt.year().cast(pl.String) + " Q" + pl.col("day").dt.quarter().cast(pl.String)
    )
    months = days.select(pl.col("day").dt.strftime("%Y-%m"))
    return [
        ALL_PERIODS,
        *sorted(quarters.to_series().unique().to_list(), reverse=True),
        *sorted(months.to_series().unique().to_list(), reverse=True),
    ]


def in_period(deals: pl.DataFrame, period: str) -> pl.DataFrame:
    """The deals that count in `period`: 'All', a quarter ('2026 Q3') or a month ('2026-08').

    Open deals count by their expected close date, won and lost deals by the day they closed,
    so a quarter's closed figure is what was really won in it.
    """
    if period == ALL_PERIODS:
        return deals
    day = _period_date()
    if match := _QUARTER.match(period):
        year, quarter = int(match[1]), int(match[2])
        return deals.filter((day.dt.year() == year) & (day.dt.quarter() == quarter))
    if match := _MONTH.match(period):
        year, month = int(match[1]), int(match[2])
        return deals.filter((day.dt.year() == year) & (day.dt.month() == month))
    raise ValueError(
        f"Unknown period '{period}': use 'All', a quarter like '2026 Q3' or a month like '2026-08'."
    )


# --- closed, pipeline, weighted ----------------------------------------------------------------


def _effective_probability() -> pl.Expr:
    """A deal's own probability when it has one, else its stage's."""
    return pl.coalesce(pl.col("probability"), pl.col("stage_probability"))


def _expected_value() -> pl.Expr:
    """What a deal is expected to bring: all of it when won, nothing when lost, else weighted."""
    value = pl.col("value").fill_null(0.0)
    return (
        pl.when(pl.col("stage_kind") == "won")
        .then(value)
        .when(pl.col("stage_kind") == "lost")
        .then(0.0)
        .otherwise(value * _effective_probability() / 100)
    )


def closed_won(deals: pl.DataFrame) -> float:
    """Sum of the won deals' values."""
    return float(deals.filter(pl.col("stage_kind") == "won")["value"].fill_null(0.0).sum())


def open_pipeline(deals: pl.DataFrame) -> float:
    """Sum of the open deals' values (open deals without a value count as 0)."""
    return float(deals.filter(pl.col("stage_kind") == "open")["value"].fill_null(0.0).sum())


def weighted_pipeline(deals: pl.DataFrame) -> float:
    """Sum over open deals of value x probability / 100; a deal's own probability wins."""
    open_deals = deals.filter(pl.col("stage_kind") == "open")
    return float(open_deals.select(_expected_value().sum()).item() or 0.0)


@dataclass(frozen=True)
class PipelineFigures:
    """The three headline figures and the per-stage table behind them."""

    closed_won: float
    open_pipeline: float
    weighted_pipeline: float
    by_stage: pl.DataFrame

    def headline(self) -> list[tuple[str, str]]:
        """The three figures the source text keeps apart, as (label, dollars) for metrics."""
        return [
            ("Closed won", f"${self.closed_won:,.0f}"),
            ("Open pipeline", f"${self.open_pipeline:,.0f}"),
            ("Weighted pipeline", f"${self.weighted_pipeline:,.0f}"),
        ]

    def table(self) -> pl.DataFrame:
        """The per-stage rows as listed under the chart: the ids and positions are left out."""
        return self.by_stage.select(
            "stage", "probability", "deals", "own_probability_deals", "value", "weighted_value"
        )


def _has_own_probability() -> pl.Expr:
    """An open deal whose own probability, not its stage's, weighs it (won and lost need none)."""
    return (pl.col("stage_kind") == "open") & pl.col("probability").is_not_null()


def pipeline_figures(deals: pl.DataFrame, stages: pl.DataFrame) -> PipelineFigures:
    """Closed won, open pipeline, weighted pipeline, and per stage: deals, value, weighted value,
    and how many open deals carry their own probability.

    Every stage of `stages` gets a row, empty ones with zeros, in pipeline order. A stage's
    weighted value is what its deals are expected to bring (won: all, lost: nothing), so it is
    value x the stage's probability only when `own_probability_deals` is 0.
    """
    per_stage = deals.group_by("stage_id").agg(
        deals=pl.len().cast(pl.Int64),
        own_probability_deals=_has_own_probability().sum().cast(pl.Int64),
        value=pl.col("value").fill_null(0.0).sum(),
        weighted_value=_expected_value().sum(),
    )
    by_stage = (
        stages.select(
            stage_id="id", position="position", stage="name", kind="kind", probability="probability"
        )
        .join(per_stage, on="stage_id", how="left")
        .with_columns(
            pl.col("deals", "own_probability_deals").fill_null(0),
            pl.col("value", "weighted_value").fill_null(0.0),
        )
        .sort("position")
    )
    return PipelineFigures(
        closed_won=closed_won(deals),
        open_pipeline=open_pipeline(deals),
        weighted_pipeline=weighted_pipeline(deals),
        by_stage=by_stage,
    )


def own_probability_deals(deals: pl.DataFrame) -> pl.DataFrame:
    """The open deals weighted by their own probability instead of their stage's, in pipeline
    order: `id`, `name`, `stage`, `value`, `own_probability`, `stage_probability`,
    `weighted_value` (value x own probability)."""
    return (
        deals.filter(_has_own_probability())
        .sort("stage_position", "id")
        .select(
            "id",
            "name",
            "stage",
            pl.col("value").fill_null(0.0),
            own_probability="probability",
            stage_probability="stage_probability",
            weighted_value=_expected_value(),
        )
    )


def own_probability_caption(count: int) -> str:
    """Why a stage's weighted value need not be its value x its probability, with the count."""
    if not count:
        return "Weighted = value × the stage's probability, for every open deal here."
    return (
        f"Weighted = value × probability: the stage's, except for {count:,} open deals that carry "
        "their own (from the CRM or an import), listed below; clear one to use its stage's."
    )


# --- open deals without a value ---------------------------------------------------------------


def _unvalued_open() -> pl.Expr:
    return (pl.col("stage_kind") == "open") & pl.col("value").is_null()


def open_without_value(deals: pl.DataFrame) -> int:
    """Open deals with no value: they count as deals, but as no money in the pipeline figures."""
    return int(deals.select(_unvalued_open().sum()).item())


def median_won_value(deals: pl.DataFrame) -> float | None:
    """The median value of the won deals that have one: the stated fill for unvalued open deals."""
    won = deals.filter(pl.col("stage_kind") == "won")["value"].drop_nulls()
    return float(won.median()) if won.len() else None  # type: ignore[arg-type]


def fill_open_values(deals: pl.DataFrame, value: float) -> pl.DataFrame:
    """The deals with every open deal that has no value valued at `value`; others as they are."""
    return deals.with_columns(
        pl.when(_unvalued_open()).then(pl.lit(value)).otherwise(pl.col("value")).alias("value")
    )


def _matching_key(text: pl.Expr) -> pl.Expr:
    """A name as a price list and a deal are matched on: case, spaces and punctuation aside."""
    return text.str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]", "")


def fill_from_price_list(deals: pl.DataFrame, prices: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Open deals without a value valued at the list price of the product their name names
    (`importers.price_list`), and the names of those no product matched, sorted."""
    keyed = prices.select(_matching_key(pl.col("product")).alias("key"), "price").unique(
        "key", keep="first"
    )
    joined = deals.with_columns(_matching_key(pl.col("name")).alias("key")).join(
        keyed, on="key", how="left", maintain_order="left"
    )
    unmatched = joined.filter(_unvalued_open() & pl.col("price").is_null())["name"]
    filled = joined.with_columns(
        pl.when(_unvalued_open()).then(pl.col("price")).otherwise(pl.col("value")).alias("value")
    ).drop("key", "price")
    return filled, sorted(unmatched.fill_null("(no name)").unique().to_list())


def price_list_line(valued: int, unmatched: Sequence[str], name: str) -> str:
    """What the page says after valuing open deals from a price list: how many, and which not."""
    line = (
        f"{valued:,} open deals without a value are valued here at their list price in {name} "
        "(a fill, not a figure from the deals)."
    )
    if unmatched:
        more = f" and {len(unmatched) - 10:,} more" if len(unmatched) > 10 else ""
        line += f" No product matched {len(unmatched):,}: {', '.join(unmatched[:10])}{more}."
    return line


def fill_choices(median: float | None) -> dict[str, str]:
    """How open deals without a value can be counted: as $0, at the median won value (when a
    won deal has a value), or from a price list."""
    choices = {"none": "As $0"}
    if median is not None:
        choices["median"] = f"At the median won value (${median:,.0f})"
    return {**choices, "prices": "From a price list"}


def unvalued_line(count: int, fill: float | None) -> str | None:
    """What the page says beside the pipeline figures about open deals without a value."""
    if not count:
        return None
    deals = "1 open deal has" if count == 1 else f"{count:,} open deals have"
    if fill is None:
        return f"{deals} no value: counted as deals, as $0 in the open and weighted pipeline."
    return (
        f"{deals} no value in the data: each is valued here at the median won value of this "
        f"pipeline, ${fill:,.0f} (a fill, not a figure from the file)."
    )


# --- editing the stage list --------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or (isinstance(value, str) and not value.strip())
    )


def _number(value: Any) -> float | None:
    """The value as a float, or None when it is not a number (text, booleans, NaN)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return None if math.isnan(value) else float(value)
    if isinstance(value, str):
        try:
            number = float(value.replace(",", ".").strip())
        except ValueError:
            return None
        return None if math.isnan(number) else number
    return None


def _rows(rows: pl.DataFrame | Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    if isinstance(rows, pl.DataFrame):
        return list(rows.to_dicts())
    return list(rows)


def validate_stages(rows: pl.DataFrame | Sequence[Mapping[str, Any]]) -> list[str]:
    """Every problem in an edited stage table, as sentences that say which row and what.

    Rows are numbered from 1 as shown in the editor. An empty list means the table can be saved.
    A probability is a whole percent, as adopted ones are rounded to: 12.5 is refused, not
    rounded, so nobody saves a figure they did not type.

    >>> validate_stages([{"name": "Demo", "probability": 150, "kind": "open"},
    ...                  {"name": "Won", "probability": 100, "kind": "won"}])
    ['Row 1 (Demo): probability 150 is outside 0 to 100.']
    """
    problems: list[str] = []
    seen: dict[str, int] = {}
    has_won = False
    for number, row in enumerate(_rows(rows), start=1):
        name = "" if _blank(row.get("name")) else str(row["name"]).strip()
        where = f"Row {number} ({name})" if name else f"Row {number}"
        if not name:
            problems.append(f"{where}: the name is empty; every stage needs one.")
        elif name.casefold() in seen:
            problems.append(f"{where}: the name is already used by row {seen[name.casefold()]}.")
        else:
            seen[name.casefold()] = number
        raw = row.get("probability")
        probability = _number(raw)
        if _blank(raw):
            problems.append(f"{where}: the probability is empty; enter a number from 0 to 100.")
        elif probability is None:
            problems.append(f"{where}: probability '{raw}' is not a number; enter 0 to 100.")
        elif not 0 <= probability <= 100:
            problems.append(f"{where}: probability {probability:g} is outside 0 to 100.")
        elif probability != int(probability):
            problems.append(
                f"{where}: probability {probability:g} is not a whole percent; enter a whole "
                "number from 0 to 100."
            )
        kind = row.get("kind")
        if kind not in STAGE_KINDS:
            shown = "empty" if _blank(kind) else f"'{kind}'"
            problems.append(f"{where}: the kind is {shown}; choose open, won or lost.")
        has_won = has_won or kind == "won"
        rot = row.get("rot_days")
        rot_days = _number(rot)
        if not _blank(rot) and (rot_days is None or rot_days <= 0 or rot_days != int(rot_days)):
            problems.append(
                f"{where}: stalled after '{rot}' must be a whole number of days above 0, or empty."
            )
        if not _blank(row.get("position")) and _number(row.get("position")) is None:
            problems.append(f"{where}: position '{row['position']}' is not a number.")
    if not has_won:
        problems.append("No stage is of kind 'won': add one, so won deals have a stage to go to.")
    return problems


def edited_stages(rows: pl.DataFrame | Sequence[Mapping[str, Any]]) -> list[Stage]:
    """The edited table as stage records in pipeline order (call after `validate_stages`).

    Rows are ordered by their position column; rows without a position (just added) go last,
    and ties keep the table's order.
    """
    records = _rows(rows)
    order = sorted(
        range(len(records)),
        key=lambda i: (
            _blank(records[i].get("position")),
            _number(records[i].get("position")) or 0.0,
            i,
        ),
    )
    out = []
    for i in order:
        row = records[i]
        kind: StageKind = row["kind"]
        out.append(
            Stage(
                name=str(row["name"]).strip(),
                probability=float(_number(row["probability"]) or 0.0),
                kind=kind,
                rot_days=None if _blank(row.get("rot_days")) else int(_number(row["rot_days"]) or 0),
                id=None if _blank(row.get("id")) else int(_number(row["id"]) or 0),
            )
        )
    return out


def removed_stages_with_deals(
    stages: pl.DataFrame, edited: Sequence[Stage], deals: pl.DataFrame
) -> pl.DataFrame:
    """Stages the edit removes that still hold deals: each needs a stage to receive them."""
    kept = [s.id for s in edited if s.id is not None]
    held = deals.group_by("stage_id").agg(deals=pl.len().cast(pl.Int64))
    return (
        stages.filter(~pl.col("id").is_in(kept))
        .join(held, left_on="id", right_on="stage_id")
        .sort("position")
        .select("id", "name", "deals")
    )
